// search.js: full-text search over conversations (top bar) and the canned-response picker
// of the reply composer (issue 21).

// ---- snippets -------------------------------------------------------------

// The server's snippet is HTML-escaped text whose only tags are <mark> and </mark>. It is
// turned into text nodes and <mark> elements here (never innerHTML): anything else stays text.
var SNIPPET_ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': '\'' };

function unescapeSnippet(s) {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, function (m) { return SNIPPET_ENTITIES[m]; });
}

function snippetNodes(snippet) {
  var out = [];
  var parts = String(snippet || '').split(/(<mark>|<\/mark>)/);
  var marked = false;
  parts.forEach(function (p) {
    if (p === '<mark>') { marked = true; return; }
    if (p === '</mark>') { marked = false; return; }
    if (!p) return;
    var text = unescapeSnippet(p);
    out.push(marked ? h('mark', { 'data-testid': 'search-mark' }, text) : document.createTextNode(text));
  });
  return out;
}

// ---- conversation search (top bar) ------------------------------------------

var convSearchSeq = 0;
var CONV_SEARCH_PAGE = 20;

function convSearchBox() {
  var panel = h('div', { class: 'csearch-panel', id: 'csearch-panel', role: 'region', 'aria-label': t('csearch.results'),
    hidden: true, 'data-testid': 'csearch-panel' });
  var input = h('input', { type: 'search', id: 'csearch', dir: 'auto', placeholder: t('csearch.placeholder'), 'data-long': t('csearch.placeholder'), 'data-short': t('csearch.short'), title: t('csearch.hint'), 'aria-label': t('csearch.label'),
    'aria-controls': 'csearch-panel', 'data-testid': 'conversation-search', autocomplete: 'off' });
  function close() { panel.hidden = true; }
  function run() {
    var q = input.value.trim();
    if (!q) { close(); return; }
    var mine = ++convSearchSeq;
    clear(panel).appendChild(h('p', { class: 'muted' }, t('list.loading')));
    panel.hidden = false;
    api('GET', '/search' + qs({ q: q, limit: CONV_SEARCH_PAGE })).then(function (res) {
      if (mine !== convSearchSeq) return;
      renderConvSearch(panel, res || {}, input, q);
    }, function (err) {
      if (mine !== convSearchSeq) return;
      clear(panel).appendChild(h('p', { class: 'error', role: 'alert' }, t('error.generic', { msg: errMsg(err) })));
    });
  }
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter') { e.preventDefault(); run(); }
    if (e.key === 'Escape') { close(); input.blur(); }
    if (e.key === 'ArrowDown' && !panel.hidden) { var f = panel.querySelector('[role=option]'); if (f) { e.preventDefault(); f.focus(); } }
  });
  input.addEventListener('input', function () { if (!input.value.trim()) close(); });
  panel.addEventListener('keydown', function (e) { if (e.key === 'Escape') { close(); input.focus(); } });
  return h('div', { class: 'search csearch' }, input, panel);
}

