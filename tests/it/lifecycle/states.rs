//! Every state and transition, walked through the console on every backend.

use super::*;
use crate::support::backends;
use crate::support::smtp::{free_port, Smtp};
use crate::support::tools::Tool;
use seedport::db::schema::{package_chunks, packages, requests};

fn reference(app: &TestApp, id: &RequestId) -> String {
    let mut conn = app.db.get().unwrap();
    requests::table
        .find(id)
        .select(requests::reference)
        .first(&mut conn)
        .unwrap()
}

fn chunks(app: &TestApp, id: &PackageId) -> i64 {
    let mut conn = app.db.get().unwrap();
    package_chunks::table
        .filter(package_chunks::package_id.eq(id))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

fn expires_at(app: &TestApp, id: &PackageId) -> i64 {
    let mut conn = app.db.get().unwrap();
    packages::table
        .find(id)
        .select(packages::expires_at)
        .first::<Option<i64>>(&mut conn)
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_walks_every_step_and_the_console_shows_each() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app(backend, smtp.port).await;
        let console = Console::sign_in(&app, "rev@vendor.example", Role::Reviewer).await;
        let id = submit(&app, "one").await;
        let reference = reference(&app, &id);
        let page = format!("/staff/requests/{id}");

        // Waiting for review: in its filter with a count, the format in words, no ids or JSON.
        assert_eq!(
            console.in_filter("pending_review", &reference).await,
            (true, "1".into())
        );
        assert!(!console.in_filter("approved", &reference).await.0);
        let (_, html) = console.get(&page).await;
        let entra = seedport::formats::find("entra-csv").unwrap().name;
        assert!(
            html.contains("waiting for review") && html.contains(entra),
            "{html}"
        );
        assert!(
            !html.contains("entra-csv") && !html.contains("{&quot;"),
            "{html}"
        );

        // The team is told once, with a link to the request.
        run_jobs(&app, 8).await;
        run_jobs(&app, 8).await;
        let alerts: Vec<_> = smtp
            .received()
            .into_iter()
            .filter(|m| m.subject.starts_with("Review needed"))
            .collect();
        assert_eq!(alerts.len(), 1, "{backend:?}");
        assert_eq!(alerts[0].rcpt_tos, vec![ALERTS.to_string()]);
        assert!(alerts[0]
            .text
            .contains(&format!("{}/staff/requests/{id}", app.base_url)));

        // Approved, then emailed once the relay accepted the download email.
        let (status, html) = console.approve(&app, &id).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(html.contains("You approved this request."));
        assert_eq!(request_state(&app, &id), State::Approved);
        assert!(console.in_filter("approved", &reference).await.0);
        run_jobs(&app, 8).await;
        assert_eq!(request_state(&app, &id), State::Emailed, "{backend:?}");
        assert!(console.in_filter("emailed", &reference).await.0);
        assert!(!console.in_filter("approved", &reference).await.0);
        let mail = download_emails(&smtp);
        assert_eq!(mail.len(), 1);
        let how = seedport::formats::find("entra-csv").unwrap().how_to_import;
        for part in [&mail[0].text, &mail[0].html] {
            assert!(part.contains(entra), "format by its name: {part}");
            assert!(
                part.contains(&how[..40]),
                "import steps in both parts: {part}"
            );
            assert!(
                !part.contains("{\"") && !part.contains("{&quot;"),
                "no JSON"
            );
        }
        let (_, html) = console.get(&page).await;
        assert!(html.contains("data-status=\"sent\""), "emails on the page");

        // Downloaded: the page shows downloads used and left.
        let (download_link, confirm_link) = links_in(&app, &mail[0].text);
        let (status, bytes) = download(&app, &download_link, CUSTOMER_PASSWORD).await;
        assert_eq!(status, StatusCode::OK);
        assert!(bytes.starts_with(b"PK"));
        assert_eq!(request_state(&app, &id), State::Downloaded);
        assert!(console.in_filter("downloaded", &reference).await.0);
        let (_, html) = console.get(&page).await;
        assert!(html.contains("1 used, 2 of 3 left"), "{html}");

        // Confirmed: file destroyed, password hash erased, history complete.
        let (status, _) = confirm(&confirm_link).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(request_state(&app, &id), State::Confirmed);
        assert!(console.in_filter("confirmed", &reference).await.0);
        let pid = &package_ids(&app, &id)[0];
        assert_eq!(chunks(&app, pid), 0);
        let hash: Option<String> = {
            let mut conn = app.db.get().unwrap();
            requests::table
                .find(&id)
                .select(requests::password_hash)
                .first(&mut conn)
                .unwrap()
        };
        assert!(hash.is_none(), "the download-password hash is erased");
        assert_eq!(
            audit_of(&app, &format!("request:{reference}")),
            [
                "request.submitted",
                "request.approved",
                "request.emailed",
                "request.downloaded",
                "request.confirmed"
            ]
        );
        assert_eq!(
            audit_of(&app, &format!("package:{pid}")),
            [
                "package.released",
                "package.emailed",
                "package.downloaded",
                "package.confirmed",
                "package.destroyed"
            ]
        );
        let (_, html) = console.get(&page).await;
        for shown in ["package.emailed", "package.downloaded", "package.confirmed"] {
            assert!(html.contains(shown), "history shows {shown}");
        }

        // Refused transitions are typed and change nothing.
        let (status, html) = console.package_action(&app, &id, pid, "cancel", &[]).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(html.contains("Nothing changed"), "{html}");
        let (status, _) = console.approve(&app, &id).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(request_state(&app, &id), State::Confirmed);
        refused_everywhere(&app, pid, State::Confirmed);
        let waiting = submit(&app, "one").await;
        refused_everywhere(&app, &package_ids(&app, &waiting)[0], State::PendingReview);
    }
}

