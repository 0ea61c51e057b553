// inbox.js: conversation list and conversation view with its controls; the composer and
// the customer panel are in panel.js.

// ---- conversation list --------------------------------------------------

function listParams(cursor) {
  var p = { limit: 50, cursor: cursor || null, channel: S.filterChannel, status: S.filterStatus };
  if (S.tab === 'mine') p.assignee = 'me';
  else if (S.tab === 'unassigned') {
    // Work to pick up: resolved call logs and closed mail are nobody's, but not waiting.
    p.assignee = 'none';
    if (!S.filterStatus) p.status = 'open';
  }
  else if (S.tab === 'open') p.status = 'open';
  if (S.filterCustomer) p.customer = S.filterCustomer.id;
  return p;
}

var listSeq = 0;
function loadList(more) {
  var mySeq = ++listSeq;
  var selectedId = S.selectedIdx >= 0 && S.list[S.selectedIdx] ? S.list[S.selectedIdx].id : null;
  S.listLoading = true;
  S.listError = null;
  if (!more) renderListRows();
  return api('GET', '/conversations' + qs(listParams(more ? S.listCursor : null))).then(function (page) {
    if (mySeq !== listSeq) return;
    var items = (page && page.items) || [];
    S.list = more ? S.list.concat(items) : items;
    S.listCursor = (page && page.next_cursor) || null;
    S.listLoading = false;
    if (!more) {
      var keepId = selectedId || S.currentId;
      S.selectedIdx = -1;
      for (var i = 0; i < S.list.length; i++) if (S.list[i].id === keepId) S.selectedIdx = i;
    }
    renderListRows();
  }, function (err) {
    if (mySeq !== listSeq) return;
    S.listLoading = false;
    S.listError = errMsg(err);
    renderListRows();
  });
}

// Quiet refresh used by live events and polling: keeps focus and selection.
var refreshList = debounce(function () { if (S.me && S.view === 'inbox') loadList(); }, 400);

function renderListPane() {
  var pane = $('#listpane');
  if (!pane) return;
  clear(pane);
  var tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('tabs.label') },
    ['mine', 'unassigned', 'open'].map(function (tab) {
      return h('button', { type: 'button', role: 'tab', class: 'tab' + (S.tab === tab ? ' active' : ''), 'aria-selected': S.tab === tab ? 'true' : 'false',
        'aria-controls': 'convlist', 'data-testid': 'tab-' + tab, onclick: function () { S.tab = tab; renderListPane(); loadList(); saveRoute(); } }, t('tab.' + tab));
    }));
  var channel = h('select', { 'aria-label': t('filter.channel'), 'data-testid': 'filter-channel',
    onchange: function () { S.filterChannel = channel.value; loadList(); } },
    h('option', { value: '' }, t('filter.channel') + ': ' + t('filter.any')),
    CHANNELS.map(function (c) { return h('option', { value: c, selected: S.filterChannel === c }, t('channel.' + c)); }));
  var status = h('select', { 'aria-label': t('filter.status'), 'data-testid': 'filter-status', disabled: S.tab === 'open',
    onchange: function () { S.filterStatus = status.value; loadList(); } },
    h('option', { value: '' }, t('filter.status') + ': ' + t('filter.any')),
    STATUSES.map(function (s) { return h('option', { value: s, selected: S.filterStatus === s }, t('status.' + s)); }));
  var chip = null;
  if (S.filterCustomer) {
    chip = h('div', { class: 'chip filter-chip', 'data-testid': 'filter-customer' },
      h('span', { dir: 'auto' }, t('filter.customer', { name: S.filterCustomer.name })),
      h('button', { type: 'button', class: 'chip-x', 'aria-label': t('filter.clear'),
        onclick: function () { S.filterCustomer = null; renderListPane(); loadList(); } }, '×'));
  }
  append(pane, [tabs, h('div', { class: 'filters' }, channel, status), chip,
    h('ul', { id: 'convlist', class: 'convlist', role: 'listbox', 'aria-label': t('list.label'), 'data-testid': 'conversation-list',
      onscroll: function (e) {
        var el = e.currentTarget;
        if (S.listCursor && !S.listLoading && el.scrollTop + el.clientHeight > el.scrollHeight - 60) loadList(true);
      } }),
    h('p', { class: 'hint muted', 'data-testid': 'shortcuts' }, t('shortcuts'))]);
  renderListRows();
}

