// collision.js: who else has this conversation open, and who is typing in it — so two agents
// do not answer one customer at once. Each console announces its open conversation (again
// every 20 s, and typing at most every 3 s); others forget an announcement after 45 s.

var viewers = {};          // conversation id -> {agent id: {name, typing, at}}
var viewing = { conv: null, timer: null, typingAt: 0, typingTimer: null };

function announceViewing(convId, on, typing) {
  fetch('/api/v1/conversations/' + encodeURIComponent(convId) + '/viewing', {
    method: 'POST', credentials: 'same-origin', keepalive: true,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ on: on, typing: !!typing })
  }).then(null, function () { /* best effort */ });
}

function startViewing(id) {
  if (viewing.conv === id) return;
  if (viewing.conv) announceViewing(viewing.conv, false);
  viewing.conv = id;
  announceViewing(id, true);
  clearInterval(viewing.timer);
  viewing.timer = setInterval(function () {
    if (viewing.conv) announceViewing(viewing.conv, true, Date.now() - viewing.typingAt < 4000);
    renderCollision();
  }, 20000);
}

function stopViewing() {
  if (viewing.conv) announceViewing(viewing.conv, false);
  viewing.conv = null;
  clearInterval(viewing.timer);
}

// Keystrokes in the composer: "typing" at most every 3 s, back to "viewing" after 4 s idle.
function typingViewing() {
  if (!viewing.conv) return;
  var now = Date.now();
  if (now - viewing.typingAt > 3000) announceViewing(viewing.conv, true, true);
  viewing.typingAt = now;
  clearTimeout(viewing.typingTimer);
  viewing.typingTimer = setTimeout(function () {
    if (viewing.conv) announceViewing(viewing.conv, true, false);
  }, 4000);
}

function onViewing(ev) {
  var d = ev.data || {};
  if (!ev.conversation_id || !d.viewer_id || d.viewer_id === S.me.id) return;
  var m = viewers[ev.conversation_id] = viewers[ev.conversation_id] || {};
  if (d.on) m[d.viewer_id] = { name: d.viewer_name || agentName(d.viewer_id), typing: !!d.typing, at: Date.now() };
  else delete m[d.viewer_id];
  renderCollision();
}

function renderCollision() {
  var el = $('#collision');
  if (!el || !S.currentId) return;
  var m = viewers[S.currentId] || {};
  var now = Date.now();
  var parts = [];
  Object.keys(m).forEach(function (k) {
    if (now - m[k].at > 45000) { delete m[k]; return; }
    parts.push(t(m[k].typing ? 'collision.typing' : 'collision.viewing', { name: m[k].name }));
  });
  el.textContent = parts.join(' · ');
  el.hidden = !parts.length;
}

window.addEventListener('pagehide', stopViewing);
