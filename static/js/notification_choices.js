// A staff member's notification choices: saved with PUT /api/me/notifications; "Show notifications in this
// browser" registers the service worker (/push-sw.js), subscribes with the server's VAPID key (/api/push/key) and
// hands the subscription to the server (POST /api/me/push-subscriptions), then ticks the browser channel.
(function () {
  var config = JSON.parse(document.getElementById("choices-config").textContent);
  var form = document.getElementById("choices-form");
  var status = document.getElementById("choices-status");
  var pushButton = document.getElementById("push-on");
  var pushStatus = document.getElementById("push-status");

  function choices() {
    var channels = Array.prototype.filter.call(form.querySelectorAll("input[name=channels]"), function (box) {
      return box.checked;
    }).map(function (box) { return box.value; });
    var body = { channels: channels, email: form.email.value.trim() || null, phone: form.phone.value.trim() || null,
                 language: form.language.value, quiet_hours: form.quiet_hours.value.trim() || null };
    if (form.digest) { body.digest = form.digest.checked; }
    return body;
  }

  function save() {
    status.textContent = "";
    return GIS.send("PUT", config.save, choices()).then(function (answer) {
      status.textContent = answer.ok ? config.words.saved : answer.data.error.message;
      status.className = answer.ok ? "hint" : "error-message";
      return answer.ok;
    });
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); save(); });

  // The VAPID key comes base64url-encoded; PushManager wants its bytes.
  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function say(text, error) {
    pushStatus.textContent = text;
    pushStatus.className = error ? "error-message" : "hint";
  }

  if (!pushButton) { return; }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    pushButton.disabled = true;
    say(config.words.unsupported, true);
    return;
  }
  pushButton.addEventListener("click", function () {
    pushButton.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { throw { shown: config.words.denied }; }
      return Promise.all([GIS.getJSON(config.pushKey), navigator.serviceWorker.register(config.worker)]);
    }).then(function (found) {
      var key = found[0], registration = found[1];
      if (!key.public_key) { throw { shown: key.error ? key.error.message : config.words.unsupported }; }
      return navigator.serviceWorker.ready.then(function () {
        return registration.pushManager.getSubscription();
      }).then(function (existing) {
        return existing || registration.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: keyBytes(key.public_key) });
      });
    }).then(function (subscription) {
      return GIS.send("POST", config.pushSubscribe, subscription.toJSON());
    }).then(function (answer) {
      if (!answer.ok) { throw { shown: answer.data.error.message }; }
      var box = form.querySelector("input[name=channels][value=push]");
      box.checked = true;
      return save();
    }).then(function (saved) {
      if (saved) { say(config.words.on, false); }
    }).catch(function (problem) {
      say(problem && problem.shown ? problem.shown : config.words.failed + " " + (problem && problem.message || problem),
          true);
    }).then(function () { pushButton.disabled = false; });
  });
})();
