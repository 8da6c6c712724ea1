// The /tools/assign page: wires the DOM to model.js. Files are read with File.text() and saved
// with Blob + <a download>; nothing is ever sent over the network.
import * as M from "./model.js";

const $ = (id) => document.getElementById(id);
const state = { rows: [], moving: null, dragging: null, focusAfter: null, urls: [] };
const today = () => M.isoDate();

// ---------- messages ----------
function showErrors(title, errors) {
  const box = $("messages");
  box.replaceChildren();
  const p = document.createElement("p");
  p.textContent = title;
  const strong = document.createElement("strong");
  strong.append(p);
  box.append(strong);
  const ul = document.createElement("ul");
  for (const e of errors.slice(0, 50)) {
    const li = document.createElement("li");
    li.textContent = e;
    ul.append(li);
  }
  if (errors.length > 50) {
    const li = document.createElement("li");
    li.textContent = `... and ${errors.length - 50} more`;
    ul.append(li);
  }
  box.append(ul);
  box.hidden = false;
  $("done").hidden = true;
  box.focus();
}

function clearErrors() {
  $("messages").hidden = true;
  $("messages").replaceChildren();
}

function showDone(text) {
  clearErrors();
  $("done").textContent = text;
  $("done").hidden = false;
}

function announce(text) {
  $("live").textContent = "";
  // A fresh text node so screen readers announce repeats too.
  setTimeout(() => { $("live").textContent = text; }, 30);
}

function errorList(e) {
  if (e instanceof M.FileErrors) return e.errors.map(M.formatLineError);
  if (typeof e === "string") return [e];
  return ["Unexpected problem: " + (e && e.message ? e.message : String(e))];
}

// ---------- table ----------
// Only the rows that match the search and filter are shown, a page at a time; each row's
// element is kept and rebuilt only when its row object changes (the model returns new objects
// only for the rows it changed). Events are handled once, on the table body.
const PAGE = 200;
const view = { text: "", status: "all", limit: PAGE, cache: new Map() };

function el(tag, props = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") n.className = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "draggable" || k === "title") n.setAttribute(k, v);
    else n[k] = v;
  }
  n.append(...children);
  return n;
}

const BADGE = { Old: "badge", New: "badge ok", Unassigned: "badge warn", Free: "badge" };

function matches(r) {
  if (view.status === "assigned" ? !M.isAssigned(r) : view.status !== "all" && r.status !== view.status) return false;
  if (!view.text) return true;
  return r.token.serial.toLowerCase().includes(view.text) ||
    (r.upn ?? "").toLowerCase().includes(view.text) ||
    r.name.toLowerCase().includes(view.text);
}

function modeOf(serial) {
  return state.moving === serial ? "self" : state.moving ? "target" : "normal";
}

function render() {
  const tbody = document.querySelector("#tokens tbody");
  const shown = [];
  let matching = 0;
  let assigned = 0;
  let news = 0;
  for (const r of state.rows) {
    if (M.isAssigned(r)) assigned += 1;
    if (r.status === "New") news += 1;
    if (!matches(r)) continue;
    matching += 1;
    if (shown.length < view.limit) shown.push(r);
  }
  const keep = new Map();
  const trs = shown.map((r) => {
    const s = r.token.serial;
    const mode = modeOf(s);
    let c = view.cache.get(s);
    if (!c || c.row !== r || c.mode !== mode) c = { row: r, mode, tr: renderRow(r, mode) };
    keep.set(s, c);
    return c.tr;
  });
  view.cache = keep;
  tbody.replaceChildren(...trs);
  const total = state.rows.length;
  $("empty").hidden = total > 0;
  $("table-tools").hidden = total === 0;
  $("table-summary").textContent = total
    ? `${total} tokens: ${assigned} assigned (${news} new), ${total - assigned} free.`
    : "";
  const filtered = view.text || view.status !== "all";
  $("table-count").textContent = !total ? ""
    : matching === 0 ? "No token matches the search."
    : shown.length < matching ? `Showing ${shown.length} of ${matching} ${filtered ? "matching " : ""}tokens.`
    : filtered ? `Showing all ${matching} matching tokens.` : "";
  $("more").hidden = shown.length >= matching;
  if (state.focusAfter) {
    const f = $(state.focusAfter);
    state.focusAfter = null;
    if (f) f.focus();
  }
}

