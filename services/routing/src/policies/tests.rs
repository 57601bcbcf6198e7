//! The seed documents of `migrations/routing/0008_policy_seeds.sql`, read out of the migration
//! exactly as it stores them (the text between the `$policy$` markers, its id computed as the
//! SQL computes it), and the lookup of the version a visit uses. Other modules' tests settle
//! with [`seed`] and [`seed_book`].

use std::fmt::Write as _;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::*;
use crate::policy::{Care, is_policy_id};

/// The migration that publishes the seed documents.
const SEEDS: &str = include_str!("../../../../migrations/routing/0008_policy_seeds.sql");

/// The texts between the `$policy$` markers, in publication order.
fn seed_texts() -> Vec<&'static str> {
    SEEDS.split("$policy$").skip(1).step_by(2).collect()
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The id the migration gives a text: `<region>-<insutype>-<first 12 hex of its SHA-256>`.
fn seed_id(text: &str, document: &Document) -> String {
    format!("{}-{}-{}", document.region(), document.insutype(), &sha256_hex(text)[..12])
}

/// Every seed document, in publication order, with the id the migration gives it.
pub(crate) fn seed_documents() -> Vec<(String, Document)> {
    seed_texts()
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let document = Document::parse(text)
                .unwrap_or_else(|p| panic!("seed document {} cannot be read: {p:?}", i + 1));
            (seed_id(text, &document), document)
        })
        .collect()
}

/// The book the migration publishes: every seed document, `seq` 1, 2, … in its order.
pub(crate) fn seed_book() -> Book {
    Book::of(seed_versions())
}

fn seed_versions() -> Vec<Version> {
    seed_documents()
        .into_iter()
        .zip(1..)
        .map(|((id, document), seq)| Version { id, seq, document: Arc::new(document) })
        .collect()
}

