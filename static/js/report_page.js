// A report's page: apply a workflow action (acknowledge, start, resolve, reject, reopen) through the API.
(function () {
  var form = document.getElementById("transition");
  if (!form) { return; }
  var needsNote = (form.dataset.needsNote || "").split(",");
  var hint = document.getElementById("note-needed");
  function showHint() {
    var needed = needsNote.indexOf(form.action.value) >= 0;
    hint.hidden = !needed;
    form.note.required = needed;
  }
  form.action.addEventListener("change", showHint);
  showHint();
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    GIS.send("POST", form.dataset.url, { action: form.action.value, note: form.note.value }).then(function (res) {
      if (res.ok) { location.reload(); return; }
      document.getElementById("transition-error").textContent = res.data.error.message;
    });
  });
})();
