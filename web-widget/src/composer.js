// Widget input: composer with its outbox, files, pre-chat form and rating.
// ---------------------------------------------------------------- composer
var typingOn = false;
var typingSentAt = 0;
var typingTimer;
// dir="auto" would flip the placeholder of an empty field, so follow the text instead.
function followDir(el) {
  el.dir = textDir(el.value, DIR);
}
function onInput() {
  followDir(input);
  input.style.height = 'auto';
  input.style.height = Math.min(input.scrollHeight, 120) + 'px';
  if (!input.value.trim()) { stopTyping(); return; }
  var now = Date.now();
  if (ready && (!typingOn || now - typingSentAt > 5000) && wsSend({ type: 'typing', on: true })) {
    typingOn = true;
    typingSentAt = now;
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, 2500);
}
function stopTyping() {
  clearTimeout(typingTimer);
  if (typingOn) {
    typingOn = false;
    if (ready) wsSend({ type: 'typing', on: false });
  }
}
function onComposerKey(e) {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    sendText();
  }
}
function sendText() {
  var text = input.value.trim();
  if (!text || !store.token || !prechatForm.hidden) return;
  input.value = '';
  onInput();
  stopTyping();
  enqueue({ client_id: uuid(), text: text, at: new Date().toISOString() });
  input.focus();
}
function enqueue(item, el) {
  store.outbox.push(item);
  save();
  if (!el) {
    el = buildMsg({ author: 'visitor', text: item.text, at: item.at, client_id: item.client_id, attachment: item.attachment }, 'sending');
    byCid.set(item.client_id, el);
    place(el);
  }
  el._item = item;
  scrollToEnd(true);
  if (ready) sendItem(item);
}
function sendItem(item) {
  var f = { type: 'message', client_id: item.client_id, text: item.text || '' };
  if (item.attachment_id) f.attachment_id = item.attachment_id;
  wsSend(f);
}
// Messages still waiting for an ack from a previous page load.
function restoreOutbox() {
  store.outbox.forEach(function (item) {
    if (byCid.has(item.client_id)) return;
    var el = buildMsg({ author: 'visitor', text: item.text, at: item.at, client_id: item.client_id, attachment: item.attachment }, 'sending');
    el._item = item;
    byCid.set(item.client_id, el);
    place(el);
  });
}

// ---------------------------------------------------------------- files
var ALLOWED = /^(image\/(png|jpeg|gif|webp)|application\/pdf)$/;
function onPaste(e) {
  var files = e.clipboardData && e.clipboardData.files;
  if (files && files.length) {
    e.preventDefault();
    sendFile(files[0]);
  }
}
function onFilePicked() {
  var file = fileInput.files && fileInput.files[0];
  fileInput.value = '';
  if (file) sendFile(file);
}
function sendFile(file) {
  if (!ALLOWED.test(file.type)) { showBanner(t('file_type')); return; }
  if (file.size > MAX_FILE_MB * 1048576) { showBanner(t('file_size', { n: MAX_FILE_MB })); return; }
  if (!store.token) { showBanner(t('file_wait')); return; }
  var cid = uuid();
  var at = new Date().toISOString();
  var local = { name: file.name, content_type: file.type, size: file.size, url: URL.createObjectURL(file) };
  var el = buildMsg({ author: 'visitor', text: '', at: at, client_id: cid, attachment: local }, 'sending');
  byCid.set(cid, el);
  place(el);
  scrollToEnd(true);
  setError(el, '');
  el.querySelector('.err').hidden = false;
  el.querySelector('.err').textContent = t('uploading');
  var fd = new FormData();
  fd.append('file', file, file.name);
  fetch(UPLOAD_URL, { method: 'POST', headers: { Authorization: 'Visitor ' + store.token }, body: fd })
    .then(function (r) {
      if (!r.ok) throw new Error(r.status === 413 ? t('file_size', { n: MAX_FILE_MB }) : r.status === 415 ? t('file_type') : t('upload_failed'));
      return r.json();
    })
    .then(function (att) {
      setError(el, '');
      var item = {
        client_id: cid, text: '', at: at, attachment_id: att.id,
        attachment: { id: att.id, name: att.name || file.name, content_type: att.content_type || file.type, size: att.size || file.size, url: att.url }
      };
      renderAttachment(el.querySelector('.bubble'), item.attachment);
      setTimeout(function () { URL.revokeObjectURL(local.url); }, 60000);
      enqueue(item, el);
    })
    .catch(function (e) {
      setState(el, 'failed');
      setError(el, e && e.message && !/fetch|network/i.test(e.message) ? e.message : t('upload_failed'));
    });
}

