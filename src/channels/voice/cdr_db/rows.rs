//! Reading call records from the PBX's CDR table (MySQL/MariaDB, FreePBX's column layout).
//!
//! Every column is read as text or a signed integer (`DATE_FORMAT`, `CAST`), so any column
//! type or character set a site's table uses decodes the same way. Columns a site's table
//! lacks (older Asterisk: no `linkedid`, `sequence`, `did`, `recordingfile`, `cnum`, `cnam`)
//! read as empty; without a `linkedid` a call is folded by its `uniqueid`.

use sqlx::mysql::MySqlPool;
use std::collections::HashSet;

/// One CDR row, as FreePBX/Issabel write it (the columns Switchboard uses).
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct CdrRow {
    /// Start of this record in the PBX's local time, `YYYY-MM-DD HH:MM:SS`.
    pub calldate: String,
    pub clid: String,
    pub src: String,
    pub dst: String,
    pub dcontext: String,
    pub channel: String,
    pub dstchannel: String,
    pub lastapp: String,
    pub duration: i64,
    pub billsec: i64,
    pub disposition: String,
    pub uniqueid: String,
    pub did: String,
    pub recordingfile: String,
    pub cnum: String,
    pub cnam: String,
    pub linkedid: String,
    pub sequence: i64,
}

impl CdrRow {
    /// The call this record belongs to: its `linkedid`, else its `uniqueid`.
    pub fn call_key(&self) -> &str {
        if self.linkedid.trim().is_empty() {
            self.uniqueid.trim()
        } else {
            self.linkedid.trim()
        }
    }

    /// Keyset position of the row in (calldate, uniqueid, sequence) order.
    pub fn key(&self) -> (String, String, i64) {
        (self.calldate.clone(), self.uniqueid.clone(), self.sequence)
    }
}

const TEXT_COLUMNS: &[&str] = &[
    "clid",
    "src",
    "dst",
    "dcontext",
    "channel",
    "dstchannel",
    "lastapp",
    "disposition",
    "uniqueid",
    "did",
    "recordingfile",
    "cnum",
    "cnam",
    "linkedid",
];

/// A CDR table and the columns it has.
#[derive(Debug, Clone)]
pub struct CdrTable {
    /// Table name, checked to be a plain identifier (`cdr`, or `db.cdr`).
    pub name: String,
    select: String,
    /// The expression grouping a call's rows (`linkedid` or `uniqueid`).
    call_column: &'static str,
    /// `sequence`, or `0` when the table has none.
    sequence_column: &'static str,
}

/// Whether `name` is a plain (optionally database-qualified) table name.
pub fn valid_table(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').count() <= 2
        && name
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

impl CdrTable {
    /// Look the table's columns up and build the select list.
    pub async fn inspect(pool: &MySqlPool, name: &str) -> anyhow::Result<CdrTable> {
        anyhow::ensure!(
            valid_table(name),
            "voice.cdr_table `{name}` is not a table name"
        );
        let (schema, table) = match name.split_once('.') {
            Some((s, t)) => (Some(s), t),
            None => (None, name),
        };
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?",
        )
        .bind(schema)
        .bind(table)
        .fetch_all(pool)
        .await?;
        let have: HashSet<String> = rows.into_iter().map(|r| r.0.to_lowercase()).collect();
        for needed in [
            "calldate",
            "src",
            "dst",
            "duration",
            "billsec",
            "disposition",
        ] {
            anyhow::ensure!(
                have.contains(needed),
                "CDR table `{name}` has no column `{needed}` (is it FreePBX's cdr table?)"
            );
        }
        let mut cols = vec![
            "COALESCE(DATE_FORMAT(calldate, '%Y-%m-%d %H:%i:%s'), '') AS calldate".to_string(),
        ];
        for c in TEXT_COLUMNS {
            cols.push(match have.contains(*c) {
                true => format!("CAST(COALESCE(`{c}`, '') AS CHAR) AS {c}"),
                false => format!("CAST('' AS CHAR) AS {c}"),
            });
        }
        for c in ["duration", "billsec", "sequence"] {
            cols.push(match have.contains(c) {
                true => format!("CAST(COALESCE(`{c}`, 0) AS SIGNED) AS {c}"),
                false => format!("CAST(0 AS SIGNED) AS {c}"),
            });
        }
        let quoted = name
            .split('.')
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(".");
        Ok(CdrTable {
            name: name.to_string(),
            select: format!("SELECT {} FROM {quoted}", cols.join(", ")),
            call_column: if have.contains("linkedid") {
                "linkedid"
            } else {
                "uniqueid"
            },
            sequence_column: if have.contains("sequence") {
                "`sequence`"
            } else {
                "0"
            },
        })
    }

    /// Rows after `pos` in (calldate, uniqueid, sequence) order, at most `limit`.
    pub async fn after(
        &self,
        pool: &MySqlPool,
        pos: &(String, String, i64),
        limit: i64,
    ) -> sqlx::Result<Vec<CdrRow>> {
        let seq = self.sequence_column;
        let sql = format!(
            "{} WHERE calldate >= ? AND (calldate > ? OR (calldate = ? AND (uniqueid > ? \
               OR (uniqueid = ? AND {seq} > ?)))) \
             ORDER BY calldate, uniqueid, {seq} LIMIT ?",
            self.select
        );
        let from = if pos.0.is_empty() {
            "1000-01-01 00:00:00"
        } else {
            &pos.0
        };
        sqlx::query_as(&sql)
            .bind(from)
            .bind(from)
            .bind(from)
            .bind(&pos.1)
            .bind(&pos.1)
            .bind(pos.2)
            .bind(limit)
            .fetch_all(pool)
            .await
    }

    /// Rows that started in `[from, to]` and ended at or after `ended_since` (all PBX local
    /// times): the records written since the last pass whose start lies before the position.
    pub async fn ended_since(
        &self,
        pool: &MySqlPool,
        from: &str,
        to: &str,
        ended_since: &str,
    ) -> sqlx::Result<Vec<CdrRow>> {
        let sql = format!(
            "{} WHERE calldate >= ? AND calldate <= ? \
               AND calldate + INTERVAL duration SECOND >= ?",
            self.select
        );
        sqlx::query_as(&sql)
            .bind(from)
            .bind(to)
            .bind(ended_since)
            .fetch_all(pool)
            .await
    }

    /// Every row of the calls `keys` that started at or after `since`.
    pub async fn of_calls(
        &self,
        pool: &MySqlPool,
        keys: &[String],
        since: &str,
    ) -> sqlx::Result<Vec<CdrRow>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "{} WHERE calldate >= ? AND {} IN ({marks})",
                self.select, self.call_column
            );
            let mut q = sqlx::query_as(&sql).bind(since);
            for k in chunk {
                q = q.bind(k);
            }
            out.extend(q.fetch_all(pool).await?);
        }
        Ok(out)
    }
}

/// The CDR database's clock, in its local time (the time `calldate` is written in).
pub async fn db_now(pool: &MySqlPool) -> sqlx::Result<String> {
    let (now,): (String,) = sqlx::query_as("SELECT DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:%s')")
        .fetch_one(pool)
        .await?;
    Ok(now)
}
