// A layer's workspace page: its map, the attribute table (paged, sorted, filtered on the server), metadata and
// the attribute schema for editors, compare two dates side by side, and restoring the layer to an earlier state.
(function () {
  var script = document.currentScript;
  var cfg = WS.config("layer-config");
  var entry = cfg.layer;

  var m = WS.map("layer-map");
  GIS.addAreas(m, cfg.areas);
  var shown = WS.layer(entry, null, {
    onEachFeature: function (f, layer) {
      var box = GIS.el("div", "popup");
      box.appendChild(GIS.propertiesTable(f.properties));
      var link = GIS.el("a", "", "#" + f.id);
      link.href = cfg.feature_page + f.id;
      box.appendChild(link);
      layer.bindPopup(box, GIS.popupOptions());
    }
  }).addTo(m);
  WS.fit(m, [entry]);

  // -- attribute table ---------------------------------------------------------------------------------------
  var state = { page: 1, per_page: 25, sort: "", order: "asc", filters: {} };
  var tbody = document.querySelector("#attribute-table tbody");
  var status = document.getElementById("rows-status");
  var names = cfg.attributes.map(function (a) { return a.name; });

  function loadRows() {
    var params = new URLSearchParams({ page: state.page, per_page: state.per_page, order: state.order });
    if (state.sort) { params.set("sort", state.sort); }
    Object.keys(state.filters).forEach(function (k) { if (state.filters[k]) { params.set("where." + k, state.filters[k]); } });
    WS.request("GET", cfg.rows + "?" + params.toString()).then(function (result) {
      var error = document.getElementById("rows-error");
      error.textContent = result.ok ? "" : WS.errorText(result);
      if (!result.ok) { return; }
      tbody.textContent = "";
      result.data.rows.forEach(function (row) {
        var tr = document.createElement("tr");
        var idCell = document.createElement("td");
        var link = GIS.el("a", "", row.id);
        link.href = cfg.feature_page + row.id;
        idCell.appendChild(link);
        tr.appendChild(idCell);
        names.forEach(function (n) {
          var value = row.properties[n];
          tr.appendChild(GIS.el("td", typeof value === "number" ? "number" : "", value === null ? "" : value));
        });
        tbody.appendChild(tr);
      });
      var pages = Math.max(1, Math.ceil(result.data.total / state.per_page));
      status.textContent = state.page + " / " + pages + " · " + result.data.total + " " + script.dataset.rows;
      document.getElementById("rows-prev").disabled = state.page <= 1;
      document.getElementById("rows-next").disabled = state.page >= pages;
    });
  }
  document.querySelectorAll("#attribute-table .sort").forEach(function (button) {
    button.addEventListener("click", function () {
      var sort = button.dataset.sort;
      state.order = state.sort === sort && state.order === "asc" ? "desc" : "asc";
      state.sort = sort;
      state.page = 1;
      document.querySelectorAll("#attribute-table .sort").forEach(function (b) { b.removeAttribute("aria-sort"); });
      button.setAttribute("aria-sort", state.order === "asc" ? "ascending" : "descending");
      loadRows();
    });
  });
  var timer = null;
  document.querySelectorAll("#attribute-table .filter").forEach(function (input) {
    input.addEventListener("input", function () {
      state.filters[input.dataset.name] = input.value.trim();
      state.page = 1;
      clearTimeout(timer);
      timer = setTimeout(loadRows, 300);
    });
  });
  document.getElementById("rows-prev").addEventListener("click", function () { state.page -= 1; loadRows(); });
  document.getElementById("rows-next").addEventListener("click", function () { state.page += 1; loadRows(); });
  loadRows();

  // -- metadata and the attribute schema ---------------------------------------------------------------------
  function words(text) { return text.split(",").map(function (w) { return w.trim(); }).filter(Boolean); }
  var form = document.getElementById("metadata-form");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var f = form.elements;
    var attributes = Array.prototype.map.call(document.querySelectorAll("#schema tbody tr"), function (tr) {
      var change = { name: tr.dataset.name, required: tr.querySelector(".required").checked };
      var values = tr.querySelector(".values");
      if (values) {
        var list = words(values.value);
        change.values = /integer|bigint|double/.test(tr.dataset.type) ? list.map(Number) : list;
      }
      return change;
    });
    var body = {
      title: f.title.value, description: f.description.value, category: f.category.value,
      visibility: f.visibility.value, basemap: f.basemap.checked, basemap_order: parseInt(f.basemap_order.value || "0", 10),
      attributes: attributes,
      metadata: { title_en: f.title_en.value, description_en: f.description_en.value, keywords: words(f.keywords.value),
                  keywords_en: words(f.keywords_en.value), source: f.source.value, licence: f.licence.value,
                  contact: f.contact.value, update_frequency: f.update_frequency.value }
    };
    WS.request("PATCH", cfg.api, body).then(function (result) {
      document.getElementById("metadata-error").textContent = result.ok ? "" : WS.errorText(result);
      document.getElementById("metadata-done").textContent = result.ok ? script.dataset.saved : "";
    });
  });

  // -- compare two dates ---------------------------------------------------------------------------------------
  var compare = { maps: null, layers: [] };
  function localInput(iso) {
    var d = new Date(iso);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" +
      pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  var compareForm = document.getElementById("compare-form");
  if (cfg.first_change) { compareForm.elements.a.value = localInput(cfg.first_change); }
  compareForm.elements.b.value = localInput(new Date().toISOString());
  compareForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var box = document.getElementById("compare");
    box.hidden = false;
    if (!compare.maps) {
      compare.maps = [WS.map("compare-a"), WS.map("compare-b")];
      compare.maps.forEach(function (each) { GIS.addAreas(each, cfg.areas); });
      // The two maps move together.
      var syncing = false;
      compare.maps.forEach(function (each, i) {
        each.on("move", function () {
          if (syncing) { return; }
          syncing = true;
          compare.maps[1 - i].setView(each.getCenter(), each.getZoom(), { animate: false });
          syncing = false;
        });
      });
      WS.fit(compare.maps[0], [entry]);
    }
    ["a", "b"].forEach(function (key, i) {
      var instant = new Date(compareForm.elements[key].value).toISOString();
      var each = compare.maps[i];
      if (compare.layers[i]) { each.removeLayer(compare.layers[i]); }
      var layer = WS.layer(entry, "at=" + encodeURIComponent(instant));
      compare.layers[i] = layer.addTo(each);
      var caption = document.getElementById("compare-" + key + "-caption");
      caption.textContent = GIS.formatDate(instant);
      if (layer.loaded) {
        layer.loaded.then(function (data) {
          caption.textContent = GIS.formatDate(instant) + " · " + data.numberMatched;
          caption.dataset.count = data.numberMatched;
        });
      }
      each.invalidateSize();
    });
  });

  // -- restoring the whole layer -----------------------------------------------------------------------------
  document.querySelectorAll(".restore-layer").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!button.dataset.armed) {
        button.dataset.armed = "1";
        button.dataset.label = button.textContent;
        button.textContent = script.dataset.restoreConfirm;
        return;
      }
      WS.request("POST", cfg.restore, { at: button.dataset.at, comment: "" }).then(function (result) {
        if (result.ok) { window.location.reload(); return; }
        document.getElementById("history-error").textContent = WS.errorText(result);
      });
    });
  });
})();
