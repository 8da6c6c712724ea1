//! PSKC (RFC 6030) key containers: plain, pre-shared key, and passphrase-based (formats.md §6).

mod crypto;

use super::encode::{base64, xml_escape};
use super::registry::{one_group, FormatId, SeedFormat};
use super::rules::{self, Rule};
use super::{FormatError, FormatOptions, SeedWriter, TokenShape};
use crate::domain::{HashAlg, OtpKind, Token, TokenContext};
use crate::vault::SecretString;
use base64::Engine as _;
use crypto::AesKey;
use rand::RngCore;
use std::io::Write;
use zeroize::Zeroizing;

const NS_PSKC: &str = "urn:ietf:params:xml:ns:keyprov:pskc";
const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const NS_XENC11: &str = "http://www.w3.org/2009/xmlenc11#";
const NS_PKCS5: &str = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#";
const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
const HMAC_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#hmac-sha1";
const PBKDF2: &str = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2";
/// The `ds:KeyName` the customer sees for the key they already hold.
const PSK_NAME: &str = "Pre-shared-key";
/// Fewer iterations than RFC 6030's own example would make the passphrase cheap to guess.
const MIN_ITERATIONS: u32 = 1000;
const MAX_ISSUER_LEN: usize = 64;

const HOW_TO: &str = "Import the PSKC (RFC 6030) XML file into your authentication server \
(for example privacyIDEA: Tokens > Import Tokens > PSKC; LinOTP, FreeIPA and most OATH servers \
read it too).";

pub(crate) const PLAIN: SeedFormat = SeedFormat {
    id: FormatId::PskcPlain,
    name: "PSKC (RFC 6030), plain",
    help:
        "Standard PSKC key container with unencrypted seeds; protect it with the zip or PGP option.",
    how_to_import: HOW_TO,
    carries: "all tokens: TOTP and HOTP, SHA-1/SHA-256/SHA-512, 6 or 8 digits",
    extension: "xml",
    max_tokens_per_file: None,
    rules: check,
    group: one_group,
    options: issuer_ok,
    open: open_plain,
};

pub(crate) const PSK: SeedFormat = SeedFormat {
    id: FormatId::PskcPsk,
    name: "PSKC (RFC 6030), pre-shared key",
    help: "PSKC with each seed AES-128-CBC encrypted under a 16-byte key you already hold, and HMAC-SHA1 protected.",
    how_to_import: "Import the PSKC (RFC 6030) XML file into your authentication server \
(for example privacyIDEA: Tokens > Import Tokens > PSKC) and give it the 16-byte pre-shared \
AES key (32 hex characters) that you agreed with us; the seeds and their MACs are checked with it.",
    carries: "all tokens: TOTP and HOTP, SHA-1/SHA-256/SHA-512, 6 or 8 digits",
    extension: "xml",
    max_tokens_per_file: None,
    rules: check,
    group: one_group,
    options: psk_ok,
    open: open_psk,
};

pub(crate) const PASSPHRASE: SeedFormat = SeedFormat {
    id: FormatId::PskcPassphrase,
    name: "PSKC (RFC 6030), passphrase",
    help: "PSKC with seeds encrypted under a key derived from your passphrase (PBKDF2).",
    how_to_import: "Import the PSKC (RFC 6030) XML file into your authentication server \
(for example privacyIDEA: Tokens > Import Tokens > PSKC) and enter the passphrase you chose \
when you requested the file; the key is derived from it with PBKDF2 (the file states the salt and \
iteration count). We do not keep the passphrase.",
    carries: "all tokens: TOTP and HOTP, SHA-1/SHA-256/SHA-512, 6 or 8 digits",
    extension: "xml",
    max_tokens_per_file: None,
    rules: check,
    group: one_group,
    options: passphrase_ok,
    open: open_passphrase,
};

fn check(s: &TokenShape) -> Rule {
    rules::all(s, &[rules::has_secret, rules::six_or_eight_digits])
}

