// Widget connection: the WebSocket protocol (docs/widget-protocol.md), acks, replay, reconnect.
// ---------------------------------------------------------------- socket
var ws = null;
var ready = false;
var everConnected = false;
var stopped = false;
// The server said this page's origin may not use the site's chat: no more connecting.
var refused = false;
var attempt = 0;
var reconnectTimer, pingTimer;
var lastRx = 0;
var site = store.site || {};
var agent = null;
var status = null;
var identity = null;
var pendingFrames = [];

function wsSend(f) {
  if (ws && ws.readyState === 1) {
    ws.send(JSON.stringify(f));
    return true;
  }
  return false;
}
function sendOrQueue(f) {
  if (!(ready && wsSend(f))) pendingFrames.push(f);
}

function connect() {
  if (ws || stopped) return;
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  var sock;
  try { sock = new WebSocket(WS_URL); } catch (e) { scheduleReconnect(); return; }
  ws = sock;
  setHeader();
  sock.onopen = function () {
    if (sock !== ws) return;
    lastRx = Date.now();
    var hello = { type: 'hello', site: SITE, locale: LOCALE, page: location.href };
    if (store.token) {
      hello.visitor_token = store.token;
      if (store.seq > 0) hello.last_seq = store.seq;
    }
    if (identity) hello.identity = identity;
    wsSend(hello);
    clearInterval(pingTimer);
    pingTimer = setInterval(function () {
      if (Date.now() - lastRx > 60000) { drop(); return; }
      wsSend({ type: 'ping' });
    }, 25000);
  };
  sock.onmessage = function (ev) {
    if (sock !== ws) return;
    lastRx = Date.now();
    var f;
    try { f = JSON.parse(ev.data); } catch (e) { return; }
    if (f && typeof f.type === 'string') handle(f);
  };
  sock.onclose = function () {
    if (sock === ws) drop();
  };
  sock.onerror = function () { /* onclose follows */ };
}
// Forget the current socket (dead or closed) and schedule a reconnect.
function drop(noReconnect) {
  var sock = ws;
  ws = null;
  ready = false;
  clearInterval(pingTimer);
  typingOn = false;
  if (sock) {
    sock.onopen = sock.onmessage = sock.onclose = sock.onerror = null;
    try { sock.close(); } catch (e) { /* ignore */ }
  }
  setHeader();
  if (!noReconnect) scheduleReconnect();
}
function scheduleReconnect() {
  if (stopped || reconnectTimer) return;
  var base = Math.min(30000, 1000 * Math.pow(2, attempt));
  attempt++;
  var delay = base / 2 + Math.random() * base / 2;
  reconnectTimer = setTimeout(function () { reconnectTimer = null; connect(); }, delay);
}
function reconnectNow() {
  if (ws || stopped) return;
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  attempt = 0;
  connect();
}

function handle(f) {
  switch (f.type) {
    case 'welcome': onWelcome(f); break;
    case 'message': upsert(f); afterIncoming(); break;
    case 'ack': onAck(f); break;
    case 'read': onRead(f.seq); break;
    case 'typing': setTyping(!!f.on, f.author_name); break;
    case 'agent_joined':
      agent = f.agent || null;
      if (agent && agent.name) addEvent(t('joined', { name: agent.name }));
      setHeader();
      break;
    case 'status': applyStatus(f.status); break;
    case 'error': onServerError(f); break;
    case 'ping': wsSend({ type: 'pong' }); break;
    default: break;
  }
}

