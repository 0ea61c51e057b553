// wallboard.js: the supervisors' live wallboard (#/wallboard, full screen at #/wallboard?wall=1)
// and the dispatch of the supervisor pages (wallboard, reports, queues, business hours).
// Figures come from /stats/queues and /stats/agents, re-read at most once a second after a
// relevant event of the console socket (live.js calls wallboardEvent); waits and times in state
// tick locally in between. Thresholds that turn figures amber or red are kept per browser.

var WB_KEY = 'switchboard.console.wallboard';
var WB_DEFAULTS = {
  waiting_amber: 3, waiting_red: 8,
  wait_amber: 30, wait_red: 120,
  sl_amber: 80, sl_red: 60,
  abandon_amber: 5, abandon_red: 10,
  asa_amber: 20, asa_red: 60
};
// Events after which the figures may have changed (not who is looking at or typing in what).
var WB_EVENTS = /^(conversation|offer|agent|call|queue)\.|^message\.created$/;
var WB_QUIET = { 'conversation.viewing': true };
// Figures that change with time alone (SLA at risk) are re-read this often without events.
var WB_SLOW_MS = 60000;

var WB = { queues: null, agents: null, queuesError: null, agentsError: null, at: 0, last: 0,
  busy: false, dirty: false, timer: null, tick: null, slow: null, wasLive: false, open: {}, held: false };

// ---- the supervisor pages -----------------------------------------------

function extraViews() {
  if (!isSupervisor()) return [];
  var views = ['wallboard', 'reports', 'queues', 'key-customers'];
  if (S.me.role === 'admin') views.push('hours', 'teams');
  return views;
}

// Renders the wallboard, reports or business-hours page into `main`; false for other views.
function renderExtraView(main) {
  if (S.view !== 'wallboard') stopWallboard();
  if (extraViews().indexOf(S.view) < 0) return false;
  if (S.view === 'wallboard') renderWallboardView(main);
  else if (S.view === 'reports') renderReportsView(main);
  else if (S.view === 'teams') renderTeamsView(main);
  else if (S.view === 'key-customers') renderKeyCustomersView(main);
  else if (S.view === 'queues') renderQueuesView(main);
  else renderHoursView(main);
  return true;
}

function extraRoute() {
  if (extraViews().indexOf(S.view) < 0) return null;
  return '#/' + S.view + (S.view === 'wallboard' && S.wall ? '?wall=1' : '');
}

// `#/wallboard?wall=1` → the wallboard, full screen; true when the hash names one of these pages.
function readExtraRoute(hash) {
  var m = /^#\/?(wallboard|reports|queues|hours|teams|key-customers)(\?(.*))?$/.exec(hash);
  S.wall = false;
  if (!m || !S.me) return false;
  S.view = m[1];
  if (extraViews().indexOf(S.view) < 0) { S.view = 'inbox'; return false; }
  S.wall = S.view === 'wallboard' && /(^|&)wall=1(&|$)/.test(m[3] || '');
  return true;
}

// The full-screen wallboard: no top bar, no offers, large type. True when it was drawn.
function renderWallOnly() {
  var wall = !!(S.wall && S.view === 'wallboard' && isSupervisor());
  document.body.classList.toggle('wall', wall);
  if (!wall) return false;
  var root = clear($('#app'));
  root.appendChild(h('div', { id: 'main', class: 'main wall-main' }));
  root.appendChild(h('div', { id: 'toasts', class: 'toasts', 'aria-live': 'assertive' }));
  renderMain();
  return true;
}

function leaveWall() {
  S.wall = false;
  if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(function () { /* not ours */ });
  renderAll();
  saveRoute();
}

document.addEventListener('keydown', function (e) {
  if (e.key === 'Escape' && S.wall && S.view === 'wallboard') leaveWall();
});

// ---- thresholds -----------------------------------------------------------

