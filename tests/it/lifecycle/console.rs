//! The console's other pages: emails, customers (admin) and the orders prefix search; flags.

use super::*;
use crate::support::backends;
use crate::support::smtp::free_port;
use seedport::db::schema::customer_emails;

#[tokio::test]
async fn customers_are_edited_with_an_audit_row_and_flags_follow() {
    for backend in backends() {
        let app = app(backend, free_port()).await;
        let admin = Console::sign_in(&app, "admin@vendor.example", Role::Admin).await;
        let reviewer = Console::sign_in(&app, "rev@vendor.example", Role::Reviewer).await;
        assert_eq!(
            reviewer.get("/staff/customers").await.0,
            StatusCode::FORBIDDEN
        );
        let (status, html) = admin.get("/staff/customers").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("it-admin@acme.example") && html.contains("acme.example"));
        let customer_id: String = {
            let mut conn = app.db.get().unwrap();
            customer_emails::table
                .select(customer_emails::customer_id)
                .first(&mut conn)
                .unwrap()
        };
        let action = format!("/staff/customers/{customer_id}");
        let (status, html) = admin
            .post(
                &app,
                "/staff/customers",
                &action,
                &[("emails", "not-an-email"), ("domain", "acme.example")],
                false,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("not-an-email"), "the problem is named");

        // First request from the registered address: not domain-only. Then the address is
        // removed (domain kept): the next request is flagged, and is a re-delivery.
        let first = submit(&app, "one").await;
        let (_, html) = reviewer.get(&format!("/staff/requests/{first}")).await;
        assert!(!html.contains("only matched the company's domain"));
        reviewer.approve(&app, &first).await;
        let (status, html) = admin
            .post(
                &app,
                "/staff/customers",
                &action,
                &[("emails", "it@acme.example"), ("domain", "acme.example")],
                false,
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert!(html.contains("it@acme.example"));
        let audit = audit_of(&app, "customer:Acme Corporation");
        assert_eq!(audit, ["customer.updated"]);
        let second = submit(&app, "one").await;
        let (_, html) = reviewer.get(&format!("/staff/requests/{second}")).await;
        assert!(
            html.contains("only matched the company's domain"),
            "{backend:?}"
        );
        assert!(
            html.contains(&format!("/staff/requests/{first}")),
            "links the earlier delivery"
        );
        let (_, queue) = reviewer.get("/staff/requests").await;
        assert!(queue.contains("domain match only") && queue.contains("re-delivery"));
    }
}

#[tokio::test]
async fn orders_are_found_by_any_case_prefix() {
    for backend in backends() {
        let app = app(backend, free_port()).await;
        let reviewer = Console::sign_in(&app, "rev@vendor.example", Role::Reviewer).await;
        for q in ["po-2026-00", "inv-1004", "shp-50077", "PO-2026-0042"] {
            let (_, html) = reviewer.get(&format!("/staff/orders?q={q}")).await;
            assert!(html.contains("PO-2026-0"), "{q}: {html}");
        }
        let (_, html) = reviewer.get("/staff/orders?q=shp-50077").await;
        assert!(html.contains("PO-2026-0077") && !html.contains("PO-2026-0042"));
        let (_, html) = reviewer.get("/staff/orders?q=%25").await;
        assert!(html.contains("Nothing matches"), "a wildcard is literal");
    }
}
