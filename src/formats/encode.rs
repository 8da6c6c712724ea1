//! Secret encodings and value checks shared by the formats (formats.md, "Encodings").

use base64::Engine;
use zeroize::Zeroizing;

/// RFC 4648 Base32, upper case, no `=` padding (Entra rejects padding).
pub(crate) fn base32(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(data_encoding::BASE32_NOPAD.encode(bytes))
}

/// Upper-case hex, two characters a byte.
pub(crate) fn hex_upper(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(hex::encode_upper(bytes))
}

/// RFC 4648 standard Base64 with padding (`xs:base64Binary`).
pub(crate) fn base64(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Longest manufacturer or model name a machine format accepts.
const MAX_NAME_LEN: usize = 64;

/// Whether a manufacturer or model name may go verbatim into a machine-import file: the
/// allow-list keeps out delimiters, quotes, markup and formula starts, so nothing needs escaping.
pub(crate) fn is_plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '/' | '_' | '-' | '(' | ')')
        })
        && !s.starts_with(['=', '+', '-', '@', ' '])
        && !s.ends_with(' ')
}

/// XML text/attribute escaping for the few free-text values (PSKC Issuer).
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_formats_md() {
        let seed = b"12345678901234567890";
        assert_eq!(base32(seed).as_str(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32(&[0u8; 32]).len(), 52);
        assert_eq!(
            hex_upper(seed).as_str(),
            "3132333435363738393031323334353637383930"
        );
        assert_eq!(base64(seed).as_str(), "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=");
    }

    #[test]
    fn plain_names() {
        assert!(is_plain_name("Deepnet Security"));
        assert!(is_plain_name("SafeID/Classic"));
        assert!(!is_plain_name("=HYPERLINK(1)"));
        assert!(!is_plain_name("-1"));
        assert!(!is_plain_name("a,b"));
        assert!(!is_plain_name("a\"b"));
        assert!(!is_plain_name(""));
        assert!(!is_plain_name(&"x".repeat(65)));
    }
}
