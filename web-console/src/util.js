// util.js: DOM building, formatting and the API client.
// Server text only ever reaches the page through textContent, attribute
// values or text nodes created here; nothing in the console uses innerHTML.

var SVG_NS = 'http://www.w3.org/2000/svg';

// h('div', {class: 'x', 'data-testid': 'y', onclick: fn}, child, ...)
// Children may be nodes, strings/numbers (become text nodes), arrays, or
// null/false (skipped).
function h(tag, attrs) {
  var el = document.createElement(tag);
  if (attrs) setAttrs(el, attrs);
  for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
  return el;
}

function setAttrs(el, attrs) {
  for (var k in attrs) {
    var v = attrs[k];
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k.slice(0, 2) === 'on' && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
  if (typeof child === 'string' || typeof child === 'number') el.appendChild(document.createTextNode(String(child)));
  else el.appendChild(child);
}

// Text with its web addresses as links that open in a new tab; everything else stays text
// (nodes, never markup). Punctuation right after an address ("… /track/42.") is not part of it.
function linkedText(text) {
  var out = [];
  String(text || '').split(/(https?:\/\/[^\s<>"]+)/).forEach(function (part, i) {
    if (!part) return;
    if (i % 2 === 0) { out.push(part); return; }
    var tail = (/[.,;:!?)\]}»،؛؟]+$/.exec(part) || [''])[0];
    var url = part.slice(0, part.length - tail.length);
    out.push(h('a', { href: url, target: '_blank', rel: 'noopener noreferrer nofollow', dir: 'ltr', 'data-testid': 'message-link' }, url));
    if (tail) out.push(tail);
  });
  return out;
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

function $(sel, root) { return (root || document).querySelector(sel); }

// Icons: our own stroke paths, built with createElementNS.
var ICON_PATHS = {
  email: 'M2 4h12v8H2z M2 4l6 5 6-5',
  chat: 'M2 3h12v8H7l-3 3v-3H2z',
  phone: 'M4.5 2h2l1 3-1.5 1.2a8 8 0 0 0 3.8 3.8L11 8.5l3 1v2a1.5 1.5 0 0 1-1.5 1.5A10.5 10.5 0 0 1 3 3.5 1.5 1.5 0 0 1 4.5 2z',
  fax: 'M4 2h6l2 2v2H4z M2 6h12v6H2z M4 10h8v4H4z',
  api: 'M5 3L2 8l3 5 M11 3l3 5-3 5 M9.5 3l-3 10',
  sms: 'M2 3h12v8H7l-3 3v-3H2z M5 7h6',
  other: 'M8 2a6 6 0 1 0 0 12A6 6 0 0 0 8 2z'
};

function icon(name, label) {
  var svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('width', '16');
  svg.setAttribute('height', '16');
  svg.setAttribute('class', 'icon icon-' + (ICON_PATHS[name] ? name : 'other'));
  if (label) {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
    var title = document.createElementNS(SVG_NS, 'title');
    title.textContent = label;
    svg.appendChild(title);
  } else {
    svg.setAttribute('aria-hidden', 'true');
  }
  var path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', ICON_PATHS[name] || ICON_PATHS.other);
  svg.appendChild(path);
  return svg;
}

function channelIcon(channel) {
  return icon(channel, t('channel.' + channel, null, channel));
}

// Formatting follows the UI language: Persian digits and calendar in fa.
// The Persian UI uses the Jalali calendar; the English one when the agent chose it
// (notifications menu, kept per browser).
function locale() {
  if (LANG === 'fa') return 'fa-IR';
  return calendarPref() === 'persian' ? 'en-GB-u-ca-persian' : 'en-GB';
}

function calendarPref() {
  try { return localStorage.getItem('switchboard.console.calendar') || ''; } catch (e) { return ''; }
}

// The agent's time zone for dates and times (notifications menu, kept per browser); empty:
// the browser's own.
function tzPref() {
  try { return localStorage.getItem('switchboard.console.timezone') || ''; } catch (e) { return ''; }
}

