//! The filing rules at their boundaries.

use super::*;

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn a(code: &str) -> Admdvs {
    Admdvs::parse(code).unwrap()
}

fn psn() -> PsnNo {
    PsnNo::parse("P420200001").unwrap()
}

fn citizen() -> Actor {
    Actor { id: "P420200001".into(), channel: Channel::CitizenOnline }
}

fn known(code: &Admdvs) -> bool {
    ["420000", "420200", "440000", "440300", "310000", "110000"].contains(&code.as_str())
}

fn new_filing(category: Category, dest: &str, begin: &str, end: Option<&str>) -> NewFiling {
    NewFiling {
        psn_no: psn(),
        psn_name: "张三".into(),
        home: a("420200"),
        destination: a(dest),
        category,
        begin: d(begin),
        end: end.map(d),
        memo: String::new(),
    }
}

fn stored(id: &str, category: Category, dest: &str, begin: &str, end: Option<&str>) -> Filing {
    Filing {
        id: id.into(),
        psn_no: psn(),
        psn_name: "张三".into(),
        home: a("420200"),
        destination: a(dest),
        category,
        begin: d(begin),
        end: end.map(d),
        memo: String::new(),
        filed_by: citizen(),
        filed_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        revocation: None,
    }
}

fn revoked(mut filing: Filing, on: &str) -> Filing {
    filing.revocation = Some(Revocation {
        at: format!("{on}T02:00:00Z").parse().unwrap(),
        on: d(on),
        by: citizen(),
        reason: "moved back".into(),
    });
    filing
}

fn reason(result: Result<impl std::fmt::Debug>) -> String {
    result.unwrap_err().reason().to_owned()
}

const TODAY: &str = "2026-01-15";

fn validate(new: &NewFiling, existing: &[Filing]) -> Result<Validity> {
    validate_new_filing(new, known, &Rules::default(), d(TODAY), existing)
}

#[test]
fn temporary_filing_gets_six_months_by_default() {
    let v = validate(&new_filing(Category::Referral, "440000", TODAY, None), &[]).unwrap();
    assert_eq!(v, Validity { begin: d("2026-01-15"), end: Some(d("2026-07-14")) });
}

#[test]
fn temporary_end_must_reach_the_minimum_validity() {
    let short = new_filing(Category::OtherTemporary, "440000", TODAY, Some("2026-07-13"));
    assert_eq!(reason(validate(&short, &[])), "validity_too_short");
    let exact = new_filing(Category::OtherTemporary, "440000", TODAY, Some("2026-07-14"));
    assert_eq!(validate(&exact, &[]).unwrap().end, Some(d("2026-07-14")));
    let rules = RuleOverrides { temporary_min_validity_months: Some(3), ..Default::default() }
        .apply(Rules::default());
    let three = new_filing(Category::OtherTemporary, "440000", TODAY, Some("2026-04-14"));
    assert!(validate_new_filing(&three, known, &rules, d(TODAY), &[]).is_ok());
}

#[test]
fn long_term_filing_is_open_ended() {
    let v = validate(&new_filing(Category::RetireeResettled, "440300", TODAY, None), &[]).unwrap();
    assert_eq!(v.end, None);
    let with_end = new_filing(Category::StationedWorker, "440300", TODAY, Some("2027-01-15"));
    assert_eq!(reason(validate(&with_end, &[])), "long_term_is_open_ended");
}

#[test]
fn end_before_begin_is_refused() {
    let f = new_filing(Category::Referral, "440000", TODAY, Some("2026-01-14"));
    let err = validate(&f, &[]).unwrap_err();
    assert_eq!(err.reason(), "end_before_begin");
    let Error::Problem(p) = err else { panic!() };
    assert_eq!(p.field.as_deref(), Some("end_date"));
}

#[test]
fn rules_are_the_defaults_then_province_city_and_region_overrides_in_turn() {
    assert_eq!(rules_in_force(&[]), Rules::default());
    let province = RuleOverrides {
        temporary_min_validity_months: Some(12),
        late_filing_allowed: Some(false),
        ..Default::default()
    };
    let city = RuleOverrides { temporary_min_validity_months: Some(9), ..Default::default() };
    let county = RuleOverrides { max_advance_days: Some(30), ..Default::default() };
    // A county with rules of its own, in a city and a province with theirs.
    let rules = rules_in_force(&[province, city, county]);
    assert_eq!(
        (rules.temporary_min_validity_months, rules.late_filing_allowed, rules.max_advance_days),
        (9, false, 30)
    );
    assert_eq!(rules.long_term_revoke_lock_months, 6, "set nowhere: the default");
    // A county without rules of its own in a city without any: its province's.
    assert_eq!(rules_in_force(&[province]).temporary_min_validity_months, 12);
}

