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
use seedport::mail::sender::SenderOptions;
use seedport::storage::ChunkWriter;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
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
    }
}

fn start_jobs(app: &TestApp) -> Jobs {
    jobs::start(deps(app, app.db.clone()), fast()).unwrap()
}

/// A request under review with one package per entry of `files`, made directly in the database.
async fn make_request(
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
                    requests::format_summary.eq("Microsoft Entra ID OATH CSV"),
                    requests::bundling.eq("single"),
                    requests::protection.eq(&protection),
                    requests::password_hash.eq(&hash),
                    requests::created_at.eq(now),
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
                        packages::state.eq("held"),
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

/// An AES-256 zip made by 7-Zip itself, so the downloaded file can be opened with it.
fn seven_zip(dir: &Path, password: &str) -> Vec<u8> {
    let input = dir.join("EntraTokens.csv");
    std::fs::write(&input, "upn,serial number,secret key,timeinterval,manufacturer,model\n,10001001,JBSWY3DPEHPK3PXP,30,Deepnet,SafeID\n").unwrap();
    let zip = dir.join("seeds.zip");
    let out = tools::command(Tool::SevenZip)
        .args(["a", "-tzip", "-mem=AES256", &format!("-p{password}")])
        .arg(&zip)
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::read(zip).unwrap()
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
    let (id, actor) = (request_id.to_string(), actor.to_string());
    app.db
        .run(move |conn| delivery::approve(conn, &config, &tera, &id, &actor, "10.0.0.1", now))
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
    let (id, reason) = (request_id.to_string(), reason.to_string());
    app.db
        .run(move |conn| {
            delivery::reject(
                conn,
                &config,
                &tera,
                &id,
                "staff:rev@vendor",
                "10.0.0.1",
                &reason,
                now,
            )
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
        let zip = seven_zip(work.path(), PASSWORD);
        let (request_id, pids) =
            make_request(&app, "password", Some(PASSWORD), vec![zip.clone()]).await;

        let outcome = approve(&app, &request_id, "staff:alice@vendor")
            .await
            .unwrap();
        assert_eq!(
            outcome,
            ApproveOutcome::Approved {
                packages: pids.clone()
            },
            "{backend:?}"
        );
        match approve(&app, &request_id, "staff:bob@vendor")
            .await
            .unwrap()
        {
            ApproveOutcome::AlreadyDecided(d) => {
                assert_eq!(d.state, "approved");
                assert_eq!(d.by.as_deref(), Some("staff:alice@vendor"));
            }
            other => panic!("{other:?}"),
        }

        let mail = smtp.wait_for(1).await;
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
            assert!(body.contains("Acme seeds 0.zip") && body.contains("type=\"password\""));
        }
        assert_eq!(package(&app, &pids[0]).await, ("released".into(), 0, 0));

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
            "attachment; filename=\"Acme_seeds_0.zip\""
        );
        assert_eq!(h["content-length"], zip.len().to_string().as_str());
        let bytes = file.bytes().await.unwrap();
        assert_eq!(bytes.as_ref(), zip.as_slice());
        assert_eq!(
            package(&app, &pids[0]).await,
            ("released".into(), 1, 1),
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
        assert!(
            std::fs::read_to_string(work.path().join("out/EntraTokens.csv"))
                .unwrap()
                .contains("10001001")
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

        let mail = smtp.wait_for(2).await;
        assert!(mail[1].subject.contains("confirmed"), "{}", mail[1].subject);
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
        let bytes: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        let (request_id, pids) = make_request(&app, "pgp", None, vec![bytes.clone()]).await;
        approve(&app, &request_id, "staff:alice@vendor")
            .await
            .unwrap();
        let (download, _) = links(&app, &smtp.wait_for(1).await[0].text);
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
                assert_eq!(body.as_ref(), bytes.as_slice());
                files += 1;
            } else {
                assert_eq!(status, 410, "{backend:?}");
            }
        }
        assert_eq!(files, 1, "{backend:?}");
        assert_eq!(package(&app, &pids[0]).await, ("released".into(), 1, 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_wrong_passwords_lock_the_download_and_alert_the_team() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app_with_smtp(backend, smtp.port).await;
        let _jobs = start_jobs(&app);
        let (request_id, pids) =
            make_request(&app, "both", Some(PASSWORD), vec![b"PK-ish".to_vec()]).await;
        approve(&app, &request_id, "staff:alice@vendor")
            .await
            .unwrap();
        let ready = smtp.wait_for(1).await.remove(0);
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
        let mail = smtp.wait_for(3).await;
        let to: Vec<String> = mail.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
        assert!(to.contains(&"alerts@vendor.example".to_string()), "{to:?}");
        assert_eq!(
            mail.iter().filter(|m| m.subject.contains("locked")).count(),
            2
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
        let (request_id, pids) =
            make_request(&app, "pgp", None, vec![vec![7u8; 300_000], vec![8u8; 10]]).await;
        approve(&app, &request_id, "staff:alice@vendor")
            .await
            .unwrap();
        let mail = smtp.wait_for(2).await;
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
        let (request_id, _) = make_request(
            &app,
            "pgp",
            None,
            vec![vec![1; 10], vec![2; 10], vec![3; 10]],
        )
        .await;
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
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|(_, e)| e.is_some()));
        let smtp = Smtp::start(port);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(smtp.received().is_empty(), "back-off is respected");
        app.clock.advance(seedport::mail::queue::MAX_BACKOFF_SECS);
        let mail = smtp.wait_for(3).await;
        assert_eq!(mail.len(), 3, "{backend:?}");
        assert!(pending().await.is_empty());
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
        let (request_id, _) = make_request(&app, "pgp", None, vec![vec![1; 100]]).await;
        let app = std::sync::Arc::new(app);
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
        let emails: i64 = app
            .db
            .run(|c| outbox::table.count().get_result(c).map_err(DbError::from))
            .await
            .unwrap();
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
        let (request_id, pids) =
            make_request(&app, "password", Some(PASSWORD), vec![vec![5; 1000]]).await;
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
        let mail = smtp.wait_for(1).await;
        assert!(mail[0]
            .text
            .contains("The serial numbers do not match <our records>."));
        assert!(
            mail[0].html.contains("&lt;our records&gt;"),
            "reason is escaped in HTML"
        );
        match approve(&app, &request_id, "staff:late").await.unwrap() {
            ApproveOutcome::AlreadyDecided(d) => assert_eq!(d.state, "rejected"),
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
    let (request_id, _) = make_request(&app, "pgp", None, vec![vec![1; 10]]).await;
    approve(&app, &request_id, "staff:alice@vendor")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let list = loop {
        let page = app
            .client
            .get(format!("{}/demo/mailbox", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let body = page.text().await.unwrap();
        if body.contains(".eml") || Instant::now() > deadline {
            break body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let start = list.find("/demo/mailbox/").unwrap();
    let href = list[start..].split('"').next().unwrap();
    let message = app
        .client
        .get(format!("{}{href}", app.base_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    let (request_id, _) = make_request(&app, "pgp", None, vec![bytes]).await;
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
