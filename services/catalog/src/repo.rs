//! Storage of the catalogue service: every SQL statement it runs. Writes take a connection so
//! the caller composes them into the one transaction that publishes a version.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use medclear_common::{Error, Result};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::{FromRow, PgConnection};

use crate::{
    domain::{
        CoverageClass, CoverageRule, HospitalLevel, Item, ItemKind, Mapping, NamedOperation,
        Period, Restrictions, Scope,
    },
    index::Delta,
};

/// Rows per bulk statement.
const CHUNK: usize = 5_000;

fn corrupt(what: &str, value: &str) -> Error {
    Error::Internal(format!("stored {what} {value:?} does not parse"))
}

/// Takes the catalogue's write lock for this transaction and opens the next version.
pub async fn begin_version(
    conn: &mut PgConnection,
    source: &str,
    operator: &str,
    at: DateTime<Utc>,
) -> Result<i64> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('catalog:write', 0))")
        .execute(&mut *conn)
        .await?;
    let ver: i64 =
        sqlx::query_scalar("SELECT nextval('catalog_ver')").fetch_one(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO catalog_versions (ver, published_at, source, operator, row_count)
         VALUES ($1, $2, $3, $4, 0)",
    )
    .bind(ver)
    .bind(at)
    .bind(source)
    .bind(operator)
    .execute(conn)
    .await?;
    Ok(ver)
}

pub async fn finish_version(conn: &mut PgConnection, ver: i64, rows: usize) -> Result<()> {
    sqlx::query("UPDATE catalog_versions SET row_count = $2 WHERE ver = $1")
        .bind(ver)
        .bind(i64::try_from(rows).unwrap_or(i64::MAX))
        .execute(conn)
        .await?;
    Ok(())
}

/// The newest published version (0 when none).
pub async fn current_version(conn: &mut PgConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(ver), 0)::BIGINT FROM catalog_versions")
        .fetch_one(conn)
        .await?)
}

/// Inserts items, or revises those whose code exists.
pub async fn upsert_items(conn: &mut PgConnection, items: &[Item], ver: i64) -> Result<()> {
    for chunk in items.chunks(CHUNK) {
        let col = |f: fn(&Item) -> String| chunk.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO items (code, kind, name, spec, unit, begin_date, end_date,
                                operation_code, operation_name, ver)
             SELECT *, $10 FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                                       $6::DATE[], $7::DATE[], $8::TEXT[], $9::TEXT[])
             ON CONFLICT (code) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name,
                 spec = EXCLUDED.spec, unit = EXCLUDED.unit, begin_date = EXCLUDED.begin_date,
                 end_date = EXCLUDED.end_date, operation_code = EXCLUDED.operation_code,
                 operation_name = EXCLUDED.operation_name, ver = EXCLUDED.ver",
        )
        .bind(col(|i| i.code.clone()))
        .bind(col(|i| i.kind.as_str().to_owned()))
        .bind(col(|i| i.name.clone()))
        .bind(col(|i| i.spec.clone()))
        .bind(col(|i| i.unit.clone()))
        .bind(chunk.iter().map(|i| i.period.begin).collect::<Vec<_>>())
        .bind(chunk.iter().map(|i| i.period.end).collect::<Vec<_>>())
        .bind(col(|i| i.operation.as_ref().map(|o| o.code.clone()).unwrap_or_default()))
        .bind(col(|i| i.operation.as_ref().map(|o| o.name.clone()).unwrap_or_default()))
        .bind(ver)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn ratios_json(rule: &CoverageRule) -> String {
    let map: BTreeMap<&str, String> =
        rule.selfpay_ratio_by_insutype.iter().map(|(t, r)| (t.as_str(), r.to_string())).collect();
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".to_owned())
}

