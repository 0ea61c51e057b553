// app.js: state, start-up, login screen, the main shell and the top bar.

var S = {
  me: null,
  view: 'inbox',          // 'inbox' | 'supervisor' | 'wallboard' | 'reports' | 'hours'
  wall: false,            // the wallboard full screen (#/wallboard?wall=1)
  tab: 'mine',            // 'mine' | 'unassigned' | 'open'
  filterChannel: '',
  filterStatus: '',
  filterCustomer: null,   // {id, name} when the list is narrowed to one customer
  list: [],
  listCursor: null,
  listLoading: false,
  listError: null,
  selectedIdx: -1,
  currentId: null,
  current: null,          // conversation detail
  currentError: null,
  composeInternal: false,
  drafts: {},             // conversation id -> unsent text
  customers: {},          // id -> customer (cache)
  customerReqs: {},       // id -> pending promise
  agents: [],
  queues: [],
  panelCustomerId: null,
  timeline: null,         // {customerId, items, cursor, loading, done}
  offers: [],
  offersSupported: true,
  statsSupported: true,
  live: false
};

var SEEN_KEY = 'switchboard.console.seen';
var CHANNELS = ['email', 'chat', 'phone', 'fax', 'api'];
var STATUSES = ['open', 'pending', 'resolved', 'closed'];
var PRESENCES = ['available', 'away', 'offline'];

function loadSeen() {
  try { return JSON.parse(localStorage.getItem(SEEN_KEY) || '{}') || {}; } catch (e) { return {}; }
}
var SEEN = loadSeen();

function markSeen(conv) {
  if (!conv) return;
  var at = conv.last_message_at || conv.updated_at || new Date().toISOString();
  if (SEEN[conv.id] && parseTime(SEEN[conv.id]) >= parseTime(at)) return;
  SEEN[conv.id] = at;
  var keys = Object.keys(SEEN);
  if (keys.length > 500) keys.slice(0, keys.length - 500).forEach(function (k) { delete SEEN[k]; });
  try { localStorage.setItem(SEEN_KEY, JSON.stringify(SEEN)); } catch (e) { /* ignore */ }
}

function isUnread(conv) {
  if (!conv.last_message_at) return false;
  var seen = SEEN[conv.id];
  return !seen || parseTime(conv.last_message_at) > parseTime(seen);
}

function isSupervisor() {
  return S.me && (S.me.role === 'supervisor' || S.me.role === 'admin');
}

function agentName(id) {
  if (!id) return '';
  if (S.me && id === S.me.id) return S.me.name;
  for (var i = 0; i < S.agents.length; i++) if (S.agents[i].id === id) return S.agents[i].name;
  return id.slice(0, 8);
}

function queueName(id) {
  for (var i = 0; i < S.queues.length; i++) if (S.queues[i].id === id) return S.queues[i].name;
  return id ? id.slice(0, 8) : '';
}

function errMsg(e) { return (e && e.message) || String(e); }

// ---- start-up -----------------------------------------------------------

function boot() {
  applyLang();
  api('GET', '/auth/me').then(function (me) {
    S.me = me && me.agent ? me.agent : me;
    startMain();
  }, function () {
    renderLogin();
  });
}

function onUnauthorized() {
  if (!S.me) return;
  stopLive();
  stopSupervisorRefresh();
  S.me = null;
  renderLogin();
}

// ---- login --------------------------------------------------------------

function langButton() {
  return h('button', {
    type: 'button', class: 'btn lang-toggle', 'data-testid': 'lang-toggle',
    'aria-label': t('lang.toggle.label'), lang: LANG === 'fa' ? 'en' : 'fa',
    onclick: function () { setLang(LANG === 'fa' ? 'en' : 'fa'); if (S.me) renderAll(); else renderLogin(); }
  }, t('lang.toggle'));
}

function renderLogin(message) {
  updateTitle();
  var root = clear($('#app'));
  var email = h('input', { id: 'login-email', type: 'email', name: 'email', required: true, autocomplete: 'username', dir: 'ltr', 'data-testid': 'login-email' });
  var password = h('input', { id: 'login-password', type: 'password', name: 'password', required: true, autocomplete: 'current-password', dir: 'ltr', 'data-testid': 'login-password' });
  var error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'login-error' }, message || '');
  var submit = h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'login-submit' }, t('login.submit'));
  var form = h('form', { class: 'login-card', 'data-testid': 'login-form', 'aria-labelledby': 'login-title',
    onsubmit: function (e) {
      e.preventDefault();
      submit.disabled = true;
      error.textContent = '';
      api('POST', '/auth/login', { email: email.value.trim(), password: password.value }).then(function (res) {
        S.me = res.agent;
        startMain();
      }, function (err) {
        submit.disabled = false;
        error.textContent = t('login.failed', { msg: errMsg(err) });
        password.select();
      });
    }
  },
    h('div', { class: 'login-head' }, h('h1', { id: 'login-title' }, t('login.title')), langButton()),
    h('label', { for: 'login-email' }, t('login.email')), email,
    h('label', { for: 'login-password' }, t('login.password')), password,
    error, submit);
  root.appendChild(h('main', { class: 'login-screen' }, form));
  email.focus();
}

