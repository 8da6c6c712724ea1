//! Email messages built from the tera templates under `templates/email/` (a `.txt` and an
//! `.html` part each), ready for the outbox: every email seedport sends is composed here.

use super::OutgoingEmail;
use crate::clock::format_utc;
use crate::config::Config;
use crate::delivery::format_words;
use crate::delivery::{PackageRow, RequestRow};
use crate::guides;
use crate::request::ProtectionKind;
use serde::Serialize;

/// The links and dates of one released package, for its "download ready" email.
pub struct ReleasedLinks<'a> {
    pub download_token: &'a str,
    pub confirm_token: &'a str,
    pub expires_at: i64,
    pub max_downloads: i32,
    pub downloads_left: i32,
}

#[derive(Serialize)]
struct Common<'a> {
    vendor_name: &'a str,
    delivery_email: &'a str,
    reference: &'a str,
    base_url: &'a str,
}

#[derive(Serialize)]
struct PackageContext<'a> {
    file_name: &'a str,
    size: String,
    sha256: &'a str,
    token_count: i64,
    shipment_numbers: &'a str,
    /// "shipment" or "shipments", for the numbers that follow.
    shipments_word: &'static str,
}

fn base_url(config: &Config) -> &str {
    config.public_base_url.trim_end_matches('/')
}

fn context(config: &Config, request: &RequestRow) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert(
        "site",
        &Common {
            vendor_name: &config.vendor_name,
            delivery_email: &config.delivery_email,
            reference: &request.reference,
            base_url: base_url(config),
        },
    );
    let words = format_words::describe(&request.format_id, &request.format_summary);
    ctx.insert("format_name", &words.name);
    ctx.insert("format_options", &words.options);
    ctx.insert("how_to_import", &words.how_to_import);
    let protection = ProtectionKind::parse(&request.protection);
    ctx.insert("protection", &protection.map(ProtectionKind::as_str));
    ctx.insert(
        "protection_label",
        &protection
            .map(ProtectionKind::label)
            .unwrap_or("not chosen"),
    );
    // The customer guides this email links to, as full addresses.
    let entra = crate::formats::find(&request.format_id).is_ok_and(|f| f.id.is_entra());
    let pgp = protection.is_some_and(ProtectionKind::has_pgp);
    ctx.insert("entra", &entra);
    ctx.insert(
        "pgp_guide_url",
        &pgp.then(|| format!("{}{}", base_url(config), guides::PGP_KEY)),
    );
    ctx.insert(
        "entra_guide_url",
        &entra.then(|| format!("{}{}", base_url(config), guides::ENTRA)),
    );
    ctx.insert(
        "request_url",
        &format!("{}/staff/requests/{}", base_url(config), request.id),
    );
    ctx
}

/// The subject's tail naming a package's shipment(s) when files are per shipment.
fn shipments_part(request: &RequestRow, package: &PackageRow) -> String {
    if request.bundling == "per_shipment" {
        let n = package.shipment_numbers.split(", ").count();
        let word = if n == 1 { "shipment" } else { "shipments" };
        format!(" for {word} {}", package.shipment_numbers)
    } else {
        String::new()
    }
}

fn insert_package(ctx: &mut tera::Context, package: &PackageRow) {
    ctx.insert(
        "package",
        &PackageContext {
            file_name: &package.file_name,
            size: human_size(package.size),
            sha256: &package.sha256,
            token_count: package.token_count,
            shipment_numbers: &package.shipment_numbers,
            shipments_word: if package.shipment_numbers.split(", ").count() == 1 {
                "shipment"
            } else {
                "shipments"
            },
        },
    );
}

fn build(
    tera: &tera::Tera,
    template: &str,
    ctx: &tera::Context,
    to: &str,
    subject: String,
    request: &RequestRow,
    carries_links: bool,
) -> Result<OutgoingEmail, tera::Error> {
    Ok(OutgoingEmail {
        kind: template.to_string(),
        to: to.to_string(),
        subject,
        text: tera.render(&format!("email/{template}.txt"), ctx)?,
        html: tera.render(&format!("email/{template}.html"), ctx)?,
        carries_links,
        request_id: Some(request.id.to_string()),
    })
}

