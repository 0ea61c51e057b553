// hours.js: business-hours calendars (#/hours, admins): weekly hours listed Saturday first, a
// time zone and holidays — typed in Jalali when the console uses it, stored as ISO days.

var WEEKDAYS = ['saturday', 'sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday'];
var ZONES = ['Asia/Tehran', 'Asia/Dubai', 'Asia/Kabul', 'Europe/Istanbul', 'Europe/London', 'Europe/Berlin', 'America/New_York', 'UTC'];
var BH = { items: null, error: null, edit: null };

function renderHoursView(main) {
  main.appendChild(h('section', { id: 'hours', class: 'hours', 'data-testid': 'hours-view', 'aria-label': t('view.hours') },
    h('div', { class: 'wb-head' }, h('h1', null, t('view.hours')), h('div', { class: 'spacer' }),
      h('button', { type: 'button', class: 'btn primary', 'data-testid': 'hours-new', onclick: function () { editCalendar(null); } }, t('bh.new'))),
    h('div', { id: 'hours-list' }), h('div', { id: 'hours-edit' })));
  loadCalendars();
}

function loadCalendars() {
  api('GET', '/business-hours?limit=500').then(function (page) {
    BH.items = Array.isArray(page) ? page : (page && page.items) || [];
    BH.error = null;
    renderCalendars();
  }, function (err) {
    BH.items = null;
    BH.error = err;
    renderCalendars();
  });
}

function hoursText(ranges) {
  if (!ranges || !ranges.length) return t('bh.closed');
  return ranges.map(function (r) { return r[0] + '–' + r[1]; }).join(LANG === 'fa' ? '، ' : ', ');
}

function renderCalendars() {
  var box = $('#hours-list');
  if (!box) return;
  clear(box);
  if (BH.error) {
    box.appendChild(h('p', { class: 'notice', role: 'alert' }, BH.error.status === 404 ? t('bh.unavailable') : t('error.generic', { msg: errMsg(BH.error) })));
    return;
  }
  if (!BH.items) { box.appendChild(h('p', { class: 'muted' }, t('list.loading'))); return; }
  if (!BH.items.length) { box.appendChild(h('p', { class: 'muted' }, t('bh.none'))); return; }
  box.appendChild(h('table', { class: 'stats bh-table', 'data-testid': 'hours-table' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('bh.name')), h('th', { scope: 'col' }, t('bh.zone')),
      WEEKDAYS.map(function (d) { return h('th', { scope: 'col' }, t('bh.day.' + d)); }), h('th', { scope: 'col' }, t('bh.holidays')), h('th', null, ''))),
    h('tbody', null, BH.items.map(function (c) {
      return h('tr', { 'data-testid': 'hours-row', 'data-id': c.id },
        h('th', { scope: 'row' }, h('bdi', null, c.name)),
        h('td', { dir: 'ltr' }, c.time_zone || ''),
        WEEKDAYS.map(function (d) { return h('td', { 'data-day': d }, h('bdi', { dir: 'ltr' }, hoursText((c.weekly || {})[d]))); }),
        h('td', { 'data-testid': 'hours-holidays' }, (c.holidays || []).map(function (d) { return fmtIsoDay(holidayDate(d)); }).join(LANG === 'fa' ? '، ' : ', ')),
        h('td', null, h('button', { type: 'button', class: 'btn small', 'data-testid': 'hours-edit', onclick: function () { editCalendar(c); } }, t('bh.edit'))));
    }))));
}

// A holiday is an ISO day (or an object carrying one, should the shape grow).
function holidayDate(d) { return typeof d === 'string' ? d : (d && d.date) || ''; }

function blankCalendar() {
  var weekly = {};
  WEEKDAYS.forEach(function (d) { weekly[d] = d === 'friday' ? [] : [['08:00', '17:00']]; });
  weekly.thursday = [['08:00', '13:00']];
  return { name: '', time_zone: 'Asia/Tehran', weekly: weekly, holidays: [] };
}

function editCalendar(c) {
  var src = c || blankCalendar();
  BH.edit = { id: c ? c.id : null, name: src.name, time_zone: src.time_zone, weekly: {}, holidays: (src.holidays || []).map(holidayDate) };
  WEEKDAYS.forEach(function (d) { BH.edit.weekly[d] = ((src.weekly || {})[d] || []).map(function (r) { return [r[0], r[1]]; }); });
  renderCalendarForm();
}

function renderCalendarForm() {
  var box = $('#hours-edit');
  if (!box) return;
  clear(box);
  var e = BH.edit;
  if (!e) return;
  var error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'hours-error' });
  var name = h('input', { type: 'text', required: true, dir: 'auto', value: e.name, 'data-testid': 'hours-name', oninput: function () { e.name = name.value; } });
  var zone = h('input', { type: 'text', required: true, dir: 'ltr', list: 'bh-zones', value: e.time_zone, 'data-testid': 'hours-zone', oninput: function () { e.time_zone = zone.value.trim(); } });
  var form = h('form', { class: 'bh-form', 'data-testid': 'hours-form', onsubmit: function (ev) { ev.preventDefault(); saveCalendar(error); } },
    h('h2', null, e.id ? t('bh.editing', { name: e.name }) : t('bh.new')),
    h('label', { class: 'rep-field' }, h('span', null, t('bh.name')), name),
    h('label', { class: 'rep-field' }, h('span', null, t('bh.zone')), zone),
    h('datalist', { id: 'bh-zones' }, ZONES.map(function (z) { return h('option', { value: z }); })),
    h('fieldset', null, h('legend', null, t('bh.weekly')), WEEKDAYS.map(dayEditor)),
    holidayEditor(),
    error,
    h('div', { class: 'bh-buttons' },
      h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'hours-save' }, t('bh.save')),
      h('button', { type: 'button', class: 'btn', onclick: function () { BH.edit = null; renderCalendarForm(); } }, t('bh.cancel')),
      e.id ? h('button', { type: 'button', class: 'btn danger', 'data-testid': 'hours-delete', onclick: function () { deleteCalendar(error); } }, t('bh.delete')) : null));
  box.appendChild(form);
  name.focus();
}

