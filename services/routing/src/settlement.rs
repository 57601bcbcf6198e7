//! Settling and cancelling, exactly once. Each writes the settlement, its fund details, the
//! accumulator change, the account balance and the outbox event in one statement
//! ([`repo::record`]); a message id already answered gets the stored answer and has no second
//! effect.
//!
//! Pre-settlement and settlement are two operations on one computation: both compute a
//! [`SettleRequest`] into a `Computed` settlement — its answer and the row that keeps it —
//! from the person's state; [`Settlements::presettle`] answers it and keeps nothing,
//! [`Settlements::settle`] writes it. The request's codes, msgid and lines are validated types
//! ([`crate::model`]): nothing here parses them again.
//!
//! A settlement is optimistic: it reads the person, their accumulators (with their version)
//! and whether its msgid was used, computes, and writes in one statement that commits on its
//! own and refuses, writing nothing, when the accumulators or the balance changed since the
//! read. Then it computes again; after three tries it takes the locks below.
//!
//! Lock order, the same everywhere locks are taken (the fallback and cancellations): the
//! person, then their accumulators — so settlements of one person serialise, and no two
//! transactions wait on each other in a circle. Settlements of different people do not meet:
//! each writes its event unnumbered into the outbox, and the stream's reader numbers them
//! ([`Settlements::events_after`]), a batch at a time.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use medclear_common::{
    Error, Result,
    clock::{CHINA, Clock},
    codes::{Admdvs, FixmedinsCode, PsnNo},
    rows::{Fields, Rejection, RowError},
};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use crate::{
    calc::{self, Accumulators, Breakdown, Line, Person, Visit},
    model::{Cancellation, Msgid},
    partition::{Partition, new_id},
    persons,
    policies::PolicyBook,
    repo::{self, PersonState, Record, SettlementRow, VisitChange},
};

/// A visit to settle, its lines already resolved by the catalogue and its coverage checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleRequest {
    /// The hospital (`fixmedins_code`) that sends it.
    pub sender: FixmedinsCode,
    pub msgid: Msgid,
    /// The person settled: found, or `person_not_found`.
    pub psn_no: String,
    /// The treating region.
    pub mdtrtarea_admvs: Admdvs,
    pub visit: Visit,
    pub lines: Vec<Line>,
    /// What the sender asked, as compared on a retry (empty: this request itself). A visit's
    /// settlement uses the visit and the options, not the lines resolved for it.
    #[serde(default)]
    pub replay_key: String,
    /// The visit this settles, if any: settled with it, reopened by a cancellation.
    #[serde(default)]
    pub mdtrt_id: Option<String>,
    /// The total the sender expects (`medfee_sumamt`): another total is refused
    /// (`amount_mismatch`) before anything is written.
    #[serde(default)]
    pub expected_medfee_fen: Option<i64>,
    /// The visit's date (an admission's first day), which picks the policy version; `None`:
    /// the settlement's own date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_date: Option<NaiveDate>,
}

/// What a settlement computed from besides its lines and its accumulators, as stored with it
/// (`settlements.inputs`) so it can be computed again exactly: the person and the visit as the
/// calculator saw them. (The accumulators before it are its breakdown's after, less its
/// contribution.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    pub person: Person,
    pub visit: Visit,
}

/// What a settlement computes from, as its caller read it (with [`repo::settle_inputs`]):
/// the person's state, with the accumulators of `year`, and whether the request's msgid was
/// used by its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub year: i32,
    pub state: repo::PersonState,
}

/// Who and what a settlement was for, as the national `setlinfo` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settled {
    pub psn_name: String,
    pub certno: String,
    pub insutype: String,
    pub retired: bool,
    /// The visit's national med_type code.
    pub med_type: String,
    pub mdtrtarea_admvs: String,
    /// The personal account's balance after it.
    pub balance_after_fen: i64,
}

impl Settled {
    /// The national 人员类别 (psn_type): employees 1101, retired employees 1201, residents
    /// 1501 (`39x` insutypes).
    pub fn psn_type(&self) -> &'static str {
        persons::psn_type(&self.insutype, self.retired)
    }
}