// ---- main shell ---------------------------------------------------------

// Forget everything tied to the previous session (another agent may sign in).
function resetSession() {
  S.view = 'inbox';
  S.tab = 'mine';
  S.filterChannel = '';
  S.filterStatus = '';
  S.filterCustomer = null;
  S.list = [];
  S.listCursor = null;
  S.selectedIdx = -1;
  S.currentId = null;
  S.current = null;
  S.currentError = null;
  S.drafts = {};
  S.panelCustomerId = null;
  S.timeline = null;
  S.offers = [];
  S.offersSupported = true;
  S.statsSupported = true;
}

function startMain() {
  resetSession();
  var routed = readRoute();
  Promise.all([
    api('GET', '/agents?limit=500').then(function (p) { S.agents = (p && p.items) || []; }, function () { S.agents = []; }),
    api('GET', '/queues?limit=500').then(function (p) { S.queues = (p && p.items) || []; }, function () { S.queues = []; })
  ]).then(function () {
    renderAll();
    loadList();
    startLive();
    if (routed) openConversation(routed);
    saveRoute();
  });
}

function renderAll() {
  saveDraft();
  if (renderWallOnly()) return;
  var root = clear($('#app'));
  root.appendChild(h('div', { class: 'shell' },
    h('header', { class: 'topbar', id: 'topbar' }),
    h('div', { id: 'offers', class: 'offers', 'aria-label': t('offers.label'), role: 'region', 'aria-live': 'polite' }),
    h('div', { id: 'main', class: 'main' })));
  root.appendChild(h('div', { id: 'toasts', class: 'toasts', 'aria-live': 'assertive' }));
  renderTopbar();
  renderOffers();
  renderMain();
}

function renderMain() {
  saveDraft();
  var main = clear($('#main'));
  if (renderExtraView(main)) { stopSupervisorRefresh(); return; }
  if (S.view === 'supervisor' && isSupervisor()) {
    main.appendChild(h('section', { id: 'supervisor', class: 'supervisor', 'data-testid': 'supervisor-view', 'aria-label': t('view.supervisor') }));
    renderSupervisor();
    startSupervisorRefresh();
    return;
  }
  stopSupervisorRefresh();
  main.appendChild(h('div', { class: 'inbox' },
    h('nav', { id: 'listpane', class: 'listpane', 'aria-label': t('list.label') }),
    h('main', { id: 'convpane', class: 'convpane', 'aria-label': t('conv.messages') }),
    h('aside', { id: 'custpane', class: 'custpane', 'aria-label': t('customer.label'), onscroll: onCustomerPanelScroll })));
  renderListPane();
  renderConversation();
  renderCustomerPanel();
}

function renderTopbar() {
  var bar = $('#topbar');
  if (!bar) return;
  clear(bar);
  var presence = h('select', { id: 'presence', 'data-testid': 'presence-select', 'aria-label': t('presence.label'),
    class: 'presence presence-' + (S.me.presence || 'offline'),
    onchange: function () {
      var value = presence.value;
      api('PUT', '/agents/me/presence', { status: value }).then(function (agent) {
        S.me.presence = (agent && agent.presence) || value;
        presence.className = 'presence presence-' + S.me.presence;
      }, function (err) {
        presence.value = S.me.presence || 'offline';
        toast(t('error.generic', { msg: errMsg(err) }), 'error');
      });
    } },
    PRESENCES.map(function (p) { return h('option', { value: p, selected: (S.me.presence || 'offline') === p }, t('presence.' + p)); }));

  var views = null;
  if (isSupervisor()) {
    views = h('div', { class: 'views', role: 'group', 'aria-label': t('views.label') },
      ['inbox', 'supervisor'].concat(extraViews()).map(function (v) {
        return h('button', { type: 'button', class: 'btn tabbtn' + (S.view === v ? ' active' : ''), 'aria-pressed': S.view === v ? 'true' : 'false',
          'data-testid': 'view-' + v, onclick: function () { S.view = v; renderTopbar(); renderMain(); saveRoute(); } }, t('view.' + v));
      }));
  }

  var live = h('span', { class: 'live ' + (S.live ? 'on' : 'off'), id: 'live', 'data-testid': 'live-indicator', role: 'status', 'aria-label': t('live.label') },
    S.live ? t('live.on') : t('live.off'));

  bar.className = 'topbar' + (views ? ' with-views' : '');
  append(bar, [
    h('div', { class: 'brand', title: t('app.title') }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '◎'),
      h('span', { class: 'brand-name' }, t('app.title'))),
    views,
    searchBox(),
    convSearchBox(),
    h('div', { class: 'spacer' }),
    live,
    notifyToggles(),
    presence,
    langButton(),
    h('span', { class: 'me', dir: 'auto', 'data-testid': 'me-name' }, S.me.name),
    h('button', { type: 'button', class: 'btn', 'data-testid': 'logout', onclick: logout }, t('logout'))
  ]);
  fitViews();
}

