/* Tournée service worker: the app shell, a carer's own days offline, and the outbox.
 *
 * Served by the /sw.js route, which prepends `const BUILD = {...}`: the shell's version
 * (a hash of the static files and of this source), its URLs, and the few sentences this
 * worker shows, in the user's language.
 *
 * Caches:   tournee-shell-<version>  static files + manifest + offline page (no personal data)
 *           tournee-pages-<user id>  the signed-in carer's day lists, visits, client sheets
 * IndexedDB "tournee": outbox (records waiting for the server), meta (user, last sync...).
 * The outbox lives outside the caches and is never touched by an update: a new version
 * reads the same records and sends them.
 */
"use strict";

const SHELL = "tournee-shell-" + BUILD.version;
const PAGES = "tournee-pages-";
const ACTION_RE = /^\/visites\/(\d+)\/(arrivee|depart|note|observation)$/;
const ACTIONS = { arrivee: "check_in", depart: "check_out", note: "note",
                  observation: "observation" };
const PAGE_RE = /^\/(ma-journee|visites\/\d+|clients\/\d+)$/;
const NAV_TIMEOUT_MS = 2000;
const REFRESH_EVERY_MS = 30000;
const SKIP_FIELDS = ["csrf_token", "idempotency_key", "captured_at"];

/* ------------------------------------------------------------------ IndexedDB */
let dbPromise = null;
function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open("tournee", 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        const outbox = db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
        outbox.createIndex("key", "key", { unique: true });
        db.createObjectStore("meta", { keyPath: "name" });
      };
      req.onsuccess = () => {
        const db = req.result;
        // Logout deletes the database: let it, and open afresh next time.
        db.onversionchange = () => { db.close(); dbPromise = null; };
        resolve(db);
      };
      req.onerror = () => { dbPromise = null; reject(req.error); };
      req.onblocked = () => { dbPromise = null; reject(new Error("blocked")); };
    });
  }
  return dbPromise;
}
async function tx(store, mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    let result;
    const r = fn(t.objectStore(store));
    if (r) { r.onsuccess = () => { result = r.result; }; }
    t.oncomplete = () => resolve(result);
    t.onerror = t.onabort = () => reject(t.error);
  });
}
const allRecords = () => tx("outbox", "readonly", (s) => s.getAll());
const putRecord = (r) => tx("outbox", "readwrite", (s) => s.put(r));
const addRecord = (r) => tx("outbox", "readwrite", (s) => s.add(r));
const deleteRecord = (seq) => tx("outbox", "readwrite", (s) => s.delete(seq));
async function getMeta(name) {
  const row = await tx("meta", "readonly", (s) => s.get(name));
  return row ? row.value : null;
}
const setMeta = (name, value) => tx("meta", "readwrite", (s) => s.put({ name, value }));

/* ------------------------------------------------------------------ lifecycle */
self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL);
    await cache.addAll(BUILD.shell.map((u) => new Request(u, { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("tournee-shell-") && name !== SHELL) { await caches.delete(name); }
    }
    await self.clients.claim();
  })());
});

/* ------------------------------------------------------------------ fetch */
self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) { return; }
  if (req.method === "POST") {
    const m = url.pathname.match(ACTION_RE);
    if (m) { event.respondWith(postAction(event, req, Number(m[1]), ACTIONS[m[2]])); }
    return;
  }
  if (req.method !== "GET" || url.pathname === "/sw.js") { return; }
  if (url.pathname.startsWith("/static/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(caches.match(req, { cacheName: SHELL, ignoreSearch: true })
      .then((hit) => hit || fetch(req)));
    return;
  }
  const boosted = req.headers.get("HX-Request") === "true" && req.headers.get("HX-Boosted") === "true";
  if (req.mode === "navigate" || boosted) { event.respondWith(page(event, req, url)); }
});

function pagePath(url) {
  return url.pathname === "/" ? "/ma-journee" : url.pathname + url.search;
}

