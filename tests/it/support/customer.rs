//! A customer in a browser of their own (own cookie jar), walking the wizard over HTTP to the
//! review step and submitting: what the burst and fault tests run many of at once.

use reqwest::{Client, StatusCode};
use std::time::Duration;

pub const EMAIL: &str = "it-admin@acme.example";
pub const PASSWORD: &str = "tulip anchor gravel 42";

/// The demo order's two shipments: (id, serial printed on one of its tokens).
#[derive(Debug, Clone)]
pub struct DemoShipments(pub Vec<(String, String)>);

impl DemoShipments {
    /// Reads the ids of SHP-50042-1 and SHP-50042-2 from the database.
    pub fn load(db: &seedport::db::Db) -> DemoShipments {
        use diesel::prelude::*;
        use seedport::db::schema::shipments;
        let mut conn = db.get().unwrap();
        let mut out = Vec::new();
        for (number, serial) in [("SHP-50042-1", "10001003"), ("SHP-50042-2", "10002007")] {
            let id: String = shipments::table
                .filter(shipments::shipment_number.eq(number))
                .select(shipments::id)
                .first(&mut conn)
                .unwrap();
            out.push((id, serial.to_string()));
        }
        DemoShipments(out)
    }
}

/// One customer: a client with its own cookies, no redirects followed.
pub struct Customer {
    pub client: Client,
    pub base_url: String,
}

fn csrf_of(html: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_string())
}

/// What went wrong on the way, with the status the customer saw.
pub type Step = Result<(), (String, u16)>;

impl Customer {
    pub fn new(base_url: &str) -> Customer {
        Customer {
            client: Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base_url: base_url.to_string(),
        }
    }

    async fn expect(
        &self,
        resp: reqwest::Result<reqwest::Response>,
        what: &str,
    ) -> Result<reqwest::Response, (String, u16)> {
        match resp {
            Ok(r) if r.status() == StatusCode::SEE_OTHER || r.status() == StatusCode::OK => Ok(r),
            Ok(r) => {
                let status = r.status().as_u16();
                let body = r.text().await.unwrap_or_default();
                Err((
                    format!(
                        "{what}: {status} {}",
                        body.chars().take(300).collect::<String>()
                    ),
                    status,
                ))
            }
            Err(e) => Err((format!("{what}: {e}"), 0)),
        }
    }

    /// Looks up the demo order, proves both shipments, chooses a password and the Entra CSV:
    /// returns the draft's URL and the CSRF token, ready to submit.
    pub async fn to_review(
        &self,
        ships: &DemoShipments,
    ) -> Result<(String, String), (String, u16)> {
        self.to_review_order("PO-2026-0042", EMAIL, ships).await
    }

    /// [`Customer::to_review`] for any order: looks up `po` as `email`, proves `ships`.
    pub async fn to_review_order(
        &self,
        po: &str,
        email: &str,
        ships: &DemoShipments,
    ) -> Result<(String, String), (String, u16)> {
        let start = self
            .expect(self.client.get(&self.base_url).send().await, "start")
            .await?;
        let csrf =
            csrf_of(&start.text().await.unwrap_or_default()).ok_or(("no csrf".to_string(), 0))?;
        let r = self
            .expect(
                self.client
                    .post(format!("{}/request", self.base_url))
                    .form(&[
                        ("csrf", csrf.as_str()),
                        ("kind", "po"),
                        ("reference", po),
                        ("email", email),
                    ])
                    .send()
                    .await,
                "lookup",
            )
            .await?;
        let loc = r
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .ok_or(("lookup did not redirect".to_string(), r.status().as_u16()))?
            .to_string();
        let base = format!("{}{}", self.base_url, loc.trim_end_matches("/shipments"));
        // A successful lookup rotates the session cookie, and with it the forms' CSRF token.
        let page = self
            .expect(
                self.client.get(format!("{base}/shipments")).send().await,
                "shipments page",
            )
            .await?;
        let csrf =
            csrf_of(&page.text().await.unwrap_or_default()).ok_or(("no csrf".to_string(), 0))?;
        let mut form = vec![("csrf".to_string(), csrf.clone())];
        for (id, serial) in &ships.0 {
            form.push(("ship".into(), id.clone()));
            form.push((format!("serial-{id}"), serial.clone()));
        }
        self.expect(
            self.client
                .post(format!("{base}/shipments"))
                .form(&form)
                .send()
                .await,
            "shipments",
        )
        .await?;
        let mut multipart = reqwest::multipart::Form::new();
        for (k, v) in [
            ("csrf", csrf.as_str()),
            ("bundling", "one"),
            ("protection", "password"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("action", "continue"),
        ] {
            multipart = multipart.text(k.to_string(), v.to_string());
        }
        self.expect(
            self.client
                .post(format!("{base}/protection"))
                .multipart(multipart)
                .send()
                .await,
            "protection",
        )
        .await?;
        self.expect(
            self.client
                .post(format!("{base}/format"))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("format", "entra-csv"),
                    ("action", "continue"),
                ])
                .send()
                .await,
            "format",
        )
        .await?;
        Ok((base, csrf))
    }

    /// Presses Submit; the status the customer saw (303 on success).
    pub async fn submit(&self, base: &str, csrf: &str) -> (u16, String) {
        match self
            .client
            .post(format!("{base}/submit"))
            .form(&[("csrf", csrf)])
            .send()
            .await
        {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.text().await.unwrap_or_default())
            }
            Err(e) => (0, e.to_string()),
        }
    }
}
