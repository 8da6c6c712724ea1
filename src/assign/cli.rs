//! `seedport assign`: the assignment tool from the command line, writing the same two files as
//! the browser page.

use super::export::{entra_count, entra_csv, entra_file_name, inventory_csv, inventory_file_name};
use super::inventory::parse_date;
use super::table::{Assignments, Status};
use super::tokens::parse_token_file;
use super::users::parse_users;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use time::Date;

/// Arguments of `seedport assign`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    about = "Assign tokens to users and write EntraTokens_YYYYMMDD.csv and CustomerTokens_YYYYMMDD.csv"
)]
pub struct AssignArgs {
    /// Token file: the Entra MFA CSV, the Deepnet token CSV, or a CustomerTokens inventory.
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// User file: one UPN a line, optionally followed by ",Display Name".
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// Your latest CustomerTokens_YYYYMMDD.csv; its assignments are kept (status Old).
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Remove the assignment of this token (repeatable).
    #[arg(long, value_name = "SERIAL")]
    pub unassign: Vec<String>,
    /// Folder to write the two files to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Date for the file names and the inventory, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "DATE", hide = true)]
    pub date: Option<String>,
}

/// What one run did (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub entra_file: PathBuf,
    pub inventory_file: PathBuf,
    pub assigned_now: usize,
    pub skipped: Vec<String>,
    pub in_entra_file: usize,
    pub free: usize,
}

/// Runs `seedport assign` with today's UTC date (or `--date`) and prints a summary.
pub fn run(args: &AssignArgs) -> Result<()> {
    let today = match &args.date {
        Some(d) => parse_date(d)
            .map_err(anyhow::Error::msg)
            .context("--date")?,
        None => crate::clock::Clock::System.now_utc().date(),
    };
    let s = run_on(args, today)?;
    for u in &s.skipped {
        println!("skipped {u}: already holds a token");
    }
    println!(
        "assigned {} token(s) now; {} assigned token(s) in {}; {} token(s) free",
        s.assigned_now,
        s.in_entra_file,
        s.entra_file.display(),
        s.free
    );
    println!("inventory: {}", s.inventory_file.display());
    Ok(())
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))
}

fn name(path: &Path) -> String {
    path.display().to_string()
}

/// The whole run for a given day: load, unassign, assign, check, write. Nothing is written
/// when any step fails.
pub fn run_on(args: &AssignArgs, today: Date) -> Result<Summary> {
    let mut table = Assignments::default();
    if args.tokens.is_none() && args.inventory.is_none() {
        bail!("give a token file (--tokens) or an inventory (--inventory), or both");
    }
    for path in [&args.inventory, &args.tokens].into_iter().flatten() {
        let (_, rows) = parse_token_file(&name(path), &read_text(path)?)
            .map_err(anyhow::Error::new)
            .with_context(|| format!("{} was refused", path.display()))?;
        table
            .merge(rows)
            .with_context(|| format!("{} was refused", path.display()))?;
    }
    for serial in &args.unassign {
        table.unassign(serial, today)?;
    }
    let mut report = Default::default();
    if let Some(path) = &args.users {
        let users = parse_users(&name(path), &read_text(path)?)
            .map_err(anyhow::Error::new)
            .with_context(|| format!("{} was refused", path.display()))?;
        report = table.apply(&users, today)?;
    }
    let entra = entra_csv(&table)?;
    let inventory = inventory_csv(&table);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let entra_file = args.out.join(entra_file_name(today));
    let inventory_file = args.out.join(inventory_file_name(today));
    write_private(&entra_file, entra.as_bytes())?;
    write_private(&inventory_file, inventory.as_bytes())?;
    Ok(Summary {
        entra_file,
        inventory_file,
        assigned_now: report.assigned.len(),
        skipped: report.skipped,
        in_entra_file: entra_count(&table),
        free: table
            .rows()
            .iter()
            .filter(|r| matches!(r.status, Status::Free | Status::Unassigned))
            .count(),
    })
}

/// Writes a file holding secrets: readable by the owner only, replaced in one step.
fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("csv.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let write = || -> std::io::Result<()> {
        let mut f = opts.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}
