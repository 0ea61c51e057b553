// live.js: the /ws/console socket (reconnect with backoff), polling when it
// is down, incoming offers, toasts (screen pop) and the supervisor view.

var ws = null;
var wsBackoff = 1000;
var wsTimer = null;
var pollTimer = null;
var tickTimer = null;
var pollCount = 0;
var liveRunning = false;
// The event log position this console has seen up to (the server's `seq`): a reconnect
// resumes after it (`?since=`) instead of reloading, and each logged event is handled once.
var lastSeq = null;
var seenSeqs = {};
var seenOrder = [];

function startLive() {
  liveRunning = true;
  connectWs();
  clearInterval(pollTimer);
  pollTimer = setInterval(poll, 5000);
  clearInterval(tickTimer);
  tickTimer = setInterval(tickOffers, 1000);
  loadOffers();
}

function stopLive() {
  stopViewing();
  liveRunning = false;
  clearTimeout(wsTimer);
  clearInterval(pollTimer);
  clearInterval(tickTimer);
  if (ws) { ws.onclose = null; try { ws.close(); } catch (e) { /* ignore */ } ws = null; }
  S.live = false;
  lastSeq = null;
  seenSeqs = {};
  seenOrder = [];
}

// Whether the logged event `seq` was handled already; notes it otherwise.
function seenBefore(seq) {
  if (typeof seq !== 'number') return false;
  if (seenSeqs[seq]) return true;
  seenSeqs[seq] = true;
  seenOrder.push(seq);
  if (seenOrder.length > 5000) delete seenSeqs[seenOrder.shift()];
  if (lastSeq === null || seq > lastSeq) lastSeq = seq;
  return false;
}

// Everything may have changed: reload what is shown.
function catchUp() {
  refreshList();
  reloadCurrent();
  loadOffers();
}

