//! One test per lifecycle rule: offers, declines, expiry, release, presence, removal.

mod common;

use common::*;
use switchboard_routing::{
    Conversation, ConversationStatus, DecisionKind, Engine, Presence, Queue, RequeueReason,
    RouteError, RoutingConfig,
};

#[test]
fn accepted_offer_becomes_assignment_and_updates_idle_since() {
    let mut e = simple(&[chat_agent("a1", 2)]);
    e.enqueue(conv("c1", T0), T0).unwrap();
    let d = e.next_decisions(T0, 1);
    let expected = T0 + e.config().offer_timeout;
    assert_eq!(
        d[0].kind,
        DecisionKind::Offer {
            expires_at: expected
        }
    );
    assert_eq!(
        e.accept(&c("c1"), &a("other"), T0),
        Err(RouteError::NoOffer {
            conversation: c("c1"),
            agent: a("other")
        })
    );
    e.accept(&c("c1"), &a("a1"), T0 + 3).unwrap();
    let u = e.usage(&a("a1"), &chat()).unwrap();
    assert_eq!((u.load, u.pending), (1, 0));
    assert_eq!(e.agent(&a("a1")).unwrap().idle_since, T0 + 3);
    assert!(matches!(
        e.conversation(&c("c1")).unwrap().1,
        ConversationStatus::Assigned { .. }
    ));
}

#[test]
fn declined_conversation_returns_to_its_original_place() {
    let mut e = simple(&[chat_agent("a1", 1), chat_agent("a2", 1)]);
    e.enqueue(conv("first", T0), T0).unwrap();
    let d = e.next_decisions(T0, 1);
    e.enqueue(conv("second", T0 + 10), T0 + 10).unwrap();
    e.decline(&d[0].conversation, &d[0].agent, T0 + 20).unwrap();
    let got = served(&mut e, T0 + 20);
    assert_eq!(got[0].0, "first");
}

#[test]
fn declining_agent_is_skipped_while_others_are_eligible() {
    let mut e = simple(&[chat_agent("a1", 1), chat_agent("a2", 1)]);
    e.enqueue(conv("c1", T0), T0).unwrap();
    assert_eq!(served(&mut e, T0)[0].1, "a1");
    e.decline(&c("c1"), &a("a1"), T0 + 1).unwrap();
    assert_eq!(served(&mut e, T0 + 1), vec![("c1".into(), "a2".into())]);
}

#[test]
fn declining_agent_gets_it_again_when_only_they_remain() {
    let mut e = simple(&[chat_agent("a1", 1)]);
    e.enqueue(conv("c1", T0), T0).unwrap();
    served(&mut e, T0);
    e.decline(&c("c1"), &a("a1"), T0 + 1).unwrap();
    assert_eq!(served(&mut e, T0 + 1), vec![("c1".into(), "a1".into())]);
}

#[test]
fn expired_offers_are_returned_and_treated_as_declines() {
    let mut e = simple(&[chat_agent("a1", 1), chat_agent("a2", 1)]);
    e.enqueue(conv("c1", T0), T0).unwrap();
    let d = e.next_decisions(T0, 1);
    let DecisionKind::Offer { expires_at } = d[0].kind else {
        panic!()
    };
    assert!(e.expire_offers(expires_at - 1).is_empty());
    let expired = e.expire_offers(expires_at);
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].agent, a("a1"));
    assert!(e
        .conversation(&c("c1"))
        .unwrap()
        .0
        .declined
        .contains(&a("a1")));
    assert_eq!(served(&mut e, expires_at), vec![("c1".into(), "a2".into())]);
}

#[test]
fn release_frees_capacity_and_resets_idle_since() {
    let mut e = simple(&[chat_agent("a1", 1)]);
    e.enqueue(conv("c1", T0), T0).unwrap();
    e.enqueue(conv("c2", T0 + 1), T0).unwrap();
    served(&mut e, T0);
    e.accept(&c("c1"), &a("a1"), T0).unwrap();
    assert!(served(&mut e, T0 + 1).is_empty());
    assert_eq!(e.release(&c("c1"), T0 + 50), Ok(a("a1")));
    assert_eq!(e.agent(&a("a1")).unwrap().idle_since, T0 + 50);
    assert!(e.conversation(&c("c1")).is_none());
    assert_eq!(served(&mut e, T0 + 50), vec![("c2".into(), "a1".into())]);
}

