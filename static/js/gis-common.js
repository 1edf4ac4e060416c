// Helpers shared by the map pages. Text a user or a file wrote goes into the page as DOM text (el, textContent)
// or through esc() for Leaflet tooltips, never as raw HTML.
var GIS = (function () {
  var lang = document.documentElement.lang || "vi";

  function esc(value) {
    if (value === null || value === undefined) { return ""; }
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // An element with a class and text content (the safe way to show what users wrote).
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // A catalog style ({stroke, fill, weight, opacity, fill_opacity, radius, by, categories | classes}) as Leaflet
  // options; lines are never filled (Leaflet would fill the shape a closed ring road draws).
  function style(s, properties, geometryType) {
    s = s || {};
    var fill = s.fill || s.stroke || "#0b4f6c";
    var value = s.by && properties ? properties[s.by] : undefined;
    if (s.by && s.classes && typeof value === "number") {
      for (var i = 0; i < s.classes.length; i++) {
        if (value >= s.classes[i].min && value <= s.classes[i].max) { fill = s.classes[i].colour; break; }
      }
    } else if (s.by && s.categories && properties && Object.prototype.hasOwnProperty.call(s.categories, value)) {
      fill = s.categories[value];
    }
    return {
      color: s.stroke || fill, weight: s.weight === undefined ? 2 : s.weight,
      opacity: s.opacity === undefined ? 0.9 : s.opacity, fill: !/Line/.test(geometryType || ""), fillColor: fill,
      fillOpacity: s.fill_opacity === undefined ? 0.35 : s.fill_opacity, radius: s.radius || 5
    };
  }

  // An attribute's value as the catalog says it reads: a year plain (2027), a share as a percent, a unit after
  // (layers/labels.py writes the same on the server's pages).
  function attributeValue(value, attribute) {
    if (value === null || value === undefined) { return ""; }
    if (typeof value !== "number" || !attribute) { return String(value); }
    var text;
    if (attribute.format === "plain") {
      text = String(value);
    } else if (attribute.format === "percent") {
      text = formatNumber(value * 100, attribute.decimals === undefined ? 1 : attribute.decimals) + "%";
    } else {
      var digits = attribute.decimals !== undefined ? attribute.decimals : (attribute.type === "double" ? 2 : 0);
      text = new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(value);
    }
    return attribute.unit ? text + " " + attribute.unit : text;
  }

  // A feature's attributes as a table: by the catalog's aliases and formats when given (in its order), a coded
  // value with its label (ODT - Đất ở tại đô thị); the file's own names and plain numbers otherwise.
  function propertiesTable(properties, attributes, labels) {
    var table = el("table", "props");
    var known = attributes && attributes.length ? attributes : Object.keys(properties || {}).map(function (k) {
      return { name: k, label: k };
    });
    known.forEach(function (a) {
      if (!Object.prototype.hasOwnProperty.call(properties || {}, a.name)) { return; }
      var row = document.createElement("tr");
      var value = properties[a.name];
      var text = attributes && attributes.length ? attributeValue(value, a) :
        (typeof value === "number" ? formatNumber(value) : value);
      if (labels && labels.by === a.name && labels.map && Object.prototype.hasOwnProperty.call(labels.map, value)) {
        text = labels.map[value] + " (" + value + ")";
      }
      row.appendChild(el("th", "", a.label || a.name));
      row.appendChild(el("td", "", text));
      table.appendChild(row);
    });
    return table;
  }

  // The same as an HTML string, every key and value escaped (for code that builds popups as strings).
  function table(properties) {
    var rows = Object.keys(properties || {}).map(function (k) {
      return "<tr><th>" + esc(k) + "</th><td>" + esc(properties[k]) + "</td></tr>";
    });
    return "<table class='props'>" + rows.join("") + "</table>";
  }

  function formatNumber(value, digits) {
    var options = digits === undefined ? {} : { minimumFractionDigits: digits, maximumFractionDigits: digits };
    return new Intl.NumberFormat(lang, options).format(value);
  }

  // The same shape as the server's dates (date then time, the city's time zone): 25/11/2026 16:05.
  function formatDate(iso, withTime) {
    if (!iso) { return ""; }
    var when = new Date(iso);
    var zone = "Asia/Ho_Chi_Minh";
    var text = new Intl.DateTimeFormat(lang, { day: "2-digit", month: "2-digit", year: "numeric", timeZone: zone })
      .format(when);
    if (withTime === false) { return text; }
    return text + " " + new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23",
                                                        timeZone: zone }).format(when);
  }

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  function send(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, status: r.status, data: data }; });
    });
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); });
  }

  function mapNamed(name) { return window[name]; }

  // Popups pan clear of the zoom buttons (top left) and, on a phone, of the panel's toggle (top centre).
  function popupOptions(extra) {
    var options = { maxWidth: Math.min(320, window.innerWidth - 60), autoPanPaddingTopLeft: L.point(56, 64),
                    autoPanPaddingBottomRight: L.point(12, 24) };
    Object.keys(extra || {}).forEach(function (k) { options[k] = extra[k]; });
    return options;
  }

  // On a phone the side panel is a drawer over the map, opened and closed by the page's toggle button.
  function sidePanel(page, map) {
    var button = page && page.querySelector(".side-toggle");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var open = page.classList.toggle("side-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
    if (map) { map.on("click", function () { closeSidePanel(page); }); }
  }

  function closeSidePanel(page) {
    if (!page || !page.classList.contains("side-open")) { return; }
    page.classList.remove("side-open");
    var button = page.querySelector(".side-toggle");
    if (button) { button.setAttribute("aria-expanded", "false"); }
  }

  // Each planner layer draws in a pane of its own (its opacity, its place in the stack); planner.js registers them.
  var panes = {};
  function layerPane(name) { return panes[name] || {}; }
  function setLayerPane(name, options) { panes[name] = options; }

  return { lang: lang, esc: esc, el: el, style: style, propertiesTable: propertiesTable, table: table, send: send, getJSON: getJSON,
           attributeValue: attributeValue, layerPane: layerPane, setLayerPane: setLayerPane,
           mapNamed: mapNamed, popupOptions: popupOptions, formatNumber: formatNumber, formatDate: formatDate, sidePanel: sidePanel,
           closeSidePanel: closeSidePanel };
})();

