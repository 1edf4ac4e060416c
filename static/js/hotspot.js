// A flood hotspot's water levels over a chosen period, drawn with Chart.js against its three thresholds.
// Refreshed every minute without reloading; every text comes from the server's JSON and is set as text.
(function () {
  var config = JSON.parse(document.getElementById("hotspot-config").textContent);
  var COLORS = { watch: "#d9a400", warning: "#fd8d3c", danger: "#bd0026" };
  var asked = Number(new URLSearchParams(window.location.search).get("days"));
  var days = document.querySelector('.period button[data-days="' + asked + '"]') ? asked : 7;
  var chart = null;

  // In the page's language and the city's time zone, like every other date (GIS.formatDate).
  function when(ms) { return GIS.formatDate(new Date(ms).toISOString()); }

  function tick(ms) {  // hours for a day's chart, days (without the year) for longer ones
    var options = days <= 1 ? { hour: "2-digit", minute: "2-digit", hourCycle: "h23" } : { day: "2-digit", month: "2-digit" };
    options.timeZone = "Asia/Ho_Chi_Minh";
    return new Intl.DateTimeFormat(GIS.lang, options).format(new Date(ms));
  }

  function threshold(name, level, start, end) {
    return {
      label: config.labels[name], data: [{ x: start, y: level }, { x: end, y: level }],
      borderColor: COLORS[name], borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, fill: false
    };
  }

  function draw(data) {
    var points = data.readings.map(function (r) { return { x: Date.parse(r.at), y: r.level_cm }; });
    var end = Date.now();
    var start = end - days * 86400000;
    var t = data.thresholds_cm;
    var datasets = [
      { label: config.labels.level, data: points, borderColor: "#0b4f6c", backgroundColor: "rgba(11,79,108,.15)",
        borderWidth: 2, pointRadius: points.length > 200 ? 0 : 2, fill: true, tension: 0.2 },
      threshold("watch", t.watch, start, end), threshold("warning", t.warning, start, end),
      threshold("danger", t.danger, start, end)
    ];
    document.getElementById("chart-note").textContent = points.length ? "" : config.labels.none;
    document.getElementById("hotspot-status").textContent = config.statuses[data.status] || data.status;
    document.getElementById("hotspot-level").textContent = data.level_cm === null ? "-" : String(data.level_cm);
    if (chart) {
      chart.data.datasets = datasets;
      chart.options.scales.x.min = start;
      chart.options.scales.x.max = end;
      chart.update();
      return;
    }
    chart = new Chart(document.getElementById("hotspot-chart"), {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false, maintainAspectRatio: false, parsing: false, normalized: true,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: { type: "linear", min: start, max: end, ticks: { maxTicksLimit: 8, callback: tick } },
          y: { beginAtZero: true, title: { display: true, text: config.labels.level } }
        },
        plugins: { tooltip: { callbacks: { title: function (items) { return when(items[0].parsed.x); } } } }
      }
    });
  }

  function load() {
    var from = new Date(Date.now() - days * 86400000).toISOString();
    fetch(config.readings + "?from=" + encodeURIComponent(from))
      .then(function (r) { return r.json(); })
      .then(draw);
  }

  document.querySelectorAll(".period button").forEach(function (button) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.days) === days));
    button.addEventListener("click", function () {
      days = Number(button.dataset.days);
      document.querySelectorAll(".period button").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b === button));
      });
      load();
    });
  });
  load();
  setInterval(load, 60000);
})();