#[test]
fn going_offline_returns_pending_offers_and_unanswered_assignments() {
    let mut e = simple(&[chat_agent("a1", 3)]);
    for i in 0..3 {
        e.enqueue(conv(&format!("c{i}"), T0 + i), T0).unwrap();
    }
    served(&mut e, T0);
    e.accept(&c("c0"), &a("a1"), T0).unwrap();
    e.accept(&c("c1"), &a("a1"), T0).unwrap();
    e.mark_answered(&c("c1")).unwrap();
    let back = e.set_presence(&a("a1"), Presence::Offline, T0 + 1).unwrap();
    let mut got: Vec<_> = back
        .iter()
        .map(|r| (r.conversation.to_string(), r.reason))
        .collect();
    got.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        got,
        vec![
            ("c0".into(), RequeueReason::UnansweredAssignment),
            ("c2".into(), RequeueReason::OfferWithdrawn)
        ]
    );
    assert_eq!(e.waiting_len(), 2);
    e.upsert_agent(chat_agent("a2", 5), T0 + 2);
    // Original order is kept: c0 then c2.
    assert_eq!(
        served(&mut e, T0 + 2)
            .iter()
            .map(|x| x.0.as_str())
            .collect::<Vec<_>>(),
        ["c0", "c2"]
    );
}

#[test]
fn going_away_withdraws_offers_but_keeps_assignments() {
    let mut e = simple(&[chat_agent("a1", 2)]);
    e.enqueue(conv("c0", T0), T0).unwrap();
    e.enqueue(conv("c1", T0 + 1), T0).unwrap();
    served(&mut e, T0);
    e.accept(&c("c0"), &a("a1"), T0).unwrap();
    let back = e.set_presence(&a("a1"), Presence::Away, T0 + 1).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].conversation, c("c1"));
    assert_eq!(e.usage(&a("a1"), &chat()).unwrap().load, 1);
}

#[test]
fn unanswered_assignments_stay_when_the_flag_is_off() {
    let cfg = RoutingConfig {
        requeue_unanswered_on_offline: false,
        ..RoutingConfig::default()
    };
    let mut e = Engine::new(cfg);
    e.upsert_queue(Queue::new("q"), T0);
    e.upsert_agent(chat_agent("a1", 1), T0);
    e.enqueue(conv("c0", T0), T0).unwrap();
    served(&mut e, T0);
    e.accept(&c("c0"), &a("a1"), T0).unwrap();
    assert!(e
        .set_presence(&a("a1"), Presence::Offline, T0)
        .unwrap()
        .is_empty());
}

#[test]
fn sticky_agent_is_preferred_when_eligible() {
    let mut e = simple(&[chat_agent("a1", 1), chat_agent("zed", 1)]);
    e.enqueue(conv("c1", T0).with_sticky("zed", T0 + 1_000_000), T0)
        .unwrap();
    assert_eq!(served(&mut e, T0), vec![("c1".into(), "zed".into())]);
}

