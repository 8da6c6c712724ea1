//! DualShield (Deepnet) XML token import, one file per parameter set (formats.md §3).

use super::encode::hex_upper;
use super::registry::{no_options, FormatId, SeedFormat};
use super::rules::{self, Rule};
use super::{FormatError, FormatOptions, SeedWriter, TokenShape};
use crate::domain::{HashAlg, OtpKind, Token, TokenContext};
use rand::RngCore;
use std::io::Write;

pub(crate) const FORMAT: SeedFormat = SeedFormat {
    id: FormatId::Dualshield,
    name: "DualShield (XML)",
    help: "XML token file for Deepnet DualShield; one file per token type.",
    how_to_import: "In the DualShield management console open Authenticators > Tokens > Import \
and choose each XML file in turn. The header of each file already states the product, digits, \
time window and algorithm of its tokens, so import every file of the delivery.",
    carries: "TOTP (30 or 60 second step) and HOTP tokens, SHA-1/SHA-256/SHA-512, 6 or 8 digits",
    extension: "xml",
    max_tokens_per_file: None,
    rules: check,
    group,
    options: no_options,
    open,
};

/// The file has no counter field, so a token must start where DualShield assumes: at 0.
fn counter_zero(s: &TokenShape) -> Rule {
    if s.kind == OtpKind::Hotp && s.counter != 0 {
        Err("DualShield files cannot carry an HOTP counter other than 0")
    } else {
        Ok(())
    }
}

fn check(s: &TokenShape) -> Rule {
    rules::all(
        s,
        &[
            rules::has_secret,
            rules::six_or_eight_digits,
            rules::step_30_or_60,
            counter_zero,
        ],
    )
}

fn product_code(s: &TokenShape) -> &'static str {
    match (s.kind, s.time_step) {
        (OtpKind::Hotp, _) => "SE",
        (OtpKind::Totp, 60) => "ST",
        (OtpKind::Totp, _) => "STE",
    }
}

fn crypto(h: HashAlg) -> &'static str {
    match h {
        HashAlg::Sha1 => "HmacSHA1",
        HashAlg::Sha256 => "HmacSHA256",
        HashAlg::Sha512 => "HmacSHA512",
    }
}

/// The header covers the whole file, so every distinct header gets its own file.
fn group(s: &TokenShape) -> Option<String> {
    Some(match s.kind {
        OtpKind::Totp => format!(
            "dualshield_{}_TOTP{}_{}s_{}",
            product_code(s),
            s.digits,
            s.time_step,
            s.hash.as_str()
        ),
        OtpKind::Hotp => format!(
            "dualshield_{}_HOTP{}_{}",
            product_code(s),
            s.digits,
            s.hash.as_str()
        ),
    })
}

fn open<'a>(
    _: &FormatOptions,
    _: &'a mut dyn RngCore,
) -> Result<Box<dyn SeedWriter + 'a>, FormatError> {
    Ok(Box::new(Writer { started: false }))
}

/// The header depends on the tokens, so it is written with the first one.
struct Writer {
    started: bool,
}

impl Writer {
    fn header(out: &mut dyn Write, s: Option<&TokenShape>) -> std::io::Result<()> {
        out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<data>\n")?;
        if let Some(s) = s {
            out.write_all(b"  <header>\n")?;
            write!(
                out,
                "    <manufacturerCode>DN</manufacturerCode>\n    <productCode>{}</productCode>\n",
                product_code(s)
            )?;
            out.write_all(b"    <encrypt>NONE</encrypt>\n    <encode>HEX</encode>\n")?;
            writeln!(out, "    <digits>{}</digits>", s.digits)?;
            if s.kind == OtpKind::Totp {
                writeln!(out, "    <timeWindow>{}</timeWindow>", s.time_step)?;
            }
            writeln!(out, "    <crypto>{}</crypto>", crypto(s.hash))?;
            out.write_all(b"  </header>\n")?;
        }
        out.write_all(b"  <tokens>\n")
    }
}

impl SeedWriter for Writer {
    fn begin(&mut self, _out: &mut dyn Write) -> Result<(), FormatError> {
        Ok(())
    }

    fn write_token(
        &mut self,
        out: &mut dyn Write,
        t: &Token,
        _ctx: &TokenContext,
    ) -> Result<(), FormatError> {
        if !self.started {
            Writer::header(out, Some(&TokenShape::from(t)))?;
            self.started = true;
        }
        let seed = hex_upper(t.secret.expose());
        // The serial is [A-Za-z0-9-] and the seed hex, so neither needs XML escaping.
        writeln!(
            out,
            "    <token><serial>{}</serial><seed>{}</seed></token>",
            t.serial,
            seed.as_str()
        )?;
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write) -> Result<(), FormatError> {
        if !self.started {
            Writer::header(out, None)?;
        }
        out.write_all(b"  </tokens>\n</data>\n")?;
        Ok(())
    }
}
