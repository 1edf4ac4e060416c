// One dashboard: filters at the top (area, period, category, comparison), drill-down by clicking an area with a
// breadcrumb back up, links from every figure to its records, exports, and, for its owner, editing in place
// (add or change a panel in a dialog, drag panels to arrange them, share, save). The URL keeps the filters, so
// a view can be shared and the back button walks back up.
(function () {
  var config = JSON.parse(document.getElementById("dash-config").textContent);
  var L10N = config.labels;
  var grid = document.getElementById("dash-grid");
  var form = document.getElementById("dash-filters");
  var status = document.getElementById("dash-status");
  var dashboard = config.dashboard;
  var panels = JSON.parse(JSON.stringify(dashboard.panels));
  var editing = false;
  var dirty = false;
  var catalog = null;
  var lastData = null;
  var loading = 0;

  function el(tag, className, text) { return DASH.el(tag, className, text); }

  function say(text, bad) {
    status.textContent = text || "";
    status.className = "dash-status" + (bad ? " error-message" : "");
  }

  // -- the filters in the URL ----------------------------------------------------------------------------------

  function query() {
    var q = new URLSearchParams(window.location.search);
    q.delete("edit");
    if (!q.get("area")) { q.set("area", config.opening); }
    var stored = dashboard.filters || {};
    if (!q.get("from") && !q.get("last_days") && stored.period) {
      if (stored.period.last_days) { q.set("last_days", stored.period.last_days); }
      else { q.set("from", stored.period.from); q.set("to", stored.period.to); }
    }
    if (!q.has("category") && stored.category) { q.set("category", stored.category); }
    return q;
  }

  function go(params, replace) {
    var url = window.location.pathname + "?" + params.toString() + (editing ? "&edit=1" : "");
    if (replace) { history.replaceState(null, "", url); } else { history.pushState(null, "", url); }
    load();
  }

  function drill(code) {
    var q = query();
    q.set("area", code);
    go(q);
  }

  function fillFilters(data) {
    var q = query();
    var area = form.elements.area;
    area.textContent = "";
    var options = config.areas.slice();
    var known = {};
    options.forEach(function (a) { known[a.code] = true; });
    (data.breadcrumb || []).concat(data.children || []).concat([data.area]).forEach(function (a) {
      if (!known[a.code]) { options.push(a); known[a.code] = true; }
    });
    options.forEach(function (a) {
      var option = el("option", null, a.name);
      option.value = a.code;
      if (a.code === data.area.code) { option.selected = true; }
      area.appendChild(option);
    });
    var compareArea = form.elements.compare_area;
    compareArea.textContent = "";
    options.forEach(function (a) {
      var option = el("option", null, a.name);
      option.value = a.code;
      if (a.code === q.get("compare_area")) { option.selected = true; }
      compareArea.appendChild(option);
    });
    var days = String(data.period.last_days || "");
    form.elements.preset.value = ["30", "90", "365"].indexOf(days) >= 0 ? days : "custom";
    form.elements.from.value = data.period.from;
    form.elements.to.value = data.period.to;
    form.elements.category.value = data.category || "";
    var compare = q.get("compare_area") ? "area" : (q.get("compare_from") ? "period" : "");
    form.elements.compare.value = compare;
    if (q.get("compare_from")) {
      form.elements.compare_from.value = q.get("compare_from");
      form.elements.compare_to.value = q.get("compare_to");
    }
    showCustom();
  }

  function showCustom() {
    form.classList.toggle("custom-period", form.elements.preset.value === "custom");
    form.classList.toggle("compare-area", form.elements.compare.value === "area");
    form.classList.toggle("compare-period", form.elements.compare.value === "period" || form.elements.compare.value === "previous");
  }

  form.addEventListener("change", showCustom);
  form.elements.compare.addEventListener("change", function () {
    if (form.elements.compare.value === "previous" && lastData) {
      // The period of the same length just before the one shown.
      var from = new Date(lastData.period.from + "T00:00:00Z"), to = new Date(lastData.period.to + "T00:00:00Z");
      var days = Math.round((to - from) / 86400000) + 1;
      var end = new Date(from.getTime() - 86400000), start = new Date(from.getTime() - days * 86400000);
      form.elements.compare_from.value = start.toISOString().slice(0, 10);
      form.elements.compare_to.value = end.toISOString().slice(0, 10);
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var q = new URLSearchParams();
    q.set("area", form.elements.area.value);
    var preset = form.elements.preset.value;
    if (preset === "custom") { q.set("from", form.elements.from.value); q.set("to", form.elements.to.value); }
    else { q.set("last_days", preset); }
    q.set("category", form.elements.category.value);
    var compare = form.elements.compare.value;
    if (compare === "area") { q.set("compare_area", form.elements.compare_area.value); }
    if (compare === "period" || compare === "previous") {
      q.set("compare_from", form.elements.compare_from.value);
      q.set("compare_to", form.elements.compare_to.value);
    }
    go(q);
  });

  function crumbs(data) {
    var nav = document.getElementById("dash-crumbs");
    nav.textContent = "";
    data.breadcrumb.forEach(function (a, i) {
      if (i) { nav.appendChild(document.createTextNode(" › ")); }
      if (i < data.breadcrumb.length - 1) {
        var link = el("a", null, a.name);
        link.href = "#";
        link.dataset.code = a.code;
        link.addEventListener("click", function (e) { e.preventDefault(); drill(a.code); });
        nav.appendChild(link);
      } else {
        nav.appendChild(el("strong", null, a.name));
      }
    });
  }

  // -- loading and drawing -------------------------------------------------------------------------------------

  function fetchData() {
    var q = query();
    if (editing) {
      return GIS.send("POST", config.api.preview + "?" + q.toString(), { panels: panels });
    }
    return fetch(config.api.data + "?" + q.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, status: r.status, data: d }; }); });
  }

  function load() {
    var ticket = ++loading;
    grid.dataset.state = "loading";
    return fetchData().then(function (answer) {
      if (ticket !== loading) { return; }
      if (!answer.ok) {
        grid.dataset.state = "error";
        say(answer.data.error ? answer.data.error.message : String(answer.status), true);
        return;
      }
      say("");
      lastData = answer.data;
      crumbs(answer.data);
      fillFilters(answer.data);
      DASH.render(grid, answer.data, { labels: L10N, links: config.links, interactive: true, onDrill: drill,
                                       decorate: editing ? decorate : null });
      var q = query().toString();
      document.getElementById("dash-pdf").href = config.api.pdf + "?" + q;
      document.getElementById("dash-xlsx").href = config.api.xlsx + "?" + q;
      grid.dataset.area = answer.data.area.code;
      grid.dataset.state = "ready";
    });
  }

  window.addEventListener("popstate", function () { load(); });

  // -- editing ---------------------------------------------------------------------------------------------------

  var editbar = document.getElementById("dash-editbar");
  var dialog = document.getElementById("panel-dialog");
  var dform = document.getElementById("panel-form");
  var editingPanel = null;

  function markDirty() {
    dirty = true;
    document.getElementById("dash-save").disabled = false;
  }

  function startEditing() {
    editing = true;
    document.body.classList.add("dash-editing");
    editbar.hidden = false;
    editbar.elements.title.value = dashboard.title;
    editbar.elements.description.value = dashboard.description || "";
    editbar.elements.all_leaders.checked = (dashboard.share.roles || []).indexOf("leader") >= 0;
    var shareAreas = editbar.elements.share_areas;
    shareAreas.textContent = "";
    config.areas.forEach(function (a) {
      var option = el("option", null, a.name);
      option.value = a.code;
      option.selected = (dashboard.share.areas || []).indexOf(a.code) >= 0;
      shareAreas.appendChild(option);
    });
    if (editbar.elements.template) { editbar.elements.template.checked = !!dashboard.template; }
    document.getElementById("dash-save").disabled = true;
    var ready = catalog ? Promise.resolve() : GIS.getJSON(config.api.indicators).then(function (c) { catalog = c; fillCatalog(); });
    return ready.then(load);
  }

  function fillCatalog() {
    var chart = dform.elements.chart;
    chart.textContent = "";
    Object.keys(catalog.charts).forEach(function (k) {
      var option = el("option", null, catalog.charts[k]);
      option.value = k;
      chart.appendChild(option);
    });
    var indicator = dform.elements.indicator;
    indicator.textContent = "";
    var families = {};
    catalog.indicators.forEach(function (i) {
      if (!families[i.family]) {
        families[i.family] = el("optgroup");
        families[i.family].label = L10N.families[i.family] || i.family;
        indicator.appendChild(families[i.family]);
      }
      var option = el("option", null, i.label);
      option.value = i.key;
      families[i.family].appendChild(option);
    });
    var layer = dform.elements.layer, within = dform.elements.within;
    layer.textContent = "";
    within.textContent = "";
    var none = el("option", null, "—");
    none.value = "";
    within.appendChild(none);
    catalog.layers.forEach(function (l) {
      var option = el("option", null, l.title);
      option.value = l.name;
      layer.appendChild(option);
      var other = el("option", null, l.title);
      other.value = l.name;
      within.appendChild(other);
    });
    var area = dform.elements.area;
    area.textContent = "";
    var follow = el("option", null, L10N.words.dashboard_area);
    follow.value = "";
    area.appendChild(follow);
    config.areas.forEach(function (a) {
      var option = el("option", null, a.name);
      option.value = a.code;
      area.appendChild(option);
    });
    var also = dform.elements.also;
    also.textContent = "";
    catalog.indicators.filter(function (i) { return !i.layer; }).forEach(function (i) {
      var option = el("option", null, i.label);
      option.value = i.key;
      also.appendChild(option);
    });
  }

  function indicatorInfo(key) {
    return catalog.indicators.filter(function (i) { return i.key === key; })[0];
  }

  function layerInfo(name) {
    return catalog.layers.filter(function (l) { return l.name === name; })[0];
  }

  // Keep the dialog's choices consistent: the ways of showing the chart takes that the indicator has.
  function syncDialog() {
    var info = indicatorInfo(dform.elements.indicator.value);
    var chart = dform.elements.chart.value;
    document.getElementById("panel-definition").textContent = info ? info.definition : "";
    dform.classList.toggle("is-layer", !!(info && info.layer));
    var dims = (catalog.chartDimensions[chart] || []).filter(function (d) { return info && info.dims.indexOf(d) >= 0; });
    var dimension = dform.elements.dimension;
    var before = dimension.value;
    dimension.textContent = "";
    dims.forEach(function (d) {
      var option = el("option", null, catalog.dimensions[d]);
      option.value = d;
      dimension.appendChild(option);
    });
    if (dims.indexOf(before) >= 0) { dimension.value = before; }
    var by = dform.elements.by;
    var beforeBy = by.value;
    by.textContent = "";
    var no = el("option", null, "—");
    no.value = "";
    by.appendChild(no);
    var choices = [];
    if (info && info.layer) {
      var layer = layerInfo(dform.elements.layer.value);
      choices = layer ? layer.attributes.map(function (a) { return [a, a]; }) : [];
    } else if (info) {
      choices = info.groups.map(function (g) { return [g, L10N.groups[g] || g]; });
    }
    choices.forEach(function (c) {
      var option = el("option", null, c[1]);
      option.value = c[0];
      by.appendChild(option);
    });
    if (choices.some(function (c) { return c[0] === beforeBy; })) { by.value = beforeBy; }
    dform.classList.toggle("has-by", choices.length > 0);
    dform.classList.toggle("many", (catalog.chartIndicators[chart] || 1) > 1 && !(info && info.layer));
  }

  ["chart", "indicator", "layer"].forEach(function (name) { dform.elements[name].addEventListener("change", syncDialog); });

  function openDialog(panel) {
    editingPanel = panel || null;
    document.getElementById("panel-error").textContent = "";
    var p = panel || { chart: "number", indicators: [{ key: "reports_received" }], width: 4, height: 1 };
    dform.elements.chart.value = p.chart;
    var first = p.indicators[0];
    dform.elements.indicator.value = first.key;
    if (first.layer) { dform.elements.layer.value = first.layer; }
    dform.elements.within.value = first.within || "";
    syncDialog();
    if (p.dimension) { dform.elements.dimension.value = p.dimension; }
    dform.elements.by.value = first.by || "";
    Array.prototype.forEach.call(dform.elements.also.options, function (o) {
      o.selected = p.indicators.slice(1).some(function (i) { return i.key === o.value; });
    });
    dform.elements.area.value = p.area || "";
    dform.elements.period.value = p.period && p.period.last_days ? String(p.period.last_days) : "";
    dform.elements.width.value = String(p.width || 4);
    dform.elements.height.value = String(p.height || 1);
    dform.elements.title.value = p.title || "";
    dialog.showModal();
  }

  function panelFromDialog() {
    var info = indicatorInfo(dform.elements.indicator.value);
    var first = { key: info.key };
    if (info.layer) {
      first.layer = dform.elements.layer.value;
      if (dform.elements.within.value) { first.within = dform.elements.within.value; }
    }
    if (dform.elements.by.value) { first.by = dform.elements.by.value; }
    var indicators = [first];
    if (!info.layer && (catalog.chartIndicators[dform.elements.chart.value] || 1) > 1) {
      Array.prototype.forEach.call(dform.elements.also.selectedOptions, function (o) {
        if (o.value !== info.key) { indicators.push({ key: o.value }); }
      });
    }
    var panel = {
      id: editingPanel ? editingPanel.id : "p" + Date.now().toString(36) + Math.floor(Math.random() * 1000),
      chart: dform.elements.chart.value, dimension: dform.elements.dimension.value, indicators: indicators,
      width: parseInt(dform.elements.width.value, 10), height: parseInt(dform.elements.height.value, 10)
    };
    if (dform.elements.title.value.trim()) { panel.title = dform.elements.title.value.trim(); }
    if (dform.elements.area.value) { panel.area = dform.elements.area.value; }
    if (dform.elements.period.value) { panel.period = { last_days: parseInt(dform.elements.period.value, 10) }; }
    return panel;
  }

  dform.addEventListener("submit", function (event) {
    event.preventDefault();
    var panel = panelFromDialog();
    var candidate = panels.slice();
    var at = editingPanel ? candidate.indexOf(editingPanel) : -1;
    if (at >= 0) { candidate[at] = panel; } else { candidate.push(panel); }
    // The server checks the panel (and the caller's right to what it names) before it joins the dashboard.
    GIS.send("POST", config.api.preview + "?" + query().toString(), { panels: [panel] }).then(function (answer) {
      if (!answer.ok) {
        document.getElementById("panel-error").textContent = answer.data.error ? answer.data.error.message : String(answer.status);
        return;
      }
      panels = candidate;
      markDirty();
      dialog.close();
      load();
    });
  });

  document.getElementById("panel-cancel").addEventListener("click", function () { dialog.close(); });

  function move(panel, to) {
    var from = panels.indexOf(panel);
    if (from < 0 || to < 0 || to >= panels.length || to === from) { return; }
    panels.splice(from, 1);
    panels.splice(to, 0, panel);
    markDirty();
    // The figures stay the same: only the order of the grid changes.
    var articles = {};
    Array.prototype.forEach.call(grid.children, function (a) { articles[a.dataset.panel] = a; });
    panels.forEach(function (p) { if (articles[p.id]) { grid.appendChild(articles[p.id]); } });
    window.dispatchEvent(new Event("resize"));
  }

  function decorate(article, data) {
    var panel = panels.filter(function (p) { return p.id === data.id; })[0];
    if (!panel) { return; }
    article.draggable = true;
    var tools = el("div", "dpanel-tools");
    [["◀", "move_left", function () { move(panel, panels.indexOf(panel) - 1); }],
     ["▶", "move_right", function () { move(panel, panels.indexOf(panel) + 1); }],
     ["✎", "edit_panel", function () { openDialog(panel); }],
     ["✕", "remove_panel", function () { panels.splice(panels.indexOf(panel), 1); markDirty(); load(); }]
    ].forEach(function (t) {
      var button = el("button", "dpanel-tool " + t[1], t[0]);
      button.type = "button";
      button.title = L10N.words[t[1]] || t[1];
      button.setAttribute("aria-label", button.title);
      button.addEventListener("click", t[2]);
      tools.appendChild(button);
    });
    article.querySelector(".dpanel-head").appendChild(tools);
    article.addEventListener("dragstart", function (event) {
      event.dataTransfer.setData("text/plain", panel.id);
      event.dataTransfer.effectAllowed = "move";
      article.classList.add("dragging");
    });
    article.addEventListener("dragend", function () { article.classList.remove("dragging"); });
    article.addEventListener("dragover", function (event) { event.preventDefault(); article.classList.add("drop-target"); });
    article.addEventListener("dragleave", function () { article.classList.remove("drop-target"); });
    article.addEventListener("drop", function (event) {
      event.preventDefault();
      article.classList.remove("drop-target");
      var moved = panels.filter(function (p) { return p.id === event.dataTransfer.getData("text/plain"); })[0];
      if (moved && moved !== panel) { move(moved, panels.indexOf(panel)); }
    });
  }

  function save() {
    var shareAreas = Array.prototype.map.call(editbar.elements.share_areas.selectedOptions, function (o) { return o.value; });
    var body = {
      title: editbar.elements.title.value, description: editbar.elements.description.value, panels: panels,
      share: { roles: editbar.elements.all_leaders.checked ? ["leader"] : [], areas: shareAreas },
      version: dashboard.version
    };
    if (editbar.elements.template) { body.template = editbar.elements.template.checked; }
    return GIS.send("PUT", config.api.save, body).then(function (answer) {
      if (!answer.ok) { say(answer.data.error ? answer.data.error.message : String(answer.status), true); return; }
      dashboard = answer.data;
      panels = JSON.parse(JSON.stringify(dashboard.panels));
      dirty = false;
      document.getElementById("dash-save").disabled = true;
      document.getElementById("dash-title").textContent = dashboard.title;
      say(L10N.words.saved);
    });
  }

  if (config.canEdit) {
    document.getElementById("dash-edit").addEventListener("click", function () {
      if (editing) { return; }
      history.replaceState(null, "", window.location.pathname + "?" + query().toString() + "&edit=1");
      startEditing();
    });
    document.getElementById("dash-add").addEventListener("click", function () { openDialog(null); });
    document.getElementById("dash-save").addEventListener("click", function () { save(); });
    ["title", "description", "all_leaders", "share_areas", "template"].forEach(function (name) {
      if (editbar.elements[name]) { editbar.elements[name].addEventListener("change", markDirty); }
    });
    editbar.addEventListener("submit", function (event) { event.preventDefault(); save(); });
    document.getElementById("dash-done").addEventListener("click", function () {
      if (dirty && !window.confirm(L10N.words.unsaved)) { return; }
      window.location.href = window.location.pathname + "?" + query().toString();
    });
  }

  var copy = document.getElementById("dash-copy");
  copy.addEventListener("click", function () {
    GIS.send("POST", config.api.copy, {}).then(function (answer) {
      if (!answer.ok) { say(answer.data.error.message, true); return; }
      window.location.href = config.api.page.replace(/0$/, String(answer.data.id)) + "?edit=1";
    });
  });

  var wallDialog = document.getElementById("wall-dialog");
  var wallForm = document.getElementById("wall-form");
  document.getElementById("dash-wall").addEventListener("click", function () {
    document.getElementById("wall-result").hidden = true;
    wallForm.elements.name.value = dashboard.title;
    wallDialog.showModal();
  });
  document.getElementById("wall-cancel").addEventListener("click", function () { wallDialog.close(); });
  wallForm.addEventListener("submit", function (event) {
    event.preventDefault();
    GIS.send("POST", config.api.displays, {
      name: wallForm.elements.name.value, dashboards: [dashboard.id],
      refresh_seconds: parseInt(wallForm.elements.refresh.value, 10)
    }).then(function (answer) {
      var out = document.getElementById("wall-result");
      out.hidden = false;
      if (!answer.ok) { out.textContent = answer.data.error.message; return; }
      var link = document.getElementById("wall-url");
      link.value = answer.data.url;
      document.getElementById("wall-open").href = answer.data.url;
    });
  });

  // The weekly mail of this dashboard's PDF: the reader's day and hour, to the email of their notification choices.
  var mailDialog = document.getElementById("mail-dialog");
  var mailForm = document.getElementById("mail-form");
  var mailStatus = document.getElementById("mail-status");
  var mailStop = document.getElementById("mail-stop");

  function showMail(state) {
    var to = document.getElementById("mail-to");
    to.textContent = "";
    if (state.email) {
      to.textContent = L10N.words.mail_to.replace("{email}", state.email);
    } else {
      to.appendChild(document.createTextNode(L10N.words.mail_no_email + " "));
      var link = document.createElement("a");
      link.href = config.api.choices;
      link.textContent = L10N.words.my_notifications;
      to.appendChild(link);
    }
    if (state.subscribed) {
      mailForm.elements.weekday.value = String(state.weekday);
      mailForm.elements.hour.value = String(state.hour);
      var day = mailForm.elements.weekday.selectedOptions[0].textContent;
      mailStatus.textContent = L10N.words.mail_on.replace("{day}", day)
        .replace("{hour}", mailForm.elements.hour.selectedOptions[0].textContent);
    } else {
      mailStatus.textContent = L10N.words.mail_off;
    }
    mailStatus.className = "hint";
    mailStop.hidden = !state.subscribed;
  }

  function mailAnswer(answer) {
    if (!answer.ok) {
      mailStatus.textContent = answer.data.error.message;
      mailStatus.className = "error-message";
      return;
    }
    showMail(answer.data);
  }

  document.getElementById("dash-mail").addEventListener("click", function () {
    GIS.getJSON(config.api.mail).then(function (state) {
      if (state.error) { say(state.error.message, true); return; }
      showMail(state);
      mailDialog.showModal();
    });
  });
  document.getElementById("mail-cancel").addEventListener("click", function () { mailDialog.close(); });
  mailForm.addEventListener("submit", function (event) {
    event.preventDefault();
    GIS.send("PUT", config.api.mail, { weekday: parseInt(mailForm.elements.weekday.value, 10),
                                       hour: parseInt(mailForm.elements.hour.value, 10) }).then(mailAnswer);
  });
  mailStop.addEventListener("click", function () {
    fetch(config.api.mail, { method: "DELETE", credentials: "same-origin",
                             headers: { "X-CSRFToken": document.querySelector("meta[name=csrf-token]").content } })
      .then(function (r) { return r.ok ? GIS.getJSON(config.api.mail).then(showMail) : null; });
  });

  if (config.edit) { startEditing(); } else { load(); }
})();
