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

// Editing a customer's name, language and tier from the profile.
function editProfile(el, c) {
  if (el.querySelector('.profile-edit')) return;
  var name = h('input', { type: 'text', dir: 'auto', value: c.name || '', 'data-testid': 'customer-edit-name', 'aria-label': t('customer.editName') });
  var lang = h('select', { 'data-testid': 'customer-edit-language', 'aria-label': t('customer.editLanguage') },
    ['', 'fa', 'en'].map(function (l) { return h('option', { value: l, selected: (c.language || '') === l }, l ? t('language.' + l) : '–'); }));
  var tier = h('select', { 'data-testid': 'customer-edit-tier', 'aria-label': t('customer.editTier') },
    ['standard', 'vip'].concat(c.tier && ['standard', 'vip'].indexOf(c.tier) < 0 ? [c.tier] : []).map(function (x) {
      return h('option', { value: x, selected: (c.tier || 'standard') === x }, x === 'vip' ? t('customer.vip') : x === 'standard' ? t('customer.standard') : x);
    }));
  var error = h('p', { class: 'form-error', role: 'alert' });
  var attrs = attributeRows(c);
  var idents = identityEditor(c, function () {
    api('GET', '/customers/' + encodeURIComponent(c.id)).then(function (fresh) {
      S.customers[c.id] = fresh;
      fillProfile(el, fresh);
      editProfile(el, fresh);
    });
  });
  var form = h('form', { class: 'profile-edit', 'data-testid': 'customer-edit-form',
    onsubmit: function (e) {
      e.preventDefault();
      var body = { name: name.value.trim() || null, tier: tier.value, attributes: attrs.patch() };
      if (lang.value) body.language = lang.value;
      api('PATCH', '/customers/' + encodeURIComponent(c.id), body).then(function (updated) {
        S.customers[c.id] = updated;
        document.querySelectorAll('[data-customer-name="' + CSS.escape(c.id) + '"]').forEach(function (n) { n.textContent = customerLabel(updated); });
        fillProfile(el, updated);
      }, function (err) { error.textContent = t('error.generic', { msg: errMsg(err) }); });
    } },
    h('label', null, t('customer.editName'), name),
    h('label', null, t('customer.editLanguage'), lang),
    h('label', null, t('customer.editTier'), tier),
    attrs.el,
    error,
    h('div', { class: 'confirm-buttons' },
      h('button', { type: 'submit', class: 'btn primary small', 'data-testid': 'customer-save' }, t('customer.save')),
      h('button', { type: 'button', class: 'btn small', onclick: function () { form.remove(); idents.remove(); } }, t('assign.takeNo'))));
  el.insertBefore(form, el.children[1] || null);
  form.parentNode.insertBefore(idents, form.nextSibling);
  form.addEventListener('submit', function () { idents.remove(); });
  name.focus();
}

// The customer's chat ratings on the profile: average stars and the latest comment.
function ratingsLine(customerId) {
  var el = h('p', { class: 'ratings', 'data-testid': 'customer-ratings', hidden: true });
  api('GET', '/channels/chat/customers/' + encodeURIComponent(customerId) + '/ratings').then(function (r) {
    if (!r || !r.count) return;
    var avg = Math.round(r.average);
    append(el, [
      h('span', { class: 'stars', role: 'img', 'aria-label': t('rating.label', { n: fmtNum(r.average) }) },
        '★★★★★'.slice(0, avg) + '☆☆☆☆☆'.slice(0, 5 - avg)), ' ',
      h('span', { class: 'muted' }, t('rating.summary', { avg: fmtNum(r.average), n: fmtNum(r.count) })),
      r.items[0] && r.items[0].comment ? [' ', h('q', { dir: 'auto', 'data-testid': 'customer-rating-comment' }, r.items[0].comment)] : null
    ]);
    el.hidden = false;
  }, function () { /* no ratings shown */ });
  return el;
}
