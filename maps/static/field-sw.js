/* Service worker of the field list: the last list fetched stays readable offline.

   Lists (navigations in scope) go to the network first and are kept with the time they were fetched
   (X-Fetched-At, which the page shows when offline); without a network the kept copy answers. The list's
   assets are kept on install and answered from the cache first. Submissions (POST) are never touched:
   the page queues them itself and resends with the same Idempotency-Key. */
"use strict";
var CACHE = "hotspots-field-v1";
var ASSETS = ["/static/field-list.css", "/static/field-list.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== CACHE; }).map(function (name) {
      return caches.delete(name);
    }));
  }).then(function () { return self.clients.claim(); }));
});

function keep(request, response) {
  // Only the list pages are kept (not a CSV or JSON the same URL prefix may answer).
  if (!response.ok || (response.headers.get("Content-Type") || "").indexOf("text/html") !== 0) return response;
  var headers = new Headers(response.headers);
  headers.set("X-Fetched-At", new Date().toISOString());
  return response.clone().blob().then(function (blob) {
    return caches.open(CACHE).then(function (cache) {
      return cache.put(request, new Response(blob, { status: response.status, headers: headers }));
    });
  }).then(function () { return response; });
}

function fromNetwork(request) {
  return fetch(request).then(function (response) { return keep(request, response); });
}

self.addEventListener("message", function (event) {
  if (event.data && event.data.keep) {
    event.waitUntil(fromNetwork(new Request(event.data.keep, { credentials: "same-origin" })).catch(function () {}));
  }
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fromNetwork(request).catch(function () {
      return caches.match(request, { ignoreVary: true }).then(function (hit) {
        return hit || Response.error();
      });
    }));
  } else if (ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(request, { ignoreVary: true }).then(function (hit) {
      return hit || fetch(request);
    }));
  }
});
