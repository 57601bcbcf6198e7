//! Repository tests against PostgreSQL: each gets a fresh, migrated database (`DATABASE_URL`).

use chrono::NaiveDate;
use medclear_common::codes::{Admdvs, FixmedinsCode, PsnNo};
use serde_json::json;
use sqlx::PgPool;

use super::*;
use crate::domain::{
    Actor, Category, Channel, ChronicFiling, Filing, Revocation, RuleOverrides, Rules,
};

fn a(code: &str) -> Admdvs {
    Admdvs::parse(code).unwrap()
}

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn actor() -> Actor {
    Actor { id: "op-1".into(), channel: Channel::Agency }
}

fn filing(id: &str, begin: &str) -> Filing {
    Filing {
        id: id.into(),
        psn_no: PsnNo::parse("P1").unwrap(),
        psn_name: "李四".into(),
        home: a("420200"),
        destination: a("440000"),
        category: Category::Referral,
        begin: d(begin),
        end: Some(d("2026-12-31")),
        memo: "转诊".into(),
        filed_by: actor(),
        filed_at: "2026-01-02T03:04:05Z".parse().unwrap(),
        revocation: None,
    }
}

/// reference/admdvs.csv: every code a HIS may send, with its level and province.
const ADMDVS_CSV: &str = include_str!("../../../../reference/admdvs.csv");

/// (admdvs, level, province) of each line of reference/admdvs.csv after its header.
fn admdvs_file() -> Vec<(String, String, String)> {
    let mut lines = ADMDVS_CSV.lines();
    assert_eq!(lines.next(), Some("admdvs,name_zh,level,province"));
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 4, "{line}");
            (fields[0].to_owned(), fields[2].to_owned(), fields[3].to_owned())
        })
        .collect()
}

