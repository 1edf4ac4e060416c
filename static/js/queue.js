// The work queue: a changed filter shows the list again (words are sent with Enter or the button); an AI alert is
// acknowledged or resolved from its row.
(function () {
  var form = document.getElementById("queue-filter");
  // On a phone the list comes first: the filters fold away unless a search is running.
  if (window.matchMedia("(max-width: 700px)").matches && !form.q.value) {
    document.getElementById("filters-box").open = false;
  }
  form.addEventListener("change", function (e) {
    if (e.target.name !== "q") { form.requestSubmit(); }
  });
  var table = document.getElementById("alert-table");
  if (!table) { return; }
  table.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-action]");
    if (!button) { return; }
    var row = button.closest("tr");
    button.disabled = true;
    var url = table.dataset.transition.replace(/\/0\/transition$/, "/" + row.dataset.alert + "/transition");
    GIS.send("POST", url, { action: button.dataset.action }).then(function (res) {
      if (res.ok) { location.reload(); return; }
      button.disabled = false;
      document.getElementById("alert-error").textContent = (res.data.error || {}).message || String(res.status);
    });
  });
})();