// The top bar on one row, at every width: search boxes at their least, then the views, then
// the search boxes' whole placeholders where they have room.
function fitViews() {
  var boxes = Array.prototype.slice.call(document.querySelectorAll('#topbar .search input'));
  boxes.forEach(function (input) { fitSearchBox(input, input.getAttribute('data-short')); });
  moveViews();
  boxes.forEach(function (input) {
    var long = input.getAttribute('data-long');
    if (textWidth(input, long) <= input.clientWidth - edges(input, false)) input.placeholder = long;
  });
}

// On a narrow screen the views that do not fit go, last first, into a "More" menu after the
// bar (the current view stays on the bar); a wider window takes them back.
function moveViews() {
  var views = $('#topbar .views');
  if (!views) return;
  var more = $('#views-more');
  if (more) {
    more.querySelectorAll('.tabbtn').forEach(function (b) { views.appendChild(b); });
    more.remove();
  }
  if (views.scrollWidth <= views.clientWidth) return;
  var list = h('div', { class: 'views-more-list', role: 'group', 'aria-label': t('views.more') });
  more = h('details', { id: 'views-more', class: 'views-more' },
    h('summary', { class: 'btn', 'data-testid': 'views-more' }, t('views.more')), list);
  views.parentNode.insertBefore(more, views.nextSibling);
  var buttons = Array.prototype.slice.call(views.querySelectorAll('.tabbtn'));
  for (var i = buttons.length - 1; i > 0 && views.scrollWidth > views.clientWidth; i--) {
    if (!buttons[i].classList.contains('active')) list.insertBefore(buttons[i], list.firstChild);
  }
}

// A search box is never narrower than its placeholder ("Search custo…" said nothing): it
// shows its short one ("Customers…") and is at least that wide (`--fit`); the views give way
// first, and a box with room for its whole placeholder ("Search customers…") shows that.
var measuring = null;
function textWidth(input, text) {
  measuring = measuring || document.createElement('canvas').getContext('2d');
  measuring.font = getComputedStyle(input).font;
  return Math.ceil(measuring.measureText(text || '').width) + 2;
}

function edges(input, borders) {
  var cs = getComputedStyle(input);
  var keys = ['paddingLeft', 'paddingRight'].concat(borders ? ['borderLeftWidth', 'borderRightWidth'] : []);
  return keys.reduce(function (sum, k) { return sum + (parseFloat(cs[k]) || 0); }, 0);
}

function fitSearchBox(input, placeholder) {
  input.placeholder = placeholder;
  input.parentNode.style.setProperty('--fit', textWidth(input, placeholder) + edges(input, true) + 'px');
}

var fitViewsTimer = null;
window.addEventListener('resize', function () {
  clearTimeout(fitViewsTimer);
  fitViewsTimer = setTimeout(fitViews, 100);
});

function setLive(on) {
  S.live = on;
  var el = $('#live');
  if (el) {
    el.className = 'live ' + (on ? 'on' : 'off');
    el.textContent = on ? t('live.on') : t('live.off');
  }
}

function logout() {
  stopViewing();
  api('POST', '/auth/logout').then(null, function () { /* already gone */ }).then(function () {
    stopLive();
    stopSupervisorRefresh();
    S.me = null;
    S.current = null;
    S.currentId = null;
    renderLogin();
  });
}

// ---- customer search (top bar) -------------------------------------------

