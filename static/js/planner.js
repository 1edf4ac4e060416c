// Planner map: layer toggles, a shareable URL (#map=z/lat/lon&layers=a,b), identify popups, address search.
(function () {
  var script = document.currentScript;
  var config = JSON.parse(document.getElementById("planner-config").textContent);
  var map = GIS.mapNamed(config.map);
  var toggles = Array.prototype.slice.call(document.querySelectorAll(".layer-toggle"));

  function layerOf(name) { return window[config.layers[name].var]; }
  function visible() { return toggles.filter(function (t) { return t.checked; }).map(function (t) { return t.value; }); }

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
      if (t.checked && !map.hasLayer(layer)) { layer.addTo(map); }
      if (!t.checked && map.hasLayer(layer)) { map.removeLayer(layer); }
    });
    writeHash();
  }

  GIS.addAreas(map, config.areas);
  readHash();
  apply();
  toggles.forEach(function (t) { t.addEventListener("change", apply); });
  map.on("moveend", writeHash);

  map.on("click", function (e) {
    var names = visible();
    if (!names.length) { return; }
    var url = config.identify + "?lon=" + e.latlng.lng + "&lat=" + e.latlng.lat +
      "&tolerance_m=" + Math.max(2, Math.round(40 / Math.pow(2, map.getZoom() - 14))) + "&layers=" + names.join(",");
    fetch(url).then(function (r) { return r.json(); }).then(function (body) {
      var parts = (body.layers || []).map(function (hit) {
        return "<h3>" + GIS.esc(hit.title) + "</h3>" + hit.features.map(function (f) {
          return GIS.table(f.properties);
        }).join("");
      });
      var html = parts.length ? parts.join("") : "<p>" + GIS.esc(script.dataset.nothing) + "</p>";
      L.popup({ maxWidth: 360, maxHeight: 320 }).setLatLng(e.latlng).setContent(
        "<div class='identify'>" + html + "</div>").openOn(map);
    });
  });

  var form = document.getElementById("place-search");
  var results = document.getElementById("search-results");
  var marker = null;
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = form.q.value.trim();
    if (q.length < 2) { return; }
    fetch(config.geocode + "?limit=8&q=" + encodeURIComponent(q)).then(function (r) { return r.json(); })
      .then(function (body) {
        results.innerHTML = "";
        var places = body.places || [];
        if (!places.length) {
          var li = document.createElement("li");
          li.textContent = script.dataset.noneFound;
          results.appendChild(li);
        }
        places.forEach(function (p) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = "#";
          a.textContent = p.label;
          a.addEventListener("click", function (e) {
            e.preventDefault();
            map.flyTo([p.lat, p.lon], 18);
            if (marker) { map.removeLayer(marker); }
            marker = L.marker([p.lat, p.lon]).addTo(map).bindTooltip(GIS.esc(p.label));
          });
          li.appendChild(a);
          results.appendChild(li);
        });
      });
  });
})();
