//! Storage of the routing service: every SQL statement it runs, each taking the connection of
//! the transaction it belongs to.
//!
//! Rows come back as the validated types their columns hold (a visit's codes, medical type and
//! level; a fee line's price and quantity), so nothing past here parses them: a stored value
//! that is not one is a broken row, an internal error.

pub mod policies;

use chrono::{DateTime, Utc};
use medclear_common::{
    Error, Result,
    codes::{Admdvs, FixmedinsCode},
};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::{FromRow, PgConnection, Row, postgres::PgRow};

use crate::{
    calc::{Accumulators, FundPart, MedType},
    institutions::Institution,
    model::{PriceFen, Quantity},
    policy::HospitalLevel,
};

/// A person of the registry (national transaction 1101).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PersonRow {
    pub psn_no: String,
    pub certno: String,
    pub psn_name: String,
    pub insutype: String,
    pub retired: bool,
    pub insuplc_admdvs: String,
    pub account_balance_fen: i64,
    pub assistance_category: Option<String>,
}

const PERSON_COLUMNS: &str = "psn_no, certno, psn_name, insutype, retired, insuplc_admdvs, \
     account_balance_fen, assistance_category";

pub async fn upsert_person(
    conn: &mut PgConnection,
    p: &PersonRow,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO persons (psn_no, certno, psn_name, insutype, retired, insuplc_admdvs,
             account_balance_fen, assistance_category, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (psn_no) DO UPDATE SET certno = EXCLUDED.certno,
             psn_name = EXCLUDED.psn_name, insutype = EXCLUDED.insutype,
             retired = EXCLUDED.retired, insuplc_admdvs = EXCLUDED.insuplc_admdvs,
             account_balance_fen = EXCLUDED.account_balance_fen,
             assistance_category = EXCLUDED.assistance_category, updated_at = EXCLUDED.updated_at",
    )
    .bind(&p.psn_no)
    .bind(&p.certno)
    .bind(&p.psn_name)
    .bind(&p.insutype)
    .bind(p.retired)
    .bind(&p.insuplc_admdvs)
    .bind(p.account_balance_fen)
    .bind(&p.assistance_category)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds or replaces many persons in one statement.
pub async fn upsert_persons(
    conn: &mut PgConnection,
    people: &[PersonRow],
    at: DateTime<Utc>,
) -> Result<()> {
    for chunk in people.chunks(5_000) {
        let col = |f: fn(&PersonRow) -> String| chunk.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO persons (psn_no, certno, psn_name, insutype, retired, insuplc_admdvs,
                 account_balance_fen, assistance_category, updated_at)
             SELECT *, $9 FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BOOL[],
                                      $6::TEXT[], $7::INT8[], $8::TEXT[])
             ON CONFLICT (psn_no) DO UPDATE SET certno = EXCLUDED.certno,
                 psn_name = EXCLUDED.psn_name, insutype = EXCLUDED.insutype,
                 retired = EXCLUDED.retired, insuplc_admdvs = EXCLUDED.insuplc_admdvs,
                 account_balance_fen = EXCLUDED.account_balance_fen,
                 assistance_category = EXCLUDED.assistance_category, updated_at = EXCLUDED.updated_at",
        )
        .bind(col(|p| p.psn_no.clone()))
        .bind(col(|p| p.certno.clone()))
        .bind(col(|p| p.psn_name.clone()))
        .bind(col(|p| p.insutype.clone()))
        .bind(chunk.iter().map(|p| p.retired).collect::<Vec<_>>())
        .bind(col(|p| p.insuplc_admdvs.clone()))
        .bind(chunk.iter().map(|p| p.account_balance_fen).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.assistance_category.clone()).collect::<Vec<_>>())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn person_by_certno(conn: &mut PgConnection, certno: &str) -> Result<Option<PersonRow>> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM persons WHERE certno = $1");
    Ok(sqlx::query_as(&sql).bind(certno).fetch_optional(conn).await?)
}

/// The person, locked until the transaction ends: every settlement of one person runs after
/// the previous one committed.
pub async fn lock_person(conn: &mut PgConnection, psn_no: &str) -> Result<Option<PersonRow>> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM persons WHERE psn_no = $1 FOR NO KEY UPDATE");
    Ok(sqlx::query_as(&sql).bind(psn_no).fetch_optional(conn).await?)
}

#[derive(FromRow)]
struct LockedPerson {
    #[sqlx(flatten)]
    person: PersonRow,
    msgid_taken: bool,
}

/// The person, locked as [`lock_person`] does, and whether `sender` has used `msgid` for a
/// settlement already — both in one statement. The flag is read as of the statement's start:
/// a twin that commits while this waits for the lock is caught by the unique key instead.
pub async fn lock_person_for_msgid(
    conn: &mut PgConnection,
    psn_no: &str,
    sender: &str,
    msgid: &str,
) -> Result<Option<(PersonRow, bool)>> {
    let sql = format!(
        "SELECT {PERSON_COLUMNS},
             EXISTS (SELECT 1 FROM settlements WHERE sender = $2 AND msgid = $3) AS msgid_taken
         FROM persons WHERE psn_no = $1 FOR NO KEY UPDATE"
    );
    let row: Option<LockedPerson> =
        sqlx::query_as(&sql).bind(psn_no).bind(sender).bind(msgid).fetch_optional(conn).await?;
    Ok(row.map(|r| (r.person, r.msgid_taken)))
}

#[derive(FromRow)]
struct AccumulatorRow {
    admissions: i32,
    pooling_paid_fen: i64,
    benefit_paid_fen: Vec<i64>,
    deductible_paid_fen: Vec<i64>,
    inscp_self_burden_fen: i64,
    layer_paid_fen: i64,
    assistance_paid_fen: i64,
    counters: Value,
    version: i64,
}

