// Custom CSV builder on the format step: Add, up, down and Remove change the rows in the page
// (the same buttons post to the server without scripts), and a preview shows the first rows of
// the file with example values. The page works without this file.
(function () {
  "use strict";
  // Custom CSV: enable only the input a row's "value from" uses.
  function syncRow(select) {
    var row = select.closest("tr");
    if (!row) { return; }
    var fixed = select.value === "fixed";
    var prop = row.querySelector('select[name$="-property"]');
    var text = row.querySelector('input[name$="-fixed"]');
    if (prop) { prop.disabled = fixed; }
    if (text) { text.disabled = !fixed; }
  }
  document.querySelectorAll('#custom-columns select[name$="-source"]').forEach(syncRow);

  var builder = document.getElementById("opt-custom-csv");
  if (builder) { customCsv(builder); }

  function customCsv(fieldset) {
    var table = document.getElementById("custom-columns");
    var body = table && table.tBodies[0];
    var count = fieldset.querySelector('input[name="columns"]');
    var live = document.getElementById("custom-live");
    var preview = document.getElementById("csv-preview");
    if (!body || !count) { return; }

    function rowsOf() { return Array.prototype.slice.call(body.rows); }

    function renumber() {
      var rows = rowsOf();
      rows.forEach(function (tr, i) {
        var n = i + 1;
        tr.setAttribute("data-row", String(i));
        tr.cells[0].textContent = String(n);
        tr.querySelectorAll("[id^=col-], [name^=col-], label[for^=col-]").forEach(function (el) {
          ["id", "name", "for"].forEach(function (attr) {
            var v = el.getAttribute(attr);
            if (v) { el.setAttribute(attr, v.replace(/^col-[0-9]+-/, "col-" + i + "-")); }
          });
        });
        tr.querySelectorAll("label").forEach(function (label) {
          label.textContent = label.textContent.replace(/Column [0-9]+/, "Column " + n);
        });
        tr.querySelectorAll("button[name=action]").forEach(function (b) {
          var what = b.value.replace(/-[0-9]+$/, "");
          b.value = what + "-" + i;
          var verb = { up: "Move column " + n + " up", down: "Move column " + n + " down", remove: "Remove column " + n }[what];
          if (verb) { b.setAttribute("aria-label", verb); }
          if (what === "up") { b.disabled = i === 0; }
          if (what === "down") { b.disabled = i === rows.length - 1; }
        });
      });
      count.value = String(rows.length);
      renderPreview();
    }

    function say(text) { if (live) { live.textContent = text; } }

    function addRow() {
      var rows = rowsOf();
      var last = rows[rows.length - 1];
      if (!last) { return null; }
      var tr = last.cloneNode(true);
      tr.querySelectorAll("input[type=text]").forEach(function (input) { input.value = ""; input.removeAttribute("value"); });
      var source = tr.querySelector('select[name$="-source"]');
      if (source) { source.value = "property"; }
      var prop = tr.querySelector('select[name$="-property"]');
      if (prop) { prop.selectedIndex = 0; }
      body.appendChild(tr);
      if (source) { syncRow(source); }
      return tr;
    }

    fieldset.addEventListener("click", function (event) {
      var b = event.target.closest("button[name=action]");
      if (!b || !fieldset.contains(b)) { return; }
      var m = /^(add|up|down|remove)(?:-([0-9]+))?$/.exec(b.value);
      if (!m) { return; }
      event.preventDefault();
      var rows = rowsOf();
      var i = m[2] === undefined ? -1 : parseInt(m[2], 10);
      var tr = rows[i];
      if (m[1] === "add") {
        var added = addRow();
        renumber();
        if (added) { added.querySelector("input[type=text]").focus(); say("Column " + rowsOf().length + " added."); }
      } else if (m[1] === "up" && tr && i > 0) {
        body.insertBefore(tr, rows[i - 1]);
        renumber();
        focusIn(tr, "up");
        say("Column moved up to position " + i + ".");
      } else if (m[1] === "down" && tr && i < rows.length - 1) {
        body.insertBefore(rows[i + 1], tr);
        renumber();
        focusIn(tr, "down");
        say("Column moved down to position " + (i + 2) + ".");
      } else if (m[1] === "remove" && tr) {
        var next = rows[i + 1] || rows[i - 1];
        tr.remove();
        renumber();
        if (next) { focusIn(next, "remove"); } else { fieldset.querySelector('button[value=add]').focus(); }
        say("Column " + (i + 1) + " removed.");
      }
    });

    function focusIn(tr, what) {
      var b = tr.querySelector('button[value^="' + what + '-"]');
      if (b && b.disabled) { b = tr.querySelector('button[value^="' + (what === "up" ? "down" : "up") + '-"]'); }
      if (b) { b.focus(); }
    }

    fieldset.addEventListener("change", function (event) {
      if (event.target.matches('select[name$="-source"]')) { syncRow(event.target); }
      renderPreview();
    });
    fieldset.addEventListener("input", renderPreview);

    // Example values (not your tokens): two TOTP tokens.
    var SECRETS = {
      hex: ["3132333435363738393031323334353637383930", "3132333435363738393031323334353637383931"],
      base32: ["GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJR"],
      base64: ["MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTE="]
    };
    var SAMPLES = [
      { serial: "10001001", kind: "TOTP", hash: "SHA1", digits: "6", time_step: "30", counter: "0",
        manufacturer: "Deepnet Security", model: "SafeID/Classic", po_number: "PO-EXAMPLE", invoice_number: "INV-EXAMPLE",
        shipment_number: "SHP-EXAMPLE-1" },
      { serial: "10001002", kind: "TOTP", hash: "SHA1", digits: "6", time_step: "30", counter: "0",
        manufacturer: "Deepnet Security", model: "SafeID/Classic", po_number: "PO-EXAMPLE", invoice_number: "INV-EXAMPLE",
        shipment_number: "SHP-EXAMPLE-1" }
    ];

    function field(name) { return fieldset.querySelector('[name="' + name + '"]'); }

    function cell(text, delimiter) {
      if (text.indexOf(delimiter) >= 0 || /["\r\n]/.test(text)) { return '"' + text.replace(/"/g, '""') + '"'; }
      return text;
    }

    function renderPreview() {
      if (!preview) { return; }
      var delimiter = { comma: ",", semicolon: ";", tab: "\t" }[(field("csv_delimiter") || {}).value] || ",";
      var encoding = (field("csv_encoding") || {}).value || "base32";
      var header = (field("csv_header") || {}).checked;
      var columns = rowsOf().map(function (tr) {
        var q = function (suffix) { return tr.querySelector('[name$="-' + suffix + '"]'); };
        return { label: q("label").value, fixed: q("source").value === "fixed", property: q("property").value, value: q("fixed").value };
      });
      var lines = [];
      if (header) { lines.push(columns.map(function (c) { return cell(c.label, delimiter); }).join(delimiter)); }
      SAMPLES.forEach(function (token, n) {
        lines.push(columns.map(function (c) {
          var v;
          if (c.fixed) { v = c.value; }
          else if (c.property === "secret") { v = (SECRETS[encoding] || SECRETS.base32)[n]; }
          else if (c.property === "otpauth_uri") { v = "otpauth://totp/" + token.serial + "?secret=" + SECRETS.base32[n] + "&digits=6&period=30"; }
          else { v = token[c.property] || ""; }
          return cell(v, delimiter);
        }).join(delimiter));
      });
      preview.textContent = lines.join("\n");
    }

    var section = document.getElementById("csv-preview-section");
    if (section) { section.hidden = false; }
    renderPreview();
  }
})();
