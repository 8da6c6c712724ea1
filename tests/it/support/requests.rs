//! The one way tests make a request: through the domain's own functions, as the wizard does
//! (lookup → draft → shipment proof → choices and sealed secrets → prepare → submit), and
//! approval through `delivery::approve`. Every row is what the code writes, never a raw insert.

use super::TestApp;
use diesel::prelude::*;
use seedport::db::schema::{orders, packages, shipments, tokens};
use seedport::domain::{BusinessEmail, OrderNumber, ReferenceKind, Serial};
use seedport::formats::{CustomCsvSpec, FormatId};
use seedport::lifecycle::{RequestId, Who};
use seedport::request::draft::{self, NewDraft, ProvedShipment, Step};
use seedport::request::shipments::{Asker, SerialCheck};
use seedport::request::submit::{self, SubmitParams};
use seedport::request::{lookup, Bundling, Choices, PgpChoice, ProtectionKind};
use seedport::vault::SecretString;

/// The demo order and the address registered for it.
pub const PO: &str = "PO-2026-0042";
pub const EMAIL: &str = "it-admin@acme.example";

/// What to ask for. `Default` is the demo order's first shipment, an Entra CSV in one
/// password-protected zip.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub protection: ProtectionKind,
    /// The zip password, when `protection` has one.
    pub password: Option<String>,
    /// An armored public key, when `protection` has PGP.
    pub pgp_armored: Option<String>,
    pub format: FormatId,
    /// The layout, when `format` is the custom CSV.
    pub custom_csv: Option<CustomCsvSpec>,
    pub bundling: Bundling,
    /// How many of the demo order's shipments (in shipment-number order) to prove.
    pub shipments: usize,
    pub client_ip: String,
    /// Seconds before the app's clock the customer submitted (the domain takes the time).
    pub submitted_ago: i64,
}

impl Default for RequestSpec {
    fn default() -> Self {
        RequestSpec {
            protection: ProtectionKind::Password,
            password: Some("correct horse battery staple".into()),
            pgp_armored: None,
            format: FormatId::EntraCsv,
            custom_csv: None,
            bundling: Bundling::One,
            shipments: 1,
            client_ip: "192.0.2.7".into(),
            submitted_ago: 0,
        }
    }
}

impl RequestSpec {
    /// Encrypted to a fresh PGP key only (no zip password).
    pub fn pgp() -> RequestSpec {
        RequestSpec {
            protection: ProtectionKind::Pgp,
            password: None,
            pgp_armored: Some(test_key_armored()),
            ..RequestSpec::default()
        }
    }
}

/// A request the fixture made.
#[derive(Debug, Clone)]
pub struct Made {
    pub request_id: String,
    pub reference: String,
    /// Its packages, oldest first.
    pub package_ids: Vec<String>,
}

/// An encryption-capable key sequoia makes, dated before the test clock.
pub fn test_key_armored() -> String {
    use sequoia_openpgp::cert::CertBuilder;
    use sequoia_openpgp::serialize::SerializeInto;
    let (cert, _) = CertBuilder::general_purpose(Some("Acme IT <it-admin@acme.example>"))
        .set_creation_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
        .set_validity_period(None)
        .generate()
        .unwrap();
    let armored = cert.armored().to_vec().unwrap();
    String::from_utf8(armored).unwrap()
}

