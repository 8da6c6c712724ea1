//! The OpenAPI 3.1 document: generated from the code, valid for `openapi-spec-validator`, and
//! true of the live API for `schemathesis` (no 5xx, no answer outside its schema).

use super::{call, key};
use crate::support::tools::{self, Tool};
use crate::support::{backends, spawn_app, spawn_app_with};
use reqwest::Method;

#[tokio::test]
async fn the_document_is_openapi_3_1_and_validates() {
    let app = spawn_app(crate::support::Backend::Sqlite).await;
    let r = call(&app, Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/customers",
        "/api/v1/orders",
        "/api/v1/shipments/{number}/tokens",
        "/api/v1/requests",
        "/api/v1/requests/{reference}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert_eq!(
        doc["paths"]["/api/v1/orders"]["put"]["responses"]["409"]["content"]
            ["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
    if tools::require(&[Tool::OpenapiSpecValidator]) {
        let file = app.test_db.dir.path().join("openapi.json");
        std::fs::write(&file, &r.text).unwrap();
        let out = tools::command(Tool::OpenapiSpecValidator)
            .arg(&file)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success() && said.contains("OK"), "{said}");
    }
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    crate::require_tools!(Tool::Schemathesis);
    for backend in backends() {
        let app = spawn_app_with(backend, |c| c.api_calls_per_key_per_minute = 100_000).await;
        let k = key(&app, "fuzz");
        let mut command = tools::command(Tool::Schemathesis);
        command
            .current_dir(app.test_db.dir.path())
            .args([
                "run",
                &format!("{}/api/v1/openapi.json", app.base_url),
                "--url",
                &app.base_url,
                "-H",
                &format!("Authorization: Bearer {k}"),
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--max-examples",
                "30",
                "--workers",
                "1",
                "--seed",
                "15",
                "--max-time",
                "50",
                "--generation-database",
                "none",
                "--no-color",
            ])
            .env("SCHEMATHESIS_TELEMETRY", "false");
        // Off the test's runtime thread: the server under test runs on it.
        let out = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{backend:?}: schemathesis:\n{said}");
    }
}