impl AccumulatorRow {
    fn into_versioned(self) -> Result<Versioned> {
        Ok(Versioned {
            accumulators: Accumulators {
                admissions: u32::try_from(self.admissions).unwrap_or(0),
                pooling_paid_fen: self.pooling_paid_fen,
                benefit_paid_fen: four(&self.benefit_paid_fen)?,
                deductible_paid_fen: four(&self.deductible_paid_fen)?,
                inscp_self_burden_fen: self.inscp_self_burden_fen,
                layer_paid_fen: self.layer_paid_fen,
                assistance_paid_fen: self.assistance_paid_fen,
                counters: serde_json::from_value(self.counters)
                    .map_err(|e| Error::Internal(format!("stored accumulator counters: {e}")))?,
            },
            version: Some(self.version),
        })
    }
}

/// A person's accumulators of one year and the version they were read at (`None`: no row
/// yet, the accumulators are zero).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Versioned {
    pub accumulators: Accumulators,
    pub version: Option<i64>,
}

fn four(values: &[i64]) -> Result<[i64; 4]> {
    <[i64; 4]>::try_from(values)
        .map_err(|_| Error::Internal(format!("stored accumulator array {values:?} is not 4 long")))
}

const ACCUMULATOR_COLUMNS: &str = "admissions, pooling_paid_fen, benefit_paid_fen, \
     deductible_paid_fen, inscp_self_burden_fen, layer_paid_fen, assistance_paid_fen, counters, \
     version";

/// The person's accumulators of `year` (created at zero the first time), locked.
pub async fn lock_accumulators(
    conn: &mut PgConnection,
    psn_no: &str,
    year: i32,
) -> Result<Versioned> {
    // One statement: created at zero the first time, and locked either way (a conflicting
    // insert that updates takes the row lock, like SELECT … FOR NO KEY UPDATE: it sets no key
    // column).
    let sql = format!(
        "INSERT INTO accumulators (psn_no, year) VALUES ($1, $2)
         ON CONFLICT (psn_no, year) DO UPDATE SET admissions = accumulators.admissions
         RETURNING {ACCUMULATOR_COLUMNS}"
    );
    sqlx::query_as::<_, AccumulatorRow>(&sql)
        .bind(psn_no)
        .bind(year)
        .fetch_one(conn)
        .await?
        .into_versioned()
}

/// What a settlement reads of its person, unlocked, in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonState {
    pub person: PersonRow,
    pub accumulators: Versioned,
    /// Whether the sender has used the msgid for a settlement already.
    pub msgid_taken: bool,
}

/// A person's accumulators as a `LEFT JOIN` reads them: all `NULL` when there is no row.
#[derive(FromRow)]
struct JoinedAccumulators {
    admissions: Option<i32>,
    pooling_paid_fen: Option<i64>,
    benefit_paid_fen: Option<Vec<i64>>,
    deductible_paid_fen: Option<Vec<i64>>,
    inscp_self_burden_fen: Option<i64>,
    layer_paid_fen: Option<i64>,
    assistance_paid_fen: Option<i64>,
    counters: Option<Value>,
    version: Option<i64>,
}

impl JoinedAccumulators {
    fn into_versioned(self) -> Result<Versioned> {
        match self.version {
            Some(version) => AccumulatorRow {
                admissions: self.admissions.unwrap_or_default(),
                pooling_paid_fen: self.pooling_paid_fen.unwrap_or_default(),
                benefit_paid_fen: self.benefit_paid_fen.unwrap_or_default(),
                deductible_paid_fen: self.deductible_paid_fen.unwrap_or_default(),
                inscp_self_burden_fen: self.inscp_self_burden_fen.unwrap_or_default(),
                layer_paid_fen: self.layer_paid_fen.unwrap_or_default(),
                assistance_paid_fen: self.assistance_paid_fen.unwrap_or_default(),
                counters: self.counters.unwrap_or_default(),
                version,
            }
            .into_versioned(),
            None => Ok(Versioned::default()),
        }
    }
}

#[derive(FromRow)]
struct PersonStateRow {
    #[sqlx(flatten)]
    person: PersonRow,
    msgid_taken: bool,
    #[sqlx(flatten)]
    accumulators: JoinedAccumulators,
}

/// The select list and joins that read a person's state (their accumulators of the year `$2`
/// as `a`, and whether the sender `$3` used the msgid `$4`), for a query over `persons`.
const PERSON_STATE_COLUMNS: &str = "a.admissions, a.pooling_paid_fen, a.benefit_paid_fen, \
     a.deductible_paid_fen, a.inscp_self_burden_fen, a.layer_paid_fen, a.assistance_paid_fen, \
     a.counters, a.version, EXISTS (SELECT 1 FROM settlements WHERE sender = $3 AND msgid = $4) AS msgid_taken";
const PERSON_STATE_JOIN: &str = "LEFT JOIN LATERAL (
         SELECT admissions, pooling_paid_fen, benefit_paid_fen, deductible_paid_fen,
             inscp_self_burden_fen, layer_paid_fen, assistance_paid_fen, counters, version
         FROM accumulators WHERE accumulators.psn_no = persons.psn_no AND year = $2
     ) a ON true";

/// The person, their accumulators of `year` with their version, and whether `sender` has
/// used `msgid` for a settlement: what an optimistic settlement computes from.
pub async fn person_state(
    conn: &mut PgConnection,
    psn_no: &str,
    year: i32,
    sender: &str,
    msgid: &str,
) -> Result<Option<PersonState>> {
    let sql = format!(
        "SELECT {PERSON_COLUMNS}, {PERSON_STATE_COLUMNS}
         FROM persons {PERSON_STATE_JOIN}
         WHERE psn_no = $1"
    );
    let row: Option<PersonStateRow> = sqlx::query_as(&sql)
        .bind(psn_no)
        .bind(year)
        .bind(sender)
        .bind(msgid)
        .fetch_optional(conn)
        .await?;
    row.map(PersonStateRow::into_state).transpose()
}

impl PersonStateRow {
    fn into_state(self) -> Result<PersonState> {
        Ok(PersonState {
            person: self.person,
            accumulators: self.accumulators.into_versioned()?,
            msgid_taken: self.msgid_taken,
        })
    }
}

#[derive(FromRow)]
struct PersonYearRow {
    #[sqlx(flatten)]
    person: PersonRow,
    #[sqlx(flatten)]
    accumulators: JoinedAccumulators,
}

