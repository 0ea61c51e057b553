//! The queue log kept in a database table instead of a file (`voice.queue_log_table`, e.g.
//! `queuelog`, in the CDR database of `voice.cdr_database_url`), where a site logs it through
//! Asterisk's realtime `queue_log` (`extconfig.conf`: `queue_log => odbc,asteriskcdrdb,queuelog`).
//!
//! Asterisk's realtime layout: `time`, `callid`, `queuename`, `agent`, `event`, and either
//! `data1`…`data5` or one `data` column with `|`-separated values; the table needs an
//! auto-increment `id`, the persisted position (in `voice_pbx_positions`,
//! `queuelog:<host>/<database>.<table>`, column `sequence`). `time` may be a date-time in the
//! PBX's local time (`voice.pbx_utc_offset_secs`) or Unix seconds. Read by the CDR database
//! worker after each pass, under its lease.

use super::parse::QueueLine;
use crate::channels::voice::cdr_db::fold::local_time;
use crate::channels::voice::cdr_db::{position, rows::valid_table};
use crate::state::AppState;
use sqlx::mysql::MySqlPool;
use std::collections::HashSet;

/// Most rows read in one pass.
const BATCH: i64 = 5000;

/// Store the queue events added to `table` since the last pass; returns how many were read.
pub async fn run_once(
    state: &AppState,
    pool: &MySqlPool,
    source: &str,
    table: &str,
) -> anyhow::Result<usize> {
    anyhow::ensure!(
        valid_table(table),
        "voice.queue_log_table `{table}` is not a table name"
    );
    let name = format!("queuelog:{source}.{table}");
    let cols: Vec<(String,)> = sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_all(pool)
    .await?;
    let have: HashSet<String> = cols.into_iter().map(|c| c.0.to_lowercase()).collect();
    for needed in ["id", "time", "callid", "queuename", "agent", "event"] {
        anyhow::ensure!(
            have.contains(needed),
            "queue log table `{table}` has no column `{needed}`"
        );
    }
    let data = if have.contains("data1") {
        "CONCAT_WS('|', COALESCE(data1, ''), COALESCE(data2, ''), COALESCE(data3, ''), \
           COALESCE(data4, ''), COALESCE(data5, ''))"
    } else if have.contains("data") {
        "COALESCE(data, '')"
    } else {
        "''"
    };
    let sql = format!(
        "SELECT CAST(id AS SIGNED), CAST(time AS CHAR), CAST(COALESCE(callid, '') AS CHAR), \
           CAST(COALESCE(queuename, '') AS CHAR), CAST(COALESCE(agent, '') AS CHAR), \
           CAST(COALESCE(event, '') AS CHAR), CAST({data} AS CHAR) \
         FROM `{table}` WHERE id > ? ORDER BY id LIMIT ?"
    );
    if !position::take(state, &name, 120_000).await? {
        return Ok(0);
    }
    let mut pos = position::load(state, &name).await?;
    type Row = (i64, String, String, String, String, String, String);
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(pos.key.2)
        .bind(BATCH)
        .fetch_all(pool)
        .await?;
    let Some(last) = rows.last().map(|r| r.0) else {
        position::release(state, &name).await?;
        return Ok(0);
    };
    let offset = i64::from(state.settings.voice.pbx_utc_offset_secs);
    let lines: Vec<QueueLine> = rows
        .iter()
        .filter_map(|(_, time, call_id, queue, agent, event, data)| {
            Some(QueueLine {
                at: epoch(time, offset)? * 1000,
                call_id: call_id.trim().to_string(),
                queue: queue.trim().to_string(),
                agent: agent.trim().to_string(),
                event: event.trim().to_ascii_uppercase(),
                data: trimmed(data),
            })
        })
        .collect();
    super::store(state, &lines).await?;
    pos.key.2 = last;
    position::save(state, &name, &pos).await?;
    position::release(state, &name).await?;
    Ok(rows.len())
}

/// `data` values without the empty ones `CONCAT_WS` padded the end with.
fn trimmed(data: &str) -> Vec<String> {
    let mut values: Vec<String> = data.split('|').map(|v| v.trim().to_string()).collect();
    while values.last().is_some_and(String::is_empty) {
        values.pop();
    }
    values
}

/// Unix seconds of a `time` value: Unix seconds, or a PBX local date-time.
fn epoch(time: &str, utc_offset_secs: i64) -> Option<i64> {
    let time = time.trim();
    if let Ok(secs) = time.parse::<i64>() {
        return Some(secs);
    }
    let local = local_time(time.get(..19)?)?;
    Some(local.assume_utc().unix_timestamp() - utc_offset_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_epochs_or_local_date_times() {
        assert_eq!(epoch("1772346900", 12600), Some(1772346900));
        assert_eq!(epoch("2026-03-01 10:05:00.123456", 12600), Some(1772346900));
        assert_eq!(epoch("yesterday", 0), None);
        assert_eq!(
            trimmed("25|1772346925.9|10||"),
            ["25", "1772346925.9", "10"]
        );
        assert_eq!(trimmed("|09121234567|1||"), ["", "09121234567", "1"]);
    }
}
