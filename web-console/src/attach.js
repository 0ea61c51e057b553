// attach.js: attachments of every channel (chat files shown or linked, e-mail files listed,
// cid: inline images mapped) and the sandboxed e-mail frame (direction, folded quotes).

var CHAT_FILE = '/api/v1/channels/chat/attachments/';
var EMAIL_FILE = '/api/v1/channels/email/attachments/';

function fmtSize(n) {
  if (typeof n !== 'number') return '';
  if (n < 1024) return t('file.bytes', { n: fmtNum(n) });
  if (n < 1024 * 1024) return t('file.kb', { n: fmtNum(Math.round(n / 102.4) / 10) });
  return t('file.mb', { n: fmtNum(Math.round(n / 104857.6) / 10) });
}

function isImageType(ct) { return /^image\/(png|jpeg|gif|webp)$/.test(ct || ''); }

// A chat message whose only content is its file (the body is empty or the file's name).
function attachmentOnly(m) {
  var a = m.meta && m.meta.attachment;
  return !!a && (!m.body || m.body === a.name);
}

function fileLink(url, name, size) {
  return h('a', { href: url, download: name, class: 'file-link', 'data-testid': 'attachment-link', dir: 'auto' },
    h('span', { class: 'file-name' }, name), size !== undefined ? h('span', { class: 'muted file-size' }, ' ' + fmtSize(size)) : null);
}

function imagePreview(url, name) {
  return h('a', { href: url, target: '_blank', rel: 'noopener', class: 'file-preview' },
    h('img', { src: url, alt: name, loading: 'lazy', 'data-testid': 'attachment-image' }));
}

// Files of a message: a chat file (`meta.attachment`) or an e-mail's list (`meta.attachments`,
// inline images referenced by the HTML are shown in the frame instead).
function attachmentsOf(m) {
  var meta = m.meta || {};
  var items = [];
  if (meta.attachment && meta.attachment.id) {
    var a = meta.attachment;
    var url = CHAT_FILE + encodeURIComponent(a.id);
    items.push(h('li', { class: 'file', 'data-testid': 'attachment' },
      isImageType(a.content_type) ? imagePreview(url, a.name) : null, fileLink(url, a.name, a.size)));
  }
  var html = typeof meta.html_sanitized === 'string' ? meta.html_sanitized : '';
  (Array.isArray(meta.attachments) ? meta.attachments : []).forEach(function (a) {
    if (!a || !a.id) return;
    if (a.inline && a.content_id && html.indexOf('data-cid="' + bareCid(a.content_id) + '"') >= 0) return;
    var url = EMAIL_FILE + encodeURIComponent(a.id);
    var name = a.filename || t('file.unnamed');
    items.push(h('li', { class: 'file', 'data-testid': 'attachment' },
      isImageType(a.content_type) ? imagePreview(url, name) : null, fileLink(url, name, a.size)));
  });
  if (!items.length) return null;
  return h('ul', { class: 'files', 'data-testid': 'attachments', 'aria-label': t('file.list') }, items);
}

function bareCid(id) { return String(id || '').replace(/^<|>$/g, ''); }

// Inline images of an e-mail as data: URLs (the frame has no origin, so it cannot use the
// session cookie itself): {content_id: dataUrl}.
function loadCidImages(m) {
  var list = (m && m.meta && Array.isArray(m.meta.attachments)) ? m.meta.attachments : [];
  var map = {};
  return Promise.all(list.filter(function (a) { return a && a.content_id && isImageType(a.content_type); }).map(function (a) {
    return fetch(EMAIL_FILE + encodeURIComponent(a.id), { credentials: 'same-origin' }).then(function (res) {
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.blob();
    }).then(function (blob) {
      return new Promise(function (resolve) {
        var r = new FileReader();
        r.onload = function () { map[bareCid(a.content_id)] = r.result; resolve(); };
        r.onerror = function () { resolve(); };
        r.readAsDataURL(blob);
      });
    }, function () { /* shown broken */ });
  })).then(function () { return map; });
}

// Quoted history (blockquote, Gmail/Yahoo/Thunderbird blocks, Outlook's reply header and all
// after it) goes into a closed <details>, which works without scripts in the sandbox.
var QUOTE_SEL = 'blockquote, .gmail_quote, .yahoo_quoted, #divRplyFwdMsg, #appendonsend';

function foldEmailQuotes(doc) {
  var found = Array.prototype.slice.call(doc.body.querySelectorAll(QUOTE_SEL));
  found.filter(function (el) { return !el.parentElement.closest(QUOTE_SEL); }).forEach(function (el) {
    if (!el.parentNode) return;
    var details = doc.createElement('details');
    details.className = 'quoted';
    var summary = doc.createElement('summary');
    summary.textContent = t('msg.quoted');
    details.appendChild(summary);
    var outlook = el.id === 'divRplyFwdMsg' || el.id === 'appendonsend';
    var prev = el.previousElementSibling;
    el.parentNode.insertBefore(details, el);
    if (prev && prev.tagName === 'HR' && outlook) details.insertBefore(prev, summary.nextSibling);
    var node = el;
    while (node) {
      var next = outlook ? node.nextSibling : null;
      details.appendChild(node);
      node = next;
    }
  });
}

