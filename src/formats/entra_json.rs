//! Microsoft Graph (beta) bulk-create body for hardware OATH devices (formats.md §2).

use super::encode::base32;
use super::registry::{no_options, one_group, FormatId, SeedFormat};
use super::rules::{self, Rule};
use super::{FormatError, FormatOptions, SeedWriter, TokenShape};
use crate::domain::{HashAlg, Token, TokenContext};
use rand::RngCore;
use serde::Serialize;
use std::io::Write;

/// Graph documents no batch limit; 100 items a request is our choice.
const MAX_ITEMS: usize = 100;

pub(crate) const FORMAT: SeedFormat = SeedFormat {
    id: FormatId::EntraJson,
    name: "Microsoft Entra ID (Graph JSON)",
    help:
        "Request bodies for Microsoft Graph's hardware OATH device bulk create, 100 tokens a file.",
    how_to_import: "Each file is the body of one Microsoft Graph request: PATCH \
https://graph.microsoft.com/beta/directory/authenticationMethodDevices/hardwareOathDevices with \
Content-Type application/json, sent by an account allowed to manage authentication methods \
(for example with Graph Explorer or Invoke-MgGraphRequest). Send every file; add assignTo or \
displayName to items first if you want them assigned on import.",
    carries: "time-based (TOTP) tokens with SHA-1 or SHA-256, 6 digits and a 30 or 60 second step",
    extension: "json",
    max_tokens_per_file: Some(MAX_ITEMS),
    rules: check,
    group: one_group,
    options: no_options,
    open,
};

fn sha1_or_sha256(s: &TokenShape) -> Rule {
    match s.hash {
        HashAlg::Sha1 | HashAlg::Sha256 => Ok(()),
        HashAlg::Sha512 => Err("Entra accepts only SHA-1 and SHA-256 tokens, not SHA-512"),
    }
}

fn check(s: &TokenShape) -> Rule {
    rules::all(
        s,
        &[
            rules::has_secret,
            rules::totp_only,
            sha1_or_sha256,
            rules::six_digits,
            rules::step_30_or_60,
            rules::base32_up_to_128,
            rules::plain_names,
        ],
    )
}

fn open<'a>(
    _: &FormatOptions,
    _: &'a mut dyn RngCore,
) -> Result<Box<dyn SeedWriter + 'a>, FormatError> {
    Ok(Box::new(Writer { items: 0 }))
}

/// Field order and names as Graph documents them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Item<'a> {
    #[serde(rename = "@contentId")]
    content_id: String,
    serial_number: &'a str,
    manufacturer: &'a str,
    model: &'a str,
    secret_key: &'a str,
    time_interval_in_seconds: u32,
    hash_function: &'static str,
}

struct Writer {
    items: usize,
}

impl SeedWriter for Writer {
    fn begin(&mut self, out: &mut dyn Write) -> Result<(), FormatError> {
        out.write_all(b"{\"@context\":\"#$delta\",\"value\":[")?;
        Ok(())
    }

    fn write_token(
        &mut self,
        out: &mut dyn Write,
        t: &Token,
        _ctx: &TokenContext,
    ) -> Result<(), FormatError> {
        // One item a line keeps the file diffable and readable without holding it whole.
        out.write_all(if self.items == 0 { b"\n" } else { b",\n" })?;
        self.items += 1;
        let secret = base32(t.secret.expose());
        let item = Item {
            content_id: self.items.to_string(),
            serial_number: t.serial.as_str(),
            manufacturer: &t.manufacturer,
            model: &t.model,
            secret_key: &secret,
            time_interval_in_seconds: t.time_step,
            hash_function: match t.hash {
                HashAlg::Sha256 => "hmacsha256",
                _ => "hmacsha1",
            },
        };
        serde_json::to_writer(&mut *out, &item).map_err(std::io::Error::from)?;
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write) -> Result<(), FormatError> {
        out.write_all(b"\n]}\n")?;
        Ok(())
    }
}
