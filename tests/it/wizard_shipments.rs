//! The shipments page shows each shipment's token count and models as stored with its tokens:
//! after a factory import and after a token file sent through the order API, on every backend.

use crate::api::{call, factory_csv, json, key, Body};
use crate::support::{backends, spawn_app, TestApp};
use crate::wizard_helpers::{csrf_of, location, lookup};
use reqwest::{Method, StatusCode};
use serde_json::json;

const EMAIL: &str = "ops@globex.example";

/// Looks up `invoice` as a new browser would; returns the shipments page's HTML.
async fn shipments_page(app: &TestApp, invoice: &str) -> String {
    let start = app.client.get(&app.base_url).send().await.unwrap();
    let csrf = csrf_of(&start.text().await.unwrap());
    let resp = lookup(app, &csrf, "invoice", invoice, EMAIL).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "lookup of {invoice}");
    let page = app
        .client
        .get(format!("{}{}", app.base_url, location(&resp)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    page.text().await.unwrap()
}

/// What the page says of shipment `number`: (tokens, models), as the customer reads them.
fn shown(html: &str, number: &str) -> (String, String) {
    let legend = format!("<legend>Shipment {number}</legend>");
    let card = html
        .split(&legend)
        .nth(1)
        .unwrap_or_else(|| panic!("no card for {number}"));
    let card = card.split("</fieldset>").next().unwrap();
    let value = |term: &str| {
        let after = card.split(&format!("<dt>{term}</dt><dd>")).nth(1).unwrap();
        let text = after.split("</dd>").next().unwrap();
        text.replace("&#x2F;", "/")
    };
    (value("Tokens"), value("Models"))
}

fn csv(rows: &[(u64, &str)]) -> Vec<u8> {
    let mut csv = String::from("serial number,secret key,time interval,manufacturer,model\r\n");
    for (serial, model) in rows {
        let seed: Vec<u8> = (0..20u8)
            .map(|b| (*serial as u8) ^ b.wrapping_mul(29))
            .collect();
        let b32 = data_encoding::BASE32_NOPAD.encode(&seed);
        csv.push_str(&format!("{serial},{b32},60,Deepnet Security,{model}\r\n"));
    }
    csv.into_bytes()
}

fn import(app: &TestApp) {
    let dir = app.test_db.dir.path();
    let rows: Vec<(u64, &str)> = (0..5)
        .map(|i| (8_100_000 + i, "SafeID/Eco"))
        .chain((5..12).map(|i| (8_100_000 + i, "SafeID/Classic")))
        .collect();
    std::fs::write(dir.join("glx-1.csv"), csv(&rows)).unwrap();
    std::fs::write(dir.join("glx-2.csv"), csv(&[(8_200_000, "SafeID/Eco")])).unwrap();
    let manifest = "[customer]\nname = \"Globex\"\nemails = [\"ops@globex.example\"]\n\n\
        [order]\npo = \"PO-GLX-1\"\ninvoice = \"INV-GLX-1\"\n\n\
        [[shipments]]\nnumber = \"SHP-GLX-1\"\ndate = \"2026-11-20\"\nfile = \"glx-1.csv\"\n\n\
        [[shipments]]\nnumber = \"SHP-GLX-2\"\ndate = \"2026-11-21\"\nfile = \"glx-2.csv\"\n";
    std::fs::write(dir.join("glx.toml"), manifest).unwrap();
    let input = seedport::import::ImportInput::from_path(&dir.join("glx.toml")).unwrap();
    let mut conn = app.db.get().unwrap();
    seedport::import::run(&mut conn, &app.vault, &input, app.clock.now(), &mut |_| {}).unwrap();
}

#[tokio::test]
async fn the_shipments_page_counts_tokens_and_models_after_import_and_after_an_api_upload() {
    for backend in backends() {
        let app = spawn_app(backend).await;

        import(&app);
        let html = shipments_page(&app, "INV-GLX-1").await;
        assert_eq!(
            shown(&html, "SHP-GLX-1"),
            ("12".into(), "SafeID/Classic, SafeID/Eco".into()),
            "{backend:?}"
        );
        assert_eq!(shown(&html, "SHP-GLX-2"), ("1".into(), "SafeID/Eco".into()));

        // An order made through the API has no tokens until its file comes.
        let k = key(&app, "erp");
        let order = json!({"customer": "Globex", "po": "PO-GLX-2", "invoice": "INV-GLX-2",
            "shipments": [{"number": "SHP-GLX-3", "date": "2026-12-01"}]});
        let r = call(&app, Method::PUT, "/api/v1/orders", Some(&k), json(order)).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let html = shipments_page(&app, "INV-GLX-2").await;
        assert_eq!(shown(&html, "SHP-GLX-3"), ("0".into(), String::new()));

        let (file, _) = factory_csv(8_300_000, 5);
        let path = "/api/v1/shipments/SHP-GLX-3/tokens";
        let r = call(&app, Method::PUT, path, Some(&k), Some(Body::Raw(file))).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let html = shipments_page(&app, "INV-GLX-2").await;
        assert_eq!(
            shown(&html, "SHP-GLX-3"),
            ("5".into(), "SafeID/Enterprise".into()),
            "{backend:?}"
        );

        // The proof still finds a serial typed with dashes and in another case.
        let csrf = csrf_of(&html);
        let id = crate::wizard_helpers::shipment_id(&app, "SHP-GLX-3").await;
        let base = format!("{}/request/", app.base_url);
        let draft = html
            .split("action=\"/request/")
            .nth(1)
            .and_then(|s| s.split('/').next())
            .unwrap()
            .to_string();
        let resp = app
            .client
            .post(format!("{base}{draft}/shipments"))
            .form(&[
                ("csrf".to_string(), csrf),
                ("ship".to_string(), id.clone()),
                (format!("serial-{id}"), "830-0002".to_string()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{backend:?}");
        assert!(location(&resp).ends_with("/protection"));
    }
}
