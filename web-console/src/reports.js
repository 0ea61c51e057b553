// reports.js: the contact-center report (#/reports) from GET /reports/summary — a period in
// Gregorian or Jalali (the console's calendar), presets, filters, a table, inline SVG charts
// and the same figures as CSV. Also the Jalali date helpers shared with hours.js.

// ---- dates: ISO (Gregorian) days, shown and typed in the console's calendar ----------------

function useJalali() { return LANG === 'fa' || calendarPref() === 'persian'; }

var DAY_MS = 86400000;

function isoDay(d) {
  var p = function (n) { return (n < 10 ? '0' : '') + n; };
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
}

function dayFromIso(s) {
  var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

var JALALI_FMT = null;
// {y, m, d} of a UTC instant in the Jalali calendar, by the browser's Intl (as the rest of the console).
function jalaliParts(ms) {
  JALALI_FMT = JALALI_FMT || new Intl.DateTimeFormat('en-US-u-ca-persian-nu-latn', { year: 'numeric', month: 'numeric', day: 'numeric', timeZone: 'UTC' });
  var out = {};
  JALALI_FMT.formatToParts(new Date(ms)).forEach(function (p) { if (p.type === 'year' || p.type === 'month' || p.type === 'day') out[p.type.charAt(0)] = parseInt(p.value, 10); });
  return out;
}

function jalaliDayOfYear(m, d) { return (m <= 7 ? (m - 1) * 31 : 186 + (m - 7) * 30) + d; }

// Jalali y/m/d → ISO Gregorian day ('2027-03-21'), or null when there is no such day.
function gregorianOfJalali(jy, jm, jd) {
  if (!(jm >= 1 && jm <= 12 && jd >= 1 && jd <= 31)) return null;
  var ms = Date.UTC(jy + 621, 2, 20) + (jalaliDayOfYear(jm, jd) - 1) * DAY_MS;
  for (var i = 0; i < 4; i++) {
    var p = jalaliParts(ms);
    var diff = (jy - p.y) * 365 + jalaliDayOfYear(jm, jd) - jalaliDayOfYear(p.m, p.d);
    if (!diff) break;
    ms += diff * DAY_MS;
  }
  var got = jalaliParts(ms);
  if (got.y !== jy || got.m !== jm || got.d !== jd) return null;
  return new Date(ms).toISOString().slice(0, 10);
}

function jalaliOfIso(iso) {
  var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || '');
  return m ? jalaliParts(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
}

// Persian and Arabic-Indic digits typed into a field read as ASCII.
function asciiDigits(s) {
  return String(s || '').replace(/[۰-۹]/g, function (c) { return String(c.charCodeAt(0) - 0x06F0); })
    .replace(/[٠-٩]/g, function (c) { return String(c.charCodeAt(0) - 0x0660); });
}

// Digits as the console writes them: Persian in the Persian UI.
function uiDigits(s) {
  if (LANG !== 'fa') return s;
  return String(s).replace(/[0-9]/g, function (c) { return String.fromCharCode(0x06F0 + Number(c)); });
}

// A typed day ('1405/09/11' in Jalali, '2026-12-02' otherwise) → ISO day or null.
function parseDayInput(text) {
  var s = asciiDigits(text).trim();
  var m = /^(\d{4})[\/\-.](\d{1,2})[\/\-.](\d{1,2})$/.exec(s);
  if (!m) return null;
  var y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
  if (useJalali() && y < 1700) return gregorianOfJalali(y, mo, d);
  var iso = m[1] + '-' + (mo < 10 ? '0' : '') + mo + '-' + (d < 10 ? '0' : '') + d;
  var back = dayFromIso(iso);
  return back && isoDay(back) === iso ? iso : null;
}

// An ISO day as typed in the console's calendar (Jalali 'yyyy/mm/dd', in Persian digits in the
// Persian UI, or the ISO day itself).
function dayInputText(iso) {
  if (!iso || !useJalali()) return iso || '';
  var j = jalaliOfIso(iso);
  var p = function (n) { return (n < 10 ? '0' : '') + n; };
  return j ? uiDigits(j.y + '/' + p(j.m) + '/' + p(j.d)) : iso;
}

// An ISO day for reading: '۱۱ آذر ۱۴۰۵', '2 Dec 2026' or '11 Azar 1405 AP'.
function fmtIsoDay(iso, withWeekday) {
  var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || '');
  if (!m) return iso || '';
  var d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  var day = new Intl.DateTimeFormat(locale(), { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }).format(d);
  if (!withWeekday) return day;
  return new Intl.DateTimeFormat(locale(), { weekday: 'short', timeZone: 'UTC' }).format(d) + (LANG === 'fa' ? '، ' : ', ') + day;
}

