//! The delivery team's console: sign-in (password + TOTP, lockout, sessions), roles, CSRF,
//! approve/reject races, and the audit chain checked by the CLI — on every backend.

use crate::support;

use diesel::prelude::*;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::StatusCode;
use seedport::db::schema::{audit_log, requests, staff};
use seedport::staff::account;
use seedport::staff::totp;
use seedport::staff::Role;
use seedport::vault::SecretString;
use std::sync::Arc;
use support::{backends, seedport_bin, spawn_app, TestApp};

const PASSWORD: &str = "correct horse battery staple";

/// A browser: its own cookie jar, no redirects followed.
struct Browser {
    client: reqwest::Client,
    jar: Arc<Jar>,
    base: String,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            client,
            jar,
            base: app.base_url.clone(),
        }
    }

    /// The staff cookie's value as the browser holds it.
    fn cookie(&self) -> Option<String> {
        let url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|c| c.strip_prefix("sp_staff=").map(String::from))
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The CSRF token in the page at `path`.
    async fn csrf(&self, path: &str) -> String {
        let body = self.get(path).await.text().await.unwrap();
        hidden_csrf(&body)
    }

    async fn sign_in(&self, email: &str, password: &str, code: &str) -> reqwest::Response {
        let csrf = self.csrf("/staff/login").await;
        self.post(
            "/staff/login",
            &[
                ("email", email),
                ("password", password),
                ("code", code),
                ("csrf", &csrf),
            ],
        )
        .await
    }
}

fn hidden_csrf(body: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).expect("page has a CSRF field") + marker.len();
    body[start..].split('"').next().unwrap().to_string()
}

/// Creates an account and returns its TOTP secret.
fn add_staff(app: &TestApp, email: &str, role: Role) -> Vec<u8> {
    let mut conn = app.db.get().unwrap();
    let enrolment = account::create(
        &mut conn,
        &app.vault,
        email,
        "Test Person",
        role,
        Some(SecretString::new(PASSWORD.into())),
        app.clock.now(),
    )
    .unwrap();
    enrolment.totp_secret.expose().to_vec()
}

fn code(app: &TestApp, secret: &[u8]) -> String {
    totp::code_at(secret, app.clock.now())
}