function wbThresholds() {
  var saved = {};
  try { saved = JSON.parse(localStorage.getItem(WB_KEY) || '{}') || {}; } catch (e) { saved = {}; }
  var out = {};
  Object.keys(WB_DEFAULTS).forEach(function (k) { out[k] = typeof saved[k] === 'number' ? saved[k] : WB_DEFAULTS[k]; });
  return out;
}

function saveThresholds(th) {
  try { localStorage.setItem(WB_KEY, JSON.stringify(th)); } catch (e) { /* private mode */ }
}

// 'red', 'amber' or '' for a value where higher is worse (lowerWorse for service level).
function level(v, amber, red, lowerWorse) {
  if (v === null || v === undefined || isNaN(v)) return '';
  if (lowerWorse) return v < red ? 'red' : v < amber ? 'amber' : '';
  return v >= red ? 'red' : v >= amber ? 'amber' : '';
}

function thresholdsPanel() {
  var th = wbThresholds();
  var rows = [['waiting', ''], ['wait', 's'], ['sl', '%'], ['abandon', '%'], ['asa', 's']];
  return h('details', { class: 'wb-thresholds', 'data-testid': 'wb-thresholds' },
    h('summary', { class: 'btn' }, t('wb.thresholds')),
    h('div', { class: 'wb-th-grid' }, rows.map(function (r) {
      var input = function (which) {
        var key = r[0] + '_' + which;
        return h('input', { type: 'number', min: '0', step: 'any', value: String(th[key]), dir: 'ltr', 'data-testid': 'wb-th-' + key,
          'aria-label': t('wb.th.' + r[0]) + ' · ' + t('wb.th.' + which),
          onchange: function (e) {
            var v = parseFloat(e.target.value);
            var cur = wbThresholds();
            cur[key] = isNaN(v) ? WB_DEFAULTS[key] : v;
            saveThresholds(cur);
            renderWallboardData();
          } });
      };
      return h('div', { class: 'wb-th-row' }, h('span', null, t('wb.th.' + r[0]) + (r[1] ? ' (' + t('wb.unit.' + r[1]) + ')' : '')),
        h('label', { class: 'amber' }, t('wb.th.amber'), ' ', input('amber')),
        h('label', { class: 'red' }, t('wb.th.red'), ' ', input('red')));
    }), h('p', { class: 'muted' }, t('wb.th.note'))));
}

// ---- live reading ---------------------------------------------------------

function isWallboardView() { return !!(S.me && S.view === 'wallboard' && isSupervisor() && $('#wallboard')); }

function wallboardEvent(ev) {
  if (!ev || !WB_EVENTS.test(ev.kind || '') || WB_QUIET[ev.kind] || !isWallboardView()) return;
  wallboardSoon();
}

// Re-read once, no sooner than a second after the previous read started.
function wallboardSoon() {
  if (WB.timer) return;
  var wait = Math.max(0, 1000 - (Date.now() - WB.last));
  WB.timer = setTimeout(function () { WB.timer = null; wallboardFetch(); }, wait);
}

function wallboardFetch() {
  if (!isWallboardView()) return;
  if (WB.busy) { WB.dirty = true; return; }
  WB.busy = true;
  WB.dirty = false;
  WB.last = Date.now();
  var soft = function (p) { return p.then(function (v) { return { ok: true, v: v }; }, function (e) { return { ok: false, e: e }; }); };
  var opened = Object.keys(WB.open);
  Promise.all([soft(api('GET', '/stats/queues')), soft(api('GET', '/stats/agents'))].concat(opened.map(function (id) {
    return soft(api('GET', '/conversations' + qs({ assignee: id, limit: 50 })));
  }))).then(function (r) {
    WB.busy = false;
    WB.at = Date.now();
    WB.queuesError = r[0].ok ? null : r[0].e;
    WB.agentsError = r[1].ok ? null : r[1].e;
    if (r[0].ok) WB.queues = rowsOf(r[0].v);
    if (r[1].ok) WB.agents = rowsOf(r[1].v);
    opened.forEach(function (id, i) { if (WB.open[id] !== undefined && r[2 + i].ok) WB.open[id] = openConvs(r[2 + i].v); });
    renderWallboardData();
    if (WB.dirty) wallboardSoon();
  });
}

