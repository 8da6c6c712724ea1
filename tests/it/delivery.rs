//! Delivery end to end on every backend: approve/reject races, emails received by a real SMTP
//! server on loopback, scanner-safe links, one-time downloads, password lockout, confirmation
//! that destroys the package, expiry with an injected clock, and the outbox under failure.

use crate::support;

use diesel::prelude::*;
use seedport::db::schema::{
    audit_log, customers, data_keys, orders, outbox, package_chunks, packages, requests,
};
use seedport::db::{Db, DbError};
use seedport::delivery::{self, ApproveOutcome, DeliveryError, RejectOutcome};
use seedport::jobs::{self, JobDeps, JobOptions, Jobs};
use seedport::lifecycle::{RequestId, State, Who};
use seedport::mail::sender::SenderOptions;
use seedport::request::{Bundling, ProtectionKind};
use seedport::storage::ChunkWriter;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use support::requests::{submit_request, RequestSpec};
use support::smtp::{free_port, Smtp};
use support::tools::{self, Tool};
use support::{backends, spawn_app_with, Backend, TestApp};

const PASSWORD: &str = "correct horse battery staple";
const SCANNER: &str = "Mozilla/5.0 (compatible; SafeLinks scanner; +https://example.invalid)";

// ---------------------------------------------------------------------------------------------
// App, jobs and test data.

async fn app_with_smtp(backend: Backend, smtp_port: u16) -> TestApp {
    app_with(backend, Some(smtp_port), |_| {}).await
}

async fn app_with(
    backend: Backend,
    smtp_port: Option<u16>,
    adjust: impl FnOnce(&mut seedport::config::Config),
) -> TestApp {
    spawn_app_with(backend, move |c| {
        c.smtp = smtp_port.map(|port| seedport::config::SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            security: seedport::config::SmtpSecurity::None,
            username: None,
            password: None,
        });
        c.alert_email = "alerts@vendor.example".into();
        adjust(c);
    })
    .await
}

fn deps(app: &TestApp, db: Db) -> JobDeps {
    JobDeps {
        db,
        config: app.config.clone(),
        clock: app.clock.clone(),
        tera: seedport::web::assets::tera().unwrap(),
    }
}

fn fast() -> JobOptions {
    JobOptions {
        sender: SenderOptions {
            poll: Duration::from_millis(50),
            ..SenderOptions::default()
        },
        sweep_every: Duration::from_secs(3600),
        follow_every: Duration::from_millis(100),
    }
}

fn start_jobs(app: &TestApp) -> Jobs {
    jobs::start(deps(app, app.db.clone()), fast()).unwrap()
}

/// A request under review for the demo order, submitted through the domain as the wizard does
/// (lookup, draft, shipment proof, submit: `support::requests`); returns its id and packages.
fn make_request(app: &TestApp, spec: RequestSpec) -> (String, Vec<String>) {
    let made = submit_request(app, &spec);
    (made.request_id, made.package_ids)
}

/// The demo order's first shipment as an Entra CSV in a zip with [`PASSWORD`].
fn password_request() -> RequestSpec {
    RequestSpec {
        password: Some(PASSWORD.into()),
        ..RequestSpec::default()
    }
}

/// Encrypted to a fresh PGP key; `shipments` of the demo order, one package each.
fn pgp_request(shipments: usize) -> RequestSpec {
    RequestSpec {
        shipments,
        bundling: Bundling::PerShipment,
        ..RequestSpec::pgp()
    }
}