/// The person and their accumulators of `year` (zero when there is no row), unlocked (5206).
pub async fn person_accumulators(
    conn: &mut PgConnection,
    psn_no: &str,
    year: i32,
) -> Result<Option<(PersonRow, Accumulators)>> {
    let sql = format!(
        "SELECT {PERSON_COLUMNS}, a.admissions, a.pooling_paid_fen, a.benefit_paid_fen,
             a.deductible_paid_fen, a.inscp_self_burden_fen, a.layer_paid_fen,
             a.assistance_paid_fen, a.counters, a.version
         FROM persons {PERSON_STATE_JOIN}
         WHERE psn_no = $1"
    );
    let row: Option<PersonYearRow> =
        sqlx::query_as(&sql).bind(psn_no).bind(year).fetch_optional(conn).await?;
    row.map(|r| Ok((r.person, r.accumulators.into_versioned()?.accumulators))).transpose()
}

/// A settlement or cancellation row.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct SettlementRow {
    pub setl_id: String,
    pub sender: String,
    pub msgid: String,
    pub request_body: String,
    pub kind: String,
    pub orig_setl_id: Option<String>,
    pub psn_no: String,
    pub insuplc_admdvs: String,
    pub mdtrtarea_admvs: String,
    pub year: i32,
    pub setl_time: DateTime<Utc>,
    pub medfee_sumamt: i64,
    pub fund_pay_sumamt: i64,
    pub acct_pay: i64,
    pub psn_cash_pay: i64,
    pub policy_version: String,
    pub lines: Value,
    pub breakdown: Value,
    pub contribution: Value,
    /// The answer, without its breakdown: that is `breakdown` (see `settlement::answer_of`).
    pub answer: Value,
    pub cancelled_by: Option<String>,
    pub mdtrt_id: Option<String>,
    /// The visit's med_type code, which clearing reports as `clr_type`.
    pub clr_type: String,
    pub insutype: String,
    /// What the calculator was given besides the lines (`settlement::Inputs`); `None` for
    /// cancellations and rows stored before inputs were kept.
    pub inputs: Option<Value>,
}

const SETTLEMENT_COLUMNS: &str = "setl_id, sender, msgid, request_body, kind, orig_setl_id, \
     psn_no, insuplc_admdvs, mdtrtarea_admvs, year, setl_time, medfee_sumamt, fund_pay_sumamt, \
     acct_pay, psn_cash_pay, policy_version, lines, breakdown, contribution, answer, cancelled_by, \
     mdtrt_id, clr_type, insutype, inputs";

pub async fn settlement_by_msgid(
    conn: &mut PgConnection,
    sender: &str,
    msgid: &str,
) -> Result<Option<SettlementRow>> {
    let sql =
        format!("SELECT {SETTLEMENT_COLUMNS} FROM settlements WHERE sender = $1 AND msgid = $2");
    Ok(sqlx::query_as(&sql).bind(sender).bind(msgid).fetch_optional(conn).await?)
}

pub async fn lock_settlement(
    conn: &mut PgConnection,
    setl_id: &str,
) -> Result<Option<SettlementRow>> {
    let sql = format!(
        "SELECT {SETTLEMENT_COLUMNS} FROM settlements WHERE setl_id = $1 FOR NO KEY UPDATE"
    );
    Ok(sqlx::query_as(&sql).bind(setl_id).fetch_optional(conn).await?)
}

/// The settlements (not cancellations) `sender` made that have this id, close this visit or
/// were made by this msgid — any of those given — oldest first, at most 100.
pub async fn find_settlements(
    conn: &mut PgConnection,
    sender: &str,
    setl_id: Option<&str>,
    mdtrt_id: Option<&str>,
    msgid: Option<&str>,
) -> Result<Vec<SettlementRow>> {
    let sql = format!(
        "SELECT {SETTLEMENT_COLUMNS} FROM settlements
         WHERE sender = $1 AND kind = 'settlement'
             AND (setl_id = $2 OR mdtrt_id = $3 OR msgid = $4)
         ORDER BY setl_time, setl_id LIMIT 100"
    );
    Ok(sqlx::query_as(&sql)
        .bind(sender)
        .bind(setl_id)
        .bind(mdtrt_id)
        .bind(msgid)
        .fetch_all(conn)
        .await?)
}

/// A person's settlements and cancellations, newest first, at most `limit`.
pub async fn settlements_of_person(
    conn: &mut PgConnection,
    psn_no: &str,
    limit: i64,
) -> Result<Vec<SettlementRow>> {
    let sql = format!(
        "SELECT {SETTLEMENT_COLUMNS} FROM settlements WHERE psn_no = $1
         ORDER BY setl_time DESC, setl_id DESC LIMIT $2"
    );
    Ok(sqlx::query_as(&sql).bind(psn_no).bind(limit).fetch_all(conn).await?)
}

/// A settlement event for clearing.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct EventRow {
    pub seq: i64,
    pub setl_id: String,
    pub kind: String,
    pub home_province: String,
    pub treating_province: String,
    pub obligation_fen: i64,
    pub at: DateTime<Utc>,
}

/// An outbox event with what clearing needs of its settlement: the hospital, the amounts and
/// the ids a hospital reconciles against (3201/3202).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct StreamedEvent {
    #[sqlx(flatten)]
    pub event: EventRow,
    pub orig_setl_id: Option<String>,
    pub fixmedins_code: String,
    pub insutype: String,
    pub clr_type: String,
    pub psn_no: String,
    pub msgid: String,
    pub mdtrt_id: Option<String>,
    pub medfee_sumamt: i64,
    pub fund_pay_sumamt: i64,
    pub acct_pay: i64,
    pub psn_cash_pay: i64,
}

/// Numbers at most `max` events waiting in the outbox, in the order they were written, on
/// from the last number given: gap-free, under the counter's lock, in one transaction (the
/// migration `0006_outbox.sql` says why). How many it numbered.
pub async fn number_events(conn: &mut PgConnection, max: i32) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT routing_number_events($1)").bind(max).fetch_one(conn).await?)
}