function renderListRows() {
  var ul = $('#convlist');
  if (!ul) return;
  var hadFocus = ul.contains(document.activeElement);
  clear(ul);
  if (S.listError) ul.appendChild(h('li', { class: 'empty error', role: 'alert' }, t('list.error', { msg: S.listError })));
  else if (!S.list.length && !S.listLoading) ul.appendChild(h('li', { class: 'empty muted' }, t('list.empty')));
  S.list.forEach(function (c, i) { ul.appendChild(listRow(c, i)); });
  if (S.listLoading) ul.appendChild(h('li', { class: 'empty muted' }, t('list.loading')));
  else if (S.listCursor) ul.appendChild(h('li', { class: 'more' }, h('button', { type: 'button', class: 'btn', onclick: function () { loadList(true); } }, t('list.more'))));
  if (hadFocus && S.selectedIdx >= 0) focusRow(S.selectedIdx);
  updateTitle();
}

function listRow(c, i) {
  var cust = S.customers[c.customer_id];
  var name = h('span', { class: 'name', dir: 'auto', 'data-customer-name': c.customer_id }, cust ? customerLabel(cust) : '…');
  if (!cust) getCustomer(c.customer_id).then(null, function () { name.textContent = t('customer.anon'); });
  var unread = isUnread(c) && c.id !== S.currentId;
  var selected = i === S.selectedIdx;
  var li = h('li', {
    class: 'row' + (c.id === S.currentId ? ' current' : '') + (unread ? ' unread' : '') + (selected ? ' selected' : ''),
    role: 'option', tabindex: selected || (S.selectedIdx < 0 && i === 0) ? '0' : '-1',
    'aria-selected': c.id === S.currentId ? 'true' : 'false',
    'data-testid': 'conversation-row', 'data-id': c.id,
    onclick: function () { S.selectedIdx = i; openConversation(c.id); },
    onfocus: function () { S.selectedIdx = i; markSelected(); }
  },
    h('span', { class: 'chan' }, channelIcon(c.channel)),
    h('span', { class: 'rowmain' },
      h('span', { class: 'line1' }, name, segmentSlot(c.customer_id, 'row-segment'), h('time', { class: 'time', datetime: c.last_message_at || c.updated_at }, fmtShortTime(c.last_message_at || c.updated_at))),
      h('span', { class: 'line2' },
        subjectLine(c.subject, convNumber(c), 'subject'),
        h('span', { class: 'status-pill status-' + c.status }, t('status.' + c.status, null, c.status)),
        unread ? h('span', { class: 'dot', 'data-testid': 'unread-dot', role: 'img', 'aria-label': t('list.unread') }) : null)));
  return li;
}

function markSelected() {
  var rows = document.querySelectorAll('#convlist .row');
  rows.forEach(function (r, i) {
    r.classList.toggle('selected', i === S.selectedIdx);
    r.tabIndex = i === S.selectedIdx ? 0 : -1;
  });
}

function focusRow(i) {
  var rows = document.querySelectorAll('#convlist .row');
  if (!rows.length) return;
  i = Math.max(0, Math.min(rows.length - 1, i));
  S.selectedIdx = i;
  markSelected();
  rows[i].focus();
  rows[i].scrollIntoView({ block: 'nearest' });
}

function moveSelection(delta) {
  var i = S.selectedIdx < 0 ? (delta > 0 ? 0 : S.list.length - 1) : S.selectedIdx + delta;
  focusRow(i);
}

