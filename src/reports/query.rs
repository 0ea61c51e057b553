//! Answering a report: whole local days from the rollups, the partial days at either end (and
//! anything cut by hour or in another time zone) from the facts.

use super::figures::{Fact, Tally, FACT_COLS};
use super::rollup::{Counts, ALL_AGENTS};
use super::zone::{day_key, Zone};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use jiff::civil::Date;
use std::collections::BTreeMap;

/// How a report groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Hour,
    Queue,
    Agent,
    Channel,
}

impl GroupBy {
    pub fn parse(s: &str) -> ApiResult<GroupBy> {
        Ok(match s {
            "day" => GroupBy::Day,
            "hour" => GroupBy::Hour,
            "queue" => GroupBy::Queue,
            "agent" => GroupBy::Agent,
            "channel" => GroupBy::Channel,
            _ => {
                return Err(ApiError::invalid(
                    "invalid_group_by",
                    "group_by must be day, hour, queue, agent or channel",
                ))
            }
        })
    }
}

/// A resolved report request.
pub struct Query {
    pub zone: Zone,
    pub from: i64,
    pub to: i64,
    pub queue: Option<String>,
    pub channel: Option<String>,
    pub agent: Option<String>,
    pub group_by: Option<GroupBy>,
    /// Queues left out of every figure (a supervisor's other teams' queues).
    pub hidden_queues: Vec<String>,
}

/// `2026-03-01` (the local day's start; `end`: the next day's) or an RFC 3339 instant.
pub fn instant(zone: &Zone, field: &str, s: &str, end: bool) -> ApiResult<i64> {
    if let Ok(d) = s.parse::<Date>() {
        let d = if end { d.tomorrow().unwrap_or(d) } else { d };
        return Ok(zone.start_of(d));
    }
    s.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            ApiError::invalid(
                "invalid_period",
                format!("`{field}` must be a date (2026-03-01) or an RFC 3339 time"),
            )
        })
}

/// Sums per group key, and the total.
pub struct Sums {
    pub groups: BTreeMap<String, Tally>,
    pub total: Tally,
}

impl Query {
    fn key(&self, f: &Fact) -> String {
        match self.group_by {
            None => String::new(),
            Some(GroupBy::Day) => day_key(self.zone.day_of(f.offered_at)),
            Some(GroupBy::Hour) => format!("{:02}", self.zone.hour_of(f.offered_at)),
            Some(GroupBy::Queue) => f.queue_id.clone(),
            Some(GroupBy::Agent) => f.agent_id.clone(),
            Some(GroupBy::Channel) => f.channel.clone(),
        }
    }

    /// Filters shared by both tables, numbered from `$n`; with their values.
    fn filters(&self, mut n: usize) -> (String, Vec<String>) {
        let (mut sql, mut vals) = (String::new(), Vec::new());
        for (col, v) in [
            ("queue_id", &self.queue),
            ("channel", &self.channel),
            ("agent_id", &self.agent),
        ] {
            if let Some(v) = v {
                sql.push_str(&format!(" AND {col} = ${n}"));
                vals.push(v.clone());
                n += 1;
            }
        }
        if !self.hidden_queues.is_empty() {
            let marks: Vec<String> = (n..n + self.hidden_queues.len())
                .map(|i| format!("${i}"))
                .collect();
            sql.push_str(&format!(" AND queue_id NOT IN ({})", marks.join(", ")));
            vals.extend(self.hidden_queues.iter().cloned());
        }
        (sql, vals)
    }

    /// The whole local days inside the period, `[first, end)`, when the rollups can answer.
    fn whole_days(&self, state: &AppState) -> Option<(Date, Date)> {
        if self.group_by == Some(GroupBy::Hour)
            || self.zone.name() != state.settings.reports.time_zone.trim()
        {
            return None;
        }
        let mut first = self.zone.day_of(self.from);
        if self.zone.start_of(first) < self.from {
            first = first.tomorrow().ok()?;
        }
        let end = self.zone.day_of(self.to);
        (first < end).then_some((first, end))
    }