/// Submits a request for the demo order as a customer would, at the app's clock: the row, its
/// shipments, packages, audit row and "request received" email all come from `submit`.
pub fn submit_request(app: &TestApp, spec: &RequestSpec) -> Made {
    let now = app.clock.now() - spec.submitted_ago;
    let mut conn = app.db.get().unwrap();
    let conn = &mut *conn;
    let number = OrderNumber::parse(PO).unwrap();
    let email = BusinessEmail::parse(EMAIL).unwrap();
    let found = lookup::find_order(conn, ReferenceKind::Po, &number, &email)
        .unwrap()
        .expect("the demo order is found for its registered address");
    let session_hash = format!("fixture-{}", uuid::Uuid::new_v4().simple());
    let draft_id = draft::create(
        conn,
        &NewDraft {
            session_hash: &session_hash,
            customer_id: &found.customer_id,
            order_id: &found.order_id,
            requester_email: EMAIL,
            client_ip: &spec.client_ip,
        },
        now,
    )
    .unwrap();
    let mut d = draft::load(conn, &draft_id, &session_hash, now).unwrap();

    // Prove each shipment with a serial it really holds.
    let ships: Vec<(String, String)> = shipments::table
        .filter(shipments::order_id.eq(&found.order_id))
        .order(shipments::shipment_number.asc())
        .select((shipments::id, shipments::shipment_number))
        .limit(spec.shipments as i64)
        .load(conn)
        .unwrap();
    assert_eq!(
        ships.len(),
        spec.shipments,
        "the demo order has that many shipments"
    );
    let mut choices = Choices::default();
    for (id, number) in ships {
        let serial: String = tokens::table
            .filter(tokens::shipment_id.eq(&id))
            .order(tokens::serial.asc())
            .select(tokens::serial)
            .first(conn)
            .unwrap();
        let asker = Asker {
            email: EMAIL,
            client_ip: &spec.client_ip,
            alert_to: &app.config.alert_email,
        };
        let check = seedport::request::shipments::verify(
            conn,
            &id,
            &Serial::parse(&serial).unwrap(),
            app.config.serial_attempt_limit,
            &asker,
            now,
        )
        .unwrap();
        assert!(matches!(check, SerialCheck::Proved), "{check:?}");
        choices
            .shipments
            .push(ProvedShipment { id, number, serial });
    }
    choices.bundling = Some(spec.bundling);
    choices.protection = Some(spec.protection);
    choices.format = Some(spec.format);
    choices.custom_csv = spec.custom_csv.clone();
    if let Some(armored) = &spec.pgp_armored {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(now as u64);
        let key = seedport::pipeline::PgpRecipient::parse_at(armored.as_bytes(), at).unwrap();
        choices.pgp = Some(PgpChoice {
            armored: key.armored_public().unwrap(),
            fingerprint: key.fingerprint(),
            user_ids: key.user_ids(),
        });
    }
    let password = spec.password.clone().map(SecretString::new);
    draft::advance(conn, &app.vault, &mut d, Step::Review, &choices, now, |s| {
        s.set_zip_password(password.as_ref())
    })
    .unwrap();
    let d = draft::load(conn, &draft_id, &session_hash, now).unwrap();

    let (po, invoice): (String, String) = orders::table
        .find(&d.order_id)
        .select((orders::po_number, orders::invoice_number))
        .first(conn)
        .unwrap();
    let reference = submit::new_reference();
    let tera = seedport::web::assets::tera().unwrap();
    let email = seedport::mail::compose::request_received(
        &tera,
        &app.config,
        &d,
        &reference,
        &po,
        &invoice,
    )
    .unwrap();
    let secrets = submit::open_secrets(conn, &app.vault, &d).unwrap();
    let prepared = submit::prepare(&d, secrets).unwrap();
    let params = SubmitParams {
        reference,
        prepared,
        email,
        max_downloads: app.config.download_limit,
        review_expiry_days: app.config.review_expiry_days,
        now,
    };
    let submitted = submit::submit(conn, &app.vault, &d, params).unwrap();
    let package_ids = packages::table
        .filter(packages::request_id.eq(&submitted.request_id))
        .order((packages::created_at.asc(), packages::file_name.asc()))
        .select(packages::id)
        .load(conn)
        .unwrap();
    Made {
        request_id: submitted.request_id,
        reference: submitted.reference,
        package_ids,
    }
}

/// Approves the request as `actor` through `delivery::approve`, at the app's clock.
pub fn approve_request(app: &TestApp, request_id: &str, actor: &str) {
    let mut conn = app.db.get().unwrap();
    let tera = seedport::web::assets::tera().unwrap();
    let who = Who {
        actor,
        client_ip: "10.0.0.1",
    };
    let outcome = seedport::delivery::approve(
        &mut conn,
        &app.config,
        &tera,
        &RequestId::from_raw(request_id),
        who,
        app.clock.now(),
    )
    .unwrap();
    assert!(
        matches!(outcome, seedport::delivery::ApproveOutcome::Approved { .. }),
        "{outcome:?}"
    );
}
