"""Independent check of a seedport PSKC file with python-pskc.

Usage: formats_pskc_check.py FILE plain|psk HEXKEY|passphrase PASSPHRASE
Prints one line per key: serial, hex secret, algorithm, digits, interval, counter, suite, issuer.
Fails (exit 1) when a MAC does not match or is not computed over IV || ciphertext.
"""
import hashlib
import hmac
import sys

import pskc
from pskc.key import EncryptedValue

path, mode = sys.argv[1], sys.argv[2]
p = pskc.PSKC(path)
if mode == "psk":
    p.encryption.key = bytes.fromhex(sys.argv[3])
elif mode == "passphrase":
    p.encryption.derive_key(sys.argv[3])
    print("iterations", p.encryption.derivation.pbkdf2_iterations,
          "keylen", p.encryption.derivation.pbkdf2_key_length,
          "prf", p.encryption.derivation.pbkdf2_prf)
elif mode != "plain":
    sys.exit("unknown mode " + mode)

for k in p.keys:
    k.check()  # raises DecryptionError on any MAC mismatch
    raw = getattr(k, "_secret")
    if mode != "plain":
        assert isinstance(raw, EncryptedValue), "secret not encrypted"
        # python-pskc also accepts a MAC over the plaintext; RFC 6030 wants the ciphertext.
        want = hmac.new(p.mac.key, raw.cipher_value, hashlib.sha1).digest()
        assert raw.mac_value == want, "ValueMAC is not over IV || ciphertext for " + k.serial
        assert raw.algorithm.endswith("aes128-cbc"), raw.algorithm
    print(k.serial, k.secret.hex(), k.algorithm.rsplit(":", 1)[-1], k.response_length,
          k.time_interval, k.counter, k.algorithm_suite, k.issuer, k.manufacturer, k.model)
