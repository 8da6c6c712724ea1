// Every page: a form that is being sent says so (the pressed button shows it is busy) and a
// second press does not send it again. Pages work the same without this file.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) { return; }
    if (form.hasAttribute("data-no-busy") || (form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
    if (form.hasAttribute("data-submitting")) { event.preventDefault(); return; }
    form.setAttribute("data-submitting", "");
    var button = event.submitter || form.querySelector("button[type=submit]");
    if (!button) { return; }
    button.setAttribute("aria-busy", "true");
    form.setAttribute("aria-busy", "true");
    var busy = button.getAttribute("data-busy");
    if (busy) {
      button.setAttribute("data-label", button.textContent);
      button.textContent = busy;
    }
    // Disabled once the browser has taken the form's data, so a named button still sends
    // its value; until then the data-submitting check holds back a second press.
    window.setTimeout(function () { button.disabled = true; }, 0);
  });
  // Back to a page the browser kept: ready again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitting]").forEach(function (form) {
      form.removeAttribute("data-submitting");
      form.removeAttribute("aria-busy");
    });
    document.querySelectorAll("button[aria-busy=true]").forEach(function (button) {
      button.removeAttribute("aria-busy");
      button.disabled = false;
      if (button.hasAttribute("data-label")) { button.textContent = button.getAttribute("data-label"); }
    });
  });
})();