function connectWs() {
  if (!liveRunning) return;
  var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/console';
  // Resuming: the server replays what happened after lastSeq (or says `resync`).
  var resuming = lastSeq !== null;
  if (resuming) url += '?since=' + encodeURIComponent(lastSeq);
  var sock;
  var head = null;
  try { sock = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
  ws = sock;
  sock.onopen = function () {
    wsBackoff = 1000;
    setLive(true);
    // A first connection (or one after a reload) loads what it shows; a resumed one gets
    // what it missed from the server. Offers are read again for their countdowns.
    if (resuming) loadOffers(); else catchUp();
  };
  sock.onmessage = function (msg) {
    var ev;
    try { ev = JSON.parse(msg.data); } catch (e) { return; }
    if (!ev) return;
    if (ev.type === 'hello') {
      head = ev.seq;
      if (lastSeq === null && typeof head === 'number') lastSeq = head;
      return;
    }
    // The log could not replay from lastSeq: reload, and go on from the log's head.
    if (ev.type === 'resync') {
      if (typeof head === 'number') lastSeq = head;
      catchUp();
      return;
    }
    if (typeof ev.kind === 'string' && !seenBefore(ev.seq)) handleEvent(ev);
  };
  sock.onclose = function () {
    if (ws === sock) ws = null;
    setLive(false);
    scheduleReconnect();
  };
  sock.onerror = function () { /* a close event follows */ };
}

function scheduleReconnect() {
  if (!liveRunning) return;
  clearTimeout(wsTimer);
  var delay = wsBackoff * (0.75 + Math.random() * 0.5);
  wsBackoff = Math.min(wsBackoff * 2, 30000);
  wsTimer = setTimeout(connectWs, delay);
}

// Without the socket: the open conversation every 5 s, the list and
// offers every 15 s.
function poll() {
  if (!S.me || S.live) return;
  pollCount++;
  if (S.view === 'inbox') reloadCurrent();
  if (pollCount % 3 === 0) {
    if (S.view === 'inbox') refreshList();
    loadOffers();
  }
}

var refreshTimeline = debounce(function (customerId) {
  if (!S.timeline || S.timeline.customerId !== customerId) return;
  S.timeline = { customerId: customerId, items: [], cursor: null, loading: false, done: false };
  renderTimeline();
  loadTimeline();
}, 500);

function handleEvent(ev) {
  if (!S.me) return;
  var data = ev.data || {};
  queueEvent(ev);
  wallboardEvent(ev);
  switch (ev.kind) {
    case 'message.created': {
      var m = data.message;
      var convId = ev.conversation_id || (m && m.conversation_id);
      if (m && convId === S.currentId) addMessage(m);
      if (m && m.author_kind === 'customer' && !m.internal && ev.agent_id === S.me.id) notify(t('notify.message'), m.body, 'message-' + m.id);
      var at = (m && m.created_at) || ev.at;
      // My own messages (e.g. from another tab) do not make a row unread.
      if (m && m.author_kind === 'agent' && m.author_id === S.me.id) markSeen({ id: convId, last_message_at: at });
      if (!updateListItem({ id: convId, last_message_at: at })) refreshList();
      if (ev.customer_id) refreshTimeline(ev.customer_id);
      break;
    }
    case 'message.updated':
      // e.g. a call entry completed by the PBX's record: show the new figures.
      if (ev.conversation_id && ev.conversation_id === S.currentId) reloadCurrent();
      if (ev.customer_id) refreshTimeline(ev.customer_id);
      break;
    case 'conversation.assigned':
      if (data.from === S.me.id && data.to && data.to !== S.me.id) tookFromMe(ev);
      // falls through
    case 'conversation.created':
    case 'conversation.transferred':
    case 'conversation.status_changed':
    case 'conversation.updated':
      refreshList();
      if (ev.conversation_id && ev.conversation_id === S.currentId) reloadCurrent();
      if (ev.customer_id) refreshTimeline(ev.customer_id);
      break;
    case 'conversation.offered':
      if (ev.agent_id === S.me.id) notify(t('notify.offer'), '', 'offer-' + ev.conversation_id);
      if (!ev.agent_id || ev.agent_id === S.me.id) offerFromEvent(ev);
      break;
    case 'offer.accepted':
    case 'offer.declined':
    case 'offer.expired':
    case 'offer.withdrawn':
      removeOffer(data.offer_id || data.id);
      break;
    case 'agent.presence_changed': {
      var status = data.status || data.presence;
      S.agents.forEach(function (a) { if (a.id === ev.agent_id && status) a.presence = status; });
      if (ev.agent_id === S.me.id && status) {
        S.me.presence = status;
        var sel = $('#presence');
        if (sel) { sel.value = status; sel.className = 'presence presence-' + status; }
      }
      break;
    }
    case 'conversation.viewing':
      onViewing(ev);
      break;
    case 'chat.typing':
      onChatTyping(ev);
      break;
    case 'chat.read':
      onChatRead(ev);
      break;
    case 'email.delivery':
      updateDelivery(ev);
      break;
    case 'call.ringing':
      screenPop(ev);
      break;
    case 'customer.value_changed':
    case 'customer_value.refitted':
      onValueEvent(ev);
      break;
    case 'conversation.mentioned':
      onMentioned(ev);
      break;
    case 'team.changed':
    case 'access.changed':
      // Who sees which queues changed (access by team): list again.
      refreshList();
      break;
    default:
      break;
  }
}

// A colleague (or a supervisor) took one of my conversations: say so; the list refreshes.
function tookFromMe(ev) {
  var d = ev.data || {};
  var conv = null;
  S.list.forEach(function (c) { if (c.id === ev.conversation_id) conv = c; });
  toast(t('assign.takenFromMe', { name: agentName(d.to), num: conv ? convNumber(conv) : '' }), 'info', { testid: 'taken-toast', ttl: 10000 });
}

// ---- offers -------------------------------------------------------------

function loadOffers() {
  if (!S.offersSupported || !S.me) return;
  api('GET', '/offers').then(function (page) {
    var items = Array.isArray(page) ? page : (page && page.items) || [];
    S.offers = items;
    renderOffers();
  }, function (err) {
    if (err && (err.status === 404 || err.status === 405 || err.status === 501)) S.offersSupported = false;
  });
}

function offerFromEvent(ev) {
  if (S.offersSupported) { loadOffers(); return; }
  var d = ev.data || {};
  var id = d.offer_id || (d.offer && d.offer.id) || d.id;
  if (!id) return;
  removeOffer(id, true);
  S.offers.push({ id: id, conversation_id: ev.conversation_id, expires_at: d.expires_at || (d.offer && d.offer.expires_at) });
  renderOffers();
}

function removeOffer(id, quiet) {
  if (!id) return;
  S.offers = S.offers.filter(function (o) { return o.id !== id; });
  if (!quiet) renderOffers();
}

function offerRemaining(o) {
  var exp = parseTime(o.expires_at);
  return exp ? (exp.getTime() - Date.now()) / 1000 : null;
}

var offerConvs = {};
function renderOffers() {
  var box = $('#offers');
  if (!box) return;
  clear(box);
  S.offers.forEach(function (o) {
    var conv = offerConvs[o.conversation_id];
    if (!conv && o.conversation_id) {
      offerConvs[o.conversation_id] = { pending: true };
      api('GET', '/conversations/' + encodeURIComponent(o.conversation_id)).then(function (c) {
        offerConvs[o.conversation_id] = c;
        renderOffers();
      }, function () { /* show without details */ });
    }
    var label = conv && conv.number !== undefined ? t('offer.text', { num: convNumber(conv) }) : t('offer.text', { num: '' });
    var remain = offerRemaining(o);
    box.appendChild(h('div', { class: 'offer', 'data-testid': 'offer', 'data-id': o.id, role: 'group', 'aria-label': label },
      conv && conv.channel ? channelIcon(conv.channel) : null,
      h('strong', null, label),
      conv && conv.subject ? h('span', { dir: 'auto', class: 'offer-subject' }, conv.subject) : null,
      remain !== null ? h('span', { class: 'countdown', 'data-testid': 'offer-countdown', 'data-offer': o.id }, t('offer.expires', { time: fmtCountdown(remain) })) : null,
      h('button', { type: 'button', class: 'btn primary', 'data-testid': 'offer-accept', 'data-id': o.id, onclick: function () { answerOffer(o, true); } }, t('offer.accept')),
      h('button', { type: 'button', class: 'btn', 'data-testid': 'offer-decline', 'data-id': o.id, onclick: function () { answerOffer(o, false); } }, t('offer.decline'))));
  });
  box.hidden = !S.offers.length;
}

function tickOffers() {
  if (!S.offers.length) return;
  var expired = false;
  S.offers.forEach(function (o) {
    var remain = offerRemaining(o);
    if (remain === null) return;
    if (remain <= 0) { expired = true; return; }
    var el = document.querySelector('[data-offer="' + CSS.escape(o.id) + '"]');
    if (el) el.textContent = t('offer.expires', { time: fmtCountdown(remain) });
  });
  if (expired) {
    S.offers = S.offers.filter(function (o) { var r = offerRemaining(o); return r === null || r > 0; });
    renderOffers();
  }
}

function answerOffer(o, accept) {
  api('POST', '/offers/' + encodeURIComponent(o.id) + (accept ? '/accept' : '/decline')).then(function (conv) {
    removeOffer(o.id);
    if (accept) {
      if (S.view !== 'inbox') { S.view = 'inbox'; renderTopbar(); renderMain(); }
      // The accepted conversation is mine now: list it at once (a list read that began before
      // the accept must not leave "Mine" without it), then read the list again.
      if (S.tab === 'mine' && conv && conv.id && !updateListItem(conv)) {
        S.list = [conv].concat(S.list);
        renderListRows();
      }
      openConversation(o.conversation_id);
      loadList();
    }
  }, function (err) {
    removeOffer(o.id);
    toast(t('error.generic', { msg: errMsg(err) }), 'error');
  });
}

// ---- toasts and screen pop ----------------------------------------------

function toast(content, kind, opts) {
  opts = opts || {};
  var box = $('#toasts');
  if (!box) return null;
  var el = h('div', { class: 'toast ' + (kind || 'info'), role: kind === 'error' || kind === 'call' ? 'alert' : 'status', 'data-testid': opts.testid || 'toast' },
    h('div', { class: 'toast-body' }, content),
    h('button', { type: 'button', class: 'chip-x', 'aria-label': t('toast.dismiss'), onclick: function () { el.remove(); } }, '×'));
  box.appendChild(el);
  setTimeout(function () { el.remove(); }, opts.ttl || 6000);
  return el;
}

// The pop-up of a ringing call: who calls (name, tier, value), their last contacts and a
// button to the profile. One per call, however many copies of the event arrive.
var poppedCalls = {};
function screenPop(ev) {
  var d = ev.data || {};
  var customerId = d.customer_id || ev.customer_id;
  if (d.call_id) {
    if (poppedCalls[d.call_id]) return;
    poppedCalls[d.call_id] = true;
  }
  var nameText = h('bdi', { 'data-testid': 'call-name' }, '');
  var name = h('div', { class: 'caller', 'data-testid': 'call-customer' }, nameText);
  var recent = h('ol', { class: 'call-recent', 'data-testid': 'call-recent' });
  var content = h('div', null,
    h('div', { class: 'toast-title' }, channelIcon('phone'), ' ', t('call.ringing')),
    h('div', { class: 'from' }, h('bdi', { dir: 'ltr', 'data-testid': 'call-from' }, d.from ? String(d.from) : '')),
    name, recent,
    customerId ? h('button', { type: 'button', class: 'btn primary small', 'data-testid': 'call-open', onclick: function () { openCustomer(customerId); el.remove(); } }, t('call.open')) : null);
  var el = toast(content, 'call', { ttl: 30000, testid: 'call-toast' });
  if (el && d.call_id) el.setAttribute('data-call', d.call_id);
  if (!customerId) return;
  getCustomer(customerId).then(function (c) {
    nameText.textContent = customerLabel(c);
    notify(t('call.ringing'), customerLabel(c) + (d.from ? ' · ' + d.from : ''), 'call-' + (d.call_id || customerId));
    if (c.tier === 'vip') name.appendChild(h('span', { class: 'badge vip', 'data-testid': 'call-vip' }, t('customer.vip')));
    else if (c.tier && c.tier !== 'standard') name.appendChild(h('span', { class: 'badge', 'data-testid': 'call-tier' }, c.tier));
    append(name, segmentSlot(c.id, 'call-segment'));
    var value = c.value && typeof c.value.total === 'number' ? c.value.total : null;
    if (value !== null) name.appendChild(h('span', { class: 'muted call-value' }, ' ' + t('call.value', { n: fmtMoney(value, c.value.currency) })));
  }, function () { /* unknown caller */ });
  api('GET', '/customers/' + encodeURIComponent(customerId) + '/timeline' + qs({ limit: 3 })).then(function (page) {
    ((page && page.items) || []).forEach(function (it) {
      recent.appendChild(h('li', { 'data-testid': 'call-recent-item' }, channelIcon(it.channel), ' ',
        h('bdi', { dir: 'auto' }, it.subject || it.body || ''), ' ',
        h('time', { class: 'muted', datetime: it.at }, fmtShortTime(it.at))));
    });
  }, function () { /* no history shown */ });
}

function openCustomer(customerId) {
  S.panelCustomerId = customerId;
  var c = S.customers[customerId];
  S.filterCustomer = { id: customerId, name: customerLabel(c) };
  if (S.view !== 'inbox') { S.view = 'inbox'; renderTopbar(); renderMain(); } else { renderListPane(); renderCustomerPanel(); }
  loadList();
}

// ---- supervisor view ----------------------------------------------------

var supTimer = null;

function startSupervisorRefresh() {
  stopSupervisorRefresh();
  loadStats();
  supTimer = setInterval(loadStats, 5000);
}

function stopSupervisorRefresh() {
  clearInterval(supTimer);
  supTimer = null;
}

function rowsOf(page) {
  if (Array.isArray(page)) return page;
  if (!page) return [];
  return page.items || page.queues || page.agents || [];
}

function loadStats() {
  var soft = function (p) { return p.then(function (v) { return { ok: true, v: v }; }, function (e) { return { ok: false, e: e }; }); };
  // Once the server says the stats routes do not exist, stop asking and
  // fall back to agent presence from /agents.
  var missing = { ok: false, e: new ApiError(404, 'not_found', 'not found') };
  var stats = S.statsSupported === false ? Promise.resolve([missing, missing])
    : Promise.all([soft(api('GET', '/stats/queues')), soft(api('GET', '/stats/agents'))]);
  Promise.all([stats, soft(api('GET', '/agents?limit=500'))]).then(function (all) {
    var r = [all[0][0], all[0][1], all[1]];
    [r[0], r[1]].forEach(function (x) { if (!x.ok && x.e && x.e.status === 404) S.statsSupported = false; });
    if (r[2].ok) S.agents = (r[2].v && r[2].v.items) || S.agents;
    renderSupervisor({ queues: r[0], agents: r[1], at: new Date().toISOString() });
  });
}

var STAT_KEYS_SKIP = { id: true };

function flatten(row) {
  var out = {};
  Object.keys(row).forEach(function (k) {
    var v = row[k];
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      Object.keys(v).forEach(function (k2) { out[k + '.' + k2] = v[k2]; });
    } else out[k] = v;
  });
  return out;
}