/// What a settlement or cancellation answers, and answers again to a retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementAnswer {
    pub setl_id: String,
    /// `settlement` or `cancellation`.
    pub kind: String,
    pub orig_setl_id: Option<String>,
    pub psn_no: String,
    pub policy_version: String,
    pub setl_time: DateTime<Utc>,
    /// For a cancellation: the breakdown it undoes.
    pub breakdown: Breakdown,
    /// Absent from answers stored before it was kept.
    #[serde(default)]
    pub settled: Settled,
}

/// The settlement store of one routing instance.
#[derive(Debug, Clone)]
pub struct Settlements {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    book: PolicyBook,
    partition: Partition,
}

fn msgid_reused(msgid: &str) -> Error {
    Error::already_exists(
        "msgid_reused",
        format!(
            "msgid {msgid} was already used by this sender for a different request; use a new msgid"
        ),
    )
}

/// How many times a settlement is computed again, when what it read changed before it wrote,
/// before it takes the person's lock.
const OPTIMISTIC_TRIES: usize = 3;

/// How many times the locked path starts again after PostgreSQL broke a deadlock.
const LOCKED_TRIES: usize = 3;

/// A settlement being made: the request and what a retry must match.
struct Settle<'a> {
    request: &'a SettleRequest,
    body: String,
}

impl<'a> Settle<'a> {
    fn new(request: &'a SettleRequest) -> Result<Self> {
        let body = if request.replay_key.is_empty() {
            serde_json::to_string(request).map_err(|e| Error::Internal(e.to_string()))?
        } else {
            request.replay_key.clone()
        };
        Ok(Self { request, body })
    }
}

/// A settlement computed, not yet written: what a pre-settlement answers and a settlement
/// writes.
struct Computed {
    answer: SettlementAnswer,
    row: SettlementRow,
    treating: Admdvs,
}

impl Computed {
    /// The answer of a pre-settlement (2206/2303): this computation, kept nowhere.
    fn presettlement(self) -> SettlementAnswer {
        SettlementAnswer { kind: "presettlement".into(), ..self.answer }
    }
}

/// How writing a settlement or cancellation ended.
enum Written {
    Done,
    /// A concurrent twin with the same msgid was first: its answer.
    Twin(Box<SettlementAnswer>),
    /// What the settlement was computed from changed: compute again.
    Stale,
}

fn person_not_found(psn_no: &str) -> Error {
    Error::not_found("person_not_found", format!("no insured person {psn_no}"))
}

/// The unique key of (sender, msgid) on settlements.
const MSGID_KEY: &str = "settlements_sender_msgid_key";

fn json<T: Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(format!("serialising: {e}")))
}

/// An answer as its row stores it: without its breakdown, which the row's `breakdown` column
/// holds already (the same value, for a settlement and for a cancellation alike). Stored
/// once, the row is about a quarter smaller: less JSON for PostgreSQL to parse, compress and
/// log on the settle path.
fn stored_answer(answer: &SettlementAnswer) -> Result<serde_json::Value> {
    let mut value = json(answer)?;
    if let Some(object) = value.as_object_mut() {
        object.remove("breakdown");
    }
    Ok(value)
}

/// The answer a row stores, with its breakdown put back (rows written before the breakdown
/// was left out of the answer carry it in both places: the answer's own is kept).
fn answer_of(row: &SettlementRow) -> Result<SettlementAnswer> {
    let mut answer = row.answer.clone();
    if let Some(object) = answer.as_object_mut() {
        object.entry("breakdown").or_insert_with(|| row.breakdown.clone());
    }
    serde_json::from_value(answer)
        .map_err(|e| Error::Internal(format!("stored answer of {}: {e}", row.setl_id)))
}

/// The stored answer of an earlier request with the same message id.
fn replay(earlier: SettlementRow, body: &str) -> Result<SettlementAnswer> {
    if earlier.request_body != body {
        return Err(msgid_reused(&earlier.msgid));
    }
    answer_of(&earlier)
}

impl Settlements {
    /// A store that owns every home province.
    pub fn new(pool: PgPool, clock: Arc<dyn Clock>, book: PolicyBook) -> Self {
        Self::partitioned(pool, clock, book, Partition::all())
    }

    /// A store that owns the home provinces of `partition` only.
    pub fn partitioned(
        pool: PgPool,
        clock: Arc<dyn Clock>,
        book: PolicyBook,
        partition: Partition,
    ) -> Self {
        Self { pool, clock, book, partition }
    }

