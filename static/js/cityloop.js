// Page helpers shared by the staff pages (no framework besides htmx).
(function () {
  // After an htmx swap, move focus to the message the server marked (success, error), for keyboard and
  // screen-reader users.
  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target && document.getElementById(event.detail.target.id);
    const scope = target || document;
    const focus = scope.querySelector("[data-autofocus]");
    if (focus) focus.focus();
  });

  // "Select all" in the case table selects the cases that can be dispatched in bulk.
  document.addEventListener("change", function (event) {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
    document.querySelectorAll("input[data-bulk]").forEach(function (el) { el.checked = box.checked; });
  });

  // Disable a submit button while its htmx request runs (no double posts).
  document.addEventListener("htmx:beforeRequest", function (event) {
    const form = event.detail.elt;
    if (form && form.tagName === "FORM") form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const form = event.detail.elt;
    if (form && form.tagName === "FORM") form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
  });
})();

// Leave empty filter fields out of GET requests (and so out of the address bar).
document.addEventListener("htmx:configRequest", function (event) {
  if (event.detail.verb !== "get") return;
  const params = event.detail.parameters;
  Object.keys(params).forEach(function (key) {
    const value = params[key];
    if (value === "" || (Array.isArray(value) && value.every(function (v) { return v === ""; }))) delete params[key];
  });
});
