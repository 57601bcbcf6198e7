//! The clearing service's use cases: each one transaction that reads what the rules need
//! through the repository, asks the pure rules, and writes the outcome — operator actions with
//! their audit line.

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Days, NaiveDate, Utc};
use medclear_common::{Error, Result, clock::Clock, config, telemetry::current_trace_id};
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::{
    domain::{
        self, Account, Aggregates, Application, FundLevel, FundState, Item, Netting, Operator,
        PeriodAction, PeriodScheme, PeriodStatus, Position, PrepaidRules, ReconDetail, ReconTotals,
        Totals, account,
    },
    repo::{
        self, ApplicationRow, AuditEntry, CellRow, ConfirmationRow, CursorRow, DepositRow,
        DisputeRow, HospitalCellRow, InstructionRow, ItemRow, PeriodRow, Placed, PositionRow,
        TopupRow,
    },
};

/// How the clearing service cuts periods and sizes prepaid funds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClearingConfig {
    pub scheme: PeriodScheme,
    pub prepaid: PrepaidRules,
}

impl Default for ClearingConfig {
    fn default() -> Self {
        Self { scheme: PeriodScheme::Monthly, prepaid: PrepaidRules::default() }
    }
}

impl ClearingConfig {
    /// From the environment — for `main` ([`crate::Settings::from_env`]) and the CLI only:
    /// `CLEARING_PERIOD` (`monthly`, `daily`, `<n>d`; default monthly), `CLEARING_PREPAID_WINDOW`
    /// (periods, default 2), `CLEARING_PREPAID_ALERT` (share of the required deposit, default
    /// 0.70).
    pub fn from_env() -> Result<Self> {
        let scheme = PeriodScheme::parse(&config::var("CLEARING_PERIOD").unwrap_or_default())?;
        let window = config::parse_or("CLEARING_PREPAID_WINDOW", 2u32)?;
        let alert_ratio = config::parse_or("CLEARING_PREPAID_ALERT", Decimal::new(70, 2))?;
        if window == 0 || alert_ratio <= Decimal::ZERO || alert_ratio > Decimal::ONE {
            return Err(Error::Internal(
                "CLEARING_PREPAID_WINDOW must be ≥ 1 and CLEARING_PREPAID_ALERT in (0, 1]".into(),
            ));
        }
        Ok(Self {
            scheme,
            prepaid: PrepaidRules { window, alert_ratio, ..PrepaidRules::default() },
        })
    }
}

/// A period with its confirmations and the totals of its matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodView {
    pub row: PeriodRow,
    pub confirmations: Vec<ConfirmationRow>,
    pub totals: Totals,
}

/// A netting run as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NettingView {
    pub period: PeriodRow,
    pub netting: Netting,
    pub matrix: Vec<CellRow>,
    pub instructions: Vec<InstructionRow>,
}

/// A prepaid fund's deposit and level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundView {
    pub province: String,
    pub deposit: i64,
    pub level: FundLevel,
    pub state: FundState,
    pub topup: Option<TopupRow>,
    /// When the level was read.
    pub as_of: DateTime<Utc>,
}

/// A province's statement for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvinceStatement {
    pub period: PeriodRow,
    pub province: String,
    /// What it owes, per treating province.
    pub as_home: Vec<CellRow>,
    /// What it is owed, per home province.
    pub as_treating: Vec<CellRow>,
    pub position: Position,
    pub disputed: i64,
    pub prepaid_drawn: i64,
    pub instructions: Vec<InstructionRow>,
    pub generated_at: DateTime<Utc>,
}

/// A hospital's statement: its parts per home province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HospitalStatement {
    pub fixmedins_code: String,
    pub treating: String,
    pub totals: Totals,
    pub by_home: Vec<HospitalCellRow>,
    /// Its standing clearing applications (3203) for the period, one per clearing category.
    pub applications: Vec<ApplicationRow>,
}

/// What a batch of events did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ingested {
    pub items: u64,
    pub duplicates: u64,
    /// Events at or below the cursor (a re-delivery), skipped.
    pub replayed: u64,
}

/// The outcome of an audit of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditOutcome {
    pub items: i64,
    pub cells: usize,
    pub differences: Vec<String>,
    pub gross: i64,
}

/// The clearing service: a database pool, a clock and the configuration.
#[derive(Debug, Clone)]
pub struct ClearingService {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    config: ClearingConfig,
}

fn new_id(prefix: &str) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase();
    format!("{prefix}{}", &hex[..20])
}

fn check_period_id(period_id: &str) -> Result<()> {
    if period_id.trim().is_empty() || period_id.len() > 16 {
        return Err(Error::invalid("period_id", "missing_field", "period_id is required"));
    }
    Ok(())
}

fn check_request_id(request_id: &str) -> Result<()> {
    if request_id.trim().is_empty() || request_id.len() > 64 {
        return Err(Error::invalid(
            "request_id",
            "missing_field",
            "request_id is required (≤ 64 characters)",
        ));
    }
    Ok(())
}

fn check_reason(reason: &str) -> Result<()> {
    if reason.trim().is_empty() || reason.chars().count() > 500 {
        return Err(Error::invalid(
            "reason",
            "missing_field",
            "a reason (≤ 500 characters) is required",
        ));
    }
    Ok(())
}

fn check_hospital(fixmedins_code: &str) -> Result<()> {
    if fixmedins_code.trim().is_empty() {
        return Err(Error::invalid(
            "fixmedins_code",
            "missing_field",
            "fixmedins_code is required",
        ));
    }
    Ok(())
}

fn check_province(field: &'static str, code: &str) -> Result<()> {
    if !domain::is_province(code) {
        return Err(Error::invalid(
            field,
            "invalid_admdvs",
            format!("{code:?} is not a province admdvs (six digits ending in 0000)"),
        ));
    }
    Ok(())
}

async fn audit(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    actor: &Operator,
    action: &str,
    period_id: &str,
    details: serde_json::Value,
) -> Result<()> {
    let actor = actor.label();
    let entry = AuditEntry {
        at,
        actor: &actor,
        action,
        entity_type: "period",
        entity_id: period_id,
        details,
        trace_id: current_trace_id(),
    };
    repo::audit(conn, &entry).await
}

/// The audit line of an institution's action on its clearing application.
async fn application_audit(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    row: &ApplicationRow,
    action: &str,
    details: serde_json::Value,
) -> Result<()> {
    let entry = AuditEntry {
        at,
        actor: &row.fixmedins_code,
        action,
        entity_type: "clearing_application",
        entity_id: &row.clr_appy_evt_id,
        details,
        trace_id: current_trace_id(),
    };
    repo::audit(conn, &entry).await
}