    /// The policies it settles with.
    pub fn book(&self) -> &PolicyBook {
        &self.book
    }

    /// Refuses a person insured in a province this instance does not own.
    pub fn check_owned(&self, home: &str) -> Result<()> {
        if self.partition.owns(home) {
            Ok(())
        } else {
            Err(Error::precondition(
                "wrong_partition",
                format!(
                    "persons insured in {home} are settled by another routing instance (this one owns {})",
                    self.partition.describe()
                ),
            ))
        }
    }

    /// Adds or replaces a person of the registry.
    pub async fn upsert_person(&self, person: &repo::PersonRow) -> Result<()> {
        PsnNo::parse(&person.psn_no)
            .map_err(|e| Error::invalid("psn_no", "invalid_code", e.to_string()))?;
        Admdvs::parse(&person.insuplc_admdvs)
            .map_err(|e| Error::invalid("insuplc_admdvs", "invalid_code", e.to_string()))?;
        if person.account_balance_fen < 0 {
            return Err(Error::invalid(
                "account_balance_fen",
                "invalid_amount",
                "the balance cannot be negative",
            ));
        }
        let mut conn = self.pool.acquire().await?;
        repo::upsert_person(&mut conn, person, self.clock.now()).await
    }

    /// Imports person rows (see [`crate::persons`]): the good ones in one transaction, each bad
    /// one (or a repeated `psn_no` / `certno`) reported with its reason.
    pub async fn import_persons(&self, rows: &[(u64, Fields)]) -> Result<(u64, Vec<Rejection>)> {
        let mut seen = std::collections::HashSet::new();
        let mut people = Vec::new();
        let mut rejections = Vec::new();
        for (row_no, fields) in rows {
            let parsed = persons::person(fields).and_then(|p| {
                if !self.partition.owns(&p.insuplc_admdvs) {
                    return Err(RowError::new(
                        "wrong_partition",
                        Some("insuplc_admdvs"),
                        format!(
                            "{} belongs to another routing instance (this one owns {})",
                            p.insuplc_admdvs,
                            self.partition.describe()
                        ),
                    ));
                }
                if seen.insert(p.psn_no.clone()) && seen.insert(p.certno.clone()) {
                    Ok(p)
                } else {
                    Err(RowError::new(
                        "duplicate_row",
                        Some("psn_no"),
                        format!("{} (or its certno) appears twice in this file", p.psn_no),
                    ))
                }
            });
            match parsed {
                Ok(p) => people.push(p),
                Err(error) => rejections.push(Rejection::new(*row_no, error)),
            }
        }
        let mut tx = self.pool.begin().await?;
        repo::upsert_persons(&mut tx, &people, self.clock.now()).await?;
        tx.commit().await?;
        Ok((u64::try_from(people.len()).unwrap_or(u64::MAX), rejections))
    }

    /// The person with this certificate number (national transaction 1101).
    pub async fn person_by_certno(&self, certno: &str) -> Result<repo::PersonRow> {
        let mut conn = self.pool.acquire().await?;
        repo::person_by_certno(&mut conn, certno).await?.ok_or_else(|| {
            Error::not_found(
                "person_not_found",
                format!("no insured person with certificate {certno}"),
            )
        })
    }

    /// The person with this `psn_no`.
    pub async fn person(&self, psn_no: &str) -> Result<repo::PersonRow> {
        let mut conn = self.pool.acquire().await?;
        repo::person(&mut conn, psn_no).await?.ok_or_else(|| person_not_found(psn_no))
    }

    /// A person's settlements and cancellations, newest first (at most `limit`, 1 to 1000),
    /// each as it was answered, with the row it was stored in.
    pub async fn of_person(
        &self,
        psn_no: &str,
        limit: u32,
    ) -> Result<Vec<(SettlementAnswer, SettlementRow)>> {
        let limit = i64::from(limit.clamp(1, 1000));
        let mut conn = self.pool.acquire().await?;
        repo::settlements_of_person(&mut conn, psn_no, limit)
            .await?
            .into_iter()
            .map(|row| Ok((answer_of(&row)?, row)))
            .collect()
    }

