#!/usr/bin/env bash
# Measures `seedport pack` (wall time, peak RSS) for N tokens: Entra CSV + password, and
# PSKC passphrase + password + PGP. Usage: bench/pack.sh [N] (default 100000); builds release.
set -euo pipefail
n=${1:-100000}
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/seedport
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$n" "$work/tokens.csv" <<'PY'
import base64, os, sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("serial number,secret key,time interval,manufacturer,model\r\n")
    for i in range(n):
        f.write("%d,%s,60,Deepnet Security,SafeID/Classic\r\n" % (20000000 + i, base64.b32encode(os.urandom(20)).decode()))
PY
export GNUPGHOME="$work/gnupg"; mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Bench <bench@example.com>' default default never
gpg --batch --quiet --armor --export bench@example.com > "$work/key.asc"
echo 'correct horse battery staple' > "$work/pw"; echo 'pskc passphrase for bench' > "$work/pp"
run() { /usr/bin/time -f "  %e s wall, %M KiB peak RSS" "$bin" pack --tokens "$work/tokens.csv" "$@" > /dev/null; }
echo "$n tokens, Entra CSV + password:"; run --format entra-csv --password-file "$work/pw" --out "$work/a.zip"
echo "$n tokens, PSKC passphrase + password + PGP:"; run --format pskc-passphrase --pskc-passphrase-file "$work/pp" --password-file "$work/pw" --pgp-key "$work/key.asc" --out "$work/b.zip.pgp"
