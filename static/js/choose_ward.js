// "Send a report" without a QR code: the phone's position picks the ward in the list.
(function () {
  var form = document.getElementById("choose-ward");
  var status = document.getElementById("ward-status");
  document.getElementById("find-ward").addEventListener("click", function () {
    if (!navigator.geolocation) { status.textContent = form.dataset.failed; return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      var url = form.dataset.lookup + "?lon=" + pos.coords.longitude + "&lat=" + pos.coords.latitude;
      fetch(url).then(function (r) { return r.json(); }).then(function (body) {
        var ward = (body.areas || []).filter(function (a) { return a.level === "ward"; })[0];
        if (!ward) { status.textContent = form.dataset.outside; return; }
        form.ward.value = ward.code;
        status.textContent = form.dataset.found + " " + ward.name;
      });
    }, function () { status.textContent = form.dataset.failed; }, { enableHighAccuracy: true, timeout: 15000 });
  });
})();
