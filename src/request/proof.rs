//! Step 1 of the wizard as one use case: the shipments the customer selected, each proved with
//! the serial of one of its tokens (every wrong serial counted, see `shipments::verify`), and
//! the proof saved into the draft when every selected shipment passed.

use super::draft::{self, Draft, ProvedShipment, Step};
use super::shipments::{self, Asker, SerialCheck, ShipmentView};
use crate::db::DbConnection;
use crate::domain::Serial;
use serde::Serialize;
use std::collections::BTreeMap;

/// One shipment of the order as the form shows it after a proof attempt.
#[derive(Debug, Serialize)]
pub struct ShipmentRow {
    #[serde(flatten)]
    pub shipment: ShipmentView,
    pub selected: bool,
    pub serial: String,
    pub error: Option<String>,
}

/// What the customer sent: the shipment ids ticked, and the serial typed for each shipment.
pub struct ProofInput {
    pub selected: Vec<String>,
    pub typed: BTreeMap<String, String>,
}

/// The limits and addresses a proof works with.
pub struct ProofRules<'a> {
    pub attempt_limit: u32,
    pub delivery_email: &'a str,
    pub alert_to: &'a str,
}

/// How a proof attempt ended.
#[derive(Debug)]
pub enum ProofOutcome {
    /// Every selected shipment proved; the draft now opens the protection step.
    Saved,
    /// Something to fix: each row with its message, and one for the whole form.
    Refused {
        rows: Vec<ShipmentRow>,
        error: Option<String>,
    },
}

/// Why the attempt was not even checked.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// A selected shipment outside the order (not our form).
    #[error("That shipment is not part of the order you looked up.")]
    Foreign,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// The order's shipments as the form first shows them: all unlocked ones ticked on a fresh
/// draft, else the ones already proved, with their serials.
pub fn rows(conn: &mut DbConnection, draft: &Draft) -> Result<Vec<ShipmentRow>, ProofError> {
    let fresh = draft.choices.shipments.is_empty();
    Ok(shipments::list(conn, &draft.order_id)?
        .into_iter()
        .map(|s| {
            let proved = draft.choices.shipments.iter().find(|p| p.id == s.id);
            ShipmentRow {
                selected: (fresh && !s.locked) || proved.is_some(),
                serial: proved.map(|p| p.serial.clone()).unwrap_or_default(),
                error: None,
                shipment: s,
            }
        })
        .collect())
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// One selected shipment's serial: `Err` holds the message shown next to its field and
/// whether the shipment is locked.
fn check(
    conn: &mut DbConnection,
    draft: &Draft,
    shipment: &ShipmentView,
    typed: &str,
    rules: &ProofRules<'_>,
    now: i64,
) -> Result<Result<(), (String, bool)>, diesel::result::Error> {
    let locked = format!(
        "Shipment {} is locked after too many wrong serial numbers. Write to {} with the \
         shipment number to get its seed file.",
        shipment.number, rules.delivery_email
    );
    if shipment.locked {
        return Ok(Err((locked, true)));
    }
    let serial = match Serial::parse_typed(typed) {
        Ok(s) => s,
        Err(_) if typed.is_empty() => {
            return Ok(Err((
                format!(
                    "Type the serial number of one token from shipment {}.",
                    shipment.number
                ),
                false,
            )))
        }
        Err(e) => return Ok(Err((format!("{}.", capital(&e)), false))),
    };
    let asker = Asker {
        email: &draft.requester_email,
        client_ip: &draft.client_ip,
        alert_to: rules.alert_to,
    };
    let outcome = shipments::verify(
        conn,
        &shipment.id,
        &serial,
        rules.attempt_limit,
        &asker,
        now,
    )?;
    Ok(match outcome {
        SerialCheck::Proved => Ok(()),
        SerialCheck::Locked => Err((locked, true)),
        SerialCheck::Wrong { left } => Err((
            format!(
                "This serial number is not in shipment {}. Check the label on a token from this \
                 shipment; {} left before the shipment is locked.",
                shipment.number,
                crate::plural::count(i64::from(left), "attempt", "attempts")
            ),
            false,
        )),
    })
}

/// Checks each selected shipment's serial; saves the proof when all pass.
pub fn prove(
    conn: &mut DbConnection,
    draft: &Draft,
    input: &ProofInput,
    rules: &ProofRules<'_>,
    now: i64,
) -> Result<ProofOutcome, ProofError> {
    let list = shipments::list(conn, &draft.order_id)?;
    if input
        .selected
        .iter()
        .any(|id| !list.iter().any(|s| &s.id == id))
    {
        tracing::warn!(draft = %draft.id, "shipment outside the order named");
        return Err(ProofError::Foreign);
    }
    let mut rows = Vec::new();
    let mut proved = Vec::new();
    for mut shipment in list {
        let chosen = input.selected.contains(&shipment.id);
        let typed = input.typed.get(&shipment.id).cloned().unwrap_or_default();
        let mut error = None;
        if chosen {
            match check(conn, draft, &shipment, &typed, rules, now)? {
                Ok(()) => proved.push(ProvedShipment {
                    id: shipment.id.clone(),
                    number: shipment.number.clone(),
                    serial: typed.clone(),
                }),
                Err((message, locked)) => {
                    // A lock taken just now shows on the page.
                    shipment.locked |= locked;
                    error = Some(message);
                }
            }
        }
        rows.push(ShipmentRow {
            selected: chosen,
            serial: typed,
            error,
            shipment,
        });
    }
    let failed = rows.iter().any(|r| r.error.is_some());
    if input.selected.is_empty() || failed {
        let error = input
            .selected
            .is_empty()
            .then(|| "Select at least one shipment.".to_string());
        return Ok(ProofOutcome::Refused { rows, error });
    }
    let mut choices = draft.choices.clone();
    choices.shipments = proved;
    draft::save(conn, draft, Step::Protection, &choices)?;
    Ok(ProofOutcome::Saved)
}
