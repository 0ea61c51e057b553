//! Outbound replies, checked by parsing them back.

use switchboard_mail::{
    compose_ack, compose_reply, parse, AutoKind, Limits, MailError, OutgoingFile, Reply,
};

fn reply(subject: &str, body: &str) -> Reply {
    Reply {
        from: (
            Some("پشتیبانی".into()),
            "support@switchboard.example".into(),
        ),
        to: vec![(Some("Ali Rezaei".into()), "ali@example.ir".into())],
        subject: subject.into(),
        token: 42,
        body_text: body.into(),
        in_reply_to: Some("<CAgmail-1@mail.gmail.example>".into()),
        references: vec![
            "orig-42@corp.example".into(),
            "reply-42-abc@switchboard.example".into(),
        ],
        message_id: "0190a8e4-7b4c-7d3e-9f00-000000000001@switchboard.example".into(),
        attachments: Vec::new(),
    }
}

fn headers(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let end = text.find("\r\n\r\n").unwrap_or(text.len());
    text[..end].to_string()
}

#[test]
fn a_reply_round_trips_with_threading_headers_and_a_single_token() {
    let msg = compose_reply(&reply(
        "RE: Re: Order late [#42]",
        "Your order ships today.",
    ))
    .unwrap();
    let bytes = msg.formatted();
    let parsed = parse(&bytes, &Limits::default()).unwrap();
    assert_eq!(parsed.subject, "Re: Order late [#42]");
    assert_eq!(
        parsed.message_id,
        "0190a8e4-7b4c-7d3e-9f00-000000000001@switchboard.example"
    );
    assert_eq!(parsed.in_reply_to, vec!["CAgmail-1@mail.gmail.example"]);
    assert_eq!(
        parsed.references,
        vec![
            "orig-42@corp.example",
            "reply-42-abc@switchboard.example",
            "CAgmail-1@mail.gmail.example"
        ]
    );
    assert_eq!(parsed.text, "Your order ships today.");
    assert_eq!(parsed.auto, AutoKind::None);
    let head = headers(&bytes).to_ascii_lowercase();
    assert!(!head.contains("auto-submitted"), "{head}");
    assert!(head.contains("multipart/alternative"), "{head}");
}

#[test]
fn a_persian_reply_has_a_right_to_left_html_part_and_an_encoded_subject() {
    let body = "سلام علی جان،\nسفارش شما <امروز> ارسال شد.\n\nبا احترام";
    let msg = compose_reply(&reply("پاسخ: سفارش", body)).unwrap();
    let parsed = parse(&msg.formatted(), &Limits::default()).unwrap();
    assert_eq!(parsed.subject, "Re: سفارش [#42]");
    assert_eq!(parsed.from.name.as_deref(), Some("پشتیبانی"));
    assert_eq!(parsed.text, body);
    let html = parsed.html_sanitized.expect("html part");
    assert!(html.contains("سفارش شما &lt;امروز&gt; ارسال شد."), "{html}");
    assert!(
        html.contains(r#"<div dir="rtl" style="direction:rtl;text-align:right">"#),
        "{html}"
    );
}

#[test]
fn an_english_reply_is_left_to_right() {
    let msg = compose_reply(&reply("Order", "Hello")).unwrap();
    let parsed = parse(&msg.formatted(), &Limits::default()).unwrap();
    let html = parsed.html_sanitized.expect("html part");
    assert!(html.contains(r#"<div dir="ltr""#), "{html}");
}

#[test]
fn an_acknowledgement_is_marked_auto_submitted_and_classified_as_such() {
    let msg = compose_ack(&reply("Order late", "We received your request.")).unwrap();
    let bytes = msg.formatted();
    let head = headers(&bytes);
    assert!(head.contains("Auto-Submitted: auto-replied"), "{head}");
    let parsed = parse(&bytes, &Limits::default()).unwrap();
    assert_eq!(parsed.auto, AutoKind::AutoReply);
    assert_eq!(parsed.subject, "Re: Order late [#42]");
}

#[test]
fn a_retried_send_reuses_the_message_id() {
    let r = reply("x", "y");
    let a = parse(&compose_reply(&r).unwrap().formatted(), &Limits::default()).unwrap();
    let b = parse(&compose_reply(&r).unwrap().formatted(), &Limits::default()).unwrap();
    assert_eq!(a.message_id, b.message_id);
}

#[test]
fn bad_addresses_and_ids_are_compose_errors() {
    let mut r = reply("x", "y");
    r.to = vec![(None, "not an address".into())];
    assert!(matches!(compose_reply(&r), Err(MailError::Compose(_))));
    let mut r = reply("x", "y");
    r.to.clear();
    assert!(matches!(compose_reply(&r), Err(MailError::Compose(_))));
    let mut r = reply("x", "y");
    r.message_id = "<>".into();
    assert!(matches!(compose_reply(&r), Err(MailError::Compose(_))));
}

#[test]
fn header_injection_through_the_display_name_is_neutralised() {
    let mut r = reply("x", "y");
    r.to = vec![(
        Some("Eve\r\nBcc: victim@example.com".into()),
        "eve@example.com".into(),
    )];
    let bytes = compose_reply(&r).unwrap().formatted();
    assert!(!headers(&bytes).contains("\r\nBcc:"));
}

#[test]
fn a_reply_with_files_carries_them_as_real_attachments_beside_its_text() {
    let mut r = reply("Invoice", "فاکتور پیوست است.");
    let pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n".to_vec();
    r.attachments = vec![
        OutgoingFile {
            filename: "فاکتور ۱۲.pdf".into(),
            content_type: "application/pdf".into(),
            data: pdf.clone(),
        },
        OutgoingFile {
            filename: "note\r\nBcc: x@y.z.txt".into(),
            content_type: "not a type".into(),
            data: b"hello".to_vec(),
        },
    ];
    let bytes = compose_reply(&r).unwrap().formatted();
    let head = headers(&bytes).to_ascii_lowercase();
    assert!(head.contains("multipart/mixed"), "{head}");
    assert!(!head.contains("bcc:"), "{head}");
    let parsed = parse(&bytes, &Limits::default()).unwrap();
    assert_eq!(parsed.text, "فاکتور پیوست است.");
    assert_eq!(parsed.attachments.len(), 2, "{:?}", parsed.attachments);
    assert_eq!(parsed.attachments[0].filename, "فاکتور ۱۲.pdf");
    assert_eq!(parsed.attachments[0].content_type, "application/pdf");
    assert_eq!(parsed.attachments[0].data, pdf);
    assert!(!parsed.attachments[0].inline);
    assert_eq!(
        parsed.attachments[1].content_type,
        "application/octet-stream"
    );
    assert_eq!(parsed.attachments[1].data, b"hello");
}
