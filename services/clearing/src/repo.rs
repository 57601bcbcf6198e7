//! Storage of the clearing service: every SQL statement it runs, each taking the connection of
//! the transaction it belongs to.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use medclear_common::{Error, Result};
use sqlx::{FromRow, PgConnection};

use crate::domain::{
    Aggregates, Item, ItemKind, PeriodSpan, PeriodStatus, Posting, ReconDetail, ReconTotals, Totals,
};

/// Ingestion takes this lock shared, period transitions exclusively: a period does not close
/// under a batch that is assigning items to it.
const PERIODS_LOCK: &str = "clearing:periods";

pub async fn lock_periods_shared(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))")
        .bind(PERIODS_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn lock_periods(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(PERIODS_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Periods
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PeriodRow {
    pub period_id: String,
    pub begin_date: NaiveDate,
    pub end_date: NaiveDate,
    pub status: String,
    pub netting_run: i32,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub netted_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub settled_at: Option<DateTime<Utc>>,
}

impl PeriodRow {
    pub fn status(&self) -> Result<PeriodStatus> {
        PeriodStatus::parse(&self.status)
    }
}

const PERIOD_COLUMNS: &str = "period_id, begin_date, end_date, status, netting_run, opened_at, \
     closed_at, netted_at, confirmed_at, settled_at";

/// Every period's status by its first day.
pub async fn period_states(conn: &mut PgConnection) -> Result<BTreeMap<NaiveDate, PeriodStatus>> {
    let rows: Vec<(NaiveDate, String)> =
        sqlx::query_as("SELECT begin_date, status FROM periods").fetch_all(conn).await?;
    rows.into_iter().map(|(begin, status)| Ok((begin, PeriodStatus::parse(&status)?))).collect()
}

pub async fn open_period(
    conn: &mut PgConnection,
    span: &PeriodSpan,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO periods (period_id, begin_date, end_date, status, opened_at)
         VALUES ($1, $2, $3, 'open', $4) ON CONFLICT DO NOTHING",
    )
    .bind(&span.id)
    .bind(span.begin)
    .bind(span.end)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn period(conn: &mut PgConnection, period_id: &str) -> Result<PeriodRow> {
    find_period(conn, period_id).await?.ok_or_else(|| {
        Error::not_found("period_not_found", format!("there is no period {period_id}"))
    })
}

/// The period, if it was opened.
pub async fn find_period(conn: &mut PgConnection, period_id: &str) -> Result<Option<PeriodRow>> {
    Ok(sqlx::query_as(&format!("SELECT {PERIOD_COLUMNS} FROM periods WHERE period_id = $1"))
        .bind(period_id)
        .fetch_optional(conn)
        .await?)
}

pub async fn periods(
    conn: &mut PgConnection,
    status: Option<PeriodStatus>,
) -> Result<Vec<PeriodRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {PERIOD_COLUMNS} FROM periods WHERE $1::TEXT IS NULL OR status = $1
         ORDER BY begin_date DESC"
    ))
    .bind(status.map(PeriodStatus::as_str))
    .fetch_all(conn)
    .await?)
}

/// Moves a period to `status`, stamping the matching time column (and clearing it when the
/// period steps back).
pub async fn set_status(
    conn: &mut PgConnection,
    period_id: &str,
    status: PeriodStatus,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE periods SET status = $2,
             closed_at = CASE WHEN $2 = 'closed' THEN $3 ELSE closed_at END,
             netted_at = CASE WHEN $2 = 'netted' AND netted_at IS NULL THEN $3
                              WHEN $2 = 'closed' THEN NULL ELSE netted_at END,
             confirmed_at = CASE WHEN $2 = 'confirmed' THEN $3
                                 WHEN $2 IN ('closed', 'netted') THEN NULL ELSE confirmed_at END,
             settled_at = CASE WHEN $2 = 'settled' THEN $3 ELSE settled_at END
         WHERE period_id = $1",
    )
    .bind(period_id)
    .bind(status.as_str())
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_netted(
    conn: &mut PgConnection,
    period_id: &str,
    run: i32,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE periods SET status = 'netted', netting_run = $2, netted_at = $3, confirmed_at = NULL
         WHERE period_id = $1",
    )
    .bind(period_id)
    .bind(run)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Ingestion
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CursorRow {
    pub source: String,
    pub last_seq: i64,
    pub last_event_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub events_ingested: i64,
    pub duplicates_ignored: i64,
}

/// The last sequence number consumed from `source`, its row locked for this transaction.
pub async fn lock_cursor(conn: &mut PgConnection, source: &str, at: DateTime<Utc>) -> Result<i64> {
    sqlx::query("INSERT INTO cursors (source, updated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(source)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_scalar("SELECT last_seq FROM cursors WHERE source = $1 FOR UPDATE")
        .bind(source)
        .fetch_one(conn)
        .await?)
}

/// Where `source` was read up to (0 before its first event).
pub async fn cursor(conn: &mut PgConnection, source: &str) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT last_seq FROM cursors WHERE source = $1")
        .bind(source)
        .fetch_optional(conn)
        .await?
        .unwrap_or(0))
}

pub async fn cursors(conn: &mut PgConnection) -> Result<Vec<CursorRow>> {
    Ok(sqlx::query_as(
        "SELECT source, last_seq, last_event_at, updated_at, events_ingested, duplicates_ignored
         FROM cursors ORDER BY source",
    )
    .fetch_all(conn)
    .await?)
}

pub async fn advance_cursor(
    conn: &mut PgConnection,
    source: &str,
    last_seq: i64,
    last_event_at: DateTime<Utc>,
    ingested: i64,
    duplicates: i64,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE cursors SET last_seq = $2, last_event_at = $3, updated_at = $4,
             events_ingested = events_ingested + $5, duplicates_ignored = duplicates_ignored + $6
         WHERE source = $1",
    )
    .bind(source)
    .bind(last_seq)
    .bind(last_event_at)
    .bind(at)
    .bind(ingested)
    .bind(duplicates)
    .execute(conn)
    .await?;
    Ok(())
}

