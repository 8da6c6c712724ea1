//! What an operator runs and reads: JSON logs with one access line per request (no link token
//! in them), Prometheus metrics on their own address (checked by promtool), `seedport doctor`,
//! and `seedport backup` with a restore.

use crate::support::tools::{self, Tool};
use crate::support::{backends, seedport_bin, spawn_app, Backend, TestDb};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const LINK_TOKEN: &str = "sp_dl_Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg";

/// `seedport serve` as a child in a demo folder of its own, killed on drop.
struct Server {
    child: Child,
    base: String,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(env: &[(&str, String)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new(seedport_bin());
    cmd.current_dir(dir.path())
        .arg("serve")
        .env("SEEDPORT_BIND", format!("127.0.0.1:{port}"))
        .env(
            "SEEDPORT_PUBLIC_BASE_URL",
            format!("http://127.0.0.1:{port}"),
        )
        .env_remove("SEEDPORT_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = lines.clone();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "seedport did not start: {:?}",
            lines.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        stderr: lines,
        _dir: dir,
    }
}

#[tokio::test]
async fn json_logs_have_one_access_line_per_request_and_never_a_link_token() {
    let server = start_server(&[("SEEDPORT_LOG_FORMAT", "json".into())]);
    let client = reqwest::Client::new();
    let start = client
        .get(format!("{}/", server.base))
        .header("X-Request-Id", "from-an-untrusted-client")
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 200);
    let id = start.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(
        id, "from-an-untrusted-client",
        "only trusted proxies set the id"
    );
    let link = client
        .get(format!("{}/d/{LINK_TOKEN}", server.base))
        .send()
        .await
        .unwrap();
    assert!(link.status().is_client_error() || link.status().is_success());
    // The access line is written after the response; give the logger a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let lines = server.stderr.lock().unwrap().clone();
        if lines.iter().filter(|l| l.contains("\"request\"")).count() >= 2
            || Instant::now() > deadline
        {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut access = Vec::new();
    for line in &lines {
        assert!(
            !line.contains('\u{1b}'),
            "colour code in a log line: {line:?}"
        );
        assert!(
            !line.contains(LINK_TOKEN),
            "link token in a log line: {line}"
        );
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
        if value["target"] == "seedport::access" {
            access.push(value);
        }
    }
    assert_eq!(access.len(), 2, "{lines:#?}");
    assert_eq!(access[0]["route"], "/");
    assert_eq!(access[0]["status"], 200);
    assert_eq!(access[0]["request_id"], id.as_str());
    assert!(access[0]["duration_ms"].is_number());
    assert_eq!(access[1]["route"], "/d/{token}");
}

#[tokio::test]
async fn text_logs_have_no_colour_codes_when_stderr_is_not_a_terminal() {
    let server = start_server(&[]);
    reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = server.stderr.lock().unwrap().clone();
        if lines.iter().any(|l| l.contains("/healthz")) {
            assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "{lines:#?}");
            break;
        }
        assert!(Instant::now() < deadline, "no access line: {lines:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_by_route_template() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let metrics_url = format!("http://{}/metrics", listener.local_addr().unwrap());
        tokio::spawn(seedport::web::metrics::serve(app.db.clone(), listener).unwrap());
        let public = app
            .client
            .get(format!("{}/metrics", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(
            public.status(),
            404,
            "metrics are never on the public address"
        );
        app.client
            .get(format!("{}/d/{LINK_TOKEN}", app.base_url))
            .send()
            .await
            .unwrap();
        app.client.get(&app.base_url).send().await.unwrap();
        // A request submitted builds its package: the build-seconds histogram records it.
        let customer = crate::support::customer::Customer::new(&app.base_url);
        let ships = crate::support::customer::DemoShipments::load(&app.db);
        let (base, csrf) = customer.to_review(&ships).await.unwrap();
        assert_eq!(customer.submit(&base, &csrf).await.0, 303);

        let text = reqwest::get(&metrics_url)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!text.contains(LINK_TOKEN), "a raw path reached the metrics");
        assert!(
            text.contains(r#"route="/d/{token}""#),
            "route templates as labels:\n{text}"
        );
        assert!(text.contains("seedport_http_request_duration_seconds_bucket"));
        assert!(
            text.contains("seedport_package_build_seconds_bucket{format=\"entra-csv\"")
                && text.contains("seedport_package_build_seconds_count{format=\"entra-csv\"}"),
            "package build seconds by format:\n{text}"
        );
        for gauge in [
            "seedport_packages_built_bytes",
            "seedport_packages_built",
            "seedport_shipments_locked",
            "seedport_outbox_failed_attempts_pending",
        ] {
            assert!(text.contains(gauge), "{gauge} missing:\n{text}");
        }
        if tools::require(&[Tool::Promtool]) {
            let mut check = tools::command(Tool::Promtool)
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            check
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            let out = check.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "promtool: {}{}\n{text}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn seedport(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(seedport_bin());
    cmd.current_dir(dir).args(args).env_remove("SEEDPORT_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn doctor_passes_a_demo_folder_and_names_each_production_problem_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = seedport(dir.path(), &["doctor"], &[]);
    assert!(fresh.status.success(), "{}", said(&fresh));
    assert!(
        said(&fresh).contains("does not exist yet"),
        "{}",
        said(&fresh)
    );
    assert!(
        !dir.path().join("var/seedport.db").exists(),
        "doctor created the database"
    );
    let migrate = seedport(dir.path(), &["migrate"], &[]);
    assert!(migrate.status.success(), "{}", said(&migrate));
    let ok = seedport(dir.path(), &["doctor"], &[]);
    assert!(ok.status.success(), "{}", said(&ok));
    let text = said(&ok);
    assert!(
        text.contains("OK       configuration (demo mode)"),
        "{text}"
    );
    assert!(text.contains("is reachable and migrated"), "{text}");
    assert!(text.contains("all checks passed"), "{text}");

    // Production with a key inside the data folder, no SMTP, and an http URL.
    let var = dir.path().join("var");
    std::fs::create_dir_all(&var).unwrap();
    seedport::vault::MasterKey::generate()
        .write_new_file(&var.join("master.key"))
        .unwrap();
    std::fs::write(
        dir.path().join("seedport.toml"),
        "mode = \"production\"\nmaster_key_file = \"var/master.key\"\n",
    )
    .unwrap();
    let bad = seedport(dir.path(), &["doctor"], &[]);
    assert!(!bad.status.success());
    let text = said(&bad);
    assert!(text.contains("PROBLEM  configuration:"), "{text}");
    assert!(text.contains("SMTP is not configured"), "{text}");
    assert!(text.contains("inside the data folder"), "{text}");
    assert!(text.contains("must use https in production"), "{text}");
    assert_eq!(
        text.matches("fix: ").count(),
        text.matches("PROBLEM").count(),
        "{text}"
    );
}

#[test]
fn doctor_checks_a_real_smtp_relay_and_a_stopped_one() {
    crate::require_tools!(Tool::Aiosmtpd);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/smtp.py");
    let mail = tempfile::tempdir().unwrap();
    let mut relay = tools::command(Tool::Python)
        .arg(script)
        .arg(port.to_string())
        .arg(mail.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(relay.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    let env = [
        ("SEEDPORT_SMTP_HOST", "127.0.0.1".to_string()),
        ("SEEDPORT_SMTP_PORT", port.to_string()),
        ("SEEDPORT_SMTP_SECURITY", "none".to_string()),
    ];
    let up = seedport(dir.path(), &["doctor"], &env);
    let text = said(&up);
    assert!(up.status.success(), "{text}");
    assert!(text.contains("connected, EHLO accepted"), "{text}");
    assert!(
        std::fs::read_dir(mail.path()).unwrap().next().is_none(),
        "doctor sent a message"
    );
    let _ = relay.kill();
    let _ = relay.wait();
    let down = seedport(dir.path(), &["doctor"], &env);
    let text = said(&down);
    assert!(!down.status.success(), "{text}");
    assert!(
        text.contains(&format!("PROBLEM  SMTP 127.0.0.1:{port}")),
        "{text}"
    );
}

#[test]
fn backup_is_a_consistent_copy_without_the_master_key_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let migrate = seedport(dir.path(), &["migrate"], &[]);
    assert!(migrate.status.success(), "{}", said(&migrate));
    // Demo data: start the portal once so it seeds, through the same code `serve` uses.
    let config = seedport::config::Config {
        data_dir: dir.path().join("var"),
        database_url: format!("sqlite://{}", dir.path().join("var/seedport.db").display()),
        ..seedport::config::Config::default()
    };
    let master = seedport::app::load_master_key(&config).unwrap();
    seedport::app::build_state(config, master, seedport::clock::Clock::fixed(1_795_000_000))
        .unwrap();

    let out = dir.path().join("copy.db");
    let backup = seedport(dir.path(), &["backup", "--out", "copy.db"], &[]);
    assert!(backup.status.success(), "{}", said(&backup));
    assert!(said(&backup).contains("holds no master key"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the copy is owner-only");
    }
    let key = std::fs::read_to_string(dir.path().join("var/master.key")).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    assert!(
        !bytes
            .windows(key.trim().len())
            .any(|w| w == key.trim().as_bytes()),
        "the backup holds the master key"
    );
    let again = seedport(dir.path(), &["backup", "--out", "copy.db"], &[]);
    assert!(!again.status.success());
    assert!(
        said(&again).contains("must not exist yet"),
        "{}",
        said(&again)
    );

    // Restore: a fresh folder with the copy as its database and the same key serves the order.
    let restored = tempfile::tempdir().unwrap();
    let rvar = restored.path().join("var");
    std::fs::create_dir_all(&rvar).unwrap();
    std::fs::copy(&out, rvar.join("seedport.db")).unwrap();
    std::fs::copy(dir.path().join("var/master.key"), rvar.join("master.key")).unwrap();
    let check = seedport(restored.path(), &["audit", "verify"], &[]);
    assert!(check.status.success(), "{}", said(&check));
    let orders = seedport::db::Db::connect(
        &format!("sqlite://{}", rvar.join("seedport.db").display()),
        1,
    )
    .unwrap();
    let mut conn = orders.get().unwrap();
    use diesel::prelude::*;
    let n: i64 = seedport::db::schema::tokens::table
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert!(n > 0, "restored database has the demo tokens");
}

#[test]
fn backup_on_postgres_points_to_pg_dump() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let db = TestDb::new(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let out = seedport(
        dir.path(),
        &["backup", "--out", "x.dump"],
        &[("DATABASE_URL", db.url.clone())],
    );
    assert!(!out.status.success());
    assert!(said(&out).contains("pg_dump"), "{}", said(&out));
}