function openConvs(page) {
  return ((page && page.items) || []).filter(function (c) { return c.status === 'open' || c.status === 'pending'; });
}

function startWallboard() {
  stopWallboard();
  WB.wasLive = S.live;
  WB.tick = setInterval(wallboardTick, 1000);
  WB.slow = setInterval(wallboardSoon, WB_SLOW_MS);
  // A board opened again (a resync, a view switch) keeps to one read a second too.
  wallboardSoon();
}

function stopWallboard() {
  clearInterval(WB.tick);
  clearInterval(WB.slow);
  clearTimeout(WB.timer);
  WB.tick = WB.slow = WB.timer = null;
}

// Every second: waits and times in state move on the screen; a socket that came back catches up.
function wallboardTick() {
  if (!isWallboardView()) { stopWallboard(); return; }
  if (S.live && !WB.wasLive) wallboardSoon();
  WB.wasLive = S.live;
  var th = wbThresholds();
  var now = Date.now();
  document.querySelectorAll('#wallboard [data-since]').forEach(function (el) {
    var secs = (now - Number(el.getAttribute('data-since'))) / 1000;
    el.textContent = wbDuration(secs);
    if (el.hasAttribute('data-wait')) el.parentNode.className = 'num ' + level(secs, th.wait_amber, th.wait_red);
  });
  var stamp = $('#wb-live');
  if (stamp) stamp.className = 'live ' + (S.live ? 'on' : 'off');
}

// ---- formatting -----------------------------------------------------------

var DASH = '—';

function wbDuration(secs) {
  if (secs === null || secs === undefined || isNaN(secs)) return DASH;
  secs = Math.max(0, Math.round(secs));
  if (secs < 3600) return fmtCountdown(secs);
  var nf = new Intl.NumberFormat(locale(), { minimumIntegerDigits: 2 });
  return new Intl.NumberFormat(locale()).format(Math.floor(secs / 3600)) + ':' + nf.format(Math.floor(secs / 60) % 60) + ':' + nf.format(secs % 60);
}

function fmtPct(ratio) {
  if (ratio === null || ratio === undefined || isNaN(ratio)) return DASH;
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 1 }).format(ratio);
}

function fmtCount(n) { return typeof n === 'number' ? fmtNum(n) : DASH; }

function num(v) { return typeof v === 'number' ? v : null; }

// ---- drawing --------------------------------------------------------------

function renderWallboardView(main) {
  var wallLink = h('a', { class: 'btn', href: '#/wallboard?wall=1', 'data-testid': 'wb-wall-link',
    onclick: function (e) {
      e.preventDefault();
      S.wall = true;
      saveRoute();
      renderAll();
      if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(function () { /* kiosk or refused */ });
    } }, t('wb.fullscreen'));
  var exit = h('button', { type: 'button', class: 'btn wb-exit', 'data-testid': 'wb-exit', onclick: leaveWall }, t('wb.exit'));
  main.appendChild(h('section', { id: 'wallboard', class: 'wallboard' + (S.wall ? ' wall' : ''), 'data-testid': 'wallboard', 'aria-label': t('view.wallboard') },
    h('div', { class: 'wb-head' },
      h('h1', null, t('view.wallboard')),
      h('span', { id: 'wb-live', class: 'live ' + (S.live ? 'on' : 'off'), 'aria-hidden': 'true' }),
      h('span', { class: 'muted', id: 'wb-updated', 'data-testid': 'wb-updated', role: 'status' }, ''),
      h('div', { class: 'spacer' }),
      S.wall ? null : thresholdsPanel(),
      S.wall ? exit : wallLink),
    h('div', { id: 'wb-data' }, h('p', { class: 'muted' }, t('list.loading')))));
  if (WB.queues || WB.agents) renderWallboardData();
  startWallboard();
}