async function cachedPage(url) {
  if (!(await pageCaches()).length) { return null; }
  const user = await getMeta("user");
  if (!user) { return null; }
  // Decided: a phone shows a carer's days offline for as long as a session lasts after its
  // last contact with the server; then they are deleted and the carer must sign in again.
  if (Date.now() - user.syncedAt > BUILD.maxAgeS * 1000) { await dropPages(); return null; }
  const cache = await caches.open(PAGES + user.id);
  return cache.match(pagePath(url), { ignoreVary: true });
}

async function page(event, req, url) {
  const network = fetch(req);
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(resolve, NAV_TIMEOUT_MS, null); });
  try {
    const res = await Promise.race([network, late]);
    if (res) {
      clearTimeout(timer);
      event.waitUntil(afterPage(res.clone(), url).catch(() => {}));
      return res;
    }
    const cached = await cachedPage(url);
    if (cached) {
      event.waitUntil(network.then((r) => afterPage(r, url)).catch(() => {}));
      return cached;
    }
    return await network;
  } catch (err) {
    clearTimeout(timer);
    const cached = await cachedPage(url);
    if (cached) { return cached; }
    const offline = await caches.match(BUILD.offline, { cacheName: SHELL });
    return offline || Response.error();
  }
}

async function pageCaches() {
  return (await caches.keys()).filter((name) => name.startsWith(PAGES));
}

async function afterPage(res, url) {
  // Nothing personal is on the phone until a carer's days were fetched: touch nothing.
  if (!(await pageCaches()).length) { return; }
  const final = res.url ? new URL(res.url) : url;
  if (final.pathname === "/login" && res.status === 200) {
    // The session is over (expired or signed out elsewhere): nothing personal stays.
    await dropPages();
    return;
  }
  const user = await getMeta("user");
  const type = res.headers.get("Content-Type") || "";
  if (user && res.status === 200 && !res.redirected && type.startsWith("text/html")
      && PAGE_RE.test(url.pathname)) {
    const cache = await caches.open(PAGES + user.id);
    await cache.put(pagePath(url), res);
  }
}

async function dropPages() {
  const names = await pageCaches();
  for (const name of names) { await caches.delete(name); }
  if (names.length) { await setMeta("user", null); }
}

/* ------------------------------------------------------------------ carer's days */
let lastRefresh = 0;
let refreshing = null;  // aborted at sign-out: no late answer may bring anything back
async function refreshPages(force) {
  if (!force && Date.now() - lastRefresh < REFRESH_EVERY_MS) { return; }
  lastRefresh = Date.now();
  refreshing = new AbortController();
  // The header tells the server: background fetch, leave the session cookie and messages.
  const options = { cache: "no-store", credentials: "same-origin", signal: refreshing.signal,
                    headers: { "X-Tournee-Prefetch": "1" } };
  const res = await fetch(BUILD.pages, options);
  if (res.status === 401) { await dropPages(); return; }
  if (!res.ok) { throw new Error("pages " + res.status); }
  const data = await res.json();
  const previous = await getMeta("user");
  if (previous && previous.id !== data.user) { await dropPages(); }
  if (!data.urls.length) { return; }
  const cache = await caches.open(PAGES + data.user);
  const queue = data.urls.slice();
  async function worker() {
    while (queue.length) {
      const u = queue.shift();
      const r = await fetch(u, options);
      if (r.status === 200 && !r.redirected) { await cache.put(u, r); }
    }
  }
  await Promise.all([worker(), worker(), worker()]);
  for (const req of await cache.keys()) {
    const p = new URL(req.url);
    if (!data.urls.includes(p.pathname + p.search)) { await cache.delete(req); }
  }
  if (options.signal.aborted) { return; }
  const now = Date.now();
  await setMeta("user", { id: data.user, syncedAt: now });
  await setMeta("lastSync", now);
  // Every open page learns it, not only the one that asked: a page opened while this copy
  // ran got its answer before the copy ended.
  await broadcast();
}

/* ------------------------------------------------------------------ outbox */
function fieldsOf(params) {
  const fields = {};
  for (const [name, value] of params) {
    if (SKIP_FIELDS.includes(name)) { continue; }
    (fields[name] = fields[name] || []).push(value);
  }
  return fields;
}

