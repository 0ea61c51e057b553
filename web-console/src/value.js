// Customer value (issue 19): money formatting, the RFM segment badge and the value section of
// the customer panel (figures, CLV, at-risk flag and recent orders).

// Toman and rial are written as words after the amount (no decimals); other currencies use
// the locale's currency format. Digits follow the UI language.
var MONEY_UNITS = { IRT: 'money.toman', IRR: 'money.rial' };

function fmtMoney(n, currency) {
  if (typeof n !== 'number') return '';
  var cur = String(currency || '').toUpperCase();
  if (MONEY_UNITS[cur]) {
    return new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 }).format(n) + ' ' + t(MONEY_UNITS[cur]);
  }
  try {
    return new Intl.NumberFormat(locale(), { style: 'currency', currency: cur }).format(n);
  } catch (e) {
    return fmtNum(n) + ' ' + cur;
  }
}

function fmtPercent(p) {
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 0 }).format(p);
}

function fmtDay(s) {
  var d = parseTime(s);
  return d ? new Intl.DateTimeFormat(locale(), { year: 'numeric', month: 'short', day: 'numeric' }).format(d) : '';
}

// "Can't lose them" -> "cant_lose_them" (the API's slugs).
function segmentSlug(name) {
  return String(name || '').toLowerCase().replace(/[^a-z0-9 ]/g, '').trim().replace(/ +/g, '_');
}

// The badge of a customer's RFM segment, or null before the first refit / without orders.
function segmentBadge(c, testid) {
  var seg = c && c.value && c.value.rfm && c.value.rfm.segment;
  if (!seg) return null;
  var slug = segmentSlug(seg);
  return h('span', { class: 'badge segment seg-' + slug, 'data-segment': slug, 'data-testid': testid || 'segment-badge',
    title: t('value.segment') }, t('segment.' + slug, null, seg));
}

// A slot for the segment badge in places drawn before the customer is loaded (list rows):
// filled now from the cache, or by fillSegmentSlots when getCustomer answers.
function segmentSlot(customerId, testid) {
  var slot = h('span', { class: 'segment-slot', 'data-customer-segment': customerId, 'data-testid-badge': testid });
  var c = S.customers[customerId];
  var badge = c ? segmentBadge(c, testid) : null;
  if (badge) slot.appendChild(badge);
  return slot;
}

function fillSegmentSlots(c) {
  if (!c || !c.id) return;
  document.querySelectorAll('[data-customer-segment="' + CSS.escape(c.id) + '"]').forEach(function (slot) {
    clear(slot);
    var badge = segmentBadge(c, slot.getAttribute('data-testid-badge'));
    if (badge) slot.appendChild(badge);
  });
}

// P(alive), or a dash while the customer has not bought twice: BG/NBD counts a customer
// without a repeat purchase as surely still buying (100 %), which next to "Lost" reads as a
// contradiction; the estimate means something from the second order on.
function pAlive(orders, p, testid, unknown) {
  if (typeof p !== 'number') return h('span', { 'data-testid': testid }, '—');
  if (orders < 2) return h('span', { class: 'muted', title: t('value.pAliveAfterRepeat'), 'data-testid': testid }, unknown);
  return h('span', { 'data-testid': testid }, fmtPercent(p));
}

