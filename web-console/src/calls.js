// calls.js: what the server writes about calls and faxes, in the agent's language — the
// subjects it gives call conversations ("Missed call from …") and each call entry's line,
// rendered from the entry's structured `meta` (direction, disposition, durations, pages).

var SUBJECT_FORMS = [
  [/^Missed call from (.+)$/, 'subject.missed'],
  [/^Inbound call from (.+)$/, 'subject.inboundCall'],
  [/^Outbound call to (.+)$/, 'subject.outboundCall'],
  [/^Inbound fax from (.+)$/, 'subject.inboundFax'],
  [/^Outbound fax to (.+)$/, 'subject.outboundFax']
];

// The form a server-written subject has, with its number; null for any other subject.
function subjectForm(s) {
  for (var i = 0; s && i < SUBJECT_FORMS.length; i++) {
    var m = SUBJECT_FORMS[i][0].exec(s);
    if (m) return { key: SUBJECT_FORMS[i][1], number: m[1] };
  }
  return null;
}

// A server-written subject in the UI language; anything else as it is.
function localSubject(s) {
  if (!s || LANG === 'en') return s;
  var form = subjectForm(s);
  return form ? t(form.key, { n: '\u2066' + form.number + '\u2069' }) : s;
}

// A subject on one line that may be cut (a list row, a search hit, the history): a call's or
// fax's number stays whole and its words give way ("…9124445566 تماس ورودی از" had lost the
// number's first digits at the cut); any other subject is one text that ends in "…".
function subjectLine(s, fallback, cls) {
  var form = subjectForm(s);
  if (!form) return h('span', { class: cls, dir: 'auto' }, localSubject(s) || fallback);
  var words = function (x) { return x.trim() ? h('span', { class: 'subject-words' }, x.trim()) : null; };
  var parts = t(form.key, { n: '\u0000' }).split('\u0000');
  return h('span', { class: cls + ' split', dir: 'auto', title: localSubject(s) },
    words(parts[0]), h('bdi', { class: 'subject-number', dir: 'ltr' }, form.number), words(parts[1] || ''));
}

function clockText(secs) {
  return fmtCountdown(typeof secs === 'number' ? secs : 0);
}

// The line of a call or fax entry, or null when the message is not one.
function callLine(m) {
  var d = m.meta || {};
  if ((d.kind !== 'call' && d.kind !== 'fax') || !d.direction || !d.disposition) return null;
  var dir = t('callDir.' + d.direction, null, d.direction);
  var line;
  if (d.kind === 'fax') {
    line = t('callLine.fax', { dir: dir, pages: fmtNum(d.fax_pages || 0), status: d.fax_status || '' });
  } else if (d.disposition === 'answered') {
    line = t('callLine.answered', { dir: dir, time: clockText(d.billsec) });
  } else if (d.disposition === 'no_answer') {
    line = t('callLine.no_answer', { dir: dir, time: clockText(d.duration_secs) });
  } else {
    line = t('callLine.' + d.disposition, { dir: dir }, dir);
  }
  // A call that went through a PBX queue: the queue, the wait and the agent (queue log).
  if (d.kind === 'call' && d.queue) {
    line += t('callLine.queue', { queue: d.queue });
    if (typeof d.wait_seconds === 'number') line += t('callLine.queueWait', { wait: clockText(d.wait_seconds) });
    if (d.queue_agent) line += t('callLine.queueAgent', { agent: d.queue_agent });
  }
  // Notes written with the call follow the server's summary line.
  var notes = String(m.body || '').split('\n').slice(1).join('\n').trim();
  return notes ? line + '\n' + notes : line;
}

// Click-to-call: a button beside a customer's phone number. The server has the PBX ring the
// agent's own phone first, then dial the number; the call reaches the customer's history by
// itself once it ends.
function dialButton(customerId, number) {
  return h('button', {
    type: 'button', class: 'btn small', 'data-testid': 'call-dial', title: t('call.dial'),
    onclick: function (e) {
      var btn = e.currentTarget;
      btn.disabled = true;
      api('POST', '/channels/voice/calls/originate', { customer_id: customerId, number: number }).then(function () {
        toast(t('call.dialing', { n: '\u2066' + number + '\u2069' }), 'info', { testid: 'call-dialing' });
      }, function (err) {
        toast(t('error.generic', { msg: errMsg(err) }), 'error');
      }).then(function () { btn.disabled = false; });
    }
  }, channelIcon('phone'), ' ', t('call.dial'));
}

// A link to the call's recording (from the PBX's recording URL template), or null.
function callRecording(m) {
  var u = m.meta && m.meta.recording_url;
  if (typeof u !== 'string' || !/^https?:\/\//i.test(u)) return null;
  return h('a', { class: 'recording', href: u, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'call-recording' }, t('call.recording'));
}
