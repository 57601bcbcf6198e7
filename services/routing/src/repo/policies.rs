//! The policy documents' storage: drafts, publications in order, and the audit trail of both
//! (migration `0007_policies.sql`; the table refuses any change to a published row).

use chrono::{DateTime, NaiveDate, Utc};
use medclear_common::Result;
use sqlx::{FromRow, PgConnection};

/// A stored document and what is known of it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PolicyRow {
    pub policy_id: String,
    pub region: String,
    pub insutype: String,
    pub kind: String,
    pub label: String,
    pub title: String,
    pub begin_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub sha256: String,
    /// The text that was hashed.
    pub document: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The publication order; `None`: a draft.
    pub seq: Option<i64>,
    pub published_by: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "policy_id, region, insutype, kind, label, title, begin_date, end_date, \
     sha256, document, created_by, created_at, seq, published_by, published_at";

/// The published documents after publication `after_seq`, in publication order.
pub async fn published_after(conn: &mut PgConnection, after_seq: i64) -> Result<Vec<PolicyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM policy_documents WHERE seq > $1 ORDER BY seq");
    Ok(sqlx::query_as(&sql).bind(after_seq).fetch_all(conn).await?)
}

/// The highest publication number (0: none).
pub async fn last_seq(conn: &mut PgConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COALESCE(max(seq), 0) FROM policy_documents")
        .fetch_one(conn)
        .await?)
}

pub async fn get(conn: &mut PgConnection, policy_id: &str) -> Result<Option<PolicyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM policy_documents WHERE policy_id = $1");
    Ok(sqlx::query_as(&sql).bind(policy_id).fetch_optional(conn).await?)
}

/// Stores a draft (its row's `seq` and publication fields are ignored) and its audit entry in
/// one statement; a document stored already is left as it is. The row as stored.
pub async fn insert_draft(conn: &mut PgConnection, row: &PolicyRow) -> Result<PolicyRow> {
    let sql = format!(
        "WITH inserted AS (
             INSERT INTO policy_documents (policy_id, region, insutype, kind, label, title,
                 begin_date, end_date, sha256, document, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (policy_id) DO NOTHING
             RETURNING {COLUMNS}),
         audit AS (
             INSERT INTO policy_audit (at, actor, action, policy_id, sha256, details)
             SELECT $12, $11, 'draft', policy_id, sha256, jsonb_build_object('label', label)
             FROM inserted)
         SELECT {COLUMNS} FROM inserted
         UNION ALL
         SELECT {COLUMNS} FROM policy_documents WHERE policy_id = $1
             AND NOT EXISTS (SELECT 1 FROM inserted)"
    );
    Ok(sqlx::query_as(&sql)
        .bind(&row.policy_id)
        .bind(&row.region)
        .bind(&row.insutype)
        .bind(&row.kind)
        .bind(&row.label)
        .bind(&row.title)
        .bind(row.begin_date)
        .bind(row.end_date)
        .bind(&row.sha256)
        .bind(&row.document)
        .bind(&row.created_by)
        .bind(row.created_at)
        .fetch_one(conn)
        .await?)
}

/// Publishes a draft with its audit entry, in one statement: the row as published, or `None`
/// when there is no such draft (absent, or published already).
pub async fn publish(
    conn: &mut PgConnection,
    policy_id: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Option<PolicyRow>> {
    let sql = format!(
        "WITH published AS (
             UPDATE policy_documents SET seq = nextval('policy_publication_seq'),
                 published_by = $2, published_at = $3
             WHERE policy_id = $1 AND seq IS NULL
             RETURNING {COLUMNS}),
         audit AS (
             INSERT INTO policy_audit (at, actor, action, policy_id, sha256, details)
             SELECT $3, $2, 'publish', policy_id, sha256,
                 jsonb_build_object('label', label, 'seq', seq)
             FROM published)
         SELECT {COLUMNS} FROM published"
    );
    Ok(sqlx::query_as(&sql).bind(policy_id).bind(actor).bind(at).fetch_optional(conn).await?)
}

/// Documents of regions starting with `region_prefix` (empty: all), of `insutype` (empty:
/// all), published ones newest first, then drafts when asked, at most 500.
pub async fn list(
    conn: &mut PgConnection,
    region_prefix: &str,
    insutype: &str,
    include_drafts: bool,
) -> Result<Vec<PolicyRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM policy_documents
         WHERE starts_with(region, $1) AND ($2 = '' OR insutype = $2)
             AND (seq IS NOT NULL OR $3)
         ORDER BY seq DESC NULLS LAST, created_at DESC LIMIT 500"
    );
    Ok(sqlx::query_as(&sql)
        .bind(region_prefix)
        .bind(insutype)
        .bind(include_drafts)
        .fetch_all(conn)
        .await?)
}
