//! Issue #11: the count of requests in each state is in the navigation of every staff page, not
//! only in the queue's filter bar.

use super::*;
use crate::support::backends;
use reqwest::StatusCode;

/// The count the page shows next to the state's link in the navigation.
fn nav_count(html: &str, state: &str) -> String {
    let nav = &html[html
        .find("aria-label=\"Requests by state\"")
        .expect("the state navigation")..];
    let at = nav
        .find(&format!("data-state=\"{state}\""))
        .unwrap_or_else(|| panic!("{state} in the navigation"));
    let rest = &nav[at..];
    rest[rest.find('(').unwrap() + 1..rest.find(')').unwrap()].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_staff_page_counts_requests_per_state() {
    for backend in backends() {
        let app = quiet_app(backend).await;
        let first = submit(&app, "one").await;
        submit(&app, "one").await;
        let admin = Console::sign_in(&app, "admin@vendor.example", Role::Admin).await;
        let (status, _) = admin.approve(&app, &first).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        for page in [
            "/staff/orders",
            "/staff/emails",
            "/staff/customers",
            "/staff/audit",
            "/staff/import",
            &format!("/staff/requests/{first}"),
        ] {
            let (status, html) = admin.get(page).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert_eq!(
                nav_count(&html, "pending_review"),
                "1",
                "{backend:?} {page}"
            );
            assert_eq!(nav_count(&html, "approved"), "1", "{backend:?} {page}");
            assert_eq!(nav_count(&html, "all"), "2", "{backend:?} {page}");
            assert_eq!(nav_count(&html, "confirmed"), "0", "{backend:?} {page}");
        }
        // The queue's filter is the same navigation, with the chosen state marked.
        let (_, html) = admin.get("/staff/requests?state=approved").await;
        assert!(
            html.contains("data-state=\"approved\" aria-current=\"page\""),
            "{html}"
        );
    }
}
