//! Finding 12: both upload forms go through one multipart parser with limits: too many parts,
//! too many bytes and a crafted near-boundary body are refused quickly with a clear message.

use super::*;
use crate::support::{backends, spawn_app, TestApp};
use crate::wizard_helpers::{draft_for, prove};
use reqwest::StatusCode;
use std::time::{Duration, Instant};

async fn at_protection(app: &TestApp) -> (String, String) {
    let (base, csrf) = draft_for(app, "po", "PO-2026-0042").await;
    let r = prove(app, &base, &csrf, &[("SHP-50042-1", "10001003")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    (base, csrf)
}

async fn post_raw(app: &TestApp, url: &str, boundary: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_protection_form_refuses_too_many_parts_and_bytes() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (base, csrf) = at_protection(&app).await;
        let url = format!("{base}/protection");
        let mut many = String::new();
        for i in 0..100 {
            many.push_str(&format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n"
            ));
        }
        many.push_str(&format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--XyZ--\r\n"
        ));
        let r = post_raw(&app, &url, "XyZ", many.into_bytes()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{backend:?}");
        assert!(r.text().await.unwrap().contains("more than 64 parts"));

        let big = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"pgp_key\"\r\n\r\n{}\r\n--XyZ--\r\n",
            "k".repeat(300 * 1024)
        );
        let r = post_raw(&app, &url, "XyZ", big.into_bytes()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{backend:?}");
        assert!(r.text().await.unwrap().contains("larger than 256 KiB"));

        // A body that is not multipart at all gets a clear message too.
        let r = app
            .client
            .post(&url)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.text().await.unwrap().contains("multipart/form-data"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn crafted_near_boundaries_are_refused_not_hung() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (base, _) = at_protection(&app).await;
        let boundary = "a".repeat(70);
        let near = format!("\r\n--{}", &boundary[..69]);
        let mut body =
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"pgp_key\"\r\n\r\n")
                .into_bytes();
        while body.len() < 250 * 1024 {
            body.extend_from_slice(near.as_bytes());
        }
        let started = Instant::now();
        let r = post_raw(&app, &format!("{base}/protection"), &boundary, body).await;
        let took = started.elapsed();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{backend:?}");
        // Refused at the parser's stall deadline at the latest, never hung.
        assert!(took < Duration::from_secs(8), "{backend:?}: {took:?}");
        eprintln!("{backend:?}: crafted 250 KB body refused in {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_import_form_reports_a_damaged_upload() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let secret = add_staff(&app, "ada@vendor.example", Role::Admin);
        let b = signed_in(&app, "ada@vendor.example", &secret).await;
        let r = b
            .with_ip(b.client.post(format!("{}/staff/import", b.base)))
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .body("--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nunfinished")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{backend:?}");
        assert!(r.text().await.unwrap().contains("damaged"), "{backend:?}");
    }
}