/// Every console action on a package in `state` (confirmed or waiting for review) is a typed
/// refusal naming the state, and changes nothing.
fn refused_everywhere(app: &TestApp, pid: &PackageId, state: State) {
    use seedport::delivery::{self, DeliveryError};
    use seedport::lifecycle::{Event, Refused, Who};
    let mut conn = app.db.get().unwrap();
    let tera = seedport::web::assets::tera().unwrap();
    let who = Who {
        actor: "staff:test",
        client_ip: "-",
    };
    let now = app.clock.now();
    let refused = |e: DeliveryError, event: Event| match e {
        DeliveryError::Refused(r) => assert_eq!(r, Refused { event, from: state }),
        other => panic!("{event:?} from {state:?}: {other:?}"),
    };
    refused(
        delivery::resend(&mut conn, &app.config, &tera, pid, who, now).unwrap_err(),
        Event::Resend,
    );
    refused(
        delivery::reissue(&mut conn, &app.config, &tera, pid, who, now).unwrap_err(),
        Event::Reissue,
    );
    refused(
        delivery::cancel(&mut conn, pid, who, now).unwrap_err(),
        Event::Cancel,
    );
    assert!(matches!(
        delivery::extend(&mut conn, pid, 3, who, now),
        Err(DeliveryError::NotExtendable(s)) if s == state
    ));
    drop(conn);
    assert_eq!(package_state(app, pid), state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reject_lock_reissue_resend_cancel_and_extend() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app(backend, smtp.port).await;
        let console = Console::sign_in(&app, "rev@vendor.example", Role::Reviewer).await;

        // Rejected.
        let rejected = submit(&app, "one").await;
        let page = format!("/staff/requests/{rejected}");
        let (status, _) = console
            .post(
                &app,
                &page,
                &format!("{page}/reject"),
                &[("reason", "Wrong order")],
                false,
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(request_state(&app, &rejected), State::Rejected);
        assert!(
            console
                .in_filter("rejected", &reference(&app, &rejected))
                .await
                .0
        );

        // A wrong code changes nothing.
        let locked = submit(&app, "one").await;
        let page = format!("/staff/requests/{locked}");
        let (status, html) = console
            .post(
                &app,
                &page,
                &format!("{page}/approve"),
                &[("code", "000000")],
                false,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert_eq!(request_state(&app, &locked), State::PendingReview);

        // Locked after five wrong passwords; the alert links to the request.
        console.approve(&app, &locked).await;
        run_jobs(&app, 8).await;
        let (old_link, _) = links_in(&app, &download_emails(&smtp).last().unwrap().text);
        for _ in 0..5 {
            download(&app, &old_link, "not the password at all").await;
        }
        assert_eq!(request_state(&app, &locked), State::Locked);
        assert!(
            console
                .in_filter("locked", &reference(&app, &locked))
                .await
                .0
        );
        run_jobs(&app, 8).await;
        let alert = smtp
            .received()
            .into_iter()
            .find(|m| m.subject.contains("download locked"))
            .expect("lock alert");
        assert!(alert
            .text
            .contains(&format!("{}/staff/requests/{locked}", app.base_url)));

        // Re-issue: new links work, the old ones do not.
        let pid = package_ids(&app, &locked).remove(0);
        let before = download_emails(&smtp).len();
        let (status, html) = console
            .package_action(&app, &locked, &pid, "reissue", &[])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert_eq!(package_state(&app, &pid), State::Approved);
        run_jobs(&app, 8).await;
        let mail = download_emails(&smtp);
        assert_eq!(mail.len(), before + 1);
        assert_eq!(download(&app, &old_link, CUSTOMER_PASSWORD).await.0, 404);
        let (new_link, _) = links_in(&app, &mail.last().unwrap().text);
        assert_eq!(download(&app, &new_link, CUSTOMER_PASSWORD).await.0, 200);
        assert_eq!(request_state(&app, &locked), State::Downloaded);

        // Re-send: a new email and link, the old link stops working; emailed again once sent.
        let (status, _) = console
            .package_action(&app, &locked, &pid, "resend", &[])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(request_state(&app, &locked), State::Approved);
        run_jobs(&app, 8).await;
        assert_eq!(request_state(&app, &locked), State::Emailed);
        assert_eq!(download(&app, &new_link, CUSTOMER_PASSWORD).await.0, 404);
        let (resent_link, _) = links_in(&app, &download_emails(&smtp).last().unwrap().text);
        assert_eq!(download(&app, &resent_link, CUSTOMER_PASSWORD).await.0, 200);

        // Extend: the expiry moves, audited; a bad number of days is a clear message.
        let before = expires_at(&app, &pid);
        let (status, _) = console
            .package_action(&app, &locked, &pid, "extend", &[("days", "5")])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(expires_at(&app, &pid), before + 5 * 86_400);
        assert!(audit_of(&app, &format!("package:{pid}")).contains(&"package.extended".into()));
        let (status, html) = console
            .package_action(&app, &locked, &pid, "extend", &[("days", "0")])
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(html.contains("whole number of days"));

        // Per-shipment files: one email per file naming its shipment; cancel each.
        let split = submit(&app, "per_shipment").await;
        console.approve(&app, &split).await;
        run_jobs(&app, 8).await;
        let subjects: Vec<String> = download_emails(&smtp)
            .into_iter()
            .map(|m| m.subject)
            .collect();
        for number in ["SHP-50042-1", "SHP-50042-2"] {
            assert!(
                subjects
                    .iter()
                    .any(|s| s.contains(&format!("for shipment {number}"))),
                "{subjects:?}"
            );
        }
        let files = package_ids(&app, &split);
        assert_eq!(files.len(), 2);
        let link_of_first = {
            let mail = download_emails(&smtp);
            let m = mail
                .iter()
                .find(|m| m.subject.contains("SHP-50042-1"))
                .unwrap();
            links_in(&app, &m.text).0
        };
        let (status, _) = console
            .package_action(&app, &split, &files[0], "cancel", &[])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(package_state(&app, &files[0]), State::Cancelled);
        assert_eq!(chunks(&app, &files[0]), 0, "cancel destroys at once");
        assert_eq!(request_state(&app, &split), State::Emailed);
        let (status, body) = download(&app, &link_of_first, CUSTOMER_PASSWORD).await;
        assert_eq!(status, 410);
        assert!(String::from_utf8_lossy(&body).contains("cancelled"));
        console
            .package_action(&app, &split, &files[1], "cancel", &[])
            .await;
        assert_eq!(request_state(&app, &split), State::Cancelled);
        assert!(
            console
                .in_filter("cancelled", &reference(&app, &split))
                .await
                .0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_email_given_up_after_the_retry_cap_alerts_once_and_shows_on_the_request() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let port = free_port();
        let app = app(backend, port).await;
        let console = Console::sign_in(&app, "rev@vendor.example", Role::Reviewer).await;
        let id = submit(&app, "one").await;
        console.approve(&app, &id).await;
        // Nothing listens: with a cap of one attempt every email is given up at once.
        fail_all(&app).await;
        assert_eq!(
            request_state(&app, &id),
            State::FailedDelivery,
            "{backend:?}"
        );
        assert!(
            console
                .in_filter("failed_delivery", &reference(&app, &id))
                .await
                .0
        );
        let page = format!("/staff/requests/{id}");
        let (_, html) = console.get(&page).await;
        assert!(html.contains("data-status=\"failed\""), "{html}");
        assert!(html.contains("email failed"));
        let (_, emails) = console.get("/staff/emails?state=failed").await;
        assert!(emails.contains("ready to download"));
        let rows: Vec<&str> = emails.split("<tr data-status").skip(1).collect();
        let download_row = rows
            .iter()
            .find(|r| r.contains("ready to download"))
            .unwrap();
        assert!(
            !download_row.contains("Retry now"),
            "a link-bearing email is re-sent with new links, not retried"
        );
        assert!(rows
            .iter()
            .any(|r| r.contains("We received your") && r.contains("Retry now")));

        // The relay comes back: the alerts arrive, once each.
        let smtp = Smtp::start(port);
        run_jobs(&app, 8).await;
        run_jobs(&app, 8).await;
        let alerts: Vec<_> = smtp
            .received()
            .into_iter()
            .filter(|m| m.subject.contains("could not be delivered"))
            .collect();
        assert_eq!(
            alerts.len(),
            2,
            "request received + download ready, once each"
        );
        assert!(alerts
            .iter()
            .all(|a| a.text.contains(&format!("/staff/requests/{id}"))));

        // "Retry now" on the failed email without links: it goes out as it is.
        let (_, emails) = console.get("/staff/emails?state=failed").await;
        let retry = emails
            .split("action=\"")
            .filter_map(|s| s.split('"').next())
            .find(|a| a.ends_with("/retry"))
            .unwrap()
            .to_string();
        let (status, _) = console
            .post(&app, "/staff/emails?state=failed", &retry, &[], false)
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        run_jobs(&app, 8).await;
        assert!(smtp
            .received()
            .iter()
            .any(|m| m.subject.starts_with("We received your seed file request")));

        // The link-bearing body of the given-up email is scrubbed by the sweeper.
        jobs::sweep_once(&deps(&app)).await.unwrap();
        let bodies: Vec<String> = {
            let mut conn = app.db.get().unwrap();
            outbox::table
                .filter(outbox::kind.eq("download_ready"))
                .select(outbox::body_text)
                .load(&mut conn)
                .unwrap()
        };
        assert!(
            bodies.iter().all(|b| !b.contains("/d/sp_dl_")),
            "{bodies:?}"
        );

        // Re-send from the request page: a new link reaches the customer.
        let pid = package_ids(&app, &id).remove(0);
        let (status, _) = console.package_action(&app, &id, &pid, "resend", &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        run_jobs(&app, 8).await;
        assert_eq!(request_state(&app, &id), State::Emailed);
        let mail = download_emails(&smtp);
        assert_eq!(mail.len(), 1);
        let (link, _) = links_in(&app, &mail[0].text);
        assert_eq!(download(&app, &link, CUSTOMER_PASSWORD).await.0, 200);
    }
}