function renderRow(r, mode) {
  const s = r.token.serial;
  const tr = el("tr", { "data-serial": s });
  if (mode === "self") tr.classList.add("moving");

  const upnInput = el("input", {
    type: "text", id: `upn-${s}`, value: r.upn ?? "", autocomplete: "off", spellcheck: false,
    "aria-label": `UPN for token ${s}`, "data-edit": "upn",
  });
  const upnCell = el("div", { class: "upn-cell" });
  if (r.upn) {
    upnCell.append(el("span", { class: "grip", draggable: "true", title: "Drag onto another row", "aria-hidden": "true" }, "\u283F"));
  }
  upnCell.append(upnInput);

  const nameInput = el("input", {
    type: "text", id: `name-${s}`, value: r.name, autocomplete: "off", disabled: !r.upn,
    "aria-label": `Display name for token ${s}`, "data-edit": "name",
  });

  const actions = el("td", { class: "row-actions" });
  if (mode === "self") {
    actions.append(el("button", { type: "button", id: `move-${s}`, class: "secondary", "aria-pressed": "true", "data-action": "cancel" }, "Cancel move"));
  } else if (mode === "target") {
    actions.append(el("button", { type: "button", id: `move-${s}`, class: "secondary", "aria-label": `Move here, to token ${s}`, "data-action": "here" }, "Move here"));
  } else if (r.upn) {
    actions.append(el("button", { type: "button", id: `move-${s}`, class: "secondary", "aria-pressed": "false", "aria-label": `Move ${r.upn} to another token`, "data-action": "move" }, "Move"));
  }
  if (r.upn) {
    const x = el("button", { type: "button", id: `remove-${s}`, class: "remove", title: "Unassign", "aria-label": `Unassign ${r.upn} from token ${s}`, "data-action": "remove" }, "\u00D7");
    actions.append(" ", x);
  }

  tr.append(
    el("td", { class: "mono" }, s),
    el("td", {}, upnCell),
    el("td", {}, nameInput),
    el("td", {}, el("span", { class: BADGE[r.status] }, r.status)),
    el("td", {}, r.date),
    el("td", {}, r.token.model),
    actions,
  );
  return tr;
}

function wireTable() {
  const tbody = document.querySelector("#tokens tbody");
  const serialOf = (node) => node.closest("tr")?.dataset.serial;
  tbody.addEventListener("change", (ev) => {
    const input = ev.target;
    const s = serialOf(input);
    if (!s) return;
    if (input.dataset.edit === "upn") editUpn(s, input);
    else if (input.dataset.edit === "name") editName(s, input);
  });
  tbody.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-action]");
    const s = b && serialOf(b);
    if (!s) return;
    const act = b.dataset.action;
    if (act === "cancel") cancelMove();
    else if (act === "here") finishMove(s);
    else if (act === "move") startMove(s);
    else if (act === "remove") removeAssignment(s);
  });
  tbody.addEventListener("dragstart", (ev) => {
    const s = ev.target.closest?.(".grip") && serialOf(ev.target);
    if (!s) return;
    state.dragging = s;
    ev.dataTransfer.effectAllowed = "move";
    ev.dataTransfer.setData("text/plain", "seedport-move");
  });
  tbody.addEventListener("dragend", () => { state.dragging = null; });
  tbody.addEventListener("dragover", (ev) => {
    const tr = ev.target.closest?.("tr");
    if (tr && state.dragging && state.dragging !== tr.dataset.serial) {
      ev.preventDefault();
      ev.dataTransfer.dropEffect = "move";
      tr.classList.add("drop-target");
    }
  });
  tbody.addEventListener("dragleave", (ev) => ev.target.closest?.("tr")?.classList.remove("drop-target"));
  tbody.addEventListener("drop", (ev) => {
    const tr = ev.target.closest?.("tr");
    if (!tr) return;
    ev.preventDefault();
    tr.classList.remove("drop-target");
    const from = state.dragging;
    state.dragging = null;
    if (from && from !== tr.dataset.serial) moveUser(from, tr.dataset.serial);
  });
  $("search").addEventListener("input", () => {
    view.text = $("search").value.trim().toLowerCase();
    view.limit = PAGE;
    render();
  });
  $("status-filter").addEventListener("change", () => {
    view.status = $("status-filter").value;
    view.limit = PAGE;
    render();
  });
  $("more").addEventListener("click", () => {
    const first = view.limit;
    view.limit += PAGE;
    render();
    const next = document.querySelectorAll("#tokens tbody tr")[first];
    next?.querySelector("input")?.focus();
  });
}