// Holds a redraw while a select in the board is open (a presence or reassign choice).
function wbInteracting() {
  var a = document.activeElement;
  return !!(a && a.tagName === 'SELECT' && a.closest && a.closest('#wb-data'));
}

function renderWallboardData() {
  var box = $('#wb-data');
  if (!box) return;
  if (wbInteracting()) {
    if (!WB.held) {
      WB.held = true;
      document.activeElement.addEventListener('blur', function () { WB.held = false; renderWallboardData(); }, { once: true });
    }
    return;
  }
  clear(box);
  var up = $('#wb-updated');
  if (up && WB.at) up.textContent = t('sup.updated', { time: new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(WB.at)) });
  var th = wbThresholds();
  [WB.queuesError, WB.agentsError].forEach(function (e) {
    if (e) box.appendChild(h('p', { class: 'notice', role: 'alert', 'data-testid': 'wb-error' }, t('error.generic', { msg: errMsg(e) })));
  });
  box.appendChild(floorSummary());
  box.appendChild(h('h2', null, t('wb.queues')));
  box.appendChild(queueTable(WB.queues || [], th));
  box.appendChild(h('h2', null, t('wb.channels')));
  box.appendChild(channelTable(WB.agents || []));
  box.appendChild(h('h2', null, t('wb.agents')));
  box.appendChild(agentTable(WB.agents || []));
  wallboardTick();
}

function agentState(a) {
  var total = 0;
  Object.keys(a.load || {}).forEach(function (c) { total += a.load[c] || 0; });
  if (a.presence === 'available') return total > 0 ? 'busy' : 'available';
  return a.presence === 'away' ? 'away' : 'offline';
}

function floorSummary() {
  var counts = { available: 0, busy: 0, away: 0, offline: 0 };
  (WB.agents || []).forEach(function (a) { counts[agentState(a)]++; });
  return h('div', { class: 'wb-floor', 'data-testid': 'wb-floor' }, Object.keys(counts).map(function (k) {
    return h('div', { class: 'wb-tile state-' + k, 'data-field': k },
      h('span', { class: 'wb-big' }, fmtNum(WB.agents ? counts[k] : null) || DASH),
      h('span', { class: 'wb-label' }, t('wb.state.' + k)));
  }));
}

var QUEUE_COLS = ['waiting', 'oldest_wait', 'available_agents', 'agents', 'offered', 'assigned', 'offered_today', 'answered_today',
  'service_level', 'abandon_rate', 'asa', 'aht', 'sla_at_risk', 'sla_breached'];

function queueCell(q, key, th) {
  var d = q.today || {};
  var offeredToday = num(d.offered);
  switch (key) {
    case 'waiting': return [fmtCount(q.waiting), level(q.waiting, th.waiting_amber, th.waiting_red)];
    case 'oldest_wait':
      if (!(q.waiting > 0) || typeof q.oldest_wait_seconds !== 'number') return [q.waiting === 0 ? wbDuration(0) : DASH, ''];
      return [h('span', { 'data-since': String(WB.at - q.oldest_wait_seconds * 1000), 'data-wait': '' }, wbDuration(q.oldest_wait_seconds)),
        level(q.oldest_wait_seconds, th.wait_amber, th.wait_red)];
    case 'available_agents': case 'offered': case 'assigned': return [fmtCount(q[key]), ''];
    case 'agents': return [queueAgents(q.queue_id), ''];
    case 'offered_today': return [fmtCount(offeredToday), ''];
    case 'answered_today': return [fmtCount(num(d.answered)), ''];
    case 'service_level': {
      var sl = num(d.service_level);
      return [slWithTarget(fmtPct(sl), q.queue_id), level(sl === null ? null : sl * 100, th.sl_amber, th.sl_red, true)];
    }
    case 'abandon_rate': {
      var ab = num(d.abandoned);
      var rate = typeof d.abandon_rate === 'number' ? d.abandon_rate : ab !== null && offeredToday ? ab / offeredToday : null;
      return [fmtPct(rate), level(rate === null ? null : rate * 100, th.abandon_amber, th.abandon_red)];
    }
    case 'asa': return [wbDuration(num(d.avg_speed_of_answer_seconds)), level(num(d.avg_speed_of_answer_seconds), th.asa_amber, th.asa_red)];
    case 'aht': return [wbDuration(num(d.avg_handle_seconds)), ''];
    case 'sla_at_risk': return [fmtCount(q.sla_at_risk), q.sla_at_risk > 0 ? 'amber' : ''];
    case 'sla_breached': return [fmtCount(q.sla_breached), q.sla_breached > 0 ? 'red' : ''];
    default: return [DASH, ''];
  }
}