/// The numbered events after `after_seq`, in order, each with its settlement. A cancellation
/// names the visit of the settlement it undoes.
pub async fn events_after(
    conn: &mut PgConnection,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<StreamedEvent>> {
    Ok(sqlx::query_as(
        "SELECT e.seq, e.setl_id, e.kind, e.home_province, e.treating_province, e.obligation_fen,
             e.at, s.orig_setl_id, s.sender AS fixmedins_code,
             s.insutype, s.clr_type, s.psn_no, s.msgid,
             COALESCE(s.mdtrt_id, o.mdtrt_id) AS mdtrt_id, s.medfee_sumamt, s.fund_pay_sumamt,
             s.acct_pay, s.psn_cash_pay
         FROM events e
         JOIN settlements s ON s.setl_id = e.setl_id
         LEFT JOIN settlements o ON o.setl_id = s.orig_setl_id
         WHERE e.seq > $1 ORDER BY e.seq LIMIT $2",
    )
    .bind(after_seq)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// A registered visit. Its codes, medical type and level were validated when it was
/// registered, and are read back as those types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitRow {
    pub mdtrt_id: String,
    pub fixmedins_code: FixmedinsCode,
    pub msgid: String,
    pub request_body: String,
    pub psn_no: String,
    pub med_type: MedType,
    pub mdtrtarea_admvs: Admdvs,
    pub hospital_level: HospitalLevel,
    pub begin_date: chrono::NaiveDate,
    pub end_date: Option<chrono::NaiveDate>,
    pub diagnosis_code: String,
    pub disease_code: String,
    pub emergency: bool,
    pub status: String,
    pub setl_id: Option<String>,
}

const VISIT_COLUMNS: &str = "mdtrt_id, fixmedins_code, msgid, request_body, psn_no, med_type, \
     mdtrtarea_admvs, hospital_level, begin_date, end_date, diagnosis_code, disease_code, \
     emergency, status, setl_id";

/// A stored column as the type it holds; a value that is not one is a broken row.
fn typed<T, E: std::fmt::Display>(
    row: &PgRow,
    column: &str,
    parse: impl FnOnce(String) -> std::result::Result<T, E>,
) -> sqlx::Result<T> {
    let text: String = row.try_get(column)?;
    parse(text).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("stored {column}: {e}").into(),
    })
}

impl<'r> FromRow<'r, PgRow> for VisitRow {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        let med_type: i16 = row.try_get("med_type")?;
        Ok(Self {
            mdtrt_id: row.try_get("mdtrt_id")?,
            fixmedins_code: typed(row, "fixmedins_code", FixmedinsCode::try_from)?,
            msgid: row.try_get("msgid")?,
            request_body: row.try_get("request_body")?,
            psn_no: row.try_get("psn_no")?,
            med_type: MedType::from_code(med_type).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "med_type".into(),
                source: format!("stored med_type {med_type}").into(),
            })?,
            mdtrtarea_admvs: typed(row, "mdtrtarea_admvs", Admdvs::try_from)?,
            hospital_level: typed(row, "hospital_level", |text| {
                HospitalLevel::parse(&text).ok_or(text)
            })?,
            begin_date: row.try_get("begin_date")?,
            end_date: row.try_get("end_date")?,
            diagnosis_code: row.try_get("diagnosis_code")?,
            disease_code: row.try_get("disease_code")?,
            emergency: row.try_get("emergency")?,
            status: row.try_get("status")?,
            setl_id: row.try_get("setl_id")?,
        })
    }
}