    /// A hospital's settlements found by id, visit or msgid (5203), oldest first, each with
    /// its stored answer.
    pub async fn find(
        &self,
        lookup: &crate::model::SettlementLookup,
    ) -> Result<Vec<(SettlementAnswer, SettlementRow)>> {
        let mut conn = self.pool.acquire().await?;
        repo::find_settlements(
            &mut conn,
            &lookup.sender,
            lookup.setl_id.as_deref(),
            lookup.mdtrt_id.as_deref(),
            lookup.msgid.as_ref().map(|m| m.as_str()),
        )
        .await?
        .into_iter()
        .map(|row| Ok((answer_of(&row)?, row)))
        .collect()
    }

    /// The settlement events after `after_seq`, in order, having first numbered (up to
    /// `limit` of) those waiting in the outbox.
    pub async fn events_after(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<repo::StreamedEvent>> {
        let mut conn = self.pool.acquire().await?;
        repo::number_events(&mut conn, i32::try_from(limit.max(0)).unwrap_or(i32::MAX)).await?;
        repo::events_after(&mut conn, after_seq, limit).await
    }

    /// Now, by this store's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today in China, by this store's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.today()
    }

    /// The stored answer of `msgid`, if the sender sent it before with this replay key.
    pub async fn replay(
        &self,
        sender: &str,
        msgid: &str,
        replay_key: &str,
    ) -> Result<Option<SettlementAnswer>> {
        let mut conn = self.pool.acquire().await?;
        match repo::settlement_by_msgid(&mut conn, sender, msgid).await? {
            Some(earlier) => replay(earlier, replay_key).map(Some),
            None => Ok(None),
        }
    }

    /// The stored answer of `msgid`, which the sender is known to have used.
    async fn stored_answer(
        &self,
        sender: &str,
        msgid: &str,
        body: &str,
    ) -> Result<SettlementAnswer> {
        self.replay(sender, msgid, body).await?.ok_or_else(|| {
            Error::Internal(format!("the settlement sent as {msgid} by {sender} has vanished"))
        })
    }

    /// The year whose accumulators a settlement computed now uses.
    pub fn year(&self) -> i32 {
        self.today().year()
    }

    /// What the caller read (`read`), when it is as good as reading now: the same year, the
    /// same person. A settlement's write checks it still holds.
    fn still_good(read: Option<Read>, request: &SettleRequest, year: i32) -> Option<PersonState> {
        read.filter(|r| r.year == year && r.state.person.psn_no == request.psn_no).map(|r| r.state)
    }

    /// The person's state now: their accumulators of `year` and whether the msgid was used.
    async fn read_state(
        conn: &mut PgConnection,
        request: &SettleRequest,
        year: i32,
    ) -> Result<PersonState> {
        repo::person_state(
            conn,
            &request.psn_no,
            year,
            request.sender.as_str(),
            request.msgid.as_str(),
        )
        .await?
        .ok_or_else(|| person_not_found(&request.psn_no))
    }

    /// Pre-settles (2206/2303): computes the settlement [`Self::settle`] would make, from
    /// `read` (what the caller read already, with the visit) or from the state now, and keeps
    /// nothing.
    pub async fn presettle(
        &self,
        request: &SettleRequest,
        read: Option<Read>,
    ) -> Result<SettlementAnswer> {
        let settle = Settle::new(request)?;
        let now = self.clock.now();
        let year = now.with_timezone(&CHINA).year();
        let state = match Self::still_good(read, request, year) {
            Some(state) => state,
            None => {
                let mut conn = self.pool.acquire().await?;
                Self::read_state(&mut conn, request, year).await?
            }
        };
        Ok(self.compute(&settle, &state.person, &state.accumulators, now)?.presettlement())
    }