function updateListItem(conv) {
  for (var i = 0; i < S.list.length; i++) {
    if (S.list[i].id === conv.id) {
      S.list[i] = Object.assign({}, S.list[i], conv);
      renderListRows();
      return true;
    }
  }
  return false;
}

// ---- conversation view --------------------------------------------------

var convSeq = 0;
function openConversation(id) {
  if (!id) return;
  if (S.currentId && S.currentId !== id) saveDraft();
  var mySeq = ++convSeq;
  reloadSeq++; // a reload asked before this opening is older than its answer
  var same = S.currentId === id;
  S.currentId = id;
  saveRoute();
  startViewing(id);
  if (!same) { S.current = null; S.currentError = null; renderConversation(); }
  renderListRows();
  return api('GET', '/conversations/' + encodeURIComponent(id)).then(function (conv) {
    if (mySeq !== convSeq) return;
    S.current = conv;
    S.currentError = null;
    markSeen(conv);
    updateListItem(stripDetail(conv));
    if (same) refreshConversationView(); else renderConversation();
    if (S.panelCustomerId !== conv.customer_id) {
      S.panelCustomerId = conv.customer_id;
      renderCustomerPanel();
    } else {
      renderTimeline();
    }
  }, function (err) {
    if (mySeq !== convSeq) return;
    S.currentError = errMsg(err);
    renderConversation();
  });
}

function stripDetail(conv) {
  var c = Object.assign({}, conv);
  delete c.messages;
  delete c.history;
  return c;
}

// Re-fetch without rebuilding the composer (polling, live events). Only the newest answer is
// shown, and messages that came live after it was read are kept: an older answer arriving late
// (a busy server answers in any order) took a message just shown off the screen again.
var reloadSeq = 0;
function reloadCurrent() {
  if (!S.currentId) return;
  var id = S.currentId;
  var mine = ++reloadSeq;
  api('GET', '/conversations/' + encodeURIComponent(id)).then(function (conv) {
    if (S.currentId !== id || mine !== reloadSeq) return;
    keepLaterMessages(conv, S.current);
    S.current = conv;
    markSeen(conv);
    updateListItem(stripDetail(conv));
    refreshConversationView();
  }, function () { /* keep what we have */ });
}

function keepLaterMessages(conv, shown) {
  if (!shown || shown.id !== conv.id || !conv.messages) return;
  var last = conv.messages.reduce(function (n, m) { return Math.max(n, m.seq); }, 0);
  (shown.messages || []).forEach(function (m) { if (m.seq > last) conv.messages.push(m); });
}

function saveDraft() {
  var ta = $('#composer-text');
  if (ta && S.currentId) S.drafts[S.currentId] = ta.value;
}

