/*
 * recommendations beacon: batches behaviour events and posts them to the app's endpoint.
 *
 *   <script src=".../beacon.js" data-endpoint="/recommendations/api/events/" defer></script>
 *   recommendations.track("click", "42", {slot: "for-you", token: "..."});
 *
 * Elements with data-rec-item are tracked automatically: an "impression" when half of one is
 * visible, a "click" when it is clicked; data-rec-slot, data-rec-token and data-rec-rules (the
 * merchandising rules that placed or moved the item) go into the context.
 * Identity is the server's (cookies); the payload never names a user. A batch answered 503 or
 * 429 is sent again later with the same event ids, which the server stores once. Each batch
 * carries its send time (sent_at, this clock), so a clock that is hours off loses no events.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var endpoint = (script && script.dataset.endpoint) || "/recommendations/api/events/";
  var maxBatch = 100;
  var queue = [];
  var timer = null;
  var seen = new WeakSet();

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function schedule(delay) {
    if (timer === null) timer = setTimeout(flush, delay === undefined ? 1000 : delay);
  }

  function track(kind, itemId, context, value) {
    var event = { event_id: uuid(), kind: kind, ts: new Date().toISOString(), context: context || {} };
    // A campaign's banner has no product (data-rec-item=""): its events carry only the token.
    if (itemId !== undefined && itemId !== null && itemId !== "") event.item_id = String(itemId);
    if (value !== undefined && value !== null) event.value = value;
    queue.push(event);
    schedule(queue.length >= maxBatch ? 0 : undefined);
  }

  function flush() {
    timer = null;
    if (!queue.length) return Promise.resolve();
    var batch = queue.splice(0, maxBatch);
    return fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      // sent_at lets the server correct the events' times for this browser's clock.
      body: JSON.stringify({ events: batch, sent_at: Date.now() })
    }).then(function (response) {
      if (response.status === 503 || response.status === 429) {
        queue = batch.concat(queue);
        schedule(5000);
      } else if (queue.length) {
        schedule(0);
      }
    }, function () {
      queue = batch.concat(queue);
      schedule(5000);
    });
  }

  function contextOf(element) {
    var context = {};
    if (element.dataset.recSlot) context.slot = element.dataset.recSlot;
    if (element.dataset.recToken) context.token = element.dataset.recToken;
    if (element.dataset.recRules) context.rules = element.dataset.recRules;
    context.path = location.pathname;
    return context;
  }

  function observe(root) {
    if (!("IntersectionObserver" in window)) return;
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting && !seen.has(entry.target)) {
          seen.add(entry.target);
          track("impression", entry.target.dataset.recItem, contextOf(entry.target));
          observer.unobserve(entry.target);
        }
      });
    }, { threshold: 0.5 });
    root.querySelectorAll("[data-rec-item]").forEach(function (el) { observer.observe(el); });
  }

  document.addEventListener("click", function (e) {
    var element = e.target.closest && e.target.closest("[data-rec-item]");
    if (element) {
      track("click", element.dataset.recItem, contextOf(element));
      flush();
    }
  }, true);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush();
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { observe(document); });
  } else {
    observe(document);
  }

  window.recommendations = { track: track, flush: flush, observe: observe };
})();
