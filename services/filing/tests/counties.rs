//! Every admdvs of reference/admdvs.csv is a region the filing service knows, and a county's
//! filings follow its city's, then its province's rules: the use cases on PostgreSQL, as the
//! gRPC edge calls them.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::sync::Arc;

use chrono::NaiveDate;
use medclear_common::{
    Error, Result,
    clock::FixedClock,
    codes::{Admdvs, PsnNo},
};
use medclear_filing::{
    FilingService,
    domain::{
        Actor, Category, Channel, Coverage, CoverageBasis, CoverageQuery, NewFiling, RuleOverrides,
    },
};
use sqlx::PgPool;

const TODAY: &str = "2026-03-02";

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn a(code: &str) -> Admdvs {
    Admdvs::parse(code).unwrap()
}

fn service(pool: PgPool) -> FilingService {
    FilingService::new(pool, Arc::new(FixedClock::at_date(d(TODAY))))
}

fn agency() -> Actor {
    Actor { id: "op-1".into(), channel: Channel::Agency }
}

/// A referral of a person insured in `home` for treatment in `destination`, from today.
fn referral(home: &str, destination: &str) -> NewFiling {
    NewFiling {
        psn_no: PsnNo::parse("P430102000001").unwrap(),
        psn_name: "刘芳".into(),
        home: a(home),
        destination: a(destination),
        category: Category::Referral,
        begin: d(TODAY),
        end: None,
        memo: String::new(),
    }
}

/// The reason and field of a refusal.
fn refusal<T: std::fmt::Debug>(result: Result<T>) -> (String, Option<String>) {
    match result.unwrap_err() {
        Error::Problem(p) => (p.reason.into_owned(), p.field.map(|f| f.into_owned())),
        other => panic!("not a refusal: {other:?}"),
    }
}

fn months(n: u32) -> RuleOverrides {
    RuleOverrides { temporary_min_validity_months: Some(n), ..Default::default() }
}

#[sqlx::test(migrations = "../../migrations/filing")]
async fn a_person_insured_in_a_county_files_under_hunans_then_changshas_rules(pool: PgPool) {
    let service = service(pool);
    service.set_region_rules(&a("430000"), months(12), agency()).await.unwrap();
    // Insured in Changsha's Furong district, treated in Shenzhen's Nanshan district: Hunan's
    // twelve months, as Changsha and Furong set nothing.
    let filing = service.create_filing(referral("430102", "440305"), agency(), None).await.unwrap();
    assert_eq!((filing.filing.begin, filing.filing.end), (d(TODAY), Some(d("2027-03-01"))));
    assert_eq!(service.region_rules(&a("430102")).await.unwrap().temporary_min_validity_months, 12);
    // Changsha's own rule then applies to its districts; another Hunan city keeps Hunan's.
    service.set_region_rules(&a("430100"), months(9), agency()).await.unwrap();
    let shanghai =
        service.create_filing(referral("430102", "310101"), agency(), None).await.unwrap();
    assert_eq!(shanghai.filing.end, Some(d("2026-12-01")));
    assert_eq!(service.region_rules(&a("430102")).await.unwrap().temporary_min_validity_months, 9);
    assert_eq!(service.region_rules(&a("430211")).await.unwrap().temporary_min_validity_months, 12);

    // The routing service's question, for the county: covered in Nanshan, not in Futian.
    let query = |treating: &str| CoverageQuery {
        psn_no: PsnNo::parse("P430102000001").unwrap(),
        home: a("430102"),
        treating: a(treating),
        date: d("2026-06-01"),
        emergency: false,
        admission: None,
    };
    let covered = service.check_coverage(&query("440305")).await.unwrap();
    assert_eq!(
        covered,
        Coverage::Covered {
            basis: CoverageBasis::Filing,
            category: Some(Category::Referral),
            filing_id: Some(filing.filing.id.clone()),
        }
    );
    let elsewhere = service.check_coverage(&query("440304")).await.unwrap();
    assert!(matches!(elsewhere, Coverage::NotCovered { reason: "no_filing", .. }), "{elsewhere:?}");
    // Within Hunan no filing is needed: the first two digits decide.
    let home = service.check_coverage(&query("430211")).await.unwrap();
    assert!(matches!(home, Coverage::Covered { basis: CoverageBasis::SameProvince, .. }));
    let same = service.create_filing(referral("430102", "430211"), agency(), None).await;
    assert_eq!(refusal(same), ("same_province".into(), Some("mdtrtarea_admvs".into())));
}

#[sqlx::test(migrations = "../../migrations/filing")]
async fn a_code_outside_the_reference_file_is_still_an_unknown_region(pool: PgPool) {
    let service = service(pool);
    for code in ["430199", "999999"] {
        let home = service.create_filing(referral(code, "440305"), agency(), None).await;
        assert_eq!(refusal(home), ("unknown_region".into(), Some("insuplc_admdvs".into())));
        let destination = service.create_filing(referral("430102", code), agency(), None).await;
        assert_eq!(
            refusal(destination),
            ("unknown_region".into(), Some("mdtrtarea_admvs".into())),
            "{code}"
        );
        let rules = service.set_region_rules(&a(code), months(9), agency()).await;
        assert_eq!(refusal(rules), ("unknown_region".into(), Some("insuplc_admdvs".into())));
    }
    // A county directly under its province (仙桃市, Hubei), treated in another (石河子市,
    // Xinjiang): known like any other.
    let xiantao = service.create_filing(referral("429004", "659001"), agency(), None).await;
    assert!(xiantao.is_ok(), "{xiantao:?}");
}