#[test]
fn a_county_files_like_any_region_and_compares_provinces_by_its_first_two_digits() {
    let county = |code: &Admdvs| ["430102", "440305", "430000", "440000"].contains(&code.as_str());
    let new = |home: &str, dest: &str| NewFiling {
        home: a(home),
        ..new_filing(Category::Referral, dest, TODAY, None)
    };
    let check = |f: &NewFiling| validate_new_filing(f, county, &Rules::default(), d(TODAY), &[]);
    assert!(check(&new("430102", "440305")).is_ok());
    assert!(check(&new("430102", "440000")).is_ok());
    assert_eq!(reason(check(&new("430102", "430000"))), "same_province");
    assert_eq!(reason(check(&new("430199", "440305"))), "unknown_region");
    // Coverage of a filing for a county's city reaches the county; the reverse does not.
    let q = CoverageQuery { home: a("430102"), treating: a("440305"), ..query("2026-03-01") };
    let filing = |dest: &str| Filing {
        home: a("430102"),
        ..stored("F1", Category::Referral, dest, TODAY, None)
    };
    assert!(matches!(
        check_coverage(&q, &Rules::default(), &[filing("440300")], now()).unwrap(),
        Coverage::Covered { basis: CoverageBasis::Filing, .. }
    ));
    let q = CoverageQuery { treating: a("440300"), ..q };
    assert!(matches!(
        check_coverage(&q, &Rules::default(), &[filing("440305")], now()).unwrap(),
        Coverage::NotCovered { reason: "no_filing", .. }
    ));
}

#[test]
fn regions_must_be_known_and_in_different_provinces() {
    let unknown = new_filing(Category::Referral, "450000", TODAY, None);
    assert_eq!(reason(validate(&unknown, &[])), "unknown_region");
    let same = new_filing(Category::Referral, "420000", TODAY, None);
    assert_eq!(reason(validate(&same, &[])), "same_province");
}

#[test]
fn begin_date_window() {
    let yesterday = new_filing(Category::Referral, "440000", "2026-01-14", None);
    assert_eq!(reason(validate(&yesterday, &[])), "begin_too_early");
    let last = new_filing(Category::Referral, "440000", "2027-01-15", None);
    assert!(validate(&last, &[]).is_ok());
    let beyond = new_filing(Category::Referral, "440000", "2027-01-16", None);
    assert_eq!(reason(validate(&beyond, &[])), "begin_too_late");
    let rules =
        RuleOverrides { max_backdate_days: Some(1), ..Default::default() }.apply(Rules::default());
    assert!(validate_new_filing(&yesterday, known, &rules, d(TODAY), &[]).is_ok());
}

#[test]
fn overlapping_filings_for_the_same_destination_are_refused() {
    let existing = [stored("F1", Category::Referral, "440000", "2026-01-01", Some("2026-06-30"))];
    // A city inside the province, starting on the existing filing's last day: overlaps.
    let touching = new_filing(Category::OtherTemporary, "440300", "2026-06-30", None);
    let rules = RuleOverrides { max_advance_days: Some(3000), ..Default::default() }
        .apply(Rules::default());
    let check = |f: &NewFiling, existing: &[Filing]| {
        validate_new_filing(f, known, &rules, d(TODAY), existing)
    };
    assert_eq!(reason(check(&touching, &existing)), "overlapping_filing");
    // The day after: fine.
    assert!(
        check(&new_filing(Category::OtherTemporary, "440300", "2026-07-01", None), &existing)
            .is_ok()
    );
    // Another province at the same time: fine.
    assert!(check(&new_filing(Category::Referral, "310000", TODAY, None), &existing).is_ok());
    // An open-ended long-term filing overlaps everything after its start.
    let long = [stored("F2", Category::LongTermResident, "440300", "2025-01-01", None)];
    assert_eq!(
        reason(check(&new_filing(Category::Referral, "440000", "2030-01-01", None), &long)),
        "overlapping_filing"
    );
}

