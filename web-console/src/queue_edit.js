// queue_edit.js: the queues page (#/queues): every queue with its channels, skills, language,
// priority and targets, for supervisors (read only) and admins (create and edit: name, channels,
// skills, language, priority, auto-accept, service-level and first-response targets, business-hours
// calendar and business-time-only clocks). The server refuses writes to anyone but an admin.

var QE = { items: null, error: null, calendars: [], edit: null };

function canEditQueues() { return !!(S.me && S.me.role === 'admin'); }

function renderQueuesView(main) {
  main.appendChild(h('section', { id: 'queues', class: 'hours queues-page', 'data-testid': 'queues-view', 'aria-label': t('view.queues') },
    h('div', { class: 'wb-head' }, h('h1', null, t('view.queues')), h('div', { class: 'spacer' }),
      canEditQueues() ? h('button', { type: 'button', class: 'btn primary', 'data-testid': 'queue-new', onclick: function () { editQueue(null); } }, t('qe.new')) : null),
    canEditQueues() ? null : h('p', { class: 'muted', 'data-testid': 'queues-readonly' }, t('qe.readOnly')),
    h('div', { id: 'queues-list' }), h('div', { id: 'queue-edit' })));
  QE.edit = null;
  loadQueuesPage();
}

function loadQueuesPage() {
  var cal = api('GET', '/business-hours?limit=500').then(function (p) { QE.calendars = (p && p.items) || []; }, function () { QE.calendars = []; });
  Promise.all([api('GET', '/queues?limit=500'), cal]).then(function (r) {
    QE.items = (r[0] && r[0].items) || [];
    QE.error = null;
    S.queues = QE.items.slice();
    renderQueueList();
  }, function (err) {
    QE.items = null;
    QE.error = err;
    renderQueueList();
  });
}

function calendarName(id) {
  for (var i = 0; i < QE.calendars.length; i++) if (QE.calendars[i].id === id) return QE.calendars[i].name;
  return id ? id.slice(0, 8) : '';
}

// A target as people read it: "30 s", or the default in muted type.
function targetText(v, unit) {
  if (typeof v !== 'number') return h('span', { class: 'muted' }, t('qe.default'));
  return fmtNum(v) + ' ' + t('qe.unit.' + unit);
}

function renderQueueList() {
  var box = $('#queues-list');
  if (!box) return;
  clear(box);
  if (QE.error) { box.appendChild(h('p', { class: 'notice', role: 'alert' }, t('error.generic', { msg: errMsg(QE.error) }))); return; }
  if (!QE.items) { box.appendChild(h('p', { class: 'muted' }, t('list.loading'))); return; }
  if (!QE.items.length) { box.appendChild(h('p', { class: 'muted' }, t('wb.noQueues'))); return; }
  var cols = ['channels', 'skills', 'language', 'priority', 'auto_accept', 'service_level_seconds', 'first_response_minutes', 'calendar'];
  box.appendChild(h('table', { class: 'stats qe-table', 'data-testid': 'queues-table' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('qe.name')), cols.map(function (k) { return h('th', { scope: 'col' }, t('qe.col.' + k)); }),
      canEditQueues() ? h('th', null, '') : null)),
    h('tbody', null, QE.items.map(function (q) {
      return h('tr', { 'data-testid': 'queue-row', 'data-id': q.id },
        h('th', { scope: 'row' }, h('bdi', null, q.name)),
        h('td', { 'data-field': 'channels' }, (q.channels || []).map(function (c) { return t('channel.' + c); }).join(LANG === 'fa' ? '، ' : ', ')),
        h('td', { 'data-field': 'skills' }, h('bdi', null, (q.skills || []).join(', '))),
        h('td', { 'data-field': 'language', dir: 'ltr' }, q.language || ''),
        h('td', { 'data-field': 'priority', class: 'num' }, fmtNum(q.priority)),
        h('td', { 'data-field': 'auto_accept' }, q.auto_accept ? t('qe.yes') : t('qe.no')),
        h('td', { 'data-field': 'service_level_seconds', class: 'num' }, targetText(q.service_level_seconds, 's')),
        h('td', { 'data-field': 'first_response_minutes', class: 'num' }, targetText(q.first_response_minutes, 'min')),
        h('td', { 'data-field': 'calendar' }, q.business_hours_id ? h('bdi', null, calendarName(q.business_hours_id)) : '',
          q.business_time_only ? h('span', { class: 'badge' }, t('qe.businessOnlyShort')) : null),
        canEditQueues() ? h('td', null, h('button', { type: 'button', class: 'btn small', 'data-testid': 'queue-edit', onclick: function () { editQueue(q); } }, t('bh.edit'))) : null);
    }))));
}

