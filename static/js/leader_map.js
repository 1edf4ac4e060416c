// Leader map: the parts of an area shaded by an indicator (class breaks from the server), drill-down on
// click with a breadcrumb back up, and the clicked area's key figures beside the map. Data text is
// written with textContent or GIS.esc, never as markup.
(function () {
  var script = document.currentScript;
  var config = JSON.parse(document.getElementById("leader-config").textContent);
  var map = GIS.mapNamed(config.map);
  var form = document.getElementById("leader-form");
  var lang = document.documentElement.lang || "vi";
  var numbers = new Intl.NumberFormat(lang);
  var percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
  var state = { area: config.area, indicator: config.indicator, params: config.params || {} };
  var layer = null;
  var outline = null;
  var current = null;

  function fmt(value, format) {
    if (value === null || value === undefined) { return config.labels.noData; }
    return format === "percent" ? percent.format(value) : numbers.format(value);
  }

  function query() {
    var params = new URLSearchParams(state.params);
    params.set("indicator", state.indicator);
    return params;
  }

  function summaryUrl(code) {
    return config.summary.replace("CODE", encodeURIComponent(code)) + "?" + query().toString();
  }

  function remember() {
    var params = query();
    params.set("area", state.area);
    history.replaceState(null, "", config.page + "?" + params.toString());
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function crumbs(list) {
    var nav = document.getElementById("leader-crumbs");
    nav.textContent = "";
    list.forEach(function (a, i) {
      if (i) { nav.appendChild(document.createTextNode(" › ")); }
      if (i < list.length - 1) {
        var link = el("a", a.name);
        link.href = "#";
        link.dataset.code = a.code;
        link.addEventListener("click", function (e) { e.preventDefault(); drill(a.code); });
        nav.appendChild(link);
      } else {
        nav.appendChild(el("strong", a.name));
      }
    });
  }

  function legend(data) {
    var list = document.getElementById("leader-legend");
    list.textContent = "";
    var lg = data.legend;
    var lower = lg.lower;
    lg.bins.forEach(function (upper, i) {
      var item = el("li");
      var swatch = el("span", null, "swatch");
      swatch.style.background = lg.colours[i];
      item.appendChild(swatch);
      var range = upper === lower ? fmt(upper, lg.format) : fmt(lower, lg.format) + " – " + fmt(upper, lg.format);
      item.appendChild(el("span", (i === 0 ? "" : "> ") + range));
      var count = data.features.filter(function (f) { return f.properties["class"] === i; }).length;
      item.appendChild(el("span", "(" + count + ")", "hint"));
      list.appendChild(item);
      lower = upper;
    });
    if (data.features.some(function (f) { return f.properties.value === null; })) {
      var none = el("li");
      var sw = el("span", null, "swatch");
      sw.style.background = lg.no_data;
      none.appendChild(sw);
      none.appendChild(el("span", config.labels.noData));
      list.appendChild(none);
    }
  }

  function info(title, props, format) {
    var box = document.getElementById("leader-info");
    box.textContent = "";
    box.appendChild(el("h3", title));
    if (props.value !== undefined) {
      box.appendChild(el("p", config.labels.indicators[state.indicator] + ": " + fmt(props.value, format) +
                              (props.rank ? " · " + config.labels.rank + " " + props.rank : ""), "lead"));
    }
    [["reports", ["received", "overdue", "on_time_rate"]], ["dossiers", ["received", "on_time_rate", "online_share"]]]
      .forEach(function (group) {
        box.appendChild(el("h4", config.labels.sections[group[0]]));
        var dl = el("dl", null, "facts");
        group[1].forEach(function (key) {
          dl.appendChild(el("dt", config.labels[group[0]][key]));
          dl.appendChild(el("dd", fmt(props[group[0]][key], /rate|share/.test(key) ? "percent" : "count")));
        });
        box.appendChild(dl);
      });
    var link = el("a", script.dataset.open, "button-link");
    link.href = summaryUrl(props.code);
    box.appendChild(link);
  }

  // On the map a ward goes without "Phường"/"Xã" (the list and the panel keep the full name): more labels fit.
  function shortName(name) { return name.replace(/^(Phường|Xã|Thị trấn|Ward|Commune)\s+/, ""); }

  // Area names on the map, with their figure, where they fit inside the area; the others in a list under the
  // legend (a phone cannot hover to read them).
  function fitLabels(data) {
    if (!layer) { return; }
    var hidden = [];
    layer.eachLayer(function (lyr) {
      var tip = lyr.getTooltip();
      var node = tip && tip.getElement();
      if (!node) { return; }
      var b = lyr.getBounds();
      var nw = map.latLngToContainerPoint(b.getNorthWest());
      var se = map.latLngToContainerPoint(b.getSouthEast());
      var fits = node.offsetWidth <= (se.x - nw.x) * 0.9 && node.offsetHeight <= (se.y - nw.y) * 0.8;
      node.classList.toggle("does-not-fit", !fits);
      if (!fits) { hidden.push(lyr.feature.properties); }
    });
    var list = document.getElementById("small-areas");
    list.textContent = "";
    document.getElementById("small-areas-box").hidden = !hidden.length;
    hidden.sort(function (a, b) { return a.name.localeCompare(b.name, lang); }).forEach(function (p) {
      var item = el("li");
      var link = el("a", p.name);
      link.href = "#";
      link.addEventListener("click", function (e) {
        e.preventDefault();
        info(p.name, p, data.legend.format);
        if (p.has_children) { drill(p.code); }
      });
      item.appendChild(link);
      item.appendChild(document.createTextNode(": " + fmt(p.value, data.legend.format)));
      list.appendChild(item);
    });
  }

  function draw(data) {
    if (layer) { map.removeLayer(layer); }
    if (outline) { map.removeLayer(outline); }
    if (data.outline) {
      outline = L.geoJSON(data.outline, { interactive: false, style: { color: "#0b4f6c", weight: 2, fill: false } }).addTo(map);
    }
    layer = L.geoJSON(data, {
      style: function (f) {
        return { color: f.properties.current ? "#ffffff" : "#555555", weight: 1.2, dashArray: f.properties.current ? null : "4 3",
                 fillColor: f.properties.colour, fillOpacity: 0.8 };
      },
      onEachFeature: function (f, lyr) {
        lyr.bindTooltip(GIS.esc(shortName(f.properties.name)) + "<br><span class=\"area-value\">" +
                        GIS.esc(fmt(f.properties.value, data.legend.format)) + "</span>",
                        { permanent: true, direction: "center", className: "area-label", interactive: false });
        lyr.on("click", function () {
          info(f.properties.name, f.properties, data.legend.format);
          if (f.properties.has_children) { drill(f.properties.code); }
        });
        lyr.on("mouseover", function () { lyr.setStyle({ weight: 3 }); });
        lyr.on("mouseout", function () { layer.resetStyle(lyr); });
      }
    }).addTo(map);
    var bounds = (outline || layer).getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [10, 10], animate: false }); }
    map.off("zoomend", map._fitAreaLabels);
    map._fitAreaLabels = function () { fitLabels(data); };
    map.on("zoomend", map._fitAreaLabels);
    fitLabels(data);
    document.getElementById("leader-title").textContent = data.area.name;
    document.getElementById("leader-period").textContent = script.dataset.period + " " + GIS.formatDate(data.period.from, false) + " – " +
      GIS.formatDate(data.period.to, false);
    crumbs(data.breadcrumb);
    legend(data);
    info(data.area.name, { code: data.area.code, reports: data.totals.reports, dossiers: data.totals.dossiers }, data.legend.format);
    map.getContainer().dataset.area = data.area.code;
    map.getContainer().dataset.features = String(data.features.length);
  }

  function load() {
    var url = config.api.replace("CODE", encodeURIComponent(state.area)) + "?" + query().toString();
    document.getElementById("leader-period").textContent = script.dataset.loading;
    current = url;
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (url !== current) { return; }
      if (!res.ok) {
        document.getElementById("leader-period").textContent = script.dataset.failed + ": " + res.body.error.message;
        return;
      }
      draw(res.body);
      remember();
    });
  }

  function drill(code) {
    state.area = code;
    load();
  }

  form.addEventListener("change", function () {
    var data = new FormData(form);
    state.indicator = data.get("indicator");
    state.params = {};
    ["from", "to", "areas"].forEach(function (k) { if (data.get(k)) { state.params[k] = data.get(k); } });
    load();
  });
  load();
  // Reports and alerts change the figures: redraw them a few seconds after the last live change (live.js).
  var liveTimer = null;
  document.addEventListener("gis:live", function () {
    clearTimeout(liveTimer);
    liveTimer = setTimeout(load, 5000);
  });
})();
