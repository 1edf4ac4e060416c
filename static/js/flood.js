// Public flood map: hotspots coloured by their current level, refreshed every minute without reloading.
(function () {
  var text = document.currentScript.dataset;
  var config = JSON.parse(document.getElementById("flood-config").textContent);
  var map = GIS.mapNamed(config.map);
  var COLORS = { normal: "#31a354", watch: "#fed976", warning: "#fd8d3c", danger: "#bd0026", unknown: "#969696" };
  var ORDER = { danger: 0, warning: 1, watch: 2, normal: 3, unknown: 4 };
  var REFRESH_MS = 60000;
  var markers = {};
  var fitted = false;
  var page = document.getElementById("map-page");
  GIS.addAreas(map, config.areas);
  GIS.sidePanel(page, map);

  function level(h) { return h.level_cm === null ? "?" : GIS.formatNumber(h.level_cm, 1) + " cm"; }

  function details(h) {
    var box = GIS.el("div", "popup-report");
    box.appendChild(GIS.el("strong", "", h.name));
    box.appendChild(GIS.el("div", "", text.level + ": " + level(h) + " · " + (text[h.status] || h.status)));
    if (h.reading_at) { box.appendChild(GIS.el("div", "meta", text.at + " " + GIS.formatDate(h.reading_at))); }
    var t = h.thresholds_cm;
    box.appendChild(GIS.el("div", "meta", text.thresholds + ": " + [t.watch, t.warning, t.danger].map(function (v) {
      return GIS.formatNumber(v);
    }).join(" / ") + " cm"));
    if (h.page) {
      var chart = GIS.el("a", "", text.chart);
      chart.href = h.page;
      box.appendChild(chart);
    }
    return box;
  }

  function refresh() {
    return GIS.getJSON(config.hotspots).then(function (data) {
      var list = document.getElementById("hotspot-list");
      list.textContent = "";
      data.hotspots.sort(function (a, b) { return ORDER[a.status] - ORDER[b.status] || a.name.localeCompare(b.name); });
      data.hotspots.forEach(function (h) {
        var marker = markers[h.code];
        if (!marker) {
          marker = markers[h.code] = L.circleMarker([h.lat, h.lon], { radius: 9, weight: 2 }).addTo(map);
        }
        marker.setStyle({ color: "#333", fillColor: COLORS[h.status] || COLORS.unknown, fillOpacity: 0.9 });
        marker.options.status = h.status;
        marker.bindTooltip(GIS.esc(h.name + " — " + level(h)));
        marker.bindPopup(function () { return details(h); }, GIS.popupOptions());
        var li = GIS.el("li", "level-" + h.status);
        var button = GIS.el("button", "link-button", h.name + " — " + level(h));
        button.type = "button";
        button.addEventListener("click", function () {
          map.flyTo([h.lat, h.lon], 16);
          marker.openPopup();
          GIS.closeSidePanel(page);
        });
        li.appendChild(button);
        if (h.page) {  // the hotspot's own page: its levels over time against the thresholds
          var chart = GIS.el("a", "chart-link", "↗");
          chart.href = h.page;
          chart.title = text.chart;
          chart.setAttribute("aria-label", text.chart + ": " + h.name);
          li.appendChild(chart);
        }
        list.appendChild(li);
      });
      var all = Object.keys(markers).map(function (code) { return markers[code].getLatLng(); });
      if (!fitted && all.length) {
        map.fitBounds(L.latLngBounds(all), { padding: [30, 30], maxZoom: 15, animate: false });
        fitted = true;
      }
      document.getElementById("updated").textContent = GIS.formatDate(new Date().toISOString());
    });
  }
  refresh();
  setInterval(refresh, REFRESH_MS);
  window.floodMap = { refresh: refresh, markers: markers };
})();
