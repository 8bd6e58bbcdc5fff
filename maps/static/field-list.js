/* The field team's phone list: maps-app links per platform, the offline copy (service worker), and visits
   and observations queued on the phone until the network answers, each with its own Idempotency-Key so a
   retry never makes a second row. No inline script: the page's CSP is default-src 'self'. */
(function () {
  "use strict";
  var QUEUE = "hotspots.field.queue";
  var STARTED = "hotspots.field.started.";
  var body = document.body;
  var words = JSON.parse(body.dataset.words);
  var retryTimer = null;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  /* In the deployment's time zone, as every other time on the page (a phone abroad would disagree). */
  function clock(date) {
    return date.toLocaleString("sv-SE", { dateStyle: "short", timeStyle: "short", timeZone: body.dataset.tz });
  }

  /* --- maps app: Apple Maps on iOS, geo: on Android, Google Maps in the browser elsewhere --- */
  function mapsLinks() {
    var ua = navigator.userAgent;
    var ios = /iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1);
    var android = /Android/.test(ua);
    all("a.maps").forEach(function (a) {
      if (ios) a.href = a.dataset.apple;
      else if (android) a.href = a.dataset.geo;
    });
  }

  /* --- offline copy and "fetched at" --- */
  function showFetched() {
    var line = $("#fetched");
    if (navigator.onLine) { line.textContent = words.fetched + " " + clock(new Date()); return; }
    if (!("caches" in window)) return;
    caches.match(location.href, { ignoreVary: true }).then(function (hit) {
      var at = hit && hit.headers.get("X-Fetched-At");
      if (at) line.textContent = words.fetched + " " + clock(new Date(at)) + " (" + words.saved + ")";
    });
  }

  function showNetwork() {
    $("#offline").hidden = navigator.onLine;
    showFetched();
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register(body.dataset.sw, { scope: body.dataset.swScope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      // The list in view is kept even if it was loaded before the worker controlled the page.
      registration.active.postMessage({ keep: location.href });
    }).catch(function () { /* no worker: the list still works online */ });
  }

  /* --- the queue of submissions --- */
  function stored() {
    try { return JSON.parse(localStorage.getItem(QUEUE) || "[]"); } catch (e) { return []; }
  }
  // Each item carries the user who queued it: another user's items (a shared phone whose logout did not
  // clear the storage, an expired session) are dropped, never sent under this user's session.
  function queue() {
    var items = stored();
    var mine = items.filter(function (item) { return item.user === body.dataset.user; });
    if (mine.length !== items.length) localStorage.setItem(QUEUE, JSON.stringify(mine));
    return mine;
  }
  function saveQueue(items) { localStorage.setItem(QUEUE, JSON.stringify(items)); showQueue(); }

  function showQueue(message) {
    var line = $("#queue");
    var n = queue().length;
    line.textContent = message || (n ? words.waiting.replace("{n}", n) : "");
    line.hidden = !line.textContent;
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function submit(url, payload) {
    var items = queue();
    items.push({ key: newKey(), user: body.dataset.user, url: url, body: payload, queued: new Date().toISOString() });
    saveQueue(items);
    flush();
  }

  var flushing = false;
  function flush() {
    if (flushing) return;
    var items = queue();
    if (!items.length || !navigator.onLine) { showQueue(); return; }  // the "online" event flushes later
    flushing = true;
    var item = items[0];
    fetch(item.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Idempotency-Key": item.key, "Accept": "application/json" },
      body: JSON.stringify(item.body)
    }).then(function (response) {
      if (response.status >= 500 || response.status === 401 || response.status === 408 || response.status === 429) {
        throw new Error("retry " + response.status);  // kept: the same key is sent again later
      }
      return response.json().then(function (answer) {
        saveQueue(queue().filter(function (other) { return other.key !== item.key; }));
        if (!response.ok) {
          var reason = answer && answer.error ? answer.error.message : response.status;
          showQueue(words.rejected + " " + reason);
          body.dataset.lastRejected = String(reason);
        } else {
          showQueue(words.sent);
          body.dataset.sent = String(Number(body.dataset.sent || 0) + 1);
        }
      });
    }).then(function () {
      flushing = false;
      if (queue().length) flush();
    }).catch(function () {
      flushing = false;
      showQueue();
      clearTimeout(retryTimer);
      retryTimer = setTimeout(flush, 5000);
    });
  }

  /* --- visits --- */
  function placeOf(card) {
    return {
      label: card.dataset.label,
      cells: card.dataset.cells.split(" "),
      lat: Number(card.dataset.lat),
      lon: Number(card.dataset.lon)
    };
  }

  function togglePanel(card, name) {
    all(".panel", card).forEach(function (panel) {
      panel.hidden = panel.dataset.panel !== name || !panel.hidden;
    });
    var open = $(".panel[data-panel='" + name + "']", card);
    if (name === "observe" && !open.hidden) locate(card);
    return open;
  }

  function startedKey(card) { return STARTED + body.dataset.user + "." + card.dataset.key; }

  function showStarted(card) {
    var started = localStorage.getItem(startedKey(card));
    var button = $("button.start", card);
    button.textContent = started ? words.end + " (" + clock(new Date(started)).slice(-5) + ")" : words.start;
  }

  function onStart(card) {
    var started = localStorage.getItem(startedKey(card));
    if (!started) {
      localStorage.setItem(startedKey(card), new Date().toISOString());
      showStarted(card);
      return;
    }
    var panel = togglePanel(card, "visit");
    panel.hidden = false;
    var minutes = Math.max(1, Math.round((Date.now() - new Date(started).getTime()) / 60000));
    $("input[name=minutes]", panel).value = minutes;
    panel.dataset.started = started;
  }

  function saveVisit(card, panel) {
    var chosen = $(".outcomes button[aria-pressed=true]", panel);
    if (!chosen) { showQueue(words.chooseOutcome); return; }
    var minutes = Number($("input[name=minutes]", panel).value);
    var payload = { place: placeOf(card), outcome: chosen.value, note: $("textarea", panel).value || null };
    if (panel.dataset.started) {
      payload.started_at = panel.dataset.started;
      payload.ended_at = new Date().toISOString();
      localStorage.removeItem(startedKey(card));
      delete panel.dataset.started;
      showStarted(card);
    } else {
      payload.minutes = minutes;
    }
    submit(body.dataset.visits, payload);
    panel.hidden = true;
    chosen.setAttribute("aria-pressed", "false");
    $("textarea", panel).value = "";
  }

  /* --- observations --- */
  function locate(card) {
    var panel = $(".panel[data-panel=observe]", card);
    var line = $(".position", panel);
    if (!navigator.geolocation) { line.textContent = words.noPosition; return; }
    line.textContent = words.locating;
    navigator.geolocation.getCurrentPosition(function (position) {
      panel.dataset.lat = position.coords.latitude.toFixed(6);
      panel.dataset.lon = position.coords.longitude.toFixed(6);
      line.textContent = words.position + " " + panel.dataset.lat + ", " + panel.dataset.lon +
        " (±" + Math.round(position.coords.accuracy) + " m)";
    }, function () {
      panel.dataset.lat = card.dataset.lat;
      panel.dataset.lon = card.dataset.lon;
      line.textContent = words.placePosition;
    }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  }

  function saveObservation(card, panel) {
    submit(body.dataset.observations, {
      category: $("select", panel).value,
      lat: Number(panel.dataset.lat || card.dataset.lat),
      lon: Number(panel.dataset.lon || card.dataset.lon),
      occurred_at: new Date().toISOString(),
      note: $("textarea", panel).value || null
    });
    panel.hidden = true;
    $("textarea", panel).value = "";
  }

  function wire(card) {
    showStarted(card);
    card.addEventListener("click", function (event) {
      var target = event.target.closest("button");
      if (!target) return;
      var panel = target.closest(".panel");
      if (target.matches(".log")) togglePanel(card, "visit");
      else if (target.matches(".start")) onStart(card);
      else if (target.matches(".observe")) togglePanel(card, "observe");
      else if (target.matches(".outcomes button")) {
        all(".outcomes button", panel).forEach(function (b) { b.setAttribute("aria-pressed", String(b === target)); });
      } else if (target.matches(".save-visit")) saveVisit(card, panel);
      else if (target.matches(".save-observation")) saveObservation(card, panel);
      else if (target.matches(".relocate")) locate(card);
    });
  }

  mapsLinks();
  all(".card").forEach(wire);
  window.addEventListener("online", function () { showNetwork(); flush(); });
  window.addEventListener("offline", showNetwork);
  showNetwork();
  showQueue();
  registerWorker();
  flush();
  window.hotspotsField = { queue: queue, flush: flush };
})();
