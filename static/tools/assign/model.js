// Token assignment for Microsoft Entra ID: parsing, assignment rules and exports.
// Pure functions, no DOM. The same rules live in Rust in src/assign/ (the `seedport assign`
// CLI); keep both in step. Nothing here sends data anywhere, and no message quotes a secret.

export const ENTRA_HEADER = "upn,serial number,secret key,time interval,manufacturer,model";
export const DEEPNET_HEADER = "serial number,secret key,time interval,manufacturer,model";
export const INVENTORY_HEADER =
  "upn,display name,status,date,serial number,secret key,time interval,manufacturer,model";
export const MAX_TOKENS_PER_USER = 5;
export const MAX_SECRET_LEN = 128;
const MAX_UPN_LEN = 113;
const MAX_NAME_LEN = 256;
const HOTP_MODELS = new Set(["SafeID/Eco"]);

/** A problem in a file: `file line N: reason`. */
export class FileErrors extends Error {
  constructor(errors) {
    super(errors.map(formatLineError).join("\n"));
    this.errors = errors;
  }
}

export function formatLineError(e) {
  return e.line ? `${e.file} line ${e.line}: ${e.reason}` : `${e.file}: ${e.reason}`;
}

/** Non-blank lines with 1-based numbers; BOM removed, CRLF tolerated. */
export function lines(text) {
  const t = text.startsWith("\uFEFF") ? text.slice(1) : text;
  return t
    .split("\n")
    .map((l, i) => [i + 1, l.replace(/\r$/, "").trim()])
    .filter(([, l]) => l !== "");
}

const cells = (line) => line.split(",").map((c) => c.trim());

function csvUnsafe(v) {
  if (v.includes(",")) return "may not contain a comma";
  if (v.includes('"')) return "may not contain a double quote";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) return "may not contain control characters";
  if (/^[=+\-@]/.test(v)) return "may not start with = + - or @";
  return null;
}