pub async fn insert_rules(conn: &mut PgConnection, rules: &[CoverageRule], ver: i64) -> Result<()> {
    for chunk in rules.chunks(CHUNK) {
        let levels = |r: &CoverageRule| {
            r.restrictions.hospital_levels.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(";")
        };
        let to_i32 = |v: Option<u32>| v.and_then(|v| i32::try_from(v).ok());
        sqlx::query(
            "INSERT INTO coverage (scope, code, class, selfpay_ratio, selfpay_ratio_by_insutype,
                 price_cap_fen, hospital_levels, diagnosis_prefixes, min_age, max_age, begin_date,
                 end_date, ver)
             SELECT s, c, k, r, j::JSONB, p,
                    COALESCE(string_to_array(NULLIF(l, ''), ';'), '{}'),
                    COALESCE(string_to_array(NULLIF(d, ''), ';'), '{}'), mn, mx, b, e, $13
             FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::NUMERIC[], $5::TEXT[], $6::INT8[],
                         $7::TEXT[], $8::TEXT[], $9::INT4[], $10::INT4[], $11::DATE[], $12::DATE[])
                  AS t(s, c, k, r, j, p, l, d, mn, mx, b, e)",
        )
        .bind(chunk.iter().map(|r| r.scope.as_string()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.code.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.class.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.selfpay_ratio).collect::<Vec<Decimal>>())
        .bind(chunk.iter().map(ratios_json).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.price_cap_fen).collect::<Vec<_>>())
        .bind(chunk.iter().map(levels).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.restrictions.diagnosis_prefixes.join(";")).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| to_i32(r.restrictions.min_age)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| to_i32(r.restrictions.max_age)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.period.begin).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.period.end).collect::<Vec<_>>())
        .bind(ver)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Ends a rule on `end` (a revision, published as `ver`).
