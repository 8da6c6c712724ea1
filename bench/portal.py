"""The HTTP side of bench/portal.sh: a customer walks the wizard to submit a big order while a
second client polls GET /readyz; a reviewer approves; the customer downloads the package while
the server's RSS is sampled. Prints one line per figure and writes the URLs wrk needs.

With LOOKUP_ONLY set, stops after the lookup and writes the draft's shipments URL and cookie.
Usage: portal.py BASE_URL SERVER_PID DB_PATH MAIL_DIR OUT_DIR STAFF_EMAIL STAFF_PASSWORD
       TOTP_SECRET_B32 PO EMAIL SERIAL FORMAT [PSKC_PASSPHRASE]
"""
import base64, email, glob, hashlib, hmac, os, re, sqlite3, struct, sys, threading, time
import requests

(base, pid, db_path, mail_dir, out_dir, staff_email, staff_password, totp_b32, po, customer_email,
 serial, fmt) = sys.argv[1:13]
pskc_passphrase = sys.argv[13] if len(sys.argv) > 13 else None
PASSWORD = "tulip anchor gravel 42 bench"


def csrf_of(html):
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    if not m:
        sys.exit("no CSRF field in the page:\n" + html[:500])
    return m.group(1)


def ok(r, what):
    if r.status_code not in (200, 303):
        sys.exit(f"{what}: HTTP {r.status_code}\n{r.text[:800]}")
    return r