fn issuer_ok(o: &FormatOptions) -> Result<(), String> {
    match &o.pskc_issuer {
        Some(i) if i.trim().is_empty() || i.chars().count() > MAX_ISSUER_LEN => Err(format!(
            "the issuer name must be 1 to {MAX_ISSUER_LEN} characters"
        )),
        Some(i) if i.chars().any(char::is_control) => {
            Err("the issuer name may not contain line breaks or control characters".into())
        }
        _ => Ok(()),
    }
}

fn psk_ok(o: &FormatOptions) -> Result<(), String> {
    match &o.pskc_key {
        None => Err("the 16-byte pre-shared AES key is missing".into()),
        Some(k) if k.len() != 16 => Err(format!(
            "the pre-shared AES key must be 16 bytes (32 hex characters), not {} bytes",
            k.len()
        )),
        Some(_) => issuer_ok(o),
    }
}

fn passphrase_ok(o: &FormatOptions) -> Result<(), String> {
    match &o.pskc_passphrase {
        None => Err("the passphrase is missing".into()),
        Some(p) if p.expose().is_empty() => Err("the passphrase is empty".into()),
        Some(_) if o.pbkdf2_iterations < MIN_ITERATIONS => Err(format!(
            "the PBKDF2 iteration count must be at least {MIN_ITERATIONS}"
        )),
        Some(_) => issuer_ok(o),
    }
}

/// How the file protects its seeds.
enum Mode {
    Plain,
    Psk(AesKey),
    Passphrase {
        passphrase: SecretString,
        iterations: u32,
    },
}

struct Writer<'a> {
    mode: Mode,
    issuer: Option<String>,
    rng: &'a mut dyn RngCore,
    /// Set in `begin` for the encrypted variants: the AES key and this file's MAC key.
    keys: Option<crypto::FileCipher>,
    /// `IV || ciphertext` of the last value encrypted, reused across tokens.
    cv: Vec<u8>,
    /// One `KeyPackage` is built here, then written in one call; reused across tokens and
    /// zeroized when the writer is dropped (a plain file's seeds pass through it).
    buf: Zeroizing<Vec<u8>>,
    manufacturer: Escaped,
    model: Escaped,
}

/// The XML-escaped form of the last value seen: tokens of a file mostly share their
/// manufacturer and model, so each is escaped once, not once per token.
#[derive(Default)]
struct Escaped {
    raw: String,
    escaped: String,
}

impl Escaped {
    fn get(&mut self, raw: &str) -> &str {
        if self.raw != raw || self.escaped.is_empty() {
            self.raw.clear();
            self.raw.push_str(raw);
            self.escaped = xml_escape(raw);
        }
        &self.escaped
    }
}

fn writer<'a>(mode: Mode, o: &FormatOptions, rng: &'a mut dyn RngCore) -> Box<dyn SeedWriter + 'a> {
    Box::new(Writer {
        mode,
        issuer: o.pskc_issuer.as_ref().map(|i| xml_escape(i.trim())),
        rng,
        keys: None,
        cv: Vec::with_capacity(96),
        buf: Zeroizing::new(Vec::with_capacity(2048)),
        manufacturer: Escaped::default(),
        model: Escaped::default(),
    })
}

fn open_plain<'a>(
    o: &FormatOptions,
    rng: &'a mut dyn RngCore,
) -> Result<Box<dyn SeedWriter + 'a>, FormatError> {
    Ok(writer(Mode::Plain, o, rng))
}

fn open_psk<'a>(
    o: &FormatOptions,
    rng: &'a mut dyn RngCore,
) -> Result<Box<dyn SeedWriter + 'a>, FormatError> {
    let key: Option<[u8; 16]> = o.pskc_key.as_ref().and_then(|k| k.expose().try_into().ok());
    match key {
        Some(k) => Ok(writer(Mode::Psk(Zeroizing::new(k)), o, rng)),
        None => Err(FormatError::Options {
            format: PSK.name,
            message: "the pre-shared AES key must be 16 bytes".into(),
        }),
    }
}

