// The reply composer and the customer panel (profile and cross-channel timeline).
// ---- composer -----------------------------------------------------------

// Phone and fax conversations have nobody to receive a public reply: notes only there.
function noReplyChannel() {
  return !!S.current && (S.current.channel === 'phone' || S.current.channel === 'fax');
}

function setComposeMode(internal) {
  if (!internal && noReplyChannel()) return;
  S.composeInternal = internal;
  var form = $('#composer');
  if (!form) return;
  form.classList.toggle('note-mode', internal);
  $('#mode-reply').setAttribute('aria-pressed', internal ? 'false' : 'true');
  $('#mode-note').setAttribute('aria-pressed', internal ? 'true' : 'false');
  $('#composer-text').placeholder = t(internal ? 'composer.placeholder.note' : 'composer.placeholder.reply');
  $('#composer-send').textContent = t(internal ? 'composer.saveNote' : 'composer.send');
}

function composer() {
  var noReply = noReplyChannel();
  if (noReply && !S.composeInternal) { S.composeInternal = true; S.noteForced = true; }
  if (!noReply && S.noteForced) { S.composeInternal = false; S.noteForced = false; }
  var ta = h('textarea', { id: 'composer-text', dir: 'auto', rows: '3', 'aria-label': t('composer.label'), 'data-testid': 'composer',
    placeholder: t(S.composeInternal ? 'composer.placeholder.note' : 'composer.placeholder.reply') });
  ta.value = S.drafts[S.currentId] || '';
  var error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'composer-error' });
  var send = h('button', { type: 'submit', id: 'composer-send', class: 'btn primary', 'data-testid': 'send' }, t(S.composeInternal ? 'composer.saveNote' : 'composer.send'));
  var form = h('form', { id: 'composer', class: 'composer' + (S.composeInternal ? ' note-mode' : ''), 'aria-label': t('composer.label'),
    onsubmit: function (e) { e.preventDefault(); submit(); } },
    h('div', { class: 'modes', role: 'group', 'aria-label': t('composer.mode') },
      h('button', { type: 'button', id: 'mode-reply', class: 'btn mode', 'aria-pressed': S.composeInternal ? 'false' : 'true', 'data-testid': 'mode-reply', disabled: noReply,
        onclick: function () { setComposeMode(false); ta.focus(); } }, t('composer.reply')),
      h('button', { type: 'button', id: 'mode-note', class: 'btn mode', 'aria-pressed': S.composeInternal ? 'true' : 'false', 'data-testid': 'mode-note',
        onclick: function () { setComposeMode(true); ta.focus(); } }, t('composer.note'))),
    isChat() ? visitorTypingLine() : null,
    noReply ? h('p', { class: 'notice no-reply', 'data-testid': 'no-reply-channel' }, t('composer.noReplyChannel'), ' ', noReplyActions()) : null,
    ta, cannedPicker(ta), mentionPicker(ta), h('div', { class: 'composer-foot' }, error, attachButton(error), send));
  ta.addEventListener('input', agentTyping);
  ta.addEventListener('input', typingViewing);
  ta.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit(); }
    if (e.key === 'Escape') ta.blur();
  });
  function submit() {
    var text = ta.value;
    if (!text.trim() || send.disabled) return;
    var id = S.currentId;
    agentStoppedTyping();
    send.disabled = true;
    error.textContent = '';
    postReply(id, text, S.composeInternal, S.composeInternal ? mentionIds(id, text) : []).then(function (m) {
      send.disabled = false;
      forgetMentions(id);
      if (S.currentId !== id) return;
      ta.value = '';
      delete S.drafts[id];
      if (m && m.seq !== undefined) addMessage(m);
      reloadCurrent();
      if (S.current) refreshTimeline(S.current.customer_id);
      ta.focus();
    }, function (err) {
      send.disabled = false;
      error.textContent = t('composer.failed', { msg: errMsg(err) });
    });
  }
  return form;
}

// ---- customer panel -----------------------------------------------------

function renderCustomerPanel() {
  var pane = $('#custpane');
  if (!pane) return;
  clear(pane);
  var id = S.panelCustomerId;
  if (!id) { pane.appendChild(h('p', { class: 'placeholder muted' }, t('customer.none'))); return; }
  var profile = h('section', { class: 'profile', 'data-testid': 'customer-profile' }, h('p', { class: 'muted' }, t('list.loading')));
  var tl = h('section', { class: 'timeline' },
    h('h3', null, t('customer.timeline')),
    h('ol', { id: 'timeline', class: 'timeline-list', 'data-testid': 'timeline' }),
    h('div', { id: 'timeline-sentinel', class: 'sentinel' }));
  var conv = S.current && S.current.customer_id === id && S.current.channel === 'chat' ? S.current : null;
  append(pane, [profile, conv ? visitorSection(conv) : null, tl]);
  getCustomer(id).then(function (c) {
    if (S.panelCustomerId !== id) return;
    fillProfile(profile, c);
  }, function (err) {
    clear(profile).appendChild(h('p', { class: 'error' }, t('error.generic', { msg: errMsg(err) })));
  });
  if (!S.timeline || S.timeline.customerId !== id) S.timeline = { customerId: id, items: [], cursor: null, loading: false, done: false };
  renderTimeline();
  if (!S.timeline.items.length) loadTimeline();
  if (timelineIO) timelineIO.disconnect();
  if (window.IntersectionObserver) {
    timelineIO = new IntersectionObserver(function (entries) {
      if (entries[0].isIntersecting) loadTimeline();
    }, { root: pane });
    timelineIO.observe($('#timeline-sentinel'));
  }
}

