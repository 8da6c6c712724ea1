//! Finding 10: the SQLite database, WAL and SHM are 0600; production refuses a master key file
//! inside the data folder and says why.

use crate::support::{backends, spawn_app, Backend};
use seedport::config::{Config, Mode, SmtpConfig, SmtpSecurity};
use std::os::unix::fs::PermissionsExt;

#[tokio::test(flavor = "multi_thread")]
async fn the_sqlite_files_are_private() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        if backend != Backend::Sqlite {
            continue; // PostgreSQL keeps no files of ours.
        }
        // A write makes sure the WAL and SHM exist.
        let r = app
            .client
            .get(format!("{}/", app.base_url))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let mut seen = 0;
        for suffix in ["", "-wal", "-shm"] {
            let path = app.test_db.dir.path().join(format!("test.db{suffix}"));
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            seen += 1;
            let mode = meta.permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
        }
        assert!(seen >= 2, "the database and its WAL exist");
    }
}

fn production(data_dir: &std::path::Path, key: std::path::PathBuf) -> Config {
    Config {
        mode: Mode::Production,
        data_dir: data_dir.to_path_buf(),
        master_key_file: Some(key),
        public_base_url: "https://seeds.example.com".into(),
        smtp: Some(SmtpConfig {
            host: "mail.example.com".into(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
        }),
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn production_refuses_a_key_file_in_the_data_folder() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let data = app.test_db.dir.path().join("var");
        std::fs::create_dir_all(&data).unwrap();
        let inside = production(&data, data.join("master.key"));
        let problems = inside.production_problems(false).join("\n");
        assert!(
            problems.contains("inside data_dir"),
            "{backend:?}: {problems}"
        );
        assert!(problems.contains("one backup"), "{problems}");
        // Through `..` too.
        let sneaky = production(&data, data.join("sub/../master.key"));
        assert!(!sneaky.production_problems(false).is_empty());

        let elsewhere = production(&data, app.test_db.dir.path().join("keys/master.key"));
        assert!(
            elsewhere.production_problems(false).is_empty(),
            "{backend:?}: {:?}",
            elsewhere.production_problems(false)
        );
        // The environment's key wins over the file, so the file's place does not matter.
        assert!(inside.production_problems(true).is_empty());
    }
}