function statCell(key, v) {
  if (v === null || v === undefined) return '–';
  if (key === 'queue_id') return queueName(v);
  if (key === 'agent_id') return agentName(v);
  if (key === 'role') return t('role.' + v, null, String(v));
  if (key === 'presence' || key === 'status') return t('presence.' + v, null, t('status.' + v, null, String(v)));
  if (typeof v === 'number' && /seconds?$/.test(key)) return fmtCountdown(v);
  if (typeof v === 'number' && /service_level$/.test(key)) return fmtPercent(v);
  if (typeof v === 'number') return fmtNum(v);
  if (typeof v === 'boolean') return v ? '✓' : '–';
  if (typeof v === 'string' && /_(at|since)$/.test(key)) return fmtShortTime(v);
  if (Array.isArray(v)) return v.map(function (x) { return key === 'channels' ? t('channel.' + x, null, String(x)) : String(x); }).join(LANG === 'fa' ? '، ' : ', ');
  return String(v);
}

// Flattened keys such as capacity.chat read as "Capacity · Chat".
function statLabel(key) {
  var parts = key.split('.');
  var label = t('stat.' + parts[0], null, parts[0].replace(/_/g, ' '));
  if (parts.length > 1) label += ' · ' + t('stat.' + parts[1], null, t('channel.' + parts[1], null, t('status.' + parts[1], null, parts[1].replace(/_/g, ' '))));
  return label;
}