function change(fn) {
  try {
    state.rows = fn(state.rows);
    return true;
  } catch (e) {
    showErrors("That change was not made:", errorList(e));
    return false;
  }
}

function editUpn(serial, input) {
  const row = state.rows.find((r) => r.token.serial === serial);
  const raw = input.value.trim();
  if (raw === "") {
    if (row && row.upn) removeAssignment(serial);
    return;
  }
  let upn;
  try {
    upn = M.parseUpn(raw);
  } catch (e) {
    input.setAttribute("aria-invalid", "true");
    showErrors(`The UPN for token ${serial} was not changed:`, errorList(e));
    return;
  }
  if (change((rows) => M.setUser(rows, serial, upn, row && row.upn ? row.name : "", today()))) {
    clearErrors();
    state.focusAfter = `name-${serial}`;
    render();
    announce(`Token ${serial} assigned to ${upn}.`);
  } else {
    input.setAttribute("aria-invalid", "true");
  }
}

function editName(serial, input) {
  const row = state.rows.find((r) => r.token.serial === serial);
  if (!row || !row.upn) return;
  let name;
  try {
    name = M.parseDisplayName(input.value);
  } catch (e) {
    input.setAttribute("aria-invalid", "true");
    showErrors(`The name for token ${serial} was not changed:`, errorList(e));
    return;
  }
  input.removeAttribute("aria-invalid");
  if (change((rows) => M.setUser(rows, serial, row.upn, name, today()))) clearErrors();
}

function removeAssignment(serial) {
  const row = state.rows.find((r) => r.token.serial === serial);
  const upn = row && row.upn;
  if (change((rows) => M.unassign(rows, serial, today()))) {
    if (state.moving === serial) state.moving = null;
    state.focusAfter = `upn-${serial}`;
    render();
    announce(`${upn} unassigned from token ${serial}.`);
  }
}

function startMove(serial) {
  const row = state.rows.find((r) => r.token.serial === serial);
  state.moving = serial;
  state.focusAfter = `move-${serial}`;
  render();
  announce(`Moving ${row.upn} from token ${serial}. Choose Move here on the target row, or press Escape to cancel.`);
}

function cancelMove() {
  const from = state.moving;
  if (!from) return;
  state.moving = null;
  state.focusAfter = `move-${from}`;
  render();
  announce("Move cancelled.");
}

function finishMove(to) {
  const from = state.moving;
  state.moving = null;
  moveUser(from, to);
}

function moveUser(from, to) {
  const upn = state.rows.find((r) => r.token.serial === from)?.upn;
  const other = state.rows.find((r) => r.token.serial === to)?.upn;
  if (change((rows) => M.reassign(rows, from, to, today()))) {
    clearErrors();
    state.focusAfter = `upn-${to}`;
    render();
    announce(other
      ? `${upn} moved to token ${to}; ${other} moved to token ${from}.`
      : `${upn} moved to token ${to}; token ${from} is free.`);
  } else {
    render();
  }
}

// ---------- loading ----------
async function loadTokens() {
  const input = $("token-file");
  const file = input.files && input.files[0];
  if (!file) return;
  try {
    const { kind, rows } = M.parseTokenFile(file.name, await file.text());
    const { rows: merged, added } = M.merge(state.rows, rows);
    state.rows = merged;
    state.moving = null;
    render();
    const what = { entra: "Entra MFA CSV", deepnet: "token file", inventory: "inventory" }[kind];
    const old = rows.filter(M.isAssigned).length;
    const msg = `${file.name} (${what}): ${added} tokens added` +
      (rows.length > added ? `, ${rows.length - added} already loaded` : "") +
      (old ? `, ${old} existing assignments marked Old.` : ".");
    $("token-summary").textContent = msg;
    showDone(msg);
  } catch (e) {
    showErrors(`${file.name} was not loaded:`, errorList(e));
  } finally {
    input.value = "";
  }
}

