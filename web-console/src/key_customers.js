// key_customers.js: the key-customers report (#/key-customers, supervisors): the top customers
// by what they spent, by expected lifetime value, or the valuable ones at risk of no longer
// buying, with their segment, orders, total, CLV and P(alive), and a CSV download.

var KC = { by: 'value', items: null, currency: null, error: null };
var KC_BY = ['value', 'clv', 'at_risk'];

function keyCustomersParams(extra) {
  return qs(Object.assign({ by: KC.by, limit: 100 }, extra || {}));
}

function renderKeyCustomersView(main) {
  var by = h('select', { 'data-testid': 'key-by', onchange: function (e) { KC.by = e.target.value; loadKeyCustomers(); } },
    KC_BY.map(function (b) { return h('option', { value: b, selected: KC.by === b }, t('kc.by.' + b)); }));
  var csv = h('a', { class: 'btn', id: 'key-csv', 'data-testid': 'key-csv', download: 'key-customers.csv',
    href: API_BASE + '/insights/key-customers' + keyCustomersParams({ format: 'csv' }) }, t('rep.csv'));
  main.appendChild(h('section', { id: 'key-customers', class: 'reports', 'data-testid': 'key-customers-view', 'aria-label': t('view.key-customers') },
    h('div', { class: 'wb-head' }, h('h1', null, t('view.key-customers')), h('div', { class: 'spacer' }),
      h('label', { class: 'rep-field' }, h('span', null, t('kc.by')), by), csv),
    h('div', { id: 'key-body', 'aria-live': 'polite' })));
  loadKeyCustomers();
}

function loadKeyCustomers() {
  var csv = $('#key-csv');
  if (csv) csv.href = API_BASE + '/insights/key-customers' + keyCustomersParams({ format: 'csv' });
  var by = KC.by;
  api('GET', '/insights/key-customers' + keyCustomersParams()).then(function (r) {
    if (KC.by !== by) return;
    KC.items = (r && r.items) || [];
    KC.currency = r && r.currency;
    KC.error = null;
    renderKeyCustomers();
  }, function (err) {
    KC.items = null;
    KC.error = err;
    renderKeyCustomers();
  });
}

function renderKeyCustomers() {
  var box = $('#key-body');
  if (!box) return;
  clear(box);
  if (KC.error) {
    box.appendChild(h('p', { class: 'notice', role: 'alert' }, t('error.generic', { msg: errMsg(KC.error) })));
    return;
  }
  if (!KC.items.length) {
    box.appendChild(h('p', { class: 'muted', 'data-testid': 'key-none' }, t('kc.none')));
    return;
  }
  var num = function (v, f) { return typeof v === 'number' ? f(v) : '—'; };
  var money = function (v) { return fmtMoney(v, KC.currency); };
  box.appendChild(h('div', { class: 'rep-table-wrap' }, h('table', { class: 'stats rep-table', 'data-testid': 'key-table' },
    h('thead', null, h('tr', null, ['#', t('kc.customer'), t('value.segment'), t('value.orders'), t('value.total'), t('value.clv'), t('value.pAlive')]
      .map(function (x) { return h('th', { scope: 'col' }, x); }))),
    h('tbody', null, KC.items.map(function (c, i) {
      var who = c.name || c.email || c.phone || c.customer_id;
      return h('tr', { 'data-testid': 'key-row', 'data-customer': c.customer_id },
        h('td', null, fmtNum(i + 1)),
        h('td', null, h('button', { type: 'button', class: 'key-open', 'data-testid': 'key-open',
          onclick: function () { openKeyCustomer(c.customer_id); } }, h('bdi', { dir: 'auto' }, who)),
          c.email && c.email !== who ? h('div', { class: 'muted' }, h('bdi', { dir: 'ltr' }, c.email)) : null),
        h('td', null, segmentBadge({ value: { rfm: c.segment ? { segment: c.segment } : null } }, 'key-segment')),
        h('td', null, fmtNum(c.orders)),
        h('td', { class: 'money', 'data-testid': 'key-total' }, money(c.total)),
        h('td', { class: 'money' }, num(c.clv, money)),
        h('td', null, num(c.p_alive, fmtPercent)));
    })))));
}

// The profile, once the customer is read (the inbox's customer filter shows their name).
function openKeyCustomer(id) {
  var open = function () { openCustomer(id); };
  getCustomer(id).then(open, open);
}