// Labels of a GeoJSON layer's features by the attribute its style names (style.label), as text, never HTML.
GIS.labels = function (style, layer) {
  if (!style || !style.label) { return; }
  layer.eachLayer(function (item) {
    var value = item.feature && item.feature.properties ? item.feature.properties[style.label] : null;
    if (value === null || value === undefined || value === "") { return; }
    item.bindTooltip(GIS.esc(value), { permanent: true, direction: "center", className: "feature-label" });
  });
};

// Ward boundaries as a light background, so a map without base tiles still has a place to stand on.
GIS.addAreas = function (map, url) {
  if (!map.getPane("areas")) {
    var pane = map.createPane("areas");
    pane.style.zIndex = 150;  // under the tile pane (200), where the layers' vector tiles are drawn
    pane.style.pointerEvents = "none";
  }
  return GIS.getJSON(url).then(function (data) {
    var layer = L.geoJSON(data, {
      interactive: false, pane: "areas",
      style: { color: "#7b8794", weight: 1, fill: true, fillColor: "#f5f7fa", fillOpacity: 0.6, dashArray: "4 3" }
    });
    layer.addTo(map);
    layer.bringToBack();
    return layer;
  });
};

// A cluster of report pins as a ring split by status (the same colours as the pins), the count inside.
GIS.STATUS_COLOURS = { new: "#d7301f", acknowledged: "#fc8d59", in_progress: "#fdcc8a", resolved: "#31a354",
                       rejected: "#969696" };
GIS.reportClusterIcon = function (cluster) {
  var markers = cluster.getAllChildMarkers();
  var counts = {};
  markers.forEach(function (m) { counts[m.options.status] = (counts[m.options.status] || 0) + 1; });
  var stops = [];
  var at = 0;
  Object.keys(GIS.STATUS_COLOURS).forEach(function (status) {
    if (!counts[status]) { return; }
    var to = at + 100 * counts[status] / markers.length;
    stops.push(GIS.STATUS_COLOURS[status] + " " + at.toFixed(1) + "% " + to.toFixed(1) + "%");
    at = to;
  });
  var size = markers.length < 10 ? 34 : markers.length < 100 ? 40 : 48;
  return L.divIcon({
    html: "<div class='report-cluster' style='width:" + size + "px;height:" + size + "px;background:conic-gradient(" +
      stops.join(",") + ")'><span>" + markers.length + "</span></div>",
    className: "report-cluster-icon", iconSize: [size, size]
  });
};