/// "Your seed file is ready": one per package, with both one-time links.
pub fn download_ready(
    tera: &tera::Tera,
    config: &Config,
    request: &RequestRow,
    package: &PackageRow,
    links: &ReleasedLinks<'_>,
) -> Result<OutgoingEmail, tera::Error> {
    let mut ctx = context(config, request);
    insert_package(&mut ctx, package);
    let base = base_url(config);
    ctx.insert(
        "download_url",
        &format!("{base}/d/{}", links.download_token),
    );
    ctx.insert("confirm_url", &format!("{base}/c/{}", links.confirm_token));
    ctx.insert("expires", &format_utc(links.expires_at));
    ctx.insert("max_downloads", &links.max_downloads);
    ctx.insert("downloads_left", &links.downloads_left);
    ctx.insert("password", &(request.password_hash.is_some()));
    let subject = format!(
        "Your token seed file{} is ready to download ({})",
        shipments_part(request, package),
        request.reference
    );
    build(
        tera,
        "download_ready",
        &ctx,
        &request.requester_email,
        subject,
        request,
        true,
    )
}

/// "Your request was not approved", with the delivery team's reason.
pub fn rejected(
    tera: &tera::Tera,
    config: &Config,
    request: &RequestRow,
    reason: &str,
) -> Result<OutgoingEmail, tera::Error> {
    let mut ctx = context(config, request);
    ctx.insert("reason", reason);
    let subject = format!(
        "Your token seed request was not approved ({})",
        request.reference
    );
    build(
        tera,
        "rejected",
        &ctx,
        &request.requester_email,
        subject,
        request,
        false,
    )
}

/// "You confirmed receipt; the file is deleted."
pub fn confirmed(
    tera: &tera::Tera,
    config: &Config,
    request: &RequestRow,
    package: &PackageRow,
    at: i64,
) -> Result<OutgoingEmail, tera::Error> {
    let mut ctx = context(config, request);
    insert_package(&mut ctx, package);
    ctx.insert("at", &format_utc(at));
    let subject = format!(
        "Receipt confirmed, your seed file{} has been deleted ({})",
        shipments_part(request, package),
        request.reference
    );
    build(
        tera,
        "confirmed",
        &ctx,
        &request.requester_email,
        subject,
        request,
        false,
    )
}

/// "Too many wrong passwords": one to the customer and one to the delivery team.
pub fn locked(
    tera: &tera::Tera,
    config: &Config,
    request: &RequestRow,
    package: &PackageRow,
    at: i64,
) -> Result<[OutgoingEmail; 2], tera::Error> {
    let mut ctx = context(config, request);
    insert_package(&mut ctx, package);
    ctx.insert("at", &format_utc(at));
    ctx.insert("attempts", &package.wrong_passwords);
    ctx.insert("requester_email", &request.requester_email);
    let customer = build(
        tera,
        "locked",
        &ctx,
        &request.requester_email,
        format!("Your seed file download is locked ({})", request.reference),
        request,
        false,
    )?;
    let alert = build(
        tera,
        "locked_alert",
        &ctx,
        &config.alert_email,
        format!(
            "ALERT: download locked after wrong passwords ({})",
            request.reference
        ),
        request,
        false,
    )?;
    Ok([customer, alert])
}

/// "A request is waiting for review", to the delivery team, linking to it.
pub fn review_waiting(
    tera: &tera::Tera,
    config: &Config,
    request: &RequestRow,
    customer: &str,
) -> Result<OutgoingEmail, tera::Error> {
    let mut ctx = context(config, request);
    ctx.insert("customer", customer);
    ctx.insert("requester_email", &request.requester_email);
    ctx.insert("created", &format_utc(request.created_at));
    build(
        tera,
        "review_waiting_alert",
        &ctx,
        &config.alert_email,
        format!(
            "Review needed: seed file request {} from {customer}",
            request.reference
        ),
        request,
        false,
    )
}

/// What the delivery team is told about an email given up after the retry cap.
pub struct FailedMail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub attempts: i32,
    pub last_error: &'a str,
}

/// "An email could not be delivered", to the delivery team, linking to the request.
pub fn email_failed(
    tera: &tera::Tera,
    config: &Config,
    request: &RequestRow,
    failed: &FailedMail<'_>,
) -> Result<OutgoingEmail, tera::Error> {
    let mut ctx = context(config, request);
    ctx.insert("to", failed.to);
    ctx.insert("subject", failed.subject);
    ctx.insert("attempts", &failed.attempts);
    ctx.insert("last_error", failed.last_error);
    build(
        tera,
        "email_failed_alert",
        &ctx,
        &config.alert_email,
        format!(
            "ALERT: an email could not be delivered ({})",
            request.reference
        ),
        request,
        false,
    )
}