// Columns in a fixed order whatever the rows hold (known keys first, then channels in their
// usual order, then the rest alphabetically), each once; ids are not repeated beside names.
var STAT_ORDER = ['name', 'role', 'presence', 'status', 'channels', 'waiting', 'oldest_wait_seconds', 'offered', 'assigned', 'available_agents', 'load', 'capacity', 'auto_accept'];

function statColumnRank(k) {
  var parts = k.split('.');
  var top = STAT_ORDER.indexOf(parts[0]);
  var sub = parts.length > 1 ? CHANNELS.indexOf(parts[1]) : -1;
  return [top < 0 ? STAT_ORDER.length : top, parts[0], sub < 0 ? CHANNELS.length : sub, k];
}

function statColumns(rows) {
  var seen = {};
  rows.forEach(function (r) { Object.keys(r).forEach(function (k) { if (!STAT_KEYS_SKIP[k]) seen[k] = true; }); });
  if (seen.name) { delete seen.agent_id; delete seen.queue_id; }
  return Object.keys(seen).sort(function (a, b) {
    var x = statColumnRank(a), y = statColumnRank(b);
    for (var i = 0; i < x.length; i++) {
      if (x[i] < y[i]) return -1;
      if (x[i] > y[i]) return 1;
    }
    return 0;
  });
}