    /// Settles (2207/2304), once per message id: computed first from `read` (what the caller
    /// read already, with the visit) or from the state now, and written in one statement.
    pub async fn settle(
        &self,
        request: &SettleRequest,
        mut read: Option<Read>,
    ) -> Result<SettlementAnswer> {
        let settle = Settle::new(request)?;
        let body = settle.body.as_str();
        // Optimistic first: read, compute, and write in one statement that checks nothing it
        // read has changed — two round trips, and no lock held across either. A person settled
        // by several hospitals at the very same moment may have to compute again; after a few
        // tries, the settlement waits its turn on the person's lock instead.
        for _ in 0..OPTIMISTIC_TRIES {
            let now = self.clock.now();
            let year = now.with_timezone(&CHINA).year();
            let mut conn = self.pool.acquire().await?;
            let state = match Self::still_good(read.take(), request, year) {
                Some(state) => state,
                None => Self::read_state(&mut conn, request, year).await?,
            };
            if state.msgid_taken {
                drop(conn);
                return self
                    .stored_answer(request.sender.as_str(), request.msgid.as_str(), body)
                    .await;
            }
            let computed = self.compute(&settle, &state.person, &state.accumulators, now)?;
            match self.write(&mut conn, &computed, &state.person, &state.accumulators).await? {
                Written::Done => return Ok(computed.answer),
                Written::Twin(answer) => return Ok(*answer),
                Written::Stale => continue,
            }
        }
        for _ in 0..LOCKED_TRIES {
            let mut tx = self.pool.begin().await?;
            let (person, msgid_taken) = repo::lock_person_for_msgid(
                &mut tx,
                &request.psn_no,
                request.sender.as_str(),
                request.msgid.as_str(),
            )
            .await?
            .ok_or_else(|| person_not_found(&request.psn_no))?;
            if msgid_taken {
                drop(tx);
                return self
                    .stored_answer(request.sender.as_str(), request.msgid.as_str(), body)
                    .await;
            }
            let now = self.clock.now();
            let year = now.with_timezone(&CHINA).year();
            let before = repo::lock_accumulators(&mut tx, &person.psn_no, year).await?;
            let computed = self.compute(&settle, &person, &before, now)?;
            match self.write(&mut tx, &computed, &person, &before).await? {
                Written::Done => {
                    tx.commit().await?;
                    return Ok(computed.answer);
                }
                Written::Twin(answer) => return Ok(*answer),
                // Only a deadlock PostgreSQL broke can get here under the locks: again.
                Written::Stale => continue,
            }
        }
        Err(Error::Internal(format!(
            "settling {} met a deadlock {LOCKED_TRIES} times under its locks",
            request.psn_no
        )))
    }

    /// The settlement of `settle` for `person` with these accumulators, at `now`.
    fn compute(
        &self,
        settle: &Settle<'_>,
        person: &repo::PersonRow,
        before: &repo::Versioned,
        now: DateTime<Utc>,
    ) -> Result<Computed> {
        let request = settle.request;
        let date = now.with_timezone(&CHINA).date_naive();
        let in_force = self.book.current().policy_for(
            &person.insuplc_admdvs,
            &person.insutype,
            request.visit_date.unwrap_or(date),
        )?;
        let calc_person = Person {
            retired: person.retired,
            account_balance_fen: person.account_balance_fen,
            assistance_category: person.assistance_category.clone(),
        };
        let breakdown = calc::settle(
            &request.lines,
            &calc_person,
            &before.accumulators,
            &in_force.policy,
            &request.visit,
        )?;
        if let Some(expected) = request.expected_medfee_fen
            && expected != breakdown.medfee_sumamt
        {
            return Err(Error::precondition(
                "amount_mismatch",
                format!(
                    "medfee_sumamt {} is not the total of the uploaded lines ({})",
                    medclear_common::money::fen_to_yuan(expected),
                    medclear_common::money::fen_to_yuan(breakdown.medfee_sumamt)
                ),
            ));
        }
        let answer = SettlementAnswer {
            setl_id: new_id('S', &person.insuplc_admdvs),
            kind: "settlement".into(),
            orig_setl_id: None,
            psn_no: person.psn_no.clone(),
            policy_version: in_force.id,
            setl_time: now,
            settled: Settled {
                psn_name: person.psn_name.clone(),
                certno: person.certno.clone(),
                insutype: person.insutype.clone(),
                retired: person.retired,
                med_type: request.visit.med_type.code().to_string(),
                mdtrtarea_admvs: request.mdtrtarea_admvs.to_string(),
                balance_after_fen: person.account_balance_fen - breakdown.acct_pay,
            },
            breakdown,
        };
        let breakdown = &answer.breakdown;
        let row = SettlementRow {
            setl_id: answer.setl_id.clone(),
            sender: request.sender.to_string(),
            msgid: request.msgid.to_string(),
            request_body: settle.body.clone(),
            kind: answer.kind.clone(),
            orig_setl_id: None,
            psn_no: person.psn_no.clone(),
            insuplc_admdvs: person.insuplc_admdvs.clone(),
            mdtrtarea_admvs: request.mdtrtarea_admvs.to_string(),
            year: date.year(),
            setl_time: now,
            medfee_sumamt: breakdown.medfee_sumamt,
            fund_pay_sumamt: breakdown.fund_pay_sumamt,
            acct_pay: breakdown.acct_pay,
            psn_cash_pay: breakdown.psn_cash_pay,
            policy_version: answer.policy_version.clone(),
            lines: json(&request.lines)?,
            breakdown: json(breakdown)?,
            contribution: json(&breakdown.accumulators.minus(&before.accumulators))?,
            answer: stored_answer(&answer)?,
            cancelled_by: None,
            mdtrt_id: request.mdtrt_id.clone(),
            clr_type: request.visit.med_type.code().to_string(),
            insutype: person.insutype.clone(),
            inputs: Some(json(&Inputs { person: calc_person, visit: request.visit.clone() })?),
        };
        Ok(Computed { answer, row, treating: request.mdtrtarea_admvs })
    }