pub async fn insert_visit(conn: &mut PgConnection, v: &VisitRow) -> Result<()> {
    let sql = format!(
        "INSERT INTO visits ({VISIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    );
    sqlx::query(&sql)
        .bind(&v.mdtrt_id)
        .bind(v.fixmedins_code.as_str())
        .bind(&v.msgid)
        .bind(&v.request_body)
        .bind(&v.psn_no)
        .bind(v.med_type.code())
        .bind(v.mdtrtarea_admvs.as_str())
        .bind(v.hospital_level.as_str())
        .bind(v.begin_date)
        .bind(v.end_date)
        .bind(&v.diagnosis_code)
        .bind(&v.disease_code)
        .bind(v.emergency)
        .bind(&v.status)
        .bind(&v.setl_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn visit_by_msgid(
    conn: &mut PgConnection,
    sender: &str,
    msgid: &str,
) -> Result<Option<VisitRow>> {
    let sql =
        format!("SELECT {VISIT_COLUMNS} FROM visits WHERE fixmedins_code = $1 AND msgid = $2");
    Ok(sqlx::query_as(&sql).bind(sender).bind(msgid).fetch_optional(conn).await?)
}

/// The visit, locked until the transaction ends.
pub async fn lock_visit(conn: &mut PgConnection, mdtrt_id: &str) -> Result<Option<VisitRow>> {
    let sql = format!("SELECT {VISIT_COLUMNS} FROM visits WHERE mdtrt_id = $1 FOR NO KEY UPDATE");
    Ok(sqlx::query_as(&sql).bind(mdtrt_id).fetch_optional(conn).await?)
}

/// The visit, read without a lock.
pub async fn visit(conn: &mut PgConnection, mdtrt_id: &str) -> Result<Option<VisitRow>> {
    let sql = format!("SELECT {VISIT_COLUMNS} FROM visits WHERE mdtrt_id = $1");
    Ok(sqlx::query_as(&sql).bind(mdtrt_id).fetch_optional(conn).await?)
}

/// Which of a hospital's visits of a person [`visits_of_person`] reads.
#[derive(Debug, Clone, Copy)]
pub struct VisitFilter<'a> {
    pub sender: &'a str,
    pub psn_no: &'a str,
    /// Visits that end on or after it: an admission not discharged goes on, any other visit
    /// without an end date ends the day it began.
    pub from: Option<chrono::NaiveDate>,
    /// Visits that began on or before it.
    pub to: Option<chrono::NaiveDate>,
    pub mdtrt_id: Option<&'a str>,
    pub med_type: Option<MedType>,
    pub limit: i64,
}

/// A hospital's visits of a person (5201), oldest first, cancelled ones too.
pub async fn visits_of_person(
    conn: &mut PgConnection,
    f: &VisitFilter<'_>,
) -> Result<Vec<VisitRow>> {
    let sql = format!(
        "SELECT {VISIT_COLUMNS} FROM visits
         WHERE fixmedins_code = $1 AND psn_no = $2
             AND ($3::DATE IS NULL OR COALESCE(end_date,
                 CASE WHEN status = 'open' AND med_type = 21 THEN 'infinity'::DATE
                      ELSE begin_date END) >= $3)
             AND ($4::DATE IS NULL OR begin_date <= $4)
             AND ($5::TEXT IS NULL OR mdtrt_id = $5)
             AND ($6::INT2 IS NULL OR med_type = $6)
         ORDER BY begin_date, mdtrt_id LIMIT $7"
    );
    Ok(sqlx::query_as(&sql)
        .bind(f.sender)
        .bind(f.psn_no)
        .bind(f.from)
        .bind(f.to)
        .bind(f.mdtrt_id)
        .bind(f.med_type.map(MedType::code))
        .bind(f.limit)
        .fetch_all(conn)
        .await?)
}

/// The resolved lines a settlement was computed from (`settlement::SettleRequest::lines`, in
/// the order of the visit's active lines by line number), if there is such a settlement.
pub async fn settlement_lines(conn: &mut PgConnection, setl_id: &str) -> Result<Option<Value>> {
    Ok(sqlx::query_scalar("SELECT lines FROM settlements WHERE setl_id = $1")
        .bind(setl_id)
        .fetch_optional(conn)
        .await?)
}

/// Sets a visit's medical type, diagnosis, disease (2203) and begin date (2403).
pub async fn update_visit_details(
    conn: &mut PgConnection,
    mdtrt_id: &str,
    med_type: MedType,
    diagnosis_code: &str,
    disease_code: &str,
    begin_date: chrono::NaiveDate,
) -> Result<()> {
    sqlx::query(
        "UPDATE visits SET med_type = $2, diagnosis_code = $3, disease_code = $4, begin_date = $5
         WHERE mdtrt_id = $1",
    )
    .bind(mdtrt_id)
    .bind(med_type.code())
    .bind(diagnosis_code)
    .bind(disease_code)
    .bind(begin_date)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets a visit's status and end date (discharge, cancellation).
pub async fn update_visit(
    conn: &mut PgConnection,
    mdtrt_id: &str,
    status: &str,
    end_date: Option<chrono::NaiveDate>,
) -> Result<()> {
    sqlx::query("UPDATE visits SET status = $2, end_date = $3 WHERE mdtrt_id = $1")
        .bind(mdtrt_id)
        .bind(status)
        .bind(end_date)
        .execute(conn)
        .await?;
    Ok(())
}

/// A fee line of a visit, its price and quantity as validated when it was uploaded.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct FeeLineRow {
    pub feedetl_sn: String,
    pub local_code: String,
    pub national_code: String,
    #[sqlx(try_from = "i64")]
    pub price_fen: PriceFen,
    #[sqlx(try_from = "Decimal")]
    pub quantity: Quantity,
    pub fee_date: chrono::NaiveDate,
    pub cancelled: bool,
    /// The hospital's charge batch (empty: none; not read for a settlement).
    pub chrg_bchno: String,
}

/// The visit's lines (all of them, cancelled ones too), by line number.
pub async fn fee_lines(conn: &mut PgConnection, mdtrt_id: &str) -> Result<Vec<FeeLineRow>> {
    Ok(sqlx::query_as(
        "SELECT feedetl_sn, local_code, national_code, price_fen, quantity, fee_date, cancelled,
             chrg_bchno
         FROM fee_lines WHERE mdtrt_id = $1 ORDER BY feedetl_sn",
    )
    .bind(mdtrt_id)
    .fetch_all(conn)
    .await?)
}

/// Adds a line to a visit.
pub async fn insert_fee_line(
    conn: &mut PgConnection,
    mdtrt_id: &str,
    l: &FeeLineRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO fee_lines (mdtrt_id, feedetl_sn, local_code, national_code, price_fen, quantity, fee_date, chrg_bchno)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(mdtrt_id)
    .bind(&l.feedetl_sn)
    .bind(&l.local_code)
    .bind(&l.national_code)
    .bind(i64::from(l.price_fen))
    .bind(Decimal::from(l.quantity))
    .bind(l.fee_date)
    .bind(&l.chrg_bchno)
    .execute(conn)
    .await?;
    Ok(())
}

/// Cancels the named lines of a visit, or those of charge batch `chrg_bchno`, or (neither)
/// all of them; how many were standing.
pub async fn cancel_fee_lines(
    conn: &mut PgConnection,
    mdtrt_id: &str,
    feedetl_sn: &[String],
    chrg_bchno: Option<&str>,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE fee_lines SET cancelled = true
         WHERE mdtrt_id = $1 AND NOT cancelled
             AND (cardinality($2::TEXT[]) = 0 OR feedetl_sn = ANY($2))
             AND ($3::TEXT IS NULL OR chrg_bchno = $3)",
    )
    .bind(mdtrt_id)
    .bind(feedetl_sn)
    .bind(chrg_bchno)
    .execute(conn)
    .await?
    .rows_affected())
}

pub async fn person(conn: &mut PgConnection, psn_no: &str) -> Result<Option<PersonRow>> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM persons WHERE psn_no = $1");
    Ok(sqlx::query_as(&sql).bind(psn_no).fetch_optional(conn).await?)
}

/// What settling a visit reads: the visit, its person's state and its active lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleInputs {
    pub visit: VisitRow,
    /// The person, their accumulators of the year asked and whether the msgid was used.
    pub state: PersonState,
    pub lines: Vec<FeeLineRow>,
}

