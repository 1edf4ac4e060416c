// Officer map: reports clustered and coloured by status, filters, new reports by click, moves by drag,
// cameras' view cones and AI alerts. Everything users wrote is put in the page as DOM text.
(function () {
  var script = document.currentScript;
  var text = script.dataset;
  var config = JSON.parse(document.getElementById("officer-config").textContent);
  var map = GIS.mapNamed(config.map);
  var cluster = GIS.mapNamed(config.cluster);
  var drawn = GIS.mapNamed(config.drawn);
  var form = document.getElementById("report-filter");
  var cameras = L.layerGroup().addTo(map);
  var alerts = L.layerGroup().addTo(map);
  var page = document.getElementById("map-page");
  var MAP_LIMIT = 5000;
  var CAMERA_ZOOM = 15;
  var fitted = false;
  var markers = {};  // report id -> marker, so that a live change moves or recolours the right pin
  GIS.addAreas(map, config.areas);
  GIS.sidePanel(page, null);
  // Alerts above the camera cones (both are vectors): a click on an alert must reach the alert.
  map.createPane("alerts").style.zIndex = 450;

  // The API's refusal in the page's language when the page has words for it.
  function errorText(res) {
    var error = (res.data && res.data.error) || {};
    var details = error.details || {};
    var key = details.reason === "outside_city" ? "errorOutsideCity" :
      "error" + String(details.field || "").replace(/(^|_)(\w)/g, function (m, s, c) { return c.toUpperCase(); });
    return text[key] || error.message || String(res.status);
  }

  function reportIcon(p) {
    return L.divIcon({ className: "report-pin status-" + p.status + (p.overdue ? " overdue" : ""),
                       html: "", iconSize: [16, 16] });
  }

  function reportPopup(p) {
    var box = GIS.el("div", "popup-report");
    var title = GIS.el("strong", "code", p.tracking_code);
    box.appendChild(title);
    box.appendChild(GIS.el("div", "meta", [config.statuses[p.status] || p.status, config.categories[p.category] ||
      p.category_name].join(" · ") + (p.overdue ? " · " + text.overdue : "")));
    box.appendChild(GIS.el("div", "meta", text.created + ": " + GIS.formatDate(p.created_at)));
    box.appendChild(GIS.el("p", "", p.description));
    var link = GIS.el("a", "", text.open);
    link.href = config.reportPage.replace(/0$/, String(p.id));
    box.appendChild(link);
    return box;
  }

  // A form from a <template> in a popup; cancel (or closing the popup) runs onCancel once.
  function popupForm(templateId, at, onSubmit, onCancel) {
    var node = document.getElementById(templateId).content.firstElementChild.cloneNode(true);
    var popup = L.popup(GIS.popupOptions({ minWidth: 240, closeOnClick: false })).setLatLng(at).setContent(node).openOn(map);
    var settled = false;
    function cancel() { if (!settled) { settled = true; onCancel(); } }
    popup.on("remove", cancel);
    node.querySelector("[name=cancel]").addEventListener("click", function () { map.closePopup(popup); });
    node.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var button = node.querySelector("button[type=submit]");
      button.disabled = true;
      onSubmit(node).then(function (error) {
        button.disabled = false;
        if (error) { node.querySelector(".error-message").textContent = error; return; }
        settled = true;
        map.closePopup(popup);
      });
    });
    var first = node.querySelector("textarea, input");
    if (first) { first.focus(); }
    return popup;
  }

  function addReport(feature) {
    var c = feature.geometry.coordinates;
    var p = feature.properties;
    var marker = L.marker([c[1], c[0]], { icon: reportIcon(p), draggable: config.canEdit, status: p.status,
                                          title: p.tracking_code });
    marker.feature = feature;
    marker.bindPopup(function () { return reportPopup(marker.feature.properties); }, GIS.popupOptions());
    marker.on("dragend", function () {
      var to = marker.getLatLng();
      var from = L.latLng(c[1], c[0]);
      popupForm("move-report-form", to, function (node) {
        return GIS.send("PATCH", config.move.replace(/\/0\/location$/, "/" + p.id + "/location"),
                        { lon: to.lng, lat: to.lat, reason: node.reason.value })
          .then(function (res) {
            if (!res.ok) { return errorText(res); }
            c = [to.lng, to.lat];
            marker.bindTooltip(text.moved).openTooltip();
            return null;
          });
      }, function () { marker.setLatLng(from); });
    });
    cluster.addLayer(marker);
    markers[p.id] = marker;
    return marker;
  }

  // The filters as the page's URL and the list's link carry them ("all" statuses spelled out; open is the default).
  var OPEN = form.status.options[0].value;
  function sharedParams() {
    var params = new URLSearchParams();
    var data = new FormData(form);
    config.sharedFilters.forEach(function (k) {
      var value = data.get(k);
      if (value && !(k === "status" && value === OPEN)) { params.set(k, value); }
    });
    return params;
  }

  // The filters as the API takes them.
  function filterParams() {
    var params = new URLSearchParams(new FormData(form));
    Array.from(params.keys()).forEach(function (k) { if (!params.get(k)) { params.delete(k); } });
    if (params.get("status") === config.all) { params.delete("status"); }
    return params;
  }

  function rememberFilters() {
    var query = sharedParams().toString();
    history.replaceState(null, "", config.page + (query ? "?" + query : ""));
    document.getElementById("queue-link").href = config.queue + (query ? "?" + query : "");
  }

  function load() {
    return GIS.getJSON(config.reports + "?" + filterParams().toString()).then(function (data) {
      var features = data.features || [];
      cluster.clearLayers();
      markers = {};
      features.forEach(addReport);
      if (!fitted && cluster.getLayers().length) {
        map.fitBounds(cluster.getBounds(), { maxZoom: 15, padding: [20, 20], animate: false });
        fitted = true;
      }
      document.getElementById("report-count").textContent =
        text.count.replace("{n}", GIS.formatNumber(features.length)) + (features.length >= MAP_LIMIT ? " " + text.limit : "");
    });
  }

  function cameraLabel(p) {
    return text.camera + " " + p.code + " · " + p.name + " · " + (config.health[p.health] || p.health);
  }

  function loadCameras() {
    var wanted = document.getElementById("show-cameras").checked;
    document.getElementById("camera-hint").hidden = !wanted || map.getZoom() >= CAMERA_ZOOM;
    if (!wanted || map.getZoom() < CAMERA_ZOOM) { cameras.clearLayers(); return; }
    var b = map.getBounds();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); });
    GIS.getJSON(config.cameras + "?geometry=coverage&bbox=" + bbox.join(",")).then(function (data) {
      cameras.clearLayers();
      L.geoJSON(data, {
        style: function (f) {
          var online = f.properties.health === "online";
          return { color: online ? "#2b8cbe" : "#7f7f7f", weight: 1, fillOpacity: online ? 0.15 : 0.05,
                   dashArray: online ? null : "3 3" };
        },
        onEachFeature: function (f, layer) { layer.bindTooltip(GIS.esc(cameraLabel(f.properties)), { sticky: true }); }
      }).addTo(cameras);
    });
  }

  function alertPopup(a) {
    var box = GIS.el("div", "popup-report");
    box.appendChild(GIS.el("strong", "", config.alertTypes[a.type] || a.type));
    box.appendChild(GIS.el("div", "meta", (config.statuses[a.status] || a.status) + " · " +
      GIS.formatNumber(a.event_count) + " " + text.events));
    box.appendChild(GIS.el("div", "meta", GIS.formatDate(a.first_at) + " – " + GIS.formatDate(a.last_at)));
    if (a.linked_report_id) {
      var link = GIS.el("a", "", text.linked);
      link.href = config.reportPage.replace(/0$/, String(a.linked_report_id));
      box.appendChild(link);
    }
    return box;
  }

  function loadAlerts() {
    alerts.clearLayers();
    if (!document.getElementById("show-alerts").checked) { return; }
    GIS.getJSON(config.alerts + "?status=new,acknowledged,in_progress").then(function (data) {
      (data.alerts || []).forEach(function (a) {
        L.circleMarker([a.lat, a.lon], { radius: 10, color: "#6a0dad", weight: 3, fillOpacity: 0.2, pane: "alerts" })
          .bindTooltip(GIS.esc((config.alertTypes[a.type] || a.type) + " × " + a.event_count))
          .bindPopup(function () { return alertPopup(a); }, GIS.popupOptions())
          .addTo(alerts);
      });
    });
  }

  form.addEventListener("change", function (e) {
    if (e.target.id === "show-cameras") { loadCameras(); return; }
    if (e.target.id === "show-alerts") { loadAlerts(); return; }
    rememberFilters();
    load();
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); rememberFilters(); load(); });
  var typing = null;
  form.q.addEventListener("input", function () {
    clearTimeout(typing);
    typing = setTimeout(function () { rememberFilters(); load(); }, 400);
  });
  map.on("moveend", loadCameras);

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) { return values[k] === undefined ? m : values[k]; });
  }

  // Where a call's report would land: said in the form, and a warning to confirm when it leaves the officer's area.
  function showPlacement(node, at) {
    var url = config.placement + "?lon=" + at.lng.toFixed(7) + "&lat=" + at.lat.toFixed(7) + "&category=" +
      encodeURIComponent(node.category.value);
    return GIS.getJSON(url).then(function (p) {
      var box = node.querySelector(".elsewhere");
      var unit = p.unit ? p.unit.name : text.noUnit;
      node.querySelector(".placement").textContent = p.inside_city ? fill(text.place, { place: p.place, unit: unit }) : "";
      box.hidden = !p.inside_city || p.in_scope;
      node.confirm_elsewhere.checked = false;
      node.querySelector(".elsewhere-text").textContent =
        fill(text.elsewhere, { ward: p.ward ? p.ward.name : p.place, unit: unit });
    });
  }

  // The tracking code to read back to the caller, and the unit the report went to.
  function showFiled(at, body) {
    var node = document.getElementById("filed-report").content.firstElementChild.cloneNode(true);
    node.querySelector(".big-code").textContent = body.tracking_code.replace(/(.{4})(?=.)/g, "$1 ");
    node.querySelector(".filed-unit").textContent = fill(text.sentTo, { unit: body.unit || text.noUnit });
    node.querySelector(".filed-link").href = config.reportPage.replace(/0$/, String(body.id));
    L.popup(GIS.popupOptions({ minWidth: 240, closeOnClick: false })).setLatLng(at).setContent(node).openOn(map);
  }

  if (config.canEdit) {
    map.on(L.Draw.Event.CREATED, function (e) {
      var at = e.layer.getLatLng();
      var popup = popupForm("new-report-form", at, function (node) {
        if (!node.querySelector(".elsewhere").hidden && !node.confirm_elsewhere.checked) {
          return Promise.resolve(text.confirm);
        }
        var body = { category: node.category.value, description: node.description.value, channel: "phone",
                     location: { lon: at.lng, lat: at.lat } };
        if (node.reporter_phone.value) { body.reporter = { phone: node.reporter_phone.value }; }
        return GIS.send("POST", config.create, body).then(function (res) {
          if (!res.ok) { return errorText(res); }
          drawn.clearLayers();
          return load().then(function () {
            setTimeout(function () { showFiled(at, res.data); }, 0);
            return null;
          });
        });
      }, function () { drawn.clearLayers(); });
      var node = popup.getContent();
      showPlacement(node, at);
      node.category.addEventListener("change", function () { showPlacement(node, at); });
    });
  }

  // A report filed or changed elsewhere, in this officer's scope (static/js/live.js): its pin alone is redrawn,
  // when it still passes the status and category filters; an alert reloads the (short) list of open alerts.
  function passesFilters(p) {
    var statuses = (form.status.value || "").split(",").filter(Boolean);
    return (!statuses.length || statuses.indexOf(p.status) >= 0) && (!form.category.value || form.category.value === p.category);
  }

  document.addEventListener("gis:live", function (e) {
    var ev = e.detail.event;
    var d = ev.data || {};
    if (ev.subject_type === "alert") { loadAlerts(); return; }
    if (ev.subject_type !== "report" || d.lon === null || d.lon === undefined) { return; }
    var p = { id: ev.subject_id, tracking_code: d.tracking_code, status: d.status, category: d.category,
              created_at: d.created_at, description: d.description, overdue: Date.parse(d.due_at) < Date.now() &&
              ["new", "acknowledged", "in_progress"].indexOf(d.status) >= 0 };
    var marker = markers[ev.subject_id];
    if (d.merged_into_id || !passesFilters(p)) {
      if (marker) { cluster.removeLayer(marker); delete markers[ev.subject_id]; }
      return;
    }
    if (!marker) {
      addReport({ type: "Feature", geometry: { type: "Point", coordinates: [d.lon, d.lat] }, properties: p });
      return;
    }
    // Changed in place, so that a pin being dragged or showing its tooltip (perhaps this page's own change) stays.
    var old = marker.feature.properties;
    marker.feature.properties = p;
    var at = marker.getLatLng();
    if (Math.abs(at.lat - d.lat) > 1e-7 || Math.abs(at.lng - d.lon) > 1e-7) { marker.setLatLng([d.lat, d.lon]); }
    if (old.status !== p.status || old.overdue !== p.overdue) {
      marker.options.status = p.status;
      marker.setIcon(reportIcon(p));
      cluster.refreshClusters(marker);
    }
  });
  document.addEventListener("gis:live-show", function (e) { map.setView([e.detail.lat, e.detail.lon], 17); });

  load();
  loadAlerts();
  loadCameras();
  // For the page's tests: reload the reports, count the camera cones and alerts drawn.
  window.officerMap = {
    reload: load,
    hasReport: function (code) {
      return Object.keys(markers).some(function (id) { return markers[id].feature.properties.tracking_code === code; });
    },
    alertCount: function () { return alerts.getLayers().length; },
    cameraCount: function () {
      var n = 0;
      cameras.eachLayer(function (group) { n += group.getLayers().length; });
      return n;
    }
  };
})();
