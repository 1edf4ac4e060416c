// A planning project's page: its layers on a map over the ward outlines; planners upload documents and edit it.
(function () {
  var cfg = WS.config("project-config");
  var m = WS.map("project-map");
  GIS.addAreas(m, cfg.areas);
  cfg.layers.forEach(function (entry) { WS.layer(entry).addTo(m); });
  WS.fit(m, cfg.layers);

  var documentForm = document.getElementById("document-form");
  if (documentForm) {
    documentForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = document.getElementById("document-error");
      error.textContent = "";
      WS.request("POST", cfg.documents, new FormData(documentForm)).then(function (result) {
        if (result.ok) { window.location.reload(); } else { error.textContent = WS.errorText(result); }
      });
    });
  }

  var projectForm = document.getElementById("project-form");
  if (projectForm) {
    projectForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = document.getElementById("project-error");
      var f = projectForm.elements;
      var body = {
        name: f.name.value, description: f.description.value, decision_number: f.decision_number.value || null,
        decision_date: f.decision_date.value || null, approving_body: f.approving_body.value || null,
        status: f.status.value,
        areas: Array.prototype.filter.call(f.areas.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; }),
        layers: f.layers.value.split(/\s+/).filter(function (n) { return n; })
      };
      WS.request("PATCH", cfg.api, body).then(function (result) {
        if (result.ok) { window.location.reload(); } else { error.textContent = WS.errorText(result); }
      });
    });
  }
})();