#[test]
fn a_revoked_filing_stops_covering_from_its_revocation_day() {
    let gone = revoked(
        stored("F1", Category::Referral, "440000", "2026-01-01", Some("2026-06-30")),
        "2026-03-01",
    );
    assert_eq!(gone.validity().end, Some(d("2026-02-28")));
    let rules = RuleOverrides { max_backdate_days: Some(3000), ..Default::default() }
        .apply(Rules::default());
    let check = |begin: &str| {
        validate_new_filing(
            &new_filing(Category::Referral, "440000", begin, None),
            known,
            &rules,
            d(TODAY),
            std::slice::from_ref(&gone),
        )
    };
    assert!(check("2026-03-01").is_ok());
    assert_eq!(reason(check("2026-02-28")), "overlapping_filing");
    // Revoked before it began: it never covered anything.
    let never =
        revoked(stored("F3", Category::Referral, "440000", "2026-05-01", None), "2026-02-01");
    assert!(never.validity().is_empty());
}

#[test]
fn long_term_filings_are_locked_for_six_months_after_taking_effect() {
    let rules = Rules::default();
    let f = stored("F1", Category::RetireeResettled, "440300", "2026-01-10", None);
    assert_eq!(f.revocable_from(&rules), Some(d("2026-07-10")));
    assert!(
        check_revocable(&f, &rules, d("2026-01-09")).is_ok(),
        "not yet in effect: may be withdrawn"
    );
    assert_eq!(reason(check_revocable(&f, &rules, d("2026-01-10"))), "revoke_locked");
    assert_eq!(reason(check_revocable(&f, &rules, d("2026-07-09"))), "revoke_locked");
    assert!(check_revocable(&f, &rules, d("2026-07-10")).is_ok());
    let unlocked =
        RuleOverrides { long_term_revoke_lock_months: Some(0), ..Default::default() }.apply(rules);
    assert!(check_revocable(&f, &unlocked, d("2026-02-01")).is_ok());
    // Temporary filings have no lock.
    let t = stored("F2", Category::Referral, "440000", "2026-01-10", Some("2026-07-09"));
    assert!(check_revocable(&t, &rules, d("2026-01-11")).is_ok());
}

#[test]
fn revoked_or_expired_filings_cannot_be_revoked() {
    let rules = Rules::default();
    let t = stored("F2", Category::Referral, "440000", "2026-01-10", Some("2026-07-09"));
    assert!(check_revocable(&t, &rules, d("2026-07-09")).is_ok(), "last day: still in force");
    assert_eq!(reason(check_revocable(&t, &rules, d("2026-07-10"))), "filing_expired");
    assert_eq!(
        reason(check_revocable(&revoked(t, "2026-02-01"), &rules, d("2026-02-02"))),
        "already_revoked"
    );
}

fn query(date: &str) -> CoverageQuery {
    CoverageQuery {
        psn_no: psn(),
        home: a("420200"),
        treating: a("440300"),
        date: d(date),
        emergency: false,
        admission: None,
    }
}

fn now() -> DateTime<Utc> {
    "2026-08-01T00:00:00Z".parse().unwrap()
}

#[test]
fn coverage_follows_the_validity_boundaries() {
    let rules = Rules::default();
    let filings = [stored("F1", Category::Referral, "440000", "2026-01-15", Some("2026-07-14"))];
    let at = |date: &str| check_coverage(&query(date), &rules, &filings, now()).unwrap();
    assert!(matches!(at("2026-01-14"), Coverage::NotCovered { reason: "no_filing", .. }));
    assert_eq!(
        at("2026-01-15"),
        Coverage::Covered {
            basis: CoverageBasis::Filing,
            category: Some(Category::Referral),
            filing_id: Some("F1".into())
        }
    );
    assert!(matches!(at("2026-07-14"), Coverage::Covered { basis: CoverageBasis::Filing, .. }));
    assert!(matches!(at("2026-07-15"), Coverage::NotCovered { .. }));
}

#[test]
fn a_city_filing_covers_only_that_city() {
    let rules = Rules::default();
    let filings = [stored("F1", Category::LongTermResident, "440300", "2026-01-01", None)];
    assert!(matches!(
        check_coverage(&query("2026-03-01"), &rules, &filings, now()).unwrap(),
        Coverage::Covered { .. }
    ));
    let guangzhou = CoverageQuery { treating: a("440100"), ..query("2026-03-01") };
    assert!(matches!(
        check_coverage(&guangzhou, &rules, &filings, now()).unwrap(),
        Coverage::NotCovered { .. }
    ));
}

