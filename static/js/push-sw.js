// The service worker of Web Push (served at /push-sw.js): shows what the notifications worker pushed (a title, a
// line, the page to open) and opens that page when the notice is clicked. It handles no fetch: pages load as usual.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data && event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "gisserver", {
    body: data.body || "", tag: data.tag || undefined, data: { url: data.url || "/" }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  // Only this site's pages (the link is written with GISSERVER_PUBLIC_URL, which may name another host for it).
  if (url.origin !== self.location.origin) { url = new URL(url.pathname + url.search, self.location.origin); }
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (var i = 0; i < windows.length; i += 1) {
      if (windows[i].url === url.href && "focus" in windows[i]) { return windows[i].focus(); }
    }
    return self.clients.openWindow(url.href);
  }));
});