// The service level with the queue's own target under it ("≤ 30 s"), when it has one.
function slWithTarget(text, id) {
  var target = null;
  S.queues.forEach(function (x) { if (x.id === id && typeof x.service_level_seconds === 'number') target = x.service_level_seconds; });
  var value = h('span', { 'data-testid': 'wb-sl-value' }, text);
  if (target === null) return value;
  return h('span', { class: 'wb-sl' }, value, h('small', { class: 'wb-target', 'data-testid': 'wb-sl-target', title: t('qe.col.service_level_seconds') },
    t('wb.target', { n: fmtNum(target) })));
}

// The agents who can serve a queue (its skills, its language), by state: free, busy, away.
function queueAgents(id) {
  var q = null, byId = {};
  S.queues.forEach(function (x) { if (x.id === id) q = x; });
  S.agents.forEach(function (a) { byId[a.id] = a; });
  if (!q || !WB.agents) return DASH;
  var counts = { available: 0, busy: 0, away: 0 };
  WB.agents.forEach(function (a) {
    var info = byId[a.agent_id];
    if (!info) return;
    var skills = info.skills || [], langs = info.languages || [];
    if ((q.skills || []).some(function (s) { return skills.indexOf(s) < 0; })) return;
    if (q.language && langs.indexOf(q.language) < 0) return;
    var st = agentState(a);
    if (counts[st] !== undefined) counts[st]++;
  });
  return h('span', { class: 'wb-states' }, ['available', 'busy', 'away'].map(function (k) {
    return h('span', { class: 'wb-state state-' + k, 'data-state': k, title: t('wb.state.' + k) }, fmtNum(counts[k]));
  }));
}

function queueChannels(id) {
  for (var i = 0; i < S.queues.length; i++) if (S.queues[i].id === id) return S.queues[i].channels || [];
  return [];
}

function queueTable(rows, th) {
  return h('table', { class: 'stats wb-table', 'data-testid': 'wb-queues' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('wb.col.queue')),
      QUEUE_COLS.map(function (k) { return h('th', { scope: 'col' }, t('wb.col.' + k)); }))),
    h('tbody', null, rows.length ? rows.map(function (q) {
      return h('tr', { 'data-testid': 'wb-queue', 'data-id': q.queue_id },
        h('th', { scope: 'row' }, h('bdi', null, q.name || queueName(q.queue_id)), ' ',
          h('span', { class: 'wb-chans' }, queueChannels(q.queue_id).map(channelIcon))),
        QUEUE_COLS.map(function (k) {
          var c = queueCell(q, k, th);
          return h('td', { class: 'num ' + c[1], 'data-field': k }, c[0]);
        }));
    }) : h('tr', null, h('td', { colspan: String(QUEUE_COLS.length + 1), class: 'muted' }, t('wb.noQueues')))));
}

