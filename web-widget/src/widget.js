// Switchboard website chat widget: configuration, storage and DOM helpers. build.mjs joins
// i18n.js, this file, ui.js, socket.js, composer.js and api.js (in that order) and
// wraps them in one IIFE; CSS is injected at the __CSS__ placeholder.
var W = window;
var D = document;
if (W.Switchboard && W.Switchboard.version) return;

var VERSION = '0.1.0';
var CSS = __CSS__;

// ---------------------------------------------------------------- config
function findScript() {
  var s = D.currentScript;
  if (s && s.getAttribute('data-site')) return s;
  var all = D.querySelectorAll('script[data-site]');
  for (var i = all.length - 1; i >= 0; i--) {
    if (/widget\.js([?#]|$)/.test(all[i].src)) return all[i];
  }
  return all[all.length - 1] || null;
}

var script = findScript();
var settings = W.SwitchboardSettings || {};
function attr(name) {
  return script ? script.getAttribute('data-' + name) : null;
}
var SITE = settings.site || attr('site');
if (!SITE) {
  console.warn('[switchboard] widget.js needs a data-site attribute');
  return;
}
function originOf(value) {
  if (!value) return '';
  if (!/^https?:\/\//i.test(value)) value = 'https://' + value;
  try { return new URL(value).origin; } catch (e) { return ''; }
}
var SERVER = originOf(settings.server || attr('server')) ||
  (script && script.src ? new URL(script.src, location.href).origin : location.origin);
var WS_URL = SERVER.replace(/^http/i, 'ws') + '/ws/widget?site=' + encodeURIComponent(SITE);
var UPLOAD_URL = SERVER + '/api/v1/widget/attachments';
var MAX_FILE_MB = parseFloat(settings.maxFileMb || attr('max-file-mb')) || 10;
var LOCALE = pickLocale([settings.locale, attr('locale'), D.documentElement.lang, navigator.language]);
var DIR = LOCALE === 'fa' ? 'rtl' : 'ltr';
var t = makeT(LOCALE);
var ACCENT = settings.color || attr('color');
var timeFmt = new Intl.DateTimeFormat(LOCALE === 'fa' ? 'fa-IR' : 'en', { hour: '2-digit', minute: '2-digit' });
var fullFmt = new Intl.DateTimeFormat(LOCALE === 'fa' ? 'fa-IR' : 'en', { dateStyle: 'medium', timeStyle: 'short' });

// ---------------------------------------------------------------- storage
// One localStorage entry per site:
// {token, seq, read, seen, sentRead, conv, site, msgs[], outbox[], prechat, rated{}, uid, open}
var SKEY = 'switchboard:' + SITE;
var MAX_CACHED = 200;
function loadStore() {
  try { return JSON.parse(localStorage.getItem(SKEY)) || {}; } catch (e) { return {}; }
}
var store = loadStore();
function defaults() {
  store.seq = store.seq || 0;
  store.read = store.read || 0;
  store.seen = store.seen || 0;
  store.sentRead = store.sentRead || 0;
  store.msgs = store.msgs || [];
  store.outbox = store.outbox || [];
  store.rated = store.rated || {};
}
defaults();
function save() {
  if (store.msgs.length > MAX_CACHED) store.msgs = store.msgs.slice(-MAX_CACHED);
  try { localStorage.setItem(SKEY, JSON.stringify(store)); } catch (e) { /* storage full or blocked */ }
}

function uuid() {
  if (W.crypto && crypto.randomUUID) return crypto.randomUUID();
  var b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
}

// ---------------------------------------------------------------- DOM helpers
function h(tag, props, kids) {
  var el = D.createElement(tag);
  if (props) {
    for (var k in props) {
      var v = props[k];
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k === 'html') el.innerHTML = v;
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  if (kids) {
    for (var i = 0; i < kids.length; i++) {
      if (kids[i] != null) el.appendChild(typeof kids[i] === 'string' ? D.createTextNode(kids[i]) : kids[i]);
    }
  }
  return el;
}
function svg(body, cls) {
  return '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"' + (cls ? ' class="' + cls + '"' : '') +
    ' fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">' + body + '</svg>';
}
var ICON = {
  chat: svg('<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/>'),
  close: svg('<path d="M6 6l12 12M18 6L6 18"/>'),
  send: svg('<path d="M4 12l16-8-6 16-2.5-6.5z"/><path d="M11.5 13.5L20 4"/>', 'flip'),
  clip: svg('<path d="M20 11.5l-8 8a5 5 0 0 1-7-7l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7L9.7 17.2a1.7 1.7 0 0 1-2.4-2.4L15 7.2"/>'),
  file: svg('<path d="M14 3H6v18h12V7z"/><path d="M14 3v4h4"/>'),
  sending: svg('<circle cx="12" cy="12" r="8"/><path d="M12 8v4l3 2"/>'),
  sent: svg('<path d="M5 12.5l4.5 4.5L19 7.5"/>'),
  read: svg('<path d="M2 12.5l4.5 4.5L16 7.5"/><path d="M11 16l1 1 9.5-9.5"/>'),
  failed: svg('<circle cx="12" cy="12" r="9"/><path d="M12 7.5v5.5M12 16.5v.5"/>')
};
function fmtSize(n) {
  var s = n >= 1048576 ? (n / 1048576).toFixed(1) + ' MB' : Math.max(1, Math.round(n / 1024)) + ' KB';
  return LOCALE === 'fa' ? toFaDigits(s) : s;
}
function safeUrl(u) {
  if (!u) return null;
  if (/^blob:/.test(u)) return u;
  try {
    var x = new URL(u, SERVER + '/');
    return /^https?:$/.test(x.protocol) ? x.href : null;
  } catch (e) { return null; }
}
// Text with http(s) links turned into anchors; never uses innerHTML.
function richText(el, text) {
  var parts = String(text || '').split(/(https?:\/\/[^\s<>"]+)/);
  for (var i = 0; i < parts.length; i++) {
    if (!parts[i]) continue;
    if (i % 2 === 0) { el.appendChild(D.createTextNode(parts[i])); continue; }
    // Punctuation right after an address ("… /track/42.") is the sentence's, not the link's.
    var tail = (/[.,;:!?)\]}»،؛؟]+$/.exec(parts[i]) || [''])[0];
    var url = parts[i].slice(0, parts[i].length - tail.length);
    el.appendChild(h('a', { href: url, target: '_blank', rel: 'noopener noreferrer nofollow', dir: 'ltr', text: url }));
    if (tail) el.appendChild(D.createTextNode(tail));
  }
}