async function postAction(event, req, visitId, action) {
  const params = new URLSearchParams(await req.clone().text());
  if (!params.get("idempotency_key")) { params.set("idempotency_key", self.crypto.randomUUID()); }
  if (!params.get("captured_at")) { params.set("captured_at", new Date().toISOString()); }
  const htmx = req.headers.get("HX-Request") === "true";
  const headers = new Headers(req.headers);
  headers.set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8");
  try {
    const res = await fetch(new Request(req.url, {
      method: "POST", body: params.toString(), headers, credentials: "same-origin",
      redirect: req.mode === "navigate" ? "manual" : "follow",
    }));
    if (res.status < 500) {
      // The visit changed on the server: keep the phone's copy of the day up to date.
      if (res.ok) { event.waitUntil(refreshPages(true).catch(() => {})); }
      return res;
    }
  } catch (err) {
    /* no network, or the server is unreachable: keep it on the phone */
  }
  const user = await getMeta("user");
  await addRecord({
    key: params.get("idempotency_key"), action, visitId, at: params.get("captured_at"),
    fields: fieldsOf(params), user: user ? user.id : null, queuedAt: Date.now(),
    attempts: 0, state: "pending", error: "",
  });
  if (self.registration.sync) {
    try { await self.registration.sync.register("outbox"); } catch (err) { /* page timers */ }
  }
  await broadcast();
  if (!htmx) { return Response.redirect("/visites/" + visitId, 303); }
  if (action === "observation") {
    // The form fills the whole page: back to the visit (a full load), which shows what waits.
    return new Response("", { status: 202, headers: { "HX-Redirect": "/visites/" + visitId } });
  }
  // The page says which language its carer reads (the worker itself is the same for all).
  const texts = BUILD.text[req.headers.get("X-Tournee-Lang")] || BUILD.text[BUILD.lang];
  const text = texts[action].replace(/&/g, "&amp;").replace(/</g, "&lt;");
  return new Response(
    '<p class="flash flash-warning" role="status" data-queued="' + action + '">' + text + "</p>",
    { status: 202, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

async function sendOne(record) {
  return fetch(BUILD.sync, {
    method: "POST", credentials: "same-origin", cache: "no-store", redirect: "error",
    headers: { "Content-Type": "application/json", "X-Tournee-Outbox": "1" },
    body: JSON.stringify({ key: record.key, action: record.action, visit_id: record.visitId,
                           at: record.at, fields: record.fields }),
  });
}

/* Send pending records one by one, oldest first; stop at the first that must be retried
 * (network, 5xx, signed out) so that a check-out never overtakes its check-in. */
async function flushOnce() {
  const user = await getMeta("user");
  const records = (await allRecords()).sort((a, b) => a.seq - b.seq);
  let delivered = 0;
  let contacted = false;
  for (const record of records) {
    if (record.state !== "pending") { continue; }
    if (user && record.user !== null && record.user !== user.id) { continue; }
    let res;
    try {
      res = await sendOne(record);
      contacted = true;
    } catch (err) {
      record.attempts += 1;
      await putRecord(record);
      throw err;
    }
    if (res.status === 200) {
      const body = await res.json();
      await deleteRecord(record.seq);
      delivered += 1;
      if (body.outcome !== "applied") {
        const notices = (await getMeta("notices")) || [];
        notices.unshift({ key: record.key, message: body.message, at: Date.now() });
        await setMeta("notices", notices.slice(0, 5));
      }
      continue;
    }
    if (res.status === 401) {
      await setMeta("signedOut", true);
      throw new Error("signed out");
    }
    if (res.status >= 500 || res.status === 408 || res.status === 429) {
      record.attempts += 1;
      await putRecord(record);
      throw new Error("server " + res.status);
    }
    // Refused (invalid, unknown visit...): keep it and ask the carer.
    let message = String(res.status);
    try { message = (await res.json()).message || message; } catch (err) { /* not JSON */ }
    record.state = "error";
    record.error = message;
    await putRecord(record);
  }
  if (contacted) {  // the last time the server really answered
    await setMeta("signedOut", false);
    await setMeta("lastSync", Date.now());
  }
  return delivered;
}

async function flush() {
  const run = async () => {
    const delivered = await flushOnce();
    if (delivered) { await refreshPages(true).catch(() => {}); }
    return delivered;
  };
  try {
    return self.navigator.locks ? await self.navigator.locks.request("tournee-outbox", run)
      : await run();
  } finally {
    await broadcast().catch(() => {});
  }
}

self.addEventListener("sync", (event) => {
  if (event.tag === "outbox") { event.waitUntil(flush()); }
});

/* ------------------------------------------------------------------ messages */
async function state() {
  const records = await allRecords();
  const user = await getMeta("user");
  const mine = records.filter((r) => !user || r.user === null || r.user === user.id);
  return {
    type: "state", version: BUILD.version,
    records: mine.map((r) => ({ key: r.key, action: r.action, visitId: r.visitId, at: r.at,
                                state: r.state, error: r.error })),
    lastSync: await getMeta("lastSync"), notices: (await getMeta("notices")) || [],
    signedOut: Boolean(await getMeta("signedOut")), offlineUntil: user
      ? user.syncedAt + BUILD.maxAgeS * 1000 : null,
  };
}

async function broadcast() {
  const message = await state();
  for (const client of await self.clients.matchAll({ includeUncontrolled: true })) {
    client.postMessage(message);
  }
}

async function changeRecord(key, change) {
  for (const record of await allRecords()) {
    if (record.key !== key) { continue; }
    if (change === "drop") { await deleteRecord(record.seq); }
    else { record.state = "pending"; record.error = ""; await putRecord(record); }
  }
}

async function logout() {
  if (refreshing) { refreshing.abort(); }
  await dropPages();
  if (dbPromise) { (await dbPromise).close(); dbPromise = null; }
  await new Promise((resolve) => {
    const req = indexedDB.deleteDatabase("tournee");
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  const reply = (extra) => state().then((s) => {
    if (event.source) { event.source.postMessage(Object.assign(s, extra || {})); }
  });
  let work;
  if (data.type === "flush") {
    work = flush().then((n) => reply({ flushed: true, ok: true, delivered: n }),
      () => reply({ flushed: true, ok: false }));
  } else if (data.type === "refresh") {
    work = refreshPages(Boolean(data.force)).then(() => reply(), () => reply());
  } else if (data.type === "retry" || data.type === "drop") {
    work = changeRecord(data.key, data.type).then(() => flush()).catch(() => {})
      .then(() => broadcast());
  } else if (data.type === "logout") {
    work = logout().then(() => { if (event.source) { event.source.postMessage({ type: "cleared" }); } });
  } else {
    work = reply();
  }
  event.waitUntil(work);
});

/* ------------------------------------------------------------------ push notifications */
/* The server sends {id, title, body, url, tag, ts} (discreet users get no names). The tag
 * is the message's topic: a new estimated time replaces the previous notification, and a
 * message sent twice (a worker died mid-send) shows once. */
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (err) { data = {}; }
  const title = String(data.title || "Tournée");
  const url = typeof data.url === "string" && data.url.startsWith("/") && !data.url.startsWith("//")
    ? data.url : "/notifications/";
  event.waitUntil(self.registration.showNotification(title, {
    body: String(data.body || ""), tag: String(data.tag || data.id || ""),
    data: { url, id: data.id || null }, timestamp: Number(data.ts) || Date.now(),
    icon: "/static/icons/icon-192.png", badge: "/static/icons/icon-192.png", renotify: false,
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/",
                         self.location.origin);
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const client of windows) {
      if (new URL(client.url).origin !== target.origin) { continue; }
      if ("navigate" in client) { await client.navigate(target.href).catch(() => null); }
      if ("focus" in client) { return client.focus(); }
    }
    return self.clients.openWindow(target.href);
  })());
});

/* The browser renewed the subscription: tell the server (same JSON as static/js/push.js). */
self.addEventListener("pushsubscriptionchange", (event) => {
  const options = event.oldSubscription ? event.oldSubscription.options : null;
  if (!options) { return; }
  event.waitUntil(self.registration.pushManager.subscribe(options).then((sub) => fetch(
    "/notifications/abonnements", {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-Tournee-Push": "1" },
      body: JSON.stringify(sub.toJSON()),
    })).catch(() => {}));
});