// A day field in the console's calendar: a date picker in Gregorian, 'yyyy/mm/dd' text in Jalali.
function dayField(iso, attrs, onchange) {
  var input;
  var a = { dir: 'ltr', oninput: function () { input.setCustomValidity(''); }, onchange: function () {
    input.setCustomValidity('');
    if (!input.value.trim()) return;
    var v = useJalali() ? parseDayInput(input.value) : input.value;
    input.setCustomValidity(v ? '' : t('rep.badDay'));
    if (v) onchange(v);
    else input.reportValidity();
  } };
  Object.keys(attrs || {}).forEach(function (k) { a[k] = attrs[k]; });
  if (useJalali()) {
    a.type = 'text';
    a.placeholder = uiDigits('1405/01/01');
    a.inputmode = 'numeric';
    a.value = dayInputText(iso);
  } else {
    a.type = 'date';
    a.value = iso || '';
  }
  input = h('input', a);
  return input;
}

// ---- state and presets --------------------------------------------------------------------

var REP_GROUPS = ['day', 'hour', 'queue', 'agent', 'channel'];
var REP = { from: null, to: null, preset: 'week', queue: '', channel: '', agent: '', group_by: 'day', data: null, error: null, loading: false, seq: 0, zone: null };

// Today in the server's reports time zone once an answer has named it (the browser's own day
// until then): between their midnights the two days differ, and "today" must be the server's.
function todayIn(zone) {
  var now = new Date();
  if (zone) {
    try {
      var p = now.toLocaleDateString('sv-SE', { timeZone: zone }).split('-');
      return new Date(+p[0], +p[1] - 1, +p[2]);
    } catch (e) { /* an unknown zone: the browser's day */ }
  }
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}

function presetRange(name) {
  var today = todayIn(REP.zone);
  var from = today;
  if (name === 'week') from = new Date(today.getFullYear(), today.getMonth(), today.getDate() - (today.getDay() + 1) % 7);
  if (name === 'month') {
    if (useJalali()) {
      var j = jalaliOfIso(isoDay(today));
      from = dayFromIso(gregorianOfJalali(j.y, j.m, 1));
    } else from = new Date(today.getFullYear(), today.getMonth(), 1);
  }
  return { from: isoDay(from), to: isoDay(today) };
}

function applyPreset(name) {
  var r = presetRange(name);
  REP.preset = name;
  REP.from = r.from;
  REP.to = r.to;
}

// The period as whole days, the last included; the server reads them in its reports time zone
// (named in the answer), so whole days come from its daily rollups.
function reportParams(extra) {
  var p = { from: REP.from, to: REP.to, queue: REP.queue, channel: REP.channel, agent: REP.agent, group_by: REP.group_by };
  Object.keys(extra || {}).forEach(function (k) { p[k] = extra[k]; });
  return p;
}

function loadReport() {
  var seq = ++REP.seq;
  REP.loading = true;
  renderReportBody();
  api('GET', '/reports/summary' + qs(reportParams())).then(function (data) {
    if (seq !== REP.seq) return;
    if (data && data.time_zone && data.time_zone !== REP.zone) {
      // The first answer names the server's zone: a preset's days are its days.
      REP.zone = data.time_zone;
      var r = REP.preset ? presetRange(REP.preset) : null;
      if (r && (r.from !== REP.from || r.to !== REP.to)) {
        applyPreset(REP.preset);
        return loadReport();
      }
    }
    REP.loading = false;
    REP.error = null;
    REP.data = data || { items: [] };
    REP.byChannel = null;
    renderReportBody();
    loadChannelVolumes(seq);
  }, function (err) {
    if (seq !== REP.seq) return;
    REP.loading = false;
    REP.error = err;
    REP.data = null;
    renderReportBody();
  });
}

// Volume by day or hour and channel: the same period once per channel.
function loadChannelVolumes(seq) {
  if (REP.channel || (REP.group_by !== 'day' && REP.group_by !== 'hour')) return;
  Promise.all(CHANNELS.map(function (c) {
    return api('GET', '/reports/summary' + qs(reportParams({ channel: c }))).then(function (d) { return (d && d.items) || []; }, function () { return []; });
  })).then(function (lists) {
    if (seq !== REP.seq) return;
    REP.byChannel = {};
    CHANNELS.forEach(function (c, i) { if (lists[i].some(function (it) { return it.offered; })) REP.byChannel[c] = lists[i]; });
    var box = $('#chart-channels');
    if (box) box.parentNode.replaceChild(channelChart(REP.data.items || []), box);
  });
}

