#!/usr/bin/env bash
# Page speed of the wizard (issue #14), on a release build with SQLite in a scratch folder: a
# customer looks up a TOKENS-token order (default 100,000) and walks it to the review step; then
# `wrk -t2 -c32 -d${SECS}s --latency` on GET / and on each wizard page of that draft (with the
# customer's cookie). Each line gives req/s, p50, p99 and the server's CPU time (user + sys)
# during that run, with the CPU time per request.
# Usage: BENCH_BIN=<release seedport> bash bench/pages.sh. Needs wrk, python3-requests.
set -euo pipefail
tokens_n=${TOKENS:-100000}
secs=${SECS:-10}
port=${PORT:-18090}
cd "$(dirname "$0")/.."
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
lookups_per_ip_per_hour = 100000
lookups_per_reference_per_hour = 100000
${WORKERS:+workers = $WORKERS}
EOF
python3 - "$tokens_n" tokens.csv <<'PY'
import base64, os, sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("serial number,secret key,time interval,manufacturer,model\r\n")
    for i in range(n):
        f.write("%d,%s,60,Deepnet Security,SafeID/Classic\r\n" % (60000000 + i, base64.b32encode(os.urandom(20)).decode()))
PY
cat > order.toml <<EOF
[customer]
name = "Bench Corporation"
emails = ["it@bench.example"]
[order]
po = "PO-BENCH-PAGES"
invoice = "INV-PO-BENCH-PAGES"
[[shipments]]
number = "SHP-PO-BENCH-PAGES"
date = "2026-11-20"
file = "tokens.csv"
EOF
"$bin" migrate > /dev/null
/usr/bin/time -f "import of $tokens_n tokens: %e s, %M KiB peak RSS" "$bin" import order.toml > /dev/null
SEEDPORT_LOG=warn "$bin" serve > server.log 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "$base/readyz" > /dev/null && break; sleep 0.1; done
python3 - "$base" "$work" <<'PY'
import re, sys, requests
base, out = sys.argv[1:3]
def csrf_of(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)
def ok(r, what):
    if r.status_code not in (200, 303):
        sys.exit(f"{what}: HTTP {r.status_code}\n{r.text[:800]}")
    return r
c = requests.Session()
csrf = csrf_of(ok(c.get(base + "/"), "start").text)
r = ok(c.post(base + "/request", data={"csrf": csrf, "kind": "po", "reference": "PO-BENCH-PAGES",
                                      "email": "it@bench.example"}, allow_redirects=False), "lookup")
draft = base + r.headers["location"].rsplit("/shipments", 1)[0]
page = ok(c.get(draft + "/shipments"), "shipments").text
csrf = csrf_of(page)
sid = re.search(r'name="serial-([0-9a-f-]+)"', page).group(1)
ok(c.post(draft + "/shipments", data={"csrf": csrf, "ship": sid, "serial-" + sid: "60000007"},
          allow_redirects=False), "proof")
password = "tulip anchor gravel 42 bench"
fields = {"csrf": csrf, "bundling": "one", "protection": "password", "password": password,
          "password_confirm": password, "action": "continue"}
ok(c.post(draft + "/protection", files={k: (None, v) for k, v in fields.items()},
          allow_redirects=False), "protection")
r = ok(c.post(draft + "/format", data={"csrf": csrf, "format": "entra-csv", "action": "continue"},
              allow_redirects=False), "format")
if r.status_code != 303:
    sys.exit("the format step did not move on:\n" + r.text[:1500])
with open(out + "/draft", "w") as f:
    f.write(draft)
with open(out + "/cookie", "w") as f:
    f.write("; ".join(f"{k}={v}" for k, v in c.cookies.items()))
PY
draft=$(cat draft)
cookie=$(cat cookie)
ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)
echo "wrk -t2 -c32 -d${secs}s --latency; server CPU = user + sys of the server during the run"
bench() { # bench LABEL URL [COOKIE]
  local out before after
  before=$(ticks)
  out=$(wrk -t2 -c32 -d"${secs}s" --latency ${3:+-H "Cookie: $3"} "$2")
  after=$(ticks)
  local rps n cpu
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu=$(awk -v a="$after" -v b="$before" -v hz="$hz" 'BEGIN {printf "%.2f", (a - b) / hz}')
  printf '  %-22s %10s req/s  p50 %8s  p99 %8s  non-2xx %s  server CPU %5s s (%s us/request)\n' \
    "$1" "$rps" "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
    "$(awk '/Non-2xx/ {print $NF}' <<<"$out" | grep . || echo 0)" "$cpu" \
    "$(awk -v c="$cpu" -v n="$n" 'BEGIN {printf "%.0f", c * 1e6 / n}')"
}
bench "GET /" "$base/"
bench "GET shipments" "$draft/shipments" "$cookie"
bench "GET protection" "$draft/protection" "$cookie"
bench "GET format" "$draft/format" "$cookie"
bench "GET review" "$draft/review" "$cookie"
