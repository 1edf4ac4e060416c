// Summary page charts (Chart.js, served locally): trend, categories, ranking, dossiers.
(function () {
  var config = JSON.parse(document.getElementById("summary-config").textContent);
  var L = config.labels;
  var lang = document.documentElement.lang || "vi";
  var pct = function (v) { return v === null ? null : Math.round(v * 1000) / 10; };
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;

  // Trend buckets as the page's tables write them (11/2026, Tuần 45/2026).
  function periodLabel(key) { return (config.periods || {})[key] || key; }

  function make(id, spec) {
    var canvas = document.getElementById(id);
    if (canvas) { new Chart(canvas, spec); }
  }

  make("chart-trend", {
    type: "bar",
    data: {
      labels: config.trend.map(function (t) { return periodLabel(t.key); }),
      datasets: [
        { type: "bar", label: L.received, data: config.trend.map(function (t) { return t.received; }), backgroundColor: "#6baed6", yAxisID: "y" },
        { type: "bar", label: L.overdue, data: config.trend.map(function (t) { return t.overdue; }), backgroundColor: "#e34a33", yAxisID: "y" },
        { type: "line", label: L.onTimeRate + " (%)", data: config.trend.map(function (t) { return pct(t.on_time_rate); }), borderColor: "#31a354", backgroundColor: "#31a354", yAxisID: "rate", spanGaps: true }
      ]
    },
    options: { scales: { y: { beginAtZero: true }, rate: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false } } } }
  });
  make("chart-categories", {
    type: "bar",
    data: {
      labels: config.categories.map(function (c) { return config.english ? c.name_en : c.name_vi; }),
      datasets: [
        { label: L.received, data: config.categories.map(function (c) { return c.received; }), backgroundColor: "#3182bd" },
        { label: L.overdue, data: config.categories.map(function (c) { return c.overdue; }), backgroundColor: "#e34a33" }
      ]
    },
    options: { indexAxis: "y", scales: { x: { beginAtZero: true } } }
  });
  make("chart-ranking", {
    type: "bar",
    data: {
      labels: config.ranking.map(function (r) { return r.name; }),
      datasets: [{ label: L.onTimeRate + " (%)", data: config.ranking.map(function (r) { return pct(r.value); }), backgroundColor: "#31a354" }]
    },
    options: { indexAxis: "y", scales: { x: { min: 0, max: 100 } }, plugins: { legend: { display: false } } }
  });
  make("chart-dossiers", {
    type: "bar",
    data: {
      labels: config.dossierTrend.map(function (t) { return periodLabel(t.key); }),
      datasets: [
        { type: "bar", label: L.dossiers, data: config.dossierTrend.map(function (t) { return t.received; }), backgroundColor: "#9ecae1", yAxisID: "y" },
        { type: "line", label: L.dossierOnTime + " (%)", data: config.dossierTrend.map(function (t) { return pct(t.on_time_rate); }), borderColor: "#006d2c", yAxisID: "rate", spanGaps: true }
      ]
    },
    options: { scales: { y: { beginAtZero: true }, rate: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false } } } }
  });
  document.documentElement.dataset.charts = String(Chart.instances ? Object.keys(Chart.instances).length : 0);
  void lang;
})();
