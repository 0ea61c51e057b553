// mentions.js: @mentions in internal notes. Typing "@" and a few letters in note mode lists the
// active agents; choosing one writes "@Name" and remembers the agent for this draft. The note
// is sent with the ids whose "@Name" is still in the text; the mentioned agent's console shows
// a toast (and a notification) that opens the conversation.

// Chosen mentions per conversation draft: {convId: [{id, name}]}.
var draftMentions = {};

// The "@word" the caret is in, or null: {start, end, q}.
function atQuery(ta) {
  var pos = ta.selectionStart;
  var before = ta.value.slice(0, pos);
  var m = /(^|\s)@([^\s@]{0,30})$/.exec(before);
  if (!m) return null;
  return { start: pos - m[2].length - 1, end: pos, q: m[2] };
}

// The ids of agents chosen in this draft whose "@Name" is still in `text`.
function mentionIds(convId, text) {
  return (draftMentions[convId] || []).filter(function (m) {
    return text.indexOf('@' + m.name) >= 0;
  }).map(function (m) { return m.id; }).filter(function (id, i, all) { return all.indexOf(id) === i; });
}

function forgetMentions(convId) { delete draftMentions[convId]; }

function mentionCandidates(q) {
  var fold = String(q || '').toLocaleLowerCase();
  return (S.agents || []).filter(function (a) {
    return a.active !== false && String(a.name || '').toLocaleLowerCase().indexOf(fold) === 0;
  }).slice(0, 8);
}

function mentionPicker(ta) {
  var list = h('ul', { class: 'canned-picker mention-picker', role: 'listbox', 'aria-label': t('mention.label'),
    hidden: true, 'data-testid': 'mention-picker' });
  var items = [];
  var active = 0;
  function close() { list.hidden = true; items = []; }
  function choose(i) {
    var a = items[i];
    var at = atQuery(ta);
    var id = S.currentId;
    close();
    if (!a || !at || !id) return;
    var text = ta.value;
    ta.value = text.slice(0, at.start) + '@' + a.name + ' ' + text.slice(at.end);
    var caret = at.start + a.name.length + 2;
    ta.focus();
    ta.setSelectionRange(caret, caret);
    S.drafts[id] = ta.value;
    (draftMentions[id] = draftMentions[id] || []).push({ id: a.id, name: a.name });
  }
  function show() {
    var at = S.composeInternal ? atQuery(ta) : null;
    if (!at) { close(); return; }
    items = mentionCandidates(at.q);
    if (!items.length) { close(); return; }
    clear(list);
    active = Math.min(active, items.length - 1);
    items.forEach(function (a, i) {
      list.appendChild(h('li', { role: 'option', class: i === active ? 'active' : '', 'aria-selected': i === active ? 'true' : 'false',
        'data-testid': 'mention-option', onmousedown: function (e) { e.preventDefault(); }, onclick: function () { choose(i); } },
        h('span', { class: 'title', dir: 'auto' }, a.name),
        h('span', { class: 'preview muted', dir: 'ltr' }, a.email || '')));
    });
    list.hidden = false;
  }
  ta.addEventListener('input', function () { active = 0; show(); });
  ta.addEventListener('keydown', function (e) {
    if (list.hidden || !items.length) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      active = (active + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      show();
    } else if ((e.key === 'Enter' && !e.ctrlKey && !e.metaKey) || e.key === 'Tab') {
      e.preventDefault();
      e.stopImmediatePropagation();
      choose(active);
    } else if (e.key === 'Escape') {
      close();
    }
  });
  ta.addEventListener('blur', function () { setTimeout(close, 150); });
  return list;
}

// `conversation.mentioned` for me: a toast that opens the conversation, and a notification.
function onMentioned(ev) {
  var d = ev.data || {};
  if (!S.me || (d.agent_ids || []).indexOf(S.me.id) < 0) return;
  var text = t('mention.toast', { name: agentName(d.by) || t('mention.someone'), num: d.number ? convNumber({ number: d.number }) : '' });
  var el = toast(h('div', null,
    h('div', { class: 'toast-title' }, text),
    d.excerpt ? h('div', { class: 'muted', dir: 'auto', 'data-testid': 'mention-excerpt' }, d.excerpt) : null,
    h('button', { type: 'button', class: 'btn small', 'data-testid': 'mention-open',
      onclick: function () { if (el) el.remove(); openConversation(ev.conversation_id); } }, t('mention.open'))),
    'info', { testid: 'mention-toast', ttl: 15000 });
  notify(text, d.excerpt || '', 'mention-' + (d.message_id || ev.id));
}