pub async fn close_rule(conn: &mut PgConnection, id: i64, end: NaiveDate, ver: i64) -> Result<()> {
    sqlx::query("UPDATE coverage SET end_date = $2, ver = $3 WHERE id = $1")
        .bind(id)
        .bind(end)
        .bind(ver)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert_mappings(
    conn: &mut PgConnection,
    mappings: &[Mapping],
    ver: i64,
) -> Result<()> {
    for chunk in mappings.chunks(CHUNK) {
        let col = |f: fn(&Mapping) -> String| chunk.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO mappings (fixmedins_code, local_code, local_name, national_code,
                 begin_date, ver)
             SELECT *, $6 FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::DATE[])",
        )
        .bind(col(|m| m.fixmedins_code.clone()))
        .bind(col(|m| m.local_code.clone()))
        .bind(col(|m| m.local_name.clone()))
        .bind(col(|m| m.national_code.clone()))
        .bind(chunk.iter().map(|m| m.period.begin).collect::<Vec<_>>())
        .bind(ver)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Revokes the active mapping of a local code as of `on` (it covers the days before).
pub async fn revoke_mapping(
    conn: &mut PgConnection,
    fixmedins_code: &str,
    local_code: &str,
    at: DateTime<Utc>,
    on: NaiveDate,
    ver: i64,
) -> Result<Option<Mapping>> {
    let row = sqlx::query_as::<_, MappingRow>(
        "UPDATE mappings SET revoked_at = $3, end_date = $4::DATE - 1, ver = $5
         WHERE fixmedins_code = $1 AND local_code = $2 AND revoked_at IS NULL
         RETURNING id, fixmedins_code, local_code, local_name, national_code, begin_date,
                   end_date, revoked_at, ver",
    )
    .bind(fixmedins_code)
    .bind(local_code)
    .bind(at)
    .bind(on)
    .bind(ver)
    .fetch_optional(conn)
    .await?;
    row.map(Mapping::try_from).transpose()
}

#[derive(FromRow)]
struct ItemRow {
    code: String,
    kind: String,
    name: String,
    spec: String,
    unit: String,
    begin_date: NaiveDate,
    end_date: Option<NaiveDate>,
    operation_code: String,
    operation_name: String,
    ver: i64,
}

impl TryFrom<ItemRow> for Item {
    type Error = Error;
    fn try_from(r: ItemRow) -> Result<Self> {
        Ok(Item {
            kind: ItemKind::parse(&r.kind).ok_or_else(|| corrupt("kind", &r.kind))?,
            code: r.code,
            name: r.name,
            spec: r.spec,
            unit: r.unit,
            period: Period { begin: r.begin_date, end: r.end_date },
            ver: r.ver,
            operation: (!r.operation_code.is_empty())
                .then_some(NamedOperation { code: r.operation_code, name: r.operation_name }),
        })
    }
}

#[derive(FromRow)]
struct RuleRow {
    id: i64,
    scope: String,
    code: String,
    class: String,
    selfpay_ratio: Decimal,
    selfpay_ratio_by_insutype: Value,
    price_cap_fen: Option<i64>,
    hospital_levels: Vec<String>,
    diagnosis_prefixes: Vec<String>,
    min_age: Option<i32>,
    max_age: Option<i32>,
    begin_date: NaiveDate,
    end_date: Option<NaiveDate>,
    ver: i64,
}

impl TryFrom<RuleRow> for CoverageRule {
    type Error = Error;
    fn try_from(r: RuleRow) -> Result<Self> {
        let mut by_insutype = Vec::new();
        if let Value::Object(map) = r.selfpay_ratio_by_insutype {
            for (insutype, ratio) in map {
                let text = ratio.as_str().unwrap_or_default();
                let ratio = text.parse::<Decimal>().map_err(|_| corrupt("ratio", text))?;
                by_insutype.push((insutype, ratio));
            }
        }
        let levels = r
            .hospital_levels
            .iter()
            .map(|l| HospitalLevel::parse(l).ok_or_else(|| corrupt("hospital level", l)))
            .collect::<Result<Vec<_>>>()?;
        Ok(CoverageRule {
            id: r.id,
            scope: Scope::parse(&r.scope).ok_or_else(|| corrupt("scope", &r.scope))?,
            class: CoverageClass::parse(&r.class).ok_or_else(|| corrupt("class", &r.class))?,
            code: r.code,
            selfpay_ratio: r.selfpay_ratio.normalize(),
            selfpay_ratio_by_insutype: by_insutype,
            price_cap_fen: r.price_cap_fen,
            restrictions: Restrictions {
                hospital_levels: levels,
                diagnosis_prefixes: r.diagnosis_prefixes,
                min_age: r.min_age.and_then(|a| u32::try_from(a).ok()),
                max_age: r.max_age.and_then(|a| u32::try_from(a).ok()),
            },
            period: Period { begin: r.begin_date, end: r.end_date },
            ver: r.ver,
        })
    }
}

#[derive(FromRow)]
struct MappingRow {
    id: i64,
    fixmedins_code: String,
    local_code: String,
    local_name: String,
    national_code: String,
    begin_date: NaiveDate,
    end_date: Option<NaiveDate>,
    revoked_at: Option<DateTime<Utc>>,
    ver: i64,
}

impl TryFrom<MappingRow> for Mapping {
    type Error = Error;
    fn try_from(r: MappingRow) -> Result<Self> {
        Ok(Mapping {
            id: r.id,
            fixmedins_code: r.fixmedins_code,
            local_code: r.local_code,
            local_name: r.local_name,
            national_code: r.national_code,
            period: Period { begin: r.begin_date, end: r.end_date },
            revoked: r.revoked_at.is_some(),
            ver: r.ver,
        })
    }
}

/// Which hospitals' mappings a delta carries.
#[derive(Debug, Clone, Copy)]
pub enum Hospitals<'a> {
    All,
    One(&'a str),
    None,
}

/// A position in a listing of changes: the table (items, coverage, mappings) and the last key
/// given out in it (an item code, or a row id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub table: u8,
    pub key: String,
}

impl Cursor {
    pub const START: Cursor = Cursor { table: 0, key: String::new() };

    fn id(&self, table: u8) -> i64 {
        if self.table == table { self.key.parse().unwrap_or(0) } else { 0 }
    }

    fn code(&self, table: u8) -> &str {
        if self.table == table { &self.key } else { "" }
    }
}