/// What the pipeline recorded for a package: (file name, size, SHA-256).
async fn stored(app: &TestApp, id: &str) -> (String, i64, String) {
    let id = id.to_string();
    app.db
        .run(move |conn| {
            packages::table
                .find(id)
                .select((packages::file_name, packages::size, packages::sha256))
                .first(conn)
                .map_err(DbError::from)
        })
        .await
        .unwrap()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

async fn approve(
    app: &TestApp,
    request_id: &str,
    actor: &str,
) -> Result<ApproveOutcome, DeliveryError> {
    let (config, tera, now) = (
        app.config.clone(),
        seedport::web::assets::tera().unwrap(),
        app.clock.now(),
    );
    let (id, actor) = (RequestId::from_raw(request_id), actor.to_string());
    app.db
        .run(move |conn| {
            let who = Who {
                actor: &actor,
                client_ip: "10.0.0.1",
            };
            delivery::approve(conn, &config, &tera, &id, who, now)
        })
        .await
}

async fn reject(
    app: &TestApp,
    request_id: &str,
    reason: &str,
) -> Result<RejectOutcome, DeliveryError> {
    let (config, tera, now) = (
        app.config.clone(),
        seedport::web::assets::tera().unwrap(),
        app.clock.now(),
    );
    let (id, reason) = (RequestId::from_raw(request_id), reason.to_string());
    app.db
        .run(move |conn| {
            let who = Who {
                actor: "staff:rev@vendor",
                client_ip: "10.0.0.1",
            };
            delivery::reject(conn, &config, &tera, &id, who, &reason, now)
        })
        .await
}

/// The `/d/…` and `/c/…` links in an email's text.
fn links(app: &TestApp, text: &str) -> (String, String) {
    let find = |kind: &str| {
        let prefix = format!("{}/{kind}/", app.base_url);
        let start = text
            .find(&prefix)
            .unwrap_or_else(|| panic!("no {prefix} in {text}"));
        text[start..].split_whitespace().next().unwrap().to_string()
    };
    (find("d"), find("c"))
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

async fn package(app: &TestApp, id: &str) -> (String, i32, i32) {
    let id = id.to_string();
    app.db
        .run(move |conn| {
            packages::table
                .find(id)
                .select((
                    packages::state,
                    packages::downloads,
                    packages::wrong_passwords,
                ))
                .first(conn)
                .map_err(DbError::from)
        })
        .await
        .unwrap()
}

async fn count_chunks_and_key(app: &TestApp, id: &str) -> (i64, Option<String>, i64) {
    let id = id.to_string();
    app.db
        .run(move |conn| {
            let chunks: i64 = package_chunks::table
                .filter(package_chunks::package_id.eq(&id))
                .count()
                .get_result(conn)?;
            let key: Option<String> = packages::table
                .find(&id)
                .select(packages::data_key_id)
                .first(conn)?;
            let keys: i64 = data_keys::table
                .filter(data_keys::purpose.eq("package"))
                .count()
                .get_result(conn)?;
            Ok::<_, DbError>((chunks, key, keys))
        })
        .await
        .unwrap()
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    app.db
        .run(|conn| {
            audit_log::table
                .order(audit_log::seq.asc())
                .select(audit_log::action)
                .load(conn)
                .map_err(DbError::from)
        })
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approve_email_download_and_confirm_end_to_end() {
    crate::require_tools!(Tool::Aiosmtpd, Tool::SevenZip);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app_with_smtp(backend, smtp.port).await;
        let _jobs = start_jobs(&app);
        let work = tempfile::tempdir().unwrap();
        let (request_id, pids) = make_request(&app, password_request());
        let (file_name, size, sha256) = stored(&app, &pids[0]).await;

        let outcome = approve(&app, &request_id, "staff:alice@vendor")
            .await
            .unwrap();
        assert_eq!(
            outcome,
            ApproveOutcome::Approved {
                packages: pids.len()
            },
            "{backend:?}"
        );
        match approve(&app, &request_id, "staff:bob@vendor")
            .await
            .unwrap()
        {
            ApproveOutcome::AlreadyDecided(d) => {
                assert_eq!(d.state, State::Approved);
                assert_eq!(d.by.as_deref(), Some("staff:alice@vendor"));
            }
            other => panic!("{other:?}"),
        }

        let mail = smtp.wait_for_subject("ready to download", 1).await;
        let ready = &mail[0];
        assert_eq!(ready.rcpt_tos, vec!["it-admin@acme.example".to_string()]);
        assert!(ready.subject.contains("ready"), "{}", ready.subject);
        assert!(ready.reply_to.contains(&app.config.delivery_email));
        assert!(ready.text.contains("7-Zip") && ready.text.contains("Windows Explorer"));
        assert!(
            ready.text.contains("/tools/assign"),
            "Entra format links the assignment tool"
        );
        assert!(ready.html.contains("/d/sp_dl_"));
        let (download, confirm) = links(&app, &ready.text);
        assert!(download.contains("/d/sp_dl_") && confirm.contains("/c/sp_cf_"));

        // The sent link-bearing body is scrubbed; the token is stored only as its hash.
        let token = download.rsplit('/').next().unwrap().to_string();
        let (bodies, hashes) = app
            .db
            .run(move |conn| {
                let bodies: Vec<(String, String)> = outbox::table
                    .filter(outbox::state.eq("sent"))
                    .select((outbox::body_text, outbox::body_html))
                    .load(conn)?;
                let hashes: Vec<Option<String>> =
                    packages::table.select(packages::download_hash).load(conn)?;
                Ok::<_, DbError>((bodies, hashes))
            })
            .await
            .unwrap();
        assert!(bodies
            .iter()
            .all(|(t, h)| !t.contains("sp_dl_") && !h.contains("sp_dl_")));
        assert!(hashes.iter().all(|h| h.as_deref() != Some(token.as_str())));

        // Mail scanners fetch every link: ten GETs each change nothing.
        let scanner = reqwest::Client::builder()
            .user_agent(SCANNER)
            .build()
            .unwrap();
        for _ in 0..10 {
            let d = scanner.get(&download).send().await.unwrap();
            assert_eq!(d.status(), 200);
            let c = scanner.get(&confirm).send().await.unwrap();
            assert_eq!(c.status(), 200);
            let body = d.text().await.unwrap();
            assert!(body.contains(&file_name) && body.contains("type=\"password\""));
        }
        let (state, downloads, wrong) = package(&app, &pids[0]).await;
        assert!(state == "approved" || state == "emailed", "{state}");
        assert_eq!((downloads, wrong), (0, 0));

        // A POST without the CSRF cookie is refused.
        let bare = reqwest::Client::new();
        let refused = bare
            .post(&download)
            .form(&[("csrf", "x"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403);

        let page = app
            .client
            .get(&download)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = csrf_of(&page);
        let wrong = app
            .client
            .post(&download)
            .form(&[("csrf", csrf.as_str()), ("password", "not the password")])
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 403);
        assert!(wrong.text().await.unwrap().contains("4 attempts left"));

        let file = app
            .client
            .post(&download)
            .form(&[("csrf", csrf.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(file.status(), 200, "{backend:?}");
        let h = file.headers().clone();
        assert_eq!(h["content-type"], "application/zip");
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(
            h["content-disposition"],
            format!("attachment; filename=\"{file_name}\"").as_str()
        );
        assert_eq!(h["content-length"], size.to_string().as_str());
        let bytes = file.bytes().await.unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), sha256, "{backend:?}");
        assert_eq!(
            package(&app, &pids[0]).await,
            ("downloaded".into(), 1, 1),
            "refund keeps only the wrong attempt"
        );

        // 7-Zip opens what was downloaded.
        let got = work.path().join("downloaded.zip");
        std::fs::write(&got, &bytes).unwrap();
        let out = tools::command(Tool::SevenZip)
            .args(["x", &format!("-p{PASSWORD}"), "-y"])
            .arg(format!("-o{}", work.path().join("out").display()))
            .arg(&got)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let texts: Vec<String> = files_under(&work.path().join("out"))
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("upn,serial number,secret key") && t.contains("10001001")),
            "{backend:?}: no Entra CSV with the proved token in {texts:?}"
        );

        // Confirm: the page, then the POST destroys everything.
        let page = app
            .client
            .get(&confirm)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("delete"));
        let csrf = csrf_of(&page);
        let done = app
            .client
            .post(&confirm)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 200);
        assert!(done.text().await.unwrap().contains("deleted our copy"));
        assert_eq!(package(&app, &pids[0]).await.0, "confirmed");
        assert_eq!(
            count_chunks_and_key(&app, &pids[0]).await,
            (0, None, 0),
            "{backend:?}: no trace left"
        );
        let again = app
            .client
            .post(&confirm)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 410);
        assert!(again.text().await.unwrap().contains("already confirmed"));
        let dead = app.client.get(&download).send().await.unwrap();
        assert_eq!(dead.status(), 410);

        smtp.wait_for_subject("Receipt confirmed", 1).await;
        let actions = audit_actions(&app).await;
        for a in [
            "package.released",
            "request.approved",
            "package.wrong_password",
            "package.downloaded",
            "package.confirmed",
        ] {
            assert!(
                actions.iter().any(|x| x == a),
                "{backend:?}: {a} in {actions:?}"
            );
        }
        let unknown = app
            .client
            .get(format!("{}/d/sp_dl_nope", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 404);
        assert!(unknown
            .text()
            .await
            .unwrap()
            .contains(&app.config.delivery_email));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_downloads_against_a_limit_of_one_give_exactly_one_file() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app_with(backend, Some(smtp.port), |c| c.download_limit = 1).await;
        let _jobs = start_jobs(&app);
        let (request_id, pids) = make_request(&app, pgp_request(1));
        let (_, _, sha256) = stored(&app, &pids[0]).await;
        approve(&app, &request_id, "staff:alice@vendor")
            .await
            .unwrap();
        let ready = smtp.wait_for_subject("ready to download", 1).await;
        let (download, _) = links(&app, &ready[0].text);
        let page = app
            .client
            .get(&download)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!page.contains("type=\"password\""));
        let csrf = csrf_of(&page);
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (client, url, csrf) = (app.client.clone(), download.clone(), csrf.clone());
                tokio::spawn(async move {
                    let r = client
                        .post(&url)
                        .form(&[("csrf", csrf.as_str())])
                        .send()
                        .await
                        .unwrap();
                    let status = r.status().as_u16();
                    (status, r.bytes().await.unwrap())
                })
            })
            .collect();
        let mut files = 0;
        for t in tasks {
            let (status, body) = t.await.unwrap();
            if status == 200 {
                assert_eq!(hex::encode(Sha256::digest(&body)), sha256);
                files += 1;
            } else {
                assert_eq!(status, 410, "{backend:?}");
            }
        }
        assert_eq!(files, 1, "{backend:?}");
        assert_eq!(package(&app, &pids[0]).await, ("downloaded".into(), 1, 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_wrong_passwords_lock_the_download_and_alert_the_team() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app_with_smtp(backend, smtp.port).await;
        let _jobs = start_jobs(&app);
        let both = RequestSpec {
            protection: ProtectionKind::Both,
            password: Some(PASSWORD.into()),
            ..RequestSpec::pgp()
        };
        let (request_id, pids) = make_request(&app, both);
        approve(&app, &request_id, "staff:alice@vendor")
            .await
            .unwrap();
        let ready = smtp
            .wait_for_subject("ready to download", 1)
            .await
            .remove(0);
        assert!(
            ready.text.contains("gpg --output") && ready.text.contains("7-Zip"),
            "both steps explained"
        );
        let (download, confirm) = links(&app, &ready.text);
        let csrf = csrf_of(
            &app.client
                .get(&download)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
        for n in 1..=5 {
            let r = app
                .client
                .post(&download)
                .form(&[("csrf", csrf.as_str()), ("password", "wrong wrong wrong")])
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                if n < 5 { 403 } else { 423 },
                "{backend:?} attempt {n}"
            );
        }
        let right = app
            .client
            .post(&download)
            .form(&[("csrf", csrf.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(right.status(), 423);
        assert!(right.text().await.unwrap().contains("locked"));
        assert_eq!(
            app.client.get(&download).send().await.unwrap().status(),
            423
        );
        assert_eq!(package(&app, &pids[0]).await, ("locked".into(), 0, 5));
        let mail = smtp.wait_for_subject("locked", 2).await;
        let to: Vec<String> = mail.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
        assert!(to.contains(&"alerts@vendor.example".to_string()), "{to:?}");
        assert_eq!(
            mail.len(),
            2,
            "{backend:?}: one lock email each to the customer and the team"
        );
        // The customer can still confirm, which deletes the locked file.
        let csrf = csrf_of(
            &app.client
                .get(&confirm)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
        let r = app
            .client
            .post(&confirm)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(count_chunks_and_key(&app, &pids[0]).await.0, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn links_expire_with_the_clock_and_the_sweeper_destroys_the_package() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app_with_smtp(backend, smtp.port).await;
        let jobs_deps = deps(&app, app.db.clone());
        let _jobs = start_jobs(&app);
        let (request_id, pids) = make_request(&app, pgp_request(2));
        assert_eq!(pids.len(), 2, "one package per shipment");
        approve(&app, &request_id, "staff:alice@vendor")
            .await
            .unwrap();
        let mail = smtp.wait_for_subject("ready to download", 2).await;
        assert!(mail[0].text.contains("gpg --output"));
        let (download, confirm) = links(&app, &mail[0].text);
        assert_eq!(jobs::sweep_once(&jobs_deps).await.unwrap().expired, 0);
        app.clock.advance(7 * 86_400 - 1);
        assert_eq!(
            app.client.get(&download).send().await.unwrap().status(),
            200
        );
        app.clock.advance(1);
        let r = app.client.get(&download).send().await.unwrap();
        assert_eq!(r.status(), 410, "{backend:?}");
        assert!(r.text().await.unwrap().contains("expired"));
        assert_eq!(app.client.get(&confirm).send().await.unwrap().status(), 410);
        let report = jobs::sweep_once(&jobs_deps).await.unwrap();
        assert_eq!(report.expired, 2, "{backend:?}");
        for pid in &pids {
            assert_eq!(package(&app, pid).await.0, "expired");
            assert_eq!(count_chunks_and_key(&app, pid).await, (0, None, 0));
        }
        let actions = audit_actions(&app).await;
        assert_eq!(
            actions.iter().filter(|a| *a == "package.expired").count(),
            2
        );
        assert_eq!(
            jobs::sweep_once(&jobs_deps).await.unwrap(),
            Default::default()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn emails_wait_while_smtp_is_down_and_go_out_when_it_returns() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let port = free_port();
        let app = app_with_smtp(backend, port).await;
        let _jobs = start_jobs(&app);
        let (request_id, pids) = make_request(&app, pgp_request(2));
        approve(&app, &request_id, "staff:alice@vendor")
            .await
            .unwrap();
        let pending = || async {
            app.db
                .run(|conn| {
                    outbox::table
                        .filter(outbox::state.eq("pending"))
                        .select((outbox::attempts, outbox::last_error))
                        .load::<(i32, Option<String>)>(conn)
                        .map_err(DbError::from)
                })
                .await
                .unwrap()
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !pending().await.iter().all(|(a, _)| *a >= 1) {
            assert!(Instant::now() < deadline, "sender never tried");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let rows = pending().await;
        // The receipt, one download email per package, and perhaps the team's review alert.
        assert!(
            rows.len() > pids.len(),
            "{backend:?}: {} waiting",
            rows.len()
        );
        assert!(rows.iter().all(|(_, e)| e.is_some()));
        let smtp = Smtp::start(port);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(smtp.received().is_empty(), "back-off is respected");
        app.clock.advance(seedport::mail::queue::MAX_BACKOFF_SECS);
        let mail = smtp.wait_for(rows.len()).await;
        assert_eq!(mail.len(), rows.len(), "{backend:?}");
        // The relay has the last message a moment before the sender records it as sent.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pending().await.is_empty() {
            assert!(
                Instant::now() < deadline,
                "sent emails are recorded as sent"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_deliver_fifty_emails_exactly_once() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app_with_smtp(backend, smtp.port).await;
        let now = app.clock.now();
        app.db
            .run(move |conn| {
                for n in 0..50 {
                    let email = seedport::mail::OutgoingEmail {
                        kind: "test".into(),
                        to: format!("user{n}@acme.example"),
                        subject: format!("message {n}"),
                        text: format!("hello {n}"),
                        html: format!("<p>hello {n}</p>"),
                        carries_links: n % 2 == 0,
                        request_id: None,
                    };
                    seedport::mail::enqueue(conn, &email, now)?;
                }
                Ok::<_, DbError>(())
            })
            .await
            .unwrap();
        let started = Instant::now();
        let second_pool = Db::connect(&app.test_db.url, 4).unwrap();
        let mut options = fast();
        options.sender.batch = 5;
        let a = jobs::start(deps(&app, app.db.clone()), options.clone()).unwrap();
        let b = jobs::start(deps(&app, second_pool), options).unwrap();
        let mail = smtp.wait_for(50).await;
        let elapsed = started.elapsed();
        tokio::time::sleep(Duration::from_millis(500)).await;
        drop((a, b));
        let mail = if smtp.received().len() > mail.len() {
            smtp.received()
        } else {
            mail
        };
        let mut ids: Vec<&str> = mail.iter().map(|m| m.message_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(mail.len(), 50, "{backend:?}: each email once");
        assert_eq!(ids.len(), 50);
        let mut subjects: Vec<&str> = mail.iter().map(|m| m.subject.as_str()).collect();
        subjects.sort();
        subjects.dedup();
        assert_eq!(subjects.len(), 50);
        eprintln!(
            "{backend:?}: 50 emails via two workers in {:.2}s ({:.0}/minute)",
            elapsed.as_secs_f64(),
            50.0 * 60.0 / elapsed.as_secs_f64()
        );
        let scrubbed: i64 = app
            .db
            .run(|conn| {
                outbox::table
                    .filter(outbox::carries_links.eq(true))
                    .filter(outbox::body_text.eq(seedport::mail::queue::SCRUBBED))
                    .count()
                    .get_result(conn)
                    .map_err(DbError::from)
            })
            .await
            .unwrap();
        assert_eq!(scrubbed, 25);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_reviewers_exactly_one_wins() {
    for backend in backends() {
        let app = app_with(backend, None, |_| {}).await;
        let (request_id, _) = make_request(&app, pgp_request(1));
        let outbox_count = |app: std::sync::Arc<TestApp>| async move {
            app.db
                .run(|c| {
                    outbox::table
                        .count()
                        .get_result::<i64>(c)
                        .map_err(DbError::from)
                })
                .await
                .unwrap()
        };
        let app = std::sync::Arc::new(app);
        let before = outbox_count(app.clone()).await;
        let tasks: Vec<_> = (0..8)
            .map(|n| {
                let (app, id) = (app.clone(), request_id.clone());
                tokio::spawn(async move {
                    if n % 2 == 0 {
                        approve(&app, &id, &format!("staff:r{n}"))
                            .await
                            .map(|o| matches!(o, ApproveOutcome::Approved { .. }))
                    } else {
                        reject(&app, &id, "duplicate request")
                            .await
                            .map(|o| matches!(o, RejectOutcome::Rejected { .. }))
                    }
                })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            if t.await.unwrap().unwrap() {
                wins += 1;
            }
        }
        assert_eq!(wins, 1, "{backend:?}");
        let emails = outbox_count(app.clone()).await - before;
        assert_eq!(emails, 1, "{backend:?}: only the winner's email");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reject_needs_a_reason_destroys_packages_and_emails_it() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app_with_smtp(backend, smtp.port).await;
        let _jobs = start_jobs(&app);
        let (request_id, pids) = make_request(&app, password_request());
        assert!(matches!(
            reject(&app, &request_id, "   ").await,
            Err(DeliveryError::Invalid(_))
        ));
        assert!(matches!(
            reject(&app, &request_id, &"x".repeat(2001)).await,
            Err(DeliveryError::Invalid(_))
        ));
        let r = reject(
            &app,
            &request_id,
            "The serial numbers do not match <our records>.",
        )
        .await
        .unwrap();
        assert_eq!(
            r,
            RejectOutcome::Rejected {
                packages_destroyed: 1
            }
        );
        assert_eq!(count_chunks_and_key(&app, &pids[0]).await, (0, None, 0));
        assert_eq!(package(&app, &pids[0]).await.0, "rejected");
        let mail = smtp.wait_for_subject("not approved", 1).await;
        assert!(mail[0]
            .text
            .contains("The serial numbers do not match <our records>."));
        assert!(
            mail[0].html.contains("&lt;our records&gt;"),
            "reason is escaped in HTML"
        );
        match approve(&app, &request_id, "staff:late").await.unwrap() {
            ApproveOutcome::AlreadyDecided(d) => assert_eq!(d.state, State::Rejected),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            approve(&app, "no-such-id", "staff:x").await,
            Err(DeliveryError::NotFound)
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn demo_mode_writes_eml_files_shown_in_the_demo_mailbox() {
    let app = app_with(Backend::Sqlite, None, |_| {}).await;
    let _jobs = start_jobs(&app);
    let (request_id, _) = make_request(&app, pgp_request(1));
    approve(&app, &request_id, "staff:alice@vendor")
        .await
        .unwrap();
    // The receipt and the download email both land in the mailbox; find the one with the link.
    let deadline = Instant::now() + Duration::from_secs(20);
    let message = loop {
        let page = app
            .client
            .get(format!("{}/demo/mailbox", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let list = page.text().await.unwrap();
        let mut found = None;
        for piece in list.split("href=\"").skip(1) {
            let href = piece.split('"').next().unwrap();
            if !href.starts_with("/demo/mailbox/") {
                continue;
            }
            let message = app
                .client
                .get(format!("{}{href}", app.base_url))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if message.contains("sp_dl_") {
                found = Some(message);
            }
        }
        match found {
            Some(m) => break m,
            None => {
                assert!(Instant::now() < deadline, "no download email in {list}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let link = message.find("<a href=\"http").expect("a clickable link");
    assert!(message[link..].contains("sp_dl_"), "{message}");
    let bad = app
        .client
        .get(format!("{}/demo/mailbox/..%2Fmaster.key", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 404);
}

/// The one raw fixture left here: a measurement of streaming needs a 100 MB body, which no
/// order of the demo data can produce, so this request and its package are written directly.
/// Checks never use it (see `make_request`).
async fn raw_package_for_measurement(
    app: &TestApp,
    protection: &str,
    password: Option<&str>,
    files: Vec<Vec<u8>>,
) -> (String, Vec<String>) {
    let hash = password.map(|p| {
        use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
        argon2::Argon2::default()
            .hash_password(p.as_bytes(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    });
    let (vault, now, protection) = (app.vault.clone(), app.clock.now(), protection.to_string());
    app.db
        .run(move |conn| {
            let (customer_id, order_id): (String, String) = orders::table
                .inner_join(customers::table)
                .select((orders::customer_id, orders::id))
                .first(conn)?;
            let id = uuid::Uuid::new_v4().to_string();
            let reference = format!("SP-{}", &id[..8].to_uppercase());
            diesel::insert_into(requests::table)
                .values((
                    requests::id.eq(&id),
                    requests::reference.eq(&reference),
                    requests::customer_id.eq(&customer_id),
                    requests::order_id.eq(&order_id),
                    requests::requester_email.eq("it-admin@acme.example"),
                    requests::client_ip.eq("127.0.0.1"),
                    requests::state.eq("pending_review"),
                    requests::format_id.eq("entra-csv"),
                    requests::format_summary.eq(r#"{"format":"entra-csv","name":"Microsoft Entra ID (CSV)","custom_csv":null}"#),
                    requests::bundling.eq("one"),
                    requests::protection.eq(&protection),
                    requests::password_hash.eq(&hash),
                    requests::created_at.eq(now),
                    // Fixture requests are not announced to the team (the lifecycle tests cover it).
                    requests::review_alerted_at.eq(now),
                ))
                .execute(conn)?;
            let mut ids = Vec::new();
            for (n, bytes) in files.iter().enumerate() {
                let pid = uuid::Uuid::new_v4().to_string();
                let key = vault.new_data_key(conn, "package", now).unwrap();
                diesel::insert_into(packages::table)
                    .values((
                        packages::id.eq(&pid),
                        packages::request_id.eq(&id),
                        packages::file_name.eq(format!("Acme seeds {n}.zip")),
                        packages::content_type.eq("application/zip"),
                        packages::size.eq(bytes.len() as i64),
                        packages::sha256.eq(hex::encode(Sha256::digest(bytes))),
                        packages::token_count.eq(25i64),
                        packages::shipment_numbers.eq("SHP-50042-1"),
                        packages::data_key_id.eq(&key.id),
                        packages::state.eq("pending_review"),
                        packages::expires_at.eq(now + 14 * 86_400),
                        packages::max_downloads.eq(0),
                        packages::created_at.eq(now),
                    ))
                    .execute(conn)?;
                let mut writer = ChunkWriter::new(conn, key, &pid);
                writer.write_all(bytes).unwrap();
                writer.finish().unwrap();
                ids.push(pid);
            }
            Ok::<_, DbError>((id, ids))
        })
        .await
        .unwrap()
}

/// Measurement, not a check: `cargo test --test delivery -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore]
async fn measure_streaming_a_100_mb_package() {
    crate::require_tools!(Tool::Aiosmtpd);
    let smtp = Smtp::start(free_port());
    let app = app_with(Backend::Sqlite, Some(smtp.port), |_| {}).await;
    let _jobs = start_jobs(&app);
    let bytes: Vec<u8> = (0..100 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let digest = hex::encode(Sha256::digest(&bytes));
    let (request_id, _) = raw_package_for_measurement(&app, "pgp", None, vec![bytes]).await;
    approve(&app, &request_id, "staff:alice@vendor")
        .await
        .unwrap();
    let (download, _) = links(&app, &smtp.wait_for(1).await[0].text);
    let csrf = csrf_of(
        &app.client
            .get(&download)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let rss_before = rss_kib();
    let started = Instant::now();
    let mut response = app
        .client
        .post(&download)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let mut hasher = Sha256::new();
    let mut total = 0usize;
    let mut peak = rss_before;
    while let Some(chunk) = response.chunk().await.unwrap() {
        hasher.update(&chunk);
        total += chunk.len();
        peak = peak.max(rss_kib());
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(hex::encode(hasher.finalize()), digest);
    eprintln!(
        "100 MB package: {total} bytes in {secs:.2}s ({:.0} MB/s); process RSS grew by at most {} KiB while streaming",
        total as f64 / 1_048_576.0 / secs,
        peak.saturating_sub(rss_before)
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}
