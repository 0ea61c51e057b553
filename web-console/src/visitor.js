// visitor.js: the chat visitor in the customer panel — what they typed in the pre-chat form,
// marked unverified, and a possible match (the customer who owns the typed address) that the
// agent may open and, after checking, merge.

function visitorSection(conv) {
  var box = h('section', { class: 'visitor-info', 'data-testid': 'visitor-info' });
  api('GET', '/channels/chat/conversations/' + encodeURIComponent(conv.id) + '/visitor').then(function (v) {
    if (!S.current || S.current.id !== conv.id) return;
    fillVisitor(box, conv, v);
  }, function () { box.remove(); });
  return box;
}

function fillVisitor(box, conv, v) {
  clear(box);
  visitorRead[conv.id] = Math.max(visitorRead[conv.id] || 0, v.read_seq || 0);
  syncSeen();
  if (!v.name && !v.email) { box.remove(); return; }
  append(box, [
    h('h4', null, t('visitor.title')),
    v.name ? h('p', { dir: 'auto', 'data-testid': 'visitor-name' }, v.name) : null,
    v.email ? h('p', null, h('bdi', { dir: 'ltr', 'data-testid': 'visitor-email' }, v.email), ' ',
      h('span', { class: 'badge ' + (v.email_verified ? 'ok' : 'warn'), 'data-testid': v.email_verified ? 'email-verified' : 'email-unverified' },
        t(v.email_verified ? 'visitor.verified' : 'visitor.unverified'))) : null,
    v.possible_match ? possibleMatch(conv, v.possible_match) : null
  ]);
}

function possibleMatch(conv, m) {
  var label = m.name || t('customer.anon');
  var el = h('div', { class: 'notice possible-match', role: 'note', 'data-testid': 'possible-match', 'data-id': m.customer_id },
    h('p', null, t('visitor.match')),
    h('p', null, h('strong', { dir: 'auto', 'data-testid': 'possible-match-name' }, label),
      m.tier === 'vip' ? [' ', h('span', { class: 'badge vip' }, t('customer.vip'))] : null),
    h('div', { class: 'confirm-buttons' },
      h('button', { type: 'button', class: 'btn small', 'data-testid': 'possible-match-open',
        onclick: function () { S.panelCustomerId = m.customer_id; renderCustomerPanel(); } }, t('visitor.matchOpen')),
      h('button', { type: 'button', class: 'btn small', 'data-testid': 'possible-match-merge',
        onclick: function () { confirmMerge(el, conv, m, label); } }, t('visitor.merge'))));
  return el;
}

function confirmMerge(el, conv, m, label) {
  if (el.querySelector('.confirm')) return;
  var box = h('div', { class: 'confirm', role: 'alertdialog', 'data-testid': 'merge-confirm' },
    h('p', { dir: 'auto' }, t('visitor.mergeConfirm', { name: label })),
    h('div', { class: 'confirm-buttons' },
      h('button', { type: 'button', class: 'btn primary', 'data-testid': 'merge-confirm-yes', onclick: function () {
        box.remove();
        api('POST', '/customers/' + encodeURIComponent(m.customer_id) + '/merge', { source_id: conv.customer_id }).then(function () {
          delete S.customers[conv.customer_id];
          delete S.customers[m.customer_id];
          toast(t('visitor.merged', { name: label }), 'info');
          reloadCurrent();
          S.panelCustomerId = m.customer_id;
          renderCustomerPanel();
        }, function (err) { toast(t('error.generic', { msg: errMsg(err) }), 'error'); });
      } }, t('visitor.mergeYes')),
      h('button', { type: 'button', class: 'btn', onclick: function () { box.remove(); } }, t('assign.takeNo'))));
  el.appendChild(box);
}
