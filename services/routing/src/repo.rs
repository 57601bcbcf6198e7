//! Storage of the routing service: every SQL statement it runs, each taking the connection of
//! the transaction it belongs to.

use chrono::{DateTime, Utc};
use medclear_common::{Error, Result};
use serde_json::Value;
use sqlx::{FromRow, PgConnection};

use crate::calc::{Accumulators, FundPart};

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
    let sql = format!("SELECT {PERSON_COLUMNS} FROM persons WHERE psn_no = $1 FOR UPDATE");
    Ok(sqlx::query_as(&sql).bind(psn_no).fetch_optional(conn).await?)
}

pub async fn set_balance(conn: &mut PgConnection, psn_no: &str, balance_fen: i64) -> Result<()> {
    sqlx::query("UPDATE persons SET account_balance_fen = $2 WHERE psn_no = $1")
        .bind(psn_no)
        .bind(balance_fen)
        .execute(conn)
        .await?;
    Ok(())
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
}

fn four(values: &[i64]) -> Result<[i64; 4]> {
    <[i64; 4]>::try_from(values)
        .map_err(|_| Error::Internal(format!("stored accumulator array {values:?} is not 4 long")))
}

/// The person's accumulators of `year` (created at zero the first time), locked.
pub async fn lock_accumulators(
    conn: &mut PgConnection,
    psn_no: &str,
    year: i32,
) -> Result<Accumulators> {
    // One statement: created at zero the first time, and locked either way (a conflicting
    // insert that updates takes the row lock, like SELECT … FOR UPDATE).
    let row = sqlx::query_as::<_, AccumulatorRow>(
        "INSERT INTO accumulators (psn_no, year) VALUES ($1, $2)
         ON CONFLICT (psn_no, year) DO UPDATE SET psn_no = EXCLUDED.psn_no
         RETURNING admissions, pooling_paid_fen, benefit_paid_fen, deductible_paid_fen,
                   inscp_self_burden_fen, layer_paid_fen, assistance_paid_fen",
    )
    .bind(psn_no)
    .bind(year)
    .fetch_one(conn)
    .await?;
    Ok(Accumulators {
        admissions: u32::try_from(row.admissions).unwrap_or(0),
        pooling_paid_fen: row.pooling_paid_fen,
        benefit_paid_fen: four(&row.benefit_paid_fen)?,
        deductible_paid_fen: four(&row.deductible_paid_fen)?,
        inscp_self_burden_fen: row.inscp_self_burden_fen,
        layer_paid_fen: row.layer_paid_fen,
        assistance_paid_fen: row.assistance_paid_fen,
    })
}

pub async fn store_accumulators(
    conn: &mut PgConnection,
    psn_no: &str,
    year: i32,
    a: &Accumulators,
) -> Result<()> {
    sqlx::query(
        "UPDATE accumulators SET admissions = $3, pooling_paid_fen = $4, benefit_paid_fen = $5,
             deductible_paid_fen = $6, inscp_self_burden_fen = $7, layer_paid_fen = $8,
             assistance_paid_fen = $9
         WHERE psn_no = $1 AND year = $2",
    )
    .bind(psn_no)
    .bind(year)
    .bind(i32::try_from(a.admissions).unwrap_or(i32::MAX))
    .bind(a.pooling_paid_fen)
    .bind(a.benefit_paid_fen.to_vec())
    .bind(a.deductible_paid_fen.to_vec())
    .bind(a.inscp_self_burden_fen)
    .bind(a.layer_paid_fen)
    .bind(a.assistance_paid_fen)
    .execute(conn)
    .await?;
    Ok(())
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
    pub answer: Value,
    pub cancelled_by: Option<String>,
    pub mdtrt_id: Option<String>,
    /// The visit's med_type code, which clearing reports as `clr_type`.
    pub clr_type: String,
}