async function loadUsers() {
  const input = $("user-file");
  const file = input.files && input.files[0];
  if (!file) return;
  let text = await file.text();
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  $("user-list").value = text.replace(/\r\n/g, "\n");
  input.value = "";
  try {
    const users = M.parseUsers(file.name, text);
    showDone(`${file.name}: ${users.length} users read. Press Apply & Assign to give them tokens.`);
  } catch (e) {
    showErrors(`${file.name} has problems:`, errorList(e));
  }
}

function applyUsers() {
  if (!state.rows.length) {
    showErrors("Nothing was assigned:", ["load a token file first"]);
    return;
  }
  let users;
  try {
    users = M.parseUsers("User list", $("user-list").value);
  } catch (e) {
    $("user-list").setAttribute("aria-invalid", "true");
    showErrors("Nothing was assigned; please fix the user list:", errorList(e));
    return;
  }
  $("user-list").removeAttribute("aria-invalid");
  if (!users.length) {
    showErrors("Nothing was assigned:", ["the user list is empty"]);
    return;
  }
  try {
    const res = M.apply(state.rows, users, today());
    state.rows = res.rows;
    state.moving = null;
    render();
    let msg = `Assigned ${res.assigned.length} token${res.assigned.length === 1 ? "" : "s"}.`;
    if (res.skipped.length) msg += ` Skipped ${res.skipped.length} user${res.skipped.length === 1 ? "" : "s"} who already hold a token: ${res.skipped.join(", ")}.`;
    showDone(msg);
    announce(msg);
  } catch (e) {
    showErrors("Nothing was assigned:", errorList(e));
  }
}

// ---------- export ----------
function download(text, name, link) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  state.urls.push(url);
  link.href = url;
  link.download = name;
  link.textContent = name;
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
}

function revokeUrls() {
  for (const u of state.urls) URL.revokeObjectURL(u);
  state.urls = [];
}

function exportFiles() {
  if (!state.rows.length) {
    showErrors("Nothing to export:", ["load a token file first"]);
    return;
  }
  let entra;
  try {
    entra = M.entraCsv(state.rows);
  } catch (e) {
    showErrors("Nothing was exported:", errorList(e));
    return;
  }
  const date = today();
  revokeUrls();
  download(entra, M.entraFileName(date), $("dl-entra"));
  download(M.inventoryCsv(state.rows), M.inventoryFileName(date), $("dl-inventory"));
  $("downloads").hidden = false;
  const n = state.rows.filter(M.isAssigned).length;
  const msg = n
    ? `Exported ${M.entraFileName(date)} (${n} assigned tokens) and ${M.inventoryFileName(date)} (all ${state.rows.length} tokens).`
    : `No token is assigned: ${M.entraFileName(date)} has only the header. ${M.inventoryFileName(date)} holds all ${state.rows.length} tokens.`;
  showDone(msg);
  announce(msg);
}

function startOver() {
  if (state.rows.length && $("confirm-clear").hidden) {
    const n = state.rows.length;
    const assigned = state.rows.filter(M.isAssigned).length;
    $("confirm-clear-text").textContent =
      `Start over clears the ${n} tokens and ${assigned} assignments from this page. ` +
      "Anything you have not exported is lost.";
    $("confirm-clear").hidden = false;
    $("confirm-clear-yes").focus();
    return;
  }
  clearAll();
}

function clearAll() {
  $("confirm-clear").hidden = true;
  revokeUrls();
  state.rows = [];
  state.moving = null;
  $("user-list").value = "";
  $("token-summary").textContent = "";
  $("downloads").hidden = true;
  $("done").hidden = true;
  clearErrors();
  render();
  announce("All tokens and users were cleared from this page.");
}

function keepWorking() {
  $("confirm-clear").hidden = true;
  $("clear").focus();
}

$("token-file").addEventListener("change", loadTokens);
$("user-file").addEventListener("change", loadUsers);
$("apply").addEventListener("click", applyUsers);
$("export").addEventListener("click", exportFiles);
$("clear").addEventListener("click", startOver);
$("confirm-clear-yes").addEventListener("click", clearAll);
$("confirm-clear-no").addEventListener("click", keepWorking);
wireTable();
document.addEventListener("keydown", (ev) => {
  if (ev.key !== "Escape") return;
  if (state.moving) cancelMove();
  else if (!$("confirm-clear").hidden) keepWorking();
});
window.addEventListener("pagehide", revokeUrls);
document.body.dataset.assignReady = "true";
render();
