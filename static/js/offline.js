/* Tournée offline: registers the service worker, shows the connection and the outbox,
 * asks the worker to send what waits, and clears the phone at sign-out.
 * Every page works without it; the worker does the storing and the sending. */
(function () {
  "use strict";
  var sw = navigator.serviceWorker;
  if (!sw || !window.isSecureContext) { return; }
  var bar = document.getElementById("sync");
  var t = bar ? bar.dataset : {};
  var state = { records: [], lastSync: null, notices: [], signedOut: false };
  var ACTION_RE = /\/visites\/\d+\/(arrivee|depart|note|observation)$/;
  var DELAYS = [2000, 5000, 10000, 20000, 30000, 60000];
  var step = 0;
  var timer = null;

  function post(message) {
    return sw.ready.then(function (reg) { if (reg.active) { reg.active.postMessage(message); } });
  }
  function pending() {
    return state.records.filter(function (r) { return r.state === "pending"; }).length;
  }
  function hhmm(value) {
    var d = new Date(value);
    return isNaN(d) ? "" : d.toLocaleTimeString(document.documentElement.lang || "fr",
      { hour: "2-digit", minute: "2-digit" });
  }
  function saved(action) {  // data-t-saved-check-in -> dataset.tSavedCheckIn
    return t["tSaved" + action.replace(/(^|_)(\w)/g, function (m, a, c) { return c.toUpperCase(); })];
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text) { node.textContent = text; }
    return node;
  }

  /* ---------------------------------------------------------- sending */
  function flush() {
    if (bar) { post({ type: "flush" }); }
  }
  function schedule() {
    clearTimeout(timer);
    if (!pending()) { step = 0; return; }
    timer = setTimeout(flush, DELAYS[Math.min(step, DELAYS.length - 1)]);
    step += 1;
  }

  /* ---------------------------------------------------------- showing */
  function render() {
    if (!bar) { return; }
    bar.hidden = false;
    bar.dataset.version = state.version || "";
    bar.dataset.count = String(pending());
    bar.dataset.synced = state.lastSync ? String(state.lastSync) : "";
    var online = navigator.onLine;
    bar.classList.toggle("is-offline", !online);
    bar.querySelector("[data-net]").textContent = online ? t.tOnline : t.tOffline;
    bar.querySelector("[data-pending]").textContent = t.tPending + " : " + pending();
    bar.querySelector("[data-last]").textContent = t.tLast + " : " +
      (state.lastSync ? hhmm(state.lastSync) : t.tNever);
    var list = bar.querySelector("[data-errors]");
    list.replaceChildren();
    if (state.signedOut && pending()) { list.append(el("li", "error", t.tSignedOut)); }
    state.records.forEach(function (r) {
      if (r.state !== "error") { return; }
      var li = el("li", "error", t.tRefused + " (" + saved(r.action) + ", " + hhmm(r.at) + ") : " + r.error);
      var retry = el("button", "link", t.tRetry);
      retry.type = "button";
      retry.addEventListener("click", function () { post({ type: "retry", key: r.key }); });
      var drop = el("button", "link", t.tDrop);
      drop.type = "button";
      drop.addEventListener("click", function () {
        if (window.confirm(t.tConfirmDrop)) { post({ type: "drop", key: r.key }); }
      });
      li.append(" ", retry, " ", drop);
      list.append(li);
    });
    state.notices.forEach(function (n) { list.append(el("li", "notice", n.message)); });
    overlay();
  }

  // What the phone holds but the server has not seen yet shows on the day and visit pages.
  function overlay() {
    document.querySelectorAll("li[data-visit-id]").forEach(function (li) {
      var id = Number(li.dataset.visitId);
      var mine = state.records.some(function (r) { return r.visitId === id; });
      var badge = li.querySelector(".device");
      if (mine && !badge) { li.querySelector(".visit-link").append(el("span", "badge device", t.tDevice)); }
      if (!mine && badge) { badge.remove(); }
    });
    var box = document.getElementById("actions");
    if (!box || !box.dataset.visitId) { return; }
    var id = Number(box.dataset.visitId);
    var mine = state.records.filter(function (r) { return r.visitId === id; });
    var signature = mine.map(function (r) { return r.key; }).join(",");
    var shown = box.querySelector("[data-overlay]");
    if (!mine.length) {
      // Delivered: ask the server for the real state of the visit.
      if (shown && window.htmx && navigator.onLine) {
        window.htmx.ajax("GET", window.location.pathname, { target: "#actions", swap: "innerHTML" });
      }
      return;
    }
    if (shown && shown.dataset.overlay === signature) { return; }
    var section = el("section", "card actions");
    section.dataset.overlay = signature;
    section.append(el("h2", "", t.tActionsTitle));
    mine.forEach(function (r) {
      var line = el("p", "flash flash-warning", saved(r.action) + " (" + hhmm(r.at) + ")");
      line.setAttribute("role", "status");
      section.append(line);
    });
    var has = function (action) { return mine.some(function (r) { return r.action === action; }); };
    var template = document.getElementById("tpl-check-out");
    var form = box.querySelector('form[action$="/depart"]');
    if (!has("check_out")) {
      if (form) { section.append(form); }
      else if (template) { section.append(template.content.cloneNode(true)); }
    }
    box.replaceChildren(section);
    if (window.htmx) { window.htmx.process(section); }
  }

  sw.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.type !== "state") { return; }
    state = data;
    render();
    if (data.flushed) {
      if (data.ok && !pending()) { step = 0; clearTimeout(timer); } else { schedule(); }
    } else if (pending() && !timer) {
      schedule();
    }
  });

  /* ---------------------------------------------------------- keys */
  // One key per button and page: a double tap sends the same key, which the server applies once.
  document.addEventListener("htmx:configRequest", function (event) {
    var d = event.detail;
    if (d.verb !== "post" || !ACTION_RE.test(d.path)) { return; }
    var source = d.elt;
    if (!source.dataset.key) { source.dataset.key = window.crypto.randomUUID(); }
    d.parameters.idempotency_key = source.dataset.key;
    d.parameters.captured_at = new Date().toISOString();
  });

  /* ---------------------------------------------------------- sign-out */
  function clearDevice() {
    var jobs = [post({ type: "logout" })];
    if (window.caches) {
      jobs.push(caches.keys().then(function (names) {
        return Promise.all(names.filter(function (n) { return n.indexOf("tournee-pages-") === 0; })
          .map(function (n) { return caches.delete(n); }));
      }));
    }
    jobs.push(new Promise(function (resolve) {
      var req = indexedDB.deleteDatabase("tournee");
      req.onsuccess = req.onerror = req.onblocked = resolve;
    }));
    return Promise.race([Promise.all(jobs), new Promise(function (r) { setTimeout(r, 3000); })]);
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.action || !/\/logout$/.test(form.action) || form.dataset.cleared) { return; }
    event.preventDefault();
    if (pending() && !window.confirm(t.tConfirmLogout)) { return; }
    clearDevice().then(function () {
      form.dataset.cleared = "1";
      form.submit();
    });
  }, true);

  /* ---------------------------------------------------------- triggers */
  sw.register("/sw.js", { scope: "/" }).catch(function () {});
  if (!bar) { return; }
  function wake(force) {
    post({ type: "state" });
    if (navigator.onLine) { post({ type: "refresh", force: Boolean(force) }); flush(); }
  }
  sw.addEventListener("controllerchange", function () { wake(false); });
  // 'online' means the link is up, not that the server answers: try again a few times.
  window.addEventListener("online", function () {
    render();
    step = 0;
    [0, 500, 2000, 5000, 15000].forEach(function (ms) {
      setTimeout(function () { if (pending()) { flush(); } }, ms);
    });
    post({ type: "refresh", force: true });
  });
  window.addEventListener("offline", render);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { wake(false); }
  });
  document.addEventListener("htmx:afterSwap", overlay);
  bar.querySelector("[data-sync-now]").addEventListener("click", function () { step = 0; flush(); });
  wake(false);
})();
