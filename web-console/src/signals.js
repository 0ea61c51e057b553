// signals.js: live chat signals both ways — the agent's typing and read marks go to the
// visitor's widget; the visitor's typing shows above the composer and their read mark puts
// "Seen" on the agent's messages.

var typingState = { conv: null, sentAt: 0, timer: null };
var readSent = {};      // conversation id -> highest customer seq reported read
var visitorRead = {};   // conversation id -> highest seq the visitor has seen
var visitorTypingTimer = null;

function isChat() { return !!S.current && S.current.channel === 'chat'; }

function sendTyping(convId, on) {
  api('POST', '/channels/chat/conversations/' + encodeURIComponent(convId) + '/typing', { on: on }).then(null, function () { /* best effort */ });
}

// Called on every keystroke in the composer: "on" at most every 3 s, "off" after 4 s idle.
function agentTyping() {
  if (!isChat() || S.composeInternal) return;
  var id = S.current.id;
  var now = Date.now();
  if (typingState.conv !== id || now - typingState.sentAt > 3000) {
    typingState.conv = id;
    typingState.sentAt = now;
    sendTyping(id, true);
  }
  clearTimeout(typingState.timer);
  typingState.timer = setTimeout(agentStoppedTyping, 4000);
}

function agentStoppedTyping() {
  clearTimeout(typingState.timer);
  if (!typingState.conv) return;
  sendTyping(typingState.conv, false);
  typingState.conv = null;
  typingState.sentAt = 0;
}

// The visitor's messages shown in an open, visible chat are read.
function markChatRead() {
  if (!isChat() || document.visibilityState === 'hidden') return;
  var c = S.current;
  var last = 0;
  (c.messages || []).forEach(function (m) { if (m.author_kind === 'customer' && m.seq > last) last = m.seq; });
  if (!last || (readSent[c.id] || 0) >= last) return;
  readSent[c.id] = last;
  api('POST', '/channels/chat/conversations/' + encodeURIComponent(c.id) + '/read', { seq: last }).then(null, function () { readSent[c.id] = 0; });
}

document.addEventListener('visibilitychange', function () { if (S.me) markChatRead(); });

function onChatTyping(ev) {
  var d = ev.data || {};
  if (d.author !== 'visitor' || !S.current || ev.conversation_id !== S.current.id) return;
  var el = $('#visitor-typing');
  if (!el) return;
  el.hidden = !d.on;
  clearTimeout(visitorTypingTimer);
  if (d.on) visitorTypingTimer = setTimeout(function () { el.hidden = true; }, 6000);
}

function onChatRead(ev) {
  var d = ev.data || {};
  if (d.author !== 'visitor' || !ev.conversation_id || typeof d.seq !== 'number') return;
  visitorRead[ev.conversation_id] = Math.max(visitorRead[ev.conversation_id] || 0, d.seq);
  if (S.current && S.current.id === ev.conversation_id) syncSeen();
}

// "Seen" on the agent's chat messages the visitor has read.
function syncSeen() {
  var box = $('#messages');
  if (!box || !isChat()) return;
  var upto = visitorRead[S.current.id] || 0;
  (S.current.messages || []).forEach(function (m) {
    if (m.author_kind !== 'agent' || m.internal || m.seq > upto) return;
    var el = box.querySelector('[data-testid="message"][data-seq="' + m.seq + '"]');
    if (!el || el.querySelector('[data-testid="read-mark"]')) return;
    el.querySelector('.meta').appendChild(h('span', { class: 'delivery delivery-sent', 'data-testid': 'read-mark' }, t('chat.seen')));
  });
}

function visitorTypingLine() {
  return h('p', { id: 'visitor-typing', class: 'typing muted', 'data-testid': 'visitor-typing', hidden: true, role: 'status' }, t('chat.visitorTyping'));
}
