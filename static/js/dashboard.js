// Drawing a dashboard's panels from the data the server evaluated: number cards with their trend, Chart.js charts
// (line, bar, stacked, ranking), Leaflet maps of child areas, tables and SVG gauges. Used by the dashboard page
// and by the wall screen. Text from data goes into the page as DOM text, never as markup.
var DASH = (function () {
  var lang = document.documentElement.lang || "vi";
  var SIDE_COLOURS = ["#3182bd", "#e6550d"];
  var COLOURS = ["#3182bd", "#31a354", "#e6550d", "#756bb1", "#636363", "#d6616b", "#8ca252", "#bd9e39",
                 "#17becf", "#9467bd", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39",
                 "#7b4173", "#3182bd", "#fd8d3c", "#74c476", "#9e9ac8"];
  var charts = [];
  var maps = [];

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function number(value, unit, labels) {
    if (value === null || value === undefined) { return "–"; }
    if (unit === "percent") {
      return new Intl.NumberFormat(lang, { maximumFractionDigits: 1, minimumFractionDigits: 1 }).format(value * 100) + "%";
    }
    var digits = unit === "count" ? 0 : (Math.abs(value) >= 100 ? 1 : 2);
    if (unit === "count" && value !== Math.round(value)) { digits = 2; }
    var text = new Intl.NumberFormat(lang, { maximumFractionDigits: digits, minimumFractionDigits: unit === "count" ? 0 : digits }).format(value);
    var suffix = unit === "count" ? "" : " " + ((labels && labels.units && labels.units[unit]) || unit);
    return text + suffix;
  }

  function chartValue(value, unit) {
    if (value === null || value === undefined) { return null; }
    return unit === "percent" ? Math.round(value * 1000) / 10 : value;
  }

  // Where a click on a figure leads: the records behind it, as the server described them.
  function recordsUrl(records, links) {
    if (!records || !links) { return null; }
    var params = new URLSearchParams();
    Object.keys(records.params || {}).forEach(function (k) {
      if (records.params[k] !== null && records.params[k] !== undefined) { params.set(k, records.params[k]); }
    });
    if (records.kind === "summary") {
      return links.summaryRecords.replace("CODE", encodeURIComponent(records.area)) + "?" + params.toString();
    }
    if (records.kind === "layer") { return links.layerRecords + "?" + params.toString(); }
    if (records.kind === "hotspot") { return links.hotspot.replace("CODE", encodeURIComponent(records.code)); }
    if (records.kind === "cameras") { return links.cameraRecords + "?" + params.toString(); }
    if (records.kind === "hotspots") { return links.hotspotRecords + "?" + params.toString(); }
    return null;
  }

  function sideLabel(side) {
    if (!side) { return ""; }
    var text = side.area.name;
    if (side.period) { text += " · " + GIS.formatDate(side.period.from, false) + " – " + GIS.formatDate(side.period.to, false); }
    return text;
  }

  function destroy() {
    charts.forEach(function (c) { c.destroy(); });
    maps.forEach(function (m) { m.remove(); });
    charts = [];
    maps = [];
  }

  function kinds(panel) {
    var seen = {};
    panel.series.forEach(function (x) { seen[x.indicator + "|" + (x.group === undefined ? "" : x.group)] = true; });
    return Object.keys(seen).length;
  }

  // A series' name in a legend or a table's head: the indicator, and with a comparison the side it shows (alone,
  // when the panel shows one indicator: "Phường A" and "Phường B", or the two periods).
  function sideName(panel, n) {
    var a = panel.sides[0], b = panel.sides[1], side = panel.sides[n];
    if (a && b && a.area.code === b.area.code && side.period) {
      return GIS.formatDate(side.period.from, false) + " – " + GIS.formatDate(side.period.to, false);
    }
    return side.area.name;
  }

  function seriesName(s, panel) {
    if (panel.sides.length < 2) { return s.label; }
    if (kinds(panel) === 1) { return sideName(panel, s.side); }
    return s.label + " · " + sideName(panel, s.side);
  }

  function colourOf(s, i, panel) {
    var indicators = {};
    panel.series.forEach(function (x) { indicators[x.indicator + "|" + (x.group === undefined ? "" : x.group)] = true; });
    if (Object.keys(indicators).length === 1) { return SIDE_COLOURS[s.side % 2]; }
    var k = Object.keys(indicators).indexOf(s.indicator + "|" + (s.group === undefined ? "" : s.group));
    return COLOURS[k % COLOURS.length];
  }

  // -- panels ------------------------------------------------------------------------------------------------

  function numberCard(body, panel, ctx) {
    var box = el("div", "dnum-row");
    panel.series.forEach(function (s) {
      var card = el("div", "dnum");
      if (panel.sides.length > 1) { card.appendChild(el("div", "dnum-side", sideLabel(panel.sides[s.side]))); }
      var url = recordsUrl(s.records, ctx.links);
      var value = el(url ? "a" : "span", "dnum-value", number(s.value, s.unit, ctx.labels));
      if (url) { value.href = url; }
      value.dataset.value = s.value === null ? "" : String(s.value);
      card.appendChild(value);
      if (s.previous !== undefined && s.previous !== null && s.value !== null) {
        var change = s.value - s.previous;
        var arrow = change > 0 ? "▲" : (change < 0 ? "▼" : "=");
        var good = change === 0 || !s.better ? "" : ((change > 0) === (s.better === "higher") ? " good" : " bad");
        var delta = el("div", "dnum-delta" + good, arrow + " " + number(Math.abs(change), s.unit, ctx.labels) + " · " +
                       ctx.labels.words.previous + ": " + number(s.previous, s.unit, ctx.labels));
        card.appendChild(delta);
      }
      if (s.spark && s.spark.filter(function (v) { return v !== null; }).length > 1) { card.appendChild(sparkline(s.spark)); }
      box.appendChild(card);
    });
    body.appendChild(box);
  }

  function sparkline(values) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 100 24");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("class", "spark");
    var present = values.filter(function (v) { return v !== null; });
    var low = Math.min.apply(null, present), high = Math.max.apply(null, present), span = (high - low) || 1;
    var points = values.map(function (v, i) {
      return (i * 100 / (values.length - 1)).toFixed(1) + "," + (22 - ((v === null ? low : v) - low) / span * 20).toFixed(1);
    });
    var line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.join(" "));
    svg.appendChild(line);
    return svg;
  }

  function pointsOf(panel) {
    var seen = {}, order = [];
    panel.series.forEach(function (s) {
      (s.points || []).forEach(function (p) {
        if (!seen[p.key]) { seen[p.key] = p; order.push(p.key); }
      });
    });
    return order.map(function (k) { return seen[k]; });
  }

  function chartPanel(body, panel, ctx) {
    var ranking = panel.chart === "ranking";
    var keys = ranking ? (panel.series[0].points || []) : pointsOf(panel);
    var box = el("div", "dchart");
    var canvas = el("canvas");
    if (ranking && keys.length > 10) {
      // One readable line per area: the ranking scrolls instead of squeezing forty names into the panel.
      var scroller = el("div", "dchart-scroll");
      var inner = el("div", "dchart-tall");
      inner.style.height = (keys.length * panel.series.length * (ctx.wall ? 26 : 18) + 40) + "px";
      inner.appendChild(canvas);
      scroller.appendChild(inner);
      box.appendChild(scroller);
    } else {
      box.appendChild(canvas);
    }
    body.appendChild(box);
    var unit = panel.series.length ? panel.series[0].unit : "count";
    var datasets = panel.series.map(function (s, i) {
      var byKey = {};
      (s.points || []).forEach(function (p) { byKey[p.key] = p; });
      var colour = colourOf(s, i, panel);
      return {
        label: seriesName(s, panel), data: keys.map(function (p) { return chartValue(byKey[p.key] ? byKey[p.key].value : null, s.unit); }),
        backgroundColor: colour, borderColor: colour, spanGaps: true, _points: keys.map(function (p) { return byKey[p.key] || null; }),
        borderDash: panel.chart === "line" && s.side ? [6, 4] : undefined,
        stack: panel.chart === "stacked" ? "side" + s.side : undefined, tension: 0.2
      };
    });
    var labels = keys.map(function (p) { return ranking && p.rank ? p.rank + ". " + p.label : p.label; });
    var type = panel.chart === "line" ? "line" : "bar";
    var valueAxis = { beginAtZero: true, stacked: panel.chart === "stacked", ticks: { precision: unit === "count" ? 0 : undefined },
                      title: { display: unit !== "count", text: unit === "percent" ? "%" : ((ctx.labels.units || {})[unit] || unit) } };
    var options = {
      responsive: true, maintainAspectRatio: false, animation: false,
      indexAxis: ranking ? "y" : "x",
      plugins: { legend: { display: datasets.length > 1, position: "bottom", labels: { boxWidth: 12 } },
                 tooltip: { callbacks: { label: function (item) {
                   var point = item.dataset._points[item.dataIndex];
                   return item.dataset.label + ": " + number(point ? point.value : null, unit, ctx.labels);
                 } } } },
      scales: ranking ? { x: valueAxis, y: { ticks: { autoSkip: false } } }
                      : { y: valueAxis, x: { stacked: panel.chart === "stacked" } },
      onClick: function (event, elements) {
        if (!elements.length || !ctx.interactive) { return; }
        var hit = elements[0];
        var point = datasets[hit.datasetIndex]._points[hit.index];
        follow(point, ctx);
      },
      onHover: function (event, elements) {
        event.native.target.style.cursor = elements.length && ctx.interactive ? "pointer" : "default";
      }
    };
    charts.push(new Chart(canvas, { type: type, data: { labels: labels, datasets: datasets }, options: options }));
  }

  // A click on an area opens its own figures (the dashboard drilled down); on anything else, the records.
  function follow(point, ctx) {
    if (!point) { return; }
    if (point.drill && ctx.onDrill) { ctx.onDrill(point.drill); return; }
    var url = recordsUrl(point.records, ctx.links);
    if (url) { window.location.href = url; }
  }

  function tablePanel(body, panel, ctx) {
    var scroll = el("div", "scroll");
    var table = el("table", "grid numbers dtable");
    var head = el("tr");
    head.appendChild(el("th"));
    panel.series.forEach(function (s) { head.appendChild(el("th", null, seriesName(s, panel))); });
    var thead = el("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    var tbody = el("tbody");
    var keys = pointsOf(panel);
    if (!keys.length) {
      var row = el("tr");
      panel.series.forEach(function (s) {
        var name = el("td", null, seriesName(s, panel));
        row.appendChild(name);
        row.appendChild(valueCell(s.value, s.unit, s.records, ctx));
      });
      tbody.appendChild(row);
    }
    keys.forEach(function (p) {
      var row = el("tr");
      var name = el("td");
      if (p.drill && ctx.interactive && ctx.onDrill) {
        var drill = el("button", "link-button drill", p.label);
        drill.type = "button";
        drill.dataset.drill = p.drill;
        drill.addEventListener("click", function () { ctx.onDrill(p.drill); });
        name.appendChild(drill);
      } else {
        name.textContent = p.label;
      }
      row.appendChild(name);
      panel.series.forEach(function (s) {
        var found = (s.points || []).filter(function (x) { return x.key === p.key; })[0];
        row.appendChild(valueCell(found ? found.value : null, s.unit, found && found.records, ctx));
      });
      tbody.appendChild(row);
    });
    table.appendChild(tbody);
    scroll.appendChild(table);
    body.appendChild(scroll);
  }

  function valueCell(value, unit, records, ctx) {
    var cell = el("td");
    var url = recordsUrl(records, ctx.links);
    var text = number(value, unit, ctx.labels);
    if (url && ctx.interactive) {
      var link = el("a", "fig", text);
      link.href = url;
      cell.appendChild(link);
    } else {
      cell.textContent = text;
    }
    return cell;
  }

  function gaugePanel(body, panel, ctx) {
    var row = el("div", "dgauges");
    panel.series.forEach(function (s) {
      if (s.points) {
        if (!s.points.length) { row.appendChild(el("p", "hint", ctx.labels.words.no_data)); }
        s.points.forEach(function (p) {
          row.appendChild(gauge(p.value, p.max, p.thresholds, "cm", p.label, p.status, recordsUrl(p.records, ctx.links), ctx));
        });
      } else {
        row.appendChild(gauge(s.value, 1, null, s.unit, panel.sides.length > 1 ? sideLabel(panel.sides[s.side]) : "", null,
                              recordsUrl(s.records, ctx.links), ctx, s.better));
      }
    });
    body.appendChild(row);
  }

  function arc(cx, cy, r, from, to) {
    var a0 = Math.PI * (1 - from), a1 = Math.PI * (1 - to);
    var x0 = cx + r * Math.cos(a0), y0 = cy - r * Math.sin(a0), x1 = cx + r * Math.cos(a1), y1 = cy - r * Math.sin(a1);
    return "M" + x0.toFixed(2) + " " + y0.toFixed(2) + " A" + r + " " + r + " 0 0 1 " + x1.toFixed(2) + " " + y1.toFixed(2);
  }

  function gauge(value, top, bands, unit, label, status, url, ctx, better) {
    var ns = "http://www.w3.org/2000/svg";
    var figure = el(url && ctx.interactive ? "a" : "div", "dgauge" + (status ? " level-" + status + "-text" : ""));
    if (url && ctx.interactive) { figure.href = url; }
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 120 72");
    var edges = bands ? [0].concat(bands).concat([top]) : [0, top * 0.5, top * 0.8, top];
    var fills = bands ? ["#31a354", "#fed976", "#fd8d3c", "#bd0026"]
                      : (better === "lower" ? ["#a1d99b", "#fee391", "#fdae6b"] : ["#fdae6b", "#fee391", "#a1d99b"]);
    for (var i = 0; i < edges.length - 1; i++) {
      var path = document.createElementNS(ns, "path");
      path.setAttribute("d", arc(60, 60, 46, Math.min(edges[i], top) / top, Math.min(edges[i + 1], top) / top));
      path.setAttribute("stroke", fills[i]);
      path.setAttribute("stroke-width", "14");
      path.setAttribute("fill", "none");
      svg.appendChild(path);
    }
    if (value !== null && value !== undefined) {
      var share = Math.max(0, Math.min(value, top)) / top, angle = Math.PI * (1 - share);
      var needle = document.createElementNS(ns, "line");
      needle.setAttribute("x1", "60");
      needle.setAttribute("y1", "60");
      needle.setAttribute("x2", (60 + 50 * Math.cos(angle)).toFixed(2));
      needle.setAttribute("y2", (60 - 50 * Math.sin(angle)).toFixed(2));
      needle.setAttribute("class", "needle");
      svg.appendChild(needle);
    }
    var text = document.createElementNS(ns, "text");
    text.setAttribute("x", "60");
    text.setAttribute("y", "66");
    text.setAttribute("text-anchor", "middle");
    text.textContent = number(value, unit, ctx.labels);
    svg.appendChild(text);
    figure.appendChild(svg);
    if (label) { figure.appendChild(el("span", "dgauge-label", label)); }
    figure.dataset.value = value === null || value === undefined ? "" : String(value);
    return figure;
  }

  function mapPanel(body, panel, ctx) {
    var row = el("div", "dmaps");
    body.appendChild(row);
    (panel.shapes || []).forEach(function (shapes, i) {
      var series = panel.series[i];
      var unit = series ? series.unit : "count";
      var cell = el("div", "dmap-cell");
      if (panel.sides.length > 1) { cell.appendChild(el("div", "dnum-side", sideLabel(panel.sides[i]))); }
      var box = el("div", "dmap");
      cell.appendChild(box);
      row.appendChild(cell);
      var legend = el("ul", "legend choropleth dlegend");
      var lower = shapes.legend.lower;
      (shapes.legend.bins || []).forEach(function (upper, k) {
        var item = el("li");
        var swatch = el("span", "swatch");
        swatch.style.background = shapes.legend.colours[k];
        item.appendChild(swatch);
        item.appendChild(el("span", null, (k === 0 || upper === lower ? "" : "> ") +
          (upper === lower ? number(upper, unit, ctx.labels) : number(lower, unit, ctx.labels) + " – " + number(upper, unit, ctx.labels))));
        legend.appendChild(item);
        lower = upper;
      });
      cell.appendChild(legend);
      var map = L.map(box, { zoomControl: false, attributionControl: false, scrollWheelZoom: false, dragging: !ctx.wall,
                             doubleClickZoom: false, keyboard: false, zoomSnap: 0.1 });
      maps.push(map);
      var layer = L.geoJSON(shapes, {
        style: function (f) { return { color: "#fff", weight: 1, fillColor: f.properties.colour, fillOpacity: 0.85 }; },
        onEachFeature: function (f, l) {
          l.bindTooltip(GIS.esc(f.properties.name) + ": " + GIS.esc(number(f.properties.value, unit, ctx.labels)), { sticky: true });
          l.on("click", function () {
            if (ctx.interactive && f.properties.drill && ctx.onDrill) { ctx.onDrill(f.properties.drill); }
          });
        }
      }).addTo(map);
      var bounds = layer.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [4, 4] }); }
      else if (shapes.outline) { map.fitBounds(L.geoJSON(shapes.outline).getBounds()); }
      box.dataset.features = String(shapes.features.length);
    });
  }

  var DRAW = { number: numberCard, line: chartPanel, bar: chartPanel, stacked: chartPanel, ranking: chartPanel,
               table: tablePanel, gauge: gaugePanel, choropleth: mapPanel };

  // Two areas compared area by area (or hotspot by hotspot): each has its own parts, so each side gets its own
  // chart, side by side, rather than one axis mixing the wards of one with the groups of the other.
  function splits(panel) {
    return panel.sides.length > 1 && panel.sides[0].area.code !== panel.sides[1].area.code &&
      (panel.dimension === "children" || panel.dimension === "items") && panel.chart !== "choropleth";
  }

  function drawPanel(body, panel, ctx) {
    if (!splits(panel)) { DRAW[panel.chart](body, panel, ctx); return; }
    var row = el("div", "dsides");
    body.appendChild(row);
    panel.sides.forEach(function (side, n) {
      var cell = el("div", "dside");
      cell.appendChild(el("div", "dnum-side side-" + n, sideLabel(side)));
      var inner = el("div", "dside-body");
      cell.appendChild(inner);
      row.appendChild(cell);
      var one = {};
      Object.keys(panel).forEach(function (k) { one[k] = panel[k]; });
      one.sides = [side];
      one.series = panel.series.filter(function (x) { return x.side === n; });
      DRAW[panel.chart](inner, one, ctx);
    });
  }

  function panelTitle(panel) {
    if (panel.title) { return panel.title; }
    var names = [];
    panel.series.forEach(function (s) { if (names.indexOf(s.label) < 0 && s.group === undefined) { names.push(s.label); } });
    if (!names.length && panel.series.length) { names.push(panel.series[0].label.split(":")[0]); }
    return names.join(" · ");
  }

  function renderPanel(panel, ctx) {
    var article = el("article", "dpanel dpanel-" + panel.chart);
    article.dataset.panel = panel.id;
    article.dataset.chart = panel.chart;
    article.style.gridColumn = "span " + panel.width;
    article.style.gridRow = "span " + panel.height;
    var head = el("header", "dpanel-head");
    head.appendChild(el("h2", null, panelTitle(panel)));
    if (panel.sides.length > 1 && panel.chart !== "number" && panel.chart !== "choropleth" && !splits(panel)) {
      var sides = el("div", "dpanel-sides");
      panel.sides.forEach(function (side, i) {
        var tag = el("span", "side side-" + i, sideLabel(side));
        sides.appendChild(tag);
      });
      head.appendChild(sides);
    }
    article.appendChild(head);
    var body = el("div", "dpanel-body");
    article.appendChild(body);
    if (panel.error) {
      article.classList.add("dpanel-error");
      body.appendChild(el("p", "error-message", panel.error.message));
      return article;
    }
    if (!panel.series.length) {
      body.appendChild(el("p", "hint", ctx.labels.words.no_data));
      return article;
    }
    ctx.pending.push(function () { drawPanel(body, panel, ctx); });
    return article;
  }

  // Draw every panel of *data* into *grid*; ctx: {labels, links, interactive, onDrill, wall, decorate(article, panel)}.
  function render(grid, data, ctx) {
    destroy();
    grid.textContent = "";
    ctx.pending = [];
    data.panels.forEach(function (panel) {
      var article = renderPanel(panel, ctx);
      if (ctx.decorate) { ctx.decorate(article, panel); }
      grid.appendChild(article);
    });
    // Charts and maps measure their boxes: draw them once the grid is in the page.
    ctx.pending.forEach(function (draw) { draw(); });
    grid.dataset.panels = String(data.panels.length);
  }

  if (window.Chart) {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.animation = false;
  }

  return { render: render, number: number, recordsUrl: recordsUrl, sideLabel: sideLabel, el: el, destroy: destroy };
})();
