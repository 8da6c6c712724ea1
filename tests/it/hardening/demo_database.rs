//! Finding 2: demo mode marks the database it runs on, and production refuses a marked database
//! with a message saying how to start clean.

use crate::support::{backends, test_config, TestDb};
use seedport::clock::Clock;
use seedport::config::Mode;
use seedport::vault::MasterKey;

#[tokio::test(flavor = "multi_thread")]
async fn production_refuses_a_database_demo_mode_seeded() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let master = MasterKey::generate();
        let clock = Clock::fixed(1_795_000_000);
        let demo = test_config(&db);
        seedport::app::build_state(demo.clone(), master.clone(), clock.clone()).unwrap();

        let mut production = demo.clone();
        production.mode = Mode::Production;
        let err = match seedport::app::build_state(production, master.clone(), clock.clone()) {
            Ok(_) => panic!("{backend:?}: production started on a demo database"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains("demo mode has run on it"), "{err}");
        assert!(err.contains("new, empty database"), "{err}");

        // A clean database starts in production.
        let clean = TestDb::new(backend);
        let mut production = test_config(&clean);
        production.mode = Mode::Production;
        assert!(
            seedport::app::build_state(production, master, clock).is_ok(),
            "{backend:?}: a clean database is refused"
        );
    }
}

/// `seedport ARGS` in `dir` against `db`, in production mode with a key from the environment.
fn production_cli(dir: &std::path::Path, db: &TestDb, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(crate::support::seedport_bin())
        .current_dir(dir)
        .args(args)
        .env_remove("SEEDPORT_LOG")
        .env("SEEDPORT_MODE", "production")
        .env("DATABASE_URL", &db.url)
        .env("SEEDPORT_DATA_DIR", dir.join("var"))
        .env("SEEDPORT_MASTER_KEY", MASTER_KEY_B64)
        .env("SEEDPORT_PUBLIC_BASE_URL", "https://seeds.vendor.example")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// Base64 of 32 bytes: the master key of the demo database the CLI tests mark.
const MASTER_KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn count(db: &TestDb, table: &str) -> i64 {
    use diesel::prelude::*;
    use seedport::db::schema::{orders, staff};
    let pool = seedport::db::Db::connect(&db.url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    match table {
        "orders" => orders::table.count().get_result(&mut *conn).unwrap(),
        "staff" => staff::table.count().get_result(&mut *conn).unwrap(),
        other => panic!("no count for {other}"),
    }
}

/// Only `serve` and the commands that would put real seeds or accounts into the database refuse
/// a demo database in production; doctor names it as the problem with its fix, and the commands
/// that read or keep the data (backup, audit verify, migrate) still work on it.
#[test]
fn other_commands_on_a_demo_database_in_production() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::from_base64(MASTER_KEY_B64).unwrap();
        let demo = test_config(&db);
        seedport::app::build_state(demo, master, Clock::fixed(1_795_000_000)).unwrap();

        let (ok, said) = production_cli(dir.path(), &db, &["doctor"]);
        assert!(
            !ok,
            "{backend:?}: doctor passed a demo database in production\n{said}"
        );
        assert!(said.contains("is a demo database"), "{backend:?}: {said}");
        let line = said
            .lines()
            .skip_while(|l| !l.contains("is a demo database"))
            .nth(1)
            .unwrap_or_default();
        assert!(
            line.contains("fix:") && line.contains("new, empty database"),
            "{backend:?}: the demo problem has no fix: {said}"
        );

        let (ok, said) = production_cli(dir.path(), &db, &["migrate"]);
        assert!(ok, "{backend:?}: migrate refused: {said}");
        let (ok, said) = production_cli(dir.path(), &db, &["audit", "verify"]);
        assert!(ok, "{backend:?}: audit verify refused: {said}");
        if backend == crate::support::Backend::Sqlite {
            let (ok, said) = production_cli(dir.path(), &db, &["backup", "--out", "copy.db"]);
            assert!(ok, "{backend:?}: backup refused: {said}");
            assert!(dir.path().join("copy.db").metadata().unwrap().len() > 0);
        }

        // Real data into a database production will never serve: refused, nothing written.
        let (orders, staff) = (count(&db, "orders"), count(&db, "staff"));
        std::fs::write(
            dir.path().join("real.csv"),
            "serial number,secret key,time interval,manufacturer,model\n\
             77000001,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,30,Deepnet,SafeID/Enterprise\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("real.toml"),
            "[customer]\nname = \"Real Co\"\nemails = [\"it@real.example\"]\n\n[order]\npo = \"PO-REAL-1\"\ninvoice = \"INV-REAL-1\"\n\n[[shipments]]\nnumber = \"SHP-REAL-1\"\ndate = \"2026-11-20\"\nfile = \"real.csv\"\n",
        )
        .unwrap();
        let (ok, said) = production_cli(dir.path(), &db, &["import", "real.toml"]);
        assert!(
            !ok,
            "{backend:?}: import wrote into a demo database: {said}"
        );
        assert!(
            said.contains("demo mode has run on it"),
            "{backend:?}: {said}"
        );
        std::fs::write(dir.path().join("pw"), "a long and real staff password 42\n").unwrap();
        let (ok, said) = production_cli(
            dir.path(),
            &db,
            &[
                "staff",
                "add",
                "--email",
                "real@vendor.example",
                "--name",
                "Real",
                "--role",
                "admin",
                "--password-file",
                "pw",
            ],
        );
        assert!(
            !ok,
            "{backend:?}: staff add wrote into a demo database: {said}"
        );
        assert!(said.contains("new, empty database"), "{backend:?}: {said}");
        assert_eq!(count(&db, "orders"), orders, "{backend:?}");
        assert_eq!(count(&db, "staff"), staff, "{backend:?}");

        // The same import on a clean database goes through, so the refusal is the mark's.
        let clean = TestDb::new(backend);
        let (ok, said) = production_cli(dir.path(), &clean, &["migrate"]);
        assert!(ok, "{backend:?}: {said}");
        let (ok, said) = production_cli(dir.path(), &clean, &["import", "real.toml"]);
        assert!(ok, "{backend:?}: import on a clean database: {said}");
        assert_eq!(count(&clean, "orders"), 1, "{backend:?}");
    }
}