function renderConversation() {
  var pane = $('#convpane');
  if (!pane) return;
  clear(pane);
  if (!S.currentId) {
    pane.appendChild(h('div', { class: 'placeholder muted' }, t('conv.none')));
    return;
  }
  if (S.currentError) {
    pane.appendChild(h('div', { class: 'placeholder error', role: 'alert' }, t('conv.error', { msg: S.currentError })));
    return;
  }
  if (!S.current) {
    pane.appendChild(h('div', { class: 'placeholder muted' }, t('conv.loading')));
    return;
  }
  append(pane, [
    h('div', { id: 'convhead', class: 'convhead' }),
    h('div', { id: 'messages', class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': t('conv.messages'), 'data-testid': 'messages', tabindex: '0' }),
    composer()
  ]);
  renderConvHead();
  renderMessages();
}

function refreshConversationView() {
  if (!$('#messages')) { renderConversation(); return; }
  // Rebuild the header only when something in it changed, so polling does
  // not close an open dropdown or eat a half-typed tag.
  var head = $('#convhead');
  if (!head || head.getAttribute('data-sig') !== headSignature(S.current)) renderConvHead();
  renderMessages();
}

function headSignature(c) {
  return JSON.stringify([c.status, c.priority, c.tags, c.assignee_id, c.queue_id, c.subject, LANG, S.agents.length]);
}

function patchConversation(body) {
  var id = S.currentId;
  return api('PATCH', '/conversations/' + encodeURIComponent(id), body).then(function (conv) {
    if (S.currentId !== id) return;
    Object.assign(S.current, stripDetail(conv));
    updateListItem(stripDetail(conv));
    reloadCurrent();
    refreshTimeline(S.current.customer_id);
  }, function (err) {
    toast(t('error.generic', { msg: errMsg(err) }), 'error');
    renderConvHead();
  });
}

function renderConvHead() {
  var head = $('#convhead');
  var c = S.current;
  if (!head || !c) return;
  var typing = head.querySelector('.tag-input');
  var typed = typing ? typing.value : '';
  var hadFocus = typing && document.activeElement === typing;
  clear(head);
  head.setAttribute('data-sig', headSignature(c));
  var cust = S.customers[c.customer_id];

  var status = h('select', { 'data-testid': 'status-select', 'aria-label': t('filter.status'),
    onchange: function () { patchConversation({ status: status.value }); } },
    STATUSES.map(function (s) { return h('option', { value: s, selected: c.status === s }, t('status.' + s)); }));

  var prios = [0, 1, 2, 3];
  if (prios.indexOf(c.priority) < 0) prios.push(c.priority);
  var priority = h('select', { 'data-testid': 'priority-select', 'aria-label': t('priority.label'),
    onchange: function () { patchConversation({ priority: parseInt(priority.value, 10) }); } },
    prios.map(function (p) { return h('option', { value: String(p), selected: c.priority === p }, t('priority.' + p, null, fmtNum(p))); }));

  var tagInput = h('input', { type: 'text', class: 'tag-input', dir: 'auto', placeholder: t('tags.add'), 'aria-label': t('tags.add'), 'data-testid': 'tag-input',
    onkeydown: function (e) {
      if (e.key !== 'Enter') return;
      e.preventDefault();
      var v = tagInput.value.trim();
      tagInput.value = '';
      if (!v || c.tags.indexOf(v) >= 0) return;
      patchConversation({ tags: c.tags.concat([v]) });
    } });
  var tags = h('div', { class: 'tags', 'aria-label': t('tags.label'), role: 'group', 'data-testid': 'tags' },
    c.tags.map(function (tag) {
      return h('span', { class: 'chip', 'data-testid': 'tag' }, h('span', { dir: 'auto' }, tag),
        h('button', { type: 'button', class: 'chip-x', 'aria-label': t('tags.remove', { tag: tag }),
          onclick: function () { patchConversation({ tags: c.tags.filter(function (x) { return x !== tag; }) }); } }, '×'));
    }), tagInput);

  var assign = h('select', { 'data-testid': 'assign-select', 'aria-label': t('assign.label') },
    h('option', { value: '' }, t('assign.choose')),
    h('optgroup', { label: t('assign.agents') }, S.agents.filter(function (a) { return a.active !== false; }).map(function (a) {
      return h('option', { value: 'agent:' + a.id }, a.name + ' (' + t('presence.' + a.presence, null, a.presence) + ')');
    })),
    S.queues.length ? h('optgroup', { label: t('assign.queues') }, S.queues.map(function (q) { return h('option', { value: 'queue:' + q.id }, q.name); })) : null);
  var assignBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'assign-submit',
    onclick: function () {
      var v = assign.value;
      if (!v) { assign.focus(); return; }
      var body = v.indexOf('agent:') === 0 ? { agent_id: v.slice(6) } : { queue_id: v.slice(6) };
      doAssign(body);
    } }, t('assign.submit'));
  var take = c.assignee_id === S.me.id ? null : h('button', { type: 'button', class: 'btn primary', 'data-testid': 'assign-me',
    onclick: function () {
      if (c.assignee_id) confirmTake(c); else doAssign({ agent_id: S.me.id });
    } }, t('assign.take'));

  var who = c.assignee_id ? t('assign.assignee', { name: agentName(c.assignee_id) }) : t('assign.unassigned');
  if (c.queue_id) who += ' · ' + t('assign.queue', { name: queueName(c.queue_id) });

  if (typed) tagInput.value = typed;
  append(head, [
    h('div', { class: 'title-row' },
      channelIcon(c.channel),
      h('h2', { class: 'subject', dir: 'auto', 'data-testid': 'conversation-subject' }, localSubject(c.subject) || ''),
      h('span', { class: 'num muted' }, convNumber(c)),
      h('span', { class: 'muted custname', dir: 'auto', 'data-customer-name': c.customer_id }, cust ? customerLabel(cust) : '')),
    h('div', { class: 'controls' },
      h('label', { class: 'ctl' }, h('span', null, t('filter.status')), status),
      h('label', { class: 'ctl' }, h('span', null, t('priority.label')), priority),
      h('span', { class: 'ctl assignee muted', dir: 'auto', 'data-testid': 'assignee' }, who),
      h('span', { class: 'ctl' }, assign, assignBtn, take)),
    tags,
    h('p', { id: 'collision', class: 'collision', 'data-testid': 'collision', role: 'status', hidden: true })
  ]);
  renderCollision();
  if (hadFocus) tagInput.focus();
}

