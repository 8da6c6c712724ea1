//! TOTP (RFC 6238: HMAC-SHA-1, 30-second steps, 6 digits) for staff sign-in, and the
//! enrolment URI and terminal QR code shown once by the CLI.

use crate::vault::SecretBytes;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

/// Seconds per step.
pub const STEP: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps accepted either side of now, for clock drift.
pub const WINDOW: i64 = 1;

/// A fresh 160-bit TOTP secret.
pub fn generate_secret() -> SecretBytes {
    let mut bytes = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretBytes::new(bytes)
}

/// The time step that contains `unix_seconds`.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP)
}

/// The code for one step (RFC 4226 dynamic truncation).
// The digest is a fixed 20 bytes and the offset at most 15, so offset + 3 < 20.
#[allow(clippy::indexing_slicing)]
pub fn code_for_step(secret: &[u8], step: i64) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        // HMAC takes keys of any length; this branch cannot run.
        return u32::MAX;
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = (u32::from(digest[offset]) & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    binary % 10u32.pow(DIGITS)
}

/// The code as typed: six digits, zero-padded.
pub fn code_at(secret: &[u8], unix_seconds: i64) -> String {
    format!("{:06}", code_for_step(secret, step_at(unix_seconds)))
}

/// A code as the user typed it: exactly six digits once spaces are removed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TotpCode(u32);

impl TotpCode {
    pub fn parse(raw: &str) -> Option<TotpCode> {
        let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != DIGITS as usize || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(TotpCode)
    }
}

impl std::fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpCode([redacted])")
    }
}

/// The step whose code matches, within ±[`WINDOW`] of now. Every candidate is computed so the
/// time does not depend on which one matched.
pub fn matching_step(secret: &[u8], code: TotpCode, unix_seconds: i64) -> Option<i64> {
    use subtle::ConstantTimeEq;
    let now = step_at(unix_seconds);
    let mut found = None;
    for step in (now - WINDOW)..=(now + WINDOW) {
        let ok: bool = code_for_step(secret, step)
            .to_be_bytes()
            .ct_eq(&code.0.to_be_bytes())
            .into();
        if ok && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// Base32 (no padding), as authenticator apps expect the secret.
pub fn secret_base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// `otpauth://totp/ISSUER:EMAIL?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
pub fn enrolment_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer_enc = percent(issuer);
    format!(
        "otpauth://totp/{issuer_enc}:{}?secret={}&issuer={issuer_enc}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        percent(account),
        secret_base32(secret)
    )
}

/// The URI as a QR code drawn with Unicode half blocks, for a terminal.
pub fn qr_for_terminal(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .build(),
    )
}

fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        let secret = b"12345678901234567890";
        // RFC 6238 appendix B, truncated to six digits.
        for (t, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(code_at(secret, t), code, "t={t}");
        }
    }

    #[test]
    fn window_and_parsing() {
        let secret = b"12345678901234567890";
        let now = 1_795_000_000;
        let prev = TotpCode::parse(&code_at(secret, now - 30)).unwrap();
        assert_eq!(matching_step(secret, prev, now), Some(step_at(now) - 1));
        let old = TotpCode::parse(&code_at(secret, now - 90)).unwrap();
        assert_eq!(matching_step(secret, old, now), None);
        assert!(TotpCode::parse("12 34 56").is_some());
        assert!(TotpCode::parse("12345").is_none());
        assert!(TotpCode::parse("abcdef").is_none());
        let uri = enrolment_uri("Deepnet Security", "a@b.example", secret);
        assert!(uri.starts_with("otpauth://totp/Deepnet%20Security:a@b.example?secret=GEZDGNBV"));
        assert!(qr_for_terminal(&uri).is_some());
    }
}
