// route.js: a URL per view and per conversation — #/mine, #/unassigned/<conversation id>,
// #/supervisor — so a reload or a shared link opens the same place.

var TABS = ['mine', 'unassigned', 'open'];

function routeHash() {
  if (extraRoute()) return extraRoute();
  if (S.view === 'supervisor') return '#/supervisor';
  return '#/' + S.tab + (S.currentId ? '/' + encodeURIComponent(S.currentId) : '');
}

function saveRoute() {
  if (!S.me) return;
  var want = routeHash();
  if (location.hash !== want) history.replaceState(null, '', want);
}

// Apply the URL's view and tab to the state; returns the conversation id it names, if any.
function readRoute() {
  if (readExtraRoute(location.hash)) return null;
  var parts = location.hash.replace(/^#\/?/, '').split('/');
  if (parts[0] === 'supervisor' && isSupervisor()) { S.view = 'supervisor'; return null; }
  if (TABS.indexOf(parts[0]) >= 0) S.tab = parts[0];
  return parts[1] ? decodeURIComponent(parts[1]) : null;
}

// A link pasted into the address bar of an open console.
window.addEventListener('hashchange', function () {
  if (!S.me || location.hash === routeHash()) return;
  var view = S.view, wall = S.wall;
  S.view = 'inbox';
  var id = readRoute();
  if (S.wall !== wall) renderAll();
  else if (S.view !== view) { renderTopbar(); renderMain(); } else renderListPane();
  loadList();
  if (id && id !== S.currentId) openConversation(id);
});
