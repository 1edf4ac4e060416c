// The QR report form: a tap on the map or the phone's GPS fills the hidden lon/lat fields.
(function () {
  var script = document.currentScript;
  var map = window[script.dataset.map];
  var lon = document.getElementById("lon");
  var lat = document.getElementById("lat");
  var status = document.getElementById("location-status");
  var marker = null;

  function place(latlng, zoom) {
    lon.value = latlng.lng.toFixed(6);
    lat.value = latlng.lat.toFixed(6);
    if (marker) { marker.setLatLng(latlng); } else { marker = L.marker(latlng).addTo(map); }
    if (zoom) { map.setView(latlng, zoom); }
    status.textContent = script.dataset.located;
  }

  if (lon.value && lat.value) { place(L.latLng(+lat.value, +lon.value)); }
  map.on("click", function (e) { place(e.latlng); });
  document.getElementById("use-location").addEventListener("click", function () {
    if (!navigator.geolocation) { status.textContent = script.dataset.failed; return; }
    navigator.geolocation.getCurrentPosition(
      function (pos) { place(L.latLng(pos.coords.latitude, pos.coords.longitude), 17); },
      function () { status.textContent = script.dataset.failed; },
      { enableHighAccuracy: true, timeout: 15000 }
    );
  });
})();