    /// Writes a computed settlement (see [`repo::record`]).
    async fn write(
        &self,
        conn: &mut PgConnection,
        computed: &Computed,
        person: &repo::PersonRow,
        before: &repo::Versioned,
    ) -> Result<Written> {
        let breakdown = &computed.answer.breakdown;
        let record = Record {
            row: &computed.row,
            details: &breakdown.setldetail,
            // A visit settles once, whatever msgids two concurrent requests carry.
            visit: computed.row.mdtrt_id.as_deref().map_or(VisitChange::None, VisitChange::Settle),
            cancels: None,
            accumulators: &breakdown.accumulators,
            read_version: before.version,
            balance_change_fen: -breakdown.acct_pay,
            balance_read_fen: person.account_balance_fen,
            home_province: &province(&person.insuplc_admdvs)?,
            treating_province: &computed.treating.province().to_string(),
            obligation_fen: breakdown.fund_pay_sumamt + breakdown.acct_pay,
        };
        self.record(conn, &record).await
    }

    /// Runs [`repo::record`]. The msgid taken meanwhile by a concurrent twin is answered with
    /// the twin's stored answer (or `msgid_reused` when the twin asked something else).
    async fn record(&self, conn: &mut PgConnection, record: &Record<'_>) -> Result<Written> {
        match repo::record(conn, record).await {
            Ok(Ok(())) => Ok(Written::Done),
            Ok(Err(repo::Refused::Stale)) => Ok(Written::Stale),
            Ok(Err(repo::Refused::VisitSettled)) => Err(Error::precondition(
                "already_settled",
                format!(
                    "visit {} is settled already",
                    record.row.mdtrt_id.as_deref().unwrap_or_default()
                ),
            )),
            Err(Error::Database(e))
                if e.as_database_error().is_some_and(|d| {
                    d.is_unique_violation() && d.constraint() == Some(MSGID_KEY)
                }) =>
            {
                let row = record.row;
                self.stored_answer(&row.sender, &row.msgid, &row.request_body)
                    .await
                    .map(|a| Written::Twin(Box::new(a)))
            }
            Err(e) => Err(e),
        }
    }