function channelChart(items) {
  var chans = Object.keys(REP.byChannel || {});
  if (!chans.length) return h('div', { id: 'chart-channels', hidden: true });
  var rows = items.map(function (it) {
    var o = { key: it.key, label: it.label };
    chans.forEach(function (c) {
      REP.byChannel[c].forEach(function (x) { if (String(x.key) === String(it.key)) o['ch_' + c] = x.offered || 0; });
    });
    return o;
  });
  var box = svgBars(rows, chans.map(function (c) { return { key: 'ch_' + c, cls: 'ch-' + c, label: t('channel.' + c, null, c) }; }),
    { stacked: true, fmt: function (v) { return fmtNum(Math.round(v)); }, title: t('rep.chart.channels', { by: t('rep.group.' + REP.group_by).toLowerCase() }), testid: 'chart-channels' });
  box.id = 'chart-channels';
  return box;
}

// ---- the page --------------------------------------------------------------------------------

function renderReportsView(main) {
  if (!REP.from) applyPreset('week');
  main.appendChild(h('section', { id: 'reports', class: 'reports', 'data-testid': 'reports-view', 'aria-label': t('view.reports') },
    h('h1', null, t('view.reports')),
    reportForm(),
    h('div', { id: 'report-body', 'aria-live': 'polite' })));
  loadReport();
}

function optionList(items, value, anyLabel) {
  return [h('option', { value: '' }, anyLabel)].concat(items.map(function (it) {
    return h('option', { value: it[0], selected: it[0] === value }, it[1]);
  }));
}

function reportForm() {
  var field = function (label, control) { return h('label', { class: 'rep-field' }, h('span', null, label), control); };
  var sel = function (key, items, any) {
    return h('select', { 'data-testid': 'report-' + key, onchange: function (e) { REP[key] = e.target.value; loadReport(); } },
      optionList(items, REP[key], any));
  };
  var presets = h('div', { class: 'rep-presets', role: 'group', 'aria-label': t('rep.presets') }, ['today', 'week', 'month'].map(function (p) {
    return h('button', { type: 'button', class: 'btn' + (REP.preset === p ? ' active' : ''), 'aria-pressed': REP.preset === p ? 'true' : 'false',
      'data-testid': 'report-preset-' + p, onclick: function () { applyPreset(p); rerenderReports(); } }, t('rep.preset.' + p));
  }));
  var setDay = function (key) { return function (iso) { if (REP[key] === iso) return; REP[key] = iso; REP.preset = ''; if (REP.from > REP.to) { var x = REP.from; REP.from = REP.to; REP.to = x; } rerenderReports(); }; };
  return h('form', { class: 'rep-form', 'data-testid': 'report-form', onsubmit: function (e) { e.preventDefault(); loadReport(); } },
    presets,
    field(t('rep.from'), dayField(REP.from, { 'data-testid': 'report-from' }, setDay('from'))),
    field(t('rep.to'), dayField(REP.to, { 'data-testid': 'report-to' }, setDay('to'))),
    field(t('rep.queue'), sel('queue', S.queues.map(function (q) { return [q.id, q.name]; }), t('filter.any'))),
    field(t('filter.channel'), sel('channel', CHANNELS.map(function (c) { return [c, t('channel.' + c, null, c)]; }), t('filter.any'))),
    field(t('rep.agent'), sel('agent', S.agents.map(function (a) { return [a.id, a.name]; }), t('filter.any'))),
    field(t('rep.groupBy'), h('select', { 'data-testid': 'report-group', onchange: function (e) { REP.group_by = e.target.value; loadReport(); } },
      REP_GROUPS.map(function (g) { return h('option', { value: g, selected: REP.group_by === g }, t('rep.group.' + g)); }))),
    h('span', { class: 'muted rep-calendar' }, useJalali() ? t('rep.calendar.jalali') : t('rep.calendar.gregorian')));
}

// The form is drawn again after the event that changed it (a day field's change fires again on
// the blur its removal causes).
var repRedraw = null;
function rerenderReports() {
  clearTimeout(repRedraw);
  repRedraw = setTimeout(function () {
    var form = $('#reports .rep-form');
    if (!form) return;
    form.parentNode.replaceChild(reportForm(), form);
    loadReport();
  }, 0);
}

