// A report's page: the workflow step (closing it needs the answer the resident reads, with photos of the fix if
// any), handing it to another unit, merging (into a flagged duplicate in one click, or into a report by its code),
// moving it by dragging the pin. Everything goes through the same API, with the same rules.
(function () {
  var script = document.currentScript;
  var config = JSON.parse(document.getElementById("report-config").textContent);

  function failed(node, res) {
    node.textContent = (res.data && res.data.error && res.data.error.message) || String(res.status);
  }

  function mergeInto(mainId, duplicates, errorNode) {
    var url = config.merge.replace(/\/0\/merge$/, "/" + mainId + "/merge");
    return GIS.send("POST", url, { duplicates: duplicates }).then(function (res) {
      if (res.ok) { location.href = config.page.replace(/0$/, String(mainId)); return; }
      failed(errorNode, res);
    });
  }

  // The workflow step, as multipart so that photos of the fix can go with "resolve".
  var form = document.getElementById("transition");
  if (form) {
    var label = form.querySelector(".note-label");
    var photos = form.querySelector(".fix-photos");
    var hint = document.getElementById("note-needed");
    var update = function () {
      var action = form.action.value;
      var answer = config.answers.indexOf(action) >= 0;
      label.textContent = answer ? label.dataset.answer : label.dataset.note;
      form.note.required = config.needsNote.indexOf(action) >= 0;
      hint.hidden = !form.note.required;
      photos.hidden = action !== "resolve";
    };
    form.action.addEventListener("change", update);
    update();
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var data = new FormData(form);
      if (photos.hidden) { data.delete("photos"); }
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      fetch(config.transition, { method: "POST", body: data, credentials: "same-origin",
                                 headers: { "X-CSRFToken": document.querySelector("meta[name=csrf-token]").content } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, status: r.status, data: body }; }); })
        .then(function (res) {
          if (res.ok) { location.reload(); return; }
          button.disabled = false;
          failed(document.getElementById("transition-error"), res);
        });
    });
  }

  var reassign = document.getElementById("reassign");
  if (reassign) {
    reassign.addEventListener("submit", function (e) {
      e.preventDefault();
      GIS.send("POST", config.reassign, { unit: reassign.unit.value, reason: reassign.reason.value }).then(function (res) {
        if (res.ok) { location.reload(); return; }
        failed(reassign.querySelector(".error-message"), res);
      });
    });
  }

  var flagged = document.getElementById("merge-flagged");
  if (flagged) {
    flagged.addEventListener("click", function () {
      flagged.disabled = true;
      var box = document.getElementById("flagged-duplicate");
      var error = box.querySelector(".error-message") || box.appendChild(GIS.el("p", "error-message"));
      mergeInto(Number(flagged.dataset.main), [config.id], error).then(function () { flagged.disabled = false; });
    });
  }
  var twins = document.getElementById("merge-twins");
  if (twins) {
    twins.addEventListener("click", function () {
      twins.disabled = true;
      var box = document.getElementById("flagged-twins");
      var error = box.querySelector(".error-message") || box.appendChild(GIS.el("p", "error-message"));
      mergeInto(config.id, twins.dataset.ids.split(",").map(Number), error).then(function () { twins.disabled = false; });
    });
  }

  // Merge into a report named by its tracking code: found among the reports the officer may see.
  var into = document.getElementById("merge-into");
  if (into) {
    into.addEventListener("submit", function (e) {
      e.preventDefault();
      var error = into.querySelector(".error-message");
      var code = into.code.value.replace(/\s+/g, "").toUpperCase();
      if (code === config.code) { error.textContent = script.dataset.same; return; }
      GIS.getJSON(config.find + "?per_page=5&q=" + encodeURIComponent(code)).then(function (body) {
        var main = (body.items || []).filter(function (r) { return r.tracking_code === code; })[0];
        if (!main) { error.textContent = script.dataset.notFound; return; }
        mergeInto(main.id, [config.id], error);
      });
    });
  }

  // Moving: drag the pin, say why, save.
  if (config.marker && window[config.marker] && window[config.marker].dragging) {
    var marker = window[config.marker];
    var map = window[config.map];
    var from = marker.getLatLng();
    marker.on("dragend", function () {
      var to = marker.getLatLng();
      var node = document.getElementById("move-form").content.firstElementChild.cloneNode(true);
      var popup = L.popup(GIS.popupOptions({ minWidth: 220, closeOnClick: false })).setLatLng(to).setContent(node)
        .openOn(map);
      var saved = false;
      popup.on("remove", function () { if (!saved) { marker.setLatLng(from); } });
      node.querySelector("[name=cancel]").addEventListener("click", function () { map.closePopup(popup); });
      node.addEventListener("submit", function (ev) {
        ev.preventDefault();
        GIS.send("PATCH", config.move, { lon: to.lng, lat: to.lat, reason: node.reason.value }).then(function (res) {
          if (!res.ok) { failed(node.querySelector(".error-message"), res); return; }
          saved = true;
          location.reload();
        });
      });
    });
  }
})();