function searchBox() {
  var results = h('ul', { class: 'search-results', id: 'search-results', role: 'listbox', hidden: true, 'data-testid': 'search-results' });
  var input = h('input', { type: 'search', id: 'search', dir: 'auto', placeholder: t('search.placeholder'), 'data-long': t('search.placeholder'), 'data-short': t('search.short'), 'aria-label': t('search.label'),
    'aria-controls': 'search-results', 'data-testid': 'customer-search', autocomplete: 'off' });
  var run = debounce(function () {
    var q = input.value.trim();
    if (!q) { results.hidden = true; return; }
    api('GET', '/customers' + qs({ q: q, limit: 10 })).then(function (page) {
      clear(results);
      var items = (page && page.items) || [];
      if (!items.length) results.appendChild(h('li', { class: 'muted' }, t('search.none')));
      // A search result is not the whole profile (no orders, segment or value): the panel
      // reads the customer itself.
      items.forEach(function (c) {
        var pick = function () {
          results.hidden = true;
          input.value = '';
          S.filterCustomer = { id: c.id, name: customerLabel(c) };
          S.panelCustomerId = c.id;
          renderListPane();
          loadList();
          renderCustomerPanel();
        };
        results.appendChild(h('li', { role: 'option', tabindex: '0', 'data-testid': 'search-result', 'data-id': c.id,
          onclick: pick, onkeydown: function (e) { if (e.key === 'Enter') pick(); } },
          h('span', { dir: 'auto', class: 'name' }, customerLabel(c)),
          c.tier === 'vip' ? h('span', { class: 'badge vip' }, t('customer.vip')) : null,
          h('span', { class: 'muted', dir: 'ltr' }, firstIdentity(c))));
      });
      results.hidden = false;
    }, function (err) { toast(t('error.generic', { msg: errMsg(err) }), 'error'); });
  }, 250);
  input.addEventListener('input', run);
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { results.hidden = true; input.blur(); }
    if (e.key === 'ArrowDown' && !results.hidden) { var f = results.querySelector('[role=option]'); if (f) { e.preventDefault(); f.focus(); } }
  });
  return h('div', { class: 'search' }, input, results);
}

function customerLabel(c) {
  if (!c) return t('customer.anon');
  return c.name || firstIdentity(c) || t('customer.anon');
}

// The first identity a person can read: a chat visitor's id is a UUID, shown as "Web visitor".
function firstIdentity(c) {
  var ids = (c && c.identities) || [];
  for (var i = 0; i < ids.length; i++) {
    if (ids[i].kind !== 'visitor') return ids[i].raw || ids[i].value;
  }
  return ids.length ? t('customer.visitor') : '';
}

// Customers are fetched once and cached; callers get a promise.
// A customer, cached; `fresh` reads them again even while an older read is under way (whose
// answer then neither fills the cache nor ends the newer read: it may predate a change).
function getCustomer(id, fresh) {
  if (!id) return Promise.resolve(null);
  if (!fresh && S.customers[id]) return Promise.resolve(S.customers[id]);
  if (fresh || !S.customerReqs[id]) {
    var req = api('GET', '/customers/' + encodeURIComponent(id)).then(function (c) {
      if (S.customerReqs[id] !== req) return c;
      S.customers[id] = c;
      delete S.customerReqs[id];
      document.querySelectorAll('[data-customer-name="' + CSS.escape(id) + '"]').forEach(function (el) {
        el.textContent = customerLabel(c);
        el.dir = 'auto';
      });
      fillSegmentSlots(c);
      return c;
    }, function (err) {
      if (S.customerReqs[id] === req) delete S.customerReqs[id];
      throw err;
    });
    S.customerReqs[id] = req;
  }
  return S.customerReqs[id];
}

// Clicking anywhere outside the search box closes its results.
document.addEventListener('click', function (e) {
  var results = $('#search-results');
  if (results && !results.hidden && !(e.target.closest && e.target.closest('.search'))) results.hidden = true;
});

// ---- keyboard -----------------------------------------------------------

// Shortcuts use e.code (physical key) so they work with a Persian keyboard
// layout active too, where the J key types "ت".
var SHORTCUT_KEYS = { KeyJ: 'j', KeyK: 'k', KeyR: 'r', KeyN: 'n', Slash: '/' };

document.addEventListener('keydown', function (e) {
  if (!S.me || S.view !== 'inbox') return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (isTyping(e)) return;
  var key = SHORTCUT_KEYS[e.code] || e.key;
  if (key === 'j' || key === 'k') {
    e.preventDefault();
    moveSelection(key === 'j' ? 1 : -1);
  } else if (key === 'Enter') {
    var row = document.activeElement;
    if (row && row.classList && row.classList.contains('row')) {
      e.preventDefault();
      openConversation(row.getAttribute('data-id'));
    }
  } else if (key === 'r' || key === 'n') {
    if (!S.current) return;
    e.preventDefault();
    setComposeMode(key === 'n');
    var ta = $('#composer-text');
    if (ta) ta.focus();
  } else if (key === '/') {
    e.preventDefault();
    var s = $('#search');
    if (s) s.focus();
  }
});

document.addEventListener('DOMContentLoaded', boot);
