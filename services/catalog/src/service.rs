//! The catalogue's use cases. Every write publishes one catalogue version in one transaction,
//! under the catalogue's write lock, then brings the in-memory index up to that version
//! before it answers — so the next resolution sees it.

use std::{
    collections::HashSet,
    sync::{Arc, RwLock, RwLockReadGuard},
};

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use medclear_common::{Error, Result, clock::Clock, telemetry::current_trace_id};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use crate::{
    domain::{CoverageRule, Item, LineError, LineInput, Mapping, Resolved, Scope, applicable_rule},
    import::{self, Fields, RowError},
    index::{Delta, Index, Resolution},
    repo::{self, Hospitals},
};

/// What an import file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Items,
    Coverage,
    Mappings,
}

/// A batch of rows to publish as one version.
#[derive(Debug, Clone)]
pub struct Publish {
    pub target: Target,
    /// File name or transaction, for the audit trail.
    pub source: String,
    pub operator: String,
    /// Any rejected row: publish nothing.
    pub all_or_nothing: bool,
    pub rows: Vec<(u64, Fields)>,
    /// `(sender, msgid)`: a retry gets the stored answer.
    pub idempotency: Option<(String, String)>,
}

pub use medclear_common::rows::Rejection;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub rows_received: u64,
    pub rows_accepted: u64,
    pub rejections: Vec<Rejection>,
    pub committed: bool,
    /// The version the rows were published as (0 when nothing was).
    pub ver: i64,
}

/// One page of changes since a version.
#[derive(Debug, Clone)]
pub struct Changes {
    /// The page's rows; `delta.ver` is the version the whole sync reaches.
    pub delta: Delta,
    /// Where the next page starts, while there may be more.
    pub next_page_token: Option<String>,
    pub current: i64,
}

/// Validated rows ready to write.
#[derive(Debug, Default)]
struct Plan {
    items: Vec<Item>,
    rules: Vec<CoverageRule>,
    closes: Vec<(i64, NaiveDate)>,
    mappings: Vec<Mapping>,
    accepted: u64,
    rejections: Vec<Rejection>,
}

impl Plan {
    fn reject(&mut self, row_no: u64, error: RowError) {
        self.rejections.push(Rejection::new(row_no, error));
    }

    fn rows_to_write(&self) -> usize {
        self.items.len() + self.rules.len() + self.closes.len() + self.mappings.len()
    }

    /// A new item, or a revision of one (its kind cannot change).
    fn item(&mut self, index: &Index, seen: &mut Seen, fields: &Fields) -> Result<(), RowError> {
        let item = import::item(fields)?;
        if !seen.insert((item.code.clone(), String::new())) {
            let message = format!("{} appears twice in this file", item.code);
            return Err(RowError::new("duplicate_row", Some("code"), message));
        }
        if let Some(old) = index.item(&item.code)
            && old.kind != item.kind
        {
            let message =
                format!("{} is a {}, not a {}", item.code, old.kind.as_str(), item.kind.as_str());
            return Err(RowError::new("kind_changed", Some("kind"), message));
        }
        self.items.push(item);
        Ok(())
    }

    /// A coverage rule. One that begins later than the scope's rule in force supersedes it from
    /// its first day (the old one is closed the day before); one that begins earlier is refused.
    fn rule(&mut self, index: &Index, seen: &mut Seen, fields: &Fields) -> Result<(), RowError> {
        let rule = import::coverage(fields)?;
        chargeable_item(index, &rule.code, "code")?;
        let scope = rule.scope.as_string();
        if !seen.insert((scope.clone(), rule.code.clone())) {
            let message = format!("{} appears twice for scope {scope} in this file", rule.code);
            return Err(RowError::new("duplicate_row", Some("code"), message));
        }
        let mut closes = Vec::new();
        let overlapping = index
            .rules(&rule.code)
            .iter()
            .filter(|old| old.scope == rule.scope && old.period.overlaps(&rule.period));
        for old in overlapping {
            match rule.period.begin.pred_opt() {
                Some(day_before) if old.period.begin < rule.period.begin => {
                    closes.push((old.id, day_before));
                }
                _ => {
                    let message = format!(
                        "{} already has a rule for scope {scope} from {}: a new rule must begin after it",
                        rule.code, old.period.begin
                    );
                    return Err(RowError::new("overlapping_rule", Some("begin_date"), message));
                }
            }
        }
        self.closes.extend(closes);
        self.rules.push(rule);
        Ok(())
    }