// The frame reads in the direction of its content: the server's wrapper div carries `dir`
// (from <body dir> or the text); older messages get it from their first strong letter.
function emailDirection(doc) {
  var first = doc.body.firstElementChild;
  var dir = first && doc.body.children.length === 1 ? first.getAttribute('dir') : null;
  if (dir !== 'rtl' && dir !== 'ltr') dir = textDir(doc.body.textContent);
  if (dir === 'auto') dir = LANG === 'fa' ? 'rtl' : 'ltr';
  doc.documentElement.setAttribute('dir', dir);
  var lang = first && first.getAttribute('lang');
  if (lang) doc.documentElement.setAttribute('lang', lang);
}

// E-mail HTML (already sanitised by the server) goes only into a sandboxed iframe via srcdoc.
// The sandbox runs no scripts and sends no forms. It keeps the page's origin so that the
// console can measure the message and make the frame as tall as it is (without scripts a
// same-origin frame can do nothing with that origin), and it lets a link open in a new tab
// outside the sandbox (a link followed inside the frame would load a whole site into it).
// Remote images arrive as data-remote-src and inline ones as data-cid; "show images" rewrites
// the document (parsed inertly with DOMParser, never attached to our page) and reloads the
// iframe. A CSP meta tag blocks any remote fetch until then.
function emailDoc(html, images) {
  var doc = new DOMParser().parseFromString(html, 'text/html');
  doc.querySelectorAll('script, meta[http-equiv], base, object, embed').forEach(function (el) { el.remove(); });
  if (images) {
    doc.querySelectorAll('[data-remote-src]').forEach(function (img) {
      img.setAttribute('src', img.getAttribute('data-remote-src'));
      img.removeAttribute('data-remote-src');
    });
    doc.querySelectorAll('[data-cid]').forEach(function (img) {
      var url = images.cid[img.getAttribute('data-cid')];
      if (url) { img.setAttribute('src', url); img.removeAttribute('data-cid'); }
    });
  }
  // A height relative to the frame's own (100vh) would grow with the frame that fits it.
  doc.querySelectorAll('[style]').forEach(function (el) {
    ['height', 'min-height', 'max-height'].forEach(function (p) {
      if (/v(h|w|min|max|b|i)\b/i.test(el.style.getPropertyValue(p))) el.style.removeProperty(p);
    });
  });
  doc.querySelectorAll('a[href]').forEach(function (a) {
    a.setAttribute('target', '_blank');
    a.setAttribute('rel', 'noopener noreferrer nofollow');
  });
  emailDirection(doc);
  foldEmailQuotes(doc);
  var csp = doc.createElement('meta');
  csp.setAttribute('http-equiv', 'Content-Security-Policy');
  csp.setAttribute('content', "default-src 'none'; style-src 'unsafe-inline'; font-src data:; img-src data: cid:" + (images ? ' https: http:' : ''));
  doc.head.insertBefore(csp, doc.head.firstChild);
  var base = doc.createElement('style');
  base.textContent = 'body{font-family:Vazirmatn,Tahoma,system-ui,sans-serif;margin:8px;overflow-wrap:anywhere;color:#1d2733;background:#fff}img{max-width:100%;height:auto}details.quoted>summary{cursor:pointer;color:#5b6b7b;font-size:90%}';
  doc.head.appendChild(base);
  return '<!DOCTYPE html>' + doc.documentElement.outerHTML;
}

// The frame as tall as the message it shows, measured when it loads and again whenever the
// message's size changes (an image arrives, quoted text unfolds, the window narrows). The
// border is counted, so a message sized by its frame (height: 100%) stays put.
function fitFrame(frame) {
  var doc = frame.contentDocument;
  if (!doc || !doc.documentElement) return;
  if (frame.fitting) frame.fitting.disconnect();
  var fit = function () {
    var box = frame.closest('#messages');
    var atBottom = box && box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    var border = frame.offsetHeight - frame.clientHeight;
    frame.style.height = Math.ceil(doc.documentElement.getBoundingClientRect().height) + border + 'px';
    if (atBottom) box.scrollTop = box.scrollHeight;
  };
  fit();
  frame.fitting = new ResizeObserver(fit);
  frame.fitting.observe(doc.documentElement);
}