def kib(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_s():
    """The server's CPU time so far (user + system), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] if values else float("nan")


# --- the customer, to the review step -------------------------------------------------------
rss_start = kib("VmRSS")
c = requests.Session()
csrf = csrf_of(ok(c.get(base + "/"), "start page").text)
r = ok(c.post(base + "/request", data={"csrf": csrf, "kind": "po", "reference": po, "email": customer_email},
              allow_redirects=False), "lookup")
draft = base + r.headers["location"].rsplit("/shipments", 1)[0]
page = ok(c.get(draft + "/shipments"), "shipments page").text
csrf = csrf_of(page)
ship_ids = sorted(set(re.findall(r'name="serial-([0-9a-f-]+)"', page)))
if not ship_ids:
    sys.exit("no shipments on the page:\n" + page[:800])
form = [("csrf", csrf)]
for sid in ship_ids:
    form += [("ship", sid), ("serial-" + sid, serial)]
if os.environ.get("LOOKUP_ONLY"):  # a looked-up draft for wrk: its URL and the cookie
    with open(os.path.join(out_dir, "shipments_url"), "w") as f:
        f.write(draft + "/shipments")
    with open(os.path.join(out_dir, "customer_cookie"), "w") as f:
        f.write("; ".join(f"{k}={v}" for k, v in c.cookies.items()))
    sys.exit(0)
ok(c.post(draft + "/shipments", data=form, allow_redirects=False), "shipments")
fields = {"csrf": csrf, "bundling": "one", "protection": "password", "password": PASSWORD,
          "password_confirm": PASSWORD, "action": "continue"}
ok(c.post(draft + "/protection", files={k: (None, v) for k, v in fields.items()},
          allow_redirects=False), "protection")
fmt_form = {"csrf": csrf, "format": fmt, "action": "continue"}
if pskc_passphrase:
    fmt_form.update({"pskc_passphrase": pskc_passphrase, "pskc_passphrase_confirm": pskc_passphrase})
t0 = time.perf_counter()
ok(c.get(draft + "/format"), "format page")
format_page_s = time.perf_counter() - t0
t0 = time.perf_counter()
r = ok(c.post(draft + "/format", data=fmt_form, allow_redirects=False), "format")
if r.status_code != 303:
    sys.exit("the format step did not move on:\n" + r.text[:1500])
print(f"format step: page {format_page_s:.2f} s, choice {time.perf_counter() - t0:.2f} s; "
      f"server RSS {kib('VmRSS') / 1024:.1f} MiB")

# --- submit, while another client polls /readyz ---------------------------------------------
latencies, stop = [], threading.Event()


def poll():
    s = requests.Session()
    while not stop.is_set():
        t = time.perf_counter()
        s.get(base + "/readyz").raise_for_status()
        latencies.append((time.perf_counter() - t) * 1000)


rss_before, rss_seen, rss_done = kib("VmRSS"), [], threading.Event()


def sample_rss():
    while not rss_done.is_set():
        rss_seen.append(kib("VmRSS"))
        time.sleep(0.01)


poller = threading.Thread(target=poll)
poller.start()
time.sleep(0.5)
before = len(latencies)
rss_sampler = threading.Thread(target=sample_rss)
rss_sampler.start()
cpu0 = cpu_s()
t0 = time.perf_counter()
r = c.post(draft + "/submit", data={"csrf": csrf}, allow_redirects=False)
submit_s = time.perf_counter() - t0
submit_cpu = cpu_s() - cpu0
during = latencies[before:]
rss_done.set()
rss_sampler.join()
stop.set()
poller.join()
if r.status_code != 303 or not r.headers.get("location", "").endswith("/done"):
    sys.exit(f"submit: HTTP {r.status_code} {r.headers.get('location')}\n{r.text[:800]}")
print(f"submit ({fmt}): {submit_s:.2f} s wall, server CPU {submit_cpu:.2f} s (user+sys, incl. the "
      f"/readyz answers); GET /readyz meanwhile: {len(during)} requests, "
      f"p50 {pct(during, 50):.1f} ms, p99 {pct(during, 99):.1f} ms, max {max(during):.1f} ms")
rss_peak = max(rss_seen + [rss_before])
print(f"server RSS: at start {rss_start / 1024:.1f} MiB, before submit {rss_before / 1024:.1f} MiB, "
      f"peak during submit {rss_peak / 1024:.1f} MiB (+{(rss_peak - rss_before) / 1024:.1f} MiB, "
      f"{len(rss_seen)} samples at 10 ms), after {kib('VmRSS') / 1024:.1f} MiB; "
      f"VmHWM {kib('VmHWM') / 1024:.1f} MiB")

db = sqlite3.connect(db_path)
(request_id,) = db.execute("SELECT request_id FROM drafts WHERE request_id IS NOT NULL "
                           "ORDER BY rowid DESC LIMIT 1").fetchone()
(size,) = db.execute("SELECT SUM(size) FROM packages WHERE request_id = ?", (request_id,)).fetchone()
db.close()
print(f"package: {size / 1e6:.1f} MB stored")


# --- a reviewer approves ----------------------------------------------------------------------
def totp(secret_b32, at):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    o = digest[-1] & 15
    return "%06d" % ((struct.unpack(">I", digest[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


def fresh_code():
    """A code of a 30-second window no earlier sign-in or approval used (each is single-use)."""
    used_file = os.path.join(out_dir, "totp_used")
    used = int(open(used_file).read()) if os.path.exists(used_file) else 0
    while int(time.time()) // 30 <= used:
        time.sleep(1)
    step = int(time.time()) // 30
    with open(used_file, "w") as f:
        f.write(str(step))
    return totp(totp_b32, step * 30)


s = requests.Session()
csrf = csrf_of(ok(s.get(base + "/staff/login"), "staff login page").text)
r = ok(s.post(base + "/staff/login", data={"csrf": csrf, "email": staff_email,
                                           "password": staff_password, "code": fresh_code()},
              allow_redirects=False), "staff login")
csrf = csrf_of(ok(s.get(f"{base}/staff/requests/{request_id}"), "request detail").text)
r = s.post(f"{base}/staff/requests/{request_id}/approve",
           data={"csrf": csrf, "code": fresh_code()}, allow_redirects=False)
if r.status_code != 303:
    sys.exit(f"approve: HTTP {r.status_code}\n{r.text[:1500]}")

# --- the download link arrives by email -------------------------------------------------------
seen_file = os.path.join(out_dir, "download_url")
seen = open(seen_file).read() if os.path.exists(seen_file) else None  # an earlier run's link
link = None
for _ in range(100):
    for path in sorted(glob.glob(os.path.join(mail_dir, "*")), key=os.path.getmtime, reverse=True):
        with open(path, "rb") as f:
            message = email.message_from_binary_file(f)
        text = " ".join(part.get_payload(decode=True).decode(errors="replace")
                        for part in message.walk() if not part.is_multipart())
        m = re.search(re.escape(base) + r"/d/[A-Za-z0-9_-]+", text)
        if m and m.group(0) != seen:
            link = m.group(0)
            break
    if link:
        break
    time.sleep(0.2)
if not link:
    sys.exit("no download link in " + mail_dir)
with open(os.path.join(out_dir, "download_url"), "w") as f:
    f.write(link)

# --- the download, with the server's RSS sampled ---------------------------------------------
idle_rss = kib("VmRSS")
peak, sampling = [idle_rss], threading.Event()


def sample():
    while not sampling.is_set():
        peak.append(kib("VmRSS"))
        time.sleep(0.01)


d = requests.Session()
page = ok(d.get(link), "download page").text
sampler = threading.Thread(target=sample)
sampler.start()
t0 = time.perf_counter()
r = d.post(link, data={"csrf": csrf_of(page), "password": PASSWORD}, stream=True)
got = 0
for chunk in r.iter_content(64 * 1024):
    got += len(chunk)
secs = time.perf_counter() - t0
sampling.set()
sampler.join()
if r.status_code != 200 or got != size:
    sys.exit(f"download: HTTP {r.status_code}, {got} of {size} bytes")
print(f"download: {got / 1e6:.1f} MB in {secs:.2f} s; server RSS idle {idle_rss / 1024:.1f} MiB, "
      f"peak {max(peak) / 1024:.1f} MiB (+{(max(peak) - idle_rss) / 1024:.1f} MiB, "
      f"{len(peak)} samples); VmHWM {kib('VmHWM') / 1024:.1f} MiB")
