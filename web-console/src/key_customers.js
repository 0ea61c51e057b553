// key_customers.js: the key-customers report (#/key-customers, supervisors): the top customers
// by what they spent, by expected lifetime value, or the valuable ones at risk of no longer
// buying, with their segment, orders, total, CLV and P(alive), and a CSV download.

var KC = { by: 'value', segment: '', items: null, currency: null, error: null };
var KC_BY = ['value', 'clv', 'at_risk'];
var KC_SEGMENTS = ['champions', 'loyal', 'potential_loyalist', 'new', 'promising', 'need_attention',
  'about_to_sleep', 'at_risk', 'cant_lose_them', 'hibernating', 'lost'];

function keyCustomersParams(extra) {
  var p = { by: KC.by, limit: 100 };
  if (KC.segment) p.segment = KC.segment;
  return qs(Object.assign(p, extra || {}));
}

function renderKeyCustomersView(main) {
  var by = h('select', { 'data-testid': 'key-by', onchange: function (e) { KC.by = e.target.value; loadKeyCustomers(); } },
    KC_BY.map(function (b) { return h('option', { value: b, selected: KC.by === b }, t('kc.by.' + b)); }));
  // Any view narrowed to one RFM segment (e.g. the Champions by what they spent).
  var segment = h('select', { 'data-testid': 'key-segment-filter', onchange: function (e) { KC.segment = e.target.value; loadKeyCustomers(); } },
    [h('option', { value: '', selected: !KC.segment }, t('kc.segment.any'))].concat(KC_SEGMENTS.map(function (g) {
      return h('option', { value: g, selected: KC.segment === g }, t('segment.' + g));
    })));
  var csv = h('a', { class: 'btn', id: 'key-csv', 'data-testid': 'key-csv', download: 'key-customers.csv',
    href: API_BASE + '/insights/key-customers' + keyCustomersParams({ format: 'csv' }) }, t('rep.csv'));
  main.appendChild(h('section', { id: 'key-customers', class: 'reports', 'data-testid': 'key-customers-view', 'aria-label': t('view.key-customers') },
    h('div', { class: 'wb-head' }, h('h1', null, t('view.key-customers')), h('div', { class: 'spacer' }),
      h('label', { class: 'rep-field' }, h('span', null, t('kc.by')), by),
      h('label', { class: 'rep-field' }, h('span', null, t('value.segment')), segment), csv),
    h('div', { id: 'key-body', 'aria-live': 'polite' })));
  loadKeyCustomers();
}

function loadKeyCustomers() {
  var csv = $('#key-csv');
  if (csv) csv.href = API_BASE + '/insights/key-customers' + keyCustomersParams({ format: 'csv' });
  var asked = keyCustomersParams();
  api('GET', '/insights/key-customers' + asked).then(function (r) {
    if (keyCustomersParams() !== asked) return;
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
  var risky = KC.by === 'at_risk';
  var cols = ['#', t('kc.customer'), t('value.segment'), t('value.orders'), t('value.total'), t('value.clv'), t('value.pAlive')];
  box.appendChild(h('div', { class: 'rep-table-wrap' }, h('table', { class: 'stats rep-table', 'data-testid': 'key-table' },
    h('thead', null, h('tr', null, cols.concat(risky ? [t('kc.why')] : [])
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
        h('td', null, pAlive(c.orders, c.p_alive, 'key-p-alive', '—')),
        risky ? h('td', { class: 'kc-why', 'data-testid': 'key-reasons' }, (c.at_risk_reasons || []).map(function (r) {
          return h('div', { 'data-reason': r }, t('value.reason.' + r));
        })) : null);
    })))));
}

// The profile, once the customer is read (the inbox's customer filter shows their name).
function openKeyCustomer(id) {
  var open = function () { openCustomer(id); };
  getCustomer(id).then(open, open);
}