fn open_passphrase<'a>(
    o: &FormatOptions,
    rng: &'a mut dyn RngCore,
) -> Result<Box<dyn SeedWriter + 'a>, FormatError> {
    match &o.pskc_passphrase {
        Some(p) => Ok(writer(
            Mode::Passphrase {
                passphrase: p.clone(),
                iterations: o.pbkdf2_iterations,
            },
            o,
            rng,
        )),
        None => Err(FormatError::Options {
            format: PASSPHRASE.name,
            message: "the passphrase is missing".into(),
        }),
    }
}

/// Appends the standard Base64 (`xs:base64Binary`) of `bytes` to `out`, with no string of its
/// own: for a seed, the only copy is in `out`, which the writer wipes.
fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + bytes.len().div_ceil(3) * 4, 0);
    if let Some(room) = out.get_mut(start..) {
        // `room` is exactly the padded encoded length, so encoding cannot run out of it.
        let _ = base64::engine::general_purpose::STANDARD.encode_slice(bytes, room);
    }
}

fn push_int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// `<xenc:EncryptionMethod>` + `<xenc:CipherData>` for `plain` under a fresh IV, indented by
/// `indent`, appended to `out`; leaves `IV || ciphertext`, which the caller MACs, in `cv`.
fn encrypted(
    out: &mut Vec<u8>,
    rng: &mut dyn RngCore,
    indent: &[u8],
    cipher: &crypto::FileCipher,
    plain: &[u8],
    cv: &mut Vec<u8>,
) {
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    cipher.encrypt_into(&iv, plain, cv);
    for piece in [
        indent,
        b"<xenc:EncryptionMethod Algorithm=\"",
        AES128_CBC.as_bytes(),
        b"\"/>\n",
        indent,
        b"<xenc:CipherData>\n",
        indent,
        b"  <xenc:CipherValue>",
    ] {
        out.extend_from_slice(piece);
    }
    push_base64(out, cv);
    for piece in [
        &b"</xenc:CipherValue>\n"[..],
        indent,
        b"</xenc:CipherData>\n",
    ] {
        out.extend_from_slice(piece);
    }
}

/// `<pskc:{name}><pskc:PlainValue>{v}</pskc:PlainValue></pskc:{name}>` on three lines.
fn int_value(out: &mut Vec<u8>, name: &str, v: u64) {
    for piece in [
        b"        <pskc:",
        name.as_bytes(),
        b">\n          <pskc:PlainValue>",
    ] {
        out.extend_from_slice(piece);
    }
    push_int(out, v);
    for piece in [
        b"</pskc:PlainValue>\n        </pskc:",
        name.as_bytes(),
        b">\n",
    ] {
        out.extend_from_slice(piece);
    }
}