/// An item placed in its period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed<'a> {
    pub item: &'a Item,
    pub period_id: &'a str,
    pub late: bool,
}

/// Writes new items with `COPY` (the fast path: several times cheaper than an INSERT for a
/// batch of thousands). An item held already fails the whole statement; the caller then
/// filters and uses [`insert_items`].
pub async fn copy_items(conn: &mut PgConnection, placed: &[Placed<'_>]) -> Result<u64> {
    use std::fmt::Write;
    fn text(out: &mut String, value: &str) {
        out.push('"');
        for c in value.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push_str("\",");
    }
    let mut csv = String::with_capacity(placed.len() * 256);
    for p in placed {
        let i = p.item;
        for value in [&i.setl_id, &i.source] {
            text(&mut csv, value);
        }
        let _ = write!(csv, "{},", i.seq);
        text(&mut csv, i.kind.as_str());
        match &i.orig_setl_id {
            Some(orig) => text(&mut csv, orig),
            None => csv.push(','), // unquoted and empty: NULL
        }
        for value in [
            &i.home,
            &i.treating,
            &i.fixmedins_code,
            &i.insutype,
            &i.clr_type,
            &i.psn_no,
            &i.msgid,
            &i.mdtrt_id,
        ] {
            text(&mut csv, value);
        }
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},\"{}\",{}",
            i.medfee_sumamt,
            i.fund_pay_sumamt,
            i.acct_pay,
            i.psn_cash_pay,
            i.setl_time.to_rfc3339(),
            i.stmt_date,
            p.period_id.replace('"', "\"\""),
            p.late
        );
    }
    let mut copy = conn
        .copy_in_raw(
            "COPY items (setl_id, source, seq, kind, orig_setl_id, home_province,
                 treating_province, fixmedins_code, insutype, clr_type, psn_no, msgid, mdtrt_id,
                 medfee_sumamt, fund_pay_sumamt, acct_pay, psn_cash_pay, setl_time, stmt_date,
                 period_id, late)
             FROM STDIN (FORMAT csv)",
        )
        .await?;
    copy.send(csv.into_bytes()).await?;
    Ok(copy.finish().await?)
}

/// Inserts the items not held yet; returns how many were new.
pub async fn insert_items(conn: &mut PgConnection, placed: &[Placed<'_>]) -> Result<u64> {
    macro_rules! column {
        ($f:expr) => {
            placed.iter().map($f).collect::<Vec<_>>()
        };
    }
    let result = sqlx::query(
        "INSERT INTO items (setl_id, source, seq, kind, orig_setl_id, home_province,
             treating_province, fixmedins_code, insutype, clr_type, psn_no, msgid, mdtrt_id,
             medfee_sumamt, fund_pay_sumamt, acct_pay, psn_cash_pay, setl_time, stmt_date,
             period_id, late)
         SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::INT8[], $4::TEXT[], $5::TEXT[],
             $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[], $12::TEXT[],
             $13::TEXT[], $14::INT8[], $15::INT8[], $16::INT8[], $17::INT8[], $18::TIMESTAMPTZ[],
             $19::DATE[], $20::TEXT[], $21::BOOL[])
         ON CONFLICT (setl_id) DO NOTHING",
    )
    .bind(column!(|p| p.item.setl_id.as_str()))
    .bind(column!(|p| p.item.source.as_str()))
    .bind(column!(|p| p.item.seq))
    .bind(column!(|p| p.item.kind.as_str()))
    .bind(column!(|p| p.item.orig_setl_id.as_deref()))
    .bind(column!(|p| p.item.home.as_str()))
    .bind(column!(|p| p.item.treating.as_str()))
    .bind(column!(|p| p.item.fixmedins_code.as_str()))
    .bind(column!(|p| p.item.insutype.as_str()))
    .bind(column!(|p| p.item.clr_type.as_str()))
    .bind(column!(|p| p.item.psn_no.as_str()))
    .bind(column!(|p| p.item.msgid.as_str()))
    .bind(column!(|p| p.item.mdtrt_id.as_str()))
    .bind(column!(|p| p.item.medfee_sumamt))
    .bind(column!(|p| p.item.fund_pay_sumamt))
    .bind(column!(|p| p.item.acct_pay))
    .bind(column!(|p| p.item.psn_cash_pay))
    .bind(column!(|p| p.item.setl_time))
    .bind(column!(|p| p.item.stmt_date))
    .bind(column!(|p| p.period_id))
    .bind(column!(|p| p.late))
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// Which of `setl_ids` are held already.
pub async fn held_items(conn: &mut PgConnection, setl_ids: &[&str]) -> Result<HashSet<String>> {
    let rows: Vec<String> = sqlx::query_scalar("SELECT setl_id FROM items WHERE setl_id = ANY($1)")
        .bind(setl_ids)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Adds the aggregates of a batch (or, signed negative, takes them out) to the kept matrix and
/// hospital totals.
pub async fn add_aggregates(conn: &mut PgConnection, agg: &Aggregates) -> Result<()> {
    let cells: Vec<(&(String, String, String), &Totals)> = agg.cells.iter().collect();
    macro_rules! column {
        ($rows:expr, $f:expr) => {
            $rows.iter().map($f).collect::<Vec<_>>()
        };
    }
    sqlx::query(
        "INSERT INTO cells (period_id, home_province, treating_province, settlements, reversals,
             medfee_sumamt, fund_pay_sumamt, acct_pay, psn_cash_pay, late, carried_in)
         SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::INT8[], $5::INT8[],
             $6::INT8[], $7::INT8[], $8::INT8[], $9::INT8[], $10::INT8[], $11::INT8[])
         ON CONFLICT (period_id, home_province, treating_province) DO UPDATE SET
             settlements = cells.settlements + EXCLUDED.settlements,
             reversals = cells.reversals + EXCLUDED.reversals,
             medfee_sumamt = cells.medfee_sumamt + EXCLUDED.medfee_sumamt,
             fund_pay_sumamt = cells.fund_pay_sumamt + EXCLUDED.fund_pay_sumamt,
             acct_pay = cells.acct_pay + EXCLUDED.acct_pay,
             psn_cash_pay = cells.psn_cash_pay + EXCLUDED.psn_cash_pay,
             late = cells.late + EXCLUDED.late,
             carried_in = cells.carried_in + EXCLUDED.carried_in",
    )
    .bind(column!(cells, |(k, _)| k.0.as_str()))
    .bind(column!(cells, |(k, _)| k.1.as_str()))
    .bind(column!(cells, |(k, _)| k.2.as_str()))
    .bind(column!(cells, |(_, t)| t.settlements))
    .bind(column!(cells, |(_, t)| t.reversals))
    .bind(column!(cells, |(_, t)| t.medfee_sumamt))
    .bind(column!(cells, |(_, t)| t.fund_pay_sumamt))
    .bind(column!(cells, |(_, t)| t.acct_pay))
    .bind(column!(cells, |(_, t)| t.psn_cash_pay))
    .bind(column!(cells, |(_, t)| t.late))
    .bind(column!(cells, |(_, t)| t.carried_in))
    .execute(&mut *conn)
    .await?;
    let hospitals: Vec<_> = agg.hospitals.iter().collect();
    sqlx::query(
        "INSERT INTO hospital_cells (period_id, fixmedins_code, treating_province,
             settlements, reversals, medfee_sumamt, fund_pay_sumamt, acct_pay, psn_cash_pay)
         SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::INT8[], $5::INT8[],
             $6::INT8[], $7::INT8[], $8::INT8[], $9::INT8[])
         ON CONFLICT (period_id, fixmedins_code) DO UPDATE SET
             settlements = hospital_cells.settlements + EXCLUDED.settlements,
             reversals = hospital_cells.reversals + EXCLUDED.reversals,
             medfee_sumamt = hospital_cells.medfee_sumamt + EXCLUDED.medfee_sumamt,
             fund_pay_sumamt = hospital_cells.fund_pay_sumamt + EXCLUDED.fund_pay_sumamt,
             acct_pay = hospital_cells.acct_pay + EXCLUDED.acct_pay,
             psn_cash_pay = hospital_cells.psn_cash_pay + EXCLUDED.psn_cash_pay",
    )
    .bind(column!(hospitals, |(k, _)| k.0.as_str()))
    .bind(column!(hospitals, |(k, _)| k.1.as_str()))
    .bind(column!(hospitals, |(_, (treating, _))| treating.as_str()))
    .bind(column!(hospitals, |(_, (_, t))| t.settlements))
    .bind(column!(hospitals, |(_, (_, t))| t.reversals))
    .bind(column!(hospitals, |(_, (_, t))| t.medfee_sumamt))
    .bind(column!(hospitals, |(_, (_, t))| t.fund_pay_sumamt))
    .bind(column!(hospitals, |(_, (_, t))| t.acct_pay))
    .bind(column!(hospitals, |(_, (_, t))| t.psn_cash_pay))
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Items
// ---------------------------------------------------------------------------------------------