// The value section of the profile: figures from `c.value`, then the recent orders.
function valueSection(c) {
  var v = c.value || {};
  var cur = v.currency;
  var sec = h('section', { class: 'value', 'data-testid': 'customer-value' }, h('h4', null, t('value.title')));
  var others = v.other_currencies || [];
  if (!v.orders && !others.length) {
    sec.appendChild(h('p', { class: 'muted', 'data-testid': 'value-none' }, t('value.none')));
    return sec;
  }
  var rows = !v.orders ? [] : [
    [t('value.total'), h('span', { class: 'money', 'data-testid': 'value-total' }, fmtMoney(v.total, cur))],
    [t('value.orders'), h('span', { 'data-testid': 'value-orders' }, fmtNum(v.orders))],
    typeof v.average === 'number' ? [t('value.average'), h('span', { class: 'money', 'data-testid': 'value-average' }, fmtMoney(v.average, cur))] : null,
    typeof v.times_median === 'number' ? [t('value.timesMedian'), h('span', { 'data-testid': 'value-times-median' }, t('value.timesMedianN', { n: v.times_median }))] : null,
    v.rfm ? [t('value.segment'), h('span', null, segmentBadge(c, 'value-segment'), ' ',
      h('span', { class: 'muted', dir: 'ltr', 'data-testid': 'value-rfm' }, t('value.rfm', { r: v.rfm.r, f: v.rfm.f, m: v.rfm.m })))] : null,
    v.clv ? [t('value.clv'), h('span', { 'data-testid': 'value-clv' }, typeof v.clv.expected_value === 'number'
      ? t('value.clvN', { money: fmtMoney(v.clv.expected_value, cur), days: v.clv.horizon_days })
      : t('value.clvOrders', { n: v.clv.expected_orders, days: v.clv.horizon_days }))] : null,
    v.clv ? [t('value.pAlive'), pAlive(v.orders, v.clv.p_alive, 'value-p-alive', t('value.pAliveAfterRepeat'))] : null,
    v.last_order_at ? [t('value.lastOrder'), h('time', { datetime: v.last_order_at }, fmtDay(v.last_order_at))] : null
  ].filter(Boolean);
  // Orders in other currencies: their own totals, never converted into the figures above.
  if (others.length) {
    rows.push([t('value.other'), h('span', null, others.map(function (o) {
      return h('div', { class: 'money', 'data-testid': 'value-other-currency', 'data-currency': o.currency },
        t(o.orders === 1 ? 'value.otherOne' : 'value.otherN', { money: fmtMoney(o.total, o.currency), n: o.orders }));
    }))]);
  }
  if (v.at_risk) {
    sec.appendChild(h('div', { class: 'at-risk', role: 'status', 'data-testid': 'value-at-risk' },
      h('span', { class: 'badge warn' }, t('value.atRisk')),
      h('ul', { class: 'reasons' }, (v.at_risk_reasons || []).map(function (r) {
        return h('li', { 'data-testid': 'value-at-risk-reason' }, t('value.reason.' + r, null, r));
      }))));
  }
  sec.appendChild(h('dl', { class: 'attrs value-figures' }, rows.map(function (r) {
    return [h('dt', null, r[0]), h('dd', null, r[1])];
  })));
  var list = h('ol', { class: 'orders', 'data-testid': 'orders' }, h('li', { class: 'muted' }, t('list.loading')));
  append(sec, [h('h4', null, t('value.recentOrders')), list]);
  var id = c.id;
  api('GET', '/customers/' + encodeURIComponent(id) + '/orders' + qs({ limit: 5 })).then(function (page) {
    clear(list);
    var items = (page && page.items) || [];
    if (!items.length) list.appendChild(h('li', { class: 'muted' }, t('value.noOrders')));
    items.forEach(function (o) {
      var note = o.status === 'cancelled' ? t('value.cancelled') : o.amount < 0 ? t('value.refund') : null;
      list.appendChild(h('li', { class: 'order' + (o.status === 'cancelled' ? ' cancelled' : ''), 'data-testid': 'order' },
        h('time', { class: 'muted', datetime: o.placed_at }, fmtDay(o.placed_at)),
        h('bdi', { class: 'order-id', dir: 'ltr', title: o.external_id, 'data-testid': 'order-id' }, o.external_id),
        h('span', { class: 'amount money', 'data-testid': 'order-amount' }, fmtMoney(o.amount, o.currency)),
        note ? h('span', { class: 'badge' }, note) : null));
    });
  }, function (err) {
    clear(list).appendChild(h('li', { class: 'error' }, t('error.generic', { msg: errMsg(err) })));
  });
  return sec;
}

// ---- live value ----------------------------------------------------------
// An order (customer.value_changed) or a refit (customer_value.refitted) may change a
// customer's segment: the customers on screen are read again, and their badges and the open
// profile's value section redrawn, without a reload.

function shownCustomerIds() {
  var ids = {};
  document.querySelectorAll('[data-customer-segment]').forEach(function (el) {
    ids[el.getAttribute('data-customer-segment')] = true;
  });
  if (S.panelCustomerId) ids[S.panelCustomerId] = true;
  return Object.keys(ids);
}

// Each customer's reads are numbered: two orders in quick succession start two reads whose
// answers may come back in either order, and only the newest read may redraw (an older answer
// arriving last showed the figures before the second order). Each is a fresh read: joining
// the read already under way showed the figures before the second order too.
var valueReads = {};

function refreshCustomerValue(ids) {
  ids.forEach(function (id) {
    var mine = (valueReads[id] || 0) + 1;
    valueReads[id] = mine;
    delete S.customers[id];
    getCustomer(id, true).then(function (c) {
      if (S.panelCustomerId !== id || valueReads[id] !== mine) return;
      var old = document.querySelector('#custpane [data-testid="customer-value"]');
      if (old) old.replaceWith(valueSection(c));
    }, function () { /* the next event or a reload tries again */ });
  });
}

function onValueEvent(ev) {
  var shown = shownCustomerIds();
  if (ev.kind === 'customer_value.refitted') {
    // Customers cached but not on screen are read again when next shown.
    Object.keys(S.customers).forEach(function (id) {
      if (shown.indexOf(id) < 0) delete S.customers[id];
    });
    refreshCustomerValue(shown);
  } else if (ev.customer_id && (S.customers[ev.customer_id] || shown.indexOf(ev.customer_id) >= 0)) {
    refreshCustomerValue([ev.customer_id]);
  }
}
