// The progress bar of a background export: poll the job's status every second
// until it is done (show the download link) or failed (show the message).
// A static file, no inline script, so the Content-Security-Policy holds.
(function () {
  var box = document.getElementById("export-job");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("job-progress");
  function show(status) {
    bar.value = status.percent;
    bar.textContent = status.percent + "%";
    document.getElementById("job-percent").textContent = status.percent + "%";
    document.getElementById("job-steps").textContent = status.done + "/" + status.total;
    document.getElementById("job-state").textContent = status.label;
    box.setAttribute("data-state", status.state);
    if (status.state === "done") {
      document.getElementById("job-download").hidden = false;
    }
    if (status.state === "failed") {
      var error = document.getElementById("job-error");
      error.textContent = status.error || "";
      error.hidden = false;
    }
    return status.state === "queued" || status.state === "running";
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        if (show(status)) {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  var state = box.getAttribute("data-state");
  if (state === "queued" || state === "running") {
    window.setTimeout(poll, 500);
  }
})();