function editQueue(q) {
  var src = q || { name: '', channels: ['chat'], skills: [], language: null, priority: 0, auto_accept: false };
  QE.edit = {
    id: q ? q.id : null, name: src.name, channels: (src.channels || []).slice(), skills: (src.skills || []).join(', '),
    language: src.language || '', priority: String(src.priority || 0), auto_accept: !!src.auto_accept,
    serve_by_value: !!src.serve_by_value,
    service_level_seconds: typeof src.service_level_seconds === 'number' ? String(src.service_level_seconds) : '',
    first_response_minutes: typeof src.first_response_minutes === 'number' ? String(src.first_response_minutes) : '',
    business_hours_id: src.business_hours_id || '', business_time_only: !!src.business_time_only
  };
  renderQueueForm();
}

function qeInput(key, attrs) {
  var e = QE.edit;
  var el = h('input', Object.assign({ value: e[key], 'data-testid': 'queue-' + key.replace(/_/g, '-'),
    oninput: function () { e[key] = el.value; } }, attrs));
  return el;
}

function qeCheck(key) {
  var e = QE.edit;
  var el = h('input', { type: 'checkbox', checked: e[key], 'data-testid': 'queue-' + key.replace(/_/g, '-'),
    onchange: function () { e[key] = el.checked; } });
  return el;
}

function renderQueueForm() {
  var box = $('#queue-edit');
  if (!box) return;
  clear(box);
  var e = QE.edit;
  if (!e) return;
  var error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'queue-error' });
  var name = qeInput('name', { type: 'text', required: true, dir: 'auto' });
  var number = function (key, min, max) { return qeInput(key, { type: 'text', inputmode: 'numeric', dir: 'ltr', size: '7', 'data-min': min, 'data-max': max }); };
  var calendar = h('select', { 'data-testid': 'queue-calendar', onchange: function () { e.business_hours_id = calendar.value; } },
    h('option', { value: '', selected: !e.business_hours_id }, t('qe.noCalendar')),
    QE.calendars.map(function (c) { return h('option', { value: c.id, selected: c.id === e.business_hours_id }, c.name); }));
  var field = function (label, input, hint) {
    return h('label', { class: 'rep-field' }, h('span', null, label), input, hint ? h('small', { class: 'muted' }, hint) : null);
  };
  var form = h('form', { class: 'bh-form qe-form', 'data-testid': 'queue-form', onsubmit: function (ev) { ev.preventDefault(); saveQueue(error); } },
    h('h2', null, e.id ? t('bh.editing', { name: e.name }) : t('qe.new')),
    field(t('qe.name'), name),
    h('fieldset', { 'data-testid': 'queue-channels' }, h('legend', null, t('qe.col.channels')),
      h('div', { class: 'qe-row' }, CHANNELS.map(function (c) {
        return h('label', { class: 'qe-check' }, h('input', { type: 'checkbox', value: c, checked: e.channels.indexOf(c) >= 0, 'data-channel': c,
          onchange: function (ev) {
            var k = e.channels.indexOf(c);
            if (ev.target.checked && k < 0) e.channels.push(c);
            if (!ev.target.checked && k >= 0) e.channels.splice(k, 1);
          } }), t('channel.' + c));
      }))),
    h('div', { class: 'qe-row' },
      field(t('qe.col.skills'), qeInput('skills', { type: 'text', dir: 'auto' }), t('qe.skillsHint')),
      field(t('qe.col.language'), qeInput('language', { type: 'text', dir: 'ltr', size: '6', placeholder: 'fa' })),
      field(t('qe.col.priority'), number('priority', -1000, 1000))),
    h('label', { class: 'qe-check' }, qeCheck('auto_accept'), t('qe.autoAccept')),
    h('label', { class: 'qe-check' }, qeCheck('serve_by_value'), t('qe.serveByValue')),
    h('fieldset', null, h('legend', null, t('qe.targets')),
      h('div', { class: 'qe-row' },
        field(t('qe.col.service_level_seconds') + ' (' + t('qe.unit.s') + ')', number('service_level_seconds', 0, 100000), t('qe.slHint')),
        field(t('qe.col.first_response_minutes') + ' (' + t('qe.unit.min') + ')', number('first_response_minutes', 0, 100000), t('qe.frHint')))),
    h('fieldset', null, h('legend', null, t('qe.col.calendar')),
      field(t('qe.calendar'), calendar),
      h('label', { class: 'qe-check' }, qeCheck('business_time_only'), t('qe.businessOnly'))),
    error,
    h('div', { class: 'bh-buttons' },
      h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'queue-save' }, t('bh.save')),
      h('button', { type: 'button', class: 'btn', onclick: function () { QE.edit = null; renderQueueForm(); } }, t('bh.cancel'))));
  box.appendChild(form);
  name.focus();
}