function withTz(opts) {
  var z = tzPref();
  if (z) opts.timeZone = z;
  return opts;
}

function dayKey(d) { return new Intl.DateTimeFormat('en-CA', withTz({ year: 'numeric', month: '2-digit', day: '2-digit' })).format(d); }

function fmtNum(n) {
  if (n === null || n === undefined || n === '') return '';
  if (typeof n !== 'number') return String(n);
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(n);
}

function parseTime(s) {
  var d = s ? new Date(s) : null;
  return d && !isNaN(d.getTime()) ? d : null;
}

// Short time for lists: clock time today, otherwise day and month.
function fmtShortTime(s) {
  var d = parseTime(s);
  if (!d) return '';
  var sameDay = dayKey(d) === dayKey(new Date());
  var opts = sameDay ? { hour: '2-digit', minute: '2-digit' } : { month: 'short', day: 'numeric' };
  return new Intl.DateTimeFormat(locale(), withTz(opts)).format(d);
}

// A time in a conversation's thread: the clock today, the day and the clock before (a day
// alone said when a message came, not at what time).
function fmtThreadTime(s) {
  var d = parseTime(s);
  if (!d) return '';
  if (dayKey(d) === dayKey(new Date())) return fmtShortTime(s);
  return new Intl.DateTimeFormat(locale(), withTz({ month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })).format(d);
}

function fmtDateTime(s) {
  var d = parseTime(s);
  if (!d) return '';
  return new Intl.DateTimeFormat(locale(), withTz({ year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })).format(d);
}

function fmtCountdown(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  var m = Math.floor(seconds / 60), s = seconds % 60;
  var nf = new Intl.NumberFormat(locale(), { minimumIntegerDigits: 2 });
  return new Intl.NumberFormat(locale()).format(m) + ':' + nf.format(s);
}

function convNumber(c) { return '#' + new Intl.NumberFormat(locale(), { useGrouping: false }).format(c.number); }

// Strong-direction detection for text we lay out ourselves (dir="auto" is
// used on bubbles too; this picks the side for mixed content).
var RTL_CHAR = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/;
var LTR_CHAR = /[A-Za-z\u00C0-\u024F]/;
function textDir(s) {
  s = String(s || '');
  for (var i = 0; i < s.length; i++) {
    var ch = s.charAt(i);
    if (RTL_CHAR.test(ch)) return 'rtl';
    if (LTR_CHAR.test(ch)) return 'ltr';
  }
  return 'auto';
}

// ---- API client ---------------------------------------------------------

function ApiError(status, code, message) {
  this.status = status;
  this.code = code;
  this.message = message;
}

var API_BASE = '/api/v1';

function api(method, path, body) {
  var opts = { method: method, credentials: 'same-origin', headers: { 'accept': 'application/json' } };
  if (body !== undefined) {
    opts.headers['content-type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  return fetch(API_BASE + path, opts).then(function (res) {
    if (res.status === 204) return null;
    return res.text().then(function (text) {
      var data = null;
      if (text) { try { data = JSON.parse(text); } catch (e) { data = null; } }
      if (!res.ok) {
        var err = new ApiError(res.status, (data && data.code) || 'http_' + res.status, (data && data.error) || res.statusText);
        if (res.status === 401 && path !== '/auth/login' && path !== '/auth/me') onUnauthorized();
        throw err;
      }
      return data;
    });
  });
}

function qs(params) {
  var parts = [];
  for (var k in params) {
    if (params[k] === undefined || params[k] === null || params[k] === '') continue;
    parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(params[k]));
  }
  return parts.length ? '?' + parts.join('&') : '';
}

function debounce(fn, ms) {
  var timer = null;
  return function () {
    var args = arguments;
    clearTimeout(timer);
    timer = setTimeout(function () { fn.apply(null, args); }, ms);
  };
}

function isTyping(e) {
  var el = e.target;
  if (!el || !el.tagName) return false;
  var tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable;
}