const SETTLEMENT_COLUMNS: &str = "setl_id, sender, msgid, request_body, kind, orig_setl_id, \
     psn_no, insuplc_admdvs, mdtrtarea_admvs, year, setl_time, medfee_sumamt, fund_pay_sumamt, \
     acct_pay, psn_cash_pay, policy_version, lines, breakdown, contribution, answer, cancelled_by, \
     mdtrt_id, clr_type";

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
    let sql = format!("SELECT {SETTLEMENT_COLUMNS} FROM settlements WHERE setl_id = $1 FOR UPDATE");
    Ok(sqlx::query_as(&sql).bind(setl_id).fetch_optional(conn).await?)
}

pub async fn insert_settlement(
    conn: &mut PgConnection,
    s: &SettlementRow,
    details: &[FundPart],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO settlements (setl_id, sender, msgid, request_body, kind, orig_setl_id, psn_no,
             insuplc_admdvs, mdtrtarea_admvs, year, setl_time, medfee_sumamt, fund_pay_sumamt,
             acct_pay, psn_cash_pay, policy_version, lines, breakdown, contribution, answer, mdtrt_id,
             clr_type)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
             $20, $21, $22)",
    )
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
    .execute(&mut *conn)
    .await?;
    if !details.is_empty() {
        sqlx::query(
            "INSERT INTO setldetail (setl_id, fund_pay_type, crt_payb_lmt_amt, fund_payamt)
             SELECT $1, * FROM UNNEST($2::TEXT[], $3::INT8[], $4::INT8[])",
        )
        .bind(&s.setl_id)
        .bind(details.iter().map(|d| d.fund_pay_type.clone()).collect::<Vec<_>>())
        .bind(details.iter().map(|d| d.crt_payb_lmt_amt).collect::<Vec<_>>())
        .bind(details.iter().map(|d| d.fund_payamt).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    }
    Ok(())
}

pub async fn mark_cancelled(conn: &mut PgConnection, setl_id: &str, by: &str) -> Result<()> {
    sqlx::query("UPDATE settlements SET cancelled_by = $2 WHERE setl_id = $1")
        .bind(setl_id)
        .bind(by)
        .execute(conn)
        .await?;
    Ok(())
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

/// Appends an event with the next number. Called last in its transaction: the counter row is
/// held only from here to the commit.
pub async fn append_event(conn: &mut PgConnection, e: &EventRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "WITH next AS (UPDATE counters SET value = value + 1 WHERE name = 'events' RETURNING value)
         INSERT INTO events (seq, setl_id, kind, home_province, treating_province, obligation_fen, at)
         SELECT value, $1, $2, $3, $4, $5, $6 FROM next
         RETURNING seq",
    )
    .bind(&e.setl_id)
    .bind(&e.kind)
    .bind(&e.home_province)
    .bind(&e.treating_province)
    .bind(e.obligation_fen)
    .bind(e.at)
    .fetch_one(conn)
    .await?)
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