#[test]
fn emergency_counts_as_filed_unless_the_home_region_says_otherwise() {
    let q = CoverageQuery { emergency: true, ..query("2026-03-01") };
    assert_eq!(
        check_coverage(&q, &Rules::default(), &[], now()).unwrap(),
        Coverage::Covered {
            basis: CoverageBasis::EmergencyUnfiled,
            category: Some(Category::Emergency),
            filing_id: None
        }
    );
    let strict = RuleOverrides { emergency_counts_as_filed: Some(false), ..Default::default() }
        .apply(Rules::default());
    assert!(matches!(
        check_coverage(&q, &strict, &[], now()).unwrap(),
        Coverage::NotCovered { .. }
    ));
}

#[test]
fn a_filing_made_after_admission_but_before_discharge_settlement_covers_the_admission() {
    let mut late =
        stored("F9", Category::OtherTemporary, "440000", "2026-03-05", Some("2026-09-04"));
    late.filed_at = "2026-03-05T03:00:00Z".parse().unwrap();
    let filings = [late];
    let q = CoverageQuery { admission: Some(d("2026-03-01")), ..query("2026-03-10") };
    let rules = Rules::default();
    assert_eq!(
        check_coverage(&q, &rules, &filings, now()).unwrap(),
        Coverage::Covered {
            basis: CoverageBasis::LateFiling,
            category: Some(Category::OtherTemporary),
            filing_id: Some("F9".into())
        }
    );
    // Settled before the filing existed: the filing cannot reach back.
    let before: DateTime<Utc> = "2026-03-04T00:00:00Z".parse().unwrap();
    assert!(matches!(
        check_coverage(&q, &rules, &filings, before).unwrap(),
        Coverage::NotCovered { .. }
    ));
    // Discharge settlement before the filing's begin: not covered either.
    let early = CoverageQuery { admission: Some(d("2026-03-01")), ..query("2026-03-04") };
    assert!(matches!(
        check_coverage(&early, &rules, &filings, now()).unwrap(),
        Coverage::NotCovered { .. }
    ));
    let strict =
        RuleOverrides { late_filing_allowed: Some(false), ..Default::default() }.apply(rules);
    assert!(matches!(
        check_coverage(&q, &strict, &filings, now()).unwrap(),
        Coverage::NotCovered { .. }
    ));
    // Without an admission date (outpatient) the filing simply starts later.
    assert!(matches!(
        check_coverage(&query("2026-03-04"), &rules, &filings, now()).unwrap(),
        Coverage::NotCovered { .. }
    ));
}

#[test]
fn same_province_needs_no_filing_and_admission_must_precede_settlement() {
    let q = CoverageQuery { treating: a("420000"), ..query("2026-03-01") };
    assert!(matches!(
        check_coverage(&q, &Rules::default(), &[], now()).unwrap(),
        Coverage::Covered { basis: CoverageBasis::SameProvince, .. }
    ));
    let bad = CoverageQuery { admission: Some(d("2026-03-02")), ..query("2026-03-01") };
    assert_eq!(reason(check_coverage(&bad, &Rules::default(), &[], now())), "admission_after_date");
}

fn new_chronic(code: &str, begin: &str) -> NewChronicFiling {
    NewChronicFiling {
        psn_no: psn(),
        home: a("420200"),
        disease_code: code.into(),
        diagnosed_by: FixmedinsCode::parse("H42020000001").unwrap(),
        begin: d(begin),
        end: None,
    }
}

#[test]
fn chronic_filings() {
    let rules = Rules::default();
    let today = d(TODAY);
    assert_eq!(
        reason(validate_new_chronic_filing(
            &new_chronic("M03900", TODAY),
            false,
            true,
            &rules,
            today,
            &[]
        )),
        "unknown_region"
    );
    assert_eq!(
        reason(validate_new_chronic_filing(
            &new_chronic("X", TODAY),
            true,
            false,
            &rules,
            today,
            &[]
        )),
        "unknown_disease"
    );
    let v =
        validate_new_chronic_filing(&new_chronic("M03900", TODAY), true, true, &rules, today, &[])
            .unwrap();
    assert_eq!(v.end, None);
    let existing = ChronicFiling {
        id: "C1".into(),
        psn_no: psn(),
        home: a("420200"),
        disease_code: "M03900".into(),
        disease_name: "高血压".into(),
        diagnosed_by: FixmedinsCode::parse("H42020000001").unwrap(),
        begin: d("2026-01-01"),
        end: None,
        filed_by: citizen(),
        filed_at: now(),
        revocation: None,
    };
    let all = [existing.clone()];
    assert_eq!(
        reason(validate_new_chronic_filing(
            &new_chronic("M03900", TODAY),
            true,
            true,
            &rules,
            today,
            &all
        )),
        "overlapping_filing"
    );
    assert!(
        validate_new_chronic_filing(&new_chronic("M01600", TODAY), true, true, &rules, today, &all)
            .is_ok()
    );
    assert_eq!(
        chronic_filing_on(&all, "M03900", d("2026-01-01")).map(|f| f.id.as_str()),
        Some("C1")
    );
    assert!(chronic_filing_on(&all, "M03900", d("2025-12-31")).is_none());
    assert!(chronic_filing_on(&all, "M01600", d("2026-02-01")).is_none());
    assert!(check_chronic_revocable(&existing, today).is_ok());
    let mut gone = existing;
    gone.revocation =
        Some(Revocation { at: now(), on: d("2026-02-01"), by: citizen(), reason: String::new() });
    assert_eq!(reason(check_chronic_revocable(&gone, today)), "already_revoked");
    assert!(chronic_filing_on(std::slice::from_ref(&gone), "M03900", d("2026-02-01")).is_none());
}

