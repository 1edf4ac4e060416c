// The wall screen: the display's dashboards in large type, one after the other, each refreshed every few
// seconds (the display's refresh, at least 15 s; no request starts while one is still running, and nothing is
// fetched while the screen is hidden). A lost connection keeps the last figures up and says since when.
(function () {
  var config = JSON.parse(document.getElementById("wall-config").textContent);
  var grid = document.getElementById("dash-grid");
  var state = document.getElementById("wall-state");
  var index = 0;
  var inFlight = false;
  var refreshes = 0;
  var failingSince = null;
  Chart.defaults.color = "#cfe3f3";
  Chart.defaults.borderColor = "#2a4257";
  Chart.defaults.font.size = 15;

  function url(id) { return config.data.replace(/0$/, String(id)); }

  function show() {
    var current = config.dashboards[index];
    if (!current || inFlight || document.hidden) { return; }
    inFlight = true;
    fetch(url(current.id), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (data) { return { ok: r.ok, status: r.status, data: data }; });
      })
      .then(function (answer) {
        if (!answer.ok) {
          state.textContent = answer.data.error ? answer.data.error.message : String(answer.status);
          state.className = "wall-state error";
          if (answer.status === 401) { config.dashboards = []; }
          return;
        }
        failingSince = null;
        refreshes += 1;
        document.getElementById("wall-title").textContent = current.title;
        document.getElementById("wall-area").textContent = answer.data.area.name;
        DASH.render(grid, answer.data, { labels: config.labels, links: null, interactive: false, wall: true });
        grid.dataset.dashboard = String(current.id);
        grid.dataset.refreshes = String(refreshes);
        grid.dataset.state = "ready";
        state.textContent = config.labels.words.updated + " " + GIS.formatDate(answer.data.generated_at);
        state.className = "wall-state";
      })
      .catch(function () {
        failingSince = failingSince || new Date().toISOString();
        state.textContent = config.labels.words.offline + " " + GIS.formatDate(failingSince);
        state.className = "wall-state error";
      })
      .then(function () { inFlight = false; });
  }

  function tick() {
    var now = new Date();
    document.getElementById("wall-clock").textContent = GIS.formatDate(now.toISOString());
  }

  setInterval(show, Math.max(15, config.refresh) * 1000);
  if (config.dashboards.length > 1) {
    setInterval(function () {
      index = (index + 1) % config.dashboards.length;
      show();
    }, Math.max(10, config.rotate) * 1000);
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { show(); } });
  document.getElementById("wall-full").addEventListener("click", function () {
    if (document.documentElement.requestFullscreen) { document.documentElement.requestFullscreen(); }
  });
  setInterval(tick, 1000);
  tick();
  show();
})();