function dayEditor(day) {
  var ranges = BH.edit.weekly[day];
  var time = function (r, i) {
    // Text, not a time picker: a day may close at 24:00.
    return h('input', { type: 'text', value: r[i], required: true, dir: 'ltr', size: '5', inputmode: 'numeric', placeholder: 'HH:MM',
      pattern: i ? '([01][0-9]|2[0-3]):[0-5][0-9]|24:00' : '([01][0-9]|2[0-3]):[0-5][0-9]', 'aria-label': t('bh.day.' + day) + ' · ' + t(i ? 'bh.until' : 'bh.from'),
      onchange: function (ev) { r[i] = asciiDigits(ev.target.value).trim(); } });
  };
  return h('div', { class: 'bh-day', 'data-testid': 'hours-day', 'data-day': day },
    h('span', { class: 'bh-dayname' }, t('bh.day.' + day)),
    ranges.length ? ranges.map(function (r, k) {
      return h('span', { class: 'bh-range' }, time(r, 0), '–', time(r, 1),
        h('button', { type: 'button', class: 'chip-x', 'aria-label': t('bh.removeRange'), onclick: function () { ranges.splice(k, 1); renderCalendarForm(); } }, '×'));
    }) : h('span', { class: 'muted' }, t('bh.closed')),
    h('button', { type: 'button', class: 'btn small', 'data-testid': 'hours-add-range', onclick: function () {
      var last = ranges[ranges.length - 1];
      ranges.push(last ? [last[1], last[1] < '20:00' ? '20:00' : '23:59'] : ['08:00', '17:00']);
      renderCalendarForm();
    } }, t('bh.addRange')));
}

function holidayEditor() {
  var e = BH.edit;
  var pending = null;
  var input = dayField('', { 'data-testid': 'hours-holiday-input', 'aria-label': t('bh.holiday') }, function (iso) { pending = iso; });
  var add = function () {
    var iso = useJalali() ? parseDayInput(input.value) : input.value;
    iso = iso || pending;
    if (!iso) {
      input.setCustomValidity(t('rep.badDay'));
      input.reportValidity();
      input.setCustomValidity('');
      return;
    }
    if (e.holidays.indexOf(iso) < 0) e.holidays.push(iso);
    e.holidays.sort();
    renderCalendarForm();
  };
  input.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') { ev.preventDefault(); add(); } });
  return h('fieldset', null, h('legend', null, t('bh.holidays')),
    h('ul', { class: 'bh-holidays', 'data-testid': 'hours-holiday-list' }, e.holidays.map(function (d, k) {
      return h('li', { 'data-date': d }, fmtIsoDay(d, true),
        h('button', { type: 'button', class: 'chip-x', 'aria-label': t('bh.removeHoliday'), onclick: function () { e.holidays.splice(k, 1); renderCalendarForm(); } }, '×'));
    })),
    h('label', { class: 'rep-field' }, h('span', null, useJalali() ? t('bh.holidayJalali') : t('bh.holiday')), input),
    h('button', { type: 'button', class: 'btn small', 'data-testid': 'hours-holiday-add', onclick: add }, t('bh.addHoliday')));
}

function calendarBody() {
  var e = BH.edit;
  var weekly = {};
  WEEKDAYS.forEach(function (d) { weekly[d] = e.weekly[d].map(function (r) { return [r[0], r[1]]; }); });
  return { name: e.name.trim(), time_zone: e.time_zone, weekly: weekly, holidays: e.holidays.slice() };
}

function saveCalendar(error) {
  var e = BH.edit;
  var bad = null;
  WEEKDAYS.forEach(function (d) { e.weekly[d].forEach(function (r) { if (!(r[0] && r[1] && r[0] < r[1])) bad = d; }); });
  if (bad) { error.textContent = t('bh.badRange', { day: t('bh.day.' + bad) }); return; }
  var req = e.id ? api('PATCH', '/business-hours/' + encodeURIComponent(e.id), calendarBody()) : api('POST', '/business-hours', calendarBody());
  req.then(function () {
    toast(t('bh.saved'), 'info');
    BH.edit = null;
    renderCalendarForm();
    loadCalendars();
  }, function (err) { error.textContent = t('error.generic', { msg: errMsg(err) }); });
}

function deleteCalendar(error) {
  var e = BH.edit;
  if (!window.confirm(t('bh.confirmDelete', { name: e.name }))) return;
  api('DELETE', '/business-hours/' + encodeURIComponent(e.id)).then(function () {
    BH.edit = null;
    renderCalendarForm();
    loadCalendars();
  }, function (err) { error.textContent = t('error.generic', { msg: errMsg(err) }); });
}
