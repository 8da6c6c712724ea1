// Download page: fetch the file in the page, so it can say what happened (the error cleared,
// one download fewer, the password field empty) and a double click spends one download.
// Without this file the form posts as usual and the browser saves the file.
(function () {
  "use strict";
  if (!window.fetch || !window.URLSearchParams || !window.Blob) { return; }

  function fileName(disposition, fallback) {
    var m = /filename="([^"]+)"/.exec(disposition || "");
    return m ? m[1] : fallback;
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(url); a.remove(); }, 60000);
  }

  function init() {
    var form = document.getElementById("download-form");
    if (!form) { return; }
    var button = form.querySelector("button[type=submit]");
    var label = button.textContent;
    var busy = false;

    function setBusy(on) {
      busy = on;
      button.disabled = on;
      button.setAttribute("aria-busy", on ? "true" : "false");
      button.textContent = on ? (button.getAttribute("data-busy") || label) : label;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) { return; }
      setBusy(true);
      fetch(window.location.href, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin"
      }).then(function (resp) {
        var disposition = resp.headers.get("Content-Disposition") || "";
        if (resp.ok && /attachment/i.test(disposition)) {
          return resp.blob().then(function (blob) { delivered(form, blob, disposition); setBusy(false); });
        }
        return resp.text().then(function (html) { replaceMain(html); });
      }).catch(function () {
        setBusy(false);
        var error = document.getElementById("download-error") || document.createElement("div");
        error.id = "download-error";
        error.className = "errors";
        error.setAttribute("role", "alert");
        error.textContent = "The download was interrupted. Check your connection and try again.";
        form.parentNode.insertBefore(error, form);
      });
    });
  }

  function delivered(form, blob, disposition) {
    var nameEl = document.getElementById("file-name");
    var name = fileName(disposition, nameEl ? nameEl.textContent.trim() : "seed-file");
    save(blob, name);
    var error = document.getElementById("download-error");
    if (error) { error.remove(); }
    var password = document.getElementById("password");
    if (password) { password.value = ""; }
    // The form now stands for the next download: a press of it must spend one.
    var seen = form.querySelector('input[name="seen"]');
    if (seen) { seen.value = String((parseInt(seen.value, 10) || 0) + 1); }
    var left = document.getElementById("downloads-left");
    var remaining = null;
    if (left) {
      remaining = Math.max(0, parseInt(left.textContent, 10) - 1);
      if (!isNaN(remaining)) { left.textContent = String(remaining); }
    }
    var done = document.getElementById("downloaded");
    if (done) {
      done.textContent = "Your browser is saving " + name + ". Next: open it as described below, then use the confirmation link in the email." +
        (remaining === 0 ? " That was the last download this link allows." : "");
      done.hidden = false;
    }
    if (remaining === 0) { form.hidden = true; }
  }

  // A refused download (wrong password, link used up) answers with a page: show its content.
  function replaceMain(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelector("main");
    var main = document.querySelector("main");
    if (!fresh || !main) { document.location.reload(); return; }
    main.innerHTML = fresh.innerHTML;
    document.title = doc.title;
    init();
    var focus = document.getElementById("download-error") || main.querySelector("[role=alert]") || main;
    if (focus.tabIndex < 0) { focus.setAttribute("tabindex", "-1"); }
    focus.focus();
  }

  init();
})();
