//! Demo data: one customer with two orders of SafeID tokens, loaded through the real importer.

use crate::db::DbConnection;
use crate::import::{self, ImportInput, ImportOutcome, Manifest};
use crate::vault::{random_key, Vault};

pub const DEMO_EMAIL: &str = "it-admin@acme.example";
pub const DEMO_CUSTOMER: &str = "Acme Corporation";

/// One demo shipment: number, date, model, first serial.
const SHIPMENTS: &[(&str, &str, &str, &str, u32)] = &[
    (
        "PO-2026-0042",
        "SHP-50042-1",
        "2026-11-02",
        "SafeID/Classic",
        10_001_001,
    ),
    (
        "PO-2026-0042",
        "SHP-50042-2",
        "2026-11-09",
        "SafeID/Enterprise",
        10_002_001,
    ),
    (
        "PO-2026-0077",
        "SHP-50077-1",
        "2026-11-16",
        "SafeID/Eco",
        10_003_001,
    ),
];
const ORDERS: &[(&str, &str)] = &[("PO-2026-0042", "INV-10042"), ("PO-2026-0077", "INV-10077")];
const TOKENS_PER_SHIPMENT: u32 = 25;

/// Loads the demo customer when the database has no customers; returns whether it did.
pub fn seed_if_empty(conn: &mut DbConnection, vault: &Vault, now: i64) -> anyhow::Result<bool> {
    use crate::db::schema::customers;
    use diesel::prelude::*;
    let count: i64 = customers::table.count().get_result(conn)?;
    if count > 0 {
        return Ok(false);
    }
    for (po, invoice) in ORDERS {
        let input = order_input(po, invoice)?;
        match import::run(conn, vault, &input, now, &mut |_| {}) {
            Ok(ImportOutcome::Imported { .. }) | Ok(ImportOutcome::AlreadyImported { .. }) => {}
            Err(import::ImportError::Invalid(problems)) => {
                let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                anyhow::bail!("demo data did not import: {}", list.join("; "));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

fn order_input(po: &str, invoice: &str) -> anyhow::Result<ImportInput> {
    let mut manifest = format!(
        "[customer]\nname = \"{DEMO_CUSTOMER}\"\nemails = [\"{DEMO_EMAIL}\"]\ndomain = \"acme.example\"\n\n\
         [order]\npo = \"{po}\"\ninvoice = \"{invoice}\"\n"
    );
    let mut files = Vec::new();
    for (order_po, number, date, model, first) in SHIPMENTS.iter().filter(|s| s.0 == po) {
        let _ = order_po;
        manifest.push_str(&format!(
            "\n[[shipments]]\nnumber = \"{number}\"\ndate = \"{date}\"\nfile = \"{number}.csv\"\n"
        ));
        files.push((format!("{number}.csv"), factory_csv(model, *first).into()));
    }
    Ok(ImportInput {
        manifest: Manifest::parse(&manifest)?,
        files,
    })
}

/// A Deepnet factory CSV with fresh random seeds.
fn factory_csv(model: &str, first_serial: u32) -> Vec<u8> {
    let step = if model == "SafeID/Eco" {
        "0"
    } else if model == "SafeID/Enterprise" {
        "30"
    } else {
        "60"
    };
    let mut csv = String::from("serial number,secret key,time interval,manufacturer,model\r\n");
    for i in 0..TOKENS_PER_SHIPMENT {
        let seed = random_key();
        let secret =
            data_encoding::BASE32_NOPAD.encode(seed.expose().get(..20).unwrap_or_default());
        csv.push_str(&format!(
            "{},{secret},{step},Deepnet Security,{model}\r\n",
            first_serial + i
        ));
    }
    csv.into_bytes()
}

/// What a newcomer needs to walk the flow, printed at start-up.
pub fn walkthrough(base_url: &str) -> String {
    let mut s = format!(
        "\n  seedport demo is running at {base_url}/\n\n  Find an order with any of these and the business email {DEMO_EMAIL}:\n"
    );
    for (po, invoice) in ORDERS {
        s.push_str(&format!("    PO {po}   invoice {invoice}\n"));
    }
    s.push_str("  Shipments, each with a serial that proves it:\n");
    for (po, number, _, model, first) in SHIPMENTS {
        s.push_str(&format!("    {number} ({po}, {model}): serial {first}\n"));
    }
    s
}
