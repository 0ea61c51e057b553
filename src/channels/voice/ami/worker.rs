//! Following one PBX: the lease, the connection, the reconnection waits.

use super::conn::{Connection, LinkError};
use super::{calls, phone, status, Pbx};
use crate::state::AppState;
use crate::store::now_ms;
use std::time::Duration;
use switchboard_ami::{Action, Message};
use tokio_util::sync::CancellationToken;

/// How a connection ended.
enum Ended {
    Stopped,
    LostLease,
    Failed(LinkError),
}

fn secs(n: u32) -> Duration {
    Duration::from_secs(u64::from(n.max(1)))
}

/// Sleep `wait` while keeping the lease; false when stopped or the lease was lost.
async fn wait_holding(
    state: &AppState,
    pbx: &Pbx,
    wait: Duration,
    stop: &CancellationToken,
) -> bool {
    let renew = secs(state.settings.voice.ami_lease_secs) / 3;
    let until = tokio::time::Instant::now() + wait;
    loop {
        let step = renew.min(until.saturating_duration_since(tokio::time::Instant::now()));
        if step.is_zero() {
            return true;
        }
        tokio::select! {
            _ = stop.cancelled() => return false,
            _ = tokio::time::sleep(step) => {}
        }
        if !matches!(status::hold(state, &pbx.name, now_ms()).await, Ok(true)) {
            return false;
        }
    }
}

/// Follow `pbx` until `stop`, whenever this node holds its lease.
pub(super) async fn run(state: AppState, pbx: Pbx, stop: CancellationToken) {
    let lease = secs(state.settings.voice.ami_lease_secs);
    let mut backoff = Duration::from_secs(1);
    loop {
        // Wait for the lease.
        loop {
            match status::hold(&state, &pbx.name, now_ms()).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => tracing::warn!(pbx = %pbx.name, error = %e, "cannot take the PBX lease"),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(lease / 3) => {}
            }
        }
        let wait = match follow(&state, &pbx, &stop, &mut backoff).await {
            Ended::Stopped => {
                status::release(&state, &pbx.name).await;
                return;
            }
            Ended::LostLease => {
                tracing::info!(pbx = %pbx.name, "another node follows the PBX now");
                continue;
            }
            Ended::Failed(LinkError::Refused(why)) => {
                tracing::error!(pbx = %pbx.name, url = %pbx.url.redacted(), reason = %why,
                    "the PBX refused the AMI user or secret (check manager.conf and voice.ami_url); retrying later");
                status::set(&state, &pbx.name, "auth_failed", Some(&why)).await;
                secs(state.settings.voice.ami_auth_retry_secs)
            }
            Ended::Failed(LinkError::Other(e)) => {
                tracing::warn!(pbx = %pbx.name, url = %pbx.url.redacted(), error = %format!("{e:#}"),
                    retry_in = ?backoff, "AMI connection lost or failed");
                status::set(&state, &pbx.name, "unreachable", Some(&format!("{e:#}"))).await;
                let wait = backoff;
                backoff = (backoff * 2).min(secs(state.settings.voice.ami_max_backoff_secs));
                wait
            }
        };
        if !wait_holding(&state, &pbx, wait, &stop).await {
            if stop.is_cancelled() {
                status::release(&state, &pbx.name).await;
                return;
            }
            continue;
        }
    }
}

/// One connection: log in, then apply events until it breaks, the lease is lost or `stop`.
async fn follow(
    state: &AppState,
    pbx: &Pbx,
    stop: &CancellationToken,
    backoff: &mut Duration,
) -> Ended {
    let roots = match crate::channels::email::tls::extra_roots(&state.settings.email) {
        Ok(r) => r,
        Err(e) => return Ended::Failed(LinkError::Other(e)),
    };
    status::set(state, &pbx.name, "connecting", None).await;
    let mut conn = tokio::select! {
        _ = stop.cancelled() => return Ended::Stopped,
        c = Connection::open(&pbx.url, &roots, true) => match c {
            Ok(c) => c,
            Err(e) => return Ended::Failed(e),
        },
    };
    tracing::info!(pbx = %pbx.name, url = %pbx.url.redacted(), banner = %conn.banner, "following the PBX over AMI");
    status::set(state, &pbx.name, "connected", Some(&conn.banner)).await;
    *backoff = Duration::from_secs(1);
    // The phones' states now (Asterisk 13+: one DeviceStateChange each), so that no agent
    // stays "on the phone" from before a disconnect.
    match conn.request(&Action::new("DeviceStateList")).await {
        Ok(a) if !a.is_success() => {
            tracing::debug!(pbx = %pbx.name, answer = ?a.get("Message"), "no DeviceStateList")
        }
        Ok(_) => {}
        Err(e) => return Ended::Failed(LinkError::Other(e)),
    }
    let mut tracker = match calls::load(state, &pbx.name).await {
        Ok(t) => t,
        Err(e) => return Ended::Failed(LinkError::Other(e.into())),
    };
    let mut renew = tokio::time::interval(secs(state.settings.voice.ami_lease_secs) / 3);
    renew.tick().await;
    loop {
        tokio::select! {
            _ = stop.cancelled() => {
                conn.logoff().await;
                return Ended::Stopped;
            }
            _ = renew.tick() => {
                if !matches!(status::hold(state, &pbx.name, now_ms()).await, Ok(true)) {
                    conn.logoff().await;
                    return Ended::LostLease;
                }
                if let Err(e) = calls::close_stale(state, &pbx.name, &mut tracker, now_ms()).await {
                    tracing::warn!(pbx = %pbx.name, error = %e, "cannot close stale AMI calls");
                }
                // A PBX that went away silently answers no ping.
                if let Err(e) = conn.request(&Action::new("Ping")).await {
                    return Ended::Failed(LinkError::Other(e));
                }
            }
            msg = conn.next_message() => match msg {
                Ok(m) => apply(state, pbx, &mut tracker, &m).await,
                Err(e) => return Ended::Failed(LinkError::Other(e)),
            },
        }
    }
}

async fn apply(state: &AppState, pbx: &Pbx, tracker: &mut super::track::Tracker, m: &Message) {
    let result = match m.event() {
        Some("DeviceStateChange" | "ExtensionStatus") => phone::device_event(state, m).await,
        Some(_) => calls::handle(state, &pbx.name, tracker, m).await,
        None => Ok(()),
    };
    if let Err(e) = result {
        tracing::error!(pbx = %pbx.name, event = m.event().unwrap_or(""), error = %e, "AMI event not applied");
    }
}
