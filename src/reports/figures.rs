//! The figures, defined once: a contact's fact, their sums (a [`Tally`]) and what a report
//! shows of a tally ([`Figures`]).

use super::histogram::Histogram;
use serde::Serialize;
use utoipa::ToSchema;

/// One contact as the reports see it (a row of `report_facts`).
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct Fact {
    /// The conversation's id, or the message id of a call or fax record.
    pub id: String,
    pub conversation_id: String,
    pub channel: String,
    /// `''` when none.
    pub queue_id: String,
    /// The agent who answered (`''` when nobody did).
    pub agent_id: String,
    /// Local date of `offered_at`.
    pub day: String,
    pub offered_at: i64,
    pub offered: i64,
    pub answered: i64,
    pub abandoned: i64,
    pub short_abandoned: i64,
    pub within_target: i64,
    pub wait_ms: Option<i64>,
    pub handle_ms: Option<i64>,
    pub first_response_ms: Option<i64>,
    pub resolution_ms: Option<i64>,
    pub csat: Option<i64>,
    pub transfers: i64,
    pub callbacks: i64,
    pub callbacks_answered: i64,
}

/// Columns of `report_facts`, in [`Fact`]'s order.
pub const FACT_COLS: &str = "id, conversation_id, channel, queue_id, agent_id, day, offered_at, \
    offered, answered, abandoned, short_abandoned, within_target, wait_ms, handle_ms, \
    first_response_ms, resolution_ms, csat, transfers, callbacks, callbacks_answered";

/// Sums of facts (a row of `report_daily`, or any group of a report).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub offered: i64,
    pub answered: i64,
    pub abandoned: i64,
    pub short_abandoned: i64,
    pub within_target: i64,
    /// Sum of answered contacts' waits.
    pub wait_ms: i64,
    /// Contacts with a handle time, and its sum.
    pub handled: i64,
    pub handle_ms: i64,
    pub csat_sum: i64,
    pub csat_count: i64,
    pub transfers: i64,
    pub callbacks: i64,
    pub callbacks_answered: i64,
    pub first_response: Histogram,
    pub resolution: Histogram,
}

impl Tally {
    pub fn add(&mut self, f: &Fact) {
        self.offered += f.offered;
        self.answered += f.answered;
        self.abandoned += f.abandoned;
        self.short_abandoned += f.short_abandoned;
        self.within_target += f.within_target;
        if f.answered == 1 {
            self.wait_ms += f.wait_ms.unwrap_or(0);
        }
        if let Some(h) = f.handle_ms {
            self.handled += 1;
            self.handle_ms += h;
        }
        if let Some(c) = f.csat {
            self.csat_sum += c;
            self.csat_count += 1;
        }
        self.transfers += f.transfers;
        self.callbacks += f.callbacks;
        self.callbacks_answered += f.callbacks_answered;
        if let Some(ms) = f.first_response_ms {
            self.first_response.add_ms(ms);
        }
        if let Some(ms) = f.resolution_ms {
            self.resolution.add_ms(ms);
        }
    }

    pub fn merge(&mut self, o: &Tally) {
        self.offered += o.offered;
        self.answered += o.answered;
        self.abandoned += o.abandoned;
        self.short_abandoned += o.short_abandoned;
        self.within_target += o.within_target;
        self.wait_ms += o.wait_ms;
        self.handled += o.handled;
        self.handle_ms += o.handle_ms;
        self.csat_sum += o.csat_sum;
        self.csat_count += o.csat_count;
        self.transfers += o.transfers;
        self.callbacks += o.callbacks;
        self.callbacks_answered += o.callbacks_answered;
        self.first_response.merge(&o.first_response);
        self.resolution.merge(&o.resolution);
    }

    /// Take away what `o` counted (a fact replaced by its refreshed version).
    pub fn subtract(&mut self, o: &Tally) {
        self.offered -= o.offered;
        self.answered -= o.answered;
        self.abandoned -= o.abandoned;
        self.short_abandoned -= o.short_abandoned;
        self.within_target -= o.within_target;
        self.wait_ms -= o.wait_ms;
        self.handled -= o.handled;
        self.handle_ms -= o.handle_ms;
        self.csat_sum -= o.csat_sum;
        self.csat_count -= o.csat_count;
        self.transfers -= o.transfers;
        self.callbacks -= o.callbacks;
        self.callbacks_answered -= o.callbacks_answered;
        self.first_response.subtract(&o.first_response);
        self.resolution.subtract(&o.resolution);
    }

    pub fn is_empty(&self) -> bool {
        *self == Tally::default()
    }

