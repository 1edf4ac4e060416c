// Planner map: layer toggles, a shareable URL (#map=z/lat/lon&layers=a,b), identify popups, address search.
(function () {
  var script = document.currentScript;
  var config = JSON.parse(document.getElementById("planner-config").textContent);
  var map = GIS.mapNamed(config.map);
  var toggles = Array.prototype.slice.call(document.querySelectorAll(".layer-toggle"));
  var loaded = {};

  function layerOf(name) { return window[config.layers[name].var]; }
  function visible() { return toggles.filter(function (t) { return t.checked; }).map(function (t) { return t.value; }); }

  // A small layer is fetched whole, once, the first time it is shown.
  function ensureLoaded(name) {
    var entry = config.layers[name];
    if (entry.kind !== "geojson" || loaded[name]) { return; }
    loaded[name] = true;
    fetch(entry.data, { headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) { layerOf(name).addData(data); });
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
  readHash();
  apply();
  toggles.forEach(function (t) { t.addEventListener("change", apply); });
  map.on("moveend", writeHash);
  window.addEventListener("hashchange", function () { readHash(); apply(); });

  // Identify: the attributes of every visible layer at the clicked point, built as DOM text, never as HTML.
  map.on("click", function (e) {
    var names = visible();
    if (!names.length) { return; }
    var url = config.identify + "?lon=" + e.latlng.lng.toFixed(7) + "&lat=" + e.latlng.lat.toFixed(7) +
      "&tolerance_m=" + Math.max(2, Math.round(40 / Math.pow(2, map.getZoom() - 14))) +
      "&layers=" + names.map(encodeURIComponent).join(",");
    fetch(url).then(function (r) { return r.json(); }).then(function (body) {
      var box = GIS.el("div", "identify");
      (body.layers || []).forEach(function (hit) {
        box.appendChild(GIS.el("h3", "", hit.title));
        hit.features.forEach(function (f) { box.appendChild(GIS.propertiesTable(f.properties)); });
      });
      if (!box.childNodes.length) { box.appendChild(GIS.el("p", "", script.dataset.nothing)); }
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
        if (!places.length) { results.appendChild(GIS.el("li", "", script.dataset.noneFound)); }
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
        document.getElementById("share-status").textContent = script.dataset.copied;
      }, function () { /* the selected link is there to copy by hand */ });
    }
  });
})();