/// An item as stored, with its period.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ItemRow {
    pub setl_id: String,
    pub source: String,
    pub seq: i64,
    pub kind: String,
    pub orig_setl_id: Option<String>,
    pub home_province: String,
    pub treating_province: String,
    pub fixmedins_code: String,
    pub insutype: String,
    pub clr_type: String,
    pub psn_no: String,
    pub msgid: String,
    pub mdtrt_id: String,
    pub medfee_sumamt: i64,
    pub fund_pay_sumamt: i64,
    pub acct_pay: i64,
    pub psn_cash_pay: i64,
    pub setl_time: DateTime<Utc>,
    pub stmt_date: NaiveDate,
    pub period_id: String,
    pub late: bool,
    pub carried_from: Option<String>,
}

impl ItemRow {
    pub fn item(&self) -> Result<Item> {
        Ok(Item {
            setl_id: self.setl_id.clone(),
            source: self.source.clone(),
            seq: self.seq,
            kind: ItemKind::parse(&self.kind)?,
            orig_setl_id: self.orig_setl_id.clone(),
            home: self.home_province.clone(),
            treating: self.treating_province.clone(),
            fixmedins_code: self.fixmedins_code.clone(),
            insutype: self.insutype.clone(),
            clr_type: self.clr_type.clone(),
            psn_no: self.psn_no.clone(),
            msgid: self.msgid.clone(),
            mdtrt_id: self.mdtrt_id.clone(),
            medfee_sumamt: self.medfee_sumamt,
            fund_pay_sumamt: self.fund_pay_sumamt,
            acct_pay: self.acct_pay,
            psn_cash_pay: self.psn_cash_pay,
            setl_time: self.setl_time,
            stmt_date: self.stmt_date,
        })
    }

    pub fn detail(&self) -> ReconDetail {
        ReconDetail {
            setl_id: self.setl_id.clone(),
            msgid: self.msgid.clone(),
            mdtrt_id: self.mdtrt_id.clone(),
            psn_no: self.psn_no.clone(),
            medfee_sumamt: self.medfee_sumamt,
            fund_pay_sumamt: self.fund_pay_sumamt,
            acct_pay: self.acct_pay,
            refd_setl_flag: self.kind == ItemKind::Cancellation.as_str(),
        }
    }
}

const ITEM_COLUMNS: &str = "setl_id, source, seq, kind, orig_setl_id, home_province, \
     treating_province, fixmedins_code, insutype, clr_type, psn_no, msgid, mdtrt_id, \
     medfee_sumamt, fund_pay_sumamt, acct_pay, psn_cash_pay, setl_time, stmt_date, period_id, \
     late, carried_from";