#[derive(FromRow)]
struct SettleInputsRow {
    #[sqlx(flatten)]
    visit: VisitRow,
    /// Reads `psn_no` from the same column as the visit (the join is `USING (psn_no)`).
    #[sqlx(flatten)]
    state: PersonStateRow,
    sn: Vec<String>,
    local_code: Vec<String>,
    national_code: Vec<String>,
    price_fen: Vec<i64>,
    quantity: Vec<Decimal>,
    fee_date: Vec<chrono::NaiveDate>,
}

/// The visit, its active (not cancelled) lines by line number, and its person's state as
/// [`person_state`] reads it (accumulators of `year`, whether `sender` used `msgid`), in one
/// statement: a plain read, which the settlement's write checks again.
pub async fn settle_inputs(
    conn: &mut PgConnection,
    mdtrt_id: &str,
    year: i32,
    sender: &str,
    msgid: &str,
) -> Result<Option<SettleInputs>> {
    let sql = format!(
        "SELECT {VISIT_COLUMNS}, certno, psn_name, insutype, retired, insuplc_admdvs,
             account_balance_fen, assistance_category, {PERSON_STATE_COLUMNS},
             COALESCE(l.sn, '{{}}') AS sn, COALESCE(l.local_code, '{{}}') AS local_code,
             COALESCE(l.national_code, '{{}}') AS national_code,
             COALESCE(l.price_fen, '{{}}') AS price_fen, COALESCE(l.quantity, '{{}}') AS quantity,
             COALESCE(l.fee_date, '{{}}') AS fee_date
         FROM visits JOIN persons USING (psn_no)
         {PERSON_STATE_JOIN}
         LEFT JOIN LATERAL (
             SELECT array_agg(feedetl_sn ORDER BY feedetl_sn) AS sn,
                    array_agg(local_code ORDER BY feedetl_sn) AS local_code,
                    array_agg(national_code ORDER BY feedetl_sn) AS national_code,
                    array_agg(price_fen ORDER BY feedetl_sn) AS price_fen,
                    array_agg(quantity ORDER BY feedetl_sn) AS quantity,
                    array_agg(fee_date ORDER BY feedetl_sn) AS fee_date
             FROM fee_lines WHERE fee_lines.mdtrt_id = visits.mdtrt_id AND NOT cancelled
         ) l ON true
         WHERE visits.mdtrt_id = $1"
    );
    let Some(row) = sqlx::query_as::<_, SettleInputsRow>(&sql)
        .bind(mdtrt_id)
        .bind(year)
        .bind(sender)
        .bind(msgid)
        .fetch_optional(conn)
        .await?
    else {
        return Ok(None);
    };
    let n = row.sn.len();
    if [row.local_code.len(), row.national_code.len(), row.price_fen.len(), row.quantity.len()]
        .iter()
        .chain([row.fee_date.len()].iter())
        .any(|&len| len != n)
    {
        return Err(Error::Internal(format!("the lines of {mdtrt_id} came back uneven")));
    }
    let broken = |sn: &str, e: crate::model::LineError| {
        Error::Internal(format!("stored line {sn} of {mdtrt_id}: {e}"))
    };
    let lines = (0..n)
        .map(|i| {
            let sn = &row.sn[i];
            Ok(FeeLineRow {
                feedetl_sn: sn.clone(),
                local_code: row.local_code[i].clone(),
                national_code: row.national_code[i].clone(),
                price_fen: PriceFen::try_from(row.price_fen[i]).map_err(|e| broken(sn, e))?,
                quantity: Quantity::try_from(row.quantity[i]).map_err(|e| broken(sn, e))?,
                fee_date: row.fee_date[i],
                cancelled: false,
                chrg_bchno: String::new(),
            })
        })
        .collect::<Result<_>>()?;
    Ok(Some(SettleInputs { visit: row.visit, state: row.state.into_state()?, lines }))
}

/// What a settlement or cancellation does to its visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitChange<'a> {
    /// Not tied to a visit.
    None,
    /// The visit becomes settled by this settlement, unless it is settled already.
    Settle(&'a str),
    /// The visit opens for settling again (back to discharged when it has an end date).
    Reopen(&'a str),
}

/// Everything a settlement or cancellation writes, written by [`record`] in one statement.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub row: &'a SettlementRow,
    pub details: &'a [FundPart],
    pub visit: VisitChange<'a>,
    /// The settlement this one cancels, marked cancelled by it.
    pub cancels: Option<&'a str>,
    /// The person's accumulators of `row.year` as they are after this.
    pub accumulators: &'a Accumulators,
    /// The version the accumulators were read at (`None`: there was no row).
    pub read_version: Option<i64>,
    /// Added to the person's account balance (negative: the account paid)…
    pub balance_change_fen: i64,
    /// …which was this when the settlement was computed.
    pub balance_read_fen: i64,
    /// The outbox event's provinces and obligation (its kind and time are the row's); it is
    /// numbered later, by [`number_events`].
    pub home_province: &'a str,
    pub treating_province: &'a str,
    pub obligation_fen: i64,
}

/// Why [`record`] refused to write (SQLSTATE `MC001`, raised by the statement itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The accumulators or the balance changed since they were read, or PostgreSQL broke a
    /// deadlock by aborting the statement: compute again.
    Stale,
    /// `VisitChange::Settle` found the visit settled already.
    VisitSettled,
}