impl ClearingService {
    pub fn new(pool: PgPool, clock: Arc<dyn Clock>, config: ClearingConfig) -> Self {
        Self { pool, clock, config }
    }

    pub fn config(&self) -> &ClearingConfig {
        &self.config
    }

    /// How many batches of one source may be in flight at once: two when the pool has a
    /// connection for each (the second writes its items while the first commits), else one
    /// (the embedded database's single connection).
    pub fn ingest_depth(&self) -> usize {
        if self.pool.options().get_max_connections() > 1 { 2 } else { 1 }
    }

    // -----------------------------------------------------------------------------------------
    // Consumption
    // -----------------------------------------------------------------------------------------

    /// Where `source`'s stream was consumed up to.
    pub async fn cursor(&self, source: &str) -> Result<i64> {
        repo::cursor(&mut *self.pool.acquire().await?, source).await
    }

    /// Ingests a batch of `source`'s events, in sequence order, in one transaction with the
    /// cursor: events at or below the cursor are skipped (a re-delivery), a gap is refused, an
    /// item already held (from any source) is not counted again.
    pub async fn ingest(&self, source: &str, batch: &[Item]) -> Result<Ingested> {
        self.ingest_after(source, batch, std::future::ready(Ok(()))).await
    }

    /// [`ingest`](Self::ingest), overlapping with the batch before it: the items are written
    /// first; then the transaction waits for `previous` (that batch's commit) before it takes
    /// the cursor, checks that this batch follows it exactly, adds the aggregates and commits.
    /// If `previous` fails, this batch is rolled back too.
    pub async fn ingest_after(
        &self,
        source: &str,
        batch: &[Item],
        previous: impl std::future::Future<Output = Result<()>>,
    ) -> Result<Ingested> {
        let Some(last) = batch.last() else { return Ok(Ingested::default()) };
        let now = self.clock.now();
        self.open_periods(batch, now).await?;
        let mut tx = self.pool.begin().await?;
        repo::lock_periods_shared(&mut tx).await?;
        // Read without a lock: while the batch before is in flight this is older than it, which
        // only means more events look fresh; the locked check below decides.
        let cursor = repo::cursor(&mut tx, source).await?;
        let fresh: Vec<&Item> = batch.iter().filter(|i| i.seq > cursor).collect();
        let replayed = u64::try_from(batch.len() - fresh.len()).unwrap_or(0);
        let Some(first) = fresh.first().map(|i| i.seq) else {
            previous.await?;
            return Ok(Ingested { replayed, ..Ingested::default() });
        };
        for (expected, item) in (first..).zip(&fresh) {
            if item.seq != expected {
                return Err(Error::Internal(format!(
                    "{source}: event {} follows {} (a gap or a reordering); not consumed",
                    item.seq,
                    expected - 1
                )));
            }
            item.validate()?;
        }
        // Each item into its period: its own if open, else the next open one (late). The
        // periods were opened above; one closed since then sends the batch round again.
        let known = repo::period_states(&mut tx).await?;
        let mut assigned = Vec::with_capacity(fresh.len());
        for item in &fresh {
            let a = domain::assign(self.config.scheme, &known, item.stmt_date);
            if a.open {
                return Err(Error::Internal(format!(
                    "{source}: period {} closed under the batch from event {first}; read again",
                    a.period.id
                )));
            }
            assigned.push((a.period.id, a.late));
        }
        let mut placed: Vec<Placed<'_>> = fresh
            .iter()
            .zip(&assigned)
            .map(|(item, (period_id, late))| Placed { item, period_id, late: *late })
            .collect();
        // Held already (re-read under another source name, say): skipped, not counted twice.
        let mut seen = std::collections::HashSet::new();
        placed.retain(|p| seen.insert(p.item.setl_id.as_str()));
        let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
        let copied = repo::copy_items(&mut savepoint, &placed).await;
        if copied.is_ok() {
            savepoint.commit().await?;
        } else {
            // Some are held already (COPY refuses them all): keep only the new ones.
            if let Err(e) = copied {
                tracing::info!(source, first, error = %e, "batch not copied; inserting what is new");
            }
            savepoint.rollback().await?;
            let ids: Vec<&str> = placed.iter().map(|p| p.item.setl_id.as_str()).collect();
            let held = repo::held_items(&mut tx, &ids).await?;
            placed.retain(|p| !held.contains(&p.item.setl_id));
            repo::insert_items(&mut tx, &placed).await?;
        }
        let mut agg = Aggregates::default();
        for p in &placed {
            agg.add(p.item, p.period_id, p.late, false, 1);
        }
        // From here on in sequence order: the batch before has committed.
        previous.await?;
        let locked = repo::lock_cursor(&mut tx, source, now).await?;
        if locked + 1 != first {
            return Err(Error::Internal(format!(
                "{source}: the batch from event {first} does not follow the cursor at {locked}; \
                 not consumed"
            )));
        }
        repo::add_aggregates(&mut tx, &agg).await?;
        let reference = format!("{source}:{first}-{}", last.seq);
        repo::insert_posting(&mut tx, "ingest", None, &reference, now, &agg.posting()).await?;
        let items = u64::try_from(placed.len()).unwrap_or(0);
        let duplicates = u64::try_from(fresh.len()).unwrap_or(0) - items;
        repo::advance_cursor(
            &mut tx,
            source,
            last.seq,
            last.setl_time,
            i64::try_from(items).unwrap_or(i64::MAX),
            i64::try_from(duplicates).unwrap_or(i64::MAX),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ingested { items, duplicates, replayed })
    }

    /// Opens, in a transaction of its own, the periods a batch will go to. An open period
    /// without items is harmless, and the batch's own (longer) transaction then never holds a
    /// new period row that the batch before it, still in flight, would wait for.
    async fn open_periods(&self, batch: &[Item], now: DateTime<Utc>) -> Result<()> {
        let mut dates: Vec<NaiveDate> = batch.iter().map(|i| i.stmt_date).collect();
        dates.sort_unstable();
        dates.dedup();
        let mut tx = self.pool.begin().await?;
        repo::lock_periods_shared(&mut tx).await?;
        let mut known = repo::period_states(&mut tx).await?;
        let mut opened = false;
        for date in dates {
            let a = domain::assign(self.config.scheme, &known, date);
            if a.open {
                repo::open_period(&mut tx, &a.period, now).await?;
                known.insert(a.period.begin, PeriodStatus::Open);
                opened = true;
            }
        }
        if opened {
            tx.commit().await?;
        }
        Ok(())
    }

    pub async fn ingest_status(&self) -> Result<Vec<CursorRow>> {
        repo::cursors(&mut *self.pool.acquire().await?).await
    }

    // -----------------------------------------------------------------------------------------
    // Periods
    // -----------------------------------------------------------------------------------------