// Per channel across agents: conversations handled now against the capacity of those available.
function channelTable(agents) {
  var by = {};
  agents.forEach(function (a) {
    var chans = {};
    Object.keys(a.capacity || {}).concat(Object.keys(a.load || {})).forEach(function (c) { chans[c] = true; });
    Object.keys(chans).forEach(function (c) {
      var x = by[c] || (by[c] = { load: 0, capacity: 0, offered: 0, agents: 0 });
      x.load += (a.load || {})[c] || 0;
      x.offered += (a.offered || {})[c] || 0;
      if (a.presence === 'available') { x.capacity += (a.capacity || {})[c] || 0; x.agents++; }
    });
  });
  var chans = Object.keys(by).sort(function (a, b) { return CHANNELS.indexOf(a) - CHANNELS.indexOf(b); });
  return h('table', { class: 'stats wb-table', 'data-testid': 'wb-channels' },
    h('thead', null, h('tr', null, ['channel', 'agents_available', 'load', 'offers'].map(function (k) { return h('th', { scope: 'col' }, t('wb.col.' + k)); }))),
    h('tbody', null, chans.map(function (c) {
      var x = by[c];
      return h('tr', { 'data-testid': 'wb-channel', 'data-channel': c },
        h('th', { scope: 'row' }, channelIcon(c), ' ', t('channel.' + c, null, c)),
        h('td', { class: 'num' }, fmtNum(x.agents)),
        h('td', { class: 'num ' + (x.capacity && x.load >= x.capacity ? 'amber' : '') }, loadMeter(x.load, x.capacity)),
        h('td', { class: 'num' }, fmtNum(x.offered)));
    })));
}

function loadMeter(load, cap) {
  var text = fmtNum(load) + ' / ' + (cap ? fmtNum(cap) : DASH);
  var pct = cap ? Math.min(100, Math.round(100 * load / cap)) : 0;
  var bar = h('span', { class: 'wb-meter', 'aria-hidden': 'true' }, h('span', { class: 'wb-meter-fill' }));
  bar.firstChild.style.inlineSize = pct + '%';
  return h('span', { class: 'wb-load' }, h('bdi', { dir: 'ltr' }, text), bar);
}

function agentTable(agents) {
  var cols = ['agent', 'presence', 'in_state', 'handled_today', 'load', 'conversations'];
  return h('table', { class: 'stats wb-table wb-agents', 'data-testid': 'wb-agents' },
    h('thead', null, h('tr', null, cols.map(function (k) { return h('th', { scope: 'col' }, t('wb.col.' + k)); }))),
    h('tbody', null, agents.map(function (a) {
      var rows = [agentRow(a)];
      if (WB.open[a.agent_id] !== undefined) rows.push(agentConversations(a));
      return rows;
    })));
}

function agentRow(a) {
  var since = parseTime(a.presence_since);
  var chans = {};
  Object.keys(a.capacity || {}).concat(Object.keys(a.load || {})).forEach(function (c) { chans[c] = true; });
  var loads = Object.keys(chans).sort(function (x, y) { return CHANNELS.indexOf(x) - CHANNELS.indexOf(y); }).map(function (c) {
    var load = (a.load || {})[c] || 0, cap = (a.capacity || {})[c] || 0;
    return h('span', { class: 'wb-agent-load' + (cap && load >= cap ? ' full' : ''), 'data-channel': c }, channelIcon(c), loadMeter(load, cap));
  });
  var open = WB.open[a.agent_id] !== undefined;
  var total = 0;
  Object.keys(a.load || {}).forEach(function (c) { total += a.load[c] || 0; });
  return h('tr', { 'data-testid': 'wb-agent', 'data-id': a.agent_id, class: 'state-' + agentState(a) },
    h('th', { scope: 'row' }, h('bdi', null, a.name || agentName(a.agent_id))),
    h('td', null, S.wall ? t('presence.' + a.presence, null, a.presence) : presenceSelect(a)),
    h('td', { class: 'num', 'data-field': 'in_state' }, since ? h('span', { 'data-since': String(since.getTime()) }, wbDuration((Date.now() - since.getTime()) / 1000)) : DASH),
    h('td', { class: 'num', 'data-field': 'handled_today' }, fmtCount(a.handled_today)),
    h('td', { class: 'wb-loads' }, loads.length ? loads : DASH),
    h('td', null, S.wall ? fmtNum(total) : h('button', { type: 'button', class: 'btn small', 'aria-expanded': open ? 'true' : 'false', 'data-testid': 'wb-agent-open',
      onclick: function () { toggleAgent(a.agent_id); } }, t('wb.conversations', { n: total }))));
}