var REP_COLS = ['offered', 'answered', 'abandoned', 'short_abandoned', 'answered_within_target', 'service_level', 'service_level_excluding_short_abandons',
  'avg_speed_of_answer_seconds', 'avg_handle_seconds', 'first_response_p50_seconds', 'first_response_p90_seconds',
  'resolution_p50_seconds', 'resolution_p90_seconds', 'csat_average', 'csat_responses', 'transfers', 'callbacks'];

// Grouped by agent, the rows also carry occupancy and the time in each presence state.
var REP_AGENT_COLS = ['occupancy', 'presence_seconds.available', 'presence_seconds.away', 'presence_seconds.offline'];

function repField(it, key) {
  var parts = key.split('.');
  var v = it[parts[0]];
  return parts.length > 1 ? (v ? v[parts[1]] : undefined) : v;
}

function repValue(key, v) {
  if (v === null || v === undefined) return DASH;
  if (/^(service_level|occupancy)/.test(key)) return fmtPct(v);
  if (/^presence_seconds\./.test(key)) return wbDuration(v);
  if (/_seconds$/.test(key)) return wbDuration(v);
  if (key === 'csat_average') return new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(v);
  return typeof v === 'number' ? fmtNum(v) : String(v);
}

// The row's name: a day or hour in the console's calendar, else the server's label.
function repLabel(it) {
  var key = String(it.key === undefined || it.key === null ? '' : it.key);
  if (REP.group_by === 'day' && /^\d{4}-\d{2}-\d{2}$/.test(key)) return fmtIsoDay(key, true);
  if (REP.group_by === 'channel' && CHANNELS.indexOf(key) >= 0) return t('channel.' + key);
  if (REP.group_by === 'hour' && /^\d{1,2}$/.test(key)) return fmtNum(Number(key)) + ':00';
  return it.label || key || DASH;
}

function renderReportBody() {
  var box = $('#report-body');
  if (!box) return;
  clear(box);
  var csv = h('a', { class: 'btn', 'data-testid': 'report-csv', href: API_BASE + '/reports/summary' + qs(reportParams({ format: 'csv' })),
    download: 'report-' + REP.from + '-' + REP.to + '-' + REP.group_by + '.csv' }, t('rep.csv'));
  box.appendChild(h('div', { class: 'rep-actions' },
    h('span', { class: 'muted', 'data-testid': 'report-period' }, REP.from === REP.to ? fmtIsoDay(REP.from, true) : t('rep.period', { from: fmtIsoDay(REP.from), to: fmtIsoDay(REP.to) }),
      REP.data && REP.data.time_zone ? ' · ' + t('rep.zone', { zone: REP.data.time_zone }) : null),
    REP.loading ? h('span', { class: 'muted' }, t('list.loading')) : null, csv));
  if (REP.error) {
    box.appendChild(h('p', { class: 'notice', role: 'alert', 'data-testid': 'report-error' },
      REP.error.status === 404 ? t('rep.unavailable') : t('error.generic', { msg: errMsg(REP.error) })));
    return;
  }
  if (!REP.data) return;
  var items = REP.data.items || [];
  box.appendChild(reportCharts(items));
  box.appendChild(h('p', { class: 'rep-formula', 'data-testid': 'report-formula' }, t('rep.formula')));
  box.appendChild(reportTable(items, REP.data.total));
}

function reportTable(items, total) {
  var cols = REP.group_by === 'agent' ? REP_COLS.concat(REP_AGENT_COLS) : REP_COLS;
  var cell = function (it, k) { return h('td', { class: 'num', 'data-field': k }, repValue(k, repField(it, k))); };
  return h('div', { class: 'rep-table-wrap' }, h('table', { class: 'stats rep-table', 'data-testid': 'report-table' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('rep.group.' + REP.group_by)),
      cols.map(function (k) { return h('th', { scope: 'col' }, t('rep.col.' + k)); }))),
    h('tbody', null, items.length ? items.map(function (it) {
      return h('tr', { 'data-testid': 'report-row', 'data-key': String(it.key) }, h('th', { scope: 'row' }, h('bdi', null, repLabel(it))),
        cols.map(function (k) { return cell(it, k); }));
    }) : h('tr', null, h('td', { colspan: String(cols.length + 1), class: 'muted' }, t('rep.empty')))),
    total ? h('tfoot', null, h('tr', { 'data-testid': 'report-total' }, h('th', { scope: 'row' }, t('rep.total')),
      cols.map(function (k) { return cell(total, k); }))) : null));
}

