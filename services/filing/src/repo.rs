//! Storage of the filing service: every SQL statement it runs. Functions take a connection so
//! the caller composes several of them into one transaction.

use chrono::{DateTime, NaiveDate, Utc};
use medclear_common::{
    Error, Result,
    codes::{Admdvs, FixmedinsCode, PsnNo},
};
use serde_json::Value;
use sqlx::{FromRow, PgConnection};

use crate::domain::{
    self, Actor, Category, Channel, ChronicFiling, Filing, Revocation, RuleOverrides, Rules,
};

pub mod designations;

/// A region: every code of reference/admdvs.csv (migrations 0002 and 0003).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Region {
    pub admdvs: String,
    pub name_zh: String,
    pub name_en: String,
    /// `province`, `city` or `district` (a county).
    pub level: String,
}

/// Serialises all filing changes of one person until the transaction ends, so that two
/// concurrent requests cannot both pass the overlap check.
pub async fn lock_person(conn: &mut PgConnection, psn_no: &PsnNo) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('filing:' || $1, 0))")
        .bind(psn_no.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn list_regions(conn: &mut PgConnection) -> Result<Vec<Region>> {
    Ok(sqlx::query_as::<_, Region>(
        "SELECT admdvs, name_zh, name_en, level FROM regions ORDER BY admdvs",
    )
    .fetch_all(conn)
    .await?)
}

/// Which of `codes` are known regions.
pub async fn known_regions(conn: &mut PgConnection, codes: &[Admdvs]) -> Result<Vec<Admdvs>> {
    let texts: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
    // CHAR(6)[]: compared as the key's type, so the lookup uses the primary key.
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT admdvs FROM regions WHERE admdvs = ANY($1::CHAR(6)[]) ORDER BY admdvs",
    )
    .bind(&texts)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().filter_map(|(code,)| Admdvs::parse(&code).ok()).collect())
}

#[derive(Clone, FromRow)]
struct OverridesRow {
    temporary_min_validity_months: Option<i32>,
    long_term_revoke_lock_months: Option<i32>,
    emergency_counts_as_filed: Option<bool>,
    late_filing_allowed: Option<bool>,
    max_backdate_days: Option<i32>,
    max_advance_days: Option<i32>,
}

fn to_u32(value: Option<i32>) -> Option<u32> {
    value.and_then(|v| u32::try_from(v).ok())
}

fn to_i32(value: Option<u32>) -> Option<i32> {
    value.and_then(|v| i32::try_from(v).ok())
}

impl From<OverridesRow> for RuleOverrides {
    fn from(row: OverridesRow) -> Self {
        Self {
            temporary_min_validity_months: to_u32(row.temporary_min_validity_months),
            long_term_revoke_lock_months: to_u32(row.long_term_revoke_lock_months),
            emergency_counts_as_filed: row.emergency_counts_as_filed,
            late_filing_allowed: row.late_filing_allowed,
            max_backdate_days: to_u32(row.max_backdate_days),
            max_advance_days: to_u32(row.max_advance_days),
        }
    }
}

/// The overrides stored for exactly this region (not inherited ones).
pub async fn region_overrides(conn: &mut PgConnection, home: &Admdvs) -> Result<RuleOverrides> {
    let row = sqlx::query_as::<_, OverridesRow>(
        "SELECT temporary_min_validity_months, long_term_revoke_lock_months,
                emergency_counts_as_filed, late_filing_allowed, max_backdate_days, max_advance_days
         FROM region_rules WHERE insuplc_admdvs = $1",
    )
    .bind(home.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(RuleOverrides::from).unwrap_or_default())
}

/// The overrides of the regions `home` lies in, outermost first: its province's, its city's
/// (for a county, where there is one), its own — those that have any. The regions come from
/// `regions.parent`; a code that is not a known region is taken to lie in its province.
pub async fn rule_layers(conn: &mut PgConnection, home: &Admdvs) -> Result<Vec<RuleOverrides>> {
    let rows = sqlx::query_as::<_, OverridesRow>(
        "WITH RECURSIVE lineage (admdvs, parent, depth) AS (
             SELECT $1::CHAR(6),
                    COALESCE((SELECT parent FROM regions WHERE admdvs = $1::CHAR(6)),
                             NULLIF($2::CHAR(6), $1::CHAR(6)))::CHAR(6),
                    0
             UNION ALL
             SELECT r.admdvs, r.parent, l.depth + 1
             FROM lineage l JOIN regions r ON r.admdvs = l.parent
             WHERE l.depth < 3
         )
         SELECT temporary_min_validity_months, long_term_revoke_lock_months,
                emergency_counts_as_filed, late_filing_allowed, max_backdate_days, max_advance_days
         FROM lineage l JOIN region_rules rr ON rr.insuplc_admdvs = l.admdvs
         ORDER BY l.depth DESC",
    )
    .bind(home.as_str())
    .bind(home.province().as_str())
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(RuleOverrides::from).collect())
}