/// Writes a settlement or cancellation in one statement: the row, its fund details, the visit
/// change, the cancellation mark, the accumulators, the balance, and the outbox event, not yet
/// numbered (see [`number_events`]).
///
/// The statement first checks that the accumulators are still at `read_version`, that a
/// balance it changes is still `balance_read_fen`, and that a visit it settles is not settled
/// yet; if not, it raises `MC001` and writes nothing, and this answers `Ok(Err(Refused))`.
pub async fn record(conn: &mut PgConnection, r: &Record<'_>) -> Result<Result<(), Refused>> {
    let accumulators_sql = if r.read_version.is_some() {
        "UPDATE accumulators SET admissions = $26, pooling_paid_fen = $27,
             benefit_paid_fen = $28, deductible_paid_fen = $29, inscp_self_burden_fen = $31,
             layer_paid_fen = $32, assistance_paid_fen = $33, counters = $43,
             version = version + 1
         WHERE psn_no = $7 AND year = $10 AND version = $36 RETURNING 1"
    } else {
        "INSERT INTO accumulators (psn_no, year, admissions, pooling_paid_fen, benefit_paid_fen,
             deductible_paid_fen, inscp_self_burden_fen, layer_paid_fen, assistance_paid_fen,
             counters, version)
         SELECT $7, $10, $26, $27, $28, $29, $31, $32, $33, $43, 1 WHERE $36::INT8 IS NULL
         ON CONFLICT DO NOTHING RETURNING 1"
    };
    let (visit_sql, visit_id) = match r.visit {
        VisitChange::None => ("SELECT 1 WHERE $30::TEXT IS NULL", None),
        VisitChange::Settle(id) => (
            "UPDATE visits SET setl_id = $1, status = 'settled'
             WHERE mdtrt_id = $30 AND status <> 'settled' RETURNING 1",
            Some(id),
        ),
        VisitChange::Reopen(id) => (
            "UPDATE visits SET setl_id = NULL,
                 status = CASE WHEN end_date IS NOT NULL THEN 'discharged' ELSE 'open' END
             WHERE mdtrt_id = $30 RETURNING 1",
            Some(id),
        ),
    };
    // The checks are the main query: the CTEs they read (b, a, v) run first, in this order —
    // the person before the accumulators, the lock order of the locked paths; the others run
    // after it, so nothing is written past a failed check (and the raise undoes what b, a and
    // v did). Rows are locked FOR NO KEY UPDATE everywhere, which the foreign-key checks at
    // the end of the statement (FOR KEY SHARE) do not wait for.
    let sql = format!(
        "WITH a AS ({accumulators_sql}),
         b AS (
             UPDATE persons SET account_balance_fen = account_balance_fen + $34
             WHERE psn_no = $7 AND $34 <> 0 AND account_balance_fen = $35 RETURNING 1),
         v AS ({visit_sql}),
         s AS (
             INSERT INTO settlements (setl_id, sender, msgid, request_body, kind, orig_setl_id,
                 psn_no, insuplc_admdvs, mdtrtarea_admvs, year, setl_time, medfee_sumamt,
                 fund_pay_sumamt, acct_pay, psn_cash_pay, policy_version, lines, breakdown,
                 contribution, answer, mdtrt_id, clr_type, insutype, inputs)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19, $20, $21, $22, $41, $42)),
         d AS (
             INSERT INTO setldetail (setl_id, fund_pay_type, crt_payb_lmt_amt, fund_payamt)
             SELECT $1, * FROM UNNEST($23::TEXT[], $24::INT8[], $25::INT8[])),
         c AS (UPDATE settlements SET cancelled_by = $1 WHERE setl_id = $37),
         e AS (
             INSERT INTO outbox (setl_id, kind, home_province, treating_province,
                 obligation_fen, at)
             VALUES ($1, $5, $38, $39, $40, $11))
         SELECT CASE
             WHEN $34 <> 0 AND NOT EXISTS (SELECT 1 FROM b) THEN routing_refuse('stale')
             WHEN NOT EXISTS (SELECT 1 FROM a) THEN routing_refuse('stale')
             WHEN NOT EXISTS (SELECT 1 FROM v) THEN routing_refuse('visit_settled')
             ELSE true END"
    );
    let (s, a) = (r.row, r.accumulators);
    let written: std::result::Result<bool, sqlx::Error> = sqlx::query_scalar(&sql)
        .bind(&s.setl_id)
        .bind(&s.sender)
        .bind(&s.msgid)
        .bind(&s.request_body)
        .bind(&s.kind)
        .bind(&s.orig_setl_id)
        .bind(&s.psn_no)
        .bind(&s.insuplc_admdvs)
        .bind(&s.mdtrtarea_admvs)
        .bind(s.year)
        .bind(s.setl_time)
        .bind(s.medfee_sumamt)
        .bind(s.fund_pay_sumamt)
        .bind(s.acct_pay)
        .bind(s.psn_cash_pay)
        .bind(&s.policy_version)
        .bind(&s.lines)
        .bind(&s.breakdown)
        .bind(&s.contribution)
        .bind(&s.answer)
        .bind(&s.mdtrt_id)
        .bind(&s.clr_type)
        .bind(r.details.iter().map(|d| d.fund_pay_type.clone()).collect::<Vec<_>>())
        .bind(r.details.iter().map(|d| d.crt_payb_lmt_amt).collect::<Vec<_>>())
        .bind(r.details.iter().map(|d| d.fund_payamt).collect::<Vec<_>>())
        .bind(i32::try_from(a.admissions).unwrap_or(i32::MAX))
        .bind(a.pooling_paid_fen)
        .bind(a.benefit_paid_fen.to_vec())
        .bind(a.deductible_paid_fen.to_vec())
        .bind(visit_id)
        .bind(a.inscp_self_burden_fen)
        .bind(a.layer_paid_fen)
        .bind(a.assistance_paid_fen)
        .bind(r.balance_change_fen)
        .bind(r.balance_read_fen)
        .bind(r.read_version)
        .bind(r.cancels)
        .bind(r.home_province)
        .bind(r.treating_province)
        .bind(r.obligation_fen)
        .bind(&s.insutype)
        .bind(&s.inputs)
        .bind(serde_json::to_value(&a.counters).map_err(|e| Error::Internal(e.to_string()))?)
        .fetch_one(conn)
        .await;
    match written {
        Ok(_) => Ok(Ok(())),
        // A deadlock PostgreSQL broke by aborting this statement: nothing was written.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("40P01") => {
            Ok(Err(Refused::Stale))
        }
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("MC001") => {
            Ok(Err(if e.message() == "visit_settled" {
                Refused::VisitSettled
            } else {
                Refused::Stale
            }))
        }
        Err(e) => Err(e.into()),
    }
}

