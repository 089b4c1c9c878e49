// The residents' app's service worker (scope /r/): the app shell is cached so 随手拍 opens
// without a network; API calls always go to the network (the page keeps unsent reports in
// IndexedDB and sends them itself when the network returns). Its caches are its own: the
// worker app's service worker (/m/) keeps to "fengqiao-worker-*".
const CACHE = "fengqiao-resident-v1";
const SHELL = [
  "/r/",
  "/static/fq.js",
  "/static/resident_app.js",
  "/static/basemap.js",
  "/static/basemap.css",
  "/static/app.css",
  "/static/resident.css",
  "/static/resident_app.css",
  "/static/vendor/leaflet.js",
  "/static/vendor/leaflet.css",
  "/static/favicon.svg",
  "/static/icon-192.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("fengqiao-resident-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/api/")) {
    return; // the network, untouched
  }
  const shell = url.pathname === "/r/";
  // Network first, so a deployed change shows at once; the cached shell when offline.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok && !response.redirected && (shell || url.pathname.startsWith("/static/"))) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(shell ? "/r/" : event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(shell ? "/r/" : event.request, { ignoreSearch: true })),
  );
});
