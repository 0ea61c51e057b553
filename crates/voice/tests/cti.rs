//! Generic CTI (Zammad-style) and fax events, JSON and form encoded.

use switchboard_voice::{
    parse_cti_form, parse_cti_json, CtiError, CtiEvent, Direction, Disposition, FaxStatus,
    HangupCause, Source,
};
use time::macros::datetime;

#[test]
fn a_form_encoded_new_call_with_repeated_users_is_parsed() {
    let body = b"event=newCall&from=%DB%B0%DB%B9%DB%B1%DB%B2&to=02133445566&direction=in\
&callId=4d1b5b7e&user%5B%5D=Sara+Ahmadi&user%5B%5D=Reza&queue=support";
    let ev = parse_cti_form(body).unwrap();
    assert_eq!(
        ev,
        CtiEvent::NewCall {
            call_id: "4d1b5b7e".into(),
            from: "۰۹۱۲".into(),
            to: "02133445566".into(),
            direction: Direction::Inbound,
            users: vec!["Sara Ahmadi".into(), "Reza".into()],
            queue: Some("support".into()),
        }
    );
}

#[test]
fn a_json_answer_accepts_user_as_a_single_string() {
    let body = br#"{"event":"answer","from":"102","to":"09121234567","direction":"out",
        "callId":"c-1","user":"Reza","answeringNumber":"102"}"#;
    match parse_cti_json(body).unwrap() {
        CtiEvent::Answer {
            users,
            answering_number,
            direction,
            ..
        } => {
            assert_eq!(users, vec!["Reza".to_string()]);
            assert_eq!(answering_number.as_deref(), Some("102"));
            assert_eq!(direction, Direction::Outbound);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_json_hangup_carries_cause_and_recording_url() {
    let body = br#"{"event":"hangup","from":"09121234567","to":"101","direction":"in",
        "callId":"c-2","cause":"noAnswer","user":["a","b"],
        "recordingUrl":"https://pbx.example/rec/c-2.wav"}"#;
    let CtiEvent::Hangup {
        cause,
        recording_url,
        ..
    } = parse_cti_json(body).unwrap()
    else {
        panic!("not a hangup")
    };
    assert_eq!(cause, Some(HangupCause::NoAnswer));
    assert_eq!(cause.unwrap().disposition(), Disposition::NoAnswer);
    assert_eq!(
        recording_url.as_deref(),
        Some("https://pbx.example/rec/c-2.wav")
    );
}

#[test]
fn unknown_hangup_causes_are_kept_verbatim() {
    let body = b"event=hangup&from=1&to=2&direction=in&callId=x&cause=weird";
    let CtiEvent::Hangup { cause, .. } = parse_cti_form(body).unwrap() else {
        panic!()
    };
    assert_eq!(cause, Some(HangupCause::Other("weird".into())));
}

#[test]
fn a_fax_event_parses_and_converts_to_a_fax_record() {
    let body = br#"{"event":"fax","direction":"in","from":"02188776655","to":"02133445566",
        "faxId":"f-81","pages":3,"status":"failed","reason":"T.30 T1 timeout",
        "at":"2025-03-01T12:00:00+03:30"}"#;
    let ev = parse_cti_json(body).unwrap();
    let CtiEvent::Fax {
        pages, status, at, ..
    } = &ev
    else {
        panic!("not a fax")
    };
    assert_eq!((*pages, *status), (3, FaxStatus::Failed));
    assert_eq!(*at, Some(datetime!(2025-03-01 08:30:00 UTC)));
    let rec = ev.fax_record(datetime!(2030-01-01 00:00 UTC)).unwrap();
    assert_eq!(rec.source, Source::Cti);
    assert_eq!(rec.external_id, "f-81");
    assert_eq!(rec.started_at, datetime!(2025-03-01 08:30:00 UTC));
    assert_eq!(rec.disposition, Disposition::Failed);
    assert_eq!(rec.fax_status.as_deref(), Some("failed"));
    assert_eq!(rec.raw_cause.as_deref(), Some("T.30 T1 timeout"));
}

#[test]
fn a_fax_event_accepts_unix_seconds_and_form_encoding() {
    let body =
        b"event=fax&direction=out&from=101&to=02188776655&faxId=9&pages=2&status=ok&at=1740816000";
    let ev = parse_cti_form(body).unwrap();
    let CtiEvent::Fax { at, status, .. } = &ev else {
        panic!()
    };
    assert_eq!(*status, FaxStatus::Ok);
    assert_eq!(*at, Some(datetime!(2025-03-01 08:00:00 UTC)));
}

#[test]
fn call_events_do_not_convert_to_fax_records() {
    let ev = parse_cti_form(b"event=newCall&from=1&to=2&direction=in&callId=x").unwrap();
    assert_eq!(ev.fax_record(datetime!(2025-01-01 00:00 UTC)), None);
}

#[test]
fn malformed_bodies_give_specific_errors() {
    assert!(matches!(parse_cti_json(b"{"), Err(CtiError::Json(_))));
    assert_eq!(parse_cti_json(b"[1]"), Err(CtiError::NotAnObject));
    assert_eq!(
        parse_cti_json(br#"{"event":"newCall","from":"1","to":"2","direction":"in"}"#),
        Err(CtiError::Missing("callId"))
    );
    assert!(matches!(
        parse_cti_form(b"event=newCall&from=1&to=2&direction=sideways&callId=x"),
        Err(CtiError::Invalid {
            field: "direction",
            ..
        })
    ));
    assert_eq!(
        parse_cti_form(b"event=dance&from=1&to=2&direction=in&callId=x"),
        Err(CtiError::UnknownEvent("dance".into()))
    );
    assert!(matches!(
        parse_cti_json(br#"{"event":"fax","direction":"in","from":"1","to":"2","faxId":"f","pages":-1,"status":"ok"}"#),
        Err(CtiError::Invalid { field: "pages", .. })
    ));
    assert!(matches!(
        parse_cti_json(br#"{"event":"fax","direction":"in","from":"1","to":"2","faxId":"f","pages":1,"status":"ok","at":"soon"}"#),
        Err(CtiError::Invalid { field: "at", .. })
    ));
}