/// Rows published in `since < ver <= upto`, after `from`, at most `limit` of them; and where
/// the next page starts when there may be more.
pub async fn changes(
    conn: &mut PgConnection,
    since: i64,
    upto: i64,
    hospitals: Hospitals<'_>,
    from: &Cursor,
    limit: i64,
) -> Result<(Delta, Option<Cursor>)> {
    let mut delta = Delta { ver: upto, ..Delta::default() };
    let mut left = limit;
    if from.table == 0 {
        let rows = sqlx::query_as::<_, ItemRow>(
            "SELECT code, kind, name, spec, unit, begin_date, end_date, operation_code,
                    operation_name, ver FROM items
             WHERE ver > $1 AND ver <= $2 AND code > $3 ORDER BY code LIMIT $4",
        )
        .bind(since)
        .bind(upto)
        .bind(from.code(0))
        .bind(left)
        .fetch_all(&mut *conn)
        .await?;
        left -= i64::try_from(rows.len()).unwrap_or(left);
        delta.items = rows.into_iter().map(Item::try_from).collect::<Result<_>>()?;
        if left <= 0 {
            let key = delta.items.last().map(|i| i.code.clone()).unwrap_or_default();
            return Ok((delta, Some(Cursor { table: 0, key })));
        }
    }
    if from.table <= 1 {
        let rows = sqlx::query_as::<_, RuleRow>(
            "SELECT id, scope, code, class, selfpay_ratio, selfpay_ratio_by_insutype, price_cap_fen,
                    hospital_levels, diagnosis_prefixes, min_age, max_age, begin_date, end_date, ver
             FROM coverage WHERE ver > $1 AND ver <= $2 AND id > $3 ORDER BY id LIMIT $4",
        )
        .bind(since)
        .bind(upto)
        .bind(from.id(1))
        .bind(left)
        .fetch_all(&mut *conn)
        .await?;
        left -= i64::try_from(rows.len()).unwrap_or(left);
        delta.rules = rows.into_iter().map(CoverageRule::try_from).collect::<Result<_>>()?;
        if left <= 0 {
            let key = delta.rules.last().map(|r| r.id.to_string()).unwrap_or_default();
            return Ok((delta, Some(Cursor { table: 1, key })));
        }
    }
    let only = match hospitals {
        Hospitals::None => return Ok((delta, None)),
        Hospitals::All => None,
        Hospitals::One(code) => Some(code),
    };
    let rows = sqlx::query_as::<_, MappingRow>(
        "SELECT id, fixmedins_code, local_code, local_name, national_code, begin_date,
                end_date, revoked_at, ver
         FROM mappings WHERE ver > $1 AND ver <= $2 AND id > $3
           AND ($5::TEXT IS NULL OR fixmedins_code = $5)
         ORDER BY id LIMIT $4",
    )
    .bind(since)
    .bind(upto)
    .bind(from.id(2))
    .bind(left)
    .bind(only)
    .fetch_all(&mut *conn)
    .await?;
    let full = i64::try_from(rows.len()).unwrap_or(0) >= left;
    delta.mappings = rows.into_iter().map(Mapping::try_from).collect::<Result<_>>()?;
    let next = full.then(|| Cursor {
        table: 2,
        key: delta.mappings.last().map(|m| m.id.to_string()).unwrap_or_default(),
    });
    Ok((delta, next))
}

/// The answer stored for a sender's message id, with the body it answered.
pub async fn find_request(
    conn: &mut PgConnection,
    sender: &str,
    msgid: &str,
) -> Result<Option<(String, Vec<u8>)>> {
    Ok(sqlx::query_as("SELECT body, response FROM requests WHERE sender = $1 AND msgid = $2")
        .bind(sender)
        .bind(msgid)
        .fetch_optional(conn)
        .await?)
}

pub async fn save_request(
    conn: &mut PgConnection,
    sender: &str,
    msgid: &str,
    body: &str,
    response: &[u8],
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO requests (sender, msgid, body, response, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sender)
    .bind(msgid)
    .bind(body)
    .bind(response)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn append_audit(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    entity_id: &str,
    details: Value,
    trace_id: Option<String>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, entity_id, details, trace_id)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(entity_id)
    .bind(details)
    .bind(trace_id)
    .execute(conn)
    .await?;
    Ok(())
}
