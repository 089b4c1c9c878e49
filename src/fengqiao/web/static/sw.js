// The grid worker app's service worker (scope /m/): the app shell is cached so the app opens
// without a network; API calls always go to the network (the page keeps unsent reports in
// IndexedDB and sends them itself when the network returns).
const CACHE = "fengqiao-worker-v7";
const SHELL = [
  "/m/",
  "/static/fq.js",
  "/static/labels.js",
  "/static/live.js",
  "/static/intake.js",
  "/static/worker_photos.js",
  "/static/worker_verify.js",
  "/static/worker_inbox.js",
  "/static/worker.js",
  "/static/worker_proxy.js",
  "/static/basemap.js",
  "/static/basemap.css",
  "/static/worker_place.js",
  "/static/app.css",
  "/static/worker.css",
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
      // Only its own old caches: the residents' app (/r/sw.js) keeps "fengqiao-resident-*".
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("fengqiao-worker-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/api/")) {
    return; // the network, untouched
  }
  // Network first, so a deployed change shows at once; the cached shell when offline.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok && (url.pathname === "/m/" || url.pathname.startsWith("/static/"))) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname === "/m/" ? "/m/" : event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(url.pathname === "/m/" ? "/m/" : event.request, { ignoreSearch: true })),
  );
});
