//! CSV import of orders, streamed: the body is parsed as it arrives (on a blocking thread,
//! with the `csv` crate) and stored batch by batch, one transaction per batch, so an import
//! of any size holds one batch in memory. Header: `customer,external_id,amount,placed_at`
//! plus optional `currency` and `status`, in any order.
//!
//! The customer column is an email address (has `@`), a phone number (starts with `+` or 0
//! and has at least seven digits, in any digits: ۰۹۱۲… finds +98912…), or else an external
//! id; a `email:`, `phone:` or `external:` prefix says which. Unknown customers are created.
//! The customers' totals are brought up to date once, when the import ends.

use super::{parse, NewOrder};
use crate::auth::{Caller, Role};
use crate::customers::owners::Owners;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use futures::TryStreamExt;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use utoipa::ToSchema;

/// Most rejected lines listed in a report (all are counted).
const MAX_LISTED: usize = 1000;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportReport {
    pub imported: usize,
    pub duplicates: usize,
    /// The first 1,000 rejected lines with their reasons.
    pub rejected: Vec<Rejected>,
    pub rejected_total: usize,
}

/// One valid CSV line.
struct Row {
    identity: (String, String, String),
    external_id: String,
    amount_e4: i64,
    currency: Option<String>,
    status: String,
    placed_at: i64,
}

type Batch = Vec<Result<Row, Rejected>>;

/// Column positions from the header.
struct Columns {
    customer: usize,
    external_id: usize,
    amount: usize,
    placed_at: usize,
    currency: Option<usize>,
    status: Option<usize>,
}

impl Columns {
    fn of(header: &csv::StringRecord) -> Result<Self, String> {
        let mut at: HashMap<String, usize> = HashMap::new();
        for (i, name) in header.iter().enumerate() {
            let name = name
                .trim()
                .trim_start_matches('\u{feff}')
                .to_ascii_lowercase();
            if !matches!(
                name.as_str(),
                "customer" | "external_id" | "amount" | "placed_at" | "currency" | "status"
            ) {
                return Err(format!("unknown column `{name}` (customer, external_id, amount, placed_at, currency, status)"));
            }
            if at.insert(name.clone(), i).is_some() {
                return Err(format!("column `{name}` appears twice"));
            }
        }
        let need = |n: &str| {
            at.get(n)
                .copied()
                .ok_or_else(|| format!("missing column `{n}`"))
        };
        Ok(Columns {
            customer: need("customer")?,
            external_id: need("external_id")?,
            amount: need("amount")?,
            placed_at: need("placed_at")?,
            currency: at.get("currency").copied(),
            status: at.get("status").copied(),
        })
    }
}

/// (kind, normalised value, raw) of a customer column.
pub fn customer_identity(raw: &str, region: &str) -> Result<(String, String, String), String> {
    let raw = raw.trim();
    let (kind, value) = match raw.split_once(':') {
        Some((k @ ("email" | "phone" | "external"), v)) => (k, v.trim()),
        _ if raw.contains('@') => ("email", raw),
        _ if looks_like_phone(raw) => ("phone", raw),
        _ => ("external", raw),
    };
    let normalised = crate::customers::normalise_identity(kind, value, region)
        .map_err(|e| format!("customer `{raw}`: {e}"))?;
    Ok((kind.to_string(), normalised, value.to_string()))
}

fn looks_like_phone(raw: &str) -> bool {
    let folded = switchboard_text::fold_digits(raw);
    let digits = folded.chars().filter(char::is_ascii_digit).count();
    (folded.starts_with('+') || folded.starts_with('0'))
        && digits >= 7
        && folded
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
}

fn row(rec: &csv::StringRecord, cols: &Columns, region: &str) -> Result<Row, String> {
    let get = |i: usize| rec.get(i).unwrap_or("");
    Ok(Row {
        identity: customer_identity(get(cols.customer), region)?,
        external_id: parse::external_id(get(cols.external_id))?,
        amount_e4: parse::amount(get(cols.amount))?,
        currency: match cols.currency.map(get).filter(|c| !c.trim().is_empty()) {
            Some(c) => Some(parse::currency(c)?),
            None => None,
        },
        status: super::status(cols.status.map(get).filter(|s| !s.trim().is_empty()))?,
        placed_at: parse::time(get(cols.placed_at))?,
    })
}

/// Parse `input`, sending batches of `size` lines to `send` (which returns false to stop).
/// Returns an error for a bad header or a broken upload.
fn parse_csv(
    input: impl std::io::Read,
    size: usize,
    region: &str,
    mut send: impl FnMut(Batch) -> bool,
) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = reader
        .headers()
        .map_err(|e| format!("cannot read the header: {e}"))?
        .clone();
    let cols = Columns::of(&header)?;
    let mut batch = Vec::with_capacity(size);
    let mut rec = csv::StringRecord::new();
    loop {
        let line = reader.position().line() + 1;
        match reader.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) if rec.iter().all(|f| f.trim().is_empty()) => continue,
            Ok(true) => {
                let line = rec.position().map_or(line, |p| p.line());
                batch.push(row(&rec, &cols, region).map_err(|reason| Rejected { line, reason }));
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(format!("the upload broke off: {e}"))
            }
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                batch.push(Err(Rejected {
                    line,
                    reason: e.to_string(),
                }));
            }
        }
        if batch.len() >= size && !send(std::mem::replace(&mut batch, Vec::with_capacity(size))) {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        send(batch);
    }
    Ok(())
}

