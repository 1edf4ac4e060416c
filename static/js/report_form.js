// The QR report form: the place (a tap on the map, the phone's GPS, or an address picked while typing) fills the
// hidden lon/lat; a place in another ward than the QR code's asks where the report goes; open reports near the
// place are shown before sending; chosen photos are previewed and can be removed.
(function () {
  var script = document.currentScript;
  var text = script.dataset;
  var config = JSON.parse(document.getElementById("form-config").textContent);
  var map = window[text.map];
  var form = document.getElementById("report-form");
  var lon = document.getElementById("lon");
  var lat = document.getElementById("lat");
  var status = document.getElementById("location-status");
  var lang = document.documentElement.lang || "vi";
  var marker = null;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) { return values[k] === undefined ? m : values[k]; });
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) { return r.ok ? r.json() : null; });
  }

  // -- where: the ward of the place, and what is already reported there ----------------------------------------
  var otherWard = document.getElementById("other-ward");
  var choice = document.getElementById("ward-choice");

  function checkWard(at) {
    getJSON(config.lookup + "?lon=" + at.lng.toFixed(6) + "&lat=" + at.lat.toFixed(6)).then(function (body) {
      var ward = body && (body.areas || []).filter(function (a) { return a.level === "ward"; })[0];
      var elsewhere = ward && ward.code !== config.ward.code;
      otherWard.hidden = !elsewhere;
      choice.disabled = !elsewhere;
      choice.value = "";
      if (!elsewhere) { return; }
      var names = { place: ward.name, ward: config.ward.name };
      otherWard.querySelector(".other-ward-text").textContent = fill(text.otherWard, names);
      otherWard.querySelector("[data-choice=place]").textContent = fill(text.sendTo, names);
      otherWard.querySelector("[data-choice=ward]").textContent = fill(text.keepIn, names);
      otherWard.querySelectorAll("[data-choice]").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
    });
  }

  otherWard.addEventListener("click", function (e) {
    var button = e.target.closest("[data-choice]");
    if (!button) { return; }
    choice.value = button.dataset.choice;
    otherWard.classList.remove("needs-answer");
    otherWard.querySelectorAll("[data-choice]").forEach(function (b) {
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
  });

  form.addEventListener("submit", function (e) {
    if (!choice.disabled && !choice.value && !(e.submitter && e.submitter.name === "ward_choice")) {
      e.preventDefault();
      otherWard.classList.add("needs-answer");
      otherWard.querySelector(".other-ward-text").textContent =
        otherWard.querySelector(".other-ward-text").textContent.split(" · ")[0] + " · " + text.choose;
      otherWard.scrollIntoView({ block: "center" });
    }
  });

  var nearby = document.getElementById("nearby");
  function showNearby(at) {
    getJSON(config.nearby + "?lon=" + at.lng.toFixed(6) + "&lat=" + at.lat.toFixed(6)).then(function (body) {
      var list = nearby.querySelector("ul");
      list.textContent = "";
      var found = (body && body.reports) || [];
      nearby.hidden = !found.length;
      found.forEach(function (r) {
        var item = document.createElement("li");
        var name = lang === "en" ? r.category.name_en : r.category.name_vi;
        item.appendChild(Object.assign(document.createElement("strong"), { textContent: name }));
        item.appendChild(document.createTextNode(" · " + fill(text.meters, { n: r.distance_m }) + " · " +
          new Intl.DateTimeFormat(lang, { day: "2-digit", month: "2-digit", year: "numeric",
                                          timeZone: "Asia/Ho_Chi_Minh" }).format(new Date(r.created_at))));
        item.appendChild(Object.assign(document.createElement("p"), { className: "hint", textContent: r.description }));
        var link = Object.assign(document.createElement("a"), { textContent: text.openIt, href: r.status_url,
                                                                target: "_blank", rel: "noopener" });
        item.appendChild(link);
        list.appendChild(item);
      });
    });
  }

  function place(latlng, zoom) {
    lon.value = latlng.lng.toFixed(6);
    lat.value = latlng.lat.toFixed(6);
    if (marker) { marker.setLatLng(latlng); } else { marker = L.marker(latlng).addTo(map); }
    if (zoom) { map.setView(latlng, zoom); }
    status.textContent = text.located;
    checkWard(latlng);
    showNearby(latlng);
  }

  if (lon.value && lat.value) { place(L.latLng(+lat.value, +lon.value)); }
  map.on("click", function (e) { place(e.latlng); });
  document.getElementById("use-location").addEventListener("click", function () {
    if (!navigator.geolocation) { status.textContent = text.failed; return; }
    navigator.geolocation.getCurrentPosition(
      function (pos) { place(L.latLng(pos.coords.latitude, pos.coords.longitude), 17); },
      function () { status.textContent = text.failed; },
      { enableHighAccuracy: true, timeout: 15000 }
    );
  });

  // -- the address, searched while typing; a pick moves the pin ------------------------------------------------
  var address = document.getElementById("address");
  var suggestions = document.getElementById("address-suggestions");
  var typing = null;
  var asked = 0;

  function closeSuggestions() {
    suggestions.hidden = true;
    address.setAttribute("aria-expanded", "false");
  }

  function pick(p) {
    address.value = p.label;
    closeSuggestions();
    place(L.latLng(p.lat, p.lon), 17);
  }

  function search() {
    var q = address.value.trim();
    if (q.length < 3) { closeSuggestions(); return; }
    var mine = ++asked;
    getJSON(config.geocode + "?limit=5&q=" + encodeURIComponent(q)).then(function (body) {
      if (mine !== asked) { return; }  // an older answer arriving late
      suggestions.textContent = "";
      var places = (body && body.places) || [];
      if (!places.length) {
        suggestions.appendChild(Object.assign(document.createElement("li"), { className: "hint",
                                                                               textContent: text.noMatch }));
      }
      places.forEach(function (p, i) {
        var item = Object.assign(document.createElement("li"), { textContent: p.label, id: "suggestion-" + i });
        item.setAttribute("role", "option");
        item.addEventListener("mousedown", function (e) { e.preventDefault(); pick(p); });
        item.place = p;
        suggestions.appendChild(item);
      });
      suggestions.hidden = false;
      address.setAttribute("aria-expanded", "true");
    });
  }

  address.addEventListener("input", function () {
    clearTimeout(typing);
    typing = setTimeout(search, 300);
  });
  address.addEventListener("keydown", function (e) {
    var items = Array.prototype.slice.call(suggestions.querySelectorAll("li[role=option]"));
    if (suggestions.hidden || !items.length) { return; }
    var current = items.findIndex(function (li) { return li.classList.contains("active"); });
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      var next = (current + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      items.forEach(function (li, i) { li.classList.toggle("active", i === next); });
      address.setAttribute("aria-activedescendant", items[next].id);
    } else if (e.key === "Enter" && current >= 0) {
      e.preventDefault();
      pick(items[current].place);
    } else if (e.key === "Escape") {
      closeSuggestions();
    }
  });
  address.addEventListener("blur", function () { setTimeout(closeSuggestions, 150); });

  // -- photos: previews, each with a button to take it out ------------------------------------------------------
  var input = document.getElementById("photos");
  var previews = document.getElementById("photo-previews");
  var chosen = [];

  function sync() {
    var transfer = new DataTransfer();
    chosen.forEach(function (f) { transfer.items.add(f); });
    input.files = transfer.files;
    previews.textContent = "";
    chosen.forEach(function (file, i) {
      var item = document.createElement("li");
      var image = Object.assign(document.createElement("img"), { alt: file.name, src: URL.createObjectURL(file) });
      image.addEventListener("load", function () { URL.revokeObjectURL(image.src); });
      var remove = Object.assign(document.createElement("button"), { type: "button", className: "remove",
                                                                     textContent: "×", title: text.remove });
      remove.setAttribute("aria-label", text.remove + " " + file.name);
      remove.addEventListener("click", function () { chosen.splice(i, 1); sync(); });
      item.appendChild(image);
      item.appendChild(remove);
      previews.appendChild(item);
    });
  }

  input.addEventListener("change", function () {
    var all = chosen.concat(Array.prototype.slice.call(input.files));
    chosen = all.slice(0, config.maxPhotos);
    document.getElementById("photo-note").textContent = all.length > config.maxPhotos ?
      fill(text.tooMany, { n: config.maxPhotos }) : "";
    sync();
  });
})();
