// notify.js: desktop notifications and a sound, each switchable (kept per browser), for offers,
// customer messages in my conversations and ringing calls. The tab title counts unread rows.

var NOTIFY_KEY = 'switchboard.console.notify';

function notifyPrefs() {
  try { return JSON.parse(localStorage.getItem(NOTIFY_KEY) || '{}') || {}; } catch (e) { return {}; }
}

function setNotifyPref(key, on) {
  var p = notifyPrefs();
  p[key] = on;
  try { localStorage.setItem(NOTIFY_KEY, JSON.stringify(p)); } catch (e) { /* private mode */ }
}

function notifyToggles() {
  var p = notifyPrefs();
  var desktop = h('input', { type: 'checkbox', 'data-testid': 'notify-desktop', checked: !!p.desktop,
    onchange: function () {
      setNotifyPref('desktop', desktop.checked);
      if (desktop.checked && window.Notification && Notification.permission === 'default') Notification.requestPermission();
    } });
  var sound = h('input', { type: 'checkbox', 'data-testid': 'notify-sound', checked: !!p.sound,
    onchange: function () { setNotifyPref('sound', sound.checked); } });
  var jalali = LANG === 'fa' ? null : h('input', { type: 'checkbox', 'data-testid': 'calendar-jalali', checked: calendarPref() === 'persian',
    onchange: function () {
      try { localStorage.setItem('switchboard.console.calendar', jalali.checked ? 'persian' : ''); } catch (e) { /* private mode */ }
      renderAll();
    } });
  var zones = (Intl.supportedValuesOf ? Intl.supportedValuesOf('timeZone') : ['Asia/Tehran', 'UTC']);
  var zone = h('select', { 'data-testid': 'time-zone', 'aria-label': t('timezone.label'),
    onchange: function () {
      try { localStorage.setItem('switchboard.console.timezone', zone.value); } catch (e) { /* private mode */ }
      renderAll();
    } },
    h('option', { value: '', selected: !tzPref() }, t('timezone.browser')),
    zones.map(function (z) { return h('option', { value: z, selected: tzPref() === z }, z); }));
  return h('details', { class: 'notify-menu' },
    h('summary', { class: 'btn', 'data-testid': 'notify-menu' }, t('notify.label')),
    h('div', { class: 'notify-options' },
      h('label', null, desktop, ' ', t('notify.desktop')),
      h('label', null, sound, ' ', t('notify.sound')),
      jalali ? h('label', null, jalali, ' ', t('calendar.jalali')) : null,
      h('label', null, t('timezone.label'), ' ', zone)));
}

var audioCtx = null;
function beep() {
  var Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  try {
    audioCtx = audioCtx || new Ctx();
    var osc = audioCtx.createOscillator();
    var gain = audioCtx.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.08;
    osc.connect(gain);
    gain.connect(audioCtx.destination);
    osc.start();
    osc.stop(audioCtx.currentTime + 0.18);
  } catch (e) { /* no audio */ }
}

// One notification per `tag` (an offer, a message, a call).
function notify(title, body, tag) {
  var p = notifyPrefs();
  if (p.sound) beep();
  if (!p.desktop || !window.Notification || Notification.permission !== 'granted') return;
  try { new Notification(title, { body: body || '', tag: tag, lang: LANG }); } catch (e) { /* unsupported */ }
}