    /// Cancels a settlement (2208/2305): the accumulators lose exactly what it added, the
    /// account gets back what it paid, and clearing gets the opposite obligation.
    pub async fn cancel(&self, cancellation: &Cancellation) -> Result<SettlementAnswer> {
        let Cancellation { sender, msgid, setl_id } = cancellation;
        let (sender, msgid) = (sender.as_str(), msgid.as_str());
        let body = format!("cancel {setl_id}");
        let mut tx = self.pool.begin().await?;
        if let Some(earlier) = repo::settlement_by_msgid(&mut tx, sender, msgid).await? {
            return replay(earlier, &body);
        }
        let original = repo::lock_settlement(&mut tx, setl_id)
            .await?
            .filter(|s| s.kind == "settlement" && s.sender == sender)
            .ok_or_else(|| {
                Error::not_found(
                    "settlement_not_found",
                    format!("{sender} has no settlement {setl_id}"),
                )
            })?;
        if let Some(by) = &original.cancelled_by {
            return Err(Error::precondition(
                "already_cancelled",
                format!("settlement {setl_id} was cancelled already by {by}"),
            ));
        }
        // The person's lock first, as everywhere: settlements of one person serialise.
        let person = repo::lock_person(&mut tx, &original.psn_no)
            .await?
            .ok_or_else(|| Error::Internal(format!("settlement {setl_id} names no person")))?;
        let locked = repo::lock_accumulators(&mut tx, &original.psn_no, original.year).await?;
        let current = &locked.accumulators;
        let contribution: Accumulators = serde_json::from_value(original.contribution.clone())
            .map_err(|e| Error::Internal(format!("contribution of {setl_id}: {e}")))?;
        let restored = current.minus(&contribution);
        if !restored.is_valid() {
            return Err(Error::Internal(format!(
                "cancelling {setl_id} would leave negative accumulators"
            )));
        }
        let breakdown: Breakdown = serde_json::from_value(original.breakdown.clone())
            .map_err(|e| Error::Internal(format!("breakdown of {setl_id}: {e}")))?;
        let now = self.clock.now();
        let settled = Settled {
            balance_after_fen: person.account_balance_fen + original.acct_pay,
            ..answer_of(&original)?.settled
        };
        let answer = SettlementAnswer {
            setl_id: new_id('S', &original.insuplc_admdvs),
            kind: "cancellation".into(),
            orig_setl_id: Some(setl_id.to_owned()),
            psn_no: original.psn_no.clone(),
            policy_version: original.policy_version.clone(),
            setl_time: now,
            breakdown,
            settled,
        };
        let row = SettlementRow {
            setl_id: answer.setl_id.clone(),
            sender: sender.to_owned(),
            msgid: msgid.to_owned(),
            request_body: body,
            kind: answer.kind.clone(),
            orig_setl_id: Some(setl_id.to_owned()),
            psn_no: original.psn_no.clone(),
            insuplc_admdvs: original.insuplc_admdvs.clone(),
            mdtrtarea_admvs: original.mdtrtarea_admvs.clone(),
            year: original.year,
            setl_time: now,
            medfee_sumamt: -original.medfee_sumamt,
            fund_pay_sumamt: -original.fund_pay_sumamt,
            acct_pay: -original.acct_pay,
            psn_cash_pay: -original.psn_cash_pay,
            policy_version: original.policy_version.clone(),
            lines: original.lines.clone(),
            breakdown: original.breakdown.clone(),
            contribution: json(&restored.minus(current))?,
            answer: stored_answer(&answer)?,
            cancelled_by: None,
            mdtrt_id: None,
            clr_type: original.clr_type.clone(),
            insutype: original.insutype.clone(),
            inputs: None,
        };
        let record = Record {
            row: &row,
            details: &[],
            visit: original.mdtrt_id.as_deref().map_or(VisitChange::None, VisitChange::Reopen),
            cancels: Some(setl_id),
            accumulators: &restored,
            read_version: locked.version,
            balance_change_fen: original.acct_pay,
            balance_read_fen: person.account_balance_fen,
            home_province: &province(&original.insuplc_admdvs)?,
            treating_province: &province(&original.mdtrtarea_admvs)?,
            obligation_fen: -(original.fund_pay_sumamt + original.acct_pay),
        };
        match self.record(&mut tx, &record).await? {
            Written::Done => {
                tx.commit().await?;
                Ok(answer)
            }
            Written::Twin(answer) => Ok(*answer),
            // Only a deadlock PostgreSQL broke can get here under the locks; nothing was
            // written, so the same msgid may simply be sent again: transient.
            Written::Stale => Err(Error::unavailable(
                "busy",
                format!(
                    "cancelling {setl_id} met a concurrent settlement of {}; nothing was \
                     written: send it again with the same msgid",
                    original.psn_no
                ),
            )),
        }
    }
}

fn province(admdvs: &str) -> Result<String> {
    Admdvs::parse(admdvs)
        .map(|a| a.province().to_string())
        .map_err(|e| Error::Internal(e.to_string()))
}

#[cfg(test)]
mod tests;