// ---- charts (inline SVG) ---------------------------------------------------------------------

function svgEl(tag, attrs, text) {
  var el = document.createElementNS(SVG_NS, tag);
  Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, String(attrs[k])); });
  if (text !== undefined) el.textContent = text;
  return el;
}

// A round top for a scale: 1, 2 or 5 × 10ⁿ for counts, whole minutes or hours for durations.
function niceMax(v, seconds) {
  var steps = seconds ? [60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800] : null;
  if (steps) {
    for (var i = 0; i < steps.length; i++) if (v <= steps[i]) return steps[i];
    return Math.ceil(v / 604800) * 604800;
  }
  if (v <= 2) return 2;
  var p = Math.pow(10, Math.floor(Math.log10(v)));
  return [1, 2, 5, 10].map(function (m) { return m * p; }).filter(function (x) { return x >= v; })[0];
}

// Bars per item, one segment per series (stacked) or side by side; `max` fixes the scale.
function svgBars(items, series, opts) {
  var any = items.some(function (it) { return series.some(function (s) { return typeof it[s.key] === 'number'; }); });
  if (!any) return h('figure', { class: 'chart-box', 'data-testid': opts.testid }, h('figcaption', null, opts.title), h('p', { class: 'muted' }, t('rep.noData')));
  var W = 560, H = 200, L = 54, B = 40, T = 10;
  var n = Math.max(items.length, 1);
  var slot = (W - L - 8) / n;
  var val = function (it, s) { var v = it[s.key]; return typeof v === 'number' ? v * (s.scale || 1) : 0; };
  var max = opts.max || 0;
  if (!opts.max) items.forEach(function (it) {
    var sum = 0;
    series.forEach(function (s) { sum = opts.stacked ? sum + val(it, s) : Math.max(sum, val(it, s)); });
    max = Math.max(max, sum);
  });
  if (!opts.max) max = niceMax(max, opts.fmt === wbDuration);
  var y = function (v) { return H - B - (H - B - T) * v / max; };
  var svg = svgEl('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img', 'aria-label': opts.title });
  svg.appendChild(svgEl('title', {}, opts.title));
  [0, 0.5, 1].forEach(function (f) {
    svg.appendChild(svgEl('line', { x1: L, x2: W - 4, y1: y(max * f), y2: y(max * f), class: 'grid' }));
    svg.appendChild(svgEl('text', { x: L - 4, y: y(max * f) + 4, 'text-anchor': 'end', class: 'axis' }, opts.fmt(max * f)));
  });
  items.forEach(function (it, i) {
    var x0 = L + i * slot + slot * 0.15, w = slot * 0.7, base = 0;
    series.forEach(function (s, k) {
      var v = val(it, s);
      var bw = opts.stacked ? w : w / series.length;
      var bx = opts.stacked ? x0 : x0 + k * bw;
      var top = opts.stacked ? base + v : v;
      var rect = svgEl('rect', { x: bx, y: y(top), width: Math.max(bw - 1, 1), height: Math.max(y(opts.stacked ? base : 0) - y(top), 0), class: 'bar ' + s.cls });
      rect.appendChild(svgEl('title', {}, repLabel(it) + ' · ' + s.label + ': ' + opts.fmt(v)));
      svg.appendChild(rect);
      if (opts.stacked) base = top;
    });
    if (n <= 16 || i % Math.ceil(n / 16) === 0) {
      svg.appendChild(svgEl('text', { x: x0 + w / 2, y: H - B + 14, 'text-anchor': 'middle', class: 'axis' }, shortLabel(it)));
    }
  });
  return chartBox(opts.title, svg, series, opts.testid);
}

