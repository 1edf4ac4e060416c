// The upload page: the file goes up with a progress bar, the import's steps are polled while the server reads
// it, a choice (layer, coordinate system) is asked for when the file needs one, and the report is shown before
// the planner publishes or discards the import.
(function () {
  var script = document.currentScript;
  var text = script.dataset;
  var cfg = WS.config("upload-config");
  var STEPS = { upload: 1, read: 2, store: 3, ready: 4 };
  var current = null;
  var polling = null;
  var $ = function (id) { return document.getElementById(id); };

  function showError(message) { $("upload-error").textContent = message || ""; }

  function stepLabel(imp) {
    var label = { upload: text.stepUpload, read: text.stepRead, store: text.stepStore, ready: text.stepReady,
                  failed: text.stepFailed, needs_choice: text.stepNeedsChoice }[imp.step] || imp.step;
    var last = imp.steps && imp.steps[imp.steps.length - 1];
    if (imp.step === "store" && last && last.detail && last.detail.of) {
      label += " " + last.detail.rows + " / " + last.detail.of + " " + text.rows;
    }
    return label;
  }

  function showProgress(imp) {
    $("import-bar").value = STEPS[imp.step] || (imp.status === "ready" ? 4 : $("import-bar").value);
    $("import-text").textContent = stepLabel(imp);
    $("import-text").dataset.step = imp.step;
  }

  function poll(id) {
    stopPolling();
    polling = setInterval(function () {
      WS.request("GET", cfg.imports + "/" + id).then(function (r) { if (r.ok) { showProgress(r.data); } });
    }, 400);
  }
  function stopPolling() { if (polling) { clearInterval(polling); polling = null; } }

  function sendFile(file) {
    showError("");
    ["choice-form", "report"].forEach(function (id) { $(id).hidden = true; });
    $("progress").hidden = false;
    $("file-label").textContent = file.name + " · " + GIS.formatNumber(Math.round(file.size / 1024)) + " KB";
    $("upload-bar").value = 0;
    $("import-bar").value = 0;
    WS.request("POST", cfg.imports, { file_name: file.name, bytes: file.size, replace: cfg.replace })
      .then(function (created) {
        if (!created.ok) { showError(WS.errorText(created)); return; }
        current = created.data;
        var form = new FormData();
        form.append("file", file);
        var xhr = new XMLHttpRequest();
        xhr.open("PUT", cfg.imports + "/" + current.id + "/file");
        xhr.setRequestHeader("X-CSRFToken", document.querySelector("meta[name=csrf-token]").content);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.addEventListener("progress", function (e) {
          if (e.lengthComputable) {
            $("upload-bar").value = Math.round(100 * e.loaded / e.total);
            $("upload-text").textContent = $("upload-bar").value + " %";
          }
        });
        // Once the bytes are up, the server reads the file: its steps come from polling the import.
        xhr.upload.addEventListener("load", function () { poll(current.id); });
        xhr.addEventListener("load", function () {
          stopPolling();
          $("upload-bar").value = 100;
          $("upload-text").textContent = "100 %";
          var data = null;
          try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
          if (xhr.status >= 400) { showError(WS.errorText({ status: xhr.status, data: data })); return; }
          shown(data);
        });
        xhr.addEventListener("error", function () { stopPolling(); showError("network error"); });
        xhr.send(form);
      });
  }

  function shown(imp) {
    current = imp;
    showProgress(imp);
    $("choice-form").hidden = imp.status !== "needs_choice";
    $("report").hidden = imp.status !== "ready";
    showError(imp.status === "failed" && imp.error ? imp.error.message : "");
    if (imp.status === "needs_choice") { askChoice(imp); }
    if (imp.status === "ready") { showReport(imp.report); }
  }

  function askChoice(imp) {
    var form = $("choice-form");
    var layerChoice = imp.report.choice === "layer";
    $("choice-reason").textContent = layerChoice ? text.chooseLayer : text.chooseCrs;
    $("choice-layer").hidden = !layerChoice;
    $("choice-crs").hidden = layerChoice;
    var select = layerChoice ? form.elements.layer : form.elements.province;
    select.textContent = "";
    if (!layerChoice) { select.appendChild(GIS.el("option", "", "")); }
    (layerChoice ? imp.report.layers : imp.report.provinces).forEach(function (value) {
      var option = GIS.el("option", "", value);
      option.value = value;
      select.appendChild(option);
    });
  }

  $("choice-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var f = $("choice-form").elements;
    var body = $("choice-layer").hidden ? { province: f.province.value, crs: f.crs.value } : { layer: f.layer.value };
    poll(current.id);
    WS.request("POST", cfg.imports + "/" + current.id + "/read", body).then(function (r) {
      stopPolling();
      if (!r.ok) { showError(WS.errorText(r)); return; }
      shown(r.data);
    });
  });

  function showReport(report) {
    var counts = report.counts;
    $("count-read").textContent = counts.read;
    $("count-stored").textContent = counts.stored;
    $("count-repaired").textContent = counts.repaired;
    $("count-dropped").textContent = counts.dropped;
    $("report-geometry").textContent = report.geometry_type;
    $("report-crs").textContent = report.source_crs;
    var reasons = $("dropped-reasons");
    reasons.textContent = "";
    Object.keys(counts.dropped_reasons || {}).forEach(function (reason) {
      reasons.appendChild(GIS.el("li", "", counts.dropped_reasons[reason] + " · " + reason));
    });
    var names = report.attributes.map(function (a) { return a.name; });
    var head = $("preview").querySelector("thead");
    var body = $("preview").querySelector("tbody");
    head.textContent = "";
    body.textContent = "";
    var row = document.createElement("tr");
    names.forEach(function (n) { row.appendChild(GIS.el("th", "", n)); });
    head.appendChild(row);
    report.preview.forEach(function (values) {
      var tr = document.createElement("tr");
      names.forEach(function (n) { tr.appendChild(GIS.el("td", "", values[n] === null ? "" : values[n])); });
      body.appendChild(tr);
    });
    var form = $("publish-form");
    if (form.elements.name && !form.elements.name.value) {
      var base = current.file_name.replace(/\.[^.]+$/, "").toLowerCase().normalize("NFD")
        .replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
      form.elements.name.value = base.slice(0, 63) || "layer";
      form.elements.title.value = current.file_name.replace(/\.[^.]+$/, "");
    }
  }

  $("publish-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var f = $("publish-form").elements;
    var body = {};
    ["name", "title", "category", "visibility", "description", "comment"].forEach(function (key) {
      if (f[key] && f[key].value !== "") { body[key] = f[key].value; }
    });
    WS.request("POST", cfg.imports + "/" + current.id + "/publish", body).then(function (r) {
      if (!r.ok) { showError(WS.errorText(r)); return; }
      window.location = cfg.layer_page.replace("NAME", encodeURIComponent(r.data.published_layer));
    });
  });

  $("discard").addEventListener("click", function () {
    WS.request("DELETE", cfg.imports + "/" + current.id).then(function (r) {
      $("report").hidden = true;
      showError(r.ok ? "" : WS.errorText(r));
      $("import-text").textContent = r.ok ? text.discarded : $("import-text").textContent;
    });
  });

  var zone = $("dropzone");
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (e) {
    if (e.dataTransfer.files.length) { sendFile(e.dataTransfer.files[0]); }
  });
  $("file-input").addEventListener("change", function (e) {
    if (e.target.files.length) { sendFile(e.target.files[0]); }
  });
})();