#[test]
fn conversation_waits_for_busy_sticky_agent_within_the_bound() {
    let mut e = simple(&[chat_agent("a1", 1), chat_agent("zed", 1)]);
    e.enqueue(conv("busy", T0 - 1), T0).unwrap();
    e.enqueue(conv("other", T0 - 1).with_priority(-1), T0)
        .unwrap();
    served(&mut e, T0); // a1 ← busy, zed ← other
    e.enqueue(conv("c1", T0).with_sticky("zed", T0 + 10_000_000), T0)
        .unwrap();
    assert!(matches!(
        e.conversation(&c("c1")).unwrap().1,
        ConversationStatus::Waiting {
            reserved_for: Some(_)
        }
    ));
    e.decline(&c("busy"), &a("a1"), T0 + 1).unwrap();
    // a1 is free but c1 is reserved for zed; a1 gets "busy" back instead.
    assert_eq!(served(&mut e, T0 + 1), vec![("busy".into(), "a1".into())]);
    e.decline(&c("busy"), &a("a1"), T0 + 2).unwrap();
    e.remove_conversation(&c("busy"), T0 + 2).unwrap();
    assert!(served(&mut e, T0 + 2).is_empty());
    // Once it waited longer than sticky_max_wait anyone may take it.
    let bound = e.config().sticky_max_wait;
    assert_eq!(served(&mut e, T0 + bound), vec![("c1".into(), "a1".into())]);
}

#[test]
fn removed_agent_returns_all_its_conversations() {
    let mut e = simple(&[chat_agent("a1", 2)]);
    e.enqueue(conv("c0", T0), T0).unwrap();
    e.enqueue(conv("c1", T0 + 1), T0).unwrap();
    served(&mut e, T0);
    e.accept(&c("c0"), &a("a1"), T0).unwrap();
    e.mark_answered(&c("c0")).unwrap();
    let back = e.remove_agent(&a("a1"), T0).unwrap();
    assert_eq!(back.len(), 2);
    assert!(e.agent(&a("a1")).is_none());
    assert_eq!(e.waiting_len(), 2);
    e.validate().unwrap();
}

#[test]
fn cancelled_waiting_conversation_is_never_offered() {
    let mut e = simple(&[chat_agent("a1", 1)]);
    e.enqueue(conv("c1", T0), T0).unwrap();
    assert_eq!(
        e.remove_conversation(&c("c1"), T0),
        Ok(ConversationStatus::Waiting { reserved_for: None })
    );
    assert!(served(&mut e, T0).is_empty());
}

#[test]
fn manual_assign_obeys_capacity_unless_overridden() {
    let mut e = simple(&[chat_agent("a1", 1)]);
    e.enqueue(conv("c0", T0), T0).unwrap();
    e.enqueue(conv("c1", T0), T0).unwrap();
    e.assign_manual(&c("c0"), &a("a1"), false, T0).unwrap();
    assert!(matches!(
        e.assign_manual(&c("c1"), &a("a1"), false, T0),
        Err(RouteError::NoCapacity { .. })
    ));
    e.assign_manual(&c("c1"), &a("a1"), true, T0).unwrap();
    assert_eq!(e.usage(&a("a1"), &chat()).unwrap().load, 2);
    assert_eq!(
        e.assign_manual(&c("c1"), &a("a1"), true, T0),
        Err(RouteError::NotWaiting(c("c1")))
    );
}

#[test]
fn a_conversation_is_never_offered_twice() {
    let mut e = simple(&[chat_agent("a1", 5), chat_agent("a2", 5)]);
    e.enqueue(conv("c1", T0), T0).unwrap();
    assert_eq!(served(&mut e, T0).len(), 1);
    assert!(served(&mut e, T0 + 1).is_empty());
}

#[test]
fn next_decisions_respects_max() {
    let mut e = simple(&[chat_agent("a1", 5)]);
    for i in 0..4 {
        e.enqueue(conv(&format!("c{i}"), T0 + i), T0).unwrap();
    }
    assert_eq!(e.next_decisions(T0, 3).len(), 3);
    assert_eq!(e.next_decisions(T0, 3).len(), 1);
}

#[test]
fn unservable_queue_does_not_block_other_queues() {
    let queues = [
        Queue::new("vip").with_base_priority(100).with_skill("x"),
        Queue::new("q"),
    ];
    let mut e = engine_with(&queues, &[chat_agent("a1", 1)]);
    e.enqueue(Conversation::new("v", "vip", "chat", T0), T0)
        .unwrap();
    e.enqueue(conv("c1", T0), T0).unwrap();
    assert_eq!(served(&mut e, T0), vec![("c1".into(), "a1".into())]);
    assert_eq!(e.waiting_len(), 1);
}

