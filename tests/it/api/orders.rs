//! Customers, orders and token files through the API: created once, resent without change,
//! conflicting resends named by field, files checked with the import's rules and messages.

use super::{call, factory_csv, json, key, Body};
use crate::support::{backends, spawn_app};
use diesel::prelude::*;
use reqwest::Method;
use seedport::db::schema::{audit_log, customer_emails, orders, shipments, tokens};
use serde_json::json;

#[tokio::test]
async fn customers_orders_and_token_files_are_idempotent_and_conflicts_name_the_field() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let k = key(&app, "erp");
        let customer = json!({"name": "Initech", "emails": ["it@initech.example"], "domain": null});

        // Customer: created, then the same again changes nothing, then updated.
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/customers",
            Some(&k),
            json(customer.clone()),
        )
        .await;
        assert_eq!(r.status, 201, "{backend:?}: {}", r.text);
        assert_eq!(r.json()["result"], "created");
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/customers",
            Some(&k),
            json(customer.clone()),
        )
        .await;
        assert_eq!(
            (r.status, r.json()["result"].clone()),
            (200, json!("unchanged"))
        );
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/customers",
            Some(&k),
            json(
                json!({"name": "Initech", "emails": ["it@initech.example", "ops@initech.example"]}),
            ),
        )
        .await;
        assert_eq!(
            (r.status, r.json()["result"].clone()),
            (200, json!("updated"))
        );
        assert_eq!(
            r.json()["emails"],
            json!(["it@initech.example", "ops@initech.example"])
        );
        // An address of another customer (the demo's) is a 409 naming `emails`.
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/customers",
            Some(&k),
            json(json!({"name": "Initech", "emails": ["it-admin@acme.example"]})),
        )
        .await;
        assert_eq!(r.problem(409)["field"], "emails");
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/customers",
            Some(&k),
            json(json!({"name": "Initech", "emails": ["not an email"]})),
        )
        .await;
        let p = r.problem(422);
        assert_eq!(p["field"], "emails");
        assert!(
            p["detail"].as_str().unwrap().contains("not an email"),
            "{p}"
        );
        {
            let mut conn = app.db.get().unwrap();
            let emails: Vec<String> = customer_emails::table
                .filter(customer_emails::email.like("%@initech.example"))
                .select(customer_emails::email)
                .load(&mut conn)
                .unwrap();
            assert_eq!(emails.len(), 2, "the refused edits changed nothing");
        }

        // Order: created, resent unchanged, a shipment added, conflicts named.
        let order = json!({"customer": "Initech", "po": "PO-INI-1", "invoice": "INV-INI-1",
            "shipments": [{"number": "SHP-INI-1", "date": "2026-12-01"}]});
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/orders",
            Some(&k),
            json(order.clone()),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/orders",
            Some(&k),
            json(order.clone()),
        )
        .await;
        assert_eq!(
            (r.status, r.json()["result"].clone()),
            (200, json!("unchanged"))
        );
        let mut other_po = order.clone();
        other_po["po"] = json!("PO-INI-2");
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/orders",
            Some(&k),
            json(other_po),
        )
        .await;
        let p = r.problem(409);
        assert_eq!(p["field"], "po");
        assert!(p["detail"].as_str().unwrap().contains("PO-INI-1"), "{p}");
        let mut other_date = order.clone();
        other_date["shipments"][0]["date"] = json!("2026-12-02");
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/orders",
            Some(&k),
            json(other_date),
        )
        .await;
        assert_eq!(r.problem(409)["field"], "shipments[0].date");
        let stolen = json!({"customer": "Initech", "po": "PO-INI-3", "invoice": "INV-INI-3",
            "shipments": [{"number": "SHP-50042-1", "date": "2026-11-20"}]});
        let r = call(&app, Method::PUT, "/api/v1/orders", Some(&k), json(stolen)).await;
        assert_eq!(r.problem(409)["field"], "shipments[0].number");
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/orders",
            Some(&k),
            json(json!({"customer": "Nobody Ltd", "po": "P", "invoice": "I",
                "shipments": [{"number": "S", "date": "2026-12-01"}]})),
        )
        .await;
        assert_eq!(r.problem(422)["field"], "customer");
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/orders",
            Some(&k),
            json(json!({"customer": "Initech", "po": "P", "invoice": "I",
                "shipments": [{"number": "S", "date": "1 Dec"}]})),
        )
        .await;
        assert_eq!(r.problem(422)["field"], "shipments[0].date");
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/orders",
            Some(&k),
            Some(Body::Raw(b"{not json".to_vec())),
        )
        .await;
        r.problem(422);
        let mut more = order.clone();
        more["shipments"] = json!([{"number": "SHP-INI-1", "date": "2026-12-01"},
            {"number": "SHP-INI-2", "date": "2026-12-03"}]);
        let r = call(&app, Method::PUT, "/api/v1/orders", Some(&k), json(more)).await;
        assert_eq!(
            (r.status, r.json()["result"].clone()),
            (201, json!("created"))
        );
        {
            let mut conn = app.db.get().unwrap();
            let n: i64 = orders::table
                .filter(orders::invoice_number.like("INV-INI-%"))
                .count()
                .get_result(&mut conn)
                .unwrap();
            assert_eq!(n, 1, "one order; the refused ones wrote nothing");
            let n: i64 = shipments::table
                .filter(shipments::shipment_number.like("SHP-INI-%"))
                .count()
                .get_result(&mut conn)
                .unwrap();
            assert_eq!(n, 2);
        }

        // Token file: stored, the same again changes nothing, another file is a conflict.
        let (csv, seeds) = factory_csv(7_000_001, 5);
        let path = "/api/v1/shipments/SHP-INI-1/tokens";
        let r = call(
            &app,
            Method::PUT,
            path,
            Some(&k),
            Some(Body::Raw(csv.clone())),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json()["tokens"], 5);
        let r = call(
            &app,
            Method::PUT,
            path,
            Some(&k),
            Some(Body::Raw(csv.clone())),
        )
        .await;
        assert_eq!(
            (r.status, r.json()["result"].clone()),
            (200, json!("unchanged"))
        );
        let (other, _) = factory_csv(7_000_101, 2);
        let r = call(&app, Method::PUT, path, Some(&k), Some(Body::Raw(other))).await;
        assert_eq!(r.problem(409)["field"], "file");
        // The import's messages, all of them, and nothing stored.
        let bad = "serial number,secret key,time interval,manufacturer,model\n\
                   7000200,NOT-BASE32!,60,Deepnet Security,SafeID/Classic\n\
                   7000201,GEZDGNBV,60,Deepnet Security,SafeID/Classic\n\
                   7000001,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n";
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/shipments/SHP-INI-2/tokens",
            Some(&k),
            Some(Body::Raw(bad.as_bytes().to_vec())),
        )
        .await;
        let p = r.problem(422);
        let errors: Vec<String> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect();
        let expected =
            seedport::import::factory::parse(bad.as_bytes(), &Default::default()).unwrap_err();
        assert!(!expected.is_empty());
        for problem in &expected {
            assert!(
                errors.iter().any(|e| e.ends_with(&problem.to_string())),
                "{problem} missing from {errors:?}"
            );
        }
        assert!(
            errors
                .iter()
                .any(|e| e.contains("line 2: the secret key is not valid Base32")),
            "{errors:?}"
        );
        // A file that parses but holds a serial already stored: the import's database message.
        let dup = "serial number,secret key,time interval,manufacturer,model\n\
                   7000001,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n";
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/shipments/SHP-INI-2/tokens",
            Some(&k),
            Some(Body::Raw(dup.as_bytes().to_vec())),
        )
        .await;
        let p = r.problem(422);
        assert!(
            p["errors"][0]
                .as_str()
                .unwrap()
                .contains("serial 7000001 is already in the database"),
            "{p}"
        );
        let r = call(
            &app,
            Method::PUT,
            "/api/v1/shipments/SHP-NONE/tokens",
            Some(&k),
            Some(Body::Raw(csv.clone())),
        )
        .await;
        r.problem(404);
        {
            let mut conn = app.db.get().unwrap();
            let n: i64 = tokens::table
                .inner_join(shipments::table)
                .filter(shipments::shipment_number.like("SHP-INI-%"))
                .count()
                .get_result(&mut conn)
                .unwrap();
            assert_eq!(n, 5, "only the good file's tokens are stored");
            let actions: Vec<String> = audit_log::table
                .filter(audit_log::actor.eq("api:erp"))
                .select(audit_log::action)
                .load(&mut conn)
                .unwrap();
            for a in [
                "api.call",
                "customer.updated",
                "order.saved",
                "shipment.tokens_imported",
            ] {
                assert!(
                    actions.iter().any(|x| x == a),
                    "{a} audited with the key's name: {actions:?}"
                );
            }
        }
        for seed in &seeds {
            let listing = call(&app, Method::GET, "/api/v1/requests", Some(&k), None).await;
            assert!(!listing.text.contains(seed.as_str()));
        }
    }
}