/// Import orders from CSV (`text/csv`; supervisor, or an API token with the `orders`
/// scope). Each batch of `value.import_batch` lines is one transaction; orders already
/// stored (by external id) are counted as duplicates, so a retried upload stores nothing
/// twice.
#[utoipa::path(post, path = "/orders/import", tag = "orders", request_body(content = String, content_type = "text/csv"), responses((status = 200, body = ImportReport), (status = 422, body = crate::error::ErrorBody)))]
pub async fn import_orders(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<ImportReport>> {
    caller.require(Role::Supervisor, super::SCOPE)?;
    let csv_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/csv"));
    if !csv_type {
        return Err(ApiError::BadRequest(
            "expected Content-Type: text/csv".into(),
        ));
    }
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let input = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let (batches, received) = tokio::sync::mpsc::channel::<Batch>(2);
    let size = state.settings.value.import_batch.max(1);
    let region = state.settings.text.default_region.clone();
    let parser = tokio::task::spawn_blocking(move || {
        parse_csv(input, size, &region, |b| batches.blocking_send(b).is_ok())
    });
    let stop = Arc::new(AtomicBool::new(false));
    let mut ready = read_ahead(&state, received, stop.clone());
    let mut report = ImportReport::default();
    let mut failed = None;
    let mut import = super::totals::Import::new();
    // After a failed batch the rest of the upload is still read (the caller gets a clean
    // answer), but neither stored nor read ahead.
    while let Some((batch, ahead)) = ready.recv().await {
        if failed.is_none() {
            if let Err(e) = store_batch(&state, batch, ahead, &mut report, &mut import).await {
                stop.store(true, Ordering::Relaxed);
                failed = Some(e);
            }
        }
    }
    let parsed = parser.await.map_err(|e| ApiError::Internal(e.into()))?;
    // The stored batches' customers get their totals (also after a failed batch; should
    // this fail, the import's mark goes stale and the totals are recounted later).
    import.finish(&state).await?;
    if report.imported > 0 {
        crate::value::refit_soon(&state);
    }
    if let Some(e) = failed {
        return Err(e);
    }
    match parsed {
        Ok(()) => Ok(Json(report)),
        Err(why) if report.imported + report.duplicates + report.rejected_total == 0 => {
            Err(ApiError::invalid("invalid_csv", why))
        }
        Err(why) => Err(ApiError::BadRequest(format!(
            "{why}; {} orders were imported before that (a retry counts them as duplicates)",
            report.imported
        ))),
    }
}

/// The parsed batches, each with its customers found by identity ahead of its transaction
/// (while the previous batch is written) on a store with one writer at a time: there the
/// lookups, most of a batch's reading once its customers exist, run beside the writer instead
/// of inside it. Elsewhere (PostgreSQL) every lookup stays inside the batch's transaction.
/// Once `stop` is set (a batch failed), nothing more is read ahead.
fn read_ahead(
    state: &AppState,
    mut parsed: tokio::sync::mpsc::Receiver<Batch>,
    stop: Arc<AtomicBool>,
) -> tokio::sync::mpsc::Receiver<(Batch, Option<Owners>)> {
    let (ready, out) = tokio::sync::mpsc::channel(1);
    let ahead = state.store.single_writer();
    let store = state.store.clone();
    tokio::spawn(async move {
        while let Some(batch) = parsed.recv().await {
            let owners = match ahead && !stop.load(Ordering::Relaxed) {
                true => owners_of(&store, &batch).await,
                false => None,
            };
            if ready.send((batch, owners)).await.is_err() {
                break;
            }
        }
    });
    out
}

/// The owners of `batch`'s customer identities as committed now (none if they cannot be
/// read: the batch then looks them all up itself).
async fn owners_of(store: &crate::store::Store, batch: &Batch) -> Option<Owners> {
    let wanted: Vec<(&str, &str)> = batch
        .iter()
        .flatten()
        .map(|r| (r.identity.0.as_str(), r.identity.1.as_str()))
        .collect();
    Owners::read(store, &wanted).await.ok()
}

/// Store one batch in one transaction and add its figures to `report`; its customers'
/// totals are left to `import`'s end. `ahead`: its customers as read ahead.
async fn store_batch(
    state: &AppState,
    batch: Batch,
    ahead: Option<Owners>,
    report: &mut ImportReport,
    import: &mut super::totals::Import,
) -> ApiResult<()> {
    let mut rows = Vec::with_capacity(batch.len());
    for r in batch {
        match r {
            Ok(row) => rows.push(row),
            Err(rejected) => {
                report.rejected_total += 1;
                if report.rejected.len() < MAX_LISTED {
                    report.rejected.push(rejected);
                }
            }
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let currency = super::order_currency(state);
    let mut tx = state.store.begin().await?;
    let result = async {
        let wanted: Vec<_> = rows.iter().map(|r| r.identity.clone()).collect();
        let customers = super::resolve_identities_ahead(&mut tx, &wanted, ahead).await?;
        let orders: Vec<NewOrder> = rows
            .into_iter()
            .map(|r| NewOrder {
                customer_id: customers[&(r.identity.0, r.identity.1)].clone(),
                external_id: r.external_id,
                source: "csv".into(),
                amount_e4: r.amount_e4,
                currency: r.currency.unwrap_or_else(|| currency.clone()),
                status: r.status,
                placed_at: r.placed_at,
            })
            .collect();
        let (written, _, ids) = super::store_new(&mut tx, &orders).await?;
        import.batch(&mut tx, &ids).await?;
        Ok::<_, crate::store::StoreError>(written)
    }
    .await;
    let written = tx.finish(result).await?;
    report.imported += written.stored;
    report.duplicates += written.duplicates;
    Ok(())
}