/** Checks a UPN; returns the trimmed UPN or throws a message. */
export function parseUpn(raw) {
  const s = raw.trim();
  if (s === "") throw "the UPN is empty";
  if ([...s].length > MAX_UPN_LEN) throw `the UPN is longer than ${MAX_UPN_LEN} characters`;
  const at = s.indexOf("@");
  if (at < 0) throw `"${s}" is not a UPN: it has no @ (expected name@domain)`;
  const local = s.slice(0, at);
  const domain = s.slice(at + 1);
  if (domain.includes("@")) throw `"${s}" is not a UPN: it has more than one @`;
  if (local.length < 1 || local.length > 64)
    throw `"${s}": the part before @ must have 1 to 64 characters`;
  const bad = [...local].find((c) => !/[A-Za-z0-9'._!#^~-]/.test(c));
  if (bad !== undefined)
    throw `"${s}": the character "${bad}" is not allowed in a UPN (use letters, digits and ' . - _ ! # ^ ~)`;
  if (/^[.-]/.test(local) || local.endsWith(".") || local.includes(".."))
    throw `"${s}": the part before @ may not start with . or -, end with . or hold ..`;
  const labels = domain.split(".");
  const labelOk = (l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l);
  if (domain.length > 48 || labels.length < 2 || !labels.every(labelOk) || /^[0-9]+$/.test(labels[labels.length - 1]))
    throw `"${s}": the domain after @ is not valid (expected e.g. acme.com)`;
  return s;
}

export const upnKey = (u) => u.toLowerCase();

/** Checks a display name (may be empty). */
export function parseDisplayName(raw) {
  const s = raw.trim();
  if ([...s].length > MAX_NAME_LEN) throw `the display name is longer than ${MAX_NAME_LEN} characters`;
  const why = csvUnsafe(s);
  if (why) throw `the display name "${s}" ${why}`;
  return s;
}

function parseSerial(raw) {
  const s = raw.trim();
  if (s === "") throw "the serial number is empty";
  if (s.length > 64) throw "the serial number is longer than 64 characters";
  if (!/^[A-Za-z0-9-]+$/.test(s)) throw "a serial number may hold only letters, digits and '-'";
  if (s.startsWith("-")) throw "a serial number may not start with '-'";
  return s;
}

/** Checks the five token cells; throws a message that never holds the secret. */
export function parseToken(serialRaw, secretRaw, interval, manufacturer, model) {
  const serial = parseSerial(serialRaw);
  const secret = secretRaw.trim().replace(/=+$/, "").toUpperCase();
  if (secret === "") throw `token ${serial}: the secret key is empty`;
  if (!/^[A-Z2-7]+$/.test(secret))
    throw `token ${serial}: the secret key is not Base32 (only A-Z and 2-7; Entra cannot take hex secrets)`;
  if (secret.length > MAX_SECRET_LEN)
    throw `token ${serial}: the secret key is longer than ${MAX_SECRET_LEN} characters, Entra's limit`;
  if ([1, 3, 6].includes(secret.length % 8))
    throw `token ${serial}: the secret key has a length no Base32 value can have`;
  const iv = interval.trim();
  if (iv !== "30" && iv !== "60")
    throw `token ${serial}: time interval "${iv}" cannot go to Entra (only 30 or 60 seconds)`;
  for (const [what, v] of [["manufacturer", manufacturer], ["model", model]]) {
    if (v === "") throw `token ${serial}: the ${what} is empty`;
    if ([...v].length > 64) throw `token ${serial}: the ${what} is longer than 64 characters`;
    const why = csvUnsafe(v);
    if (why) throw `token ${serial}: the ${what} ${why}`;
  }
  if (HOTP_MODELS.has(model))
    throw `token ${serial}: model ${model} is event-based (HOTP); Entra takes only time-based (TOTP) tokens`;
  return { serial, secret, interval: Number(iv), manufacturer, model };
}

/** A row: {token, upn|null, name, status: Free|Old|New|Unassigned, date: "YYYY-MM-DD"|""}. */
export const freeRow = (token) => ({ token, upn: null, name: "", status: "Free", date: "" });
export const isAssigned = (row) => row.status === "Old" || row.status === "New";

function parseInventoryAssignment(token, upn, name, status, date) {
  if (date !== "" && !isIsoDate(date)) throw `the date "${date}" is not a date like 2025-01-31`;
  const st = status.toLowerCase();
  let s;
  if (["old", "new", "assigned"].includes(st)) s = "Old";
  else if (st === "unassigned") s = "Unassigned";
  else if (st === "free") s = "Free";
  else if (st === "") s = upn === "" ? "Free" : "Old";
  else throw `unknown status "${status}" (use Old, New, Unassigned or Free)`;
  if (s === "Old") {
    if (upn === "") throw `token ${token.serial}: status ${st} needs a UPN`;
    return { token, upn: parseUpn(upn), name: parseDisplayName(name), status: s, date };
  }
  if (s === "Free" && upn !== "")
    throw `token ${token.serial}: status Free but a UPN is given (use Old, or clear the UPN)`;
  return { token, upn: null, name: "", status: s, date: s === "Free" ? "" : date };
}

function isIsoDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/** Reads a token file of any of the three layouts. Returns {kind, rows}; throws FileErrors. */
export function parseTokenFile(file, text) {
  const all = lines(text);
  if (all.length === 0) throw new FileErrors([{ file, line: 0, reason: "the file is empty" }]);
  const [[hline, header], ...body] = all;
  const normalized = cells(header.toLowerCase()).join(",");
  const kind =
    normalized === ENTRA_HEADER ? "entra"
    : normalized === DEEPNET_HEADER ? "deepnet"
    : normalized === INVENTORY_HEADER ? "inventory"
    : null;
  if (!kind)
    throw new FileErrors([{
      file, line: hline,
      reason: `unknown header; expected one of:\n    ${ENTRA_HEADER}  (Entra MFA CSV)\n    ${DEEPNET_HEADER}  (token file)\n    ${INVENTORY_HEADER}  (CustomerTokens inventory)`,
    }]);
  const width = normalized.split(",").length;
  const errors = [];
  const rows = [];
  const seen = new Map();
  for (const [n, line] of body) {
    const c = cells(line);
    if (c.length !== width) {
      errors.push({ file, line: n, reason: `expected ${width} comma-separated values, found ${c.length} (values may not contain commas)` });
      continue;
    }
    try {
      let row;
      if (kind === "deepnet") row = freeRow(parseToken(c[0], c[1], c[2], c[3], c[4]));
      else if (kind === "entra") {
        const t = parseToken(c[1], c[2], c[3], c[4], c[5]);
        row = c[0] === "" ? freeRow(t) : { ...freeRow(t), upn: parseUpn(c[0]), status: "Old" };
      } else row = parseInventoryAssignment(parseToken(c[4], c[5], c[6], c[7], c[8]), c[0], c[1], c[2], c[3]);
      if (seen.has(row.token.serial)) {
        errors.push({ file, line: n, reason: `token ${row.token.serial} is listed twice (first on line ${seen.get(row.token.serial)})` });
      } else {
        seen.set(row.token.serial, n);
        rows.push(row);
      }
    } catch (reason) {
      if (typeof reason !== "string") throw reason;
      errors.push({ file, line: n, reason });
    }
  }
  if (errors.length) throw new FileErrors(errors);
  if (rows.length === 0) throw new FileErrors([{ file, line: 0, reason: "the file has a header but no tokens" }]);
  return { kind, rows };
}

/** Parses a user list: [{upn, name, line}]; throws FileErrors. */
export function parseUsers(file, text) {
  const errors = [];
  const users = [];
  const seen = new Map();
  lines(text).forEach(([n, line], i) => {
    const comma = line.indexOf(",");
    const upnRaw = (comma < 0 ? line : line.slice(0, comma)).trim();
    const nameRaw = comma < 0 ? "" : line.slice(comma + 1).trim();
    if (i === 0 && upnRaw.toLowerCase() === "upn") return;
    try {
      const upn = parseUpn(upnRaw);
      const name = parseDisplayName(nameRaw);
      const k = upnKey(upn);
      if (seen.has(k)) errors.push({ file, line: n, reason: `user ${upn} is listed twice (first on line ${seen.get(k)})` });
      else {
        seen.set(k, n);
        users.push({ upn, name, line: n });
      }
    } catch (reason) {
      if (typeof reason !== "string") throw reason;
      errors.push({ file, line: n, reason });
    }
  });
  if (errors.length) throw new FileErrors(errors);
  return users;
}

/** The per-user limit over all rows; returns an error message or null. */
export function checkLimit(rows) {
  const counts = new Map();
  for (const r of rows) if (r.upn) counts.set(upnKey(r.upn), [(counts.get(upnKey(r.upn))?.[0] ?? 0) + 1, r.upn]);
  const over = [...counts.entries()].filter(([, [n]]) => n > MAX_TOKENS_PER_USER).sort(([a], [b]) => (a < b ? -1 : 1));
  if (!over.length) return null;
  const [, [n, upn]] = over[0];
  return `user ${upn} would hold ${n} tokens; Entra allows at most ${MAX_TOKENS_PER_USER} per user`;
}

/** Adds the rows of another file; a known serial keeps its row but must hold the same token. */
export function merge(rows, more) {
  const known = new Map(rows.map((r) => [r.token.serial, r]));
  const added = [];
  for (const r of more) {
    const k = known.get(r.token.serial);
    if (k && (k.token.secret !== r.token.secret || k.token.interval !== r.token.interval))
      throw `token ${r.token.serial} is in both files with different data (secret key or time interval differ)`;
    if (!k) added.push(r);
  }
  const next = [...rows, ...added];
  const limit = checkLimit(next);
  if (limit) throw limit;
  return { rows: next, added: added.length };
}

function clearRow(row, today) {
  const r = { ...row, upn: null, name: "" };
  if (row.status === "Old") return { ...r, status: "Unassigned", date: today };
  if (row.status === "New") return { ...r, status: "Free", date: "" };
  return r;
}
const giveRow = (row, upn, name, today) => ({ ...row, upn, name, status: "New", date: today });

/** Apply & Assign. Returns {rows, assigned: [[upn, serial]], skipped: [upn]}; throws a message. */
export function apply(rows, users, today) {
  const holders = new Set(rows.filter((r) => r.upn).map((r) => upnKey(r.upn)));
  const skipped = [];
  const needing = [];
  for (const u of users) (holders.has(upnKey(u.upn)) ? skipped : needing).push(u);
  const free = rows.map((r, i) => (isAssigned(r) ? -1 : i)).filter((i) => i >= 0);
  if (needing.length > free.length)
    throw `${needing.length} users need a token but only ${free.length} tokens are free; add tokens or shorten the user list (nothing was assigned)`;
  const next = [...rows];
  const assigned = [];
  needing.forEach((u, k) => {
    const i = free[k];
    next[i] = giveRow(next[i], u.upn, u.name, today);
    assigned.push([u.upn, next[i].token.serial]);
  });
  return { rows: next, assigned, skipped: skipped.map((u) => u.upn) };
}

function indexOf(rows, serial) {
  const i = rows.findIndex((r) => r.token.serial === serial);
  if (i < 0) throw `there is no token ${serial}`;
  return i;
}

/** Removes the assignment of a token: Old becomes Unassigned, New becomes Free. */
export function unassign(rows, serial, today) {
  const i = indexOf(rows, serial);
  if (!isAssigned(rows[i])) throw `token ${serial} is not assigned to anyone`;
  const next = [...rows];
  next[i] = clearRow(rows[i], today);
  return next;
}

/** Moves the user of token `from` to token `to`; if `to` has a user, the two swap. */
export function reassign(rows, from, to, today) {
  const f = indexOf(rows, from);
  const t = indexOf(rows, to);
  if (f === t) return rows;
  if (!rows[f].upn) throw `token ${from} is not assigned to anyone`;
  const next = [...rows];
  next[f] = rows[t].upn ? giveRow(rows[f], rows[t].upn, rows[t].name, today) : clearRow(rows[f], today);
  next[t] = giveRow(rows[t], rows[f].upn, rows[f].name, today);
  return next;
}

/** Gives a token to a user (UPN edited in place), keeping the per-user limit. */
export function setUser(rows, serial, upn, name, today) {
  const i = indexOf(rows, serial);
  const next = [...rows];
  if (rows[i].upn && upnKey(rows[i].upn) === upnKey(upn)) {
    next[i] = { ...rows[i], upn, name };
    return next;
  }
  const count = rows.filter((r) => r.upn && upnKey(r.upn) === upnKey(upn)).length + 1;
  if (count > MAX_TOKENS_PER_USER)
    throw `user ${upn} would hold ${count} tokens; Entra allows at most ${MAX_TOKENS_PER_USER} per user`;
  next[i] = giveRow(rows[i], upn, name, today);
  return next;
}

/** Today as "YYYY-MM-DD" in local time. */
export function isoDate(d = new Date()) {
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}
export const compactDate = (iso) => iso.replaceAll("-", "");
export const entraFileName = (iso) => `EntraTokens_${compactDate(iso)}.csv`;
export const inventoryFileName = (iso) => `CustomerTokens_${compactDate(iso)}.csv`;

/** The Entra upload: assigned tokens only, exact layout, CRLF. Throws the limit message. */
export function entraCsv(rows) {
  const limit = checkLimit(rows);
  if (limit) throw limit;
  let out = ENTRA_HEADER + "\r\n";
  for (const r of rows) {
    if (!r.upn) continue;
    const t = r.token;
    out += `${r.upn},${t.serial},${t.secret},${t.interval},${t.manufacturer},${t.model}\r\n`;
  }
  return out;
}

/** The inventory: every token with user, status and date. */
export function inventoryCsv(rows) {
  let out = INVENTORY_HEADER + "\r\n";
  for (const r of rows) {
    const t = r.token;
    out += `${r.upn ?? ""},${r.name},${r.status},${r.date},${t.serial},${t.secret},${t.interval},${t.manufacturer},${t.model}\r\n`;
  }
  return out;
}
