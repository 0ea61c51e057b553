//! Parses the hand-made corpus in `tests/corpus/` (regenerate it with
//! `python3 tests/corpus/generate.py`) and checks decoded values.

use switchboard_mail::{parse, Address, AutoKind, Limits, MailError, ParsedEmail};

const LIMITS: Limits = Limits {
    max_message_bytes: 10 * 1024 * 1024,
    max_attachment_bytes: 100 * 1024,
};

fn raw(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn load(name: &str) -> ParsedEmail {
    parse(&raw(name), &LIMITS).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn addr(email: &str, name: Option<&str>) -> Address {
    Address {
        email: Some(email.into()),
        name: name.map(Into::into),
    }
}

#[test]
fn every_corpus_file_parses_or_fails_with_a_reason() {
    let dir = format!("{}/tests/corpus", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("corpus dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        seen += 1;
        let bytes = std::fs::read(&path).expect("read");
        match parse(&bytes, &LIMITS) {
            Ok(m) => {
                assert!(!m.message_id.is_empty(), "{path:?}");
                assert_eq!(m.size, bytes.len());
            }
            Err(e) => assert!(!e.to_string().is_empty(), "{path:?}"),
        }
    }
    assert!(seen >= 25, "only {seen} corpus files");
}

#[test]
fn plain_utf8_persian_decodes_subject_sender_body_and_date() {
    let m = load("persian_utf8_plain.eml");
    assert_eq!(m.subject, "پیگیری سفارش ۱۲۳۴");
    assert_eq!(m.from, addr("ali.rezaei@example.ir", Some("علی رضایی")));
    assert_eq!(m.message_id, "persian-plain-1@example.ir");
    assert!(!m.message_id_synthetic);
    assert_eq!(m.date, Some(1_696_315_500));
    assert_eq!(
        m.text,
        "سلام،\nسفارش من هنوز نرسیده است. لطفاً پیگیری کنید.\nبا تشکر"
    );
    assert_eq!(m.to, vec![addr("support@switchboard.example", None)]);
    assert_eq!(m.auto, AutoKind::None);
}

#[test]
fn windows_1256_body_and_encoded_word_subject_decode_to_persian() {
    let m = load("windows1256_body.eml");
    assert_eq!(m.subject, "پيگيري سفارش شماره 98");
    assert_eq!(m.from.name.as_deref(), Some("مريم کاظمي"));
    assert_eq!(
        m.text,
        "سلام، سفارش من هنوز نرسيده است.\nلطفا پيگيري کنيد. گزارش چاپ ژاکت."
    );
    assert_eq!(m.date, Some(1_696_406_400));
}

#[test]
fn iso_8859_6_body_and_q_encoded_subject_decode_to_arabic() {
    let m = load("iso8859_6.eml");
    assert_eq!(m.subject, "مساعدة");
    assert_eq!(m.text, "السلام عليكم\nهل يمكنكم مساعدتي؟");
}

#[test]
fn quoted_printable_soft_breaks_are_joined() {
    let m = load("quoted_printable.eml");
    assert_eq!(
        m.text,
        "سلام. این یک پیام طولانی است که با کدگذاری quoted-printable ارسال شده \
         و خطوط آن شکسته شده\u{200c}اند. قیمت: ۱۰۰٬۰۰۰ تومان = 100000"
    );
}

#[test]
fn base64_body_is_decoded() {
    assert_eq!(
        load("base64.eml").text,
        "درود! این متن با base64 کدگذاری شده است."
    );
}

#[test]
fn nested_multipart_yields_text_html_with_cid_placeholder_and_both_attachments() {
    let m = load("nested_related.eml");
    assert_eq!(m.text, "Please see the invoice.");
    assert_eq!(
        m.html_sanitized.as_deref(),
        Some(
            r#"<p>Please see the <b>invoice</b>.</p><img data-cid="logo123@example.ir" alt="logo">"#
        )
    );
    assert_eq!(m.attachments.len(), 2);
    let logo = &m.attachments[0];
    assert_eq!(logo.filename, "logo.png");
    assert_eq!(logo.content_type, "image/png");
    assert_eq!(logo.content_id.as_deref(), Some("logo123@example.ir"));
    assert!(logo.inline);
    assert!(logo.data.starts_with(b"\x89PNG"));
    let pdf = &m.attachments[1];
    assert_eq!(pdf.filename, "فاکتور.pdf");
    assert_eq!(pdf.content_type, "application/pdf");
    assert!(!pdf.inline);
    assert!(pdf.data.starts_with(b"%PDF-1.4"));
    assert_eq!(
        m.cc,
        vec![
            addr("boss@example.ir", Some("Boss")),
            Address {
                email: None,
                name: Some("broken-address".into())
            }
        ]
    );
}

#[test]
fn hostile_html_loses_scripts_handlers_frames_forms_and_remote_loads() {
    let m = load("html_hostile.eml");
    let html = m.html_sanitized.expect("html");
    for banned in [
        "<script",
        "alert",
        "onload",
        "onerror",
        "javascript:",
        "<iframe",
        "<form",
        "<input",
        "<object",
        "<style",
        "url(",
        "track.example",
        " src=",
    ] {
        assert!(!html.contains(banned), "{banned} survived in {html}");
    }
    assert!(
        html.contains(
            r#"<img data-remote-src="https://cdn.example/photo.jpg" alt="photo" width="300">"#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"href="https://shop.example/order""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<p dir="rtl" style="text-align:right">متن فارسی</p>"#),
        "{html}"
    );
    assert!(m.text.starts_with("Hello click and order."), "{}", m.text);
}

#[test]
fn a_missing_message_id_is_replaced_by_a_stable_synthetic_one() {
    let first = load("no_message_id.eml");
    let again = load("no_message_id.eml");
    assert!(first.message_id_synthetic);
    assert!(first.message_id.ends_with("@synthetic.switchboard.invalid"));
    assert_eq!(first.message_id, again.message_id);
    assert_ne!(first.message_id, load("duplicate_id_a.eml").message_id);
}

#[test]
fn duplicate_message_ids_keep_the_id_but_differ_in_content_hash() {
    let a = load("duplicate_id_a.eml");
    let b = load("duplicate_id_b.eml");
    assert_eq!(a.message_id, "same-id@example.ir");
    assert_eq!(a.message_id, b.message_id);
    assert_ne!(a.content_hash, b.content_hash);
    assert_eq!(a.content_hash, load("duplicate_id_a.eml").content_hash);
    assert_eq!(b.text, "second, different content");
}

#[test]
fn auto_submitted_wins_over_an_empty_return_path() {
    assert_eq!(load("auto_submitted.eml").auto, AutoKind::AutoReply);
}

#[test]
fn precedence_bulk_is_bulk() {
    assert_eq!(load("precedence_bulk.eml").auto, AutoKind::Bulk);
}

#[test]
fn x_autoreply_is_an_auto_reply() {
    assert_eq!(load("x_autoreply.eml").auto, AutoKind::AutoReply);
}

#[test]
fn a_delivery_status_report_names_the_bounced_message_status_and_recipient() {
    let m = load("dsn_bounce.eml");
    assert_eq!(
        m.auto,
        AutoKind::Bounce {
            original_message_id: Some("reply-42-abc@switchboard.example".into()),
            status: Some("5.1.1".into()),
            recipient: Some("nobody@customer.example".into()),
        }
    );
}

#[test]
fn a_plain_mailer_daemon_bounce_is_mined_for_details() {
    let m = load("mailer_daemon_bounce.eml");
    assert_eq!(
        m.auto,
        AutoKind::Bounce {
            original_message_id: Some("reply-43-def@switchboard.example".into()),
            status: Some("5.2.1".into()),
            recipient: Some("gone@customer.example".into()),
        }
    );
}

#[test]
fn a_message_without_from_parses_with_an_empty_sender() {
    let m = load("no_from.eml");
    assert_eq!(m.from, Address::default());
    assert_eq!(m.text, "anonymous");
}

#[test]
fn a_from_without_an_address_keeps_the_name_and_no_email() {
    let m = load("from_no_address.eml");
    assert_eq!(m.from.email, None);
    assert_eq!(m.from.name.as_deref(), Some("foo"));
    assert_eq!(m.date, None, "an unparseable Date is None");
}

#[test]
fn truncated_mime_keeps_what_arrived() {
    let m = load("truncated_mime.eml");
    assert_eq!(m.text, "The text part survives.");
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].filename, "data.bin");
    let data = &m.attachments[0].data;
    assert!(
        data.starts_with(&[0, 1, 2, 3]),
        "{:?}",
        String::from_utf8_lossy(data)
    );
}

#[test]
fn binary_garbage_is_rejected_as_not_mime() {
    assert!(matches!(
        parse(&raw("binary_garbage.eml"), &LIMITS),
        Err(MailError::NotMime(_))
    ));
}

#[test]
fn an_empty_file_is_rejected_as_empty() {
    assert_eq!(parse(&raw("empty.eml"), &LIMITS), Err(MailError::Empty));
    assert_eq!(parse(b" \r\n\r\n", &LIMITS), Err(MailError::Empty));
}

#[test]
fn an_mbox_from_line_is_tolerated() {
    let m = load("mbox_from_line.eml");
    assert_eq!(m.from, addr("someone@example.ir", Some("Someone")));
    assert_eq!(m.text, "mbox body");
}

#[test]
fn outlook_quoted_history_is_folded_away() {
    let m = load("reply_outlook.eml");
    assert_eq!(
        m.text_unquoted,
        "Thanks, that works for me.\n\nRegards,\nCustomer"
    );
    assert!(m.text.contains("-----Original Message-----"));
    assert_eq!(m.in_reply_to, vec!["reply-42-abc@switchboard.example"]);
    assert_eq!(
        m.references,
        vec!["orig-42@corp.example", "reply-42-abc@switchboard.example"]
    );
    assert_eq!(switchboard_mail::conversation_token(&m.subject), Some(42));
}

#[test]
fn gmail_quoted_history_is_folded_away_in_text_and_html_only_mail() {
    assert_eq!(load("reply_gmail.eml").text_unquoted, "Great, thank you!");
    let html_only = load("reply_gmail_html_only.eml");
    assert_eq!(html_only.text_unquoted, "Received it today.");
    assert!(html_only.text.contains("Where is my order?"));
}

#[test]
fn a_persian_attribution_with_bidi_marks_is_folded_away() {
    let m = load("reply_persian_quote.eml");
    assert_eq!(m.text_unquoted, "ممنون، مشکل حل شد.");
    assert_eq!(m.subject, "پاسخ: Re: مرجوعی کالا [#45]");
    assert_eq!(switchboard_mail::base_subject(&m.subject), "مرجوعی کالا");
    assert_eq!(switchboard_mail::conversation_token(&m.subject), Some(45));
}

#[test]
fn an_attachment_over_the_limit_is_dropped_and_listed() {
    let m = load("oversized_attachment.eml");
    assert_eq!(
        m.dropped_attachments,
        vec![("big.bin".to_string(), 307_200)]
    );
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].filename, "small.txt");
    let generous = Limits {
        max_attachment_bytes: 1024 * 1024,
        ..LIMITS
    };
    let all = parse(&raw("oversized_attachment.eml"), &generous).expect("parse");
    assert_eq!(all.attachments.len(), 2);
    assert!(all.dropped_attachments.is_empty());
}

#[test]
fn a_message_over_the_size_limit_is_too_large() {
    let bytes = raw("oversized_attachment.eml");
    let tight = Limits {
        max_message_bytes: 1000,
        ..LIMITS
    };
    assert_eq!(
        parse(&bytes, &tight),
        Err(MailError::TooLarge {
            size: bytes.len(),
            limit: 1000
        })
    );
}

#[test]
fn a_truncated_base64_text_body_is_decoded_as_far_as_it_goes() {
    // "سلام دنیا" in UTF-8 is 17 bytes; cut the base64 mid-quantum.
    let raw = b"From: a@example.ir\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\r\n2LPZhNin2YUg2K/ZhtuM2K\r\n";
    let m = parse(raw, &LIMITS).expect("parse");
    assert!(m.text.starts_with("سلام دن"), "{:?}", m.text);
}
