// Irreversible steps ask first: a form with data-confirm submits only after the
// user accepts its message (no inline script, so the Content-Security-Policy holds).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var message = form.getAttribute && form.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
}, true);
