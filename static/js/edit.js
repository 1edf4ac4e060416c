// The feature editor: select a feature to move its vertices (snapping to the layer's other features) and edit its
// attributes in a form that follows the layer's schema; draw new features; delete. The server checks each change
// as it is made (PostGIS ST_IsValid, with its reason) and every save goes through OGC API - Features Part 4 with
// the feature's ETag. Undo walks back this session's changes, saved ones included (as new versions).
(function () {
  var text = document.currentScript.dataset;
  var cfg = WS.config("edit-config");
  var entry = cfg.layer;
  var $ = function (id) { return document.getElementById(id); };
  var style = entry.style || {};
  var bigLayer = entry.count > 3000;
  var MIN_ZOOM_BIG = 16;

  var m = WS.map("edit-map");
  GIS.addAreas(m, cfg.areas);
  WS.fit(m, [entry]);
  m.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: true });
  var shape = /Point/.test(cfg.geometry) ? "point" : /Line/.test(cfg.geometry) ? "line" : /Polygon/.test(cfg.geometry)
    ? "polygon" : "any";
  m.pm.addControls({
    position: "topleft", drawMarker: false, drawCircle: false, drawCircleMarker: shape === "point" || shape === "any",
    drawPolyline: shape === "line" || shape === "any", drawRectangle: false,
    drawPolygon: shape === "polygon" || shape === "any", drawText: false, editMode: false, dragMode: false,
    cutPolygon: false, removalMode: false, rotateMode: false
  });

  var features = L.geoJSON(null, {
    style: function (f) { return GIS.style(style, f.properties, f.geometry.type); },
    pointToLayer: function (f, at) { return L.circleMarker(at, GIS.style(style, f.properties, f.geometry.type)); },
    onEachFeature: function (f, layer) { layer.on("click", function (e) { L.DomEvent.stop(e); select(layer); }); }
  }).addTo(m);
  var byId = {};
  // {layer, fid (null when new), etag, loaded: the GET that brings the etag, before: Feature as it was when selected}
  var selected = null;
  var undoStack = [];

  function load() {
    if (bigLayer && m.getZoom() < MIN_ZOOM_BIG) { $("edit-hint").textContent = text.zoom; return; }
    var extra = "";
    if (bigLayer) {
      var b = m.getBounds();
      extra = "bbox=" + [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); })
        .join(",");
    }
    GIS.getJSON(WS.itemsUrl(entry, extra)).then(function (data) {
      data.features.forEach(function (f) {
        if (byId[f.id]) { return; }
        features.addData(f);
        var layers = features.getLayers();
        byId[f.id] = layers[layers.length - 1];
      });
    });
  }
  m.on("moveend", function () { if (bigLayer) { load(); } });
  load();

  // -- the attribute form, built from the layer's schema -------------------------------------------------------
  function field(attribute, value) {
    var label = GIS.el("label", "", attribute.name + (attribute.required ? " *" : ""));
    var input;
    if (attribute.values && attribute.values.length) {
      input = document.createElement("select");
      var blank = GIS.el("option", "", text.empty);
      blank.value = "";
      input.appendChild(blank);
      attribute.values.forEach(function (v) {
        var option = GIS.el("option", "", v);
        option.value = String(v);
        input.appendChild(option);
      });
    } else if (attribute.type === "boolean") {
      input = document.createElement("select");
      [["", text.empty], ["true", text.yes], ["false", text.no]].forEach(function (pair) {
        var option = GIS.el("option", "", pair[1]);
        option.value = pair[0];
        input.appendChild(option);
      });
    } else {
      input = document.createElement("input");
      input.type = { integer: "number", bigint: "number", double: "number", date: "date",
                     timestamp: "datetime-local" }[attribute.type] || "text";
      if (attribute.type === "double") { input.step = "any"; }
      if (attribute.type === "timestamp") { input.step = "1"; }
    }
    input.name = "attr:" + attribute.name;
    input.dataset.type = attribute.type;
    input.required = !!attribute.required;
    input.value = value === null || value === undefined ? "" : String(value).replace(/Z$/, "").slice(0, 19);
    label.appendChild(input);
    return label;
  }

  function formProperties() {
    var out = {};
    cfg.attributes.forEach(function (a) {
      var input = $("feature-form").elements["attr:" + a.name];
      var raw = input.value;
      var value = raw === "" ? null : raw;
      if (value !== null && (a.type === "integer" || a.type === "bigint")) { value = parseInt(raw, 10); }
      if (value !== null && a.type === "double") { value = parseFloat(raw); }
      if (value !== null && a.type === "boolean") { value = raw === "true"; }
      out[a.name] = value;
    });
    return out;
  }

  function showForm(properties) {
    var box = $("attribute-fields");
    box.textContent = "";
    cfg.attributes.forEach(function (a) { box.appendChild(field(a, properties ? properties[a.name] : null)); });
    $("feature-form").hidden = false;
    $("feature-title").textContent = selected.fid ? text.feature + " #" + selected.fid : text.new;
    $("delete").hidden = !selected.fid;
    $("feature-history").hidden = !selected.fid;
    if (selected.fid) { $("feature-history").href = cfg.versions + selected.fid; }
  }

  // -- selecting and reshaping ---------------------------------------------------------------------------------
  function snapshot(layer) { return layer.toGeoJSON().geometry; }

  function select(layer) {
    if (selected && selected.layer === layer) { return; }
    deselect();
    var fid = layer.feature && layer.feature.id !== undefined ? layer.feature.id : null;
    selected = { layer: layer, fid: fid, etag: null, loaded: null, before: fid ? layer.toGeoJSON() : null };
    if (layer.pm) {
      layer.pm.enable({ snappable: true, allowSelfIntersection: true });
      layer.on("pm:markerdragstart", function () { selected.dragFrom = snapshot(layer); });
      layer.on("pm:edit", function () {
        if (selected && selected.dragFrom) {
          undoStack.push({ kind: "shape", layer: layer, geometry: selected.dragFrom });
          selected.dragFrom = null;
          showUndo();
        }
        check();
      });
    }
    if (layer.setStyle) { layer.setStyle({ color: "#ff7800", weight: 4 }); }
    showForm(layer.feature ? layer.feature.properties : {});
    if (fid) {
      // The version being edited: every save and delete names it (If-Match), so that another planner's change in
      // between is refused (412) instead of overwritten.
      var mine = selected;
      mine.loaded = WS.request("GET", entry.items + "/" + fid).then(function (r) {
        if (r.ok) { mine.etag = r.headers.get("ETag"); }
        return r;
      });
    }
    check();
  }

  // Unsaved reshaping is dropped with the selection (the feature goes back to its saved shape).
  function deselect() {
    if (!selected) { return; }
    var layer = selected.layer;
    var was = selected;
    if (layer.pm) { layer.pm.disable(); }
    layer.off("pm:edit pm:markerdragstart");
    var unsaved = undoStack.some(function (step) { return step.kind === "shape" && step.layer === layer; });
    undoStack = undoStack.filter(function (step) { return step.kind !== "shape"; });
    selected = null;
    if (!was.fid) {
      m.removeLayer(layer);
    } else if (unsaved && !was.saved) {
      replaceOnMap(layer, was.before);
    } else {
      features.resetStyle(layer);
    }
    showUndo();
    $("feature-form").hidden = true;
    $("validity").textContent = "";
  }
  $("deselect").addEventListener("click", deselect);

  function currentFeature() {
    return { type: "Feature", geometry: snapshot(selected.layer), properties: formProperties() };
  }

  var checkTimer = null;
  function check() {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(function () {
      if (!selected) { return; }
      WS.request("POST", cfg.check, currentFeature()).then(function (r) {
        var box = $("validity");
        var ok = r.ok && r.data.valid;
        box.className = "validity " + (ok ? "valid" : "invalid");
        box.textContent = ok ? text.valid : (r.ok ? r.data.problems.map(function (p) { return p.message; }).join(" · ")
          : WS.errorText(r));
      });
    }, 250);
  }
  $("attribute-fields").addEventListener("input", check);
  $("attribute-fields").addEventListener("change", check);

  m.on("pm:create", function (e) {
    var layer = e.layer;
    layer.feature = { type: "Feature", properties: {} };
    if (e.shape === "CircleMarker" && layer.setStyle) { layer.setStyle(GIS.style(style, {}, "Point")); }
    select(layer);
  });

  // -- saving, deleting, undoing -------------------------------------------------------------------------------
  function comment() {
    var value = $("feature-form").elements.comment.value;
    return value ? "?comment=" + encodeURIComponent(value) : "";
  }

  function done(message) {
    $("edit-error").textContent = "";
    $("edit-done").textContent = message;
    showUndo();
  }

  function failed(r) {
    $("edit-done").textContent = "";
    $("edit-error").textContent = r.status === 412 ? text.stale : WS.errorText(r);
  }

  function replaceOnMap(layer, feature) {
    var fresh = null;
    if (layer) { features.removeLayer(layer); m.removeLayer(layer); }
    if (feature) {
      features.addData(feature);
      var layers = features.getLayers();
      fresh = layers[layers.length - 1];
      byId[feature.id] = fresh;
    }
    return fresh;
  }

  // Runs *send* once the selected feature's version is known; says why not when it could not be read.
  function withVersion(was, send) {
    if (!was.fid) { send(); return; }
    was.loaded.then(function (r) {
      if (!was.etag) { failed(r); return; }
      send();
    });
  }

  $("feature-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var feature = currentFeature();
    var was = selected;
    withVersion(was, function () { save(was, feature); });
  });

  function save(was, feature) {
    var creating = !was.fid;
    var url = creating ? entry.items + comment() : entry.items + "/" + was.fid + comment();
    var headers = creating ? { "Content-Type": "application/geo+json" }
      : { "Content-Type": "application/geo+json", "If-Match": was.etag };
    WS.request(creating ? "POST" : "PUT", url, feature, headers).then(function (r) {
      if (!r.ok) {
        failed(r);
        if (r.status === 412 && r.data && r.data.error.details.current) {
          deselect();
          select(replaceOnMap(byId[was.fid], r.data.error.details.current));
        }
        return;
      }
      // Undo names the version this save made: if someone changed the feature since, it is refused, not lost.
      var made = r.headers.get("ETag");
      undoStack.push(creating ? { kind: "created", fid: r.data.id, etag: made }
        : { kind: "updated", fid: was.fid, before: was.before, etag: made });
      was.saved = true;
      deselect();
      replaceOnMap(creating ? null : byId[was.fid], r.data);
      done(text.saved);
    });
  }

  $("delete").addEventListener("click", function () {
    var was = selected;
    withVersion(was, function () { remove(was); });
  });

  function remove(was) {
    WS.request("DELETE", entry.items + "/" + was.fid + comment(), undefined, { "If-Match": was.etag })
      .then(function (r) {
        if (!r.ok) { failed(r); return; }
        undoStack.push({ kind: "deleted", fid: was.fid, version: Number((was.etag || "").replace(/"/g, "")) });
        deselect();
        replaceOnMap(byId[was.fid], null);
        delete byId[was.fid];
        done(text.deleted);
      });
  }

  function showUndo() {
    $("undo").disabled = undoStack.length === 0;
    $("undo-count").textContent = undoStack.length ? undoStack.length + " " + text.steps : "";
  }

  $("undo").addEventListener("click", function () {
    var step = undoStack.pop();
    showUndo();
    if (!step) { return; }
    if (step.kind === "shape") {
      // An unsaved vertex move: the shape goes back, the feature stays selected.
      var back = L.GeoJSON.geometryToLayer({ type: "Feature", geometry: step.geometry });
      if (step.layer.setLatLngs && back.getLatLngs) { step.layer.setLatLngs(back.getLatLngs()); }
      if (step.layer.setLatLng && back.getLatLng) { step.layer.setLatLng(back.getLatLng()); }
      if (step.layer.pm && step.layer.pm.enabled()) { step.layer.pm.disable(); step.layer.pm.enable(); }
      check();
      return;
    }
    var itemUrl = entry.items + "/" + step.fid + "?comment=" + encodeURIComponent("undo");
    var request;
    if (step.kind === "created") {
      request = WS.request("DELETE", itemUrl, undefined, { "If-Match": step.etag });
    } else if (step.kind === "updated") {
      request = WS.request("PUT", itemUrl, { type: "Feature", geometry: step.before.geometry,
                                             properties: step.before.properties },
                           { "Content-Type": "application/geo+json", "If-Match": step.etag });
    } else {
      request = WS.request("POST", cfg.restore.replace("FID", step.fid), { version: step.version, comment: "undo" });
    }
    request.then(function (r) {
      if (!r.ok) { failed(r); return; }
      deselect();
      if (step.kind === "created") {
        replaceOnMap(byId[step.fid], null);
        delete byId[step.fid];
        done(text.undone);
        return;
      }
      GIS.getJSON(entry.items + "/" + step.fid).then(function (feature) {
        replaceOnMap(byId[step.fid], feature);
        done(text.undone);
      });
    });
  });

  m.on("click", function () { if (selected && selected.fid) { deselect(); } });
})();