    async fn view(conn: &mut PgConnection, row: PeriodRow) -> Result<PeriodView> {
        let confirmations = repo::confirmations(conn, &row.period_id).await?;
        let mut totals = Totals::default();
        for cell in repo::cells(conn, &row.period_id).await? {
            totals.merge(&cell.totals());
        }
        Ok(PeriodView { row, confirmations, totals })
    }

    pub async fn period(&self, period_id: &str) -> Result<PeriodView> {
        check_period_id(period_id)?;
        let mut conn = self.pool.acquire().await?;
        let row = repo::period(&mut conn, period_id).await?;
        Self::view(&mut conn, row).await
    }

    pub async fn periods(&self, status: Option<PeriodStatus>) -> Result<Vec<PeriodView>> {
        let mut conn = self.pool.acquire().await?;
        let mut views = Vec::new();
        for row in repo::periods(&mut conn, status).await? {
            views.push(Self::view(&mut conn, row).await?);
        }
        Ok(views)
    }

    /// Opens a transaction for a period action: periods locked, the period read.
    async fn begin_action(
        &self,
        period_id: &str,
    ) -> Result<(sqlx::Transaction<'static, sqlx::Postgres>, PeriodRow, PeriodStatus)> {
        check_period_id(period_id)?;
        let mut tx = self.pool.begin().await?;
        repo::lock_periods(&mut tx).await?;
        let row = repo::period(&mut tx, period_id).await?;
        let status = row.status()?;
        Ok((tx, row, status))
    }