#[test]
fn restored_assignments_count_against_capacity_after_restart() {
    let mut e = simple(&[chat_agent("a1", 1)]);
    e.restore_assigned(conv("old", T0 - 100), &a("a1"), true)
        .unwrap();
    e.enqueue(conv("c1", T0 - 50), T0).unwrap();
    assert!(served(&mut e, T0).is_empty());
    e.release(&c("old"), T0).unwrap();
    assert_eq!(served(&mut e, T0).len(), 1);
}

#[test]
fn queue_priority_change_reorders_waiting_conversations() {
    let queues = [Queue::new("q"), Queue::new("p")];
    let mut e = engine_with(&queues, &[chat_agent("a1", 1)]);
    e.enqueue(conv("c1", T0), T0).unwrap();
    e.enqueue(Conversation::new("p1", "p", "chat", T0 + 5), T0)
        .unwrap();
    e.upsert_queue(Queue::new("p").with_base_priority(1), T0);
    assert_eq!(served(&mut e, T0)[0].0, "p1");
}

#[test]
fn queue_with_conversations_cannot_be_removed() {
    let mut e = simple(&[chat_agent("a1", 1)]);
    e.enqueue(conv("c1", T0), T0).unwrap();
    assert_eq!(
        e.remove_queue(&"q".into()),
        Err(RouteError::QueueInUse("q".into()))
    );
    e.remove_conversation(&c("c1"), T0).unwrap();
    assert!(e.remove_queue(&"q".into()).is_ok());
}

#[test]
fn duplicate_and_unknown_references_are_refused() {
    let mut e = simple(&[chat_agent("a1", 1)]);
    e.enqueue(conv("c1", T0), T0).unwrap();
    assert_eq!(
        e.enqueue(conv("c1", T0), T0),
        Err(RouteError::DuplicateConversation(c("c1")))
    );
    assert_eq!(
        e.enqueue(Conversation::new("x", "nope", "chat", T0), T0),
        Err(RouteError::UnknownQueue("nope".into()))
    );
    assert_eq!(
        e.set_presence(&a("ghost"), Presence::Away, T0),
        Err(RouteError::UnknownAgent(a("ghost")))
    );
    assert_eq!(
        e.release(&c("c1"), T0),
        Err(RouteError::NotAssigned(c("c1")))
    );
}

#[test]
fn sticky_reservation_is_released_when_the_sticky_agent_goes_away() {
    let mut e = simple(&[chat_agent("a1", 1), chat_agent("zed", 1)]);
    e.enqueue(conv("busy", T0 - 1), T0).unwrap();
    e.enqueue(conv("other", T0 - 1).with_priority(-1), T0)
        .unwrap();
    served(&mut e, T0);
    e.accept(&c("busy"), &a("a1"), T0).unwrap();
    e.enqueue(conv("c1", T0).with_sticky("zed", T0 + 10_000_000), T0)
        .unwrap();
    e.release(&c("busy"), T0 + 1).unwrap();
    assert!(served(&mut e, T0 + 1).is_empty(), "held for zed");
    let back = e.set_presence(&a("zed"), Presence::Away, T0 + 2).unwrap();
    assert_eq!(back.len(), 1, "zed's pending offer is withdrawn");
    let got = served(&mut e, T0 + 2);
    assert_eq!(got[0], ("c1".into(), "a1".into()));
}

#[test]
fn sla_boost_applies_to_conversations_already_waiting() {
    let mut e = simple(&[]);
    let warn = e.config().sla_warning;
    e.enqueue(conv("vip", T0).with_priority(10), T0).unwrap();
    e.enqueue(conv("due", T0 + 1).with_sla_due(T0 + 2 * warn), T0)
        .unwrap();
    e.advance(T0 + warn);
    e.upsert_agent(chat_agent("a1", 1), T0 + warn);
    assert_eq!(served(&mut e, T0 + warn)[0].0, "due");
}
