//! Finding 13: a custom CSV fixed value that starts like a formula after leading spaces
//! (`" =1+1"`) is refused like one without them.

use crate::support::{backends, spawn_app};
use crate::wizard_helpers::{post_form, to_format};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread")]
async fn a_formula_after_leading_spaces_is_refused() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (base, csrf) = to_format(&app, "one_file").await;
        for value in [" =1+1", "   @SUM(A1)", "\u{a0}+1"] {
            let r = post_form(
                &app,
                &format!("{base}/format"),
                &[
                    ("csrf", &csrf),
                    ("format", "custom-csv"),
                    ("columns", "2"),
                    ("col-0-label", "Serial"),
                    ("col-0-source", "property"),
                    ("col-0-property", "serial"),
                    ("col-1-label", "Note"),
                    ("col-1-source", "fixed"),
                    ("col-1-fixed", value),
                    ("csv_encoding", "hex"),
                    ("csv_delimiter", "comma"),
                ],
            )
            .await;
            assert_eq!(
                r.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{backend:?}: {value:?} accepted"
            );
            assert!(r.text().await.unwrap().contains("formula"), "{value:?}");
        }
    }
}

#[test]
fn the_assignment_tool_refuses_a_formula_after_spaces() {
    assert!(seedport::assign::text::csv_unsafe(" =1+1").is_some());
    assert!(seedport::assign::text::csv_unsafe("plain").is_none());
}