/// Signs a fresh browser in and moves the clock to the next TOTP step, so the next code is new.
async fn signed_in(app: &TestApp, email: &str, secret: &[u8]) -> Browser {
    let b = Browser::new(app);
    let r = b.sign_in(email, PASSWORD, &code(app, secret)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{email} signs in");
    app.clock.advance(totp::STEP);
    b
}

/// A pending request for the demo order's first shipment, submitted through the domain as the wizard does.
/// A custom CSV an hour ago, so the queue shows its age and the page its layout in words.
fn create_request(app: &TestApp) -> String {
    use crate::support::requests::{submit_request, RequestSpec};
    let layout = seedport::formats::CustomCsvSpec::from_json(
        r#"{"columns":[{"label":"SN","value":{"property":"serial"}},{"label":"Seed","value":{"property":"secret"}}],"header":true,"secret_encoding":"base32","delimiter":"semicolon"}"#,
    )
    .unwrap();
    let spec = RequestSpec {
        format: seedport::formats::FormatId::CustomCsv,
        custom_csv: Some(layout),
        submitted_ago: 3600,
        ..RequestSpec::default()
    };
    submit_request(app, &spec).request_id
}

fn request_state(app: &TestApp, id: &str) -> (String, Option<String>, Option<String>) {
    let mut conn = app.db.get().unwrap();
    requests::table
        .find(id)
        .select((
            requests::state,
            requests::decided_by,
            requests::reject_reason,
        ))
        .first(&mut conn)
        .unwrap()
}

fn audit_actions(app: &TestApp) -> Vec<String> {
    let mut conn = app.db.get().unwrap();
    audit_log::table
        .order(audit_log::seq.asc())
        .select(audit_log::action)
        .load(&mut conn)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_happy_path_wrong_password_wrong_and_replayed_code() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let secret = add_staff(&app, "ann@vendor.example", Role::Reviewer);
        let b = Browser::new(&app);
        assert_eq!(
            b.get("/staff/requests").await.status(),
            StatusCode::SEE_OTHER
        );

        let wrong = b
            .sign_in(
                "ann@vendor.example",
                "not the password",
                &code(&app, &secret),
            )
            .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{backend:?}");
        let generic = wrong.text().await.unwrap();
        assert!(generic.contains("Sign-in failed"), "{generic}");
        let bad_code = b.sign_in("ann@vendor.example", PASSWORD, "000000").await;
        assert_eq!(bad_code.status(), StatusCode::UNAUTHORIZED);
        let unknown = b.sign_in("nobody@vendor.example", PASSWORD, "123456").await;
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
        // One message for every failure.
        assert!(bad_code.text().await.unwrap().contains("Sign-in failed"));
        assert!(unknown.text().await.unwrap().contains("Sign-in failed"));

        let good = code(&app, &secret);
        let ok = b.sign_in("ANN@vendor.example", PASSWORD, &good).await;
        assert_eq!(ok.status(), StatusCode::SEE_OTHER, "{backend:?}");
        assert_eq!(ok.headers()["location"], "/staff/requests");
        let queue = b.get("/staff/requests").await;
        assert_eq!(queue.status(), StatusCode::OK);
        assert!(queue.text().await.unwrap().contains("Review queue"));

        // The same code again, from another browser, is refused.
        let other = Browser::new(&app);
        let replay = other.sign_in("ann@vendor.example", PASSWORD, &good).await;
        assert_eq!(
            replay.status(),
            StatusCode::UNAUTHORIZED,
            "{backend:?}: replay"
        );
        app.clock.advance(totp::STEP);
        let next = other
            .sign_in("ann@vendor.example", PASSWORD, &code(&app, &secret))
            .await;
        assert_eq!(next.status(), StatusCode::SEE_OTHER);

        let actions = audit_actions(&app);
        assert_eq!(
            actions
                .iter()
                .filter(|a| *a == "staff.sign_in_failed")
                .count(),
            4
        );
        assert_eq!(
            actions.iter().filter(|a| *a == "staff.signed_in").count(),
            2
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lockout_after_five_failures_and_its_end() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let secret = add_staff(&app, "bob@vendor.example", Role::Reviewer);
        let b = Browser::new(&app);
        for _ in 0..5 {
            let r = b
                .sign_in("bob@vendor.example", "wrong wrong wrong", "123456")
                .await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        let locked = b
            .sign_in("bob@vendor.example", PASSWORD, &code(&app, &secret))
            .await;
        assert_eq!(
            locked.status(),
            StatusCode::UNAUTHORIZED,
            "{backend:?}: locked"
        );
        assert!(locked.text().await.unwrap().contains("Sign-in failed"));
        app.clock.advance(14 * 60);
        let still = b
            .sign_in("bob@vendor.example", PASSWORD, &code(&app, &secret))
            .await;
        assert_eq!(still.status(), StatusCode::UNAUTHORIZED);
        app.clock.advance(2 * 60);
        let open = b
            .sign_in("bob@vendor.example", PASSWORD, &code(&app, &secret))
            .await;
        assert_eq!(
            open.status(),
            StatusCode::SEE_OTHER,
            "{backend:?}: lock ended"
        );
        assert!(audit_actions(&app).contains(&"staff.locked".to_string()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn session_is_renewed_at_sign_in_times_out_and_logs_out() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let secret = add_staff(&app, "cat@vendor.example", Role::Reviewer);
        let b = Browser::new(&app);
        b.get("/staff/login").await;
        let before = b.cookie().expect("pre-login cookie");
        let r = b
            .sign_in("cat@vendor.example", PASSWORD, &code(&app, &secret))
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let after = b.cookie().expect("session cookie");
        assert_ne!(before, after, "{backend:?}: session id renewed");
        // The pre-login cookie opens nothing.
        let planted = Browser::new(&app);
        planted.jar.add_cookie_str(
            &format!("sp_staff={before}; Path=/"),
            &app.base_url.parse().unwrap(),
        );
        assert_eq!(
            planted.get("/staff/requests").await.status(),
            StatusCode::SEE_OTHER
        );
        // Signing in again in the same browser kills the previous session.
        app.clock.advance(totp::STEP);
        let again = b
            .sign_in("cat@vendor.example", PASSWORD, &code(&app, &secret))
            .await;
        assert_eq!(again.status(), StatusCode::SEE_OTHER);
        let stolen = Browser::new(&app);
        stolen.jar.add_cookie_str(
            &format!("sp_staff={after}; Path=/"),
            &app.base_url.parse().unwrap(),
        );
        assert_eq!(
            stolen.get("/staff/requests").await.status(),
            StatusCode::SEE_OTHER
        );

        // Idle timeout: 29 minutes apart is fine, 31 is not.
        app.clock.advance(29 * 60);
        assert_eq!(
            b.get("/staff/requests").await.status(),
            StatusCode::OK,
            "{backend:?}"
        );
        app.clock.advance(31 * 60);
        let idle = b.get("/staff/requests").await;
        assert_eq!(
            idle.status(),
            StatusCode::SEE_OTHER,
            "{backend:?}: idle timeout"
        );
        assert_eq!(idle.headers()["location"], "/staff/login");

        // Logout ends the session on the server.
        app.clock.advance(totp::STEP);
        let r = b
            .sign_in("cat@vendor.example", PASSWORD, &code(&app, &secret))
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let session = b.cookie().unwrap();
        let csrf = b.csrf("/staff/requests").await;
        let out = b.post("/staff/logout", &[("csrf", &csrf)]).await;
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        let replayed = Browser::new(&app);
        replayed.jar.add_cookie_str(
            &format!("sp_staff={session}; Path=/"),
            &app.base_url.parse().unwrap(),
        );
        assert_eq!(
            replayed.get("/staff/requests").await.status(),
            StatusCode::SEE_OTHER
        );
        assert!(audit_actions(&app).contains(&"staff.signed_out".to_string()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_and_csrf() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let rev = add_staff(&app, "rev@vendor.example", Role::Reviewer);
        let adm = add_staff(&app, "adm@vendor.example", Role::Admin);
        let reviewer = signed_in(&app, "rev@vendor.example", &rev).await;
        let admin = signed_in(&app, "adm@vendor.example", &adm).await;
        for path in ["/staff/import", "/staff/audit"] {
            assert_eq!(
                reviewer.get(path).await.status(),
                StatusCode::FORBIDDEN,
                "{path}"
            );
            assert_eq!(admin.get(path).await.status(), StatusCode::OK, "{path}");
        }
        let audit = admin.get("/staff/audit").await.text().await.unwrap();
        assert!(audit.contains("staff.signed_in") && audit.contains("127.0.0.1"));
        assert_eq!(reviewer.get("/staff/orders").await.status(), StatusCode::OK);
        let search = reviewer
            .get("/staff/orders?q=10001005")
            .await
            .text()
            .await
            .unwrap();
        assert!(search.contains("PO-2026-0042") && !search.contains("PO-2026-0077"));

        let id = create_request(&app);
        let path = format!("/staff/requests/{id}/reject");
        let none = reviewer.post(&path, &[("reason", "no")]).await;
        assert_eq!(
            none.status(),
            StatusCode::FORBIDDEN,
            "{backend:?}: missing CSRF"
        );
        let wrong = reviewer
            .post(&path, &[("reason", "no"), ("csrf", "sp_csrf_forged")])
            .await;
        assert_eq!(
            wrong.status(),
            StatusCode::FORBIDDEN,
            "{backend:?}: wrong CSRF"
        );
        // The admin's token is not the reviewer's.
        let admins = admin.csrf("/staff/requests").await;
        let crossed = reviewer
            .post(&path, &[("reason", "no"), ("csrf", &admins)])
            .await;
        assert_eq!(crossed.status(), StatusCode::FORBIDDEN);
        let login = Browser::new(&app);
        let r = login
            .post(
                "/staff/login",
                &[
                    ("email", "rev@vendor.example"),
                    ("password", PASSWORD),
                    ("code", "123456"),
                ],
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "sign-in form needs CSRF too"
        );
        assert_eq!(request_state(&app, &id).0, "pending_review");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn detail_and_reject_with_and_without_a_reason() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let secret = add_staff(&app, "rev@vendor.example", Role::Reviewer);
        let b = signed_in(&app, "rev@vendor.example", &secret).await;
        let id = create_request(&app);
        let queue = b.get("/staff/requests").await.text().await.unwrap();
        assert!(
            queue.contains(&id) && queue.contains("1 h 0 min"),
            "{queue}"
        );
        let page = b
            .get(&format!("/staff/requests/{id}"))
            .await
            .text()
            .await
            .unwrap();
        for expected in [
            "Acme Corporation",
            "PO-2026-0042",
            "INV-10042",
            "192.0.2.7",
            "SHP-50042-1",
            "10001001",
            "Classic ×25",
            "SN (serial number)",
            "semicolon",
        ] {
            assert!(page.contains(expected), "{expected} missing");
        }
        let csrf = hidden_csrf(&page);
        let path = format!("/staff/requests/{id}/reject");
        let empty = b.post(&path, &[("csrf", &csrf), ("reason", "  ")]).await;
        assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(empty.text().await.unwrap().contains("Give the reason"));
        assert_eq!(request_state(&app, &id).0, "pending_review");
        let done = b
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("reason", "The serial does not match our records."),
                ],
            )
            .await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER, "{backend:?}");
        let (state, by, reason) = request_state(&app, &id);
        assert_eq!(state, "rejected");
        assert_eq!(by.as_deref(), Some("staff:rev@vendor.example"));
        assert_eq!(
            reason.as_deref(),
            Some("The serial does not match our records.")
        );
        let page = b
            .get(&format!("/staff/requests/{id}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("request.rejected"),
            "history shows the decision"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_approvals_race_and_exactly_one_wins() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let s1 = add_staff(&app, "one@vendor.example", Role::Reviewer);
        let s2 = add_staff(&app, "two@vendor.example", Role::Admin);
        let b1 = signed_in(&app, "one@vendor.example", &s1).await;
        let b2 = signed_in(&app, "two@vendor.example", &s2).await;
        let id = create_request(&app);
        let path = format!("/staff/requests/{id}");
        let (c1, c2) = (b1.csrf(&path).await, b2.csrf(&path).await);
        // A wrong code approves nothing.
        let approve = format!("{path}/approve");
        let bad = b1
            .post(&approve, &[("csrf", &c1), ("code", "000000")])
            .await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let (k1, k2) = (code(&app, &s1), code(&app, &s2));
        let (f1, f2) = (
            [("csrf", &*c1), ("code", &*k1)],
            [("csrf", &*c2), ("code", &*k2)],
        );
        let (r1, r2) = tokio::join!(b1.post(&approve, &f1), b2.post(&approve, &f2));
        let mut statuses = vec![r1.status(), r2.status()];
        statuses.sort();
        assert_eq!(
            statuses,
            vec![StatusCode::SEE_OTHER, StatusCode::CONFLICT],
            "{backend:?}"
        );
        let loser = if r1.status() == StatusCode::CONFLICT {
            r1
        } else {
            r2
        };
        let text = loser.text().await.unwrap();
        assert!(text.contains("already approved by"), "{text}");
        assert_eq!(request_state(&app, &id).0, "approved");
        let approvals = audit_actions(&app)
            .into_iter()
            .filter(|a| a == "request.approved")
            .count();
        assert_eq!(approvals, 1);
        // The code used to approve cannot be used again.
        let c = b1.csrf(&path).await;
        let other = create_request(&app);
        let again = b1
            .post(
                &format!("/staff/requests/{other}/approve"),
                &[("csrf", &c), ("code", &k1)],
            )
            .await;
        assert_eq!(
            again.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{backend:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn import_page_reports_problems_and_imports() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let secret = add_staff(&app, "adm@vendor.example", Role::Admin);
        let b = signed_in(&app, "adm@vendor.example", &secret).await;
        let csrf = b.csrf("/staff/import").await;
        let manifest = "[customer]\nname = \"Globex\"\nemails = [\"it@globex.example\"]\n\n[order]\npo = \"PO-9001\"\ninvoice = \"INV-9001\"\n\n[[shipments]]\nnumber = \"SHP-9001-1\"\ndate = \"2026-11-20\"\nfile = \"globex.csv\"\n";
        let good = "serial number,secret key,time interval,manufacturer,model\r\n20000001,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,30,Deepnet Security,SafeID/Classic\r\n";
        let bad = "serial number,secret key,time interval,manufacturer,model\r\n20000001,not-base32!,30,Deepnet Security,SafeID/Classic\r\n";
        let upload = |csv: &'static str| {
            reqwest::multipart::Form::new()
                .text("csrf", csrf.clone())
                .part(
                    "manifest",
                    reqwest::multipart::Part::bytes(manifest.as_bytes()).file_name("m.toml"),
                )
                .part(
                    "files",
                    reqwest::multipart::Part::bytes(csv.as_bytes()).file_name("globex.csv"),
                )
        };
        let r = b
            .client
            .post(format!("{}/staff/import", app.base_url))
            .multipart(upload(bad))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}");
        let text = r.text().await.unwrap();
        assert!(text.contains("globex.csv: line 2"), "{text}");
        let r = b
            .client
            .post(format!("{}/staff/import", app.base_url))
            .multipart(upload(good))
            .send()
            .await
            .unwrap();
        let text = r.text().await.unwrap();
        assert!(text.contains("Imported 1 shipment with 1 token."), "{text}");
        let found = b
            .get("/staff/orders?q=it@globex.example")
            .await
            .text()
            .await
            .unwrap();
        assert!(found.contains("PO-9001") && found.contains("SHP-9001-1"));
        let actions = audit_actions(&app);
        assert!(
            actions.contains(&"import.rejected".into())
                && actions.contains(&"import.completed".into())
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_verify_names_the_tampered_row() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let secret = add_staff(&app, "adm@vendor.example", Role::Admin);
        let b = signed_in(&app, "adm@vendor.example", &secret).await;
        let csrf = b.csrf("/staff/requests").await;
        b.post("/staff/logout", &[("csrf", &csrf)]).await;
        let failed = Browser::new(&app);
        failed
            .sign_in("adm@vendor.example", "wrong password!", "000000")
            .await;
        let run = || {
            std::process::Command::new(seedport_bin())
                .args(["audit", "verify"])
                .current_dir(app.test_db.dir.path())
                .env("DATABASE_URL", &app.test_db.url)
                .env("SEEDPORT_MASTER_KEY", app.master.to_base64())
                .env("SEEDPORT_DATA_DIR", app.test_db.dir.path().join("var"))
                .output()
                .unwrap()
        };
        let ok = run();
        let out = String::from_utf8_lossy(&ok.stdout);
        assert!(
            ok.status.success(),
            "{backend:?}: {out} {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(out.contains("3 row(s) verified"), "{out}");
        {
            let mut conn = app.db.get().unwrap();
            diesel::update(audit_log::table.find(2i64))
                .set(audit_log::client_ip.eq("203.0.113.9"))
                .execute(&mut conn)
                .unwrap();
        }
        let broken = run();
        let out = String::from_utf8_lossy(&broken.stdout);
        assert!(!broken.status.success(), "{backend:?}");
        assert!(out.contains("row 2"), "{out}");
    }
}

#[test]
fn cli_creates_lists_and_disables_accounts() {
    let test_db = support::TestDb::new(support::Backend::Sqlite);
    let master = seedport::vault::MasterKey::generate();
    let run = |args: &[&str]| {
        std::process::Command::new(seedport_bin())
            .args(args)
            .current_dir(test_db.dir.path())
            .env("DATABASE_URL", &test_db.url)
            .env("SEEDPORT_MASTER_KEY", master.to_base64())
            .env("SEEDPORT_DATA_DIR", test_db.dir.path().join("var"))
            .output()
            .unwrap()
    };
    let add = run(&[
        "staff",
        "add",
        "--email",
        "Dee@Vendor.example",
        "--name",
        "Dee",
        "--role",
        "reviewer",
    ]);
    let out = String::from_utf8_lossy(&add.stdout).to_string();
    assert!(
        add.status.success(),
        "{out} {}",
        String::from_utf8_lossy(&add.stderr)
    );
    assert!(
        out.contains("password (shown once): ") && out.contains("otpauth://totp/"),
        "{out}"
    );
    assert!(
        out.contains("issuer=") && (out.contains('▀') || out.contains('▄')),
        "{out}"
    );
    let again = run(&[
        "staff",
        "add",
        "--email",
        "dee@vendor.example",
        "--name",
        "Dee",
        "--role",
        "admin",
    ]);
    assert!(!again.status.success());
    let list = run(&["staff", "list"]);
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(
        listed.contains("dee@vendor.example") && listed.contains("active"),
        "{listed}"
    );
    assert!(run(&["staff", "disable", "--email", "dee@vendor.example"])
        .status
        .success());
    let listed = String::from_utf8_lossy(&run(&["staff", "list"]).stdout).to_string();
    assert!(listed.contains("disabled"), "{listed}");
    let reset = run(&["staff", "reset-totp", "--email", "dee@vendor.example"]);
    assert!(String::from_utf8_lossy(&reset.stdout).contains("otpauth://totp/"));
    let db = seedport::db::Db::connect(&test_db.url, 1).unwrap();
    let mut conn = db.get().unwrap();
    let disabled: bool = staff::table
        .filter(staff::email.eq("dee@vendor.example"))
        .select(staff::disabled)
        .first(&mut conn)
        .unwrap();
    assert!(disabled);
}