    /// A hospital's mapping; the same mapping again changes nothing, a different one for a
    /// mapped local code must wait for a revocation.
    fn mapping(&mut self, index: &Index, seen: &mut Seen, fields: &Fields) -> Result<(), RowError> {
        let mapping = import::mapping(fields)?;
        chargeable_item(index, &mapping.national_code, "national_code")?;
        if !seen.insert((mapping.fixmedins_code.clone(), mapping.local_code.clone())) {
            let message = format!("{} appears twice in this file", mapping.local_code);
            return Err(RowError::new("duplicate_row", Some("local_code"), message));
        }
        match index.active_mapping(&mapping.fixmedins_code, &mapping.local_code) {
            Some(old) if old.national_code == mapping.national_code => Ok(()),
            Some(old) => {
                let message = format!(
                    "{} is mapped to {} already: revoke that mapping first (3302)",
                    mapping.local_code, old.national_code
                );
                Err(RowError::new("already_mapped", Some("local_code"), message))
            }
            None => {
                self.mappings.push(mapping);
                Ok(())
            }
        }
    }
}

/// Keys already seen in one file.
type Seen = HashSet<(String, String)>;

/// The catalogue service: the database, the index, the clock.
#[derive(Debug)]
pub struct Catalog {
    pool: PgPool,
    index: RwLock<Index>,
    /// Serialises index refreshes, so deltas are applied in version order.
    refresh: tokio::sync::Mutex<()>,
    clock: Arc<dyn Clock>,
}

impl Catalog {
    /// Opens the catalogue and loads every published version into memory.
    pub async fn open(pool: PgPool, clock: Arc<dyn Clock>) -> Result<Arc<Self>> {
        let catalog = Arc::new(Self {
            pool,
            index: RwLock::new(Index::default()),
            refresh: tokio::sync::Mutex::new(()),
            clock,
        });
        let mut conn = catalog.pool.acquire().await?;
        catalog.refresh_with(&mut conn, None).await?;
        let (items, rules, mappings) = catalog.index().counts();
        tracing::info!(ver = catalog.index().ver(), items, rules, mappings, "catalogue loaded");
        Ok(catalog)
    }

