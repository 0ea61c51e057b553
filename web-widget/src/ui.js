// Widget panel: building the UI and rendering messages (see widget.js for the order).
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
  if (refused) txt = t('err_origin_not_allowed');
  else if (!ready) txt = everConnected || store.token ? (ws ? t('connecting') : t('reconnecting')) : t('connecting');
  else if (agent && agent.name) txt = agent.name;
  else txt = site.online === false ? t('offline_short') : t('online');
  subEl.textContent = '';
  if (ready && agent && agent.name) subEl.appendChild(h('span', { 'data-testid': 'agent-name', text: agent.name }));
  else subEl.appendChild(h('span', { 'data-testid': 'connection-status', 'data-state': refused ? 'not-enabled' : (ready ? 'online' : 'offline'), text: txt }));
  offlineEl.hidden = !(site.online === false && !(agent && agent.name));
  var canWrite = !!store.token;
  input.disabled = !canWrite;
  input.placeholder = canWrite ? t('placeholder') : (refused ? '' : t('placeholder_wait'));
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

