//! An ERP-style session: customer, order and token file through the API; the customer finds
//! the order with the lookup and the request goes through to confirmed; the ERP reads each
//! state back and receives a signed webhook for every step on a loopback receiver.

use super::{call, factory_csv, json, key_with, Body};
use crate::lifecycle::{app, confirm, download, download_emails, links_in, run_jobs, Console};
use crate::support::customer::{Customer, DemoShipments};
use crate::support::smtp::{free_port, Smtp};
use crate::support::tools::Tool;
use crate::support::{backends, TestApp};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use reqwest::Method;
use seedport::api_keys::webhooks::{self, WebhookOptions};
use seedport::api_keys::Scope;
use seedport::db::schema::{requests, shipments};
use seedport::lifecycle::RequestId;
use seedport::staff::Role;
use serde_json::json;
use std::sync::{Arc, Mutex};

/// What the loopback receiver got: (event, body), only when the signature verified.
type Received = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

struct Receiver {
    url: String,
    got: Received,
    /// Deliveries refused for a bad signature.
    refused: Arc<Mutex<usize>>,
}

/// A tiny webhook receiver on loopback that checks `Seedport-Signature` against the secret
/// (HMAC-SHA256 over "timestamp.body") and answers 401 when it does not match.
fn receiver(secret: Arc<Mutex<Vec<u8>>>) -> Receiver {
    let got: Received = Arc::default();
    let refused = Arc::new(Mutex::new(0usize));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/seedport", listener.local_addr().unwrap());
    let (g, r) = (got.clone(), refused.clone());
    let server = HttpServer::new(move || {
        let (g, r, secret) = (g.clone(), r.clone(), secret.clone());
        App::new().route(
            "/hooks/seedport",
            web::post().to(move |req: HttpRequest, body: web::Bytes| {
                let (g, r, secret) = (g.clone(), r.clone(), secret.clone());
                async move {
                    let header = |n: &str| {
                        req.headers()
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    let timestamp = header("seedport-timestamp");
                    let mut mac =
                        Hmac::<sha2::Sha256>::new_from_slice(&secret.lock().unwrap()).unwrap();
                    mac.update(timestamp.as_bytes());
                    mac.update(b".");
                    mac.update(&body);
                    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                    if timestamp.is_empty() || header("seedport-signature") != expected {
                        *r.lock().unwrap() += 1;
                        return HttpResponse::Unauthorized().finish();
                    }
                    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    g.lock().unwrap().push((header("seedport-event"), value));
                    HttpResponse::NoContent().finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    Receiver { url, got, refused }
}

/// One pass of the webhook sender.
async fn deliver(app: &TestApp) -> webhooks::WebhookReport {
    webhooks::deliver_due(
        &app.db,
        &app.vault,
        &app.clock,
        &reqwest::Client::new(),
        "test-webhooks",
        &WebhookOptions::default(),
    )
    .await
    .unwrap()
}

fn events(r: &Receiver) -> Vec<String> {
    r.got
        .lock()
        .unwrap()
        .iter()
        .map(|(e, _)| e.clone())
        .collect()
}

#[tokio::test]
async fn an_order_sent_by_the_erp_is_delivered_to_confirmed_with_a_signed_webhook_per_step() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app(backend, smtp.port).await;
        let secret = Arc::new(Mutex::new(Vec::new()));
        let hook = receiver(secret.clone());
        let (k, webhook_secret) = key_with(&app, "erp", &Scope::ALL, Some(&hook.url));
        *secret.lock().unwrap() = webhook_secret.unwrap().into_bytes();
        let mut answers = Vec::new();

        let r = call(
            &app,
            Method::PUT,
            "/api/v1/customers",
            Some(&k),
            json(json!({"name": "Initech", "emails": ["it@initech.example"]})),
        )
        .await;
        assert_eq!(r.status, 201, "{backend:?}: {}", r.text);
        answers.push(r.text);
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/orders",
            Some(&k),
            json(
                json!({"customer": "Initech", "po": "PO-INI-7", "invoice": "INV-INI-7",
                "shipments": [{"number": "SHP-INI-7", "date": "2026-12-01"}]}),
            ),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        answers.push(r.text);
        let (csv, seeds) = factory_csv(7_100_001, 4);
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/shipments/SHP-INI-7/tokens",
            Some(&k),
            Some(Body::Raw(csv)),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        answers.push(r.text);

        // The customer finds the order with the lookup, proves the shipment and submits.
        let shipment_id: String = {
            let mut conn = app.db.get().unwrap();
            shipments::table
                .filter(shipments::shipment_number.eq("SHP-INI-7"))
                .select(shipments::id)
                .first(&mut conn)
                .unwrap()
        };
        let customer = Customer::new(&app.base_url);
        let ships = DemoShipments(vec![(shipment_id, "7100003".into())]);
        let (base, csrf) = customer
            .to_review_order("PO-INI-7", "it@initech.example", &ships)
            .await
            .unwrap();
        let (status, _) = customer.submit(&base, &csrf).await;
        assert_eq!(status, 303);
        let (id, reference): (RequestId, String) = {
            let mut conn = app.db.get().unwrap();
            requests::table
                .filter(requests::requester_email.eq("it@initech.example"))
                .select((requests::id, requests::reference))
                .first(&mut conn)
                .unwrap()
        };
        assert_eq!(deliver(&app).await.sent, 1);
        let detail = format!("/api/v1/requests/{reference}");
        let state_of = |a: &super::Answer| a.json()["state"].as_str().unwrap().to_string();
        let r = call(&app, Method::GET, &detail, Some(&k), None).await;
        assert_eq!(state_of(&r), "pending_review", "{}", r.text);
        answers.push(r.text);
        let r = call(
            &app,
            Method::GET,
            "/api/v1/requests?state=pending_review",
            Some(&k),
            None,
        )
        .await;
        assert!(
            r.json()["requests"]
                .as_array()
                .unwrap()
                .iter()
                .any(|q| q["reference"] == reference.as_str()),
            "{}",
            r.text
        );
        answers.push(r.text);

        // Approved by the delivery team, emailed, downloaded, confirmed.
        let console = Console::sign_in(&app, "rev@vendor.example", Role::Reviewer).await;
        assert_eq!(console.approve(&app, &id).await.0, 303);
        run_jobs(&app, 8).await;
        deliver(&app).await;
        let r = call(&app, Method::GET, &detail, Some(&k), None).await;
        assert_eq!(state_of(&r), "emailed", "{}", r.text);
        let mail = download_emails(&smtp);
        assert_eq!(mail.len(), 1);
        let (download_link, confirm_link) = links_in(&app, &mail[0].text);
        let (status, bytes) =
            download(&app, &download_link, crate::lifecycle::CUSTOMER_PASSWORD).await;
        assert_eq!(status, 200);
        assert!(bytes.starts_with(b"PK"));
        deliver(&app).await;
        let r = call(&app, Method::GET, &detail, Some(&k), None).await;
        assert_eq!(state_of(&r), "downloaded");
        let (status, _) = confirm(&confirm_link).await;
        assert_eq!(status, 200);
        deliver(&app).await;
        let r = call(&app, Method::GET, &detail, Some(&k), None).await;
        let body = r.json();
        assert_eq!(body["state"], "confirmed");
        assert_eq!(body["po"], "PO-INI-7");
        assert_eq!(body["packages"][0]["state"], "confirmed");
        assert_eq!(body["packages"][0]["token_count"], 4, "the whole shipment");
        let history: Vec<&str> = body["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["action"].as_str().unwrap())
            .collect();
        for step in [
            "request.submitted",
            "request.approved",
            "package.downloaded",
            "request.confirmed",
        ] {
            assert!(history.contains(&step), "{step} in {history:?}");
        }
        answers.push(r.text);

        // One signed webhook per step, in order, none twice, none refused.
        assert_eq!(deliver(&app).await, webhooks::WebhookReport::default());
        assert_eq!(
            events(&hook),
            [
                "request.submitted",
                "request.approved",
                "request.downloaded",
                "request.confirmed"
            ],
            "{backend:?}"
        );
        assert_eq!(*hook.refused.lock().unwrap(), 0);
        for (_, body) in hook.got.lock().unwrap().iter() {
            assert_eq!(body["request"]["reference"], reference.as_str());
            assert_eq!(body["request"]["invoice"], "INV-INI-7");
        }
        for seed in &seeds {
            for a in &answers {
                assert!(!a.contains(seed.as_str()), "a seed in an answer: {a}");
            }
        }
    }
}

#[tokio::test]
async fn a_request_nobody_reviews_expires_with_a_webhook_and_a_wrong_secret_is_retried() {
    crate::require_tools!(Tool::Aiosmtpd);
    for backend in backends() {
        let smtp = Smtp::start(free_port());
        let app = app(backend, smtp.port).await;
        // The receiver knows another secret at first: every delivery is refused and retried.
        let secret = Arc::new(Mutex::new(b"not the secret".to_vec()));
        let hook = receiver(secret.clone());
        let (_, webhook_secret) = key_with(&app, "erp", &Scope::ALL, Some(&hook.url));
        let id = crate::lifecycle::submit(&app, "one").await;
        let report = deliver(&app).await;
        assert_eq!((report.sent, report.failed), (0, 1));
        assert_eq!(*hook.refused.lock().unwrap(), 1);
        assert!(events(&hook).is_empty());
        // The same delivery is retried after its back-off, now with the right secret.
        *secret.lock().unwrap() = webhook_secret.unwrap().into_bytes();
        assert_eq!(deliver(&app).await.sent, 0, "not before the back-off");
        app.clock.advance(31);
        assert_eq!(deliver(&app).await.sent, 1);
        assert_eq!(events(&hook), ["request.submitted"]);

        // Nobody reviews it: the sweeper expires it, and the ERP hears so once.
        app.clock
            .advance(i64::from(app.config.review_expiry_days) * 86_400 + 1);
        seedport::jobs::sweep_once(&crate::lifecycle::deps(&app))
            .await
            .unwrap();
        assert_eq!(
            crate::lifecycle::request_state(&app, &id),
            seedport::lifecycle::State::Expired
        );
        assert_eq!(deliver(&app).await.sent, 1);
        assert_eq!(deliver(&app).await.sent, 0);
        assert_eq!(
            events(&hook),
            ["request.submitted", "request.expired"],
            "{backend:?}"
        );
    }
}
