// UI strings. Keys missing in one language fall back to English.
var STRINGS = {
  en: {
    title: 'Chat with us',
    greeting: 'Hi! How can we help you today?',
    open_chat: 'Open chat',
    close_chat: 'Close chat',
    send: 'Send message',
    attach: 'Attach a file (image or PDF)',
    placeholder: 'Type your message…',
    placeholder_wait: 'Connecting…',
    online: 'We are online',
    offline_short: 'Offline — leave a message',
    offline: 'No agent is online right now — leave a message and we\u2019ll reply by email.',
    connecting: 'Connecting…',
    reconnecting: 'Reconnecting…',
    prechat_intro: 'Please introduce yourself before we start.',
    f_name: 'Name',
    f_email: 'Email',
    f_phone: 'Phone',
    start: 'Start chat',
    typing: '{name} is typing…',
    agent: 'Support agent',
    joined: '{name} joined the conversation',
    you: 'You',
    st_sending: 'Sending',
    st_sent: 'Sent',
    st_read: 'Read',
    st_failed: 'Not sent',
    rate_q: 'How was your conversation?',
    resolved: 'This conversation was marked as resolved.',
    star: '{n} of 5 stars',
    rating: 'Rating',
    comment: 'Comment (optional)',
    submit: 'Submit',
    thanks: 'Thanks for your feedback!',
    file_type: 'Only images and PDF files can be sent.',
    file_size: 'The file is larger than {n} MB.',
    file_wait: 'Please wait until the chat is connected.',
    uploading: 'Uploading…',
    upload_failed: 'Upload failed.',
    download: 'Download {name}',
    unread: '{n} unread messages',
    err_rate_limited: 'You are sending messages too quickly. Retrying shortly…',
    err_message_too_large: 'This message is too long.',
    err_origin_not_allowed: 'Chat is not enabled on this website.',
    err_bad_frame: 'The message could not be processed.',
    err_generic: 'Something went wrong.'
  },
  fa: {
    title: 'گفتگو با ما',
    greeting: 'سلام! چطور می‌توانیم کمکتان کنیم؟',
    open_chat: 'باز کردن گفتگو',
    close_chat: 'بستن گفتگو',
    send: 'ارسال پیام',
    attach: 'پیوست فایل (تصویر یا PDF)',
    placeholder: 'پیام خود را بنویسید…',
    placeholder_wait: 'در حال اتصال…',
    online: 'ما آنلاین هستیم',
    offline_short: 'آفلاین — پیام بگذارید',
    offline: 'در حال حاضر هیچ پشتیبانی آنلاین نیست — پیام خود را بگذارید، از طریق ایمیل پاسخ می‌دهیم.',
    connecting: 'در حال اتصال…',
    reconnecting: 'در حال اتصال دوباره…',
    prechat_intro: 'لطفاً پیش از شروع گفتگو خودتان را معرفی کنید.',
    f_name: 'نام',
    f_email: 'ایمیل',
    f_phone: 'تلفن',
    start: 'شروع گفتگو',
    typing: '{name} در حال نوشتن است…',
    agent: 'پشتیبان',
    joined: '{name} به گفتگو پیوست',
    you: 'شما',
    st_sending: 'در حال ارسال',
    st_sent: 'ارسال شد',
    st_read: 'خوانده شد',
    st_failed: 'ارسال نشد',
    rate_q: 'گفتگوی ما چطور بود؟',
    resolved: 'این گفتگو به‌عنوان حل‌شده بسته شد.',
    star: '{n} از ۵ ستاره',
    rating: 'امتیاز',
    comment: 'نظر شما (اختیاری)',
    submit: 'ثبت',
    thanks: 'از بازخورد شما سپاسگزاریم!',
    file_type: 'فقط تصویر و فایل PDF قابل ارسال است.',
    file_size: 'حجم فایل بیشتر از {n} مگابایت است.',
    file_wait: 'لطفاً تا برقراری اتصال صبر کنید.',
    uploading: 'در حال بارگذاری…',
    upload_failed: 'بارگذاری ناموفق بود.',
    download: 'دریافت {name}',
    unread: '{n} پیام خوانده‌نشده',
    err_rate_limited: 'پیام‌ها را خیلی سریع می‌فرستید. به‌زودی دوباره تلاش می‌شود…',
    err_message_too_large: 'این پیام بیش از حد طولانی است.',
    err_origin_not_allowed: 'گفتگو روی این وب‌سایت فعال نیست.',
    err_bad_frame: 'پیام قابل پردازش نبود.',
    err_generic: 'خطایی رخ داد.'
  }
};

// First non-empty candidate wins: data-locale, <html lang>, navigator.language.
function pickLocale(candidates) {
  for (var i = 0; i < candidates.length; i++) {
    var c = candidates[i];
    c = c ? String(c).trim() : '';
    if (c) return /^fa([-_]|$)/i.test(c) ? 'fa' : 'en';
  }
  return 'en';
}

function makeT(locale) {
  var table = STRINGS[locale] || STRINGS.en;
  return function (key, vars) {
    var s = table[key];
    if (s == null) s = STRINGS.en[key];
    if (s == null) return '';
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, function (_, k) {
        var v = vars[k];
        if (typeof v === 'number' && locale === 'fa') v = toFaDigits(v);
        return v == null ? '' : String(v);
      });
    }
    return s;
  };
}

function toFaDigits(n) {
  return String(n).replace(/[0-9]/g, function (d) { return '۰۱۲۳۴۵۶۷۸۹'.charAt(+d); });
}

// Base direction of a piece of text from its first strong character.
var RTL_CHAR = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFC]/;
var STRONG_CHAR = /[A-Za-z\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFC]/;
function textDir(text, fallback) {
  var m = STRONG_CHAR.exec(text || '');
  if (!m) return fallback;
  return RTL_CHAR.test(m[0]) ? 'rtl' : 'ltr';
}
