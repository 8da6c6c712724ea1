// Request wizard: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Focus the error summary, else the page heading, so screen readers start there.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  // Start page: a number whose shape names its kind (INV-…, SHP-…) selects that kind.
  var reference = document.getElementById("reference");
  if (reference && document.getElementById("kind-po")) {
    reference.addEventListener("input", function () {
      var v = reference.value.trim().toUpperCase();
      var kind = /^INV-[0-9]/.test(v) ? "invoice" : /^SHP-[0-9]/.test(v) ? "shipment" : null;
      if (kind) { document.getElementById("kind-" + kind).checked = true; }
    });
  }

  // Reveal controls that only work with JavaScript.
  document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });

  // "Select all shipments".
  document.querySelectorAll("[data-select-all]").forEach(function (button) {
    button.addEventListener("click", function () {
      var name = button.getAttribute("data-select-all");
      document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) { box.checked = true; });
    });
  });

  // Copy buttons for a suggested passphrase or a generated pre-shared key.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent.trim()).then(function () { button.textContent = "Copied"; });
      }
    });
  });

  // Protection: show only the sections the chosen protection needs.
  var protection = document.querySelectorAll('input[name="protection"]');
  function syncProtection() {
    var value = (document.querySelector('input[name="protection"]:checked') || {}).value;
    var pw = document.getElementById("password-section");
    var pgp = document.getElementById("pgp-section");
    if (pw) { pw.hidden = value === "pgp" || value === "pgp_armored"; }
    if (pgp) { pgp.hidden = value === "password"; }
  }
  protection.forEach(function (r) { r.addEventListener("change", syncProtection); });
  if (protection.length) { syncProtection(); }

  // Format: show only the options of the chosen format.
  var formats = document.querySelectorAll('input[name="format"]');
  function syncFormat() {
    var value = (document.querySelector('input[name="format"]:checked') || {}).value;
    document.querySelectorAll("[data-for-format]").forEach(function (section) {
      section.hidden = section.getAttribute("data-for-format") !== value;
    });
  }
  formats.forEach(function (r) { r.addEventListener("change", syncFormat); });
  if (formats.length) { syncFormat(); }
})();