// Taking a colleague's conversation asks first; they are told live by the server's event.
function confirmTake(c) {
  var old = $('#take-confirm');
  if (old) old.remove();
  var box = h('div', { id: 'take-confirm', class: 'confirm', role: 'alertdialog', 'aria-modal': 'false', 'aria-labelledby': 'take-confirm-text', 'data-testid': 'take-confirm' },
    h('p', { id: 'take-confirm-text', dir: 'auto' }, t('assign.takeConfirm', { name: agentName(c.assignee_id), num: convNumber(c) })),
    h('div', { class: 'confirm-buttons' },
      h('button', { type: 'button', class: 'btn primary', 'data-testid': 'take-confirm-yes',
        onclick: function () { box.remove(); doAssign({ agent_id: S.me.id }); } }, t('assign.takeYes')),
      h('button', { type: 'button', class: 'btn', 'data-testid': 'take-confirm-no',
        onclick: function () { box.remove(); } }, t('assign.takeNo'))));
  var head = $('#convhead');
  if (head) head.appendChild(box);
  box.querySelector('button').focus();
}

function doAssign(body) {
  var id = S.currentId;
  api('POST', '/conversations/' + encodeURIComponent(id) + '/assign', body).then(function (conv) {
    if (conv && S.currentId === id) Object.assign(S.current, stripDetail(conv));
    reloadCurrent();
    refreshList();
  }, function (err) {
    // Supervisors may exceed an agent's capacity on purpose.
    if (err.status === 409 && body.agent_id && !body.override_capacity && isSupervisor()) {
      var box = toast(h('div', null,
        h('div', { dir: 'auto' }, errMsg(err)),
        h('button', { type: 'button', class: 'btn primary small', 'data-testid': 'assign-override',
          onclick: function () { box.remove(); doAssign(Object.assign({}, body, { override_capacity: true })); } }, t('assign.override'))),
        'error', { ttl: 15000 });
      return;
    }
    toast(t('error.generic', { msg: errMsg(err) }), 'error');
  });
}

// Messages and history merged by time; history shown as small centred lines.
// Rendering is incremental: when the new entry list extends what is shown,
// only the new entries are appended, so e-mail iframes are not reloaded and
// the reader's scroll position holds.
function entryKey(e) { return e.m ? 'm' + e.m.seq : 'h' + e.hi.id; }

