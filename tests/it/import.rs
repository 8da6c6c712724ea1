//! Factory import through the real CLI on both backends: success, idempotence, every bad input
//! with its message and no change, secrets never readable in the database, key rotation.

use crate::support;

use base64::Engine;
use std::path::Path;
use std::process::{Command, Output};
use support::{backends, seedport_bin, TestDb};

fn run(db: &TestDb, key: &str, args: &[&str]) -> Output {
    Command::new(seedport_bin())
        .current_dir(db.dir.path())
        .env("DATABASE_URL", &db.url)
        .env("SEEDPORT_MASTER_KEY", key)
        .env("SEEDPORT_MODE", "production")
        .env("SEEDPORT_DATA_DIR", db.dir.path().join("var"))
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn new_key() -> String {
    seedport::vault::MasterKey::generate().to_base64()
}

/// Writes a manifest and one CSV per shipment; returns the manifest path.
fn write_order(
    dir: &Path,
    name: &str,
    invoice: &str,
    shipments: &[(&str, &str)],
) -> std::path::PathBuf {
    let mut manifest = format!(
        "[customer]\nname = \"Globex\"\nemails = [\"ops@globex.example\"]\n\n[order]\npo = \"PO-{invoice}\"\ninvoice = \"{invoice}\"\n"
    );
    for (number, csv) in shipments {
        std::fs::write(dir.join(format!("{number}.csv")), csv).unwrap();
        manifest.push_str(&format!("\n[[shipments]]\nnumber = \"{number}\"\ndate = \"2026-11-20\"\nfile = \"{number}.csv\"\n"));
    }
    let path = dir.join(name);
    std::fs::write(&path, manifest).unwrap();
    path
}

fn deepnet_csv(first: u64, n: u64, seeds: &mut Vec<Vec<u8>>) -> String {
    let mut csv = String::from("serial number,secret key,time interval,manufacturer,model\r\n");
    for i in 0..n {
        let seed: Vec<u8> = (0..20)
            .map(|b| ((first + i) as u8).wrapping_mul(31).wrapping_add(b * 7 + 1))
            .collect();
        csv.push_str(&format!(
            "{},{},60,Deepnet Security,SafeID/Classic\r\n",
            first + i,
            data_encoding::BASE32_NOPAD.encode(&seed)
        ));
        seeds.push(seed);
    }
    csv
}

#[test]
fn import_is_all_or_nothing_idempotent_and_explains_every_problem() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let key = new_key();
        let dir = db.dir.path();
        let mut seeds = Vec::new();
        let good = write_order(
            dir,
            "good.toml",
            "INV-1",
            &[("SHP-1", &deepnet_csv(500, 10, &mut seeds))],
        );
        let out = run(&db, &key, &["import", good.to_str().unwrap()]);
        assert!(out.status.success(), "{backend:?}: {}", text(&out));
        assert!(
            text(&out).contains("1 shipment(s), 10 token(s)"),
            "{}",
            text(&out)
        );

        let again = run(&db, &key, &["import", good.to_str().unwrap()]);
        assert!(again.status.success(), "{}", text(&again));
        assert!(
            text(&again).contains("already imported; nothing changed"),
            "{}",
            text(&again)
        );

        // A second order whose file has several bad rows plus a serial already in the database.
        let bad_csv = "serial number,secret key,time interval,manufacturer,model\n\
                       600,NOT-BASE32!,60,Deepnet Security,SafeID/Classic\n\
                       601,GEZDGNBV,60,Deepnet Security,SafeID/Classic\n\
                       500,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n\
                       602,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n\
                       602,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n";
        let bad = write_order(dir, "bad.toml", "INV-2", &[("SHP-2", bad_csv)]);
        let out = run(&db, &key, &["import", bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let msg = text(&out);
        assert!(msg.contains("nothing was imported"), "{msg}");
        assert!(
            msg.contains("SHP-2.csv: line 2: the secret key is not valid Base32"),
            "{msg}"
        );
        assert!(
            msg.contains("SHP-2.csv: line 3: the secret is 5 bytes"),
            "{msg}"
        );
        assert!(
            msg.contains("line 6: serial 602 already appears on line 5"),
            "{msg}"
        );

        let dup_db = "serial number,secret key,time interval,manufacturer,model\n\
                      500,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n";
        let dup = write_order(dir, "dup.toml", "INV-3", &[("SHP-3", dup_db)]);
        let out = run(&db, &key, &["import", dup.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            text(&out).contains("serial 500 is already in the database"),
            "{}",
            text(&out)
        );

        for (name, content, expected) in [
            ("empty", "".as_bytes().to_vec(), "the file is empty"),
            (
                "binary",
                vec![0x50, 0x4b, 0x03, 0x04, 0x00, 0xff],
                "not text",
            ),
            (
                "layout",
                b"serial,seed\n1,AAAA\n".to_vec(),
                "unknown column layout",
            ),
        ] {
            std::fs::write(dir.join(format!("{name}.csv")), &content).unwrap();
            let m = format!(
                "[customer]\nname = \"Initech\"\nemails = [\"it@initech.example\"]\n[order]\npo = \"P-{name}\"\ninvoice = \"I-{name}\"\n[[shipments]]\nnumber = \"S-{name}\"\ndate = \"2026-11-20\"\nfile = \"{name}.csv\"\n"
            );
            let path = dir.join(format!("{name}.toml"));
            std::fs::write(&path, m).unwrap();
            let out = run(&db, &key, &["import", path.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out));
            assert!(text(&out).contains(expected), "{name}: {}", text(&out));
        }

        // A serial in two files of one manifest: the later file names the earlier one. The
        // other two serials of the second file pass (one shares nothing with the first).
        let mut spare = Vec::new();
        let cross = write_order(
            dir,
            "cross.toml",
            "INV-4",
            &[
                ("SHP-4A", &deepnet_csv(700, 3, &mut spare)),
                ("SHP-4B", &deepnet_csv(702, 3, &mut spare)),
            ],
        );
        let out = run(&db, &key, &["import", cross.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let msg = text(&out);
        assert!(
            msg.contains("SHP-4B.csv: serial 702 is also in ")
                && msg.contains("SHP-4A.csv")
                && !msg.contains("serial 703")
                && !msg.contains("serial 701"),
            "{msg}"
        );

        let typo = dir.join("typo.toml");
        std::fs::write(
            &typo,
            "[customer]\nname = \"X\"\nemail = [\"a@b.example\"]\n",
        )
        .unwrap();
        let out = run(&db, &key, &["import", typo.to_str().unwrap()]);
        assert!(!out.status.success());
        assert!(
            text(&out).contains("unknown field `email`"),
            "{}",
            text(&out)
        );

        // Nothing from the failed imports reached the database.
        let app_db = seedport::db::Db::connect(&db.url, 1).unwrap();
        let mut conn = app_db.get().unwrap();
        use diesel::prelude::*;
        use seedport::db::schema::{orders, shipments, tokens};
        assert_eq!(
            tokens::table.count().get_result::<i64>(&mut conn).unwrap(),
            10
        );
        assert_eq!(
            shipments::table
                .count()
                .get_result::<i64>(&mut conn)
                .unwrap(),
            1
        );
        assert_eq!(
            orders::table.count().get_result::<i64>(&mut conn).unwrap(),
            1
        );
    }
}

/// Every encoding a seed could leak in.
fn encodings(seed: &[u8]) -> Vec<Vec<u8>> {
    vec![
        seed.to_vec(),
        hex::encode(seed).into_bytes(),
        hex::encode_upper(seed).into_bytes(),
        data_encoding::BASE32_NOPAD.encode(seed).into_bytes(),
        base64::engine::general_purpose::STANDARD
            .encode(seed)
            .into_bytes(),
    ]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_seed_is_readable_in_the_database() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let key = new_key();
        let mut seeds = Vec::new();
        let manifest = write_order(
            db.dir.path(),
            "m.toml",
            "INV-9",
            &[("SHP-9", &deepnet_csv(900, 50, &mut seeds))],
        );
        let out = run(&db, &key, &["import", manifest.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out));
        let dump: Vec<u8> = match backend {
            support::Backend::Sqlite => db.sqlite_file_bytes(),
            support::Backend::Postgres => {
                use diesel::prelude::*;
                #[derive(QueryableByName)]
                struct Row {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    t: String,
                }
                let mut conn = diesel::PgConnection::establish(&db.url).unwrap();
                let mut all = Vec::new();
                for table in [
                    "customers",
                    "customer_emails",
                    "orders",
                    "shipments",
                    "tokens",
                    "data_keys",
                    "imports",
                ] {
                    let rows: Vec<Row> =
                        diesel::sql_query(format!("SELECT x::text AS t FROM {table} x"))
                            .load(&mut conn)
                            .unwrap();
                    for r in rows {
                        all.extend(r.t.into_bytes());
                    }
                }
                all
            }
        };
        assert!(
            contains(&dump, b"SHP-9"),
            "{backend:?}: the dump should hold the shipment row"
        );
        for seed in &seeds {
            for enc in encodings(seed) {
                assert!(
                    !contains(&dump, &enc),
                    "{backend:?}: a seed is readable in the database"
                );
            }
        }
    }
}

#[test]
fn key_rotation_rewraps_and_the_old_key_stops_working() {
    let db = TestDb::new(support::Backend::Sqlite);
    let dir = db.dir.path();
    let mut seeds = Vec::new();
    let manifest = write_order(
        dir,
        "m.toml",
        "INV-R",
        &[("SHP-R", &deepnet_csv(100, 3, &mut seeds))],
    );
    // The key file path (demo-style key file) is used so rotation can replace it in place.
    let key_file = dir.join("var/master.key");
    std::fs::create_dir_all(key_file.parent().unwrap()).unwrap();
    let old = seedport::vault::MasterKey::generate();
    old.write_new_file(&key_file).unwrap();
    let cmd = |args: &[&str]| {
        Command::new(seedport_bin())
            .current_dir(dir)
            .env("DATABASE_URL", &db.url)
            .env_remove("SEEDPORT_MASTER_KEY")
            .env("SEEDPORT_MASTER_KEY_FILE", &key_file)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(cmd(&["import", manifest.to_str().unwrap()])
        .status
        .success());
    let out = cmd(&["keys", "rotate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("re-wrapped 1 data key(s)"),
        "{}",
        text(&out)
    );

    let new = seedport::vault::MasterKey::from_base64(&std::fs::read_to_string(&key_file).unwrap())
        .unwrap();
    assert_ne!(new.id(), old.id());
    let app_db = seedport::db::Db::connect(&db.url, 1).unwrap();
    let mut conn = app_db.get().unwrap();
    use diesel::prelude::*;
    use seedport::db::schema::{shipments, tokens};
    let (key_id,): (String,) = shipments::table
        .select((shipments::data_key_id,))
        .first(&mut conn)
        .unwrap();
    let new_vault = seedport::vault::Vault::new(new);
    let data_key = new_vault.data_key(&mut conn, &key_id).unwrap();
    let (id, serial, ct): (String, String, Vec<u8>) = tokens::table
        .order(tokens::serial)
        .select((tokens::id, tokens::serial, tokens::secret_ct))
        .first(&mut conn)
        .unwrap();
    let seed = data_key
        .open(&ct, &seedport::vault::token_aad(&id, &serial))
        .unwrap();
    assert_eq!(seed.expose(), &seeds[0][..]);
    // Moving the ciphertext to another row's associated data fails.
    assert!(data_key
        .open(&ct, &seedport::vault::token_aad(&id, "101"))
        .is_err());
    let old_vault = seedport::vault::Vault::new(old);
    let err = old_vault
        .data_key(&mut conn, &key_id)
        .unwrap_err()
        .to_string();
    assert!(err.contains("wrapped by master key"), "{err}");
}