function renderConvSearch(panel, res, input, q) {
  clear(panel);
  var convs = res.conversations || [];
  var custs = res.customers || [];
  var done = function () { panel.hidden = true; input.value = ''; };
  panel.appendChild(h('h3', null, t('csearch.conversations')));
  var list = h('ul', { class: 'csearch-list', role: 'listbox', 'aria-label': t('csearch.conversations') });
  if (!convs.length) list.appendChild(h('li', { class: 'muted', 'data-testid': 'csearch-none' }, t('csearch.none')));
  function hit(c) {
    var open = function () {
      done();
      if (S.view !== 'inbox') { S.view = 'inbox'; renderTopbar(); renderMain(); }
      openConversation(c.id);
    };
    var cust = S.customers[c.customer_id];
    var name = h('span', { class: 'name', dir: 'auto' }, cust ? customerLabel(cust) : '');
    if (!cust && c.customer_id) getCustomer(c.customer_id).then(function (x) { name.textContent = customerLabel(x); }, function () { name.textContent = t('customer.anon'); });
    list.appendChild(h('li', { role: 'option', tabindex: '0', class: 'csearch-hit', 'data-testid': 'search-hit', 'data-id': c.id,
      onclick: open, onkeydown: function (e) { if (e.key === 'Enter') open(); } },
      h('div', { class: 'csearch-head' },
        channelIcon(c.channel),
        h('span', { class: 'num' }, convNumber(c)),
        subjectLine(c.subject, '', 'subject'),
        name,
        h('span', { class: 'chip status-' + c.status }, t('status.' + c.status))),
      h('p', { class: 'snippet', dir: 'auto', 'data-testid': 'search-snippet' }, snippetNodes(c.snippet))));
  }
  convs.forEach(hit);
  panel.appendChild(list);
  // Later pages of conversations (customers come with the first page only).
  var cursor = res.next_cursor;
  if (cursor) {
    var more = h('button', { type: 'button', class: 'btn small', 'data-testid': 'search-more',
      onclick: function () {
        var mine = convSearchSeq;
        more.disabled = true;
        api('GET', '/search' + qs({ q: q, limit: CONV_SEARCH_PAGE, cursor: cursor })).then(function (page) {
          if (mine !== convSearchSeq) return;
          ((page && page.conversations) || []).forEach(hit);
          cursor = page && page.next_cursor;
          more.disabled = false;
          if (!cursor) more.remove();
        }, function (err) {
          more.disabled = false;
          toast(t('error.generic', { msg: errMsg(err) }), 'error');
        });
      } }, t('csearch.more'));
    panel.appendChild(more);
  }
  if (custs.length) {
    panel.appendChild(h('h3', null, t('csearch.customers')));
    panel.appendChild(h('ul', { class: 'csearch-list', role: 'listbox', 'aria-label': t('csearch.customers') },
      custs.map(function (c) {
        var pick = function () {
          done();
          S.filterCustomer = { id: c.id, name: customerLabel(c) };
          S.panelCustomerId = c.id;
          if (S.view !== 'inbox') { S.view = 'inbox'; renderTopbar(); renderMain(); }
          renderListPane();
          loadList();
          renderCustomerPanel();
        };
        return h('li', { role: 'option', tabindex: '0', class: 'csearch-customer', 'data-testid': 'search-customer', 'data-id': c.id,
          onclick: pick, onkeydown: function (e) { if (e.key === 'Enter') pick(); } },
          h('span', { dir: 'auto', class: 'name' }, customerLabel(c)),
          c.tier === 'vip' ? h('span', { class: 'badge vip' }, t('customer.vip')) : null,
          h('span', { class: 'muted', dir: 'ltr' }, firstIdentity(c)));
      })));
  }
}

// ---- canned responses in the composer ---------------------------------------

// "/word" just before the caret, at the start of the text or after a space.
function slashQuery(ta) {
  var before = ta.value.slice(0, ta.selectionStart);
  var m = /(^|\s)\/([^\s\/]*)$/.exec(before);
  if (!m) return null;
  return { start: before.length - m[2].length - 1, end: ta.selectionStart, q: m[2] };
}