// A whole number typed with any digits; '' is 0 (the default applies). NaN when it is not one.
function qeNumber(text) {
  var s = asciiDigits(String(text || '')).trim();
  if (s === '') return 0;
  return /^-?[0-9]+$/.test(s) ? parseInt(s, 10) : NaN;
}

function queueBody(error) {
  var e = QE.edit;
  var nums = {};
  var bad = null;
  [['priority', -1000, 1000], ['service_level_seconds', 0, 100000], ['first_response_minutes', 0, 100000]].forEach(function (r) {
    var v = qeNumber(e[r[0]]);
    if (isNaN(v) || v < r[1] || v > r[2]) bad = bad || t('qe.badNumber', { field: t('qe.col.' + r[0]), min: fmtNum(r[1]), max: fmtNum(r[2]) });
    nums[r[0]] = v;
  });
  if (!e.channels.length) bad = bad || t('qe.noChannels');
  if (e.business_time_only && !e.business_hours_id) bad = bad || t('qe.needCalendar');
  if (bad) { error.textContent = bad; return null; }
  return {
    name: e.name.trim(), channels: CHANNELS.filter(function (c) { return e.channels.indexOf(c) >= 0; }),
    skills: e.skills.split(/[,،]/).map(function (s) { return s.trim(); }).filter(Boolean),
    language: e.language.trim(), priority: nums.priority, auto_accept: e.auto_accept,
    serve_by_value: e.serve_by_value,
    service_level_seconds: nums.service_level_seconds, first_response_minutes: nums.first_response_minutes,
    business_hours_id: e.business_hours_id || null, business_time_only: e.business_time_only
  };
}

function saveQueue(error) {
  var e = QE.edit;
  var body = queueBody(error);
  if (!body) return;
  var req = e.id ? api('PATCH', '/queues/' + encodeURIComponent(e.id), body) : api('POST', '/queues', body);
  req.then(function () {
    toast(t('qe.saved', { name: body.name }), 'info');
    QE.edit = null;
    renderQueueForm();
    loadQueuesPage();
  }, function (err) { error.textContent = t('error.generic', { msg: errMsg(err) }); });
}

// A queue was created or changed (on any console of the deployment): re-read the queues the
// console knows (names, targets shown on the wallboard), and the queues page if it is open.
function queueEvent(ev) {
  if (!ev || !/^queue\.(created|updated)$/.test(ev.kind || '')) return;
  api('GET', '/queues?limit=500').then(function (p) {
    S.queues = (p && p.items) || S.queues;
    if ($('#queues') && !QE.edit) loadQueuesPage();
    else if (isWallboardView() && (WB.queues || WB.agents)) renderWallboardData();
  }, function () { /* the next event or reload tries again */ });
}