function statTable(rows, testid) {
  rows = rows.map(flatten);
  var cols = statColumns(rows);
  // Wide tables scroll inside their box instead of running off the page's edge.
  return h('div', { class: 'table-scroll' }, h('table', { class: 'stats', 'data-testid': testid },
    h('thead', null, h('tr', null, cols.map(function (k) { return h('th', { scope: 'col' }, statLabel(k)); }))),
    h('tbody', null, rows.map(function (r) {
      return h('tr', null, cols.map(function (k) {
        var v = r[k];
        return h('td', { class: typeof v === 'number' ? 'num' : null }, h('bdi', null, statCell(k, v)));
      }));
    }))));
}

function renderSupervisor(res) {
  var box = $('#supervisor');
  if (!box) return;
  clear(box);
  if (!res) { box.appendChild(h('p', { class: 'muted' }, t('list.loading'))); return; }
  var head = h('p', { class: 'muted', 'data-testid': 'stats-updated' }, t('sup.updated', { time: new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(res.at)) }));
  box.appendChild(head);
  var fallback = !res.queues.ok || !res.agents.ok;
  if (fallback) box.appendChild(h('p', { class: 'notice', role: 'status' }, t('sup.unavailable')));
  box.appendChild(h('h2', null, t('sup.queues')));
  if (res.queues.ok) box.appendChild(statTable(rowsOf(res.queues.v), 'stats-queues'));
  else box.appendChild(statTable(S.queues.map(function (q) { return { name: q.name, channels: q.channels, auto_accept: q.auto_accept }; }), 'stats-queues'));
  box.appendChild(h('h2', null, t('sup.agents')));
  if (res.agents.ok) box.appendChild(statTable(rowsOf(res.agents.v), 'stats-agents'));
  else box.appendChild(statTable(S.agents.map(function (a) { return { name: a.name, role: a.role, presence: a.presence }; }), 'stats-agents'));
}