/// The seed policy of exactly `region` and `insutype` (no lookup), the one published last.
pub(crate) fn seed(region: &str, insutype: &str) -> Policy {
    seed_documents()
        .into_iter()
        .rev()
        .find_map(|(_, document)| match document {
            Document::Policy(policy) if policy.region == region && policy.insutype == insutype => {
                Some(*policy)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no seed policy {region}/{insutype}"))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A day every seed version but Tianjin employees' 2016 is in force on.
fn today() -> NaiveDate {
    date(2026, 6, 1)
}

/// The id of the seed policy of exactly `region` and `insutype`, the one published last.
fn seed_policy_id(region: &str, insutype: &str) -> String {
    seed_documents()
        .into_iter()
        .rev()
        .find(|(_, d)| d.kind() == Kind::Policy && d.region() == region && d.insutype() == insutype)
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("no seed policy {region}/{insutype}"))
}

/// Whether `path` (`a.b[2].c`, as `assumed` and problems name fields) names a field of `value`.
fn resolves(value: &serde_json::Value, path: &str) -> bool {
    let mut at = value;
    for part in path.split('.') {
        let (name, indexes) = part.split_once('[').map_or((part, ""), |(n, rest)| (n, rest));
        let Some(next) = at.get(name) else {
            return false;
        };
        at = next;
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            let Some(next) = index
                .strip_suffix(']')
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| at.get(i))
            else {
                return false;
            };
            at = next;
        }
    }
    true
}

#[test]
fn every_seed_document_is_valid_and_says_where_its_figures_are_from() {
    let texts = seed_texts();
    assert_eq!(texts.len(), 14, "5 national defaults, 2 floors, 7 regional policies");
    let mut ids = Vec::new();
    for (text, (id, document)) in texts.iter().zip(seed_documents()) {
        let problems = document.problems();
        assert!(problems.is_empty(), "{id}: {problems:?}");
        assert!(Document::parse_valid(text).is_ok(), "{id}");
        assert!(is_policy_id(&id), "{id}");
        assert!(!ids.contains(&id), "{id} twice");
        ids.push(id.clone());
        // Pretty JSON, two-space indent, `kind` first.
        let kind = document.kind().as_str();
        assert!(text.starts_with(&format!("{{\n  \"kind\": \"{kind}\",\n  \"region\": ")), "{id}");
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        for field in ["title", "source", "notes"] {
            let value = json.get(field).and_then(|v| v.as_str()).unwrap_or("");
            assert!(!value.trim().is_empty(), "{id}: no {field}");
        }
        let assumed = json.get("assumed").and_then(|v| v.as_array()).unwrap();
        for path in assumed {
            let path = path.as_str().unwrap();
            assert!(resolves(&json, path), "{id}: assumed {path} names no field");
        }
        let Document::Policy(policy) = &document else {
            continue;
        };
        // Medical assistance as the 2021 national opinions set it out, everywhere.
        let assistance =
            policy.assistance.as_ref().unwrap_or_else(|| panic!("{id}: no assistance"));
        for category in ["extreme_poverty", "low_income"] {
            let terms = assistance.categories.iter().find(|c| c.category == category).unwrap();
            assert_eq!(terms.deductible_fen, 0, "{id}: {category}");
            assert!(terms.ratio >= Decimal::new(70, 2), "{id}: {category}");
        }
        assert!(assistance.annual_limit_fen > 0, "{id}");
        // The layers are the scheme's and count inpatient care.
        assert!(!policy.layers.is_empty(), "{id}: no layer");
        assert!(policy.layers.iter().all(|l| l.counts.contains(&Care::Inpatient)), "{id}");
    }
}

#[test]
fn the_seed_ids_are_the_migrations() {
    // The id the migration computes in SQL (`left(encode(sha256(convert_to(t, 'UTF8')),
    // 'hex'), 12)`), for a text known by heart: the SHA-256 of "abc".
    let abc = Document::parse(
        r#"{"kind": "floors", "region": "440000", "insutype": "310", "version": "x",
            "begin_date": "2009-02-23"}"#,
    )
    .unwrap();
    assert_eq!(
        sha256_hex("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(seed_id("abc", &abc).starts_with("440000-310-ba7816bf8f01"));
    let book = seed_book();
    assert_eq!(book.last_seq(), 14);
    for (id, document) in seed_documents() {
        let version = book.by_id(&id).unwrap();
        assert_eq!(version.document.as_ref(), &document);
        assert!(id.starts_with(&format!("{}-{}-", document.region(), document.insutype())));
    }
}

#[test]
fn guangdongs_policies_meet_their_floors() {
    let book = seed_book();
    for insutype in ["310", "390"] {
        let policy = seed("440000", insutype);
        let (floors_id, floors) = book.floors_for("440000", insutype, policy.begin_date).unwrap();
        let below = policy.below(floors, floors_id);
        assert!(below.is_empty(), "440000/{insutype}: {below:?}");
        // A Guangdong city's policy is held to the same floors.
        let (city_floors, _) = book.floors_for("440300", insutype, today()).unwrap();
        assert_eq!(city_floors, floors_id);
    }
    let (_, employees) = book.floors_for("440100", "310", today()).unwrap();
    assert_eq!(employees.inpatient_ratio_min, Some(Decimal::new(80, 2)));
    assert_eq!(employees.annual_ceiling_min_fen, Some(10_000_000));
    let (_, residents) = book.floors_for("440100", "390", today()).unwrap();
    assert_eq!(residents.inpatient_ratio_min, Some(Decimal::new(55, 2)));
    assert_eq!(residents.annual_ceiling_min_fen, Some(6_000_000));
    // No floors before they were published, and none for other provinces.
    assert!(book.floors_for("440000", "310", date(2009, 2, 22)).is_none());
    assert!(book.floors_for("420200", "310", today()).is_none());
}

#[test]
fn the_region_then_its_city_then_its_province_then_the_national_default() {
    let book = seed_book();
    let found = |home: &str, insutype: &str, on: NaiveDate| {
        book.version_for(home, insutype, on).map(|v| v.id.clone()).unwrap()
    };
    let huangshi = seed_policy_id("420200", "310");
    assert_eq!(found("420200", "310", today()), huangshi, "Huangshi's own");
    assert_eq!(found("420204", "310", today()), huangshi, "a Huangshi county: its city's");
    assert_eq!(found("420200", "310", date(2010, 9, 1)), huangshi, "from the day it is in force");
    assert_eq!(
        found("440300", "390", today()),
        seed_policy_id("440000", "390"),
        "Shenzhen: Guangdong province's"
    );
    assert_eq!(found("420100", "310", today()), seed_policy_id("000000", "310"), "Wuhan: none");
    assert_eq!(
        found("420200", "390", today()),
        seed_policy_id("000000", "390"),
        "Huangshi's residents: none"
    );
    assert_eq!(found("120101", "392", today()), seed_policy_id("000000", "392"));
    let policy = book.policy_for("420204", "310", today()).unwrap();
    assert_eq!((policy.id, policy.policy.region.as_str()), (huangshi, "420200"));
    // A floors document is found by its id, but is not a policy.
    let (floors_id, _) =
        seed_documents().into_iter().find(|(_, d)| d.kind() == Kind::Floors).unwrap();
    assert!(book.by_id(&floors_id).is_some());
    assert!(book.policy(&floors_id).is_err());
}

#[test]
fn before_its_begin_date_a_regions_policy_is_not_used() {
    let book = seed_book();
    // Before 2010-09-01 Huangshi's policy is not in force; the national default begins on
    // 2020-01-01, so nothing is.
    let refused = book.version_for("420200", "310", date(2010, 8, 31)).unwrap_err();
    assert_eq!(refused.reason(), "no_policy");
    // A region whose first version begins later uses the national default until then.
    let mut later = seed("420200", "310");
    later.region = "420300".into();
    later.version = "2030".into();
    later.begin_date = date(2030, 1, 1);
    let later =
        Version { id: "420300-310-000000000001".into(), seq: 15, document: document(later) };
    let book = Book::of(seed_versions().into_iter().chain([later]));
    let id = |on| book.version_for("420300", "310", on).unwrap().id.clone();
    assert_eq!(id(date(2029, 12, 31)), seed_policy_id("000000", "310"));
    assert_eq!(id(date(2030, 1, 1)), "420300-310-000000000001");
}

fn document(policy: Policy) -> Arc<Document> {
    Arc::new(Document::Policy(Box::new(policy)))
}

#[test]
fn the_version_published_last_wins_and_ended_versions_are_skipped() {
    let huangshi = seed_policy_id("420200", "310");
    // A correction of Huangshi's policy, published after it.
    let mut corrected = seed("420200", "310");
    corrected.version = "2010-09-b".into();
    let corrected =
        Version { id: "420200-310-00000000000b".into(), seq: 15, document: document(corrected) };
    // A later publication that ended before the day asked about.
    let mut ended = seed("420200", "310");
    ended.version = "2011".into();
    ended.begin_date = date(2011, 1, 1);
    ended.end_date = Some(date(2011, 12, 31));
    let ended =
        Version { id: "420200-310-00000000000c".into(), seq: 16, document: document(ended) };
    let book = Book::of(seed_versions().into_iter().chain([ended, corrected]));
    let id = |on| book.version_for("420200", "310", on).unwrap().id.clone();
    assert_eq!(id(today()), "420200-310-00000000000b", "the correction, published later");
    assert_eq!(id(date(2011, 6, 1)), "420200-310-00000000000c", "in force and published last");
    assert_eq!(id(date(2012, 1, 1)), "420200-310-00000000000b", "ended on 2011-12-31");
    // Every version stays reachable by its id (settlements record it).
    assert!(book.policy(&huangshi).is_ok());
    assert_eq!(book.last_seq(), 16);

    // Tianjin employees: version 2016 ends on 2016-12-31, version 2017 follows it.
    let book = seed_book();
    let tianjin = |on| book.policy_for("120000", "310", on).unwrap().policy.version.clone();
    assert_eq!(tianjin(date(2016, 6, 1)), "2016");
    assert_eq!(tianjin(date(2016, 12, 31)), "2016");
    assert_eq!(tianjin(date(2017, 1, 1)), "2017");
    assert_eq!(tianjin(today()), "2017");
    assert!(book.version_for("120000", "310", date(2015, 12, 31)).is_err());
}

#[test]
fn a_policy_book_takes_new_publications_without_losing_the_old() {
    let book = PolicyBook::of(seed_versions());
    let mut corrected = seed("140000", "390");
    corrected.version = "2017-07-b".into();
    let id = "140000-390-00000000000b".to_owned();
    let version = Version { id: id.clone(), seq: 15, document: document(corrected) };
    book.extend(vec![version.clone(), version]);
    let current = book.current();
    assert_eq!(current.last_seq(), 15);
    assert_eq!(current.policy_for("140300", "390", today()).unwrap().id, id);
    assert!(current.policy(&seed_policy_id("140000", "390")).is_ok());
    let refused = current.policy(&seed_policy_id("440000", "310").replace("440000", "440001"));
    assert_eq!(refused.unwrap_err().reason(), "policy_not_found");
}

#[test]
fn the_seed_documents_are_in_their_canonical_form() {
    // So a seed document published again through the API is the same version (its id).
    let text = include_str!("../../../../migrations/routing/0008_policy_seeds.sql");
    let texts: Vec<&str> = text.split("$policy$").skip(1).step_by(2).collect();
    assert_eq!(texts.len(), seed_documents().len());
    for (text, (id, document)) in texts.iter().zip(seed_documents()) {
        assert_eq!(document.canonical().unwrap(), *text, "{id}");
        assert_eq!(document.identity().unwrap().id, id);
    }
}
