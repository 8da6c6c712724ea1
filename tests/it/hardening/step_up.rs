//! Finding 1: wrong step-up codes on approve count with sign-in failures, are audited, and the
//! fifth locks the account and ends its sessions, so the right code no longer approves.

use super::*;
use crate::support::{backends, spawn_app};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread")]
async fn wrong_step_up_codes_lock_the_account_and_end_its_sessions() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let secret = add_staff(&app, "rita@vendor.example", Role::Reviewer);
        let id = pending_request(&app);
        let b = signed_in(&app, "rita@vendor.example", &secret).await;
        let path = format!("/staff/requests/{id}");
        let csrf = b.csrf(&path).await;
        let right = code(&app, &secret);
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        for i in 0..5 {
            let r = b
                .post(
                    &format!("{path}/approve"),
                    &[("csrf", &csrf), ("code", wrong)],
                )
                .await;
            assert_eq!(
                r.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{backend:?}: wrong code {i}"
            );
        }
        assert_eq!(
            count_action(&app, "staff.step_up_failed"),
            5,
            "{backend:?}: every failure audited"
        );
        assert_eq!(count_action(&app, "staff.locked"), 1, "{backend:?}");

        // The session is gone: the right code now leads to the sign-in page, nothing approved.
        let r = b
            .post(
                &format!("{path}/approve"),
                &[("csrf", &csrf), ("code", &right)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{backend:?}");
        assert_eq!(r.headers()["location"], "/staff/login");
        assert_eq!(request_state(&app, &id), "pending_review", "{backend:?}");

        // And the account is locked for sign-in too.
        let again = Browser::new(&app);
        let r = again
            .sign_in("rita@vendor.example", STAFF_PASSWORD, &code(&app, &secret))
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{backend:?}: locked");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_right_step_up_code_clears_earlier_failures() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let secret = add_staff(&app, "sam@vendor.example", Role::Reviewer);
        let id = pending_request(&app);
        let b = signed_in(&app, "sam@vendor.example", &secret).await;
        let path = format!("/staff/requests/{id}");
        let csrf = b.csrf(&path).await;
        let right = code(&app, &secret);
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        for _ in 0..4 {
            b.post(
                &format!("{path}/approve"),
                &[("csrf", &csrf), ("code", wrong)],
            )
            .await;
        }
        let r = b
            .post(
                &format!("{path}/approve"),
                &[("csrf", &csrf), ("code", &right)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{backend:?}");
        assert_ne!(request_state(&app, &id), "pending_review", "{backend:?}");
        assert_eq!(count_action(&app, "staff.locked"), 0, "{backend:?}");
    }
}