impl Writer<'_> {
    /// One `<pskc:KeyPackage>` for `t`, appended to `out` piece by piece (no `write!`: the
    /// formatting machinery was a tenth of a PSKC package's time).
    fn key_package(&mut self, out: &mut Vec<u8>, t: &Token) {
        let algorithm: &[u8] = match t.kind {
            OtpKind::Totp => b"totp",
            OtpKind::Hotp => b"hotp",
        };
        let serial = t.serial.as_str().as_bytes();
        let manufacturer = self.manufacturer.get(&t.manufacturer).as_bytes();
        let model = self.model.get(&t.model).as_bytes();
        let issuer = match &self.issuer {
            Some(i) => i.as_bytes(),
            None => manufacturer,
        };
        for piece in [
            &b"  <pskc:KeyPackage>\n    <pskc:DeviceInfo>\n      <pskc:Manufacturer>"[..],
            manufacturer,
            b"</pskc:Manufacturer>\n      <pskc:SerialNo>",
            serial,
            b"</pskc:SerialNo>\n      <pskc:Model>",
            model,
            b"</pskc:Model>\n    </pskc:DeviceInfo>\n    <pskc:Key Id=\"",
            serial,
            b"\" Algorithm=\"urn:ietf:params:xml:ns:keyprov:pskc:",
            algorithm,
            b"\">\n      <pskc:Issuer>",
            issuer,
            b"</pskc:Issuer>\n      <pskc:AlgorithmParameters>\n",
        ] {
            out.extend_from_slice(piece);
        }
        // Only the bare names: privacyIDEA reads "HMAC-SHA256" as unknown and falls back to SHA-1.
        match t.hash {
            HashAlg::Sha1 => {}
            other => {
                for piece in [
                    b"        <pskc:Suite>",
                    other.as_str().as_bytes(),
                    b"</pskc:Suite>\n",
                ] {
                    out.extend_from_slice(piece);
                }
            }
        }
        out.extend_from_slice(b"        <pskc:ResponseFormat Length=\"");
        push_int(out, t.digits);
        out.extend_from_slice(
            b"\" Encoding=\"DECIMAL\"/>\n      </pskc:AlgorithmParameters>\n      <pskc:Data>\n        <pskc:Secret>\n",
        );
        match &self.keys {
            None => {
                out.extend_from_slice(b"          <pskc:PlainValue>");
                push_base64(out, t.secret.expose());
                out.extend_from_slice(b"</pskc:PlainValue>\n");
            }
            Some(cipher) => {
                out.extend_from_slice(b"          <pskc:EncryptedValue>\n");
                let cv = &mut self.cv;
                encrypted(
                    out,
                    &mut *self.rng,
                    b"            ",
                    cipher,
                    t.secret.expose(),
                    cv,
                );
                out.extend_from_slice(
                    b"          </pskc:EncryptedValue>\n          <pskc:ValueMAC>",
                );
                // Over IV || ciphertext, as RFC 6030 §6.1.1 and every importer expect.
                push_base64(out, &cipher.mac(cv));
                out.extend_from_slice(b"</pskc:ValueMAC>\n");
            }
        }
        out.extend_from_slice(b"        </pskc:Secret>\n");
        match t.kind {
            OtpKind::Totp => {
                int_value(out, "Time", 0);
                int_value(out, "TimeInterval", u64::from(t.time_step));
            }
            OtpKind::Hotp => int_value(out, "Counter", t.counter),
        }
        out.extend_from_slice(b"      </pskc:Data>\n    </pskc:Key>\n  </pskc:KeyPackage>\n");
    }
}

