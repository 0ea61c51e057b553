// Widget state reset and the public window.Switchboard API; starts the widget.
// ---------------------------------------------------------------- state reset
function clearTranscript() {
  bySeq.clear();
  byCid.clear();
  list.textContent = '';
  store.seq = store.read = store.seen = store.sentRead = 0;
  store.msgs = [];
  store.conv = null;
  store.prechat = null;
  restoreOutbox();
}
function reset() {
  var wasOpen = isOpen;
  drop(true);
  try { localStorage.removeItem(SKEY); } catch (e) { /* ignore */ }
  store = {};
  defaults();
  clearTranscript();
  agent = null;
  identity = null;
  ratingEl.hidden = true;
  prechatForm.hidden = true;
  composer.hidden = false;
  everConnected = false;
  setHeader();
  updateBadge();
  if (wasOpen) connect();
}

// ---------------------------------------------------------------- public API
function identify(id) {
  if (!id || !id.user_id) return;
  var next = {};
  ['user_id', 'hash', 'name', 'email'].forEach(function (k) { if (id[k] != null) next[k] = String(id[k]); });
  if (store.uid && store.uid !== next.user_id) {
    // A different person on the same browser: never show them the previous transcript.
    if (host) reset();
    else {
      try { localStorage.removeItem(SKEY); } catch (e) { /* ignore */ }
      store = {};
      defaults();
    }
  }
  identity = next;
  store.uid = next.user_id;
  save();
  // hello carries the identity: only an already-greeted socket needs redoing.
  if (ws && ws.readyState === 1) { drop(true); attempt = 0; connect(); }
}

function start() {
  buildUI();
  store.msgs.forEach(function (m) { upsert(m, true); });
  restoreOutbox();
  onRead(store.read);
  setHeader();
  if (store.site) decidePrechat();
  updateBadge();
  if (store.open) open(true);
  // Returning visitors connect right away (unread badge, replay); new ones when they open the panel.
  else if (store.token) connect();
  W.addEventListener('online', reconnectNow);
  D.addEventListener('visibilitychange', function () {
    if (!D.hidden) { reconnectNow(); markSeen(); updateBadge(); }
  });
  if (settings.identity) identify(settings.identity);
  var queued = prev && prev.q;
  if (Array.isArray(queued)) {
    queued.forEach(function (c) {
      var fn = api[c[0]];
      if (typeof fn === 'function') fn.apply(api, c[1] || []);
    });
  }
  W.dispatchEvent(new CustomEvent('switchboard:ready'));
}

var prev = W.Switchboard;
var api = {
  version: VERSION,
  open: function () { open(); },
  close: function () { close(); },
  toggle: function () { toggle(); },
  isOpen: function () { return isOpen; },
  identify: identify,
  reset: function () { if (host) reset(); },
  // Read-only view for tests and debugging.
  state: function () {
    return { connected: ready, site: SITE, server: SERVER, wsUrl: WS_URL, locale: LOCALE, dir: DIR, token: store.token || null, lastSeq: store.seq, outbox: store.outbox.length, status: status, refused: refused };
  }
};
W.Switchboard = api;

if (D.body) start();
else D.addEventListener('DOMContentLoaded', start);