var timelineIO = null;

// Attached once per panel element (renderMain creates it).
function onCustomerPanelScroll(e) {
  var pane = e.currentTarget;
  if (pane.scrollTop + pane.clientHeight > pane.scrollHeight - 80) loadTimeline();
}

function fillProfile(el, c) {
  clear(el);
  var attrs = c.attributes || {};
  var keys = Object.keys(attrs);
  append(el, [
    h('div', { class: 'profile-head' },
      h('h3', { dir: 'auto', 'data-testid': 'customer-name' }, customerLabel(c)),
      c.tier === 'vip' ? h('span', { class: 'badge vip', 'data-testid': 'vip-badge' }, t('customer.vip')) : (c.tier && c.tier !== 'standard' ? h('span', { class: 'badge' }, c.tier) : null),
      segmentSlot(c.id, 'segment-badge'),
      c.merged_into ? null : h('button', { type: 'button', class: 'btn small', 'data-testid': 'customer-edit', onclick: function () { editProfile(el, c); } }, t('customer.edit')),
      c.merged_into ? null : h('button', { type: 'button', class: 'btn small', 'data-testid': 'customer-merge', onclick: function () { mergeTool(el, c); } }, t('merge.button'))),
    c.merged_into ? h('p', { class: 'notice' }, t('customer.merged'), ' ',
      h('button', { type: 'button', class: 'btn small', 'data-testid': 'customer-merged-open',
        onclick: function () { S.panelCustomerId = c.merged_into; renderCustomerPanel(); } }, t('customer.mergedOpen'))) : null,
    h('p', { class: 'muted' }, t('customer.conversations', { n: c.conversation_count || 0 })),
    c.merged_into ? null : ratingsLine(c.id),
    c.merged_into ? null : valueSection(c),
    h('h4', null, t('customer.identities')),
    h('ul', { class: 'identities', 'data-testid': 'identities' }, (c.identities || []).map(function (idn) {
      return h('li', null, channelIcon(idn.kind === 'email' ? 'email' : idn.kind === 'phone' ? 'phone' : 'chat'),
        idn.kind === 'visitor' ? h('span', { title: idn.value }, t('customer.visitor')) : h('bdi', { dir: 'ltr' }, idn.raw || idn.value),
        idn.kind === 'phone' && !c.merged_into ? [' ', dialButton(c.id, idn.value)] : null);
    })),
    keys.length ? h('h4', null, t('customer.attributes')) : null,
    keys.length ? h('dl', { class: 'attrs', 'data-testid': 'attributes' }, keys.map(function (k) {
      var v = attrs[k];
      return [h('dt', null, h('bdi', null, k)), h('dd', null, h('bdi', null, typeof v === 'string' ? v : typeof v === 'number' ? fmtNum(v) : JSON.stringify(v)))];
    })) : null
  ]);
}

function loadTimeline() {
  var tl = S.timeline;
  if (!tl || tl.loading || tl.done) return;
  tl.loading = true;
  var id = tl.customerId;
  api('GET', '/customers/' + encodeURIComponent(id) + '/timeline' + qs({ limit: 20, cursor: tl.cursor })).then(function (page) {
    if (S.timeline !== tl) return;
    tl.items = tl.items.concat((page && page.items) || []);
    tl.cursor = (page && page.next_cursor) || null;
    tl.done = !tl.cursor;
    tl.loading = false;
    renderTimeline();
    // Keep filling while the panel is not yet scrollable.
    var pane = $('#custpane');
    if (!tl.done && pane && pane.scrollHeight <= pane.clientHeight + 80) loadTimeline();
  }, function () {
    tl.loading = false;
    tl.done = true;
    renderTimeline();
  });
}

function renderTimeline() {
  var ol = $('#timeline');
  var tl = S.timeline;
  if (!ol || !tl) return;
  clear(ol);
  tl.items.forEach(function (it) {
    var num = '#' + new Intl.NumberFormat(locale(), { useGrouping: false }).format(it.conversation_number);
    var text = it.kind === 'conversation' ? t('timeline.opened', { num: num }) : (it.body || '');
    ol.appendChild(h('li', { class: 'tl-item tl-' + it.kind + (it.internal ? ' internal' : '') + (it.conversation_id === S.currentId ? ' current' : ''),
      'data-testid': 'timeline-item', tabindex: '0', role: 'link',
      onclick: function () { openConversation(it.conversation_id); },
      onkeydown: function (e) { if (e.key === 'Enter') openConversation(it.conversation_id); } },
      h('div', { class: 'tl-meta' }, channelIcon(it.channel), subjectLine(it.subject, num, 'tl-subject'),
        h('time', { class: 'muted', datetime: it.at }, fmtShortTime(it.at))),
      h('div', { class: 'tl-body', dir: 'auto' }, text)));
  });
  if (tl.loading) ol.appendChild(h('li', { class: 'muted' }, t('list.loading')));
  else if (tl.done) ol.appendChild(h('li', { class: 'muted end' }, t('customer.timeline.end')));
}
