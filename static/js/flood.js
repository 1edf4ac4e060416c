// Public flood map: hotspots coloured by their current level, refreshed every minute without reloading.
(function () {
  var config = JSON.parse(document.getElementById("flood-config").textContent);
  var map = GIS.mapNamed(config.map);
  var COLORS = { normal: "#31a354", watch: "#fed976", warning: "#fd8d3c", danger: "#bd0026", unknown: "#969696" };
  var markers = {};
  GIS.addAreas(map, config.areas);

  function refresh() {
    fetch(config.hotspots).then(function (r) { return r.json(); }).then(function (data) {
      var list = document.getElementById("hotspot-list");
      list.innerHTML = "";
      var order = { danger: 0, warning: 1, watch: 2, normal: 3, unknown: 4 };
      data.hotspots.sort(function (a, b) { return order[a.status] - order[b.status]; });
      data.hotspots.forEach(function (h) {
        var text = h.name + " — " + (h.level_cm === null ? "?" : h.level_cm + " cm");
        var marker = markers[h.code];
        if (!marker) {
          marker = markers[h.code] = L.circleMarker([h.lat, h.lon], { radius: 8, weight: 2 }).addTo(map);
        }
        marker.setStyle({ color: "#333", fillColor: COLORS[h.status], fillOpacity: 0.9 });
        marker.bindTooltip(GIS.esc(text));
        var li = document.createElement("li");
        li.className = "level-" + h.status;
        li.textContent = text;
        var chart = li.appendChild(document.createElement("a")); chart.href = h.page; chart.textContent = " ↗";
        li.addEventListener("click", function () { map.flyTo([h.lat, h.lon], 16); });
        list.appendChild(li);
      });
      document.getElementById("updated").textContent = new Date().toLocaleTimeString();
    });
  }
  refresh();
  setInterval(refresh, 60000);
})();
