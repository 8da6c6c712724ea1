//! The `/tools/assign` page in headless Chromium: load files, assign, re-assign by keyboard,
//! export, check the downloaded CSVs, and check that no request carries token data.
//!
//! Needs Chromium and chromedriver (Debian `chromium chromium-driver`), through `support::tools`.
//! Without them the tests are skipped loudly, unless `CI` is set, where they fail.

use actix_web::dev::Service;
use actix_web::{web, App, HttpServer};
use fantoccini::{Client, Locator};
use serde_json::json;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::tools::Tool;

const ENTER: &str = "\u{e007}";
const TAB: &str = "\u{e004}";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    content_length: Option<String>,
}

struct Server {
    base: String,
    log: Arc<Mutex<Vec<Seen>>>,
    handle: actix_web::dev::ServerHandle,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spawn_server() -> Server {
    let tera = tera::Tera::new(&format!("{}/templates/**/*", root().display())).unwrap();
    let tera = web::Data::new(tera);
    let brand = web::Data::new(seedport::web::Brand {
        vendor_name: "Deepnet Security".into(),
        logo_text: "Deepnet Security".into(),
        delivery_email: "delivery@example.com".into(),
        demo: false,
    });
    let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log2 = log.clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let log = log2.clone();
        App::new()
            .app_data(tera.clone())
            .app_data(brand.clone())
            .wrap_fn(move |req, srv| {
                log.lock().unwrap().push(Seen {
                    method: req.method().to_string(),
                    uri: req.uri().to_string(),
                    content_length: req
                        .headers()
                        .get("content-length")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                });
                srv.call(req)
            })
            .configure(seedport::web::assign::configure)
            .service(actix_files::Files::new("/static", root().join("static")))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Server {
        base: format!("http://127.0.0.1:{port}"),
        log,
        handle,
    }
}

async fn start_browser(downloads: &Path) -> Browser {
    Browser::start(BrowserOptions {
        downloads: Some(downloads),
        ..BrowserOptions::default()
    })
    .await
}

/// Polls a JavaScript expression until it is true (10 s).
async fn wait_js(c: &Client, expr: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = c
            .execute(&format!("return !!({expr});"), vec![])
            .await
            .unwrap();
        if v == json!(true) {
            return;
        }
        if Instant::now() > deadline {
            let msgs = c
                .execute("return document.getElementById('messages').innerText + ' | ' + document.getElementById('done').innerText", vec![])
                .await
                .unwrap();
            panic!("timed out waiting for {expr}; page says: {msgs}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn js_string(c: &Client, expr: &str) -> String {
    match c
        .execute(&format!("return String({expr});"), vec![])
        .await
        .unwrap()
    {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

async fn id(c: &Client, id: &str) -> fantoccini::elements::Element {
    c.find(Locator::Id(id)).await.unwrap()
}

/// Waits until the download folder holds a finished file starting with `prefix`.
async fn downloaded(dir: &Path, prefix: &str) -> (String, Vec<u8>) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with(prefix) && name.ends_with(".csv") {
                return (name, std::fs::read(e.path()).unwrap());
            }
        }
        assert!(Instant::now() < deadline, "no {prefix}*.csv was downloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures/assign")
        .join(name)
        .display()
        .to_string()
}

/// Token data from the fixtures that must never reach the server.
fn token_data() -> Vec<String> {
    let text = std::fs::read_to_string(fixture("tokens.csv")).unwrap();
    text.lines()
        .skip(1)
        .flat_map(|l| {
            let c: Vec<&str> = l.trim().split(',').collect();
            [c[0].to_string(), c[1].to_string()]
        })
        .collect()
}

#[actix_web::test]
async fn assign_reassign_by_keyboard_and_export() {
    crate::require_tools!(Tool::Chromium, Tool::Chromedriver);
    let server = spawn_server();
    let downloads = tempfile::tempdir().unwrap();
    let browser = start_browser(downloads.path()).await;
    let c = browser.client.clone();
    let result = async {
        c.goto(&format!("{}/tools/assign", server.base)).await.unwrap();
        wait_js(&c, "document.body.dataset.assignReady === 'true'").await;
        let page_loaded_at = server.log.lock().unwrap().len();

        // Load the token file and the user file through the file inputs.
        id(&c, "token-file").await.send_keys(&fixture("tokens.csv")).await.unwrap();
        wait_js(&c, "document.querySelectorAll('#tokens tbody tr').length === 5").await;
        id(&c, "user-file").await.send_keys(&fixture("users.txt")).await.unwrap();
        wait_js(&c, "document.getElementById('user-list').value.includes('user3@acme.com')").await;
        id(&c, "apply").await.click().await.unwrap();
        wait_js(&c, "document.getElementById('upn-10001003').value === 'user3@acme.com'").await;
        assert_eq!(js_string(&c, "document.getElementById('upn-10001001').value").await, "user1@acme.com");
        assert!(js_string(&c, "document.getElementById('done').innerText").await.contains("Assigned 3 tokens"));

        // Re-assign by keyboard: Move on user1's row, then Move here on token 10001005.
        id(&c, "move-10001001").await.send_keys(ENTER).await.unwrap();
        wait_js(&c, "document.getElementById('live').textContent.includes('Moving user1@acme.com')").await;
        assert_eq!(js_string(&c, "document.activeElement.id").await, "move-10001001");
        assert_eq!(js_string(&c, "document.getElementById('move-10001001').getAttribute('aria-pressed')").await, "true");
        id(&c, "move-10001005").await.send_keys(ENTER).await.unwrap();
        wait_js(&c, "document.getElementById('upn-10001005').value === 'user1@acme.com'").await;
        wait_js(&c, "document.getElementById('live').textContent.includes('user1@acme.com moved to token 10001005')").await;
        assert_eq!(js_string(&c, "document.activeElement.id").await, "upn-10001005");
        assert_eq!(js_string(&c, "document.getElementById('upn-10001001').value").await, "");

        // Escape cancels a pending move.
        id(&c, "move-10001003").await.send_keys(ENTER).await.unwrap();
        wait_js(&c, "document.getElementById('move-10001004').textContent === 'Move here'").await;
        c.active_element().await.unwrap().send_keys("\u{e00c}").await.unwrap();
        wait_js(&c, "document.getElementById('live').textContent.includes('Move cancelled')").await;

        // Remove user2's assignment with the x button.
        id(&c, "remove-10001002").await.click().await.unwrap();
        wait_js(&c, "document.getElementById('upn-10001002').value === ''").await;

        // An invalid UPN typed in place is refused with a message.
        let upn2 = id(&c, "upn-10001002").await;
        upn2.send_keys(&format!("bad upn@acme.com{TAB}")).await.unwrap();
        wait_js(&c, "!document.getElementById('messages').hidden").await;
        assert!(js_string(&c, "document.getElementById('messages').innerText").await.contains("is not allowed in a UPN"));
        upn2.clear().await.unwrap();

        // Edit a UPN and a display name in place.
        id(&c, "upn-10001004").await.send_keys(&format!("new.user@acme.com{TAB}")).await.unwrap();
        wait_js(&c, "!document.getElementById('name-10001004').disabled").await;
        id(&c, "name-10001004").await.send_keys(&format!("New User{TAB}")).await.unwrap();

        // Export and read what the browser saved.
        id(&c, "export").await.click().await.unwrap();
        let (entra_name, entra) = downloaded(downloads.path(), "EntraTokens_").await;
        let (inv_name, inv) = downloaded(downloads.path(), "CustomerTokens_").await;
        assert_eq!(entra_name.len(), "EntraTokens_YYYYMMDD.csv".len());
        assert_eq!(&inv_name[15..], &entra_name[12..], "same date in both names");
        let expected = "upn,serial number,secret key,time interval,manufacturer,model\r\n\
            user3@acme.com,10001003,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,60,Deepnet Security,SafeID/Classic\r\n\
            new.user@acme.com,10001004,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,30,Deepnet Security,SafeID/Enterprise\r\n\
            user1@acme.com,10001005,MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U,30,Deepnet Security,SafeID/Enterprise\r\n";
        assert_eq!(String::from_utf8(entra).unwrap(), expected);
        let inv = String::from_utf8(inv).unwrap();
        let rows: Vec<Vec<&str>> = inv.split("\r\n").filter(|l| !l.is_empty()).map(|l| l.split(',').collect()).collect();
        assert_eq!(rows[0].join(","), "upn,display name,status,date,serial number,secret key,time interval,manufacturer,model");
        let view: Vec<(&str, &str, &str, &str)> = rows[1..].iter().map(|r| (r[0], r[1], r[2], r[4])).collect();
        assert_eq!(
            view,
            vec![
                ("", "", "Free", "10001001"),
                ("", "", "Free", "10001002"),
                ("user3@acme.com", "James Bond", "New", "10001003"),
                ("new.user@acme.com", "New User", "New", "10001004"),
                ("user1@acme.com", "John Smith", "New", "10001005"),
            ]
        );

        // Nothing after page load carried token data: only GETs without bodies.
        let log = server.log.lock().unwrap().clone();
        let secrets = token_data();
        for s in &log {
            assert_eq!(s.method, "GET", "{s:?}");
            assert!(s.content_length.as_deref().unwrap_or("0") == "0", "{s:?}");
            for t in &secrets {
                assert!(!s.uri.contains(t.as_str()), "request {} carries token data", s.uri);
            }
        }
        for s in &log[page_loaded_at..] {
            assert!(s.uri.starts_with("/static/") || s.uri == "/favicon.ico", "unexpected request {s:?}");
        }
    }
    .await;
    let _ = c.close().await;
    server.handle.stop(false).await;
    result
}

#[actix_web::test]
async fn inventory_old_rows_unassign_and_clear_errors() {
    crate::require_tools!(Tool::Chromium, Tool::Chromedriver);
    let server = spawn_server();
    let downloads = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    // An inventory from an earlier session, and a file with an unknown header.
    let inv = files.path().join("CustomerTokens_20260115.csv");
    std::fs::write(
        &inv,
        "\u{feff}upn,display name,status,date,serial number,secret key,time interval,manufacturer,model\r\n\
         user1@acme.com,John Smith,Old,2026-01-15,10001001,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\r\n\
         \r\n\
         ,,Free,,10001002,ZYXWVUTSRQPONMLKJIHGFEDCBA765432,60,Deepnet Security,SafeID/Classic\r\n",
    )
    .unwrap();
    let bad = files.path().join("bad.csv");
    std::fs::write(
        &bad,
        "serial,seed\n1,3132333435363738393031323334353637383930\n",
    )
    .unwrap();
    let browser = start_browser(downloads.path()).await;
    let c = browser.client.clone();
    c.goto(&format!("{}/tools/assign", server.base))
        .await
        .unwrap();
    wait_js(&c, "document.body.dataset.assignReady === 'true'").await;

    id(&c, "token-file")
        .await
        .send_keys(&bad.display().to_string())
        .await
        .unwrap();
    wait_js(&c, "!document.getElementById('messages').hidden").await;
    let m = js_string(&c, "document.getElementById('messages').innerText").await;
    assert!(
        m.contains("bad.csv line 1: unknown header; expected one of:"),
        "{m}"
    );
    assert!(
        m.contains("upn,serial number,secret key,time interval,manufacturer,model"),
        "{m}"
    );
    assert_eq!(
        js_string(&c, "document.activeElement.id").await,
        "messages",
        "errors get focus"
    );

    id(&c, "token-file")
        .await
        .send_keys(&inv.display().to_string())
        .await
        .unwrap();
    wait_js(
        &c,
        "document.querySelectorAll('#tokens tbody tr').length === 2",
    )
    .await;
    let badge = "document.querySelector('tr[data-serial=\"10001001\"] .badge').textContent";
    assert_eq!(js_string(&c, badge).await, "Old");

    // Duplicate users are refused, nothing is assigned.
    id(&c, "user-list")
        .await
        .send_keys("user2@acme.com\nUSER2@acme.com\n")
        .await
        .unwrap();
    id(&c, "apply").await.click().await.unwrap();
    wait_js(
        &c,
        "document.getElementById('messages').innerText.includes('listed twice')",
    )
    .await;
    // More users than free tokens is refused, nothing is assigned.
    id(&c, "user-list").await.clear().await.unwrap();
    id(&c, "user-list")
        .await
        .send_keys("user1@acme.com\nuser2@acme.com\nuser3@acme.com\n")
        .await
        .unwrap();
    id(&c, "apply").await.click().await.unwrap();
    wait_js(&c, "document.getElementById('messages').innerText.includes('2 users need a token but only 1 tokens are free')").await;
    assert_eq!(
        js_string(&c, "document.getElementById('upn-10001002').value").await,
        ""
    );

    // Unassign the old row: status Unassigned, then it can take a new user.
    id(&c, "remove-10001001").await.click().await.unwrap();
    wait_js(&c, &format!("{badge} === 'Unassigned'")).await;
    id(&c, "user-list").await.clear().await.unwrap();
    id(&c, "user-list")
        .await
        .send_keys("user2@acme.com,Joe Bloggs\n")
        .await
        .unwrap();
    id(&c, "apply").await.click().await.unwrap();
    wait_js(
        &c,
        "document.getElementById('upn-10001001').value === 'user2@acme.com'",
    )
    .await;
    assert_eq!(js_string(&c, badge).await, "New");

    let _ = c.close().await;
    server.handle.stop(false).await;
}