function renderMessages() {
  var box = $('#messages');
  var c = S.current;
  if (!box || !c) return;
  var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40 || !box.childNodes.length;
  var entries = [];
  (c.messages || []).forEach(function (m) { entries.push({ at: m.created_at, m: m }); });
  (c.history || []).forEach(function (hi) {
    if (hi.kind === 'message_added' || hi.kind === 'note_added') return;
    entries.push({ at: hi.at, hi: hi });
  });
  // The conversation's creation comes first even when its first message is older (a call
  // logged after it happened, mail imported late); the rest by time.
  var created = function (e) { return e.hi && e.hi.kind === 'created' ? 0 : 1; };
  entries.sort(function (a, b) {
    var d = created(a) - created(b) || (parseTime(a.at) || 0) - (parseTime(b.at) || 0);
    if (d) return d;
    if (a.m && b.m) return a.m.seq - b.m.seq;
    return a.m ? -1 : b.m ? 1 : 0;
  });
  var shown = [];
  for (var i = 0; i < box.children.length; i++) shown.push(box.children[i].getAttribute('data-key'));
  var isPrefix = shown.length <= entries.length && shown.every(function (k, j) { return k === entryKey(entries[j]); });
  if (!isPrefix) { clear(box); shown = []; }
  for (var k = shown.length; k < entries.length; k++) {
    var e = entries[k];
    var el = e.m ? messageBubble(e.m) : historyLine(e.hi);
    el.setAttribute('data-key', entryKey(e));
    box.appendChild(el);
  }
  syncDeliveries(box, c.messages || []);
  syncSeen();
  markChatRead();
  if (atBottom) box.scrollTop = box.scrollHeight;
}

// Outgoing email shows how its delivery goes (pending, sent, failed with the reason and the
// number of attempts); bubbles already shown get the chip updated in place.
function deliveryChip(d) {
  var text = t('delivery.' + d.status, { n: fmtNum(d.attempts || 0), error: d.error || '' }, d.status);
  return h('span', { class: 'delivery delivery-' + d.status, 'data-testid': 'delivery', 'data-status': d.status,
    title: d.error || '', role: d.status === 'failed' ? 'alert' : null }, text);
}

function syncDeliveries(box, messages) {
  messages.forEach(function (m) {
    var d = m.meta && m.meta.delivery;
    if (!d) return;
    var el = box.querySelector('[data-testid="message"][data-seq="' + m.seq + '"]');
    if (!el) return;
    var sig = JSON.stringify(d);
    var old = el.querySelector('[data-testid="delivery"]');
    if (old && old.getAttribute('data-sig') === sig) return;
    var chip = deliveryChip(d);
    chip.setAttribute('data-sig', sig);
    if (old) old.replaceWith(chip); else el.querySelector('.meta').appendChild(chip);
  });
}

function updateDelivery(ev) {
  var d = ev.data || {};
  if (!S.current || ev.conversation_id !== S.current.id || !d.delivery) return;
  (S.current.messages || []).forEach(function (m) {
    if (m.id === d.message_id) m.meta = Object.assign({}, m.meta || {}, { delivery: d.delivery });
  });
  renderMessages();
}

function addMessage(m) {
  var c = S.current;
  if (!c || m.conversation_id !== c.id) return;
  c.messages = c.messages || [];
  for (var i = 0; i < c.messages.length; i++) if (c.messages[i].seq === m.seq) return;
  c.messages.push(m);
  c.messages.sort(function (a, b) { return a.seq - b.seq; });
  c.last_message_at = m.created_at;
  markSeen(c);
  renderMessages();
}

