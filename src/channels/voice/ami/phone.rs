//! Agents' phones as the PBX reports them: `DeviceStateChange` (`Device: PJSIP/201`,
//! `State: INUSE`) and `ExtensionStatus` (`Exten: 201`, `Status: 1`). An agent whose phone is
//! in use, busy or holding a call is *on the phone*: the channels their `blocks` stop while on
//! a call (`{"phone": ["chat"]}`) get them no new work, exactly as when they hold a phone
//! conversation, without a manual presence change (read by `crate::agents::phone`).

use crate::channels::voice::ingest::agent_by_extension;
use crate::events;
use crate::state::AppState;
use crate::store::{now_ms, StoreError, StoreResult};
use serde_json::json;
use switchboard_ami::Message;

/// The extension and state an event reports, and whether that state is "on a call".
pub fn device_state(ev: &Message) -> Option<(String, String, bool)> {
    match ev.event()? {
        "DeviceStateChange" => {
            let device = ev.value("Device")?;
            let (tech, ext) = device.split_once('/')?;
            if tech.eq_ignore_ascii_case("Custom") || tech.eq_ignore_ascii_case("Queue") {
                return None;
            }
            let state = ev.value("State")?.to_ascii_uppercase();
            let busy = matches!(state.as_str(), "INUSE" | "BUSY" | "RINGINUSE" | "ONHOLD");
            Some((ext.to_string(), state, busy))
        }
        "ExtensionStatus" => {
            let ext = ev.value("Exten")?.to_string();
            let status: i64 = ev.value("Status")?.parse().ok()?;
            // Bits: 1 in use, 2 busy, 16 on hold (8 ringing alone is not a call yet).
            let busy = status > 0 && status & (1 | 2 | 16) != 0;
            let text = ev
                .value("StatusText")
                .map(str::to_string)
                .unwrap_or(status.to_string());
            Some((ext, text.to_ascii_uppercase(), busy))
        }
        _ => None,
    }
}

/// Record a phone state event; when the agent's "on the phone" changes, announce it
/// (`agent.phone_changed`, which routing reacts to).
pub async fn device_event(state: &AppState, ev: &Message) -> StoreResult<()> {
    let Some((ext, text, busy)) = device_state(ev) else {
        return Ok(());
    };
    let digits = switchboard_voice::ascii_digits(&ext);
    let mut tx = state.store.begin().await?;
    let Some(agent_id) = agent_by_extension(tx.conn(), &digits).await? else {
        return Ok(());
    };
    let before: Option<(i64,)> =
        sqlx::query_as("SELECT on_call FROM agent_phone_states WHERE agent_id = $1")
            .bind(&agent_id)
            .fetch_optional(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    sqlx::query(
        "INSERT INTO agent_phone_states (agent_id, device_state, on_call, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (agent_id) DO UPDATE SET \
         device_state = excluded.device_state, on_call = excluded.on_call, updated_at = excluded.updated_at",
    )
    .bind(&agent_id)
    .bind(&text)
    .bind(busy as i64)
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    tx.commit().await?;
    if before.is_some_and(|b| b.0 == 1) != busy {
        let mut ev = events::new_event(
            "agent.phone_changed",
            json!({ "agent_id": agent_id, "on_phone": busy, "device_state": text, "extension": digits }),
        );
        ev.agent_id = Some(agent_id);
        state.bus.publish(ev).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
    fn in_use_busy_and_hold_are_calls_ringing_is_not() {
        let d = |s| {
            device_state(&ev(&[
                ("Event", "DeviceStateChange"),
                ("Device", "PJSIP/201"),
                ("State", s),
            ]))
        };
        assert_eq!(d("INUSE"), Some(("201".into(), "INUSE".into(), true)));
        assert!(d("ONHOLD").unwrap().2);
        assert!(!d("RINGING").unwrap().2);
        assert!(!d("NOT_INUSE").unwrap().2);
        let x = |s| {
            device_state(&ev(&[
                ("Event", "ExtensionStatus"),
                ("Exten", "201"),
                ("Status", s),
            ]))
            .unwrap()
            .2
        };
        assert!(x("1") && x("9") && x("16"));
        assert!(!x("0") && !x("8") && !x("4") && !x("-1"));
        assert_eq!(
            device_state(&ev(&[
                ("Event", "DeviceStateChange"),
                ("Device", "Queue:400_avail"),
                ("State", "INUSE")
            ])),
            None
        );
    }
}
