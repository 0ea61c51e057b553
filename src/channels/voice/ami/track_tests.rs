//! The tracker against hand-written event sequences.
use super::*;

fn ev(fields: &[(&str, &str)]) -> Message {
    Message {
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn dial_strings_yield_external_numbers_only() {
    assert_eq!(
        number_in("PJSIP/09121234567@tci"),
        Some("09121234567".into())
    );
    assert_eq!(number_in("tci/+989121234567"), Some("+989121234567".into()));
    assert_eq!(number_in("PJSIP/202"), None);
}

#[test]
fn an_inbound_call_rings_then_is_answered_then_ends() {
    let mut t = Tracker::default();
    let l = "1740812400.1";
    t.apply(
        &ev(&[
            ("Event", "Newchannel"),
            ("Channel", "PJSIP/tci-00000001"),
            ("CallerIDNum", "09121234567"),
            ("Exten", "02133445566"),
            ("Uniqueid", l),
            ("Linkedid", l),
        ]),
        1000,
    );
    t.apply(
        &ev(&[
            ("Event", "Newchannel"),
            ("Channel", "PJSIP/201-00000002"),
            ("Uniqueid", "1740812400.2"),
            ("Linkedid", l),
        ]),
        1000,
    );
    let dial = ev(&[
        ("Event", "DialBegin"),
        ("Channel", "PJSIP/tci-00000001"),
        ("Uniqueid", l),
        ("Linkedid", l),
        ("DestChannel", "PJSIP/201-00000002"),
    ]);
    assert_eq!(
        t.apply(&dial, 2000).unwrap().1,
        vec![Effect::Ring("201".into())]
    );
    assert_eq!(t.apply(&dial, 2000).unwrap().1, vec![], "rings once");
    let end = ev(&[
        ("Event", "DialEnd"),
        ("Uniqueid", l),
        ("Linkedid", l),
        ("DestChannel", "PJSIP/201-00000002"),
        ("DialStatus", "ANSWER"),
    ]);
    assert_eq!(
        t.apply(&end, 5000).unwrap().1,
        vec![Effect::Answer("201".into())]
    );
    t.apply(
        &ev(&[
            ("Event", "Hangup"),
            ("Uniqueid", "1740812400.2"),
            ("Linkedid", l),
        ]),
        9000,
    );
    let (_, fx) = t
        .apply(
            &ev(&[("Event", "Hangup"), ("Uniqueid", l), ("Linkedid", l)]),
            9000,
        )
        .unwrap();
    assert_eq!(fx, vec![Effect::End]);
    let call = &t.calls[l];
    assert_eq!(call.direction(), Direction::Inbound);
    assert_eq!(call.parties(), ("09121234567".into(), "02133445566".into()));
    assert_eq!(call.disposition(), Disposition::Answered);
}

#[test]
fn an_agent_calling_out_is_outbound_and_extension_calls_are_internal() {
    let mut t = Tracker::default();
    t.apply(
        &ev(&[
            ("Event", "Newchannel"),
            ("Channel", "PJSIP/201-00000009"),
            ("CallerIDNum", "201"),
            ("Uniqueid", "9.1"),
            ("Linkedid", "9.1"),
        ]),
        0,
    );
    let fx = t
        .apply(
            &ev(&[
                ("Event", "DialBegin"),
                ("Channel", "PJSIP/201-00000009"),
                ("Uniqueid", "9.1"),
                ("Linkedid", "9.1"),
                ("Exten", "09121234567"),
                ("DestChannel", "PJSIP/tci-0000000a"),
            ]),
            0,
        )
        .unwrap()
        .1;
    assert!(fx.is_empty());
    t.apply(
        &ev(&[
            ("Event", "DialEnd"),
            ("Uniqueid", "9.1"),
            ("Linkedid", "9.1"),
            ("DestChannel", "PJSIP/tci-0000000a"),
            ("DialStatus", "ANSWER"),
        ]),
        0,
    );
    let call = &t.calls["9.1"];
    assert_eq!(call.direction(), Direction::Outbound);
    assert_eq!(call.answered_by.as_deref(), Some("201"));
    assert_eq!(call.parties(), ("201".into(), "09121234567".into()));

    t.apply(
        &ev(&[
            ("Event", "Newchannel"),
            ("Channel", "PJSIP/201-0000000b"),
            ("Uniqueid", "9.3"),
            ("Linkedid", "9.3"),
        ]),
        0,
    );
    let fx = t
        .apply(
            &ev(&[
                ("Event", "DialBegin"),
                ("Channel", "PJSIP/201-0000000b"),
                ("Uniqueid", "9.3"),
                ("Linkedid", "9.3"),
                ("Exten", "202"),
                ("DestChannel", "PJSIP/202-0000000c"),
            ]),
            0,
        )
        .unwrap()
        .1;
    assert!(fx.is_empty(), "no pop-up for a colleague's call");
    assert_eq!(t.calls["9.3"].direction(), Direction::Internal);
}

#[test]
fn a_blind_transfer_rings_the_target_for_the_same_customer() {
    let mut t = Tracker::default();
    let l = "7.1";
    t.apply(
        &ev(&[
            ("Event", "Newchannel"),
            ("Channel", "SIP/tci-00000001"),
            ("CallerIDNum", "09121234567"),
            ("Exten", "02133445566"),
            ("Uniqueid", l),
            ("Linkedid", l),
        ]),
        0,
    );
    t.apply(
        &ev(&[
            ("Event", "Newchannel"),
            ("Channel", "SIP/201-00000002"),
            ("Uniqueid", "7.2"),
            ("Linkedid", l),
        ]),
        0,
    );
    t.apply(
        &ev(&[
            ("Event", "DialBegin"),
            ("Uniqueid", l),
            ("Linkedid", l),
            ("DestChannel", "SIP/201-00000002"),
        ]),
        0,
    );
    t.apply(
        &ev(&[
            ("Event", "DialEnd"),
            ("Uniqueid", l),
            ("Linkedid", l),
            ("DestChannel", "SIP/201-00000002"),
            ("DialStatus", "ANSWER"),
        ]),
        1000,
    );
    let fx = t
        .apply(
            &ev(&[
                ("Event", "BlindTransfer"),
                ("Result", "Success"),
                ("TransfererChannel", "SIP/201-00000002"),
                ("TransfererLinkedid", l),
                ("TransfereeChannel", "SIP/tci-00000001"),
                ("TransfereeLinkedid", l),
                ("Extension", "202"),
                ("Context", "from-internal"),
            ]),
            2000,
        )
        .unwrap()
        .1;
    assert!(fx.is_empty());
    t.apply(
        &ev(&[
            ("Event", "Newchannel"),
            ("Channel", "Local/202@from-internal-00000003;1"),
            ("Uniqueid", "7.3"),
            ("Linkedid", l),
        ]),
        2000,
    );
    let fx = t
        .apply(
            &ev(&[
                ("Event", "DialBegin"),
                ("Uniqueid", "7.3"),
                ("Linkedid", l),
                ("DestChannel", "SIP/202-00000004"),
            ]),
            2000,
        )
        .unwrap()
        .1;
    assert_eq!(
        fx,
        vec![Effect::Ring("202".into())],
        "the target's console pops up the customer"
    );
    let call = &t.calls[l];
    assert_eq!(call.answered_by.as_deref(), Some("201"));
    assert_eq!(call.cause().as_deref(), Some("transferred to 202"));
}