function historyLine(hi) {
  var d = hi.data || {};
  var text;
  if (hi.kind === 'status_changed') text = t('history.status_changed', { from: t('status.' + d.from, null, d.from), to: t('status.' + d.to, null, d.to) });
  else if (hi.kind === 'priority_changed') text = t('history.priority_changed', { from: t('priority.' + d.from, null, String(d.from)), to: t('priority.' + d.to, null, String(d.to)) });
  else if (hi.kind === 'assigned') {
    text = t('history.assigned');
    if (d.agent_id || d.to) text += ': ' + agentName(d.agent_id || d.to);
    else if (d.queue_id) text += ': ' + queueName(d.queue_id);
  } else if (hi.kind === 'rated') {
    return ratingLine(hi);
  } else {
    var who = agentName(d.agent_id || d.from || d.to);
    text = t('history.' + hi.kind, { agent: who }, t('history.unknown'));
  }
  var actor = hi.actor_kind === 'agent' && hi.actor_id ? agentName(hi.actor_id) : '';
  return h('div', { class: 'history', 'data-testid': 'history-entry', 'data-kind': hi.kind },
    h('bdi', null, text),
    actor ? [h('span', { 'aria-hidden': 'true' }, '·'), h('bdi', null, actor)] : null,
    h('span', { 'aria-hidden': 'true' }, '·'),
    h('time', { datetime: hi.at }, fmtThreadTime(hi.at)));
}

// A customer's satisfaction rating: stars (score of 5) and their comment.
function ratingLine(hi) {
  var d = hi.data || {};
  var score = Math.max(0, Math.min(5, parseInt(d.score, 10) || 0));
  return h('div', { class: 'history rating', 'data-testid': 'history-entry', 'data-kind': 'rated' },
    h('span', { class: 'stars', role: 'img', 'aria-label': t('rating.label', { n: fmtNum(score) }), 'data-testid': 'rating-stars', 'data-score': String(score) },
      '★★★★★'.slice(0, score) + '☆☆☆☆☆'.slice(0, 5 - score)),
    d.comment ? h('q', { dir: 'auto', 'data-testid': 'rating-comment' }, d.comment) : null,
    h('span', { 'aria-hidden': 'true' }, '·'),
    h('time', { datetime: hi.at }, fmtThreadTime(hi.at)));
}

function messageBubble(m) {
  var kind = m.author_kind === 'customer' ? 'customer' : m.author_kind === 'system' ? 'system' : 'agent';
  var author;
  var custId = kind === 'customer' && S.current ? S.current.customer_id : null;
  if (kind === 'customer') {
    // Never "Unknown customer" while the profile is loading: a placeholder, filled on arrival.
    author = S.customers[custId] ? customerLabel(S.customers[custId]) : '…';
    if (!S.customers[custId] && custId) getCustomer(custId).then(null, function () { /* stays … */ });
  }
  else if (kind === 'system') author = t('msg.system');
  else author = agentName(m.author_id) || t('msg.agent');
  var html = m.meta && typeof m.meta.html_sanitized === 'string' ? m.meta.html_sanitized : null;
  var body;
  if (html) {
    body = h('div', { class: 'body html' }, emailFrame(html, m), m.body ? h('details', { class: 'plain' }, h('summary', null, t('msg.plain')), h('div', { class: 'text', dir: 'auto' }, linkedText(m.body))) : null);
  } else if (!attachmentOnly(m)) {
    var line = callLine(m);
    var text = line || m.body;
    body = h('div', { class: 'body text', dir: textDir(text) === 'auto' ? 'auto' : textDir(text) }, line || linkedText(m.body));
  }
  return h('article', {
    class: 'bubble ' + kind + (m.internal ? ' internal' : ''), 'data-testid': 'message', 'data-seq': String(m.seq),
    'data-internal': m.internal ? 'true' : 'false', 'aria-label': m.internal ? t('msg.internal') : author
  },
    h('header', { class: 'meta' },
      h('span', { class: 'author', dir: 'auto', 'data-customer-name': custId || null, 'data-testid': 'message-author' }, author),
      m.internal ? h('span', { class: 'badge note' }, t('msg.internal')) : null,
      m.channel ? channelIcon(m.channel) : null,
      h('time', { datetime: m.created_at, title: fmtDateTime(m.created_at) }, fmtThreadTime(m.created_at))),
    body, callRecording(m), attachmentsOf(m));
}
