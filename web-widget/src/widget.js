// Switchboard website chat widget. Concatenated after i18n.js by build.mjs and
// wrapped in an IIFE; CSS is injected at the __CSS__ placeholder.
var W = window;
var D = document;
if (W.Switchboard && W.Switchboard.version) return;

var VERSION = '0.1.0';
var CSS = __CSS__;

// ---------------------------------------------------------------- config
function findScript() {
  var s = D.currentScript;
  if (s && s.getAttribute('data-site')) return s;
  var all = D.querySelectorAll('script[data-site]');
  for (var i = all.length - 1; i >= 0; i--) {
    if (/widget\.js([?#]|$)/.test(all[i].src)) return all[i];
  }
  return all[all.length - 1] || null;
}

var script = findScript();
var settings = W.SwitchboardSettings || {};
function attr(name) {
  return script ? script.getAttribute('data-' + name) : null;
}
var SITE = settings.site || attr('site');
if (!SITE) {
  console.warn('[switchboard] widget.js needs a data-site attribute');
  return;
}
function originOf(value) {
  if (!value) return '';
  if (!/^https?:\/\//i.test(value)) value = 'https://' + value;
  try { return new URL(value).origin; } catch (e) { return ''; }
}
var SERVER = originOf(settings.server || attr('server')) ||
  (script && script.src ? new URL(script.src, location.href).origin : location.origin);
var WS_URL = SERVER.replace(/^http/i, 'ws') + '/ws/widget?site=' + encodeURIComponent(SITE);
var UPLOAD_URL = SERVER + '/api/v1/widget/attachments';
var MAX_FILE_MB = parseFloat(settings.maxFileMb || attr('max-file-mb')) || 10;
var LOCALE = pickLocale([settings.locale, attr('locale'), D.documentElement.lang, navigator.language]);
var DIR = LOCALE === 'fa' ? 'rtl' : 'ltr';
var t = makeT(LOCALE);
var ACCENT = settings.color || attr('color');
var timeFmt = new Intl.DateTimeFormat(LOCALE === 'fa' ? 'fa-IR' : 'en', { hour: '2-digit', minute: '2-digit' });
var fullFmt = new Intl.DateTimeFormat(LOCALE === 'fa' ? 'fa-IR' : 'en', { dateStyle: 'medium', timeStyle: 'short' });

// ---------------------------------------------------------------- storage
// One localStorage entry per site:
// {token, seq, read, seen, sentRead, conv, site, msgs[], outbox[], prechat, rated{}, uid, open}
var SKEY = 'switchboard:' + SITE;
var MAX_CACHED = 200;
function loadStore() {
  try { return JSON.parse(localStorage.getItem(SKEY)) || {}; } catch (e) { return {}; }
}
var store = loadStore();
function defaults() {
  store.seq = store.seq || 0;
  store.read = store.read || 0;
  store.seen = store.seen || 0;
  store.sentRead = store.sentRead || 0;
  store.msgs = store.msgs || [];
  store.outbox = store.outbox || [];
  store.rated = store.rated || {};
}
defaults();
function save() {
  if (store.msgs.length > MAX_CACHED) store.msgs = store.msgs.slice(-MAX_CACHED);
  try { localStorage.setItem(SKEY, JSON.stringify(store)); } catch (e) { /* storage full or blocked */ }
}

function uuid() {
  if (W.crypto && crypto.randomUUID) return crypto.randomUUID();
  var b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
}

// ---------------------------------------------------------------- DOM helpers
function h(tag, props, kids) {
  var el = D.createElement(tag);
  if (props) {
    for (var k in props) {
      var v = props[k];
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k === 'html') el.innerHTML = v;
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  if (kids) {
    for (var i = 0; i < kids.length; i++) {
      if (kids[i] != null) el.appendChild(typeof kids[i] === 'string' ? D.createTextNode(kids[i]) : kids[i]);
    }
  }
  return el;
}
function svg(body, cls) {
  return '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"' + (cls ? ' class="' + cls + '"' : '') +
    ' fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">' + body + '</svg>';
}
var ICON = {
  chat: svg('<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/>'),
  close: svg('<path d="M6 6l12 12M18 6L6 18"/>'),
  send: svg('<path d="M4 12l16-8-6 16-2.5-6.5z"/><path d="M11.5 13.5L20 4"/>', 'flip'),
  clip: svg('<path d="M20 11.5l-8 8a5 5 0 0 1-7-7l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7L9.7 17.2a1.7 1.7 0 0 1-2.4-2.4L15 7.2"/>'),
  file: svg('<path d="M14 3H6v18h12V7z"/><path d="M14 3v4h4"/>'),
  sending: svg('<circle cx="12" cy="12" r="8"/><path d="M12 8v4l3 2"/>'),
  sent: svg('<path d="M5 12.5l4.5 4.5L19 7.5"/>'),
  read: svg('<path d="M2 12.5l4.5 4.5L16 7.5"/><path d="M11 16l1 1 9.5-9.5"/>'),
  failed: svg('<circle cx="12" cy="12" r="9"/><path d="M12 7.5v5.5M12 16.5v.5"/>')
};
function fmtSize(n) {
  var s = n >= 1048576 ? (n / 1048576).toFixed(1) + ' MB' : Math.max(1, Math.round(n / 1024)) + ' KB';
  return LOCALE === 'fa' ? toFaDigits(s) : s;
}
function safeUrl(u) {
  if (!u) return null;
  if (/^blob:/.test(u)) return u;
  try {
    var x = new URL(u, SERVER + '/');
    return /^https?:$/.test(x.protocol) ? x.href : null;
  } catch (e) { return null; }
}
// Text with http(s) links turned into anchors; never uses innerHTML.
function richText(el, text) {
  var parts = String(text || '').split(/(https?:\/\/[^\s<>"]+)/);
  for (var i = 0; i < parts.length; i++) {
    if (!parts[i]) continue;
    if (i % 2) el.appendChild(h('a', { href: parts[i], target: '_blank', rel: 'noopener noreferrer nofollow', text: parts[i] }));
    else el.appendChild(D.createTextNode(parts[i]));
  }
}

// ---------------------------------------------------------------- UI
var host, root, launcher, badge, panel, siteNameEl, subEl, offlineEl, bannerEl, list, typingEl;
var prechatForm, ratingEl, composer, input, fileBtn, fileInput, sendBtn;
var isOpen = false;

function buildUI() {
  host = h('div', { id: 'switchboard-widget', 'data-switchboard': VERSION, style: 'all:initial' });
  var shadow = host.attachShadow({ mode: 'open' });
  shadow.appendChild(h('style', { text: CSS }));
  root = h('div', { 'class': 'root', dir: DIR, lang: LOCALE });
  if (ACCENT) root.style.setProperty('--sb-accent', ACCENT);

  badge = h('span', { 'class': 'badge', 'data-testid': 'unread-badge', hidden: true });
  launcher = h('button', {
    type: 'button', 'class': 'launcher', 'data-testid': 'launcher', 'aria-label': t('open_chat'),
    'aria-expanded': 'false', 'aria-controls': 'sb-panel', html: ICON.chat, onclick: toggle
  });
  launcher.appendChild(badge);

  siteNameEl = h('div', { 'class': 'site-name', 'data-testid': 'site-name', text: t('title') });
  subEl = h('div', { 'class': 'sub', 'data-testid': 'header-status' });
  var closeBtn = h('button', {
    type: 'button', 'class': 'icon-btn', 'data-testid': 'close-button', 'aria-label': t('close_chat'),
    html: ICON.close, onclick: function () { close(); }
  });
  var head = h('header', { 'class': 'head' }, [h('div', { 'class': 'titles' }, [siteNameEl, subEl]), closeBtn]);

  offlineEl = h('div', { 'class': 'notice', 'data-testid': 'offline-notice', role: 'note', text: t('offline'), hidden: true });
  bannerEl = h('div', { 'class': 'notice banner', 'data-testid': 'banner', role: 'alert', hidden: true });
  list = h('div', {
    'class': 'list', 'data-testid': 'message-list', role: 'log', 'aria-live': 'polite',
    'aria-label': t('title'), tabindex: '0', 'data-empty': t('greeting')
  });
  typingEl = h('div', { 'class': 'typing', 'data-testid': 'typing-indicator', 'aria-live': 'polite', hidden: true });
  prechatForm = h('form', { 'class': 'card', 'data-testid': 'prechat-form', hidden: true, novalidate: false, onsubmit: submitPrechat });
  ratingEl = h('div', { 'class': 'card', 'data-testid': 'rating', hidden: true });

  input = h('textarea', {
    rows: '1', 'data-testid': 'composer-input', 'aria-label': t('placeholder'), placeholder: t('placeholder'),
    dir: DIR, oninput: onInput, onkeydown: onComposerKey, onpaste: onPaste
  });
  fileInput = h('input', {
    type: 'file', hidden: true, 'data-testid': 'file-input', tabindex: '-1',
    accept: 'image/png,image/jpeg,image/gif,image/webp,application/pdf', onchange: onFilePicked
  });
  fileBtn = h('button', {
    type: 'button', 'class': 'icon-btn', 'data-testid': 'file-button', 'aria-label': t('attach'), title: t('attach'),
    html: ICON.clip, onclick: function () { fileInput.click(); }
  });
  sendBtn = h('button', {
    type: 'submit', 'class': 'icon-btn', 'data-testid': 'send-button', 'aria-label': t('send'), title: t('send'), html: ICON.send
  });
  composer = h('form', { 'class': 'composer', 'data-testid': 'composer', onsubmit: function (e) { e.preventDefault(); sendText(); } },
    [fileBtn, fileInput, input, sendBtn]);

  panel = h('section', {
    'class': 'panel', id: 'sb-panel', 'data-testid': 'panel', role: 'dialog', 'aria-modal': 'false',
    'aria-label': t('title'), hidden: true
  }, [head, offlineEl, bannerEl, list, typingEl, prechatForm, ratingEl, composer]);

  root.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && isOpen) { e.stopPropagation(); close(); }
  });
  root.appendChild(launcher);
  root.appendChild(panel);
  shadow.appendChild(root);
  D.body.appendChild(host);
}

function setHeader() {
  var site = store.site || {};
  siteNameEl.textContent = site.name || t('title');
  var txt;
  if (!ready) txt = everConnected || store.token ? (ws ? t('connecting') : t('reconnecting')) : t('connecting');
  else if (agent && agent.name) txt = agent.name;
  else txt = site.online === false ? t('offline_short') : t('online');
  subEl.textContent = '';
  if (ready && agent && agent.name) subEl.appendChild(h('span', { 'data-testid': 'agent-name', text: agent.name }));
  else subEl.appendChild(h('span', { 'data-testid': 'connection-status', 'data-state': ready ? 'online' : 'offline', text: txt }));
  offlineEl.hidden = !(site.online === false && !(agent && agent.name));
  var canWrite = !!store.token;
  input.disabled = !canWrite;
  input.placeholder = canWrite ? t('placeholder') : t('placeholder_wait');
  sendBtn.disabled = !canWrite;
  fileBtn.disabled = !canWrite;
}

var bannerTimer;
function showBanner(text, sticky) {
  bannerEl.textContent = text;
  bannerEl.hidden = false;
  clearTimeout(bannerTimer);
  if (!sticky) bannerTimer = setTimeout(function () { bannerEl.hidden = true; }, 6000);
}

function updateBadge() {
  var n = 0;
  list.querySelectorAll('.msg:not(.mine)').forEach(function (el) {
    if (+el.getAttribute('data-seq') > store.seen) n++;
  });
  badge.hidden = isOpen || !n;
  badge.textContent = LOCALE === 'fa' ? toFaDigits(n > 99 ? '99+' : n) : (n > 99 ? '99+' : String(n));
  launcher.setAttribute('aria-label', n && !isOpen ? t('open_chat') + ' — ' + t('unread', { n: n }) : (isOpen ? t('close_chat') : t('open_chat')));
}

function open(restoring) {
  if (!host) return;
  isOpen = true;
  panel.hidden = false;
  root.classList.add('open');
  launcher.setAttribute('aria-expanded', 'true');
  launcher.innerHTML = ICON.close;
  launcher.appendChild(badge);
  store.open = true;
  save();
  connect();
  scrollToEnd(true);
  markSeen();
  updateBadge();
  if (!restoring) focusFirst();
}
function close() {
  if (!host || !isOpen) return;
  isOpen = false;
  panel.hidden = true;
  root.classList.remove('open');
  launcher.setAttribute('aria-expanded', 'false');
  launcher.innerHTML = ICON.chat;
  launcher.appendChild(badge);
  store.open = false;
  save();
  stopTyping();
  updateBadge();
  launcher.focus();
}
function toggle() {
  if (isOpen) close(); else open();
}
function focusFirst() {
  var target = !prechatForm.hidden ? prechatForm.querySelector('input') :
    !ratingEl.hidden && ratingEl.querySelector('.star') ? ratingEl.querySelector('.star') : input;
  if (target && !target.disabled) setTimeout(function () { target.focus(); }, 0);
}

function nearBottom() {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}
function scrollToEnd(force) {
  if (force || nearBottom()) list.scrollTop = list.scrollHeight;
}

// ---------------------------------------------------------------- messages
var bySeq = new Map();
var byCid = new Map();

function setState(el, state) {
  if (el.getAttribute('data-author') !== 'visitor') return;
  el.setAttribute('data-state', state);
  var s = el.querySelector('.state');
  s.innerHTML = ICON[state] || '';
  s.setAttribute('aria-label', t('st_' + state));
  s.setAttribute('title', t('st_' + state));
}
function setError(el, text) {
  var e = el.querySelector('.err');
  e.textContent = text || '';
  e.hidden = !text;
}
function renderAttachment(bubble, a) {
  var old = bubble.querySelector('.att');
  if (old) old.remove();
  if (!a) return;
  var url = safeUrl(a.url);
  var name = a.name || 'file';
  var node;
  if (/^image\//.test(a.content_type || '') && url) {
    node = h('a', { 'class': 'att att-img', href: url, target: '_blank', rel: 'noopener noreferrer', 'aria-label': t('download', { name: name }) },
      [h('img', { src: url, alt: name, loading: 'lazy' })]);
  } else {
    node = h(url ? 'a' : 'span', { 'class': 'att att-file', href: url, target: url ? '_blank' : null, rel: url ? 'noopener noreferrer' : null, download: url ? name : null, dir: 'auto' });
    node.innerHTML = ICON.file;
    node.appendChild(h('span', { text: name }));
    if (a.size) node.appendChild(h('span', { 'class': 'size', text: fmtSize(a.size) }));
  }
  bubble.appendChild(node);
}
function buildMsg(m, state) {
  var author = m.author || 'system';
  var mine = author === 'visitor';
  var bubble = h('div', { 'class': 'bubble', dir: textDir(m.text, DIR) });
  var textEl = h('div', { 'class': 'text' });
  richText(textEl, m.text);
  bubble.appendChild(textEl);
  renderAttachment(bubble, m.attachment);
  var at = m.at ? new Date(m.at) : new Date();
  var meta = h('div', { 'class': 'meta' }, [h('time', { datetime: at.toISOString(), title: fullFmt.format(at), text: timeFmt.format(at) })]);
  if (mine) meta.appendChild(h('span', { 'class': 'state', role: 'img' }));
  var el = h('div', {
    'class': 'msg ' + (mine ? 'mine' : author), 'data-testid': 'message', 'data-author': author,
    'data-seq': m.seq != null ? String(m.seq) : null, 'data-client-id': m.client_id || null,
    'data-state': mine ? null : 'received'
  }, [
    author === 'agent' ? h('div', { 'class': 'author', dir: 'auto', text: m.author_name || t('agent') }) : null,
    bubble,
    author === 'system' ? null : meta,
    h('div', { 'class': 'err', 'data-testid': 'message-error', role: 'alert', hidden: true })
  ]);
  if (mine) setState(el, state || 'sent');
  return el;
}
// Keep messages ordered by seq; unsequenced (pending) ones stay at the end.
function place(el) {
  var seq = el.getAttribute('data-seq');
  if (el.parentNode) el.remove();
  if (seq == null) { list.appendChild(el); return; }
  seq = +seq;
  var kids = list.children;
  for (var i = 0; i < kids.length; i++) {
    var k = kids[i];
    if (!k.classList.contains('msg')) continue;
    var ks = k.getAttribute('data-seq');
    // Failed messages never get a seq; they keep their place in the timeline.
    if (ks == null && k.getAttribute('data-state') === 'failed') continue;
    if (ks == null || +ks > seq) { list.insertBefore(el, k); return; }
  }
  list.appendChild(el);
}
function cacheMsg(m) {
  for (var i = store.msgs.length - 1; i >= 0; i--) {
    if (store.msgs[i].seq === m.seq) return;
    if (store.msgs[i].seq < m.seq) break;
  }
  store.msgs.splice(i + 1, 0, {
    seq: m.seq, author: m.author, author_name: m.author_name, text: m.text, at: m.at,
    client_id: m.client_id, attachment: m.attachment
  });
}
function visitorState(seq) {
  return seq <= store.read ? 'read' : 'sent';
}
// A sequenced message from the server (live, replayed, or from the local cache).
function upsert(m, fromCache) {
  if (m.seq == null) return;
  if (!fromCache && m.seq > store.seq) store.seq = m.seq;
  if (bySeq.has(m.seq)) return;
  var el = m.client_id && byCid.get(m.client_id);
  if (el) {
    el.setAttribute('data-seq', String(m.seq));
    if (m.attachment) renderAttachment(el.querySelector('.bubble'), m.attachment);
    if (el.getAttribute('data-state') !== 'failed') setState(el, visitorState(m.seq));
    setError(el, '');
    dropOutbox(m.client_id);
  } else {
    el = buildMsg(m, m.author === 'visitor' ? visitorState(m.seq) : null);
    if (m.client_id) byCid.set(m.client_id, el);
  }
  bySeq.set(m.seq, el);
  place(el);
  if (!fromCache) cacheMsg(m);
  if (m.author !== 'visitor') setTyping(false);
}
function dropOutbox(cid) {
  store.outbox = store.outbox.filter(function (o) { return o.client_id !== cid; });
}
function addEvent(text) {
  list.appendChild(h('div', { 'class': 'event', role: 'status', text: text }));
  scrollToEnd();
}

// ---------------------------------------------------------------- socket
var ws = null;
var ready = false;
var everConnected = false;
var stopped = false;
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

// ---------------------------------------------------------------- composer
var typingOn = false;
var typingSentAt = 0;
var typingTimer;
// dir="auto" would flip the placeholder of an empty field, so follow the text instead.
function followDir(el) {
  el.dir = textDir(el.value, DIR);
}
function onInput() {
  followDir(input);
  input.style.height = 'auto';
  input.style.height = Math.min(input.scrollHeight, 120) + 'px';
  if (!input.value.trim()) { stopTyping(); return; }
  var now = Date.now();
  if (ready && (!typingOn || now - typingSentAt > 5000) && wsSend({ type: 'typing', on: true })) {
    typingOn = true;
    typingSentAt = now;
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, 2500);
}
function stopTyping() {
  clearTimeout(typingTimer);
  if (typingOn) {
    typingOn = false;
    if (ready) wsSend({ type: 'typing', on: false });
  }
}
function onComposerKey(e) {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    sendText();
  }
}
function sendText() {
  var text = input.value.trim();
  if (!text || !store.token || !prechatForm.hidden) return;
  input.value = '';
  onInput();
  stopTyping();
  enqueue({ client_id: uuid(), text: text, at: new Date().toISOString() });
  input.focus();
}
function enqueue(item, el) {
  store.outbox.push(item);
  save();
  if (!el) {
    el = buildMsg({ author: 'visitor', text: item.text, at: item.at, client_id: item.client_id, attachment: item.attachment }, 'sending');
    byCid.set(item.client_id, el);
    place(el);
  }
  el._item = item;
  scrollToEnd(true);
  if (ready) sendItem(item);
}
function sendItem(item) {
  var f = { type: 'message', client_id: item.client_id, text: item.text || '' };
  if (item.attachment_id) f.attachment_id = item.attachment_id;
  wsSend(f);
}
// Messages still waiting for an ack from a previous page load.
function restoreOutbox() {
  store.outbox.forEach(function (item) {
    if (byCid.has(item.client_id)) return;
    var el = buildMsg({ author: 'visitor', text: item.text, at: item.at, client_id: item.client_id, attachment: item.attachment }, 'sending');
    el._item = item;
    byCid.set(item.client_id, el);
    place(el);
  });
}

// ---------------------------------------------------------------- files
var ALLOWED = /^(image\/(png|jpeg|gif|webp)|application\/pdf)$/;
function onPaste(e) {
  var files = e.clipboardData && e.clipboardData.files;
  if (files && files.length) {
    e.preventDefault();
    sendFile(files[0]);
  }
}
function onFilePicked() {
  var file = fileInput.files && fileInput.files[0];
  fileInput.value = '';
  if (file) sendFile(file);
}
function sendFile(file) {
  if (!ALLOWED.test(file.type)) { showBanner(t('file_type')); return; }
  if (file.size > MAX_FILE_MB * 1048576) { showBanner(t('file_size', { n: MAX_FILE_MB })); return; }
  if (!store.token) { showBanner(t('file_wait')); return; }
  var cid = uuid();
  var at = new Date().toISOString();
  var local = { name: file.name, content_type: file.type, size: file.size, url: URL.createObjectURL(file) };
  var el = buildMsg({ author: 'visitor', text: '', at: at, client_id: cid, attachment: local }, 'sending');
  byCid.set(cid, el);
  place(el);
  scrollToEnd(true);
  setError(el, '');
  el.querySelector('.err').hidden = false;
  el.querySelector('.err').textContent = t('uploading');
  var fd = new FormData();
  fd.append('file', file, file.name);
  fetch(UPLOAD_URL, { method: 'POST', headers: { Authorization: 'Visitor ' + store.token }, body: fd })
    .then(function (r) {
      if (!r.ok) throw new Error(r.status === 413 ? t('file_size', { n: MAX_FILE_MB }) : r.status === 415 ? t('file_type') : t('upload_failed'));
      return r.json();
    })
    .then(function (att) {
      setError(el, '');
      var item = {
        client_id: cid, text: '', at: at, attachment_id: att.id,
        attachment: { id: att.id, name: att.name || file.name, content_type: att.content_type || file.type, size: att.size || file.size, url: att.url }
      };
      renderAttachment(el.querySelector('.bubble'), item.attachment);
      setTimeout(function () { URL.revokeObjectURL(local.url); }, 60000);
      enqueue(item, el);
    })
    .catch(function (e) {
      setState(el, 'failed');
      setError(el, e && e.message && !/fetch|network/i.test(e.message) ? e.message : t('upload_failed'));
    });
}

// ---------------------------------------------------------------- pre-chat
var FIELD_TYPES = { email: 'email', phone: 'tel', tel: 'tel' };
var AUTOCOMPLETE = { name: 'name', email: 'email', phone: 'tel', tel: 'tel' };
function decidePrechat() {
  var fields = (store.site && store.site.prechat_fields || []).slice();
  if (store.site && store.site.online === false && fields.indexOf('email') < 0) fields.push('email');
  var fresh = !store.conv && bySeq.size === 0 && store.outbox.length === 0;
  if (!fields.length || store.prechat || !fresh) { prechatForm.hidden = true; composer.hidden = false; return; }
  // An identified visitor who already gave every field skips the form.
  if (identity && fields.every(function (k) { return identity[k]; })) {
    var f = { type: 'prechat' };
    fields.forEach(function (k) { f[k] = identity[k]; });
    sendOrQueue(f);
    store.prechat = 'done';
    prechatForm.hidden = true;
    composer.hidden = false;
    return;
  }
  if (!prechatForm.hidden && prechatForm.getAttribute('data-fields') === fields.join(',')) return;
  prechatForm.textContent = '';
  prechatForm.setAttribute('data-fields', fields.join(','));
  prechatForm.appendChild(h('div', { text: t('prechat_intro') }));
  fields.forEach(function (k) {
    var label = t('f_' + k) || k;
    prechatForm.appendChild(h('label', null, [label, h('input', {
      name: k, type: FIELD_TYPES[k] || 'text', required: true, autocomplete: AUTOCOMPLETE[k] || null,
      'data-testid': 'prechat-' + k, value: identity && identity[k] || null, dir: 'auto'
    })]));
  });
  prechatForm.appendChild(h('button', { type: 'submit', 'class': 'primary', 'data-testid': 'prechat-submit', text: t('start') }));
  prechatForm.hidden = false;
  composer.hidden = true;
  if (isOpen) focusFirst();
}
function submitPrechat(e) {
  e.preventDefault();
  if (!prechatForm.reportValidity()) return;
  var f = { type: 'prechat' };
  prechatForm.querySelectorAll('input').forEach(function (i) { f[i.name] = i.value.trim(); });
  sendOrQueue(f);
  store.prechat = 'done';
  save();
  prechatForm.hidden = true;
  composer.hidden = false;
  input.focus();
}

// ---------------------------------------------------------------- rating
function showRating(key) {
  var score = 0;
  ratingEl.textContent = '';
  var stars = [];
  var row = h('div', { 'class': 'stars', role: 'group', 'aria-label': t('rating') });
  function paint(n) {
    stars.forEach(function (s, i) { s.classList.toggle('on', i < n); });
  }
  for (var n = 1; n <= 5; n++) {
    (function (n) {
      var b = h('button', {
        type: 'button', 'class': 'star', 'data-testid': 'rating-star-' + n, 'data-score': String(n),
        'aria-label': t('star', { n: n }), 'aria-pressed': 'false', text: '★',
        onclick: function () {
          score = n;
          stars.forEach(function (s, i) { s.setAttribute('aria-pressed', i + 1 === n ? 'true' : 'false'); });
          paint(n);
          submit.disabled = false;
        },
        onmouseenter: function () { paint(n); },
        onmouseleave: function () { paint(score); }
      });
      stars.push(b);
      row.appendChild(b);
    })(n);
  }
  var comment = h('textarea', {
    rows: '2', 'data-testid': 'rating-comment', 'aria-label': t('comment'), placeholder: t('comment'), dir: DIR,
    oninput: function () { followDir(comment); }
  });
  var submit = h('button', {
    type: 'button', 'class': 'primary', 'data-testid': 'rating-submit', disabled: true, text: t('submit'),
    onclick: function () {
      if (!score) return;
      var f = { type: 'rating', score: score };
      var c = comment.value.trim();
      if (c) f.comment = c;
      sendOrQueue(f);
      store.rated[key] = score;
      save();
      ratingEl.textContent = '';
      ratingEl.appendChild(h('div', { role: 'status', 'data-testid': 'rating-thanks', text: t('thanks') }));
      setTimeout(function () { ratingEl.hidden = true; }, 4000);
      input.focus();
    }
  });
  ratingEl.appendChild(h('div', { text: t('resolved') }));
  ratingEl.appendChild(h('div', { text: t('rate_q') }));
  ratingEl.appendChild(row);
  ratingEl.appendChild(comment);
  ratingEl.appendChild(submit);
  ratingEl.hidden = false;
  scrollToEnd(true);
}

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
    return { connected: ready, site: SITE, server: SERVER, wsUrl: WS_URL, locale: LOCALE, dir: DIR, token: store.token || null, lastSeq: store.seq, outbox: store.outbox.length, status: status };
  }
};
W.Switchboard = api;

if (D.body) start();
else D.addEventListener('DOMContentLoaded', start);