// A line over the items (service level over time) against a 0..1 scale.
function svgLine(items, key, opts) {
  var W = 560, H = 200, L = 54, B = 40, T = 10;
  var n = Math.max(items.length, 1);
  var slot = (W - L - 8) / n;
  var y = function (v) { return H - B - (H - B - T) * v; };
  var svg = svgEl('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img', 'aria-label': opts.title });
  svg.appendChild(svgEl('title', {}, opts.title));
  [0, 0.5, 1].forEach(function (f) {
    svg.appendChild(svgEl('line', { x1: L, x2: W - 4, y1: y(f), y2: y(f), class: 'grid' }));
    svg.appendChild(svgEl('text', { x: L - 4, y: y(f) + 4, 'text-anchor': 'end', class: 'axis' }, fmtPct(f)));
  });
  var target = wbThresholds().sl_amber / 100;
  svg.appendChild(svgEl('line', { x1: L, x2: W - 4, y1: y(target), y2: y(target), class: 'target' }));
  var pts = [];
  items.forEach(function (it, i) {
    var v = it[key], x = L + i * slot + slot / 2;
    if (typeof v === 'number') {
      pts.push(x + ',' + y(v));
      var dot = svgEl('circle', { cx: x, cy: y(v), r: 3.5, class: 'dot' });
      dot.appendChild(svgEl('title', {}, repLabel(it) + ': ' + fmtPct(v)));
      svg.appendChild(dot);
    }
    if (n <= 16 || i % Math.ceil(n / 16) === 0) svg.appendChild(svgEl('text', { x: x, y: H - B + 14, 'text-anchor': 'middle', class: 'axis' }, shortLabel(it)));
  });
  if (pts.length > 1) svg.insertBefore(svgEl('polyline', { points: pts.join(' '), class: 'line' }), svg.querySelector('.dot'));
  return chartBox(opts.title, svg, [{ cls: 'line', label: t('rep.col.service_level') }, { cls: 'target', label: t('rep.target', { n: fmtPct(target) }) }], opts.testid);
}

function shortLabel(it) {
  var s = repLabel(it);
  if (REP.group_by === 'day' && /^\d{4}-\d{2}-\d{2}$/.test(String(it.key))) {
    s = new Intl.DateTimeFormat(locale(), { month: 'numeric', day: 'numeric', timeZone: 'UTC' }).format(new Date(String(it.key) + 'T00:00:00Z'));
  }
  return s.length > 10 ? s.slice(0, 9) + '…' : s;
}

function chartBox(title, svg, series, testid) {
  return h('figure', { class: 'chart-box', 'data-testid': testid },
    h('figcaption', null, title),
    h('div', { class: 'chart-svg', dir: 'ltr' }, svg),
    h('ul', { class: 'legend' }, series.map(function (s) { return h('li', null, h('span', { class: 'swatch ' + s.cls, 'aria-hidden': 'true' }), s.label); })));
}

function reportCharts(items) {
  var count = function (v) { return fmtNum(Math.round(v)); };
  var volume = items.map(function (it) {
    var o = {};
    Object.keys(it).forEach(function (k) { o[k] = it[k]; });
    o.unanswered = Math.max(0, (it.offered || 0) - (it.answered || 0) - (it.abandoned || 0));
    return o;
  });
  var timeLike = REP.group_by === 'day' || REP.group_by === 'hour';
  var by = t('rep.group.' + REP.group_by).toLowerCase();
  var charts = [
    svgBars(volume, [
      { key: 'answered', cls: 'answered', label: t('rep.col.answered') },
      { key: 'abandoned', cls: 'abandoned', label: t('rep.col.abandoned') },
      { key: 'unanswered', cls: 'unanswered', label: t('rep.unanswered') }
    ], { stacked: true, fmt: count, title: t('rep.chart.volume', { by: by }), testid: 'chart-volume' }),
    timeLike ? svgLine(items, 'service_level', { title: t('rep.chart.sl', { by: by }), testid: 'chart-sl' })
      : svgBars(items, [{ key: 'service_level', cls: 'sl', label: t('rep.col.service_level') }], { max: 1, fmt: fmtPct, title: t('rep.chart.sl', { by: by }), testid: 'chart-sl' }),
    svgBars(items, [
      { key: 'first_response_p50_seconds', cls: 'p50', label: t('rep.col.first_response_p50_seconds') },
      { key: 'first_response_p90_seconds', cls: 'p90', label: t('rep.col.first_response_p90_seconds') }
    ], { fmt: wbDuration, title: t('rep.chart.firstResponse', { by: by }), testid: 'chart-first-response' }),
    svgBars(items, [
      { key: 'resolution_p50_seconds', cls: 'r50', label: t('rep.col.resolution_p50_seconds') },
      { key: 'resolution_p90_seconds', cls: 'r90', label: t('rep.col.resolution_p90_seconds') }
    ], { fmt: wbDuration, title: t('rep.chart.resolution', { by: by }), testid: 'chart-resolution' }),
    timeLike && !REP.channel ? channelChart(items) : null,
    svgBars(items, [{ key: 'csat_average', cls: 'csat', label: t('rep.col.csat_average') }], { max: 5, fmt: function (v) { return fmtNum(v); }, title: t('rep.chart.csat', { by: by }), testid: 'chart-csat' })
  ];
  return h('div', { class: 'charts' }, charts);
}
