"""Imports a token file through privacyIDEA's own import code, as its "Import Tokens" API does.

Usage: privacyidea_import.py FILE GNUPGHOME pskc|oathcsv [PSKC-PASSPHRASE]
A file starting with "-----BEGIN PGP MESSAGE-----" is decrypted with privacyIDEA's GPGImport
(the private key in GNUPGHOME, its PI_GNUPG_HOME), then parsed with parsePSKCdata or
parseOATHcsv. Prints one line per token: serial, hex key and type (lower case), digits, time step.
"""
import sys

from privacyidea.lib.importotp import GPGImport, parseOATHcsv, parsePSKCdata

path, home, kind = sys.argv[1], sys.argv[2], sys.argv[3]
passphrase = sys.argv[4] if len(sys.argv) > 4 else None
with open(path, encoding="utf-8") as f:
    contents = f.read()
if contents.startswith("-----BEGIN PGP MESSAGE-----"):
    contents = GPGImport({"PI_GNUPG_HOME": home}).decrypt(contents)
else:
    sys.exit("not an armored PGP message")
if kind == "pskc":
    tokens, not_imported = parsePSKCdata(contents, password=passphrase,
                                         validate_mac="check_fail_hard")
    if not_imported:
        sys.exit("not imported: %s" % not_imported)
else:
    # parseOATHcsv looks token types up in the app's configuration and its token classes
    # translate their labels: a bare Flask app with Babel, as privacyIDEA's own app has.
    from flask import Flask
    from flask_babel import Babel
    app = Flask("privacyidea-import")
    Babel(app)
    with app.app_context():
        tokens = parseOATHcsv(contents)
for serial in sorted(tokens):
    t = tokens[serial]
    print(serial, str(t.get("otpkey")).lower(), str(t.get("type")).lower(), t.get("otplen"), t.get("timeStep"))