/// Adds institutions to the registry or replaces them, in one statement.
pub async fn upsert_institutions(
    conn: &mut PgConnection,
    institutions: &[Institution],
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO institutions (fixmedins_code, fixmedins_name, admdvs, hospital_level,
             updated_at)
         SELECT *, $5 FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[])
         ON CONFLICT (fixmedins_code) DO UPDATE SET fixmedins_name = EXCLUDED.fixmedins_name,
             admdvs = EXCLUDED.admdvs, hospital_level = EXCLUDED.hospital_level,
             updated_at = EXCLUDED.updated_at",
    )
    .bind(institutions.iter().map(|i| i.fixmedins_code.clone()).collect::<Vec<_>>())
    .bind(institutions.iter().map(|i| i.fixmedins_name.trim().to_owned()).collect::<Vec<_>>())
    .bind(institutions.iter().map(|i| i.admdvs.clone()).collect::<Vec<_>>())
    .bind(institutions.iter().map(|i| i.hospital_level.clone()).collect::<Vec<_>>())
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The institution with this code, if registered.
pub async fn institution(conn: &mut PgConnection, code: &str) -> Result<Option<Institution>> {
    Ok(sqlx::query_as(
        "SELECT fixmedins_code, fixmedins_name, admdvs, hospital_level
         FROM institutions WHERE fixmedins_code = $1",
    )
    .bind(code)
    .fetch_optional(conn)
    .await?)
}

/// A settlement list as a hospital uploaded it (4101).
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct SettlementListRow {
    pub setl_list_id: String,
    pub setl_id: String,
    /// 1 for the settlement's first list, then 2, 3, …: given by [`insert_settlement_list`].
    pub version: i32,
    pub sender: String,
    pub msgid: String,
    pub request_sha256: String,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub adm_date: Option<chrono::NaiveDate>,
    pub dscg_date: Option<chrono::NaiveDate>,
    pub fund_payamt_fen: i64,
    pub document: Value,
    pub uploaded_at: DateTime<Utc>,
}

/// A stored settlement list, and whether it is its settlement's latest.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct StoredList {
    #[sqlx(flatten)]
    pub row: SettlementListRow,
    pub current: bool,
}

/// The list `sender` uploaded with `msgid`, if any.
pub async fn settlement_list_by_msgid(
    conn: &mut PgConnection,
    sender: &str,
    msgid: &str,
) -> Result<Option<StoredList>> {
    Ok(sqlx::query_as(
        "SELECT l.setl_list_id, l.setl_id, l.version, l.sender, l.msgid, l.request_sha256,
             l.mdtrt_id, l.psn_no, l.adm_date, l.dscg_date, l.fund_payamt_fen, l.document,
             l.uploaded_at,
             l.version = (SELECT max(m.version) FROM settlement_lists m
                          WHERE m.setl_id = l.setl_id) AS current
         FROM settlement_lists l WHERE l.sender = $1 AND l.msgid = $2",
    )
    .bind(sender)
    .bind(msgid)
    .fetch_optional(conn)
    .await?)
}

/// Adds a list as the next version of its settlement's (its `version` is not read); the
/// version it got. The caller holds the settlement's lock ([`lock_settlement`]), so versions
/// are given one at a time.
pub async fn insert_settlement_list(conn: &mut PgConnection, l: &SettlementListRow) -> Result<i32> {
    Ok(sqlx::query_scalar(
        "INSERT INTO settlement_lists (setl_list_id, setl_id, version, sender, msgid,
             request_sha256, mdtrt_id, psn_no, adm_date, dscg_date, fund_payamt_fen, document,
             uploaded_at)
         SELECT $1, $2, COALESCE(max(version), 0) + 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
         FROM settlement_lists WHERE setl_id = $2
         RETURNING version",
    )
    .bind(&l.setl_list_id)
    .bind(&l.setl_id)
    .bind(&l.sender)
    .bind(&l.msgid)
    .bind(&l.request_sha256)
    .bind(&l.mdtrt_id)
    .bind(&l.psn_no)
    .bind(l.adm_date)
    .bind(l.dscg_date)
    .bind(l.fund_payamt_fen)
    .bind(&l.document)
    .bind(l.uploaded_at)
    .fetch_one(conn)
    .await?)
}

/// Which of a person's settled visits [`settled_visits_of_person`] reads.
#[derive(Debug, Clone, Copy)]
pub struct SettledVisitFilter<'a> {
    pub psn_no: &'a str,
    pub med_type: MedType,
    /// Visits with a standing line of this fee date or later…
    pub from: Option<chrono::NaiveDate>,
    /// …and of this fee date or earlier.
    pub to: Option<chrono::NaiveDate>,
    pub limit: i64,
}

/// A visit and the registry's name of its institution.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct VisitAt {
    #[sqlx(flatten)]
    pub visit: VisitRow,
    pub fixmedins_name: Option<String>,
}

/// A person's settled visits of one medical type at any institution — settled by a
/// settlement that stands — with a standing fee line in the range of dates, by begin date.
pub async fn settled_visits_of_person(
    conn: &mut PgConnection,
    f: &SettledVisitFilter<'_>,
) -> Result<Vec<VisitAt>> {
    let columns = format!("v.{}", VISIT_COLUMNS.replace(", ", ", v."));
    let sql = format!(
        "SELECT {columns}, i.fixmedins_name
         FROM visits v
         JOIN settlements s ON s.setl_id = v.setl_id
             AND s.kind = 'settlement' AND s.cancelled_by IS NULL
         LEFT JOIN institutions i ON i.fixmedins_code = v.fixmedins_code
         WHERE v.psn_no = $1 AND v.med_type = $2 AND v.status = 'settled'
             AND EXISTS (SELECT 1 FROM fee_lines l
                 WHERE l.mdtrt_id = v.mdtrt_id AND NOT l.cancelled
                     AND ($3::DATE IS NULL OR l.fee_date >= $3)
                     AND ($4::DATE IS NULL OR l.fee_date <= $4))
         ORDER BY v.begin_date, v.mdtrt_id LIMIT $5"
    );
    Ok(sqlx::query_as(&sql)
        .bind(f.psn_no)
        .bind(f.med_type.code())
        .bind(f.from)
        .bind(f.to)
        .bind(f.limit)
        .fetch_all(conn)
        .await?)
}
