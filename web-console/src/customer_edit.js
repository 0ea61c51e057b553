// customer_edit.js: editing a profile's attributes and identities, and merging another
// profile into it after a preview of what moves (GET /customers/{id}/merge-preview).

// Attribute rows of the edit form: [{key input, value input, row}].
function attributeRows(c) {
  var rows = [];
  var list = h('div', { class: 'attr-rows', 'data-testid': 'attr-rows' });
  function add(k, v) {
    var key = h('input', { type: 'text', dir: 'auto', value: k || '', 'data-testid': 'attr-key', 'aria-label': t('customer.attrKey') });
    var val = h('input', { type: 'text', dir: 'auto', value: v === undefined || v === null ? '' : (typeof v === 'string' ? v : JSON.stringify(v)), 'data-testid': 'attr-value', 'aria-label': t('customer.attrValue') });
    var entry = { key: key, value: val, row: null, json: v !== undefined && v !== null && typeof v !== 'string' };
    entry.row = h('div', { class: 'attr-row' }, key, val,
      h('button', { type: 'button', class: 'btn small', 'data-testid': 'attr-remove', 'aria-label': t('customer.attrRemove'),
        onclick: function () { entry.row.remove(); rows.splice(rows.indexOf(entry), 1); } }, '×'));
    rows.push(entry);
    list.appendChild(entry.row);
  }
  var attrs = c.attributes || {};
  Object.keys(attrs).forEach(function (k) { add(k, attrs[k]); });
  var addBtn = h('button', { type: 'button', class: 'btn small', 'data-testid': 'attr-add', onclick: function () { add('', ''); } }, t('customer.attrAdd'));
  return {
    el: h('fieldset', { class: 'attrs-edit' }, h('legend', null, t('customer.attributes')), list, addBtn),
    // The PATCH value: every current key, and null for keys removed or renamed away.
    patch: function () {
      var out = {};
      Object.keys(attrs).forEach(function (k) { out[k] = null; });
      rows.forEach(function (r) {
        var k = r.key.value.trim();
        var v = r.value.value;
        if (r.json) { try { v = JSON.parse(v); } catch (e) { /* keep the text */ } }
        if (k) out[k] = v;
      });
      return out;
    }
  };
}

// Identities with remove buttons and an add row; changes apply at once.
function identityEditor(c, onChange) {
  var error = h('p', { class: 'form-error', role: 'alert' });
  var kind = h('select', { 'data-testid': 'identity-kind', 'aria-label': t('customer.identityKind') },
    ['email', 'phone', 'external'].map(function (k) { return h('option', { value: k }, t('identity.' + k)); }));
  var value = h('input', { type: 'text', dir: 'ltr', 'data-testid': 'identity-value', 'aria-label': t('customer.identityValue') });
  var base = '/customers/' + encodeURIComponent(c.id) + '/identities';
  function done(p) { p.then(onChange, function (err) { error.textContent = t('error.generic', { msg: errMsg(err) }); }); }
  return h('fieldset', { class: 'identities-edit' }, h('legend', null, t('customer.identities')),
    h('ul', null, (c.identities || []).filter(function (i) { return i.kind !== 'visitor'; }).map(function (i) {
      return h('li', { 'data-testid': 'identity-row' }, h('bdi', { dir: 'ltr' }, i.raw || i.value), ' ',
        h('button', { type: 'button', class: 'btn small', 'data-testid': 'identity-remove', 'aria-label': t('customer.identityRemove'),
          onclick: function () { done(api('DELETE', base + '/' + encodeURIComponent(i.id))); } }, '×'));
    })),
    h('div', { class: 'identity-add' }, kind, value,
      h('button', { type: 'button', class: 'btn small', 'data-testid': 'identity-add',
        onclick: function () { if (value.value.trim()) done(api('POST', base, { kind: kind.value, value: value.value.trim() })); } }, t('customer.identityAdd'))),
    error);
}

// The "Merge…" tool on a profile: find the duplicate, see the preview, confirm.
function mergeTool(el, c) {
  var box = el.querySelector('.merge-tool');
  if (box) { box.remove(); return; }
  var results = h('ul', { class: 'merge-results', 'data-testid': 'merge-results' });
  var input = h('input', { type: 'search', dir: 'auto', 'data-testid': 'merge-search', 'aria-label': t('merge.search'), placeholder: t('merge.search') });
  var preview = h('div', { class: 'merge-preview-box' });
  var find = debounce(function () {
    var q = input.value.trim();
    clear(results);
    if (!q) return;
    api('GET', '/customers' + qs({ q: q, limit: 8 })).then(function (page) {
      clear(results);
      ((page && page.items) || []).filter(function (o) { return o.id !== c.id; }).forEach(function (o) {
        results.appendChild(h('li', null, h('button', { type: 'button', class: 'btn link', 'data-testid': 'merge-candidate', dir: 'auto',
          onclick: function () { showPreview(preview, c, o); } }, customerLabel(o))));
      });
    });
  }, 200);
  input.addEventListener('input', find);
  box = h('section', { class: 'merge-tool', 'data-testid': 'merge-tool' }, h('h4', null, t('merge.title')), input, results, preview);
  el.insertBefore(box, el.children[1] || null);
  input.focus();
}

function showPreview(box, target, source) {
  clear(box);
  var url = '/customers/' + encodeURIComponent(target.id) + '/merge-preview' + qs({ source_id: source.id });
  api('GET', url).then(function (p) {
    var r = p.result, m = p.moves;
    append(box, h('div', { class: 'confirm', role: 'alertdialog', 'data-testid': 'merge-preview' },
      h('p', { dir: 'auto' }, t('merge.into', { source: customerLabel(p.source), target: customerLabel(p.target) })),
      h('ul', null,
        h('li', { 'data-testid': 'merge-moves' }, t('merge.moves', { c: fmtNum(m.conversations), o: fmtNum(m.orders), i: fmtNum(m.identities.length) })),
        m.identities.length ? h('li', null, m.identities.map(function (i) { return h('bdi', { dir: 'ltr', class: 'chip' }, i.raw || i.value); })) : null,
        h('li', { dir: 'auto', 'data-testid': 'merge-result' }, t('merge.result', { name: r.name || '–', tier: r.tier === 'vip' ? t('customer.vip') : r.tier })),
        r.overridden.length ? h('li', { 'data-testid': 'merge-overridden' }, t('merge.overridden', { keys: r.overridden.join('، ') })) : null),
      h('div', { class: 'confirm-buttons' },
        h('button', { type: 'button', class: 'btn primary small', 'data-testid': 'merge-preview-yes', onclick: function () {
          api('POST', '/customers/' + encodeURIComponent(target.id) + '/merge', { source_id: source.id }).then(function (merged) {
            S.customers[target.id] = merged;
            toast(t('merge.done', { name: customerLabel(p.source) }), 'info');
            renderCustomerPanel();
          }, function (err) { toast(t('error.generic', { msg: errMsg(err) }), 'error'); });
        } }, t('merge.confirm')),
        h('button', { type: 'button', class: 'btn small', onclick: function () { clear(box); } }, t('assign.takeNo')))));
  }, function (err) { box.appendChild(h('p', { class: 'form-error', role: 'alert' }, t('error.generic', { msg: errMsg(err) }))); });
}