/// The items named, locked for this transaction.
pub async fn lock_items(conn: &mut PgConnection, setl_ids: &[String]) -> Result<Vec<ItemRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM items WHERE setl_id = ANY($1) ORDER BY setl_id FOR UPDATE"
    ))
    .bind(setl_ids)
    .fetch_all(conn)
    .await?)
}

/// Carries items into another period (a dispute).
pub async fn move_items(
    conn: &mut PgConnection,
    setl_ids: &[String],
    from: &str,
    to: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE items SET period_id = $3, carried_from = $2, late = FALSE WHERE setl_id = ANY($1)",
    )
    .bind(setl_ids)
    .bind(from)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(())
}

/// A hospital's items of a period after `after` (setl_id order).
pub async fn hospital_items(
    conn: &mut PgConnection,
    period_id: &str,
    fixmedins_code: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<ItemRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM items
         WHERE fixmedins_code = $1 AND period_id = $2 AND setl_id > $3
         ORDER BY setl_id LIMIT $4"
    ))
    .bind(fixmedins_code)
    .bind(period_id)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// A hospital's items of one statement day, optionally of one insutype and clearing type.
pub async fn day_items(
    conn: &mut PgConnection,
    fixmedins_code: &str,
    day: NaiveDate,
    insutype: &str,
    clr_type: &str,
) -> Result<Vec<ItemRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM items
         WHERE fixmedins_code = $1 AND stmt_date = $2 AND ($3 = '' OR insutype = $3)
             AND ($4 = '' OR clr_type = $4)
         ORDER BY setl_id"
    ))
    .bind(fixmedins_code)
    .bind(day)
    .bind(insutype)
    .bind(clr_type)
    .fetch_all(conn)
    .await?)
}

/// A hospital's totals of the statement days `from` to `to` (one day for 3201, a month for a
/// clearing application), optionally of one insutype and clearing type.
pub async fn totals(
    conn: &mut PgConnection,
    fixmedins_code: &str,
    (from, to): (NaiveDate, NaiveDate),
    insutype: &str,
    clr_type: &str,
) -> Result<ReconTotals> {
    let (setl_cnt, medfee_sumamt, fund_pay_sumamt, acct_pay): (i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE kind = 'settlement')
                     - COUNT(*) FILTER (WHERE kind = 'cancellation'),
                 COALESCE(SUM(medfee_sumamt), 0)::INT8, COALESCE(SUM(fund_pay_sumamt), 0)::INT8,
                 COALESCE(SUM(acct_pay), 0)::INT8
             FROM items
             WHERE fixmedins_code = $1 AND stmt_date BETWEEN $2 AND $5
                 AND ($3 = '' OR insutype = $3) AND ($4 = '' OR clr_type = $4)",
        )
        .bind(fixmedins_code)
        .bind(from)
        .bind(insutype)
        .bind(clr_type)
        .bind(to)
        .fetch_one(conn)
        .await?;
    Ok(ReconTotals { setl_cnt, medfee_sumamt, fund_pay_sumamt, acct_pay })
}

// ---------------------------------------------------------------------------------------------
// Matrix, hospital totals, audit
// ---------------------------------------------------------------------------------------------

/// A kept (or recomputed) cell of a period's matrix.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CellRow {
    pub home_province: String,
    pub treating_province: String,
    pub settlements: i64,
    pub reversals: i64,
    pub medfee_sumamt: i64,
    pub fund_pay_sumamt: i64,
    pub acct_pay: i64,
    pub psn_cash_pay: i64,
    pub late: i64,
    pub carried_in: i64,
}

impl CellRow {
    pub fn totals(&self) -> Totals {
        Totals {
            settlements: self.settlements,
            reversals: self.reversals,
            medfee_sumamt: self.medfee_sumamt,
            fund_pay_sumamt: self.fund_pay_sumamt,
            acct_pay: self.acct_pay,
            psn_cash_pay: self.psn_cash_pay,
            late: self.late,
            carried_in: self.carried_in,
        }
    }
}

/// The period's matrix as kept at consumption (cells that net to nothing included).
pub async fn cells(conn: &mut PgConnection, period_id: &str) -> Result<Vec<CellRow>> {
    Ok(sqlx::query_as(
        "SELECT home_province, treating_province, settlements, reversals, medfee_sumamt,
             fund_pay_sumamt, acct_pay, psn_cash_pay, late, carried_in
         FROM cells WHERE period_id = $1 AND (settlements <> 0 OR reversals <> 0)
         ORDER BY home_province, treating_province",
    )
    .bind(period_id)
    .fetch_all(conn)
    .await?)
}

/// The period's matrix recomputed from the raw items (the audit).
pub async fn recomputed_cells(conn: &mut PgConnection, period_id: &str) -> Result<Vec<CellRow>> {
    Ok(sqlx::query_as(
        "SELECT home_province::TEXT AS home_province, treating_province::TEXT AS treating_province,
             COUNT(*) FILTER (WHERE kind = 'settlement') AS settlements,
             COUNT(*) FILTER (WHERE kind = 'cancellation') AS reversals,
             SUM(medfee_sumamt)::INT8 AS medfee_sumamt, SUM(fund_pay_sumamt)::INT8 AS fund_pay_sumamt,
             SUM(acct_pay)::INT8 AS acct_pay, SUM(psn_cash_pay)::INT8 AS psn_cash_pay,
             COUNT(*) FILTER (WHERE late) AS late,
             COUNT(*) FILTER (WHERE carried_from IS NOT NULL) AS carried_in
         FROM items WHERE period_id = $1
         GROUP BY home_province, treating_province
         ORDER BY home_province, treating_province",
    )
    .bind(period_id)
    .fetch_all(conn)
    .await?)
}

