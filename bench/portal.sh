#!/usr/bin/env bash
# The portal at scale (issue #14), on a release build with SQLite in a scratch folder:
#  (a) submitting a request for a SUBMIT_N-token order (default 100,000) while another client
#      polls GET /readyz (its p99 shows whether the async workers stay free during the build);
#  (b) downloading a package of about 100 MB (a DOWNLOAD_N-token order, default 900,000, as
#      PSKC passphrase) while the server's VmRSS is sampled every 10 ms (peak minus idle);
#  (c) wrk -t2 -c32 -d10s --latency on GET /, on the shipments page of a looked-up draft (with
#      the customer's cookie) and on the download page of a link.
# Usage: bench/portal.sh (SKIP_WRK=1 stops after (b)). Builds release into $CARGO_TARGET_DIR (or runs $BENCH_BIN). Needs wrk, python3-requests.
set -euo pipefail
submit_n=${SUBMIT_N:-100000}
download_n=${DOWNLOAD_N:-900000}
port=${PORT:-18080}
cd "$(dirname "$0")/.."
repo=$PWD
bin=${BENCH_BIN:-}
[ -z "$bin" ] && cargo build --release --quiet && bin=$(realpath "${CARGO_TARGET_DIR:-target}")/release/seedport
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
base=http://127.0.0.1:$port
cat > seedport.toml <<EOF
mode = "demo"
bind = "127.0.0.1:$port"
public_base_url = "$base"
database_url = "sqlite://$work/var/seedport.db"
data_dir = "$work/var"
download_limit = 100
lookups_per_ip_per_hour = 100000
lookups_per_reference_per_hour = 100000
EOF
tokens() { # tokens N FIRST_SERIAL FILE: a Deepnet factory CSV of N SafeID/Classic tokens
python3 - "$@" <<'PY'
import base64, os, sys
n, first, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("serial number,secret key,time interval,manufacturer,model\r\n")
    for i in range(n):
        f.write("%d,%s,60,Deepnet Security,SafeID/Classic\r\n" % (first + i, base64.b32encode(os.urandom(20)).decode()))
PY
}
manifest() { # manifest PO FILE: one customer (bench@bench.example), one order, one shipment
cat > "$1.toml" <<EOF
[customer]
name = "Bench Corporation"
emails = ["it@bench.example"]
[order]
po = "$1"
invoice = "INV-$1"
[[shipments]]
number = "SHP-$1"
date = "2026-11-20"
file = "$2"
EOF
}
"$bin" migrate > /dev/null
tokens "$submit_n" 40000000 submit.csv; manifest PO-BENCH-SUBMIT submit.csv
tokens "$download_n" 50000000 download.csv; manifest PO-BENCH-DOWNLOAD download.csv
for po in PO-BENCH-SUBMIT PO-BENCH-DOWNLOAD; do
  /usr/bin/time -f "  import $po: %e s wall, %U s user + %S s sys, %M KiB peak RSS" "$bin" import "$po.toml" > /dev/null
done
echo 'reviewer password for the bench 1' > staff.pw
secret=$("$bin" staff add --email rev@vendor.example --name Bench --role reviewer \
  --password-file staff.pw | sed -n 's/^authenticator secret (shown once): //p')
# SEEDPORT_LOG=warn,seedport::request=debug adds the submit's stage timings to the output.
SEEDPORT_LOG=${SEEDPORT_LOG:-warn} "$bin" serve > server.log 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "$base/readyz" > /dev/null && break; sleep 0.1; done
echo "server idle: $(grep VmRSS /proc/$server/status | awk '{printf "%.1f MiB", $2/1024}') RSS"
run() { # run PO FIRST_SERIAL FORMAT [PASSPHRASE]
  python3 "$repo/bench/portal.py" "$base" "$server" "$work/var/seedport.db" "$work/var/mail" \
    "$work" rev@vendor.example "$(cat staff.pw)" "$secret" "$1" it@bench.example "$2" "${@:3}"
}
echo "(a) submit, $submit_n tokens:"
stages() { # the server's stage timings of the last submit, if it logged them
  { grep -aE "password hashed|package built|submit recorded" server.log || true; } |
    sed -e 's/^[^0-9]*//' -e 's/^/  server: /'
  : > server.log
}
run PO-BENCH-SUBMIT 40000000 entra-csv | sed 's/^/  /'
stages
echo "(b) download, $download_n tokens:"
run PO-BENCH-DOWNLOAD 50000000 pskc-passphrase 'pskc passphrase for the bench' | sed 's/^/  /'
stages
[ -n "${SKIP_WRK:-}" ] && exit 0 # SKIP_WRK=1: (a) and (b) only
LOOKUP_ONLY=1 run PO-BENCH-SUBMIT 40000000 entra-csv
echo "(c) wrk -t2 -c32 -d10s --latency:"
bench() { # bench LABEL URL [COOKIE]
  local out; out=$(wrk -t2 -c32 -d10s --latency ${3:+-H "Cookie: $3"} "$2")
  printf '  %-34s %10s req/s  p50 %8s  p99 %8s  non-2xx: %s\n' "$1" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" \
    "$(awk '$1=="99%" {print $2}' <<<"$out")" "$(awk '/Non-2xx/ {print $NF}' <<<"$out" | grep . || echo 0)"
}
bench "GET /" "$base/"
bench "GET shipments page (cookie)" "$(cat shipments_url)" "$(cat customer_cookie)"
bench "GET download page" "$(cat download_url)"