function onWelcome(f) {
  if (store.token && f.visitor_token && f.visitor_token !== store.token) {
    // The server started a new visitor: the cached transcript belongs to someone else.
    clearTranscript();
  }
  if (f.visitor_token) store.token = f.visitor_token;
  if (f.conversation_id !== undefined) store.conv = f.conversation_id;
  site = f.site || {};
  store.site = { name: site.name, online: site.online, prechat_fields: site.prechat_fields || [] };
  agent = f.agent || null;
  ready = true;
  everConnected = true;
  attempt = 0;
  (f.messages || []).forEach(function (m) { upsert(m); });
  onRead(store.read);
  applyStatus(f.status);
  setHeader();
  decidePrechat();
  var pf = pendingFrames;
  pendingFrames = [];
  pf.forEach(sendOrQueue);
  store.outbox.forEach(sendItem);
  save();
  afterIncoming();
  var active = host.shadowRoot.activeElement;
  if (isOpen && active === launcher) focusFirst();
}

function afterIncoming() {
  scrollToEnd();
  markSeen();
  updateBadge();
  save();
}
// Marks everything shown as seen; tells the server only when a message from
// someone else is newly seen (the visitor's own messages need no read receipt).
function markSeen() {
  if (!isOpen || D.hidden) return;
  if (store.seq > store.seen) store.seen = store.seq;
  var other = 0;
  bySeq.forEach(function (el, seq) { if (seq > other && seq <= store.seen && el.getAttribute('data-author') !== 'visitor') other = seq; });
  if (ready && other > store.sentRead && wsSend({ type: 'read', seq: store.seen })) store.sentRead = store.seen;
}

function onAck(f) {
  if (f.conversation_id) store.conv = f.conversation_id;
  dropOutbox(f.client_id);
  var el = byCid.get(f.client_id);
  if (el && f.seq != null) {
    if (el.getAttribute('data-seq') == null) {
      el.setAttribute('data-seq', String(f.seq));
      bySeq.set(f.seq, el);
      place(el);
      var item = el._item;
      if (item) {
        cacheMsg({ seq: f.seq, author: 'visitor', text: item.text, at: item.at, client_id: item.client_id, attachment: item.attachment });
      }
    }
    setError(el, '');
    setState(el, visitorState(f.seq));
  }
  save();
}
function onRead(seq) {
  if (typeof seq !== 'number') return;
  if (seq > store.read) store.read = seq;
  list.querySelectorAll('.msg.mine[data-state="sent"]').forEach(function (el) {
    if (+el.getAttribute('data-seq') <= store.read) setState(el, 'read');
  });
  save();
}

var ERROR_CODES = { rate_limited: 1, message_too_large: 1, origin_not_allowed: 1, bad_frame: 1 };
function onServerError(f) {
  var text = ERROR_CODES[f.code] ? t('err_' + f.code) : (f.error || t('err_generic'));
  var el = f.client_id && byCid.get(f.client_id);
  if (el) {
    setError(el, text);
    if (f.code === 'rate_limited') {
      setTimeout(function () {
        var item = el._item;
        if (item && store.outbox.some(function (o) { return o.client_id === item.client_id; })) sendItem(item);
      }, 5000);
    } else {
      setState(el, 'failed');
      dropOutbox(f.client_id);
      save();
      // Give the visitor their text back so they can shorten or fix it.
      if (el._item && el._item.text && !input.value) {
        input.value = el._item.text;
        onInput();
      }
    }
    return;
  }
  if (f.code === 'origin_not_allowed') {
    stopped = true;
    refused = true;
    drop(true);
    showBanner(text, true);
    return;
  }
  showBanner(text);
}

var typingHideTimer;
function setTyping(on, name) {
  clearTimeout(typingHideTimer);
  if (on) {
    typingEl.textContent = t('typing', { name: name || (agent && agent.name) || t('agent') });
    typingEl.hidden = false;
    typingHideTimer = setTimeout(function () { typingEl.hidden = true; }, 10000);
  } else {
    typingEl.hidden = true;
  }
}

function applyStatus(s) {
  if (s === undefined) return;
  status = s;
  var key = store.conv || '_';
  if (s === 'resolved' && !store.rated[key]) showRating(key);
  else if (s !== 'resolved') ratingEl.hidden = true;
}