/// A hospital's part of a period (`home_province` empty), or of one home province's items.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct HospitalCellRow {
    pub fixmedins_code: String,
    pub home_province: String,
    pub treating_province: String,
    pub settlements: i64,
    pub reversals: i64,
    pub medfee_sumamt: i64,
    pub fund_pay_sumamt: i64,
    pub acct_pay: i64,
    pub psn_cash_pay: i64,
}

impl HospitalCellRow {
    pub fn totals(&self) -> Totals {
        Totals {
            settlements: self.settlements,
            reversals: self.reversals,
            medfee_sumamt: self.medfee_sumamt,
            fund_pay_sumamt: self.fund_pay_sumamt,
            acct_pay: self.acct_pay,
            psn_cash_pay: self.psn_cash_pay,
            ..Totals::default()
        }
    }
}

/// What each hospital is owed for the period: (fixmedins_code, treating province, amount).
pub async fn hospital_dues(
    conn: &mut PgConnection,
    period_id: &str,
) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT fixmedins_code, treating_province::TEXT, fund_pay_sumamt + acct_pay
         FROM hospital_cells WHERE period_id = $1",
    )
    .bind(period_id)
    .fetch_all(conn)
    .await?)
}

/// The hospitals of a treating province in a period (all, or one), from `after` on, by code.
pub async fn hospital_cells(
    conn: &mut PgConnection,
    period_id: &str,
    treating: &str,
    fixmedins_code: &str,
    after: &str,
    hospitals: i64,
) -> Result<Vec<HospitalCellRow>> {
    Ok(sqlx::query_as(
        "SELECT fixmedins_code, '' AS home_province, treating_province::TEXT AS treating_province,
             settlements, reversals, medfee_sumamt, fund_pay_sumamt, acct_pay, psn_cash_pay
         FROM hospital_cells
         WHERE period_id = $1 AND treating_province = $2 AND ($3 = '' OR fixmedins_code = $3)
             AND fixmedins_code > $4 AND (settlements <> 0 OR reversals <> 0)
         ORDER BY fixmedins_code LIMIT $5",
    )
    .bind(period_id)
    .bind(treating)
    .bind(fixmedins_code)
    .bind(after)
    .bind(hospitals)
    .fetch_all(conn)
    .await?)
}

/// The items of `hospitals` in the period, summed per hospital and home province.
pub async fn hospital_home_lines(
    conn: &mut PgConnection,
    period_id: &str,
    hospitals: &[String],
) -> Result<Vec<HospitalCellRow>> {
    Ok(sqlx::query_as(
        "SELECT fixmedins_code, home_province::TEXT AS home_province,
             treating_province::TEXT AS treating_province,
             COUNT(*) FILTER (WHERE kind = 'settlement') AS settlements,
             COUNT(*) FILTER (WHERE kind = 'cancellation') AS reversals,
             SUM(medfee_sumamt)::INT8 AS medfee_sumamt, SUM(fund_pay_sumamt)::INT8 AS fund_pay_sumamt,
             SUM(acct_pay)::INT8 AS acct_pay, SUM(psn_cash_pay)::INT8 AS psn_cash_pay
         FROM items WHERE fixmedins_code = ANY($2) AND period_id = $1
         GROUP BY fixmedins_code, home_province, treating_province
         ORDER BY fixmedins_code, home_province",
    )
    .bind(period_id)
    .bind(hospitals)
    .fetch_all(conn)
    .await?)
}

/// Σ payable as home province of `province` in each of the latest `window` periods that are
/// closed or later, newest first.
pub async fn recent_outgoing(
    conn: &mut PgConnection,
    province: &str,
    window: i64,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(SUM(c.fund_pay_sumamt + c.acct_pay), 0)::INT8
         FROM (SELECT period_id, begin_date FROM periods WHERE status <> 'open'
               ORDER BY begin_date DESC LIMIT $2) p
         LEFT JOIN cells c ON c.period_id = p.period_id AND c.home_province = $1
         GROUP BY p.period_id, p.begin_date ORDER BY p.begin_date DESC",
    )
    .bind(province)
    .bind(window)
    .fetch_all(conn)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// Netting runs, instructions, confirmations, disputes
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PositionRow {
    pub province: String,
    pub receivable_fen: i64,
    pub payable_fen: i64,
    pub net_fen: i64,
}