// Returns the picker's list element, placed by the composer next to the textarea.
function cannedPicker(ta) {
  var list = h('ul', { class: 'canned-picker', id: 'canned-picker', role: 'listbox', 'aria-label': t('canned.label'),
    hidden: true, 'data-testid': 'canned-picker' });
  var items = [];
  var active = 0;
  var seq = 0;
  var slash = null;
  var shownQ = null;
  // Enter pressed before the list caught up with the typing: pick when it arrives.
  var pickWhenShown = false;
  function close() { list.hidden = true; items = []; slash = null; shownQ = null; pickWhenShown = false; seq++; ta.removeAttribute('aria-activedescendant'); }
  function mark() {
    Array.prototype.forEach.call(list.querySelectorAll('[role=option]'), function (li, i) {
      li.setAttribute('aria-selected', i === active ? 'true' : 'false');
      li.classList.toggle('active', i === active);
      if (i === active) { ta.setAttribute('aria-activedescendant', li.id); li.scrollIntoView({ block: 'nearest' }); }
    });
  }
  function show(found, q) {
    clear(list);
    items = found;
    shownQ = q;
    active = 0;
    if (!items.length) list.appendChild(h('li', { class: 'muted', 'data-testid': 'canned-none' }, t('canned.none')));
    items.forEach(function (c, i) {
      list.appendChild(h('li', { role: 'option', id: 'canned-opt-' + i, 'data-testid': 'canned-option', 'data-id': c.id,
        onmousedown: function (e) { e.preventDefault(); },
        onclick: function () { choose(i); } },
        c.shortcut ? h('span', { class: 'shortcut', dir: 'ltr' }, '/' + c.shortcut) : null,
        h('span', { class: 'title', dir: 'auto' }, c.title),
        c.shared ? h('span', { class: 'chip' }, t('canned.shared')) : null,
        h('span', { class: 'preview muted', dir: 'auto' }, c.body)));
    });
    list.hidden = false;
    mark();
    if (pickWhenShown) { pickWhenShown = false; if (items.length) choose(0); }
  }
  var lookup = debounce(function () {
    var sq = slashQuery(ta);
    if (!sq) { close(); return; }
    slash = sq;
    var mine = ++seq;
    api('GET', '/canned-responses' + qs({ q: sq.q || null, limit: 8 })).then(function (page) {
      if (mine !== seq) return;
      show((page && page.items) || [], sq.q);
    }, function (err) {
      if (mine !== seq) return;
      toast(t('error.generic', { msg: errMsg(err) }), 'error');
      close();
    });
  }, 150);
  function choose(i) {
    var c = items[i];
    var at = slashQuery(ta) || slash;
    var id = S.currentId;
    close();
    if (!c || !at || !id) return;
    api('POST', '/canned-responses/' + encodeURIComponent(c.id) + '/render', { conversation_id: id }).then(function (r) {
      if (S.currentId !== id) return;
      var body = (r && r.body) || '';
      // The "/shortcut" text may have moved if the agent kept typing: find it again.
      var text = ta.value;
      var token = text.slice(at.start, at.end);
      if (token.charAt(0) !== '/') return;
      ta.value = text.slice(0, at.start) + body + text.slice(at.end);
      var caret = at.start + body.length;
      ta.focus();
      ta.setSelectionRange(caret, caret);
      S.drafts[id] = ta.value;
    }, function (err) { toast(t('error.generic', { msg: errMsg(err) }), 'error'); });
  }
  ta.addEventListener('input', function () {
    if (slashQuery(ta)) lookup(); else close();
  });
  ta.addEventListener('blur', function () { setTimeout(close, 150); });
  ta.addEventListener('keydown', function (e) {
    var sq = slashQuery(ta);
    if (e.key === 'Enter' && !e.ctrlKey && !e.metaKey && sq && sq.q !== shownQ) {
      e.preventDefault(); e.stopImmediatePropagation(); pickWhenShown = true; return;
    }
    if (list.hidden || !items.length) {
      if (!list.hidden && e.key === 'Escape') { e.preventDefault(); e.stopImmediatePropagation(); close(); }
      return;
    }
    if (e.key === 'ArrowDown') { e.preventDefault(); active = (active + 1) % items.length; mark(); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); active = (active + items.length - 1) % items.length; mark(); }
    else if ((e.key === 'Enter' && !e.ctrlKey && !e.metaKey) || e.key === 'Tab') { e.preventDefault(); e.stopImmediatePropagation(); choose(active); }
    else if (e.key === 'Escape') { e.preventDefault(); e.stopImmediatePropagation(); close(); }
  });
  return list;
}