/// "A dead link was opened again", to the delivery team (at most hourly per package).
pub fn link_reused(
    tera: &tera::Tera,
    config: &Config,
    request: &RequestRow,
    package: &PackageRow,
    what: &str,
    at: i64,
) -> Result<OutgoingEmail, tera::Error> {
    let mut ctx = context(config, request);
    insert_package(&mut ctx, package);
    ctx.insert("what", what);
    ctx.insert("at", &format_utc(at));
    build(
        tera,
        "link_reused_alert",
        &ctx,
        &config.alert_email,
        format!(
            "ALERT: a seed file link was used again after it {what} ({})",
            request.reference
        ),
        request,
        false,
    )
}

/// "We received your request": the customer's summary of what they asked for.
pub fn request_received(
    tera: &tera::Tera,
    config: &Config,
    draft: &crate::request::Draft,
    reference: &str,
    po: &str,
    invoice: &str,
) -> Result<OutgoingEmail, tera::Error> {
    let c = &draft.choices;
    let mut ctx = tera::Context::new();
    ctx.insert("reference", reference);
    ctx.insert("po", po);
    ctx.insert("invoice", invoice);
    ctx.insert("shipments", &c.shipments);
    ctx.insert("bundling", c.bundling.map(|b| b.as_str()).unwrap_or("one"));
    ctx.insert("protection", c.protection.map(|p| p.as_str()).unwrap_or(""));
    ctx.insert(
        "protection_label",
        c.protection.map(|p| p.label()).unwrap_or("not chosen"),
    );
    ctx.insert("pgp", &c.pgp);
    ctx.insert("format_name", &c.format.map(|f| f.format().name));
    ctx.insert(
        "brand",
        &serde_json::json!({
            "vendor_name": config.vendor_name,
            "delivery_email": config.delivery_email,
        }),
    );
    Ok(OutgoingEmail {
        kind: "request_received".into(),
        to: draft.requester_email.clone(),
        subject: format!("We received your seed file request {reference}"),
        text: tera.render("email/request_received.txt", &ctx)?,
        html: tera.render("email/request_received.html", &ctx)?,
        carries_links: false,
        request_id: None,
    })
}

/// What the delivery team is told when a shipment is locked after wrong serial numbers.
pub struct ShipmentLocked<'a> {
    pub to: &'a str,
    pub number: &'a str,
    pub po: &'a str,
    pub attempts: i32,
    pub email: &'a str,
    pub client_ip: &'a str,
}

/// "Shipment locked for self-service", to the delivery team.
pub fn shipment_locked(l: &ShipmentLocked<'_>) -> OutgoingEmail {
    let (number, po, attempts) = (l.number, l.po, l.attempts);
    let text = format!(
        "Shipment {number} (purchase order {po}) has been locked for self-service after {attempts} \
         wrong serial numbers.\n\nLast attempt by: {}\nClient IP: {}\n\nIf the customer contacts you, \
         check who they are, then unlock the shipment or deliver the seed file yourself.\n",
        l.email, l.client_ip
    );
    let html = format!(
        "<p>Shipment <strong>{}</strong> (purchase order {}) has been locked for self-service \
         after {attempts} wrong serial numbers.</p><p>Last attempt by: {}<br>Client IP: {}</p>\
         <p>If the customer contacts you, check who they are, then unlock the shipment or \
         deliver the seed file yourself.</p>",
        escape(number),
        escape(po),
        escape(l.email),
        escape(l.client_ip),
    );
    OutgoingEmail {
        kind: "shipment_locked".into(),
        to: l.to.to_string(),
        subject: format!("Shipment {number} locked after {attempts} wrong serials"),
        text,
        html,
        carries_links: false,
        request_id: None,
    }
}

/// HTML-escapes text placed in a hand-built HTML part.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `1.2 MB (1,234,567 bytes)`-style sizes for people.
pub fn human_size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    let short = if b >= 1024.0 * 1024.0 {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.1} KB", b / 1024.0)
    } else {
        return format!("{bytes} bytes");
    };
    format!("{short} ({bytes} bytes)")
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(10), "10 bytes");
        assert_eq!(human_size(2048), "2.0 KB (2048 bytes)");
    }
}
