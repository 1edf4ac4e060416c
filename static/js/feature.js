// A feature's versions, each on a small map with the version before it dashed; restore one as a new version.
(function () {
  var cfg = WS.config("feature-config");
  cfg.versions.forEach(function (version, i) {
    var m = WS.map("version-map-" + i, { zoomControl: false, attributionControl: false });
    var style = GIS.style(cfg.style, version.properties, version.geometry.type);
    var shape = L.geoJSON(version.geometry, {
      style: function () { return style; },
      pointToLayer: function (f, at) { return L.circleMarker(at, style); }
    }).addTo(m);
    var before = cfg.versions[i + 1];
    if (before && version.geometry_changed) {
      L.geoJSON(before.geometry, {
        style: function () { return { color: "#52606d", weight: 2, dashArray: "5 4", fill: false }; },
        pointToLayer: function (f, at) { return L.circleMarker(at, { color: "#52606d", dashArray: "3 3", fill: false }); }
      }).addTo(m);
    }
    m.fitBounds(shape.getBounds().pad(0.6), { maxZoom: 19 });
  });
  document.querySelectorAll(".restore-version").forEach(function (button) {
    button.addEventListener("click", function () {
      WS.request("POST", cfg.restore, { version: Number(button.dataset.version), comment: "" }).then(function (r) {
        if (r.ok) { window.location.reload(); return; }
        document.getElementById("restore-error").textContent = WS.errorText(r);
      });
    });
  });
})();