/// The events after `after_seq`, in order, each with its settlement. A cancellation names the
/// visit of the settlement it undoes.
pub async fn events_after(
    conn: &mut PgConnection,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<StreamedEvent>> {
    Ok(sqlx::query_as(
        "SELECT e.seq, e.setl_id, e.kind, e.home_province, e.treating_province, e.obligation_fen,
             e.at, s.orig_setl_id, s.sender AS fixmedins_code,
             split_part(s.policy_version, '/', 2) AS insutype, s.clr_type, s.psn_no, s.msgid,
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

/// A registered visit.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct VisitRow {
    pub mdtrt_id: String,
    pub fixmedins_code: String,
    pub msgid: String,
    pub request_body: String,
    pub psn_no: String,
    pub med_type: i16,
    pub mdtrtarea_admvs: String,
    pub hospital_level: String,
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

pub async fn insert_visit(conn: &mut PgConnection, v: &VisitRow) -> Result<()> {
    let sql = format!(
        "INSERT INTO visits ({VISIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    );
    sqlx::query(&sql)
        .bind(&v.mdtrt_id)
        .bind(&v.fixmedins_code)
        .bind(&v.msgid)
        .bind(&v.request_body)
        .bind(&v.psn_no)
        .bind(v.med_type)
        .bind(&v.mdtrtarea_admvs)
        .bind(&v.hospital_level)
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

/// The visit, as it is now.
pub async fn visit(conn: &mut PgConnection, mdtrt_id: &str) -> Result<Option<VisitRow>> {
    let sql = format!("SELECT {VISIT_COLUMNS} FROM visits WHERE mdtrt_id = $1");
    Ok(sqlx::query_as(&sql).bind(mdtrt_id).fetch_optional(conn).await?)
}

/// The visit, locked until the transaction ends.
pub async fn lock_visit(conn: &mut PgConnection, mdtrt_id: &str) -> Result<Option<VisitRow>> {
    let sql = format!("SELECT {VISIT_COLUMNS} FROM visits WHERE mdtrt_id = $1 FOR UPDATE");
    Ok(sqlx::query_as(&sql).bind(mdtrt_id).fetch_optional(conn).await?)
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

/// A fee line of a visit.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct FeeLineRow {
    pub feedetl_sn: String,
    pub local_code: String,
    pub national_code: String,
    pub price_fen: i64,
    pub quantity: rust_decimal::Decimal,
    pub fee_date: chrono::NaiveDate,
    pub cancelled: bool,
}

/// The visit's lines (all of them, cancelled ones too), by line number.
pub async fn fee_lines(conn: &mut PgConnection, mdtrt_id: &str) -> Result<Vec<FeeLineRow>> {
    Ok(sqlx::query_as(
        "SELECT feedetl_sn, local_code, national_code, price_fen, quantity, fee_date, cancelled
         FROM fee_lines WHERE mdtrt_id = $1 ORDER BY feedetl_sn",
    )
    .bind(mdtrt_id)
    .fetch_all(conn)
    .await?)
}

pub async fn insert_fee_line(
    conn: &mut PgConnection,
    mdtrt_id: &str,
    l: &FeeLineRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO fee_lines (mdtrt_id, feedetl_sn, local_code, national_code, price_fen, quantity, fee_date)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(mdtrt_id)
    .bind(&l.feedetl_sn)
    .bind(&l.local_code)
    .bind(&l.national_code)
    .bind(l.price_fen)
    .bind(l.quantity)
    .bind(l.fee_date)
    .execute(conn)
    .await?;
    Ok(())
}

/// Cancels the named lines of a visit (all when `feedetl_sn` is empty).
pub async fn cancel_fee_lines(
    conn: &mut PgConnection,
    mdtrt_id: &str,
    feedetl_sn: &[String],
) -> Result<()> {
    sqlx::query("UPDATE fee_lines SET cancelled = true WHERE mdtrt_id = $1 AND (cardinality($2::TEXT[]) = 0 OR feedetl_sn = ANY($2))")
        .bind(mdtrt_id)
        .bind(feedetl_sn)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records the settlement that closed a visit (or, with `None`, reopens it after a
/// cancellation: back to discharged when it has a discharge date, else open).
pub async fn set_visit_settlement(
    conn: &mut PgConnection,
    mdtrt_id: &str,
    setl_id: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE visits SET setl_id = $2,
             status = CASE WHEN $2::TEXT IS NOT NULL THEN 'settled'
                           WHEN end_date IS NOT NULL THEN 'discharged' ELSE 'open' END
         WHERE mdtrt_id = $1",
    )
    .bind(mdtrt_id)
    .bind(setl_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn person(conn: &mut PgConnection, psn_no: &str) -> Result<Option<PersonRow>> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM persons WHERE psn_no = $1");
    Ok(sqlx::query_as(&sql).bind(psn_no).fetch_optional(conn).await?)
}