    pub async fn sums(&self, state: &AppState) -> ApiResult<Sums> {
        let mut sums = Sums {
            groups: BTreeMap::new(),
            total: Tally::default(),
        };
        match self.whole_days(state) {
            Some((first, end)) => {
                self.add_facts(state, self.from, self.zone.start_of(first), &mut sums)
                    .await?;
                self.add_rollups(state, first, end, &mut sums).await?;
                self.add_facts(state, self.zone.start_of(end), self.to, &mut sums)
                    .await?;
            }
            None => self.add_facts(state, self.from, self.to, &mut sums).await?,
        }
        // The total once from the groups, not row by row beside them.
        for t in sums.groups.values() {
            sums.total.merge(t);
        }
        Ok(sums)
    }

    async fn add_facts(
        &self,
        state: &AppState,
        from: i64,
        to: i64,
        sums: &mut Sums,
    ) -> ApiResult<()> {
        if from >= to {
            return Ok(());
        }
        let (filters, vals) = self.filters(3);
        let sql = format!(
            "SELECT {FACT_COLS} FROM report_facts WHERE offered_at >= $1 AND offered_at < $2{filters}"
        );
        let mut q = sqlx::query_as::<_, Fact>(&sql).bind(from).bind(to);
        for v in &vals {
            q = q.bind(v);
        }
        for f in q.fetch_all(state.store.pool()).await? {
            sums.groups.entry(self.key(&f)).or_default().add(&f);
        }
        Ok(())
    }

    /// The rollup rows of whole days, summed by the database per group key (one row per key
    /// back, not one per day × queue × channel × agent), and their histograms, which only Rust
    /// can merge, read as text beside their key alone.
    async fn add_rollups(
        &self,
        state: &AppState,
        first: Date,
        end: Date,
        sums: &mut Sums,
    ) -> ApiResult<()> {
        let (filters, vals) = self.filters(3);
        // Per-agent rows when cut by agent, else the rows summing every agent.
        let agents = if self.agent.is_some() || self.group_by == Some(GroupBy::Agent) {
            "<>"
        } else {
            "="
        };
        // Without a grouping column the rows are summed per channel, then into one group.
        let (key, one) = match self.group_by {
            None | Some(GroupBy::Hour) => ("channel", true),
            Some(GroupBy::Day) => ("day", false),
            Some(GroupBy::Queue) => ("queue_id", false),
            Some(GroupBy::Agent) => ("agent_id", false),
            Some(GroupBy::Channel) => ("channel", false),
        };
        let rows = format!(
            "FROM report_daily WHERE day >= $1 AND day < $2 AND agent_id {agents} '{ALL_AGENTS}'{filters}"
        );
        let summed = SUMMED
            .iter()
            .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT {key} AS k, {summed} {rows} GROUP BY {key}");
        let mut q = sqlx::query_as::<_, SumRow>(&sql)
            .bind(day_key(first))
            .bind(day_key(end));
        for v in &vals {
            q = q.bind(v);
        }
        for r in q.fetch_all(state.store.pool()).await? {
            let k = if one { String::new() } else { r.k.clone() };
            r.counts.add_to(sums.groups.entry(k).or_default());
        }
        let sql = format!(
            "SELECT {key} AS k, first_response_hist, resolution_hist {rows} \
             AND (first_response_hist <> '{{}}' OR resolution_hist <> '{{}}')"
        );
        let mut q = sqlx::query_as::<_, (String, String, String)>(&sql)
            .bind(day_key(first))
            .bind(day_key(end));
        for v in &vals {
            q = q.bind(v);
        }
        for (k, first_response, resolution) in q.fetch_all(state.store.pool()).await? {
            let t = sums
                .groups
                .entry(if one { String::new() } else { k })
                .or_default();
            t.first_response.merge_text(&first_response);
            t.resolution.merge_text(&resolution);
        }
        Ok(())
    }
}

/// The rollup columns the database sums.
const SUMMED: [&str; 13] = [
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "within_target",
    "wait_ms",
    "handled",
    "handle_ms",
    "csat_sum",
    "csat_count",
    "transfers",
    "callbacks",
    "callbacks_answered",
];

/// A group's sums of rollup rows.
#[derive(sqlx::FromRow)]
struct SumRow {
    k: String,
    #[sqlx(flatten)]
    counts: Counts,
}
