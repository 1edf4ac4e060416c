// The workspace pages' maps: plain Leaflet (no Folium, no inline script), every catalog layer drawn in its own
// style: small layers as GeoJSON from the OGC API, large ones as vector tiles. Text from files reaches the page
// only as DOM text or through GIS.esc.
var WS = (function () {
  function config(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  // Every map of the page by its element's id (for the page's own scripts and for browser tests).
  var maps = {};

  function map(element, options) {
    var m = L.map(element, Object.assign({ maxZoom: 22, minZoom: 3, preferCanvas: true, zoomSnap: 0.5 },
                                         options || {}));
    maps[typeof element === "string" ? element : element.id] = m;
    baseMap(m);
    m.setView([16.463, 107.585], 13);
    L.control.scale({ imperial: false }).addTo(m);
    return m;
  }

  // The configured base map tiles, or else the city's own base map layers (streets, rivers...) as vector tiles in
  // their catalog styles, under everything else.
  var baseConfig = null;
  function baseMap(m) {
    if (baseConfig === null) { baseConfig = config("basemap-config"); }
    if (baseConfig.url) {
      L.tileLayer(baseConfig.url, { attribution: baseConfig.attribution, maxZoom: 20 }).addTo(m);
      return;
    }
    if (!baseConfig.layers || !baseConfig.layers.length || !L.vectorGrid) { return; }
    var pane = m.createPane("citybase");
    pane.style.zIndex = 120;
    pane.style.pointerEvents = "none";
    baseConfig.layers.forEach(function (entry) {
      var styles = {};
      styles[entry.name] = function (p) { return GIS.style(entry.style, p, entry.geometry); };
      L.vectorGrid.protobuf(entry.tiles, { vectorTileLayerStyles: styles, pane: "citybase", interactive: false,
                                           maxNativeZoom: 22, maxZoom: 22 }).addTo(m);
    });
  }

  // A permanent label for a feature, when the style names a label attribute (as on the public map: GIS.labels).
  function bindLabel(style, feature, layer) {
    if (!style || !style.label || !feature.properties) { return; }
    var text = feature.properties[style.label];
    if (text === null || text === undefined || text === "") { return; }
    layer.bindTooltip(GIS.esc(text), { permanent: true, direction: "center", className: "feature-label" });
  }

  function geojsonLayer(entry, style, options) {
    options = options || {};
    return L.geoJSON(null, {
      style: function (f) { return GIS.style(style, f.properties, f.geometry.type); },
      pointToLayer: function (f, at) { return L.circleMarker(at, GIS.style(style, f.properties, f.geometry.type)); },
      onEachFeature: function (f, layer) {
        bindLabel(style, f, layer);
        if (options.onEachFeature) { options.onEachFeature(f, layer); }
      }
    });
  }

  function itemsUrl(entry, extra) {
    var url = entry.items + "?f=json&limit=" + Math.max(Math.min(entry.count || 1000, 10000), 1);
    return extra ? url + "&" + extra : url;
  }

  // A layer of the catalog on a map; *query* ("at=...") reads it as it was at an instant.
  function layer(entry, query, options) {
    var style = (options && options.style) || entry.style || {};
    if (entry.kind === "tiles") {
      var styles = {};
      styles[entry.name] = function (p) { return GIS.style(style, p, entry.geometry); };
      return L.vectorGrid.protobuf(entry.tiles + (query ? "?" + query : ""), {
        vectorTileLayerStyles: styles, interactive: true, maxNativeZoom: 22, maxZoom: 22,
        getFeatureId: function (f) { return f.id; }
      });
    }
    var geo = geojsonLayer(entry, style, options);
    geo.loaded = GIS.getJSON(itemsUrl(entry, query)).then(function (data) {
      geo.addData(data);
      return data;
    });
    return geo;
  }

  function fit(m, entries) {
    var bounds = null;
    (entries || []).forEach(function (e) {
      if (!e.extent) { return; }
      var b = L.latLngBounds([e.extent[1], e.extent[0]], [e.extent[3], e.extent[2]]);
      bounds = bounds ? bounds.extend(b) : b;
    });
    if (bounds && bounds.isValid()) { m.fitBounds(bounds.pad(0.05), { maxZoom: 18 }); }
  }

  // JSON requests carrying the page's CSRF token; resolves {ok, status, data} (data: the JSON, or null).
  function request(method, url, body, headers) {
    var options = { method: method, credentials: "same-origin",
                    headers: Object.assign({ "X-CSRFToken": csrfToken(), Accept: "application/json" }, headers || {}) };
    if (body instanceof FormData) {
      options.body = body;
    } else if (body !== undefined) {
      options.headers["Content-Type"] = options.headers["Content-Type"] || "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { ok: r.ok, status: r.status, data: data, headers: r.headers };
      });
    });
  }

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  function errorText(result) {
    var error = result && result.data && result.data.error;
    return error ? error.message : "HTTP " + (result ? result.status : "?");
  }

  return { maps: maps, config: config, map: map, layer: layer, fit: fit, request: request, errorText: errorText,
           bindLabel: bindLabel, itemsUrl: itemsUrl };
})();