/// The rules in force for a home region ([`domain::rules_in_force`] of its [`rule_layers`]).
pub async fn rules_for(conn: &mut PgConnection, home: &Admdvs) -> Result<Rules> {
    Ok(domain::rules_in_force(&rule_layers(conn, home).await?))
}

pub async fn upsert_overrides(
    conn: &mut PgConnection,
    home: &Admdvs,
    overrides: &RuleOverrides,
    at: DateTime<Utc>,
    by: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO region_rules (insuplc_admdvs, temporary_min_validity_months,
             long_term_revoke_lock_months, emergency_counts_as_filed, late_filing_allowed,
             max_backdate_days, max_advance_days, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (insuplc_admdvs) DO UPDATE SET
             temporary_min_validity_months = EXCLUDED.temporary_min_validity_months,
             long_term_revoke_lock_months = EXCLUDED.long_term_revoke_lock_months,
             emergency_counts_as_filed = EXCLUDED.emergency_counts_as_filed,
             late_filing_allowed = EXCLUDED.late_filing_allowed,
             max_backdate_days = EXCLUDED.max_backdate_days,
             max_advance_days = EXCLUDED.max_advance_days,
             updated_at = EXCLUDED.updated_at,
             updated_by = EXCLUDED.updated_by",
    )
    .bind(home.as_str())
    .bind(to_i32(overrides.temporary_min_validity_months))
    .bind(to_i32(overrides.long_term_revoke_lock_months))
    .bind(overrides.emergency_counts_as_filed)
    .bind(overrides.late_filing_allowed)
    .bind(to_i32(overrides.max_backdate_days))
    .bind(to_i32(overrides.max_advance_days))
    .bind(at)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

/// The columns both filing tables share, in one row type.
#[derive(FromRow)]
struct RevocationColumns {
    revoked_at: Option<DateTime<Utc>>,
    revoked_on: Option<NaiveDate>,
    revoked_by: Option<String>,
    revoke_channel: Option<String>,
    revoke_reason: Option<String>,
}

impl RevocationColumns {
    fn into_domain(self) -> Result<Option<Revocation>> {
        let (Some(at), Some(on)) = (self.revoked_at, self.revoked_on) else { return Ok(None) };
        Ok(Some(Revocation {
            at,
            on,
            by: actor(self.revoked_by.unwrap_or_default(), self.revoke_channel.as_deref())?,
            reason: self.revoke_reason.unwrap_or_default(),
        }))
    }
}

fn corrupt(what: &str, value: &str) -> Error {
    Error::Internal(format!("stored {what} {value:?} does not parse"))
}

fn actor(id: String, channel: Option<&str>) -> Result<Actor> {
    let text = channel.unwrap_or_default();
    let channel = Channel::parse(text).ok_or_else(|| corrupt("channel", text))?;
    Ok(Actor { id, channel })
}

fn admdvs(text: &str) -> Result<Admdvs> {
    Admdvs::parse(text).map_err(|_| corrupt("admdvs", text))
}

fn psn_no(text: &str) -> Result<PsnNo> {
    PsnNo::parse(text).map_err(|_| corrupt("psn_no", text))
}

#[derive(FromRow)]
struct FilingRow {
    filing_id: String,
    psn_no: String,
    psn_name: String,
    insuplc_admdvs: String,
    mdtrtarea_admvs: String,
    category: String,
    begin_date: NaiveDate,
    end_date: Option<NaiveDate>,
    memo: String,
    filed_by: String,
    channel: String,
    filed_at: DateTime<Utc>,
    #[sqlx(flatten)]
    revocation: RevocationColumns,
}

impl TryFrom<FilingRow> for Filing {
    type Error = Error;
    fn try_from(row: FilingRow) -> Result<Self> {
        Ok(Filing {
            psn_no: psn_no(&row.psn_no)?,
            home: admdvs(&row.insuplc_admdvs)?,
            destination: admdvs(&row.mdtrtarea_admvs)?,
            category: Category::parse(&row.category)
                .ok_or_else(|| corrupt("category", &row.category))?,
            filed_by: actor(row.filed_by, Some(&row.channel))?,
            revocation: row.revocation.into_domain()?,
            id: row.filing_id,
            psn_name: row.psn_name,
            begin: row.begin_date,
            end: row.end_date,
            memo: row.memo,
            filed_at: row.filed_at,
        })
    }
}

const FILING_COLUMNS: &str = "filing_id, psn_no, psn_name, insuplc_admdvs, mdtrtarea_admvs, \
     category, begin_date, end_date, memo, filed_by, channel, filed_at, revoked_at, revoked_on, \
     revoked_by, revoke_channel, revoke_reason";

fn filings(rows: Vec<FilingRow>) -> Result<Vec<Filing>> {
    rows.into_iter().map(Filing::try_from).collect()
}

pub async fn get_filing(conn: &mut PgConnection, id: &str) -> Result<Option<Filing>> {
    let sql = format!("SELECT {FILING_COLUMNS} FROM filings WHERE filing_id = $1");
    let row = sqlx::query_as::<_, FilingRow>(&sql).bind(id).fetch_optional(conn).await?;
    row.map(Filing::try_from).transpose()
}

/// Every filing of a person, newest first.
pub async fn filings_of(conn: &mut PgConnection, psn_no: &PsnNo) -> Result<Vec<Filing>> {
    let sql = format!(
        "SELECT {FILING_COLUMNS} FROM filings WHERE psn_no = $1 ORDER BY begin_date DESC, filed_at DESC"
    );
    filings(sqlx::query_as::<_, FilingRow>(&sql).bind(psn_no.as_str()).fetch_all(conn).await?)
}

/// A filing earlier created by the same sender with the same request id, and the request body
/// it was created from.
pub async fn filing_by_request(
    conn: &mut PgConnection,
    filed_by: &str,
    request_id: &str,
) -> Result<Option<(Filing, String)>> {
    #[derive(FromRow)]
    struct WithBody {
        #[sqlx(flatten)]
        filing: FilingRow,
        request_body: Option<String>,
    }
    let sql = format!(
        "SELECT {FILING_COLUMNS}, request_body FROM filings WHERE filed_by = $1 AND request_id = $2"
    );
    let row = sqlx::query_as::<_, WithBody>(&sql)
        .bind(filed_by)
        .bind(request_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((Filing::try_from(r.filing)?, r.request_body.unwrap_or_default()))).transpose()
}

pub async fn insert_filing(
    conn: &mut PgConnection,
    filing: &Filing,
    request: Option<(&str, &str)>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO filings (filing_id, request_id, request_body, psn_no, psn_name,
             insuplc_admdvs, mdtrtarea_admvs, category, begin_date, end_date, memo, filed_by,
             channel, filed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&filing.id)
    .bind(request.map(|(id, _)| id))
    .bind(request.map(|(_, body)| body))
    .bind(filing.psn_no.as_str())
    .bind(&filing.psn_name)
    .bind(filing.home.as_str())
    .bind(filing.destination.as_str())
    .bind(filing.category.as_str())
    .bind(filing.begin)
    .bind(filing.end)
    .bind(&filing.memo)
    .bind(&filing.filed_by.id)
    .bind(filing.filed_by.channel.as_str())
    .bind(filing.filed_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a revocation on a filing of `table` that is not revoked yet.
async fn set_revocation(
    conn: &mut PgConnection,
    table: &str,
    id: &str,
    revocation: &Revocation,
) -> Result<()> {
    // `table` is one of our two table names, never input.
    let sql = format!(
        "UPDATE {table} SET revoked_at = $2, revoked_on = $3, revoked_by = $4,
             revoke_channel = $5, revoke_reason = $6
         WHERE filing_id = $1 AND revoked_at IS NULL"
    );
    let done = sqlx::query(&sql)
        .bind(id)
        .bind(revocation.at)
        .bind(revocation.on)
        .bind(&revocation.by.id)
        .bind(revocation.by.channel.as_str())
        .bind(&revocation.reason)
        .execute(conn)
        .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::precondition("already_revoked", format!("{id} is revoked already")))
    }
}

pub async fn revoke_filing(
    conn: &mut PgConnection,
    id: &str,
    revocation: &Revocation,
) -> Result<()> {
    set_revocation(conn, "filings", id, revocation).await
}

/// The name of a chronic disease, if it is one the service knows.
pub async fn chronic_disease_name(conn: &mut PgConnection, code: &str) -> Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT name FROM chronic_diseases WHERE code = $1")
            .bind(code)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(name,)| name))
}

