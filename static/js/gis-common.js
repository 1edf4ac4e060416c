// Helpers shared by the map pages. Everything a user or a file wrote is shown through esc().
var GIS = (function () {
  function esc(value) {
    if (value === null || value === undefined) { return ""; }
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // A catalog style ({stroke, fill, weight, opacity, fill_opacity, radius, by, categories}) as Leaflet options.
  function style(s, properties) {
    s = s || {};
    var fill = s.fill || s.stroke || "#0b4f6c";
    if (s.by && s.categories && properties && s.categories[properties[s.by]]) {
      fill = s.categories[properties[s.by]];
    }
    return {
      color: s.stroke || fill, weight: s.weight === undefined ? 2 : s.weight,
      opacity: s.opacity === undefined ? 0.9 : s.opacity, fill: true, fillColor: fill,
      fillOpacity: s.fill_opacity === undefined ? 0.35 : s.fill_opacity, radius: s.radius || 5
    };
  }

  function table(properties) {
    var rows = Object.keys(properties || {}).map(function (k) {
      return "<tr><th>" + esc(k) + "</th><td>" + esc(properties[k]) + "</td></tr>";
    });
    return "<table class='props'>" + rows.join("") + "</table>";
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

  function mapNamed(name) { return window[name]; }

  return { esc: esc, style: style, table: table, send: send, mapNamed: mapNamed };
})();

// Ward boundaries as a light background, so a map without base tiles still has a place to stand on.
GIS.addAreas = function (map, url) {
  if (!map.getPane("areas")) {
    var pane = map.createPane("areas");
    pane.style.zIndex = 150;  // under the tile pane (200), where the layers' vector tiles are drawn
    pane.style.pointerEvents = "none";
  }
  return fetch(url).then(function (r) { return r.json(); }).then(function (data) {
    var layer = L.geoJSON(data, {
      interactive: false, pane: "areas",
      style: { color: "#7b8794", weight: 1, fill: true, fillColor: "#f5f7fa", fillOpacity: 0.6, dashArray: "4 3" }
    });
    layer.addTo(map);
    layer.bringToBack();
    return layer;
  });
};