function presenceSelect(a) {
  var sel = h('select', { class: 'presence presence-' + a.presence, 'data-testid': 'wb-presence', 'aria-label': t('wb.setPresence', { name: a.name }),
    onchange: function () {
      api('PUT', '/agents/' + encodeURIComponent(a.agent_id) + '/presence', { status: sel.value }).then(function () {
        a.presence = sel.value;
        sel.blur();
        wallboardSoon();
      }, function (err) {
        sel.value = a.presence;
        toast(t('error.generic', { msg: errMsg(err) }), 'error');
      });
    } }, PRESENCES.map(function (p) { return h('option', { value: p, selected: a.presence === p }, t('presence.' + p)); }));
  return sel;
}

function toggleAgent(id) {
  if (WB.open[id] !== undefined) { delete WB.open[id]; renderWallboardData(); return; }
  WB.open[id] = null;
  renderWallboardData();
  api('GET', '/conversations' + qs({ assignee: id, limit: 50 })).then(function (page) {
    if (WB.open[id] === undefined) return;
    WB.open[id] = openConvs(page);
    renderWallboardData();
  }, function (err) { toast(t('error.generic', { msg: errMsg(err) }), 'error'); });
}

function agentConversations(a) {
  var list = WB.open[a.agent_id];
  var body;
  if (list === null) body = h('p', { class: 'muted' }, t('list.loading'));
  else if (!list.length) body = h('p', { class: 'muted' }, t('wb.noConversations'));
  else body = h('ul', { class: 'wb-convs' }, list.map(function (c) { return reassignRow(a, c); }));
  return h('tr', { class: 'wb-agent-convs', 'data-testid': 'wb-agent-convs', 'data-id': a.agent_id }, h('td', { colspan: '6' }, body));
}

function reassignRow(a, c) {
  var sel = h('select', { 'data-testid': 'wb-reassign-to', 'aria-label': t('wb.reassignTo') },
    h('option', { value: '' }, t('wb.reassignTo')),
    h('optgroup', { label: t('wb.agents') }, (WB.agents || []).filter(function (x) { return x.agent_id !== a.agent_id; }).map(function (x) {
      return h('option', { value: 'agent:' + x.agent_id }, x.name + ' · ' + t('presence.' + x.presence, null, x.presence));
    })),
    h('optgroup', { label: t('wb.queues') }, S.queues.map(function (q) { return h('option', { value: 'queue:' + q.id }, q.name); })));
  var go = h('button', { type: 'button', class: 'btn small', 'data-testid': 'wb-reassign', onclick: function () {
    var v = sel.value;
    if (!v) { sel.focus(); return; }
    var body = v.indexOf('agent:') === 0 ? { agent_id: v.slice(6) } : { queue_id: v.slice(6) };
    go.disabled = true;
    api('POST', '/conversations/' + encodeURIComponent(c.id) + '/assign', body).then(function () {
      toast(t('wb.reassigned', { num: convNumber(c) }), 'info');
      wallboardSoon();
    }, function (err) {
      go.disabled = false;
      toast(t('error.generic', { msg: errMsg(err) }), 'error');
    });
  } }, t('wb.reassign'));
  return h('li', { 'data-testid': 'wb-conv', 'data-id': c.id },
    channelIcon(c.channel), ' ', h('a', { href: '#/open/' + encodeURIComponent(c.id), 'data-testid': 'wb-conv-open' }, h('strong', null, convNumber(c))),
    ' ', h('bdi', { dir: 'auto' }, c.subject || ''),
    ' ', h('span', { class: 'muted' }, t('status.' + c.status, null, c.status)), ' ', sel, ' ', go);
}
