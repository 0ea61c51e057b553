// teams.js: teams (#/teams, admins): each team's name, the queues it claims and its members,
// and the deployment's switch (access by team). With the switch on, agents and supervisors
// see only their teams' queues (plus what is assigned to them); a queue no team claims stays
// visible to everyone.

var TM = { items: null, error: null, edit: null, enabled: null };

function renderTeamsView(main) {
  main.appendChild(h('section', { id: 'teams', class: 'hours', 'data-testid': 'teams-view', 'aria-label': t('view.teams') },
    h('div', { class: 'wb-head' }, h('h1', null, t('view.teams')), h('div', { class: 'spacer' }),
      h('button', { type: 'button', class: 'btn primary', 'data-testid': 'teams-new', onclick: function () { editTeam(null); } }, t('tm.new'))),
    h('div', { id: 'teams-switch' }), h('div', { id: 'teams-list' }), h('div', { id: 'teams-edit' })));
  loadTeams();
}

function loadTeams() {
  api('GET', '/access').then(function (a) { TM.enabled = !!(a && a.teams_enabled); renderTeamsSwitch(); }, function () { TM.enabled = null; renderTeamsSwitch(); });
  api('GET', '/teams?limit=500').then(function (page) {
    TM.items = (page && page.items) || [];
    TM.error = null;
    renderTeams();
  }, function (err) {
    TM.items = null;
    TM.error = err;
    renderTeams();
  });
}

function renderTeamsSwitch() {
  var box = $('#teams-switch');
  if (!box) return;
  clear(box);
  if (TM.enabled === null) return;
  var box2 = h('input', { type: 'checkbox', checked: TM.enabled, 'data-testid': 'teams-enabled', onchange: function () {
    api('PUT', '/access', { teams_enabled: box2.checked }).then(function (a) {
      TM.enabled = !!a.teams_enabled;
      toast(t(TM.enabled ? 'tm.enabledOn' : 'tm.enabledOff'), 'info');
      renderTeamsSwitch();
    }, function (err) { box2.checked = TM.enabled; toast(t('error.generic', { msg: errMsg(err) }), 'error'); });
  } });
  box.appendChild(h('label', { class: 'tm-switch' }, box2, h('span', null, t('tm.enabled'))));
  box.appendChild(h('p', { class: 'hint muted' }, t('tm.enabledHint')));
}

function namesOf(ids, nameOf) {
  return (ids || []).map(nameOf).join(LANG === 'fa' ? '، ' : ', ');
}

function renderTeams() {
  var box = $('#teams-list');
  if (!box) return;
  clear(box);
  if (TM.error) { box.appendChild(h('p', { class: 'notice', role: 'alert' }, t('error.generic', { msg: errMsg(TM.error) }))); return; }
  if (!TM.items) { box.appendChild(h('p', { class: 'muted' }, t('list.loading'))); return; }
  if (!TM.items.length) { box.appendChild(h('p', { class: 'muted' }, t('tm.none'))); return; }
  box.appendChild(h('table', { class: 'stats bh-table', 'data-testid': 'teams-table' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('tm.name')), h('th', { scope: 'col' }, t('tm.queues')),
      h('th', { scope: 'col' }, t('tm.members')), h('th', null, ''))),
    h('tbody', null, TM.items.map(function (tm) {
      return h('tr', { 'data-testid': 'teams-row', 'data-id': tm.id },
        h('th', { scope: 'row' }, h('bdi', null, tm.name)),
        h('td', { 'data-testid': 'teams-queues' }, h('bdi', null, namesOf(tm.queue_ids, queueName))),
        h('td', { 'data-testid': 'teams-members' }, h('bdi', null, namesOf(tm.agent_ids, agentName))),
        h('td', null, h('button', { type: 'button', class: 'btn small', 'data-testid': 'teams-edit', onclick: function () { editTeam(tm); } }, t('tm.edit'))));
    }))));
}

function editTeam(tm) {
  TM.edit = { id: tm ? tm.id : null, name: tm ? tm.name : '', queue_ids: tm ? tm.queue_ids.slice() : [], agent_ids: tm ? tm.agent_ids.slice() : [] };
  renderTeamForm();
}

// A fieldset of checkboxes, one per item, kept in `chosen` (a list of ids).
function checkList(legend, testid, items, chosen) {
  return h('fieldset', { 'data-testid': testid }, h('legend', null, legend),
    items.map(function (it) {
      var box = h('input', { type: 'checkbox', value: it.id, checked: chosen.indexOf(it.id) >= 0, onchange: function () {
        var i = chosen.indexOf(it.id);
        if (box.checked && i < 0) chosen.push(it.id);
        if (!box.checked && i >= 0) chosen.splice(i, 1);
      } });
      return h('label', { class: 'tm-choice' }, box, h('bdi', null, it.name));
    }));
}

function renderTeamForm() {
  var box = $('#teams-edit');
  if (!box) return;
  clear(box);
  var e = TM.edit;
  if (!e) return;
  var error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'teams-error' });
  var name = h('input', { type: 'text', required: true, dir: 'auto', value: e.name, 'data-testid': 'teams-name', oninput: function () { e.name = name.value; } });
  var agents = S.agents.filter(function (a) { return a.active !== false; });
  box.appendChild(h('form', { class: 'bh-form', 'data-testid': 'teams-form', onsubmit: function (ev) { ev.preventDefault(); saveTeam(error); } },
    h('h2', null, e.id ? t('tm.editing', { name: e.name }) : t('tm.new')),
    h('label', { class: 'rep-field' }, h('span', null, t('tm.name')), name),
    checkList(t('tm.queues'), 'teams-queue-choices', S.queues, e.queue_ids),
    checkList(t('tm.members'), 'teams-member-choices', agents, e.agent_ids),
    error,
    h('div', { class: 'bh-buttons' },
      h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'teams-save' }, t('tm.save')),
      h('button', { type: 'button', class: 'btn', onclick: function () { TM.edit = null; renderTeamForm(); } }, t('tm.cancel')),
      e.id ? h('button', { type: 'button', class: 'btn danger', 'data-testid': 'teams-delete', onclick: function () { deleteTeam(error); } }, t('tm.delete')) : null)));
  name.focus();
}

function saveTeam(error) {
  var e = TM.edit;
  var body = { name: e.name.trim(), queue_ids: e.queue_ids.slice(), agent_ids: e.agent_ids.slice() };
  var req = e.id ? api('PATCH', '/teams/' + encodeURIComponent(e.id), body) : api('POST', '/teams', body);
  req.then(function () {
    toast(t('tm.saved'), 'info');
    TM.edit = null;
    renderTeamForm();
    loadTeams();
  }, function (err) { error.textContent = t('error.generic', { msg: errMsg(err) }); });
}

function deleteTeam(error) {
  var e = TM.edit;
  if (!window.confirm(t('tm.confirmDelete', { name: e.name }))) return;
  api('DELETE', '/teams/' + encodeURIComponent(e.id)).then(function () {
    TM.edit = null;
    renderTeamForm();
    loadTeams();
  }, function (err) { error.textContent = t('error.generic', { msg: errMsg(err) }); });
}