function emailFrame(html, m) {
  var frame = h('iframe', { sandbox: 'allow-same-origin allow-popups allow-popups-to-escape-sandbox', referrerpolicy: 'no-referrer',
    class: 'email-frame', title: t('msg.html'), 'data-testid': 'email-frame' });
  frame.addEventListener('load', function () { fitFrame(frame); });
  frame.srcdoc = emailDoc(html, null);
  var hasImages = /data-remote-src|data-cid/.test(html);
  var btn = hasImages ? h('button', { type: 'button', class: 'btn small', 'data-testid': 'show-images',
    onclick: function () {
      btn.disabled = true;
      loadCidImages(m).then(function (cid) {
        frame.srcdoc = emailDoc(html, { cid: cid });
        btn.textContent = t('msg.imagesShown');
      });
    } }, t('msg.showImages')) : null;
  return h('div', { class: 'email-wrap' }, btn, frame);
}

// ---- sending files: into a chat (at once) or with an e-mail reply (staged) ----

function postForm(path, form) {
  return fetch(API_BASE + path, {
    method: 'POST', credentials: 'same-origin', headers: { accept: 'application/json' }, body: form
  }).then(function (res) {
    return res.text().then(function (text) {
      var data = null;
      try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
      if (!res.ok) throw new ApiError(res.status, (data && data.code) || 'http_' + res.status, (data && data.error) || res.statusText);
      return data;
    });
  });
}

function uploadChatFile(convId, file) {
  var form = new FormData();
  form.append('file', file, file.name);
  return postForm('/channels/chat/conversations/' + encodeURIComponent(convId) + '/attachments', form);
}

// Files staged for the next e-mail reply of a conversation: {convId: [File]}.
var stagedFiles = {};

function stagedFor(convId) { return stagedFiles[convId] || []; }

// Send the composer's text: an e-mail reply with staged files goes as one multipart reply
// (the server mails them as real attachments); anything else is a plain message.
function postReply(convId, text, internal, mentions) {
  var files = internal ? [] : stagedFor(convId);
  var body = { body: text, internal: internal };
  if (mentions && mentions.length) body.mentions = mentions;
  if (!files.length) return api('POST', '/conversations/' + encodeURIComponent(convId) + '/messages', body);
  var form = new FormData();
  form.append('body', text);
  files.forEach(function (f) { form.append('file', f, f.name); });
  return postForm('/channels/email/conversations/' + encodeURIComponent(convId) + '/reply', form).then(function (m) {
    delete stagedFiles[convId];
    renderStaged();
    return m;
  });
}

// The chips of staged files, each with a remove button.
function renderStaged() {
  var box = $('#staged-files');
  if (!box) return;
  clear(box);
  var id = S.currentId;
  stagedFor(id).forEach(function (f, i) {
    box.appendChild(h('li', { class: 'file staged', 'data-testid': 'staged-file' },
      h('span', { dir: 'auto' }, f.name + ' (' + fmtSize(f.size) + ')'),
      h('button', { type: 'button', class: 'btn small', 'aria-label': t('file.remove', { name: f.name }), 'data-testid': 'unstage-file',
        onclick: function () { stagedFiles[id].splice(i, 1); renderStaged(); } }, '×')));
  });
}

function chatFileInput(error) {
  var input = h('input', { type: 'file', id: 'composer-file', class: 'visually-hidden', accept: 'image/png,image/jpeg,image/gif,image/webp,application/pdf',
    'data-testid': 'attach-file',
    onchange: function () {
      var file = input.files && input.files[0];
      var id = S.currentId;
      if (!file || !id) return;
      error.textContent = '';
      uploadChatFile(id, file).then(function (m) {
        input.value = '';
        if (m && m.seq !== undefined) addMessage(m);
      }, function (err) {
        input.value = '';
        error.textContent = t('composer.failed', { msg: errMsg(err) });
      });
    } });
  return input;
}

function emailFileInput() {
  var input = h('input', { type: 'file', id: 'composer-file', class: 'visually-hidden', multiple: 'multiple', 'data-testid': 'attach-file',
    onchange: function () {
      var id = S.currentId;
      if (!id || !input.files) return;
      var list = stagedFiles[id] = stagedFor(id).slice();
      for (var i = 0; i < input.files.length; i++) list.push(input.files[i]);
      input.value = '';
      renderStaged();
    } });
  return input;
}

// The composer's file button: chat files go out at once; e-mail files wait for the reply.
function attachButton(error) {
  var channel = S.current && S.current.channel;
  if (channel !== 'chat' && (channel !== 'email' || S.composeInternal)) return null;
  var input = channel === 'chat' ? chatFileInput(error) : emailFileInput();
  var label = h('label', { class: 'btn attach', for: 'composer-file', title: t('file.attach') }, t('file.attach'), input);
  if (channel === 'chat') return label;
  var staged = h('ul', { id: 'staged-files', class: 'files staged-files', 'aria-label': t('file.staged'), 'data-testid': 'staged-files' });
  setTimeout(renderStaged, 0);
  return h('span', { class: 'attach-group' }, label, staged);
}
