// The style editor: single symbol, categories of an attribute's values (found in the data) or graduated classes of
// a number (breaks computed by the server), colours, widths, opacities, labels; the map previews every change.
(function () {
  var script = document.currentScript;
  var cfg = WS.config("style-config");
  var entry = cfg.layer;
  var form = document.getElementById("style-form");
  var f = form.elements;
  var PALETTE = ["#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928", "#a6cee3", "#b2df8a", "#fb9a99",
                 "#fdbf6f", "#cab2d6", "#ffff99"];
  var RAMP = ["#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#b30000", "#7f0000", "#4d0000"];
  var s = Object.assign({}, entry.style || {});
  var categories = Object.assign({}, s.categories || {});
  var classes = (s.classes || []).slice();

  var m = WS.map("style-map");
  GIS.addAreas(m, cfg.areas);
  var preview = null;
  WS.fit(m, [entry]);

  function current() {
    var mode = f.mode.value;
    var out = { stroke: f.stroke.value, fill: f.fill.value, weight: Number(f.weight.value),
                opacity: Number(f.opacity.value), fill_opacity: Number(f.fill_opacity.value),
                radius: Number(f.radius.value), mode: mode };
    if (f.label.value) { out.label = f.label.value; }
    if (mode === "categories") { out.by = f.by_categories.value; out.categories = categories; }
    if (mode === "graduated") { out.by = f.by_classes.value; out.classes = classes; }
    return out;
  }

  // Redraw the preview with the style as it stands in the form (GeoJSON is restyled; tiles are rebuilt).
  function redraw() {
    var style = current();
    document.getElementById("by-categories").hidden = style.mode !== "categories";
    document.getElementById("by-classes").hidden = style.mode !== "graduated";
    if (preview && entry.kind !== "tiles") {
      preview.setStyle(function (feature) { return GIS.style(style, feature.properties, feature.geometry.type); });
      preview.eachLayer(function (layer) {
        if (layer.setRadius) { layer.setRadius(style.radius); }
        layer.unbindTooltip();
        WS.bindLabel(style, layer.feature, layer);
      });
      return;
    }
    if (preview) { m.removeLayer(preview); }
    preview = WS.layer(entry, null, { style: style }).addTo(m);
  }

  function categoryRows() {
    var body = document.querySelector("#category-table tbody");
    body.textContent = "";
    Object.keys(categories).forEach(function (value) {
      var tr = document.createElement("tr");
      tr.appendChild(GIS.el("td", "", value));
      var cell = document.createElement("td");
      var input = document.createElement("input");
      input.type = "color";
      input.value = categories[value];
      input.setAttribute("aria-label", value);
      input.addEventListener("input", function () { categories[value] = input.value; redraw(); });
      cell.appendChild(input);
      tr.appendChild(cell);
      body.appendChild(tr);
    });
  }

  function classRows() {
    var body = document.querySelector("#class-table tbody");
    body.textContent = "";
    classes.forEach(function (c) {
      var tr = document.createElement("tr");
      tr.appendChild(GIS.el("td", "number", GIS.formatNumber(c.min, 2) + " – " + GIS.formatNumber(c.max, 2)));
      var cell = document.createElement("td");
      var input = document.createElement("input");
      input.type = "color";
      input.value = c.colour;
      input.addEventListener("input", function () { c.colour = input.value; redraw(); });
      cell.appendChild(input);
      tr.appendChild(cell);
      body.appendChild(tr);
    });
  }

  document.getElementById("find-values").addEventListener("click", function () {
    var name = f.by_categories.value;
    WS.request("GET", cfg.values + "?attribute=" + encodeURIComponent(name)).then(function (r) {
      if (!r.ok) { document.getElementById("style-error").textContent = WS.errorText(r); return; }
      categories = {};
      r.data.values.forEach(function (v, i) { categories[String(v.value)] = PALETTE[i % PALETTE.length]; });
      categoryRows();
      redraw();
    });
  });

  document.getElementById("compute-classes").addEventListener("click", function () {
    var params = new URLSearchParams({ attribute: f.by_classes.value, classes: f.classes.value, method: f.method.value });
    WS.request("GET", cfg.breaks + "?" + params.toString()).then(function (r) {
      if (!r.ok) { document.getElementById("style-error").textContent = WS.errorText(r); return; }
      var b = r.data.breaks;
      var n = b.length - 1;
      classes = [];
      for (var i = 0; i < n; i++) {
        classes.push({ min: b[i], max: b[i + 1], colour: RAMP[Math.round(i * (RAMP.length - 1) / Math.max(n - 1, 1))] });
      }
      classRows();
      redraw();
    });
  });

  // The form starts from the saved style.
  f.mode.value = s.mode || (s.classes ? "graduated" : s.by ? "categories" : "single");
  f.fill.value = s.fill || s.stroke || "#0b4f6c";
  f.stroke.value = s.stroke || s.fill || "#0b4f6c";
  f.weight.value = s.weight === undefined ? 2 : s.weight;
  f.opacity.value = s.opacity === undefined ? 0.9 : s.opacity;
  f.fill_opacity.value = s.fill_opacity === undefined ? 0.35 : s.fill_opacity;
  f.radius.value = s.radius || 5;
  f.label.value = s.label || "";
  if (s.by && f.mode.value === "categories") { f.by_categories.value = s.by; }
  if (s.by && f.mode.value === "graduated") { f.by_classes.value = s.by; }
  categoryRows();
  classRows();
  form.addEventListener("input", function (event) {
    if (event.target.closest("#category-table, #class-table")) { return; }
    redraw();
  });
  form.addEventListener("change", redraw);
  redraw();

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    WS.request("PATCH", cfg.api, { style: current() }).then(function (r) {
      document.getElementById("style-error").textContent = r.ok ? "" : WS.errorText(r);
      document.getElementById("style-done").textContent = r.ok ? script.dataset.saved : "";
    });
  });
})();