pub async fn list_chronic_diseases(conn: &mut PgConnection) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT code, name FROM chronic_diseases ORDER BY code")
        .fetch_all(conn)
        .await?)
}

#[derive(FromRow)]
struct ChronicRow {
    filing_id: String,
    psn_no: String,
    insuplc_admdvs: String,
    disease_code: String,
    disease_name: String,
    diagnosed_by: String,
    begin_date: NaiveDate,
    end_date: Option<NaiveDate>,
    filed_by: String,
    channel: String,
    filed_at: DateTime<Utc>,
    #[sqlx(flatten)]
    revocation: RevocationColumns,
}

impl TryFrom<ChronicRow> for ChronicFiling {
    type Error = Error;
    fn try_from(row: ChronicRow) -> Result<Self> {
        Ok(ChronicFiling {
            psn_no: psn_no(&row.psn_no)?,
            home: admdvs(&row.insuplc_admdvs)?,
            diagnosed_by: FixmedinsCode::parse(&row.diagnosed_by)
                .map_err(|_| corrupt("fixmedins_code", &row.diagnosed_by))?,
            filed_by: actor(row.filed_by, Some(&row.channel))?,
            revocation: row.revocation.into_domain()?,
            id: row.filing_id,
            disease_code: row.disease_code,
            disease_name: row.disease_name,
            begin: row.begin_date,
            end: row.end_date,
            filed_at: row.filed_at,
        })
    }
}

