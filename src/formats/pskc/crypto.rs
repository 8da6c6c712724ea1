//! The one cipher suite every PSKC importer reads: AES-128-CBC, HMAC-SHA1, PBKDF2-HMAC-SHA1.

use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut, InnerIvInit, KeyInit};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use zeroize::Zeroizing;

pub(crate) type AesKey = Zeroizing<[u8; 16]>;

/// `IV || AES-128-CBC(key, PKCS#7(plain))`, the layout of a PSKC `CipherValue`. The one-shot
/// reference [`FileCipher`] is tested against (RFC 6030's own figures).
#[cfg(test)]
pub(crate) fn encrypt(key: &[u8; 16], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    use aes::cipher::KeyIvInit;
    let ct = cbc::Encryptor::<aes::Aes128>::new(key.into(), iv.into())
        .encrypt_padded_vec_mut::<Pkcs7>(plain);
    let mut out = Vec::with_capacity(16 + ct.len());
    out.extend_from_slice(iv);
    out.extend_from_slice(&ct);
    out
}

/// HMAC-SHA1 over `IV || ciphertext` (the `ValueMAC`), one-shot (see [`encrypt`]).
#[cfg(test)]
pub(crate) fn mac(key: &[u8; 20], data: &[u8]) -> [u8; 20] {
    // HMAC pads a short key with zeros to the block size (RFC 2104), so padding it here gives
    // the same MAC through the infallible constructor, with no error path to invent.
    let mut block = Zeroizing::new([0u8; 64]);
    for (b, k) in block.iter_mut().zip(key) {
        *b = *k;
    }
    let mut m = <Hmac<Sha1> as KeyInit>::new((&*block).into());
    m.update(data);
    m.finalize().into_bytes().into()
}

/// One file's AES key and MAC key, set up once: the AES-128 key schedule and the HMAC-SHA1 state
/// after the key block. Each token then costs one CBC encryption and one MAC instead of two key
/// setups more (they were half of an encrypted writer's time per token).
pub(crate) struct FileCipher {
    aes: aes::Aes128,
    mac: Hmac<Sha1>,
}

impl FileCipher {
    pub(crate) fn new(key: &[u8; 16], mac_key: &[u8; 20]) -> FileCipher {
        let mut block = Zeroizing::new([0u8; 64]);
        for (b, k) in block.iter_mut().zip(mac_key) {
            *b = *k;
        }
        FileCipher {
            aes: aes::Aes128::new(key.into()),
            mac: <Hmac<Sha1> as KeyInit>::new((&*block).into()),
        }
    }

    /// `IV || AES-128-CBC(key, PKCS#7(plain))` into `out` (cleared first), as [`encrypt`].
    pub(crate) fn encrypt_into(&self, iv: &[u8; 16], plain: &[u8], out: &mut Vec<u8>) {
        // PKCS#7 always adds 1 to 16 bytes, so the padded length is the next multiple of 16.
        let padded = (plain.len() / 16 + 1) * 16;
        out.clear();
        out.extend_from_slice(iv);
        out.resize(16 + padded, 0);
        let encryptor = cbc::Encryptor::<aes::Aes128>::inner_iv_init(self.aes.clone(), iv.into());
        if let Some(room) = out.get_mut(16..) {
            // `room` is exactly the padded length, so the padding cannot fail.
            let _ = encryptor.encrypt_padded_b2b_mut::<Pkcs7>(plain, room);
        }
    }

    /// HMAC-SHA1 over `data` under the file's MAC key, as [`mac`].
    pub(crate) fn mac(&self, data: &[u8]) -> [u8; 20] {
        let mut m = self.mac.clone();
        m.update(data);
        m.finalize().into_bytes().into()
    }
}

/// PBKDF2-HMAC-SHA1 to a 16-byte AES key (RFC 6030 §6.2).
pub(crate) fn derive_key(passphrase: &[u8], salt: &[u8], iterations: u32) -> AesKey {
    let mut key = Zeroizing::new([0u8; 16]);
    pbkdf2::pbkdf2_hmac::<Sha1>(passphrase, salt, iterations, &mut *key);
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn rfc6030_figure6_value_mac() {
        let k: [u8; 16] = h("12345678901234567890123456789012");
        let mac_key: [u8; 20] = h("1122334455667788990011223344556677889900");
        let iv: [u8; 16] = h("000102030405060708090a0b0c0d0e0f");
        let secret = hex::decode("3132333435363738393031323334353637383930").unwrap();
        let cv = encrypt(&k, &iv, &secret);
        assert_eq!(cv.len(), 16 + 32);
        let b64 = base64::engine::general_purpose::STANDARD;
        assert_eq!(
            b64.encode(mac(&mac_key, &cv)),
            "Su+NvtQfmvfJzF6bmQiJqoLRExc="
        );
    }

    #[test]
    fn the_file_cipher_matches_the_one_shot_functions() {
        let k: [u8; 16] = h("12345678901234567890123456789012");
        let mac_key: [u8; 20] = h("1122334455667788990011223344556677889900");
        let iv: [u8; 16] = h("000102030405060708090a0b0c0d0e0f");
        let file = FileCipher::new(&k, &mac_key);
        let mut out = vec![0xAA; 7];
        for len in [16, 20, 31, 32, 64] {
            let plain: Vec<u8> = (0..len as u8).collect();
            file.encrypt_into(&iv, &plain, &mut out);
            assert_eq!(out, encrypt(&k, &iv, &plain), "{len} bytes");
            assert_eq!(file.mac(&out), mac(&mac_key, &out), "{len} bytes");
        }
    }

    #[test]
    fn rfc6030_figure7_derived_key() {
        let salt = base64::engine::general_purpose::STANDARD
            .decode("Ej7/PEpyEpw=")
            .unwrap();
        let k = derive_key(b"qwerty", &salt, 1000);
        assert_eq!(hex::encode(*k), "651e63cd57008476af1ff6422cd02e41");
    }
}