impl SeedWriter for Writer<'_> {
    fn begin(&mut self, out: &mut dyn Write) -> Result<(), FormatError> {
        out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
        write!(out, "<pskc:KeyContainer xmlns:pskc=\"{NS_PSKC}\"")?;
        match &self.mode {
            Mode::Plain => {}
            Mode::Psk(_) => write!(out, " xmlns:ds=\"{NS_DS}\" xmlns:xenc=\"{NS_XENC}\"")?,
            Mode::Passphrase { .. } => write!(
                out,
                " xmlns:xenc=\"{NS_XENC}\" xmlns:xenc11=\"{NS_XENC11}\" xmlns:pkcs5=\"{NS_PKCS5}\""
            )?,
        }
        out.write_all(b" Version=\"1.0\">\n")?;

        let key = match &self.mode {
            Mode::Plain => return Ok(()),
            Mode::Psk(k) => {
                writeln!(out, "  <pskc:EncryptionKey>")?;
                writeln!(out, "    <ds:KeyName>{PSK_NAME}</ds:KeyName>")?;
                writeln!(out, "  </pskc:EncryptionKey>")?;
                k.clone()
            }
            Mode::Passphrase {
                passphrase,
                iterations,
            } => {
                let mut salt = [0u8; 16];
                self.rng.fill_bytes(&mut salt);
                let key = crypto::derive_key(passphrase.expose().as_bytes(), &salt, *iterations);
                writeln!(out, "  <pskc:EncryptionKey>")?;
                writeln!(out, "    <xenc11:DerivedKey>")?;
                writeln!(
                    out,
                    "      <xenc11:KeyDerivationMethod Algorithm=\"{PBKDF2}\">"
                )?;
                writeln!(out, "        <pkcs5:PBKDF2-params>")?;
                writeln!(out, "          <Salt>")?;
                writeln!(
                    out,
                    "            <Specified>{}</Specified>",
                    base64(&salt).as_str()
                )?;
                writeln!(out, "          </Salt>")?;
                writeln!(
                    out,
                    "          <IterationCount>{iterations}</IterationCount>"
                )?;
                writeln!(out, "          <KeyLength>16</KeyLength>")?;
                writeln!(out, "        </pkcs5:PBKDF2-params>")?;
                writeln!(out, "      </xenc11:KeyDerivationMethod>")?;
                writeln!(out, "    </xenc11:DerivedKey>")?;
                writeln!(out, "  </pskc:EncryptionKey>")?;
                key
            }
        };
        // The MAC key is fresh per file and travels encrypted under the same AES key.
        let mut mac_key = Zeroizing::new([0u8; 20]);
        self.rng.fill_bytes(&mut *mac_key);
        writeln!(out, "  <pskc:MACMethod Algorithm=\"{HMAC_SHA1}\">")?;
        writeln!(out, "    <pskc:MACKey>")?;
        let cipher = crypto::FileCipher::new(&key, &mac_key);
        let mut text = Vec::new();
        encrypted(
            &mut text,
            &mut *self.rng,
            b"      ",
            &cipher,
            &mac_key[..],
            &mut self.cv,
        );
        out.write_all(&text)?;
        writeln!(out, "    </pskc:MACKey>")?;
        writeln!(out, "  </pskc:MACMethod>")?;
        self.keys = Some(cipher);
        Ok(())
    }

    fn write_token(
        &mut self,
        out: &mut dyn Write,
        t: &Token,
        _ctx: &TokenContext,
    ) -> Result<(), FormatError> {
        let mut buf = std::mem::take(&mut *self.buf);
        buf.clear();
        self.key_package(&mut buf, t);
        let written = out.write_all(&buf);
        *self.buf = buf;
        Ok(written?)
    }

    fn finish(&mut self, out: &mut dyn Write) -> Result<(), FormatError> {
        out.write_all(b"</pskc:KeyContainer>\n")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Serial;
    use crate::formats::FormatId;
    use crate::vault::SecretBytes;
    use rand::SeedableRng;
    use sha2::{Digest, Sha256};

    fn token(serial: &str, kind: OtpKind, hash: HashAlg, digits: u8, manufacturer: &str) -> Token {
        Token {
            serial: Serial::parse(serial).unwrap(),
            secret: SecretBytes::new((0..20u8).map(|b| b.wrapping_mul(37)).collect()),
            kind,
            hash,
            digits,
            time_step: if kind == OtpKind::Totp { 30 } else { 0 },
            counter: if kind == OtpKind::Hotp {
                1234567890123
            } else {
                0
            },
            manufacturer: manufacturer.into(),
            model: "SafeID/Classic".into(),
        }
    }

    /// Writes a few varied tokens with a seeded RNG, the same way the pipeline does.
    fn render(id: FormatId, issuer: Option<&str>) -> String {
        let tokens = [
            token(
                "10001001",
                OtpKind::Totp,
                HashAlg::Sha1,
                6,
                "Deepnet Security",
            ),
            token(
                "10001002",
                OtpKind::Hotp,
                HashAlg::Sha256,
                8,
                "Deepnet Security",
            ),
            token("10001003", OtpKind::Totp, HashAlg::Sha512, 8, "A & B <C>"),
            token("10001004", OtpKind::Totp, HashAlg::Sha1, 6, "A & B <C>"),
        ];
        let options = FormatOptions {
            pskc_key: Some(SecretBytes::new(vec![7u8; 16])),
            pskc_passphrase: Some(SecretString::new("a passphrase for tests".into())),
            pbkdf2_iterations: 1000,
            pskc_issuer: issuer.map(str::to_string),
            ..FormatOptions::default()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(14);
        let mut out = Vec::new();
        let mut w = id.format().open(&options, &mut rng).unwrap();
        w.begin(&mut out).unwrap();
        for t in &tokens {
            w.write_token(&mut out, t, &TokenContext::default())
                .unwrap();
        }
        w.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_key_packages_read_as_formats_md_lays_them_out() {
        let text = render(FormatId::PskcPlain, None);
        let first = text
            .split("  <pskc:KeyPackage>\n")
            .nth(1)
            .unwrap()
            .to_string();
        assert_eq!(
            first,
            "    <pskc:DeviceInfo>\n      <pskc:Manufacturer>Deepnet Security</pskc:Manufacturer>\n      \
             <pskc:SerialNo>10001001</pskc:SerialNo>\n      <pskc:Model>SafeID/Classic</pskc:Model>\n    \
             </pskc:DeviceInfo>\n    <pskc:Key Id=\"10001001\" Algorithm=\"urn:ietf:params:xml:ns:keyprov:pskc:totp\">\n      \
             <pskc:Issuer>Deepnet Security</pskc:Issuer>\n      <pskc:AlgorithmParameters>\n        \
             <pskc:ResponseFormat Length=\"6\" Encoding=\"DECIMAL\"/>\n      </pskc:AlgorithmParameters>\n      \
             <pskc:Data>\n        <pskc:Secret>\n          <pskc:PlainValue>ACVKb5S53gMoTXKXvOEGK1B1mr8=</pskc:PlainValue>\n        \
             </pskc:Secret>\n        <pskc:Time>\n          <pskc:PlainValue>0</pskc:PlainValue>\n        </pskc:Time>\n        \
             <pskc:TimeInterval>\n          <pskc:PlainValue>30</pskc:PlainValue>\n        </pskc:TimeInterval>\n      \
             </pskc:Data>\n    </pskc:Key>\n  </pskc:KeyPackage>\n"
        );
        assert!(text.contains("<pskc:Manufacturer>A &amp; B &lt;C&gt;</pskc:Manufacturer>"));
        assert!(text.contains("<pskc:Suite>SHA512</pskc:Suite>"));
        assert!(text.contains(
            "        <pskc:Counter>\n          <pskc:PlainValue>1234567890123</pskc:PlainValue>\n"
        ));
    }

    /// The bytes of every variant for a seeded RNG, as they were before the writer stopped going
    /// through `write!` (any change to the output must be a deliberate one).
    #[test]
    fn every_variant_writes_the_same_bytes_as_before() {
        let cases = [
            (
                FormatId::PskcPlain,
                None,
                "c3eaacdd5aba675afb8479d36a492c3d7a5906382460bad0e05855f017d0911b",
            ),
            (
                FormatId::PskcPlain,
                Some("Acme \"Tokens\""),
                "552fe5e5a06894b9b252b24f808bd0d57177fd48563187b9ba1087c58d971e19",
            ),
            (
                FormatId::PskcPsk,
                None,
                "3b89be2b4518bd3e46a5b39381a40b17b2350a800ac5d51d6db741aaf4bc801f",
            ),
            (
                FormatId::PskcPassphrase,
                Some("Acme"),
                "ccae2f47162b854664fc347c4e117afda0563234f8d7b6e7be808d410693047c",
            ),
        ];
        let mut got = Vec::new();
        for (id, issuer, _) in cases {
            got.push(hex::encode(Sha256::digest(render(id, issuer).as_bytes())));
        }
        let want: Vec<String> = cases.iter().map(|c| c.2.to_string()).collect();
        assert_eq!(got, want);
    }
}
