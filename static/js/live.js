// The live feed of a staff map: Server-Sent Events from /api/live, only changes inside the caller's scope.
// EventSource reconnects by itself and sends Last-Event-ID, so nothing is missed across a dropped connection or
// the server's regular end of a stream; a refusal (503: this server process has too many open maps) is tried
// again after a pause. Each change is handed to the page as a "gis:live" DOM event; urgent alerts also raise
// the banner (and a short tone when the sound switch is on).
(function () {
  var script = document.currentScript;
  var text = script.dataset;
  var types = JSON.parse(text.types || "{}");
  var banner = document.getElementById("live-banner");
  var status = document.getElementById("live-status");
  var sound = document.getElementById("live-sound");
  var lastId = null;
  var source = null;
  var delay = 3000;
  var counter = window.gisLive = { received: 0, open: false };  // what the page's tests read

  function announce(data, urgent) {
    document.dispatchEvent(new CustomEvent("gis:live", { detail: { event: data, urgent: urgent } }));
  }

  function beep() {
    var Audio = window.AudioContext || window.webkitAudioContext;
    if (!sound || !sound.checked || !Audio) { return; }
    var ctx = new Audio();
    var osc = ctx.createOscillator();
    osc.frequency.value = 880;
    osc.connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.4);
  }

  function showBanner(data) {
    var d = data.data || {};
    var message = data.subject_type === "hotspot" ?
      text.flood.replace("{name}", d.name || d.code || "") :
      text.alert.replace("{type}", types[d.type] || d.type || "");
    banner.querySelector(".live-text").textContent = message;
    banner.dataset.lat = d.lat;
    banner.dataset.lon = d.lon;
    banner.querySelector(".live-link").hidden = d.lat === undefined || d.lat === null;
    banner.hidden = false;
    beep();
  }

  function onMessage(urgent) {
    return function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      lastId = message.lastEventId || lastId;
      counter.received += 1;
      if (urgent) { showBanner(data); }
      announce(data, urgent);
    };
  }

  function connect() {
    source = new EventSource(text.url + (lastId ? "?last_event_id=" + encodeURIComponent(lastId) : ""));
    source.addEventListener("change", onMessage(false));
    source.addEventListener("alert", onMessage(true));
    source.onopen = function () { status.textContent = text.connected; delay = 3000; counter.open = true; };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {  // refused: EventSource does not retry by itself
        status.textContent = text.offline;
        source = null;
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 60000);
      }
    };
  }

  banner.querySelector(".live-close").addEventListener("click", function () { banner.hidden = true; });
  banner.querySelector(".live-link").addEventListener("click", function (e) {
    e.preventDefault();
    document.dispatchEvent(new CustomEvent("gis:live-show", {
      detail: { lat: Number(banner.dataset.lat), lon: Number(banner.dataset.lon) } }));
  });
  window.addEventListener("pagehide", function () { if (source) { source.close(); } });
  connect();
})();