const CHRONIC_SELECT: &str = "SELECT c.filing_id, c.psn_no, c.insuplc_admdvs, c.disease_code, \
     d.name AS disease_name, c.diagnosed_by, c.begin_date, c.end_date, c.filed_by, c.channel, \
     c.filed_at, c.revoked_at, c.revoked_on, c.revoked_by, c.revoke_channel, c.revoke_reason, \
     c.request_body \
     FROM chronic_filings c JOIN chronic_diseases d ON d.code = c.disease_code";

#[derive(FromRow)]
struct ChronicWithBody {
    #[sqlx(flatten)]
    filing: ChronicRow,
    request_body: Option<String>,
}

pub async fn get_chronic_filing(
    conn: &mut PgConnection,
    id: &str,
) -> Result<Option<ChronicFiling>> {
    let sql = format!("{CHRONIC_SELECT} WHERE c.filing_id = $1");
    let row = sqlx::query_as::<_, ChronicWithBody>(&sql).bind(id).fetch_optional(conn).await?;
    row.map(|r| ChronicFiling::try_from(r.filing)).transpose()
}

pub async fn chronic_filings_of(
    conn: &mut PgConnection,
    psn_no: &PsnNo,
) -> Result<Vec<ChronicFiling>> {
    let sql =
        format!("{CHRONIC_SELECT} WHERE c.psn_no = $1 ORDER BY c.begin_date DESC, c.filed_at DESC");
    let rows =
        sqlx::query_as::<_, ChronicWithBody>(&sql).bind(psn_no.as_str()).fetch_all(conn).await?;
    rows.into_iter().map(|r| ChronicFiling::try_from(r.filing)).collect()
}

pub async fn chronic_filing_by_request(
    conn: &mut PgConnection,
    filed_by: &str,
    request_id: &str,
) -> Result<Option<(ChronicFiling, String)>> {
    let sql = format!("{CHRONIC_SELECT} WHERE c.filed_by = $1 AND c.request_id = $2");
    let row = sqlx::query_as::<_, ChronicWithBody>(&sql)
        .bind(filed_by)
        .bind(request_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((ChronicFiling::try_from(r.filing)?, r.request_body.unwrap_or_default())))
        .transpose()
}

pub async fn insert_chronic_filing(
    conn: &mut PgConnection,
    filing: &ChronicFiling,
    request: Option<(&str, &str)>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO chronic_filings (filing_id, request_id, request_body, psn_no,
             insuplc_admdvs, disease_code, diagnosed_by, begin_date, end_date, filed_by, channel,
             filed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&filing.id)
    .bind(request.map(|(id, _)| id))
    .bind(request.map(|(_, body)| body))
    .bind(filing.psn_no.as_str())
    .bind(filing.home.as_str())
    .bind(&filing.disease_code)
    .bind(filing.diagnosed_by.as_str())
    .bind(filing.begin)
    .bind(filing.end)
    .bind(&filing.filed_by.id)
    .bind(filing.filed_by.channel.as_str())
    .bind(filing.filed_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn revoke_chronic_filing(
    conn: &mut PgConnection,
    id: &str,
    revocation: &Revocation,
) -> Result<()> {
    set_revocation(conn, "chronic_filings", id, revocation).await
}

/// One line of the audit trail.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub at: DateTime<Utc>,
    pub actor: &'a Actor,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub details: Value,
    pub trace_id: Option<String>,
}

pub async fn append_audit(conn: &mut PgConnection, entry: AuditEntry<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, channel, action, entity_type, entity_id, details, trace_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(entry.at)
    .bind(&entry.actor.id)
    .bind(entry.actor.channel.as_str())
    .bind(entry.action)
    .bind(entry.entity_type)
    .bind(entry.entity_id)
    .bind(entry.details)
    .bind(entry.trace_id)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