    /// OPEN → CLOSED: nothing new enters (later items go to the next open period).
    pub async fn close(&self, period_id: &str, actor: &Operator) -> Result<PeriodView> {
        actor.require_national(PeriodAction::Close)?;
        let (mut tx, row, status) = self.begin_action(period_id).await?;
        if status > PeriodStatus::Open {
            return Self::view(&mut tx, row).await; // closed already: a retry
        }
        let now = self.clock.now();
        repo::set_status(&mut tx, period_id, PeriodStatus::Closed, now).await?;
        audit(&mut tx, now, actor, "close", period_id, json!({})).await?;
        let row = repo::period(&mut tx, period_id).await?;
        let view = Self::view(&mut tx, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// CLOSED → NETTED: positions and instructions of a new netting run, from the matrix kept
    /// at consumption (no item is read). A period with nothing to confirm is CONFIRMED at once.
    pub async fn net(&self, period_id: &str, actor: &Operator) -> Result<NettingView> {
        actor.require_national(PeriodAction::Net)?;
        let (mut tx, row, status) = self.begin_action(period_id).await?;
        if status > PeriodStatus::Closed {
            return self.netting_in(&mut tx, row, true).await; // netted already: a retry
        }
        domain::check_action(period_id, status, PeriodAction::Net)?;
        let now = self.clock.now();
        let cells = repo::cells(&mut tx, period_id).await?;
        let netting = domain::net(cells.iter().map(|c| {
            (c.home_province.as_str(), c.treating_province.as_str(), c.totals().obligation())
        }));
        let run = row.netting_run + 1;
        let positions: Vec<PositionRow> = netting
            .positions
            .iter()
            .map(|(province, p)| PositionRow {
                province: province.clone(),
                receivable_fen: p.receivable,
                payable_fen: p.payable,
                net_fen: p.net(),
            })
            .collect();
        repo::insert_positions(&mut tx, period_id, run, &positions).await?;
        repo::set_instructions_status(&mut tx, period_id, "cancelled").await?;
        let instructions: Vec<InstructionRow> = netting
            .instructions
            .iter()
            .enumerate()
            .map(|(n, i)| InstructionRow {
                instruction_id: format!("I{period_id}-{run}-{:03}", n + 1),
                period_id: period_id.to_owned(),
                netting_run: run,
                payer: i.payer.clone(),
                payee: i.payee.clone(),
                amount_fen: i.amount,
                from_prepaid_fen: 0,
                status: "pending".into(),
                created_at: now,
                executed_at: None,
            })
            .collect();
        repo::insert_instructions(&mut tx, &instructions).await?;
        repo::set_netted(&mut tx, period_id, run, now).await?;
        if positions.is_empty() {
            repo::set_status(&mut tx, period_id, PeriodStatus::Confirmed, now).await?;
        }
        let details = json!({
            "netting_run": run,
            "gross_fen": netting.gross,
            "sum_abs_net_fen": netting.sum_abs_net,
            "efficiency": netting.efficiency().to_string(),
        });
        audit(&mut tx, now, actor, "net", period_id, details).await?;
        let row = repo::period(&mut tx, period_id).await?;
        let view = self.netting_in(&mut tx, row, true).await?;
        tx.commit().await?;
        Ok(view)
    }

    async fn netting_in(
        &self,
        conn: &mut PgConnection,
        period: PeriodRow,
        include_matrix: bool,
    ) -> Result<NettingView> {
        if period.netting_run == 0 {
            return Err(Error::precondition(
                "period_not_netted",
                format!("period {} has not been netted", period.period_id),
            ));
        }
        let positions = repo::positions(conn, &period.period_id, period.netting_run).await?;
        let positions: BTreeMap<String, Position> = positions
            .into_iter()
            .map(|p| {
                (p.province, Position { receivable: p.receivable_fen, payable: p.payable_fen })
            })
            .collect();
        let instructions =
            repo::instructions(conn, &period.period_id, Some(period.netting_run), "").await?;
        let netting = Netting {
            gross: positions.values().map(|p| p.payable).sum(),
            sum_abs_net: positions.values().map(|p| p.net().abs()).sum(),
            instructions: instructions
                .iter()
                .map(|i| domain::Instruction {
                    payer: i.payer.clone(),
                    payee: i.payee.clone(),
                    amount: i.amount_fen,
                })
                .collect(),
            positions,
        };
        let matrix =
            if include_matrix { repo::cells(conn, &period.period_id).await? } else { Vec::new() };
        Ok(NettingView { period, netting, matrix, instructions })
    }

    pub async fn netting(&self, period_id: &str, include_matrix: bool) -> Result<NettingView> {
        check_period_id(period_id)?;
        let mut conn = self.pool.acquire().await?;
        let row = repo::period(&mut conn, period_id).await?;
        self.netting_in(&mut conn, row, include_matrix).await
    }

    pub async fn instructions(
        &self,
        period_id: &str,
        province: &str,
    ) -> Result<Vec<InstructionRow>> {
        check_period_id(period_id)?;
        let mut conn = self.pool.acquire().await?;
        repo::period(&mut conn, period_id).await?;
        repo::instructions(&mut conn, period_id, None, province).await
    }

    /// A province confirms the current netting run; with the last confirmation the period is
    /// CONFIRMED and its instructions are issued.
    pub async fn confirm(
        &self,
        period_id: &str,
        province: &str,
        netting_run: i32,
        actor: &Operator,
    ) -> Result<PeriodView> {
        check_province("province_admdvs", province)?;
        actor.is_operator_of(province)?;
        let (mut tx, row, status) = self.begin_action(period_id).await?;
        domain::check_action(period_id, status, PeriodAction::Confirm)?;
        if netting_run != row.netting_run {
            return Err(Error::precondition(
                "stale_netting_run",
                format!(
                    "period {period_id} is at netting run {}, not {netting_run}: read the new \
                     positions and confirm those",
                    row.netting_run
                ),
            ));
        }
        let positions = repo::positions(&mut tx, period_id, row.netting_run).await?;
        if !positions.iter().any(|p| p.province == province) {
            return Err(Error::not_found(
                "no_position",
                format!("province {province} has no position in period {period_id}"),
            ));
        }
        let now = self.clock.now();
        let confirmation = ConfirmationRow {
            province: province.to_owned(),
            state: "confirmed".into(),
            netting_run,
            actor: actor.label(),
            at: now,
            reason: String::new(),
        };
        repo::upsert_confirmation(&mut tx, period_id, &confirmation).await?;
        let confirmed = repo::confirmations(&mut tx, period_id).await?;
        let all = positions.iter().all(|p| {
            confirmed.iter().any(|c| {
                c.province == p.province && c.state == "confirmed" && c.netting_run == netting_run
            })
        });
        if all && status == PeriodStatus::Netted {
            repo::set_status(&mut tx, period_id, PeriodStatus::Confirmed, now).await?;
            repo::set_instructions_status(&mut tx, period_id, "issued").await?;
        }
        let details =
            json!({ "province": province, "netting_run": netting_run, "all_confirmed": all });
        audit(&mut tx, now, actor, "confirm", period_id, details).await?;
        let row = repo::period(&mut tx, period_id).await?;
        let view = Self::view(&mut tx, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Rolls back a province's confirmation (national 3262's role), until the period is settled.
    pub async fn withdraw(
        &self,
        period_id: &str,
        province: &str,
        reason: &str,
        actor: &Operator,
    ) -> Result<PeriodView> {
        check_province("province_admdvs", province)?;
        actor.is_operator_of(province)?;
        check_reason(reason)?;
        let (mut tx, row, status) = self.begin_action(period_id).await?;
        domain::check_action(period_id, status, PeriodAction::Withdraw)?;
        let confirmations = repo::confirmations(&mut tx, period_id).await?;
        let Some(existing) =
            confirmations.into_iter().find(|c| c.province == province && c.state == "confirmed")
        else {
            return Err(Error::precondition(
                "not_confirmed",
                format!("province {province} has not confirmed period {period_id}"),
            ));
        };
        let now = self.clock.now();
        let withdrawn = ConfirmationRow {
            state: "withdrawn".into(),
            actor: actor.label(),
            at: now,
            reason: reason.trim().to_owned(),
            ..existing
        };
        repo::upsert_confirmation(&mut tx, period_id, &withdrawn).await?;
        if status == PeriodStatus::Confirmed {
            repo::set_status(&mut tx, period_id, PeriodStatus::Netted, now).await?;
            repo::set_instructions_status(&mut tx, period_id, "pending").await?;
        }
        let details = json!({ "province": province, "reason": reason.trim(), "netting_run": row.netting_run });
        audit(&mut tx, now, actor, "withdraw", period_id, details).await?;
        let row = repo::period(&mut tx, period_id).await?;
        let view = Self::view(&mut tx, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// A province disputes items of the period: they are carried to the next open period with
    /// the reason, and the period goes back to CLOSED to be netted again.
    pub async fn dispute(
        &self,
        request_id: &str,
        period_id: &str,
        province: &str,
        setl_ids: &[String],
        reason: &str,
        actor: &Operator,
    ) -> Result<DisputeRow> {
        check_request_id(request_id)?;
        check_province("province_admdvs", province)?;
        actor.is_operator_of(province)?;
        if setl_ids.is_empty() || setl_ids.len() > 10_000 {
            return Err(Error::invalid(
                "setl_ids",
                "missing_field",
                "name 1 to 10,000 settlements",
            ));
        }
        check_reason(reason)?;
        let mut ids = setl_ids.to_vec();
        ids.sort();
        ids.dedup();
        let body = json!({ "period_id": period_id, "province": province, "setl_ids": ids, "reason": reason.trim() }).to_string();
        let (mut tx, row, status) = self.begin_action(period_id).await?;
        if let Some(earlier) = repo::dispute_by_request(&mut tx, request_id).await? {
            if earlier.request_body != body {
                return Err(Error::already_exists(
                    "request_id_reused",
                    format!("request_id {request_id} was used for a different dispute"),
                ));
            }
            return Ok(earlier);
        }
        domain::check_action(period_id, status, PeriodAction::Dispute)?;
        let rows = repo::lock_items(&mut tx, &ids).await?;
        let missing: Vec<&str> = ids
            .iter()
            .filter(|id| !rows.iter().any(|r| &r.setl_id == *id && r.period_id == period_id))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(Error::not_found(
                "unknown_settlement",
                format!("not in period {period_id}: {}", missing.join(", ")),
            ));
        }
        if let Some(other) =
            rows.iter().find(|r| r.home_province != province && r.treating_province != province)
        {
            return Err(Error::forbidden(
                "not_a_party",
                format!(
                    "settlement {} is between {} and {}; {province} cannot dispute it",
                    other.setl_id, other.home_province, other.treating_province
                ),
            ));
        }
        let now = self.clock.now();
        let mut known = repo::period_states(&mut tx).await?;
        let after = row.end_date.checked_add_days(Days::new(1)).unwrap_or(row.end_date);
        let target = domain::assign(self.config.scheme, &known, after);
        if target.open {
            repo::open_period(&mut tx, &target.period, now).await?;
            known.insert(target.period.begin, PeriodStatus::Open);
        }
        let mut agg = Aggregates::default();
        let mut amount = 0;
        for r in &rows {
            let item = r.item()?;
            amount += item.obligation();
            agg.add(&item, period_id, r.late, r.carried_from.is_some(), -1);
            agg.add(&item, &target.period.id, false, true, 1);
        }
        repo::move_items(&mut tx, &ids, period_id, &target.period.id).await?;
        repo::add_aggregates(&mut tx, &agg).await?;
        let dispute = DisputeRow {
            dispute_id: new_id("D"),
            request_id: request_id.to_owned(),
            request_body: body,
            period_id: period_id.to_owned(),
            province: province.to_owned(),
            setl_ids: ids,
            reason: reason.trim().to_owned(),
            amount_fen: amount,
            carried_to: target.period.id.clone(),
            actor: actor.label(),
            raised_at: now,
        };
        repo::insert_dispute(&mut tx, &dispute).await?;
        repo::clear_confirmations(&mut tx, period_id).await?;
        repo::set_instructions_status(&mut tx, period_id, "cancelled").await?;
        repo::set_status(&mut tx, period_id, PeriodStatus::Closed, now).await?;
        let details = json!({
            "dispute_id": dispute.dispute_id,
            "province": province,
            "items": dispute.setl_ids.len(),
            "amount_fen": amount,
            "carried_to": dispute.carried_to,
            "reason": dispute.reason,
        });
        audit(&mut tx, now, actor, "dispute", period_id, details).await?;
        tx.commit().await?;
        Ok(dispute)
    }

    pub async fn disputes(&self, period_id: &str, province: &str) -> Result<Vec<DisputeRow>> {
        check_period_id(period_id)?;
        let mut conn = self.pool.acquire().await?;
        repo::disputes(&mut conn, period_id, province).await
    }

    /// CONFIRMED → SETTLED: net debtors pay, first from their prepaid deposits; net creditors
    /// are paid; the period's receivables and payables leave the ledger and each hospital's due
    /// for the period enters it; a fund left below its alert line gets a top-up instruction.
    pub async fn settle(&self, period_id: &str, actor: &Operator) -> Result<PeriodView> {
        actor.require_national(PeriodAction::Settle)?;
        let (mut tx, row, status) = self.begin_action(period_id).await?;
        if status == PeriodStatus::Settled {
            return Self::view(&mut tx, row).await; // a retry
        }
        domain::check_action(period_id, status, PeriodAction::Settle)?;
        let now = self.clock.now();
        let rows = repo::positions(&mut tx, period_id, row.netting_run).await?;
        let positions: BTreeMap<String, Position> = rows
            .into_iter()
            .map(|p| {
                (p.province, Position { receivable: p.receivable_fen, payable: p.payable_fen })
            })
            .collect();
        let mut drawn = BTreeMap::new();
        for instruction in repo::instructions(&mut tx, period_id, Some(row.netting_run), "").await?
        {
            let mut from_prepaid = 0;
            if instruction.payer != domain::NATIONAL {
                let deposit =
                    -repo::balance(&mut tx, &account(&instruction.payer, Account::Prepaid)).await?;
                from_prepaid = domain::draw(deposit, instruction.amount_fen);
                drawn.insert(instruction.payer.clone(), from_prepaid);
            }
            repo::execute_instruction(&mut tx, &instruction.instruction_id, from_prepaid, now)
                .await?;
        }
        let posting = domain::settlement_posting(&positions, &drawn);
        repo::insert_posting(&mut tx, "settlement", Some(period_id), period_id, now, &posting)
            .await?;
        // The period is final: what each treating province owes each of its hospitals for it.
        let dues = repo::hospital_dues(&mut tx, period_id).await?;
        let posting =
            domain::hospital_dues_posting(dues.iter().map(|(hospital, treating, amount)| {
                (hospital.as_str(), treating.as_str(), *amount)
            }));
        repo::insert_posting(&mut tx, "hospital_dues", Some(period_id), period_id, now, &posting)
            .await?;
        repo::set_status(&mut tx, period_id, PeriodStatus::Settled, now).await?;
        // The period counts toward the funds' basis once closed; every party is re-levelled.
        let mut topups = Vec::new();
        for province in positions.keys() {
            let fund = self.fund_in(&mut tx, province).await?;
            if fund.state == FundState::BelowAlert && fund.topup.is_none() {
                let topup = TopupRow {
                    instruction_id: new_id("T"),
                    province: province.clone(),
                    amount_fen: fund.level.required - fund.deposit,
                    target_fen: fund.level.required,
                    due_date: self.clock.today()
                        + Days::new(u64::from(self.config.prepaid.topup_days)),
                    reason: format!(
                        "deposit {} fen is below the alert line {} fen after settling {period_id}",
                        fund.deposit, fund.level.alert_line
                    ),
                    issued_at: now,
                    fulfilled_at: None,
                };
                repo::insert_topup(&mut tx, &topup).await?;
                topups.push(json!({ "province": province, "amount_fen": topup.amount_fen }));
            }
        }
        let details = json!({ "netting_run": row.netting_run, "drawn": drawn, "topups": topups });
        audit(&mut tx, now, actor, "settle", period_id, details).await?;
        let row = repo::period(&mut tx, period_id).await?;
        let view = Self::view(&mut tx, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    // -----------------------------------------------------------------------------------------
    // Prepaid funds
    // -----------------------------------------------------------------------------------------

    async fn fund_in(&self, conn: &mut PgConnection, province: &str) -> Result<FundView> {
        let deposit = -repo::balance(conn, &account(province, Account::Prepaid)).await?;
        let window = i64::from(self.config.prepaid.window);
        let outgoing = repo::recent_outgoing(conn, province, window).await?;
        let level = self.config.prepaid.level(&outgoing);
        let topup = repo::outstanding_topup(conn, province).await?;
        Ok(FundView {
            province: province.to_owned(),
            deposit,
            state: level.state(deposit),
            level,
            topup,
            as_of: self.clock.now(),
        })
    }

    pub async fn fund(&self, province: &str) -> Result<FundView> {
        check_province("province_admdvs", province)?;
        self.fund_in(&mut *self.pool.acquire().await?, province).await
    }

    /// The prepaid fund of every province that has one, owes, or is owed.
    pub async fn funds(&self) -> Result<Vec<FundView>> {
        let mut conn = self.pool.acquire().await?;
        let (balances, _) = repo::balances(&mut conn, "").await?;
        let mut provinces: Vec<String> = balances
            .iter()
            .filter_map(|(account, _)| account.split_once(':').map(|(owner, _)| owner.to_owned()))
            .filter(|owner| domain::is_province(owner) && owner != domain::NATIONAL)
            .collect();
        provinces.sort();
        provinces.dedup();
        let mut funds = Vec::new();
        for province in provinces {
            funds.push(self.fund_in(&mut conn, &province).await?);
        }
        Ok(funds)
    }

    /// A province paid money into its prepaid fund (negative: took some back, never below 0).
    pub async fn deposit(
        &self,
        request_id: &str,
        province: &str,
        amount: i64,
        value_date: NaiveDate,
        bank_reference: &str,
        actor: &Operator,
    ) -> Result<FundView> {
        check_request_id(request_id)?;
        check_province("province_admdvs", province)?;
        actor.may_act_for(province)?;
        if amount == 0 {
            return Err(Error::invalid("amount_fen", "invalid_amount", "amount_fen must not be 0"));
        }
        let body = json!({ "province": province, "amount_fen": amount, "value_date": value_date, "bank_reference": bank_reference }).to_string();
        let mut tx = self.pool.begin().await?;
        repo::lock_periods(&mut tx).await?;
        if let Some(earlier) = repo::deposit_by_request(&mut tx, request_id).await? {
            if earlier.request_body != body {
                return Err(Error::already_exists(
                    "request_id_reused",
                    format!("request_id {request_id} was used for a different deposit"),
                ));
            }
            return self.fund_in(&mut tx, province).await;
        }
        let before = self.fund_in(&mut tx, province).await?;
        if before.deposit + amount < 0 {
            return Err(Error::precondition(
                "insufficient_deposit",
                format!(
                    "the deposit of {province} is {} fen; {} cannot be taken back",
                    before.deposit, -amount
                ),
            ));
        }
        let now = self.clock.now();
        let posting = domain::deposit_posting(province, amount);
        let posting_id = repo::insert_posting(&mut tx, "deposit", None, request_id, now, &posting)
            .await?
            .ok_or_else(|| Error::Internal("a deposit posting has lines".into()))?;
        repo::insert_deposit(
            &mut tx,
            &DepositRow {
                request_id: request_id.to_owned(),
                request_body: body,
                province: province.to_owned(),
                amount_fen: amount,
                value_date,
                bank_reference: bank_reference.to_owned(),
                posting_id,
            },
        )
        .await?;
        if let Some(topup) = &before.topup
            && before.deposit + amount >= topup.target_fen
        {
            repo::fulfil_topup(&mut tx, &topup.instruction_id, now).await?;
        }
        let details =
            json!({ "province": province, "amount_fen": amount, "bank_reference": bank_reference });
        let actor_label = actor.label();
        let entry = AuditEntry {
            at: now,
            actor: &actor_label,
            action: "deposit",
            entity_type: "prepaid_fund",
            entity_id: province,
            details,
            trace_id: current_trace_id(),
        };
        repo::audit(&mut tx, &entry).await?;
        let fund = self.fund_in(&mut tx, province).await?;
        tx.commit().await?;
        Ok(fund)
    }

    // -----------------------------------------------------------------------------------------
    // Statements
    // -----------------------------------------------------------------------------------------

    pub async fn province_statement(
        &self,
        period_id: &str,
        province: &str,
    ) -> Result<ProvinceStatement> {
        check_period_id(period_id)?;
        check_province("province_admdvs", province)?;
        let mut conn = self.pool.acquire().await?;
        let period = repo::period(&mut conn, period_id).await?;
        let cells = repo::cells(&mut conn, period_id).await?;
        let as_home: Vec<CellRow> =
            cells.iter().filter(|c| c.home_province == province).cloned().collect();
        let as_treating: Vec<CellRow> =
            cells.iter().filter(|c| c.treating_province == province).cloned().collect();
        let position = Position {
            receivable: as_treating.iter().map(|c| c.totals().obligation()).sum(),
            payable: as_home.iter().map(|c| c.totals().obligation()).sum(),
        };
        let disputed = repo::disputes(&mut conn, period_id, province)
            .await?
            .iter()
            .map(|d| d.amount_fen)
            .sum();
        let instructions = if period.netting_run > 0 {
            repo::instructions(&mut conn, period_id, Some(period.netting_run), province).await?
        } else {
            Vec::new()
        };
        let prepaid_drawn =
            instructions.iter().filter(|i| i.payer == province).map(|i| i.from_prepaid_fen).sum();
        Ok(ProvinceStatement {
            period,
            province: province.to_owned(),
            as_home,
            as_treating,
            position,
            disputed,
            prepaid_drawn,
            instructions,
            generated_at: self.clock.now(),
        })
    }

    /// Hospital statements of a treating province, `page_size` hospitals from after `after`.
    pub async fn hospital_statements(
        &self,
        period_id: &str,
        treating: &str,
        fixmedins_code: &str,
        after: &str,
        page_size: u32,
    ) -> Result<(Vec<HospitalStatement>, String)> {
        check_period_id(period_id)?;
        check_province("mdtrtarea_admvs", treating)?;
        let size = i64::from(page_size.clamp(1, 1000));
        let mut conn = self.pool.acquire().await?;
        repo::period(&mut conn, period_id).await?;
        let rows =
            repo::hospital_cells(&mut conn, period_id, treating, fixmedins_code, after, size)
                .await?;
        let codes: Vec<String> = rows.iter().map(|r| r.fixmedins_code.clone()).collect();
        let mut lines = repo::hospital_home_lines(&mut conn, period_id, &codes).await?.into_iter();
        let mut line = lines.next();
        let mut applications =
            repo::standing_applications(&mut conn, period_id, &codes).await?.into_iter().peekable();
        let mut statements: Vec<HospitalStatement> = Vec::new();
        for row in rows {
            let mut by_home = Vec::new();
            while let Some(l) = line.take_if(|l| l.fixmedins_code == row.fixmedins_code) {
                by_home.push(l);
                line = lines.next();
            }
            let mut applied = Vec::new();
            while let Some(a) = applications.next_if(|a| a.fixmedins_code == row.fixmedins_code) {
                applied.push(a);
            }
            statements.push(HospitalStatement {
                totals: row.totals(),
                fixmedins_code: row.fixmedins_code,
                treating: row.treating_province,
                by_home,
                applications: applied,
            });
        }
        let next = if i64::try_from(statements.len()).unwrap_or(0) == size {
            statements.last().map(|s| s.fixmedins_code.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok((statements, next))
    }

    /// A hospital's items of a period, from after `after`, in setl_id order.
    pub async fn period_items(
        &self,
        period_id: &str,
        fixmedins_code: &str,
        after: &str,
        page_size: u32,
    ) -> Result<(Vec<ItemRow>, String)> {
        check_period_id(period_id)?;
        check_hospital(fixmedins_code)?;
        let size = if page_size == 0 { 1000 } else { page_size.min(10_000) };
        let mut conn = self.pool.acquire().await?;
        repo::period(&mut conn, period_id).await?;
        let items =
            repo::hospital_items(&mut conn, period_id, fixmedins_code, after, i64::from(size))
                .await?;
        let next = if items.len() == usize::try_from(size).unwrap_or(0) {
            items.last().map(|i| i.setl_id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok((items, next))
    }

    // -----------------------------------------------------------------------------------------
    // Reconciliation with hospitals
    // -----------------------------------------------------------------------------------------

    /// Every event up to this instant is in (the oldest cursor's last event).
    async fn as_of(conn: &mut PgConnection) -> Result<Option<DateTime<Utc>>> {
        Ok(repo::cursors(conn).await?.iter().filter_map(|c| c.last_event_at).min())
    }

    /// 3201: the hospital's totals for a day against clearing's.
    pub async fn reconcile_totals(
        &self,
        fixmedins_code: &str,
        day: NaiveDate,
        insutype: &str,
        clr_type: &str,
        hospital: &ReconTotals,
    ) -> Result<(ReconTotals, Option<String>, Option<DateTime<Utc>>)> {
        check_hospital(fixmedins_code)?;
        let mut conn = self.pool.acquire().await?;
        let center =
            repo::totals(&mut conn, fixmedins_code, (day, day), insutype, clr_type).await?;
        let as_of = Self::as_of(&mut conn).await?;
        Ok((center, domain::compare_totals(hospital, &center), as_of))
    }

    /// The largest reconciliation file kept.
    pub const MAX_FILE: usize = 2 * 1024 * 1024;

    /// Keeps a hospital's reconciliation file (its 3202 upload, or a 3202 result); its file
    /// query number.
    pub async fn put_file(
        &self,
        fixmedins_code: &str,
        filename: &str,
        kind: &str,
        content: Vec<u8>,
        msgid: &str,
    ) -> Result<repo::ReconFile> {
        check_hospital(fixmedins_code)?;
        if filename.trim().is_empty() || filename.chars().count() > 200 {
            return Err(Error::invalid(
                "filename",
                "invalid_filename",
                "filename is required (at most 200 characters)",
            ));
        }
        if !matches!(kind, "upload" | "result") {
            return Err(Error::invalid("kind", "invalid_kind", "kind is upload or result"));
        }
        if content.is_empty() || content.len() > Self::MAX_FILE {
            return Err(Error::invalid(
                "content",
                "invalid_file",
                format!("a file has 1 to {} bytes", Self::MAX_FILE),
            ));
        }
        let msgid = Some(msgid.trim()).filter(|m| !m.is_empty()).map(str::to_owned);
        let hex = uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase();
        let file = repo::ReconFile {
            file_qury_no: format!("F{}", &hex[..29]),
            fixmedins_code: fixmedins_code.to_owned(),
            filename: filename.trim().to_owned(),
            kind: kind.to_owned(),
            content,
            msgid: msgid.clone(),
        };
        let mut conn = self.pool.acquire().await?;
        // A retry under the same msgid gets the file kept the first time (two at once: the
        // unique key lets one in and the other finds it).
        for _ in 0..2 {
            if let Some(msgid) = &msgid
                && let Some(earlier) =
                    repo::recon_file(&mut conn, fixmedins_code, repo::FileKey::Msgid(msgid)).await?
            {
                let same = earlier.kind == file.kind
                    && earlier.filename == file.filename
                    && earlier.content == file.content;
                return if same {
                    Ok(earlier)
                } else {
                    Err(Error::already_exists(
                        "msgid_reused",
                        format!("msgid {msgid} was used for another file; use a new msgid"),
                    ))
                };
            }
            match repo::insert_recon_file(&mut conn, &file, self.clock.now()).await {
                Err(Error::Database(e))
                    if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {}
                other => return other.map(|()| file),
            }
        }
        Err(Error::Internal("a file's msgid was taken and then not found".into()))
    }

    /// A hospital's reconciliation file; another hospital's is not found.
    pub async fn get_file(
        &self,
        fixmedins_code: &str,
        file_qury_no: &str,
    ) -> Result<repo::ReconFile> {
        let mut conn = self.pool.acquire().await?;
        let key = repo::FileKey::Number(file_qury_no);
        repo::recon_file(&mut conn, fixmedins_code, key).await?.ok_or_else(|| {
            Error::not_found("unknown_file", format!("{fixmedins_code} has no file {file_qury_no}"))
        })
    }

    /// 3202: the hospital's list for a day against clearing's.
    pub async fn reconcile_details(
        &self,
        fixmedins_code: &str,
        day: NaiveDate,
        insutype: &str,
        clr_type: &str,
        hospital: Vec<ReconDetail>,
    ) -> Result<(u64, Vec<domain::Discrepancy>, Option<DateTime<Utc>>)> {
        check_hospital(fixmedins_code)?;
        let mut conn = self.pool.acquire().await?;
        let center = repo::day_items(&mut conn, fixmedins_code, day, insutype, clr_type).await?;
        let (matched, discrepancies) =
            domain::compare_details(hospital, center.iter().map(ItemRow::detail).collect())?;
        let as_of = Self::as_of(&mut conn).await?;
        Ok((matched, discrepancies, as_of))
    }

    // -----------------------------------------------------------------------------------------
    // Clearing applications of institutions (3203, 3204)
    // -----------------------------------------------------------------------------------------

    /// 3203: an institution applies for the clearing of a month in one clearing category. The
    /// totals it declares must be clearing's own for its items of the month and category (the
    /// figures 3201 compares, summed over the month); the application then belongs to the
    /// period holding the month, which must not be netted yet. One standing application per
    /// institution, month and category; the same `request_id` (its msgid) again answers the
    /// same application. A refusal writes nothing.
    pub async fn apply(&self, request_id: &str, a: &Application) -> Result<ApplicationRow> {
        check_request_id(request_id)?;
        check_hospital(&a.fixmedins_code)?;
        let setlym = a.setlym();
        let body = json!({
            "clr_type": a.clr_type, "clr_way": a.clr_way, "setlym": setlym,
            "begndate": a.begndate, "enddate": a.enddate, "psntime": a.psntime,
            "medfee_sumamt": a.medfee_sumamt, "med_sumfee": a.med_sumfee,
            "fund_appy_sum": a.fund_appy_sum, "cash_payamt": a.cash_payamt,
            "acct_pay": a.acct_pay,
        })
        .to_string();
        // Serialised with period transitions (a period is not netted under an application)
        // and with other applications (one standing per month and category).
        let mut tx = self.pool.begin().await?;
        repo::lock_periods(&mut tx).await?;
        if let Some(earlier) =
            repo::application_by_request(&mut tx, &a.fixmedins_code, request_id).await?
        {
            if earlier.request_body != body {
                return Err(Error::already_exists(
                    "request_id_reused",
                    format!("msgid {request_id} was used for a different clearing application"),
                ));
            }
            return Ok(earlier);
        }
        a.check(self.clock.today())?;
        let span = a.period(self.config.scheme)?;
        if let Some(standing) =
            repo::standing_application(&mut tx, &a.fixmedins_code, &a.clr_type, &setlym).await?
        {
            return Err(Error::already_exists(
                "already_applied",
                format!(
                    "{} has applied for the clearing of {setlym} clr_type {} already: \
                     clr_appy_evt_id {} (revoke it with 3204 to apply again)",
                    a.fixmedins_code, a.clr_type, standing.clr_appy_evt_id
                ),
            ));
        }
        let month = (a.begndate, a.enddate);
        let center = repo::totals(&mut tx, &a.fixmedins_code, month, "", &a.clr_type).await?;
        if let Some(difference) = a.compare(&center) {
            return Err(Error::precondition("totals_mismatch", difference));
        }
        let Some(period) = repo::find_period(&mut tx, &span.id).await? else {
            return Err(Error::precondition(
                "nothing_to_clear",
                format!("clearing holds no settlement of {} in {setlym}", a.fixmedins_code),
            ));
        };
        domain::check_application_window(&period.period_id, period.status()?)?;
        let now = self.clock.now();
        let row = ApplicationRow {
            clr_appy_evt_id: new_id("CA"),
            request_id: request_id.to_owned(),
            request_body: body,
            fixmedins_code: a.fixmedins_code.clone(),
            clr_type: a.clr_type.clone(),
            clr_way: a.clr_way.clone(),
            setlym,
            begndate: a.begndate,
            enddate: a.enddate,
            period_id: period.period_id,
            psntime: a.psntime,
            medfee_sumamt: a.medfee_sumamt,
            med_sumfee: a.med_sumfee,
            fund_appy_sum: a.fund_appy_sum,
            cash_payamt: a.cash_payamt,
            acct_pay: a.acct_pay,
            applied_at: now,
            revoked_at: None,
            revoke_request_id: None,
            memo: String::new(),
        };
        repo::insert_application(&mut tx, &row).await?;
        let details = json!({
            "period_id": row.period_id, "setlym": row.setlym, "clr_type": row.clr_type,
            "psntime": row.psntime, "medfee_sumamt": row.medfee_sumamt,
            "fund_appy_sum": row.fund_appy_sum, "request_id": request_id,
        });
        application_audit(&mut tx, now, &row, "apply", details).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// 3204: the institution revokes its application while the period is not netted; a revoked
    /// application is answered again as it is. Another institution's is not found.
    pub async fn revoke_application(
        &self,
        request_id: &str,
        fixmedins_code: &str,
        clr_appy_evt_id: &str,
        memo: &str,
    ) -> Result<ApplicationRow> {
        check_request_id(request_id)?;
        check_hospital(fixmedins_code)?;
        if memo.chars().count() > 500 {
            return Err(Error::invalid("memo", "invalid_memo", "memo is at most 500 characters"));
        }
        let mut tx = self.pool.begin().await?;
        repo::lock_periods(&mut tx).await?;
        let Some(row) = repo::lock_application(&mut tx, fixmedins_code, clr_appy_evt_id).await?
        else {
            return Err(Error::not_found(
                "application_not_found",
                format!("{fixmedins_code} has no clearing application {clr_appy_evt_id}"),
            ));
        };
        if row.revoked_at.is_some() {
            return Ok(row);
        }
        let period = repo::period(&mut tx, &row.period_id).await?;
        domain::check_application_window(&period.period_id, period.status()?)?;
        let now = self.clock.now();
        let memo = memo.trim();
        repo::revoke_application(&mut tx, clr_appy_evt_id, request_id, memo, now).await?;
        let details = json!({ "period_id": row.period_id, "memo": memo, "request_id": request_id });
        application_audit(&mut tx, now, &row, "revoke", details).await?;
        let row = repo::lock_application(&mut tx, fixmedins_code, clr_appy_evt_id)
            .await?
            .ok_or_else(|| Error::Internal("a revoked application is gone".into()))?;
        tx.commit().await?;
        Ok(row)
    }

    /// Applications of a period and/or an institution (at least one of them), of one status
    /// (`applied`, `revoked`; empty: both), `page_size` from after `after`.
    pub async fn applications(
        &self,
        period_id: &str,
        fixmedins_code: &str,
        status: &str,
        after: &str,
        page_size: u32,
    ) -> Result<(Vec<ApplicationRow>, String)> {
        if period_id.is_empty() && fixmedins_code.is_empty() {
            return Err(Error::invalid(
                "period_id",
                "missing_field",
                "name a period_id, a fixmedins_code or both",
            ));
        }
        if !matches!(status, "" | "applied" | "revoked") {
            return Err(Error::invalid(
                "status",
                "invalid_status",
                "status is applied, revoked or empty (both)",
            ));
        }
        let size = if page_size == 0 { 100 } else { page_size.min(1000) };
        let mut conn = self.pool.acquire().await?;
        if !period_id.is_empty() {
            check_period_id(period_id)?;
            repo::period(&mut conn, period_id).await?;
        }
        let limit = i64::from(size);
        let rows =
            repo::applications(&mut conn, period_id, fixmedins_code, status, after, limit).await?;
        let next = if rows.len() == usize::try_from(size).unwrap_or(0) {
            rows.last().map(|r| r.clr_appy_evt_id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok((rows, next))
    }

    // -----------------------------------------------------------------------------------------
    // Ledger and audit
    // -----------------------------------------------------------------------------------------

    pub async fn balances(&self, owner: &str) -> Result<(Vec<(String, i64)>, i64)> {
        repo::balances(&mut *self.pool.acquire().await?, owner.trim()).await
    }

    /// Recomputes the period's matrix from the raw items and compares it with the kept one.
    pub async fn audit_period(&self, period_id: &str) -> Result<AuditOutcome> {
        check_period_id(period_id)?;
        let mut conn = self.pool.acquire().await?;
        repo::period(&mut conn, period_id).await?;
        let kept = repo::cells(&mut conn, period_id).await?;
        let recomputed = repo::recomputed_cells(&mut conn, period_id).await?;
        let key = |c: &CellRow| (c.home_province.clone(), c.treating_province.clone());
        let kept_map: BTreeMap<_, _> = kept.iter().map(|c| (key(c), c.totals())).collect();
        let raw_map: BTreeMap<_, _> = recomputed.iter().map(|c| (key(c), c.totals())).collect();
        let mut differences = Vec::new();
        for k in kept_map.keys().chain(raw_map.keys()).collect::<std::collections::BTreeSet<_>>() {
            let (a, b) = (
                kept_map.get(k).copied().unwrap_or_default(),
                raw_map.get(k).copied().unwrap_or_default(),
            );
            if a != b {
                differences.push(format!("{}→{}: kept {a:?}, recomputed {b:?}", k.0, k.1));
            }
        }
        Ok(AuditOutcome {
            items: recomputed.iter().map(|c| c.settlements + c.reversals).sum(),
            cells: raw_map.len(),
            differences,
            gross: recomputed.iter().map(|c| c.totals().obligation()).sum(),
        })
    }
}

#[cfg(test)]
mod tests;