#[test]
fn codes_round_trip() {
    for c in Category::ALL {
        assert_eq!(Category::parse(c.as_str()), Some(c));
    }
    assert_eq!(Category::parse("vacation"), None);
    for c in Channel::ALL {
        assert_eq!(Channel::parse(c.as_str()), Some(c));
    }
    assert_eq!(Category::ALL.iter().filter(|c| c.is_long_term()).count(), 3);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    const DESTINATIONS: [&str; 4] = ["440000", "440300", "310000", "110000"];

    fn request() -> impl Strategy<Value = (usize, usize, i64, Option<i64>, Option<i64>)> {
        // (category, destination, begin offset, end length in days, revoked after days)
        (
            0..6usize,
            0..4usize,
            0..400i64,
            proptest::option::of(0..400i64),
            proptest::option::of(0..300i64),
        )
    }

    proptest! {
        /// Whatever people ask for, in whatever order, the filings that are accepted never
        /// cover the same place on the same day.
        #[test]
        fn accepted_filings_never_overlap(requests in proptest::collection::vec(request(), 1..25)) {
            let today = d("2026-01-01");
            let rules = RuleOverrides { max_advance_days: Some(1000), ..Default::default() }.apply(Rules::default());
            let mut accepted: Vec<Filing> = Vec::new();
            for (n, (category, dest, begin, len, revoke_after)) in requests.into_iter().enumerate() {
                let begin = today + chrono::Duration::days(begin);
                let new = NewFiling {
                    category: Category::ALL[category],
                    end: len.map(|l| begin + chrono::Duration::days(l)),
                    ..new_filing(Category::Referral, DESTINATIONS[dest], "2026-01-01", None)
                };
                let new = NewFiling { begin, ..new };
                if let Ok(validity) = validate_new_filing(&new, known, &rules, today, &accepted) {
                    let mut filing = stored(&format!("F{n}"), new.category, DESTINATIONS[dest], "2026-01-01", None);
                    filing.begin = validity.begin;
                    filing.end = validity.end;
                    if let Some(after) = revoke_after {
                        let on = begin + chrono::Duration::days(after);
                        filing = revoked(filing, &on.to_string());
                    }
                    accepted.push(filing);
                }
            }
            for (i, a) in accepted.iter().enumerate() {
                for b in &accepted[i + 1..] {
                    let clash = a.destination.overlaps(&b.destination) && a.validity().overlaps(&b.validity());
                    prop_assert!(!clash, "{} and {} overlap", a.id, b.id);
                }
            }
        }

        #[test]
        fn validity_overlap_is_symmetric_and_agrees_with_days(
            a in (0..60i64, proptest::option::of(0..60i64)),
            b in (0..60i64, proptest::option::of(0..60i64)),
        ) {
            let base = d("2026-01-01");
            let v = |(begin, len): (i64, Option<i64>)| Validity {
                begin: base + chrono::Duration::days(begin),
                end: len.map(|l| base + chrono::Duration::days(begin + l)),
            };
            let (va, vb) = (v(a), v(b));
            prop_assert_eq!(va.overlaps(&vb), vb.overlaps(&va));
            let shared_day = (0..130).map(|i| base + chrono::Duration::days(i)).any(|day| va.contains(day) && vb.contains(day));
            prop_assert_eq!(va.overlaps(&vb), shared_day);
        }
    }
}