    pub fn figures(&self) -> Figures {
        let ratio = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
        let secs = |ms: i64, n: i64| ratio(ms, n).map(|v| (v / 10.0).round() / 100.0);
        Figures {
            offered: self.offered,
            answered: self.answered,
            abandoned: self.abandoned,
            short_abandoned: self.short_abandoned,
            answered_within_target: self.within_target,
            service_level: ratio(self.within_target, self.offered),
            service_level_excluding_short_abandons: ratio(
                self.within_target,
                self.offered - self.short_abandoned,
            ),
            abandon_rate: ratio(self.abandoned, self.offered),
            avg_speed_of_answer_seconds: secs(self.wait_ms, self.answered),
            avg_handle_seconds: secs(self.handle_ms, self.handled),
            first_response_p50_seconds: self.first_response.percentile(50),
            first_response_p90_seconds: self.first_response.percentile(90),
            resolution_p50_seconds: self.resolution.percentile(50),
            resolution_p90_seconds: self.resolution.percentile(90),
            csat_average: ratio(self.csat_sum, self.csat_count)
                .map(|v| (v * 100.0).round() / 100.0),
            csat_responses: self.csat_count,
            transfers: self.transfers,
            callbacks: self.callbacks,
            callbacks_answered: self.callbacks_answered,
            handled: self.handled,
        }
    }
}

/// The contact-center figures of a period (and group).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Figures {
    /// Contacts that entered a queue: queued conversations (chat, email, API) and inbound
    /// calls and faxes.
    pub offered: i64,
    /// Offered contacts an agent answered: accepted or replied to (chat), replied to (email,
    /// API), picked up (calls).
    pub answered: i64,
    /// A chat that ended, or a call that hung up, before an agent answered.
    pub abandoned: i64,
    /// Abandoned within `reports.short_abandon_seconds` of being offered (also in `abandoned`).
    pub short_abandoned: i64,
    /// Answered within the queue's `service_level_seconds` (default 20 s for phone and chat;
    /// for email and API contacts the queue's first-response target).
    pub answered_within_target: i64,
    /// `answered_within_target ÷ offered` (0–1; `null` when nothing was offered).
    pub service_level: Option<f64>,
    /// `answered_within_target ÷ (offered − short_abandoned)`.
    pub service_level_excluding_short_abandons: Option<f64>,
    /// `abandoned ÷ offered`.
    pub abandon_rate: Option<f64>,
    /// Average of answered contacts' waits (offered until answered; calls: answer − start).
    pub avg_speed_of_answer_seconds: Option<f64>,
    /// Average handle time: talk time (billable seconds) for calls; for chat and email the
    /// time an agent had the conversation assigned and open, counted once it is resolved.
    pub avg_handle_seconds: Option<f64>,
    /// Contacts with a handle time (the denominator of `avg_handle_seconds`).
    pub handled: i64,
    /// First agent reply after being offered, median and 90th percentile (nearest rank, to
    /// the second under two minutes, in fixed buckets above).
    pub first_response_p50_seconds: Option<i64>,
    pub first_response_p90_seconds: Option<i64>,
    /// Offered until resolved (answered contacts).
    pub resolution_p50_seconds: Option<i64>,
    pub resolution_p90_seconds: Option<i64>,
    /// Average chat rating (1–5).
    pub csat_average: Option<f64>,
    pub csat_responses: i64,
    /// Transfers to another queue or agent.
    pub transfers: i64,
    /// Calls placed back to callers in a callback conversation, and how many were answered
    /// (not offered contacts: outside the other figures).
    pub callbacks: i64,
    pub callbacks_answered: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_level_is_answered_within_target_over_offered() {
        let mut t = Tally::default();
        let fact = |answered, within, wait, short| Fact {
            offered: 1,
            answered,
            abandoned: 1 - answered,
            short_abandoned: short,
            within_target: within,
            wait_ms: Some(wait),
            ..Fact::default()
        };
        t.add(&fact(1, 1, 10_000, 0));
        t.add(&fact(1, 0, 30_000, 0));
        t.add(&fact(0, 0, 3_000, 1));
        t.add(&fact(0, 0, 60_000, 0));
        let f = t.figures();
        assert_eq!(f.service_level, Some(0.25));
        assert_eq!(f.service_level_excluding_short_abandons, Some(1.0 / 3.0));
        assert_eq!(f.avg_speed_of_answer_seconds, Some(20.0));
        assert_eq!(f.abandon_rate, Some(0.5));
        assert_eq!(Tally::default().figures().service_level, None);
    }
}