    /// The index, for reading. A panic while it was written cannot leave it half-applied in a
    /// way a reader could see (apply replaces whole rows), so a poisoned lock is still read.
    pub fn index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now().trunc_subsecs(6)
    }

    /// Applies every version published after the index's to the index — only those below
    /// `below` when given (a transaction publishing version `below` sees its own unfinished
    /// version row).
    async fn refresh_with(&self, conn: &mut PgConnection, below: Option<i64>) -> Result<()> {
        let _serial = self.refresh.lock().await;
        let since = self.index().ver();
        let current = repo::current_version(&mut *conn).await?;
        let upto = below.map_or(current, |own| current.min(own - 1));
        if upto <= since {
            return Ok(());
        }
        let (delta, _) =
            repo::changes(conn, since, upto, Hospitals::All, &repo::Cursor::START, i64::MAX)
                .await?;
        self.index.write().unwrap_or_else(|poisoned| poisoned.into_inner()).apply(delta);
        Ok(())
    }

    /// Brings the index up to date with versions other instances publish, every `every`, until
    /// `stop`. One instance sees its own writes at once; replicas sharing the database need
    /// this to see each other's (within `every`).
    pub async fn follow(
        self: Arc<Self>,
        every: std::time::Duration,
        stop: tokio_util::sync::CancellationToken,
    ) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let refreshed = match self.pool.acquire().await {
                Ok(mut conn) => self.refresh_with(&mut conn, None).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = refreshed {
                tracing::warn!(error = %e, "following published catalogue versions");
            }
        }
    }

    /// Resolves a batch of lines, each under what is in force on its own date, all under one
    /// catalogue version.
    pub fn resolve(
        &self,
        at: &Resolution<'_>,
        lines: &[LineInput],
    ) -> (i64, Vec<Result<Resolved, LineError>>) {
        let index = self.index();
        (index.ver(), lines.iter().map(|line| index.resolve(at, line)).collect())
    }

    pub fn item(&self, code: &str) -> Result<Item> {
        self.index().item(code).cloned().ok_or_else(|| {
            Error::not_found("unknown_code", format!("{code} is not in the national catalogue"))
        })
    }

    /// The rule in force for `code` in `region` on `date`.
    pub fn coverage(
        &self,
        code: &str,
        region: &medclear_common::codes::Admdvs,
        date: NaiveDate,
    ) -> Result<Option<CoverageRule>> {
        let index = self.index();
        if index.item(code).is_none() {
            return Err(Error::not_found(
                "unknown_code",
                format!("{code} is not in the national catalogue"),
            ));
        }
        Ok(applicable_rule(index.rules(code), &Scope::chain(region), date).cloned())
    }

    pub fn mappings_of(&self, fixmedins_code: &str, include_revoked: bool) -> Vec<Mapping> {
        let index = self.index();
        let mut all: Vec<Mapping> = index
            .hospital_mappings(fixmedins_code)
            .filter(|m| include_revoked || !m.revoked)
            .cloned()
            .collect();
        all.sort_by(|a, b| (&a.local_code, a.id).cmp(&(&b.local_code, b.id)));
        all
    }

    /// A page of the changes after `since`, with one hospital's mappings if asked. The first
    /// page pins the version the sync reaches; `page_token` carries it and the position.
    pub async fn changes(
        &self,
        since: i64,
        limit: u32,
        fixmedins_code: Option<&str>,
        page_token: Option<&str>,
    ) -> Result<Changes> {
        let limit = i64::from(if limit == 0 { 1000 } else { limit.min(10_000) });
        let since = since.max(0);
        let mut conn = self.pool.acquire().await?;
        let current = repo::current_version(&mut conn).await?;
        let (upto, from) = match page_token {
            None => (current, repo::Cursor::START),
            Some(token) => parse_token(token, since, current)?,
        };
        let hospitals = fixmedins_code.map_or(Hospitals::None, Hospitals::One);
        let (delta, next) = repo::changes(&mut conn, since, upto, hospitals, &from, limit).await?;
        let next_page_token = next.map(|c| format!("{upto}-{}-{}", c.table, c.key));
        Ok(Changes { delta, next_page_token, current })
    }

    /// Checks rows against the catalogue as it is (`index`) and against each other.
    fn plan(&self, target: Target, rows: &[(u64, Fields)]) -> Plan {
        let index = self.index();
        let mut plan = Plan::default();
        let mut seen = HashSet::new();
        for (row_no, fields) in rows {
            let outcome = match target {
                Target::Items => plan.item(&index, &mut seen, fields),
                Target::Coverage => plan.rule(&index, &mut seen, fields),
                Target::Mappings => plan.mapping(&index, &mut seen, fields),
            };
            match outcome {
                Ok(()) => plan.accepted += 1,
                Err(error) => plan.reject(*row_no, error),
            }
        }
        plan
    }

    /// Publishes rows as one version: all accepted rows or (on any failure) none.
    pub async fn publish(&self, request: Publish) -> Result<ImportReport> {
        let body = serde_json::to_string(&(&request.target, &request.rows))
            .map_err(|e| Error::Internal(format!("serialising a request: {e}")))?;
        let mut tx = self.pool.begin().await?;
        let now = self.now();
        let ver = repo::begin_version(&mut tx, &request.source, &request.operator, now).await?;
        if let Some((sender, msgid)) = &request.idempotency
            && let Some((earlier_body, response)) =
                repo::find_request(&mut tx, sender, msgid).await?
        {
            if earlier_body != body {
                return Err(reused(msgid));
            }
            return serde_json::from_slice(&response)
                .map_err(|e| Error::Internal(format!("stored answer of {msgid}: {e}")));
        }
        // Holding the write lock, nobody else publishes: bring the index to the last version.
        self.refresh_with(&mut tx, Some(ver)).await?;
        let plan = self.plan(request.target, &request.rows);
        let received = u64::try_from(request.rows.len()).unwrap_or(u64::MAX);
        let refused = request.all_or_nothing && !plan.rejections.is_empty();
        let mut report = ImportReport {
            rows_received: received,
            rows_accepted: if refused { 0 } else { plan.accepted },
            rejections: plan.rejections.clone(),
            committed: false,
            ver: 0,
        };
        if refused || plan.rows_to_write() == 0 {
            // Nothing to publish; a retry of the same message still gets this answer.
            if let Some((sender, msgid)) = &request.idempotency {
                drop(tx);
                let mut tx = self.pool.begin().await?;
                repo::save_request(&mut tx, sender, msgid, &body, &encode(&report)?, now).await?;
                tx.commit().await?;
            }
            return Ok(report);
        }
        for (id, end) in &plan.closes {
            repo::close_rule(&mut tx, *id, *end, ver).await?;
        }
        repo::upsert_items(&mut tx, &plan.items, ver).await?;
        repo::insert_rules(&mut tx, &plan.rules, ver).await?;
        repo::insert_mappings(&mut tx, &plan.mappings, ver).await?;
        repo::finish_version(&mut tx, ver, plan.rows_to_write()).await?;
        report.committed = true;
        report.ver = ver;
        if let Some((sender, msgid)) = &request.idempotency {
            repo::save_request(&mut tx, sender, msgid, &body, &encode(&report)?, now).await?;
        }
        let details = serde_json::json!({
            "target": request.target, "source": request.source, "rows_received": received,
            "rows_accepted": report.rows_accepted, "rows_rejected": report.rejections.len(),
        });
        repo::append_audit(
            &mut tx,
            now,
            &request.operator,
            "catalog.publish",
            &ver.to_string(),
            details,
            current_trace_id(),
        )
        .await?;
        tx.commit().await?;
        let mut conn = self.pool.acquire().await?;
        self.refresh_with(&mut conn, None).await?;
        tracing::info!(ver, target = ?request.target, accepted = report.rows_accepted, rejected = report.rejections.len(), "catalogue version published");
        Ok(report)
    }

    /// Revokes a hospital's mapping of a local code (national transaction 3302).
    pub async fn revoke_mapping(
        &self,
        msgid: &str,
        fixmedins_code: &str,
        local_code: &str,
    ) -> Result<Mapping> {
        let body = format!("{fixmedins_code}\u{1f}{local_code}");
        let mut tx = self.pool.begin().await?;
        let now = self.now();
        let ver = repo::begin_version(&mut tx, "3302", fixmedins_code, now).await?;
        if let Some((earlier_body, response)) =
            repo::find_request(&mut tx, fixmedins_code, msgid).await?
        {
            if earlier_body != body {
                return Err(reused(msgid));
            }
            return serde_json::from_slice(&response)
                .map_err(|e| Error::Internal(format!("stored answer of {msgid}: {e}")));
        }
        let today = now.with_timezone(&medclear_common::clock::CHINA).date_naive();
        let mapping = repo::revoke_mapping(&mut tx, fixmedins_code, local_code, now, today, ver)
            .await?
            .ok_or_else(|| {
                Error::not_found(
                    "mapping_not_found",
                    format!("{fixmedins_code} has no active mapping of {local_code}"),
                )
            })?;
        repo::finish_version(&mut tx, ver, 1).await?;
        repo::save_request(&mut tx, fixmedins_code, msgid, &body, &encode(&mapping)?, now).await?;
        let details =
            serde_json::json!({ "local_code": local_code, "national_code": mapping.national_code });
        repo::append_audit(
            &mut tx,
            now,
            fixmedins_code,
            "mapping.revoke",
            &mapping.id.to_string(),
            details,
            current_trace_id(),
        )
        .await?;
        tx.commit().await?;
        let mut conn = self.pool.acquire().await?;
        self.refresh_with(&mut conn, None).await?;
        Ok(mapping)
    }
}