#[sqlx::test(migrations = "../../migrations/filing")]
async fn regions_are_exactly_the_codes_of_the_reference_file(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let file = admdvs_file();
    assert_eq!(file.len(), 3220);
    let regions = list_regions(&mut conn).await.unwrap();
    let stored: Vec<&str> = regions.iter().map(|r| r.admdvs.as_str()).collect();
    let mut expected: Vec<&str> = file.iter().map(|(code, _, _)| code.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(stored, expected);
    // Each with its level (the file's `county` is `district` here) and the region it lies in:
    // a county's city where the file has it, else its province; a city's province.
    let parents: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT admdvs::TEXT, level, parent::TEXT FROM regions")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let of: std::collections::HashMap<&str, (&str, Option<&str>)> =
        parents.iter().map(|(c, l, p)| (c.as_str(), (l.as_str(), p.as_deref()))).collect();
    for (code, level, province) in &file {
        let city = format!("{}00", &code[..4]);
        let expected = match level.as_str() {
            "province" => ("province", None),
            "city" => ("city", Some(province.as_str())),
            _ if file.iter().any(|(c, l, _)| *c == city && l == "city") => {
                ("district", Some(city.as_str()))
            }
            _ => ("district", Some(province.as_str())),
        };
        assert_eq!(of[code.as_str()], expected, "{code}");
    }
    assert_eq!(of["430102"], ("district", Some("430100")), "芙蓉区 in 长沙市");
    assert_eq!(of["429004"], ("district", Some("420000")), "仙桃市, directly under Hubei");
    // The regions seeded before keep their English names.
    let shenzhen = regions.iter().find(|r| r.admdvs == "440300").unwrap();
    assert_eq!(
        (shenzhen.name_en.as_str(), shenzhen.level.as_str()),
        ("Shenzhen (Guangdong)", "city")
    );
    assert_eq!(regions.iter().filter(|r| r.level == "province").count(), 32);
    let known = known_regions(&mut conn, &[a("440300"), a("430102"), a("430199"), a("660000")])
        .await
        .unwrap();
    assert_eq!(known, vec![a("430102"), a("440300"), a("660000")]);
}

#[sqlx::test(migrations = "../../migrations/filing")]
async fn filings_round_trip_and_list_newest_first(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let older = filing("F1", "2026-01-05");
    let newer = filing("F2", "2026-06-01");
    insert_filing(&mut conn, &older, Some(("msg-1", "{\"a\":1}"))).await.unwrap();
    insert_filing(&mut conn, &newer, None).await.unwrap();
    assert_eq!(get_filing(&mut conn, "F1").await.unwrap(), Some(older.clone()));
    assert_eq!(get_filing(&mut conn, "F404").await.unwrap(), None);
    let all = filings_of(&mut conn, &older.psn_no).await.unwrap();
    assert_eq!(all.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["F2", "F1"]);
    let (found, body) = filing_by_request(&mut conn, "op-1", "msg-1").await.unwrap().unwrap();
    assert_eq!((found.id.as_str(), body.as_str()), ("F1", "{\"a\":1}"));
    assert!(filing_by_request(&mut conn, "op-2", "msg-1").await.unwrap().is_none());
    // The same sender cannot use a request id twice.
    let again = insert_filing(&mut conn, &filing("F3", "2026-02-01"), Some(("msg-1", "{}"))).await;
    assert_eq!(again.unwrap_err().reason(), "already_exists");
}

#[sqlx::test(migrations = "../../migrations/filing")]
async fn a_filing_is_revoked_once(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    insert_filing(&mut conn, &filing("F1", "2026-01-05"), None).await.unwrap();
    let revocation = Revocation {
        at: "2026-02-01T01:00:00Z".parse().unwrap(),
        on: d("2026-02-01"),
        by: Actor { id: "P1".into(), channel: Channel::CitizenOnline },
        reason: "back home".into(),
    };
    revoke_filing(&mut conn, "F1", &revocation).await.unwrap();
    let stored = get_filing(&mut conn, "F1").await.unwrap().unwrap();
    assert_eq!(stored.revocation, Some(revocation.clone()));
    assert_eq!(stored.validity().end, Some(d("2026-01-31")));
    let twice = revoke_filing(&mut conn, "F1", &revocation).await;
    assert_eq!(twice.unwrap_err().reason(), "already_revoked");
}

#[sqlx::test(migrations = "../../migrations/filing")]
async fn rules_inherit_defaults_then_province_then_region(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let at = "2026-01-01T00:00:00Z".parse().unwrap();
    assert_eq!(rules_for(&mut conn, &a("420200")).await.unwrap(), Rules::default());
    let province = RuleOverrides {
        temporary_min_validity_months: Some(12),
        late_filing_allowed: Some(false),
        ..Default::default()
    };
    upsert_overrides(&mut conn, &a("420000"), &province, at, "op").await.unwrap();
    let city = RuleOverrides { temporary_min_validity_months: Some(9), ..Default::default() };
    upsert_overrides(&mut conn, &a("420200"), &city, at, "op").await.unwrap();
    let rules = rules_for(&mut conn, &a("420200")).await.unwrap();
    assert_eq!(rules.temporary_min_validity_months, 9);
    assert!(!rules.late_filing_allowed);
    assert_eq!(rules.long_term_revoke_lock_months, 6);
    assert_eq!(rules_for(&mut conn, &a("420000")).await.unwrap().temporary_min_validity_months, 12);
    // Replacing overrides clears what is no longer set.
    upsert_overrides(&mut conn, &a("420200"), &RuleOverrides::default(), at, "op").await.unwrap();
    assert_eq!(rules_for(&mut conn, &a("420200")).await.unwrap().temporary_min_validity_months, 12);
}

#[sqlx::test(migrations = "../../migrations/filing")]
async fn a_county_takes_its_citys_then_its_provinces_rules(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let at = "2026-01-01T00:00:00Z".parse().unwrap();
    let months = |n| RuleOverrides { temporary_min_validity_months: Some(n), ..Default::default() };
    upsert_overrides(&mut conn, &a("430000"), &months(12), at, "op").await.unwrap();
    let in_force = async |conn: &mut PgConnection, code: &str| {
        rules_for(conn, &a(code)).await.unwrap().temporary_min_validity_months
    };
    // Hunan's, for Changsha's Furong district and for a code Hunan does not have.
    assert_eq!(in_force(&mut conn, "430102").await, 12);
    assert_eq!(in_force(&mut conn, "430199").await, 12);
    upsert_overrides(&mut conn, &a("430100"), &months(9), at, "op").await.unwrap();
    assert_eq!(in_force(&mut conn, "430102").await, 9, "Changsha's");
    assert_eq!(in_force(&mut conn, "430211").await, 12, "a Zhuzhou district: Hunan's");
    let late = RuleOverrides { late_filing_allowed: Some(false), ..Default::default() };
    upsert_overrides(&mut conn, &a("430102"), &late, at, "op").await.unwrap();
    let furong = rules_for(&mut conn, &a("430102")).await.unwrap();
    assert_eq!((furong.temporary_min_validity_months, furong.late_filing_allowed), (9, false));
    assert!(rules_for(&mut conn, &a("430103")).await.unwrap().late_filing_allowed);
    // A county directly under its province (no city in the file): the province's.
    upsert_overrides(&mut conn, &a("420000"), &months(8), at, "op").await.unwrap();
    assert_eq!(in_force(&mut conn, "429004").await, 8);
    assert_eq!(in_force(&mut conn, "440305").await, 6, "Guangdong has none: the defaults");
}

#[sqlx::test(migrations = "../../migrations/filing")]
async fn the_audit_log_is_append_only(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let actor = actor();
    let entry = AuditEntry {
        at: "2026-01-01T00:00:00Z".parse().unwrap(),
        actor: &actor,
        action: "filing.create",
        entity_type: "filing",
        entity_id: "F1",
        details: json!({"k": "v"}),
        trace_id: None,
    };
    append_audit(&mut conn, entry).await.unwrap();
    for sql in ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"] {
        let err = sqlx::query(sql).execute(&mut *conn).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(count, 1);
}

#[sqlx::test(migrations = "../../migrations/filing")]
async fn chronic_filings_carry_their_disease_name(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(
        chronic_disease_name(&mut conn, "M03900").await.unwrap().as_deref(),
        Some("高血压 Hypertension")
    );
    assert_eq!(chronic_disease_name(&mut conn, "M99999").await.unwrap(), None);
    assert_eq!(list_chronic_diseases(&mut conn).await.unwrap().len(), 5);
    let filing = ChronicFiling {
        id: "C1".into(),
        psn_no: PsnNo::parse("P1").unwrap(),
        home: a("420200"),
        disease_code: "M03900".into(),
        disease_name: "高血压 Hypertension".into(),
        diagnosed_by: FixmedinsCode::parse("H42020000001").unwrap(),
        begin: d("2026-01-01"),
        end: None,
        filed_by: actor(),
        filed_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        revocation: None,
    };
    insert_chronic_filing(&mut conn, &filing, Some(("m1", "body"))).await.unwrap();
    assert_eq!(get_chronic_filing(&mut conn, "C1").await.unwrap(), Some(filing.clone()));
    assert_eq!(chronic_filings_of(&mut conn, &filing.psn_no).await.unwrap(), vec![filing.clone()]);
    let (found, body) = chronic_filing_by_request(&mut conn, "op-1", "m1").await.unwrap().unwrap();
    assert_eq!((found, body.as_str()), (filing, "body"));
    // A disease the service does not know cannot be stored at all.
    let unknown = ChronicFiling {
        id: "C2".into(),
        disease_code: "M99999".into(),
        ..get_chronic_filing(&mut conn, "C1").await.unwrap().unwrap()
    };
    assert!(insert_chronic_filing(&mut conn, &unknown, None).await.is_err());
}

#[sqlx::test(migrations = "../../migrations/filing")]
async fn designations_round_trip_and_are_revoked_once(pool: PgPool) {
    use crate::domain::designation::{Agent, BizAppyType, Designation};
    let mut conn = pool.acquire().await.unwrap();
    let designation = Designation {
        id: "D1".into(),
        psn_no: PsnNo::parse("P1").unwrap(),
        home: a("500155"),
        insutype: "310".into(),
        biz_appy_type: BizAppyType::parse("03").unwrap(),
        fixmedins_code: FixmedinsCode::parse("H50015500011").unwrap(),
        fixmedins_name: "梁平区示例人民医院".into(),
        fix_srt_no: 1,
        begin: d("2026-03-02"),
        end: None,
        tel: "13900000002".into(),
        addr: "梁平区示例路1号".into(),
        agent: Agent { name: "王五".into(), rlts: "1".into(), ..Agent::default() },
        memo: String::new(),
        filed_by: actor(),
        filed_at: "2026-03-02T05:00:00Z".parse().unwrap(),
        revocation: None,
    };
    designations::insert(&mut conn, &designation, Some(("m1", "body"))).await.unwrap();
    assert_eq!(designations::get(&mut conn, "D1").await.unwrap(), Some(designation.clone()));
    assert_eq!(
        designations::of_person(&mut conn, &designation.psn_no).await.unwrap(),
        vec![designation.clone()]
    );
    let (found, body) = designations::by_request(&mut conn, "op-1", "m1").await.unwrap().unwrap();
    assert_eq!((found, body.as_str()), (designation.clone(), "body"));
    // One request id of one sender, one row.
    let twin = Designation { id: "D2".into(), ..designation.clone() };
    assert!(designations::insert(&mut conn, &twin, Some(("m1", "body"))).await.is_err());

    let revocation = Revocation {
        at: "2026-03-02T06:00:00Z".parse().unwrap(),
        on: d("2026-03-02"),
        by: actor(),
        reason: "更换定点医院".into(),
    };
    designations::revoke(&mut conn, "D1", &revocation).await.unwrap();
    let revoked = designations::get(&mut conn, "D1").await.unwrap().unwrap();
    assert_eq!(revoked.revocation, Some(revocation.clone()));
    let again = designations::revoke(&mut conn, "D1", &revocation).await.unwrap_err();
    assert_eq!(again.reason(), "already_revoked");
    assert_eq!(designations::get(&mut conn, "D9").await.unwrap(), None);
}