// ---------------------------------------------------------------- pre-chat
var FIELD_TYPES = { email: 'email', phone: 'tel', tel: 'tel' };
var AUTOCOMPLETE = { name: 'name', email: 'email', phone: 'tel', tel: 'tel' };
function decidePrechat() {
  var fields = (store.site && store.site.prechat_fields || []).slice();
  if (store.site && store.site.online === false && fields.indexOf('email') < 0) fields.push('email');
  var fresh = !store.conv && bySeq.size === 0 && store.outbox.length === 0;
  if (!fields.length || store.prechat || !fresh) { prechatForm.hidden = true; composer.hidden = false; return; }
  // An identified visitor who already gave every field skips the form.
  if (identity && fields.every(function (k) { return identity[k]; })) {
    var f = { type: 'prechat' };
    fields.forEach(function (k) { f[k] = identity[k]; });
    sendOrQueue(f);
    store.prechat = 'done';
    prechatForm.hidden = true;
    composer.hidden = false;
    return;
  }
  if (!prechatForm.hidden && prechatForm.getAttribute('data-fields') === fields.join(',')) return;
  prechatForm.textContent = '';
  prechatForm.setAttribute('data-fields', fields.join(','));
  prechatForm.appendChild(h('div', { text: t('prechat_intro') }));
  fields.forEach(function (k) {
    var label = t('f_' + k) || k;
    prechatForm.appendChild(h('label', null, [label, h('input', {
      name: k, type: FIELD_TYPES[k] || 'text', required: true, autocomplete: AUTOCOMPLETE[k] || null,
      'data-testid': 'prechat-' + k, value: identity && identity[k] || null, dir: 'auto'
    })]));
  });
  prechatForm.appendChild(h('button', { type: 'submit', 'class': 'primary', 'data-testid': 'prechat-submit', text: t('start') }));
  prechatForm.hidden = false;
  composer.hidden = true;
  if (isOpen) focusFirst();
}
function submitPrechat(e) {
  e.preventDefault();
  if (!prechatForm.reportValidity()) return;
  var f = { type: 'prechat' };
  prechatForm.querySelectorAll('input').forEach(function (i) { f[i.name] = i.value.trim(); });
  sendOrQueue(f);
  store.prechat = 'done';
  save();
  prechatForm.hidden = true;
  composer.hidden = false;
  input.focus();
}

// ---------------------------------------------------------------- rating
function showRating(key) {
  var score = 0;
  ratingEl.textContent = '';
  var stars = [];
  var row = h('div', { 'class': 'stars', role: 'group', 'aria-label': t('rating') });
  function paint(n) {
    stars.forEach(function (s, i) { s.classList.toggle('on', i < n); });
  }
  for (var n = 1; n <= 5; n++) {
    (function (n) {
      var b = h('button', {
        type: 'button', 'class': 'star', 'data-testid': 'rating-star-' + n, 'data-score': String(n),
        'aria-label': t('star', { n: n }), 'aria-pressed': 'false', text: '★',
        onclick: function () {
          score = n;
          stars.forEach(function (s, i) { s.setAttribute('aria-pressed', i + 1 === n ? 'true' : 'false'); });
          paint(n);
          submit.disabled = false;
        },
        onmouseenter: function () { paint(n); },
        onmouseleave: function () { paint(score); }
      });
      stars.push(b);
      row.appendChild(b);
    })(n);
  }
  var comment = h('textarea', {
    rows: '2', 'data-testid': 'rating-comment', 'aria-label': t('comment'), placeholder: t('comment'), dir: DIR,
    oninput: function () { followDir(comment); }
  });
  var submit = h('button', {
    type: 'button', 'class': 'primary', 'data-testid': 'rating-submit', disabled: true, text: t('submit'),
    onclick: function () {
      if (!score) return;
      var f = { type: 'rating', score: score };
      var c = comment.value.trim();
      if (c) f.comment = c;
      sendOrQueue(f);
      store.rated[key] = score;
      save();
      ratingEl.textContent = '';
      ratingEl.appendChild(h('div', { role: 'status', 'data-testid': 'rating-thanks', text: t('thanks') }));
      setTimeout(function () { ratingEl.hidden = true; }, 4000);
      input.focus();
    }
  });
  ratingEl.appendChild(h('div', { text: t('resolved') }));
  ratingEl.appendChild(h('div', { text: t('rate_q') }));
  ratingEl.appendChild(row);
  ratingEl.appendChild(comment);
  ratingEl.appendChild(submit);
  ratingEl.hidden = false;
  scrollToEnd(true);
}