/// `upto-table-key`, as `changes` hands it out.
fn parse_token(token: &str, since: i64, current: i64) -> Result<(i64, repo::Cursor)> {
    let bad = || {
        Error::invalid(
            "page_token",
            "invalid_page_token",
            "page_token is not one this service gave out for this since_ver",
        )
    };
    let mut parts = token.splitn(3, '-');
    let upto: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let table: u8 =
        parts.next().and_then(|p| p.parse().ok()).filter(|t| *t <= 2).ok_or_else(bad)?;
    let key = parts.next().ok_or_else(bad)?.to_owned();
    if upto < since || upto > current {
        return Err(bad());
    }
    Ok((upto, repo::Cursor { table, key }))
}

/// The item a coverage rule or mapping row names, which must exist and be billable.
fn chargeable_item<'a>(
    index: &'a Index,
    code: &str,
    field: &'static str,
) -> Result<&'a Item, RowError> {
    let item = index.item(code).ok_or_else(|| {
        RowError::new(
            "unknown_code",
            Some(field),
            format!("{code} is not in the national catalogue"),
        )
    })?;
    if !item.kind.is_chargeable() {
        return Err(RowError::new(
            "not_chargeable",
            Some(field),
            format!(
                "{code} is a {}: fee lines cannot bill it, so it has no coverage or mapping",
                item.kind.as_str()
            ),
        ));
    }
    Ok(item)
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Internal(format!("serialising an answer: {e}")))
}

fn reused(msgid: &str) -> Error {
    Error::already_exists(
        "msgid_reused",
        format!(
            "msgid {msgid} was already used by this sender for a different request; use a new msgid"
        ),
    )
}
