// The wall screen: the display's dashboards in large type, one after the other, each refreshed every few
// seconds (the display's refresh, at least 15 s; no request starts while one is still running, and nothing is
// fetched while the screen is hidden). A lost connection keeps the last figures up and says since when.
(function () {
  var config = JSON.parse(document.getElementById("wall-config").textContent);
  // Opening a display link (/wall#<token>): the token goes to the server once, in a POST, and the page reloads
  // with it kept in a cookie; the fragment leaves the address bar.
  if (!config.dashboards) {
    var token = window.location.hash.slice(1);
    var state0 = document.getElementById("wall-state");
    if (!token) { state0.textContent = config.labels.words.no_display; state0.className = "wall-state error"; return; }
    var csrf = document.querySelector("meta[name=csrf-token]");
    fetch(config.open, { method: "POST", credentials: "same-origin",
                         headers: { "Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.content : "" },
                         body: JSON.stringify({ token: token }) }).then(function (answer) {
      if (answer.status === 204) { window.location.replace(window.location.pathname); return; }
      state0.textContent = config.labels.words.no_display;
      state0.className = "wall-state error";
    }, function () {
      state0.textContent = config.labels.words.no_display;
      state0.className = "wall-state error";
    });
    return;
  }
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

  // How many grid rows the panels take (CSS grid's sparse placement on 12 columns), so that the whole dashboard
  // fits the screen: a wall is not scrolled.
  function rowsOf(panels) {
    var taken = {}, row = 0, col = 0, rows = 0;
    panels.forEach(function (p) {
      var w = Math.min(p.width, 12), h = p.height, free, r, c;
      for (;;) {
        if (col + w > 12) { row += 1; col = 0; continue; }
        free = true;
        for (r = 0; r < h && free; r++) { for (c = 0; c < w; c++) { if (taken[(row + r) + ":" + (col + c)]) { free = false; break; } } }
        if (free) { break; }
        col += 1;
      }
      for (r = 0; r < h; r++) { for (c = 0; c < w; c++) { taken[(row + r) + ":" + (col + c)] = true; } }
      rows = Math.max(rows, row + h);
      col += w;
    });
    return Math.max(rows, 1);
  }

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
        var rows = rowsOf(answer.data.panels);
        grid.style.gridAutoRows = "max(7rem, calc((100vh - 4.5rem - " + (rows - 1) * 0.75 + "rem) / " + rows + "))";
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