pub async fn insert_positions(
    conn: &mut PgConnection,
    period_id: &str,
    run: i32,
    positions: &[PositionRow],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO positions (period_id, netting_run, province, receivable_fen, payable_fen, net_fen)
         SELECT $1, $2, * FROM UNNEST($3::TEXT[], $4::INT8[], $5::INT8[], $6::INT8[])",
    )
    .bind(period_id)
    .bind(run)
    .bind(positions.iter().map(|p| p.province.as_str()).collect::<Vec<_>>())
    .bind(positions.iter().map(|p| p.receivable_fen).collect::<Vec<_>>())
    .bind(positions.iter().map(|p| p.payable_fen).collect::<Vec<_>>())
    .bind(positions.iter().map(|p| p.net_fen).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn positions(
    conn: &mut PgConnection,
    period_id: &str,
    run: i32,
) -> Result<Vec<PositionRow>> {
    Ok(sqlx::query_as(
        "SELECT province::TEXT AS province, receivable_fen, payable_fen, net_fen FROM positions
         WHERE period_id = $1 AND netting_run = $2 ORDER BY province",
    )
    .bind(period_id)
    .bind(run)
    .fetch_all(conn)
    .await?)
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct InstructionRow {
    pub instruction_id: String,
    pub period_id: String,
    pub netting_run: i32,
    pub payer: String,
    pub payee: String,
    pub amount_fen: i64,
    pub from_prepaid_fen: i64,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub executed_at: Option<DateTime<Utc>>,
}

pub async fn insert_instructions(conn: &mut PgConnection, rows: &[InstructionRow]) -> Result<()> {
    macro_rules! column {
        ($f:expr) => {
            rows.iter().map($f).collect::<Vec<_>>()
        };
    }
    sqlx::query(
        "INSERT INTO instructions (instruction_id, period_id, netting_run, payer, payee,
             amount_fen, from_prepaid_fen, status, created_at)
         SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::INT4[], $4::TEXT[], $5::TEXT[],
             $6::INT8[], $7::INT8[], $8::TEXT[], $9::TIMESTAMPTZ[])",
    )
    .bind(column!(|r| r.instruction_id.as_str()))
    .bind(column!(|r| r.period_id.as_str()))
    .bind(column!(|r| r.netting_run))
    .bind(column!(|r| r.payer.as_str()))
    .bind(column!(|r| r.payee.as_str()))
    .bind(column!(|r| r.amount_fen))
    .bind(column!(|r| r.from_prepaid_fen))
    .bind(column!(|r| r.status.as_str()))
    .bind(column!(|r| r.created_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// The period's instructions of one netting run (payer or payee `province`, if given).
pub async fn instructions(
    conn: &mut PgConnection,
    period_id: &str,
    run: Option<i32>,
    province: &str,
) -> Result<Vec<InstructionRow>> {
    Ok(sqlx::query_as(
        "SELECT instruction_id, period_id, netting_run, payer::TEXT AS payer, payee::TEXT AS payee,
             amount_fen, from_prepaid_fen, status, created_at, executed_at
         FROM instructions
         WHERE period_id = $1 AND ($2::INT4 IS NULL OR netting_run = $2)
             AND ($3 = '' OR payer = $3 OR payee = $3)
         ORDER BY netting_run, instruction_id",
    )
    .bind(period_id)
    .bind(run)
    .bind(province)
    .fetch_all(conn)
    .await?)
}

/// Moves the period's live instructions (not executed or cancelled) to `status`.
pub async fn set_instructions_status(
    conn: &mut PgConnection,
    period_id: &str,
    status: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE instructions SET status = $2
         WHERE period_id = $1 AND status IN ('pending', 'issued')",
    )
    .bind(period_id)
    .bind(status)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn execute_instruction(
    conn: &mut PgConnection,
    instruction_id: &str,
    from_prepaid: i64,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE instructions SET status = 'executed', from_prepaid_fen = $2, executed_at = $3
         WHERE instruction_id = $1",
    )
    .bind(instruction_id)
    .bind(from_prepaid)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ConfirmationRow {
    pub province: String,
    pub state: String,
    pub netting_run: i32,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub reason: String,
}

pub async fn confirmations(
    conn: &mut PgConnection,
    period_id: &str,
) -> Result<Vec<ConfirmationRow>> {
    Ok(sqlx::query_as(
        "SELECT province::TEXT AS province, state, netting_run, actor, at, reason
         FROM confirmations WHERE period_id = $1 ORDER BY province",
    )
    .bind(period_id)
    .fetch_all(conn)
    .await?)
}

pub async fn upsert_confirmation(
    conn: &mut PgConnection,
    period_id: &str,
    c: &ConfirmationRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO confirmations (period_id, province, state, netting_run, actor, at, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (period_id, province) DO UPDATE SET state = EXCLUDED.state,
             netting_run = EXCLUDED.netting_run, actor = EXCLUDED.actor, at = EXCLUDED.at,
             reason = EXCLUDED.reason",
    )
    .bind(period_id)
    .bind(&c.province)
    .bind(&c.state)
    .bind(c.netting_run)
    .bind(&c.actor)
    .bind(c.at)
    .bind(&c.reason)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn clear_confirmations(conn: &mut PgConnection, period_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM confirmations WHERE period_id = $1")
        .bind(period_id)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct DisputeRow {
    pub dispute_id: String,
    pub request_id: String,
    pub request_body: String,
    pub period_id: String,
    pub province: String,
    pub setl_ids: Vec<String>,
    pub reason: String,
    pub amount_fen: i64,
    pub carried_to: String,
    pub actor: String,
    pub raised_at: DateTime<Utc>,
}

const DISPUTE_COLUMNS: &str = "dispute_id, request_id, request_body, period_id, \
     province::TEXT AS province, setl_ids, reason, amount_fen, carried_to, actor, raised_at";

pub async fn dispute_by_request(
    conn: &mut PgConnection,
    request_id: &str,
) -> Result<Option<DisputeRow>> {
    Ok(sqlx::query_as(&format!("SELECT {DISPUTE_COLUMNS} FROM disputes WHERE request_id = $1"))
        .bind(request_id)
        .fetch_optional(conn)
        .await?)
}

pub async fn insert_dispute(conn: &mut PgConnection, d: &DisputeRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO disputes (dispute_id, request_id, request_body, period_id, province, setl_ids,
             reason, amount_fen, carried_to, actor, raised_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&d.dispute_id)
    .bind(&d.request_id)
    .bind(&d.request_body)
    .bind(&d.period_id)
    .bind(&d.province)
    .bind(&d.setl_ids)
    .bind(&d.reason)
    .bind(d.amount_fen)
    .bind(&d.carried_to)
    .bind(&d.actor)
    .bind(d.raised_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn disputes(
    conn: &mut PgConnection,
    period_id: &str,
    province: &str,
) -> Result<Vec<DisputeRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {DISPUTE_COLUMNS} FROM disputes WHERE period_id = $1 AND ($2 = '' OR province = $2)
         ORDER BY raised_at, dispute_id"
    ))
    .bind(period_id)
    .bind(province)
    .fetch_all(conn)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// Prepaid funds
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TopupRow {
    pub instruction_id: String,
    pub province: String,
    pub amount_fen: i64,
    pub target_fen: i64,
    pub due_date: NaiveDate,
    pub reason: String,
    pub issued_at: DateTime<Utc>,
    pub fulfilled_at: Option<DateTime<Utc>>,
}

pub async fn outstanding_topup(
    conn: &mut PgConnection,
    province: &str,
) -> Result<Option<TopupRow>> {
    Ok(sqlx::query_as(
        "SELECT instruction_id, province::TEXT AS province, amount_fen, target_fen, due_date, reason,
             issued_at, fulfilled_at
         FROM topups WHERE province = $1 AND fulfilled_at IS NULL",
    )
    .bind(province)
    .fetch_optional(conn)
    .await?)
}

pub async fn insert_topup(conn: &mut PgConnection, t: &TopupRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO topups (instruction_id, province, amount_fen, target_fen, due_date, reason,
             issued_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&t.instruction_id)
    .bind(&t.province)
    .bind(t.amount_fen)
    .bind(t.target_fen)
    .bind(t.due_date)
    .bind(&t.reason)
    .bind(t.issued_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn fulfil_topup(
    conn: &mut PgConnection,
    instruction_id: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE topups SET fulfilled_at = $2 WHERE instruction_id = $1")
        .bind(instruction_id)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct DepositRow {
    pub request_id: String,
    pub request_body: String,
    pub province: String,
    pub amount_fen: i64,
    pub value_date: NaiveDate,
    pub bank_reference: String,
    pub posting_id: i64,
}

pub async fn deposit_by_request(
    conn: &mut PgConnection,
    request_id: &str,
) -> Result<Option<DepositRow>> {
    Ok(sqlx::query_as(
        "SELECT request_id, request_body, province::TEXT AS province, amount_fen, value_date,
             bank_reference, posting_id
         FROM deposits WHERE request_id = $1",
    )
    .bind(request_id)
    .fetch_optional(conn)
    .await?)
}

pub async fn insert_deposit(conn: &mut PgConnection, d: &DepositRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO deposits (request_id, request_body, province, amount_fen, value_date,
             bank_reference, posting_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&d.request_id)
    .bind(&d.request_body)
    .bind(&d.province)
    .bind(d.amount_fen)
    .bind(d.value_date)
    .bind(&d.bank_reference)
    .bind(d.posting_id)
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The ledger and the audit trail
// ---------------------------------------------------------------------------------------------

/// Writes a posting and its lines (one statement for the lines, so the balance check sees
/// them all). An empty posting writes nothing and returns `None`.
pub async fn insert_posting(
    conn: &mut PgConnection,
    kind: &str,
    period_id: Option<&str>,
    reference: &str,
    at: DateTime<Utc>,
    posting: &Posting,
) -> Result<Option<i64>> {
    posting.check()?;
    if posting.is_empty() {
        return Ok(None);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO postings (kind, period_id, reference, at) VALUES ($1, $2, $3, $4)
         RETURNING posting_id",
    )
    .bind(kind)
    .bind(period_id)
    .bind(reference)
    .bind(at)
    .fetch_one(&mut *conn)
    .await?;
    let (accounts, amounts): (Vec<&str>, Vec<i64>) = posting.lines().unzip();
    sqlx::query(
        "INSERT INTO posting_lines (posting_id, account, amount_fen)
         SELECT $1, * FROM UNNEST($2::TEXT[], $3::INT8[])",
    )
    .bind(id)
    .bind(accounts)
    .bind(amounts)
    .execute(conn)
    .await?;
    Ok(Some(id))
}

/// Balances of the accounts of `owner` (all accounts when empty), and how many postings exist.
/// The owner is compared exactly (no `LIKE`: an owner of `4%` matches nothing).
pub async fn balances(conn: &mut PgConnection, owner: &str) -> Result<(Vec<(String, i64)>, i64)> {
    let rows = sqlx::query_as(
        "SELECT account, SUM(amount_fen)::INT8 FROM posting_lines
         WHERE $1 = '' OR split_part(account, ':', 1) = $1
         GROUP BY account ORDER BY account",
    )
    .bind(owner)
    .fetch_all(&mut *conn)
    .await?;
    let postings = sqlx::query_scalar("SELECT COUNT(*) FROM postings").fetch_one(conn).await?;
    Ok((rows, postings))
}

/// The balance of one account.
pub async fn balance(conn: &mut PgConnection, account: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(SUM(amount_fen), 0)::INT8 FROM posting_lines WHERE account = $1",
    )
    .bind(account)
    .fetch_one(conn)
    .await?)
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry<'a> {
    pub at: DateTime<Utc>,
    pub actor: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub details: serde_json::Value,
    pub trace_id: Option<String>,
}

pub async fn audit(conn: &mut PgConnection, e: &AuditEntry<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, entity_type, entity_id, details, trace_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.at)
    .bind(e.actor)
    .bind(e.action)
    .bind(e.entity_type)
    .bind(e.entity_id)
    .bind(&e.details)
    .bind(&e.trace_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A reconciliation file kept for a hospital.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReconFile {
    pub file_qury_no: String,
    pub fixmedins_code: String,
    pub filename: String,
    pub kind: String,
    pub content: Vec<u8>,
    pub msgid: Option<String>,
}

pub async fn insert_recon_file(
    conn: &mut PgConnection,
    file: &ReconFile,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO recon_files (file_qury_no, fixmedins_code, filename, kind, content, msgid,
             created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&file.file_qury_no)
    .bind(&file.fixmedins_code)
    .bind(&file.filename)
    .bind(&file.kind)
    .bind(&file.content)
    .bind(&file.msgid)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// How a hospital's file is looked up.
#[derive(Debug, Clone, Copy)]
pub enum FileKey<'a> {
    /// By its file query number.
    Number(&'a str),
    /// By the msgid it was sent under.
    Msgid(&'a str),
}

/// The hospital's file, if it exists (another hospital's is not found).
pub async fn recon_file(
    conn: &mut PgConnection,
    fixmedins_code: &str,
    key: FileKey<'_>,
) -> Result<Option<ReconFile>> {
    let (column, value) = match key {
        FileKey::Number(number) => ("file_qury_no", number),
        FileKey::Msgid(msgid) => ("msgid", msgid),
    };
    let sql = format!(
        "SELECT file_qury_no, fixmedins_code, filename, kind, content, msgid FROM recon_files
         WHERE fixmedins_code = $1 AND {column} = $2"
    );
    Ok(sqlx::query_as(&sql).bind(fixmedins_code).bind(value).fetch_optional(conn).await?)
}

// ---------------------------------------------------------------------------------------------
// Clearing applications (3203 / 3204)
// ---------------------------------------------------------------------------------------------

/// A clearing application as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ApplicationRow {
    pub clr_appy_evt_id: String,
    pub request_id: String,
    pub request_body: String,
    pub fixmedins_code: String,
    pub clr_type: String,
    pub clr_way: String,
    pub setlym: String,
    pub begndate: NaiveDate,
    pub enddate: NaiveDate,
    pub period_id: String,
    pub psntime: i64,
    pub medfee_sumamt: i64,
    pub med_sumfee: i64,
    pub fund_appy_sum: i64,
    pub cash_payamt: i64,
    pub acct_pay: i64,
    pub applied_at: DateTime<Utc>,
    /// Set when revoked (3204); `None` while the application stands.
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_request_id: Option<String>,
    pub memo: String,
}

const APPLICATION_COLUMNS: &str = "clr_appy_evt_id, request_id, request_body, fixmedins_code, \
     clr_type, clr_way, setlym::TEXT AS setlym, begndate, enddate, period_id, psntime, \
     medfee_sumamt, med_sumfee, fund_appy_sum, cash_payamt, acct_pay, applied_at, revoked_at, \
     revoke_request_id, memo";

impl ApplicationRow {
    /// `applied` while it stands, `revoked` once revoked: what its `revoked_at` says.
    pub fn status(&self) -> &'static str {
        if self.revoked_at.is_some() { "revoked" } else { "applied" }
    }
}

pub async fn insert_application(conn: &mut PgConnection, a: &ApplicationRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO applications (clr_appy_evt_id, request_id, request_body, fixmedins_code,
             clr_type, clr_way, setlym, begndate, enddate, period_id, psntime, medfee_sumamt,
             med_sumfee, fund_appy_sum, cash_payamt, acct_pay, applied_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&a.clr_appy_evt_id)
    .bind(&a.request_id)
    .bind(&a.request_body)
    .bind(&a.fixmedins_code)
    .bind(&a.clr_type)
    .bind(&a.clr_way)
    .bind(&a.setlym)
    .bind(a.begndate)
    .bind(a.enddate)
    .bind(&a.period_id)
    .bind(a.psntime)
    .bind(a.medfee_sumamt)
    .bind(a.med_sumfee)
    .bind(a.fund_appy_sum)
    .bind(a.cash_payamt)
    .bind(a.acct_pay)
    .bind(a.applied_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The application an institution made under `request_id`, if any.
pub async fn application_by_request(
    conn: &mut PgConnection,
    fixmedins_code: &str,
    request_id: &str,
) -> Result<Option<ApplicationRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {APPLICATION_COLUMNS} FROM applications
         WHERE fixmedins_code = $1 AND request_id = $2"
    ))
    .bind(fixmedins_code)
    .bind(request_id)
    .fetch_optional(conn)
    .await?)
}

/// The institution's standing (not revoked) application for a month and clearing category.
pub async fn standing_application(
    conn: &mut PgConnection,
    fixmedins_code: &str,
    clr_type: &str,
    setlym: &str,
) -> Result<Option<ApplicationRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {APPLICATION_COLUMNS} FROM applications
         WHERE fixmedins_code = $1 AND clr_type = $2 AND setlym = $3 AND revoked_at IS NULL"
    ))
    .bind(fixmedins_code)
    .bind(clr_type)
    .bind(setlym)
    .fetch_optional(conn)
    .await?)
}

/// An institution's application by its id, locked for this transaction (another institution's
/// is not found).
pub async fn lock_application(
    conn: &mut PgConnection,
    fixmedins_code: &str,
    clr_appy_evt_id: &str,
) -> Result<Option<ApplicationRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {APPLICATION_COLUMNS} FROM applications
         WHERE fixmedins_code = $1 AND clr_appy_evt_id = $2 FOR UPDATE"
    ))
    .bind(fixmedins_code)
    .bind(clr_appy_evt_id)
    .fetch_optional(conn)
    .await?)
}

