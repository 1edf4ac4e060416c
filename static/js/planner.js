// Planner map: layers as the catalog sets them (on or off at first, in its order), each with its opacity and its
// place in the stack; a shareable URL (#map=z/lat/lon&layers=a,b); identify popups by the catalog's aliases and
// formats; address search; measuring a distance or an area; printing the view with its legend, scale and date.
(function () {
  var script = document.currentScript;
  var text = script.dataset;
  var config = JSON.parse(document.getElementById("planner-config").textContent);
  var map = GIS.mapNamed(config.map);
  var toggles = Array.prototype.slice.call(document.querySelectorAll(".layer-toggle"));
  var loaded = {};
  var BASE_Z = 400;  // above the tiles (200) and the ward outlines (150), below markers (600) and popups

  function layerOf(name) { return window[config.layers[name].var]; }
  function visible() { return toggles.filter(function (t) { return t.checked; }).map(function (t) { return t.value; }); }
  function entries() { return Array.prototype.slice.call(document.querySelectorAll(".layer-entry")); }

  // One pane per layer, before any of it is drawn: its opacity is the pane's, its place in the stack the pane's
  // z-index. Features of a small layer draw on a canvas of their own in that pane.
  Object.keys(config.layers).forEach(function (name) {
    var paneName = "layer-" + name;
    map.createPane(paneName);
    var layer = layerOf(name);
    layer.options.pane = paneName;
    if (config.layers[name].kind === "geojson") {
      var renderer = L.canvas({ pane: paneName });
      layer.options.renderer = renderer;
      GIS.setLayerPane(name, { pane: paneName, renderer: renderer });
    }
  });

  function restack() {
    var list = entries();
    list.forEach(function (entry, i) {
      map.getPane("layer-" + entry.dataset.layer).style.zIndex = String(BASE_Z + list.length - i);
      entry.querySelector(".layer-up").disabled = i === 0;
      entry.querySelector(".layer-down").disabled = i === list.length - 1;
    });
  }

  // A small layer is fetched whole, once, the first time it is shown.
  function ensureLoaded(name) {
    var entry = config.layers[name];
    if (entry.kind !== "geojson" || loaded[name]) { return; }
    loaded[name] = true;
    fetch(entry.data, { headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) { layerOf(name).addData(data); GIS.labels(entry.style, layerOf(name)); });
  }

  function writeHash() {
    var c = map.getCenter();
    var state = "map=" + map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5) +
      "&layers=" + visible().map(encodeURIComponent).join(",");
    history.replaceState(null, "", "#" + state);
  }

  function readHash() {
    var params = new URLSearchParams(location.hash.slice(1));
    var view = (params.get("map") || "").split("/");
    if (view.length === 3 && view.every(function (v) { return isFinite(parseFloat(v)); })) {
      map.setView([parseFloat(view[1]), parseFloat(view[2])], parseInt(view[0], 10));
    }
    if (params.has("layers")) {
      var wanted = params.get("layers").split(",").filter(Boolean);
      toggles.forEach(function (t) { t.checked = wanted.indexOf(t.value) >= 0; });
    }
  }

  function apply() {
    toggles.forEach(function (t) {
      var layer = layerOf(t.value);
      if (t.checked) { ensureLoaded(t.value); }
      if (t.checked && !map.hasLayer(layer)) { layer.addTo(map); }
      if (!t.checked && map.hasLayer(layer)) { map.removeLayer(layer); }
    });
    writeHash();
  }

  GIS.addAreas(map, config.areas);
  GIS.sidePanel(document.getElementById("map-page"), map);
  restack();
  readHash();
  apply();
  toggles.forEach(function (t) { t.addEventListener("change", apply); });
  map.on("moveend", writeHash);
  window.addEventListener("hashchange", function () { readHash(); apply(); });

  // Opacity and order, per layer.
  document.querySelector(".layer-tree").addEventListener("input", function (e) {
    if (!e.target.classList.contains("layer-opacity")) { return; }
    var name = e.target.closest(".layer-entry").dataset.layer;
    map.getPane("layer-" + name).style.opacity = String(Number(e.target.value) / 100);
  });
  document.querySelector(".layer-tree").addEventListener("click", function (e) {
    var button = e.target.closest(".layer-up, .layer-down");
    if (!button) { return; }
    var entry = button.closest(".layer-entry");
    var list = entries();
    var i = list.indexOf(entry);
    var other = list[button.classList.contains("layer-up") ? i - 1 : i + 1];
    if (!other) { return; }
    // Across groups too: the stack is the order of the whole list, as shown.
    if (button.classList.contains("layer-up")) {
      other.parentNode.insertBefore(entry, other);
    } else {
      other.parentNode.insertBefore(entry, other.nextSibling);
    }
    restack();
    button.focus();
  });

  // Identify: the attributes of every visible layer at the clicked point, by the catalog's aliases and formats,
  // built as DOM text, never as HTML.
  map.on("click", function (e) {
    if (measuring) { return; }
    var names = visible();
    if (!names.length) { return; }
    var url = config.identify + "?lon=" + e.latlng.lng.toFixed(7) + "&lat=" + e.latlng.lat.toFixed(7) +
      "&tolerance_m=" + Math.max(2, Math.round(40 / Math.pow(2, map.getZoom() - 14))) +
      "&layers=" + names.map(encodeURIComponent).join(",");
    fetch(url).then(function (r) { return r.json(); }).then(function (body) {
      var box = GIS.el("div", "identify");
      (body.layers || []).forEach(function (hit) {
        var entry = config.layers[hit.layer] || {};
        var style = entry.style || {};
        var labels = style.by && style.labels ? { by: style.by, map: style.labels } : null;
        box.appendChild(GIS.el("h3", "", hit.title));
        hit.features.forEach(function (f) { box.appendChild(GIS.propertiesTable(f.properties, entry.attributes, labels)); });
      });
      if (!box.childNodes.length) { box.appendChild(GIS.el("p", "", text.nothing)); }
      L.popup(GIS.popupOptions({ maxWidth: 360, maxHeight: 320 })).setLatLng(e.latlng).setContent(box).openOn(map);
    });
  });

  var form = document.getElementById("place-search");
  var results = document.getElementById("search-results");
  var marker = null;
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = form.q.value.trim();
    if (q.length < 2) { return; }
    fetch(config.geocode + "?limit=8&areas=true&q=" + encodeURIComponent(q)).then(function (r) { return r.json(); })
      .then(function (body) {
        results.innerHTML = "";
        var places = body.places || [];
        if (!places.length) { results.appendChild(GIS.el("li", "", text.noneFound)); }
        places.forEach(function (p) {
          var li = document.createElement("li");
          var a = GIS.el("a", "", p.label);
          a.href = "#";
          a.addEventListener("click", function (e) {
            e.preventDefault();
            if (p.bbox) {
              map.flyToBounds([[p.bbox[1], p.bbox[0]], [p.bbox[3], p.bbox[2]]], { duration: 1.5 });
            } else {
              map.flyTo([p.lat, p.lon], 18, { duration: 1.5 });
            }
            if (marker) { map.removeLayer(marker); }
            marker = L.marker([p.lat, p.lon]).addTo(map).bindTooltip(GIS.esc(p.label));
            GIS.closeSidePanel(document.getElementById("map-page"));
          });
          li.appendChild(a);
          results.appendChild(li);
        });
      });
  });

  // -- measuring: Leaflet.draw's line and polygon tools, the result in metres or hectares --------------------
  var measured = L.featureGroup().addTo(map);
  var measuring = null;
  var result = document.getElementById("measure-result");
  var clear = document.getElementById("measure-clear");
  if (L.drawLocal) {
    L.drawLocal.draw.handlers.polyline.tooltip = { start: text.lineStart, cont: text.lineCont, end: text.lineEnd };
    L.drawLocal.draw.handlers.polygon.tooltip = { start: text.shapeStart, cont: text.shapeCont, end: text.shapeEnd };
  }

  function lengthText(metres) {
    return metres < 1000 ? GIS.formatNumber(Math.round(metres)) + " m" : GIS.formatNumber(metres / 1000, 2) + " km";
  }
  function areaText(m2) {
    return m2 < 10000 ? GIS.formatNumber(Math.round(m2)) + " m²" :
      GIS.formatNumber(m2 / 10000, 2) + " ha (" + GIS.formatNumber(Math.round(m2)) + " m²)";
  }

  function startMeasure(kind) {
    if (measuring) { measuring.disable(); }
    var shape = { color: "#c2185b", weight: 3, fillOpacity: 0.15 };
    measuring = kind === "area" ?
      new L.Draw.Polygon(map, { showArea: true, metric: true, shapeOptions: shape, allowIntersection: false }) :
      new L.Draw.Polyline(map, { metric: true, shapeOptions: shape });
    measuring.enable();
    GIS.closeSidePanel(document.getElementById("map-page"));
  }

  map.on(L.Draw.Event.CREATED, function (e) {
    measuring = null;
    measured.clearLayers();
    var latlngs = e.layer.getLatLngs();
    var line;
    if (e.layerType === "polygon") {
      var ring = latlngs[0];
      line = text.area + ": " + areaText(L.GeometryUtil.geodesicArea(ring));
    } else {
      var metres = 0;
      for (var i = 1; i < latlngs.length; i++) { metres += map.distance(latlngs[i - 1], latlngs[i]); }
      line = text.length + ": " + lengthText(metres);
    }
    e.layer.addTo(measured).bindTooltip(GIS.esc(line), { permanent: true, direction: "center", className: "measure-label" });
    result.textContent = line;
    clear.hidden = false;
  });
  map.on(L.Draw.Event.DRAWSTOP, function () { setTimeout(function () { measuring = null; }, 0); });
  document.getElementById("measure-distance").addEventListener("click", function () { startMeasure("distance"); });
  document.getElementById("measure-area").addEventListener("click", function () { startMeasure("area"); });
  clear.addEventListener("click", function () {
    measured.clearLayers();
    result.textContent = "";
    clear.hidden = true;
  });

  // -- printing: the map with the visible layers' legend, its scale bar and the day --------------------------
  function fillPrintLegend() {
    var box = document.getElementById("print-legend");
    box.textContent = "";
    box.appendChild(GIS.el("strong", "", text.legend));
    entries().forEach(function (entry) {
      var name = entry.dataset.layer;
      if (visible().indexOf(name) < 0) { return; }
      var item = GIS.el("div", "print-layer");
      var title = entry.querySelector(".layer-item").cloneNode(true);
      title.querySelectorAll("input").forEach(function (i) { i.remove(); });
      item.appendChild(title);
      var legend = entry.querySelector(".legend");
      if (legend) { item.appendChild(legend.cloneNode(true)); }
      box.appendChild(item);
    });
    document.getElementById("print-date").textContent = text.printed + ": " + GIS.formatDate(new Date().toISOString());
  }
  window.addEventListener("beforeprint", function () { fillPrintLegend(); map.invalidateSize(); });
  window.addEventListener("afterprint", function () { map.invalidateSize(); });
  document.getElementById("print-view").addEventListener("click", function () {
    fillPrintLegend();
    window.print();
  });

  // The link of this view (map, zoom, layers) to paste in a message; copied when the browser allows it.
  var share = document.getElementById("share-view");
  var shareUrl = document.getElementById("share-url");
  share.addEventListener("click", function () {
    writeHash();
    shareUrl.value = location.href;
    shareUrl.hidden = false;
    shareUrl.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(location.href).then(function () {
        document.getElementById("share-status").textContent = text.copied;
      }, function () { /* the selected link is there to copy by hand */ });
    }
  });

  // For the page's tests: the order of the stack, and a print legend as printing fills it.
  window.plannerMap = {
    stack: function () {
      return entries().map(function (e) { return [e.dataset.layer, Number(map.getPane("layer-" + e.dataset.layer).style.zIndex)]; });
    },
    fillPrintLegend: fillPrintLegend
  };
})();
