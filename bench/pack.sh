#!/usr/bin/env bash
# Measures `seedport pack` (wall time, peak RSS) for each N given (default: 100000 1000000):
# Entra CSV + password, PSKC pre-shared key + password, PSKC passphrase + password + PGP, and
# Entra CSV + password from the same tokens as a plain PSKC factory file (the streaming XML reader).
# python-pskc writing the same PSKC passphrase file alone is timed in the same run (at
# PY_N tokens, default 100000: at a million it needs ~12 GB), and the ratio printed.
# Wall time swings on a shared machine; CPU time (user + sys) is steadier. Only ratios taken
# in one run count. Usage: bench/pack.sh [N ...]. Builds release into $CARGO_TARGET_DIR (or
# runs $BENCH_BIN).
set -euo pipefail
sizes=("$@"); [ ${#sizes[@]} -eq 0 ] && sizes=(100000 1000000)
py_n=${PY_N:-100000}
cd "$(dirname "$0")/.."
bin=${BENCH_BIN:-}
[ -z "$bin" ] && cargo build --release --quiet && bin=$(realpath "${CARGO_TARGET_DIR:-target}")/release/seedport
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tokens() { # tokens N FILE: a Deepnet factory CSV of N SafeID/Classic tokens
python3 - "$1" "$2" <<'PY'
import base64, os, sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("serial number,secret key,time interval,manufacturer,model\r\n")
    for i in range(n):
        f.write("%d,%s,60,Deepnet Security,SafeID/Classic\r\n" % (20000000 + i, base64.b32encode(os.urandom(20)).decode()))
PY
}
pskc_tokens() { # pskc_tokens N FILE: the same tokens as a plain PSKC factory file (Feitian style)
python3 - "$1" "$2" <<'PY'
import base64, os, sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">\n')
    for i in range(n):
        f.write('  <KeyPackage>\n    <DeviceInfo><Manufacturer>Deepnet Security</Manufacturer><SerialNo>%d</SerialNo>'
                '<Model>SafeID/Classic</Model></DeviceInfo>\n    <Key Id="%d" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">\n'
                '      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>\n'
                '      <Data><Secret><PlainValue>%s</PlainValue></Secret><TimeInterval><PlainValue>60</PlainValue></TimeInterval></Data>\n'
                '    </Key>\n  </KeyPackage>\n' % (20000000 + i, 20000000 + i, base64.b64encode(os.urandom(20)).decode()))
    f.write('</KeyContainer>\n')
PY
}
export GNUPGHOME="$work/gnupg"; mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Bench <bench@example.com>' default default never
gpg --batch --quiet --armor --export bench@example.com > "$work/key.asc"
echo 'correct horse battery staple' > "$work/pw"; echo 'pskc passphrase for bench' > "$work/pp"
printf '00112233445566778899aabbccddeeff\n' > "$work/psk"
measure() { # measure LABEL CMD...: prints one line, leaves "wall cpu" seconds in $work/last
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "${@:2}" > /dev/null
  read -r secs user sys kib < "$work/time"; cpu=$(echo "$user + $sys" | bc -l)
  echo "$secs $cpu" > "$work/last"
  printf '  %-40s %7.2f s wall %7.2f s CPU %7.1f MiB peak RSS\n' "$1" "$secs" "$cpu" "$(echo "$kib / 1024" | bc -l)"
}
pack() { measure "$1" "$bin" pack --tokens "$work/tokens.csv" "${@:2}"; }
declare -A pskc_secs
for n in "${sizes[@]}"; do
  tokens "$n" "$work/tokens.csv"
  echo "$n tokens ($(du -h "$work/tokens.csv" | cut -f1) factory CSV), seedport pack:"
  pack "entra-csv + password" --format entra-csv --password-file "$work/pw" --out "$work/a.zip"
  pack "pskc-psk + password" --format pskc-psk --pskc-key-hex-file "$work/psk" --password-file "$work/pw" --out "$work/b.zip"
  pack "pskc-passphrase + password + PGP" --format pskc-passphrase --pskc-passphrase-file "$work/pp" --password-file "$work/pw" --pgp-key "$work/key.asc" --out "$work/c.zip.pgp"
  pskc_secs[$n]=$(cat "$work/last")
  pskc_tokens "$n" "$work/tokens.xml"
  measure "entra-csv + password, plain PSKC input" "$bin" pack --tokens "$work/tokens.xml" --format entra-csv --password-file "$work/pw" --out "$work/d.zip"
done
tokens "$py_n" "$work/py.csv"
cat > "$work/py_pskc.py" <<'PY'
import base64, csv, sys
import pskc
src, out, passphrase = sys.argv[1], sys.argv[2], sys.argv[3]
p = pskc.PSKC()
with open(src, newline="") as f:
    rows = csv.reader(f); next(rows)
    for serial, secret, step, manufacturer, model in rows:
        p.add_key(id=serial, serial=serial, secret=base64.b32decode(secret), manufacturer=manufacturer,
                  model=model, algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp",
                  response_length=6, response_encoding="DECIMAL", time_interval=int(step), time_offset=0)
p.encryption.setup_pbkdf2(passphrase, iterations=100000)
p.write(out)
PY
echo "python-pskc, $py_n tokens, PSKC passphrase alone (no zip, no PGP):"
measure "python-pskc" python3 "$work/py_pskc.py" "$work/py.csv" "$work/py.xml" "pskc passphrase for bench"
read -r py_wall py_cpu < "$work/last"
if [ -n "${pskc_secs[$py_n]:-}" ]; then
  read -r sp_wall sp_cpu <<<"${pskc_secs[$py_n]}"
  ratio() { echo "$1 / $2" | bc -l | xargs printf '%.1f'; }
  echo "ratio at $py_n tokens, python-pskc / seedport pack (pskc-passphrase + password + PGP):" \
    "$(ratio "$py_wall" "$sp_wall")x wall, $(ratio "$py_cpu" "$sp_cpu")x CPU"
fi
