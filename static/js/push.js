/* Tournée notifications: subscribe this device to Web Push after the user asks for it.
 * Permission is requested only from the button's click, never at page load. */
(function () {
  "use strict";
  var box = document.getElementById("push-device");
  if (!box) { return; }
  var t = box.dataset;
  var state = document.getElementById("push-state");
  var enable = document.getElementById("push-enable");
  var disable = document.getElementById("push-disable");
  var supported = "serviceWorker" in navigator && "PushManager" in window &&
    "Notification" in window && window.isSecureContext;
  if (!supported) { return; }
  var hint = document.getElementById("push-unsupported");
  if (hint) { hint.hidden = true; }
  box.hidden = false;

  function key(base64) {
    var padded = (base64 + "===".slice((base64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  function show(text, subscribed) {
    state.textContent = text;
    enable.hidden = Boolean(subscribed);
    disable.hidden = !subscribed;
  }
  function send(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-Tournee-Push": "1" },
      body: JSON.stringify(body),
    }).then(function (res) {
      if (!res.ok) { throw new Error("server " + res.status); }
      return res.json();
    });
  }
  function registration() {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    return navigator.serviceWorker.ready;
  }
  function refresh() {
    return registration().then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (sub) {
        if (Notification.permission === "denied") { show(t.tDenied, false); enable.hidden = true; return; }
        show(sub ? t.tOn : t.tOff, Boolean(sub));
      });
  }

  enable.addEventListener("click", function () {
    show(t.tWorking, false);
    enable.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { throw new Error("permission " + permission); }
      return registration();
    }).then(function (reg) {
      return reg.pushManager.getSubscription().then(function (old) {
        return old || reg.pushManager.subscribe({ userVisibleOnly: true,
                                                  applicationServerKey: key(t.key) });
      });
    }).then(function (sub) {
      return send(t.subscribe, sub.toJSON());
    }).then(function () {
      window.location.reload();
    }).catch(function () {
      enable.disabled = false;
      show(Notification.permission === "denied" ? t.tDenied : t.tFailed, false);
    });
  });

  disable.addEventListener("click", function () {
    show(t.tWorking, true);
    registration().then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (sub) {
        if (!sub) { return null; }
        var endpoint = sub.endpoint;
        return sub.unsubscribe().then(function () { return send(t.unsubscribe, { endpoint: endpoint }); });
      }).then(function () { window.location.reload(); }, function () { show(t.tFailed, true); });
  });

  refresh().catch(function () { show(t.tFailed, false); });
})();
