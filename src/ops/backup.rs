//! `seedport backup --out FILE`: a consistent online copy of the SQLite database (`VACUUM INTO`,
//! safe while the portal runs). PostgreSQL is backed up with `pg_dump`. The master key is never
//! in the database, so it is never in a backup: keep it apart from backups.

use crate::db::DbConnection;
use anyhow::{bail, Context};
use diesel::connection::SimpleConnection;
use std::path::Path;

/// Writes the copy to `out` (mode 0600, must not exist) and says what it wrote.
pub fn run(conn: &mut DbConnection, out: &Path) -> anyhow::Result<String> {
    let DbConnection::Sqlite(sqlite) = conn else {
        bail!(
            "seedport backup copies the embedded SQLite database; for PostgreSQL use \
             pg_dump --format=custom --file=seedport.dump DATABASE_URL (and pg_restore to restore)"
        );
    };
    let Some(path) = out.to_str() else {
        bail!("the backup path must be valid UTF-8: {}", out.display());
    };
    // Created empty first, so the copy is owner-only from its first byte.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(out).with_context(|| {
        format!(
            "cannot create {} (it must not exist yet, and its folder must)",
            out.display()
        )
    })?;
    let quoted = path.replace('\'', "''");
    if let Err(e) = sqlite.batch_execute(&format!("VACUUM INTO '{quoted}'")) {
        let _ = std::fs::remove_file(out);
        bail!("the backup failed and nothing was kept: {e}");
    }
    let size = std::fs::metadata(out)?.len();
    Ok(format!(
        "backup written to {} ({size} bytes); it holds no master key: keep the key apart from backups",
        out.display()
    ))
}
