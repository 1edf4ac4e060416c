// Officer map: reports clustered and coloured by status, filters, new reports by click, moves by drag.
(function () {
  var script = document.currentScript;
  var config = JSON.parse(document.getElementById("officer-config").textContent);
  var map = GIS.mapNamed(config.map);
  var cluster = GIS.mapNamed(config.cluster);
  var form = document.getElementById("report-filter");
  var cameras = L.layerGroup().addTo(map);
  var alerts = L.layerGroup().addTo(map);
  var fitted = false;
  var COLORS = { new: "#d7301f", acknowledged: "#fc8d59", in_progress: "#fdcc8a", resolved: "#31a354", rejected: "#969696" };
  GIS.addAreas(map, config.areas);

  function reportIcon(p) {
    return L.divIcon({ className: "report-pin status-" + p.status + (p.overdue ? " overdue" : ""),
                       html: "", iconSize: [16, 16] });
  }

  function popup(p) {
    var link = config.reportPage.replace(/0$/, String(p.id));
    return "<strong>" + GIS.esc(p.tracking_code) + "</strong> · " + GIS.esc(p.category_name) +
      "<p>" + GIS.esc(p.description) + "</p><a href='" + link + "'>" + GIS.esc(script.dataset.open) + "</a>";
  }

  function addReport(feature) {
    var c = feature.geometry.coordinates;
    var marker = L.marker([c[1], c[0]], { icon: reportIcon(feature.properties), draggable: config.canEdit });
    marker.feature = feature;
    marker.bindPopup(popup(feature.properties));
    marker.on("dragend", function () {
      var to = marker.getLatLng();
      if (!window.confirm(script.dataset.confirmMove)) { marker.setLatLng([c[1], c[0]]); return; }
      GIS.send("PATCH", config.move.replace(/0\/location$/, feature.properties.id + "/location"),
               { lon: to.lng, lat: to.lat, reason: "moved on the officer map" })
        .then(function (res) {
          if (!res.ok) { marker.setLatLng([c[1], c[0]]); window.alert(res.data.error.message); return; }
          c = [to.lng, to.lat];
          marker.bindTooltip(script.dataset.moved).openTooltip();
        });
    });
    cluster.addLayer(marker);
  }

  function load() {
    var params = new URLSearchParams(new FormData(form));
    Array.from(params.keys()).forEach(function (k) { if (!params.get(k)) { params.delete(k); } });
    fetch(config.reports + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        cluster.clearLayers();
        (data.features || []).forEach(addReport);
        if (!fitted && cluster.getLayers().length) {
          map.fitBounds(cluster.getBounds(), { maxZoom: 16, padding: [20, 20] });
          fitted = true;
        }
        document.getElementById("report-count").textContent = (data.features || []).length + " " + script.dataset.count;
      });
  }

  function loadCameras() {
    cameras.clearLayers();
    if (!document.getElementById("show-cameras").checked) { return; }
    var b = map.getBounds();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); });
    fetch(config.cameras + "?geometry=coverage&bbox=" + bbox.join(","))
      .then(function (r) { return r.json(); })
      .then(function (data) {
        L.geoJSON(data, {
          style: function (f) {
            var h = f.properties.health;
            return { color: h === "online" ? "#2b8cbe" : "#7f7f7f", weight: 1, fillOpacity: h === "online" ? 0.15 : 0.05,
                     dashArray: h === "online" ? null : "3 3" };
          },
          onEachFeature: function (f, layer) {
            layer.bindTooltip(GIS.esc(f.properties.code + " · " + f.properties.name + " · " + f.properties.health));
          }
        }).addTo(cameras);
      });
  }

  function loadAlerts() {
    alerts.clearLayers();
    if (!document.getElementById("show-alerts").checked) { return; }
    fetch(config.alerts + "?status=new,acknowledged,in_progress", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        (data.alerts || []).forEach(function (a) {
          L.circleMarker([a.lat, a.lon], { radius: 9, color: "#6a0dad", weight: 3, fillOpacity: 0.2 })
            .bindTooltip(GIS.esc(a.type + " × " + a.event_count)).addTo(alerts);
        });
      });
  }

  form.addEventListener("change", function (e) {
    if (e.target.id === "show-cameras") { loadCameras(); return; }
    if (e.target.id === "show-alerts") { loadAlerts(); return; }
    load();
  });
  map.on("moveend", function () { if (map.getZoom() >= 15) { loadCameras(); } else { cameras.clearLayers(); } });

  map.on(L.Draw.Event.CREATED, function (e) {
    var at = e.layer.getLatLng();
    var node = document.getElementById("new-report-form").content.firstElementChild.cloneNode(true);
    var popupLayer = L.popup({ minWidth: 260 }).setLatLng(at).setContent(node).openOn(map);
    node.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = { category: node.category.value, description: node.description.value, channel: "phone",
                   location: { lon: at.lng, lat: at.lat } };
      if (node.reporter_phone.value) { body.reporter = { phone: node.reporter_phone.value }; }
      GIS.send("POST", config.create, body).then(function (res) {
        if (!res.ok) { node.querySelector(".error-message").textContent = res.data.error.message; return; }
        map.closePopup(popupLayer);
        load();
      });
    });
  });

  load();
  loadAlerts();
})();