pub async fn revoke_application(
    conn: &mut PgConnection,
    clr_appy_evt_id: &str,
    request_id: &str,
    memo: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE applications SET revoked_at = $4, revoke_request_id = $2, memo = $3
         WHERE clr_appy_evt_id = $1 AND revoked_at IS NULL",
    )
    .bind(clr_appy_evt_id)
    .bind(request_id)
    .bind(memo)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Applications of a period and/or an institution (empty: any), of one status (empty: any),
/// after `after`, in id order.
pub async fn applications(
    conn: &mut PgConnection,
    period_id: &str,
    fixmedins_code: &str,
    status: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<ApplicationRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {APPLICATION_COLUMNS} FROM applications
         WHERE ($1 = '' OR period_id = $1) AND ($2 = '' OR fixmedins_code = $2)
             AND ($3 = '' OR ($3 = 'revoked') = (revoked_at IS NOT NULL))
             AND clr_appy_evt_id > $4
         ORDER BY clr_appy_evt_id LIMIT $5"
    ))
    .bind(period_id)
    .bind(fixmedins_code)
    .bind(status)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// The standing applications of `hospitals` in a period, by hospital then id.
pub async fn standing_applications(
    conn: &mut PgConnection,
    period_id: &str,
    hospitals: &[String],
) -> Result<Vec<ApplicationRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {APPLICATION_COLUMNS} FROM applications
         WHERE period_id = $1 AND fixmedins_code = ANY($2) AND revoked_at IS NULL
         ORDER BY fixmedins_code, clr_appy_evt_id"
    ))
    .bind(period_id)
    .bind(hospitals)
    .fetch_all(conn)
    .await?)
}
