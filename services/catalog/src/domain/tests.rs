//! The catalogue rules at their boundaries.

use super::*;

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn a(code: &str) -> Admdvs {
    Admdvs::parse(code).unwrap()
}

fn ratio(text: &str) -> Decimal {
    text.parse().unwrap()
}

#[test]
fn every_code_kind_has_its_format() {
    let cases: [(ItemKind, &[&str], &[&str]); 9] = [
        (
            ItemKind::WesternDrug,
            &["XL02BBA326A001010102180", "XA01AAA0001010100000"],
            &[
                "ZL02BBA326A001010102180",
                "Xl02BBA326A001010102180",
                "XL02",
                "XL02BBA326A0010101021800",
            ],
        ),
        (
            ItemKind::PatentDrug,
            &["ZA01AAA0001010100000001"],
            &["XA01AAA0001010100000001", "Z-01AAA0001010100000001"],
        ),
        (
            ItemKind::Herbal,
            &["T000100001", "T0001000010000"],
            &["T00010000", "X000100001", "t000100001"],
        ),
        (
            ItemKind::Service,
            &["003401000230600"],
            &["00340100023060", "0034010002306000", "00340100023060A"],
        ),
        (
            ItemKind::Consumable,
            &["C0101010011303807555"],
            &["C010101001130380755", "C01010100113038075A5", "D0101010011303807555"],
        ),
        (
            ItemKind::Diagnosis,
            &["I10.x00x002", "E11.900", "S33.500x011", "I10"],
            &["i10.x00", "I1.900", "E11.", "E11.900x01", "E11.9000", "E11-900"],
        ),
        (
            ItemKind::Operation,
            &["36.0601x001", "36.06", "00.10"],
            &["3606", "36.0", "00.1", "36.06011", "36.06x01", "A6.06"],
        ),
        (
            ItemKind::DiseasePayment,
            &["K80.100", "K35.800x001", "B01", "A"],
            &["", "k80.100", "80.100", "K80 100", "K80.100/001", "K80-100", &"K".repeat(31)],
        ),
        (ItemKind::DaySurgery, &["H25.900x001", "N20.000"], &["h25.900", "H25.900;", "H25/900"]),
    ];
    for (kind, good, bad) in cases {
        for code in good {
            assert!(kind.accepts(code), "{kind:?} should accept {code}");
        }
        for code in bad {
            assert!(!kind.accepts(code), "{kind:?} should refuse {code}");
        }
    }
}

#[test]
fn kinds_and_classes_round_trip() {
    for kind in ItemKind::ALL {
        assert_eq!(ItemKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(CoverageClass::parse("乙"), Some(CoverageClass::B));
    assert_eq!(CoverageClass::parse("丁"), None);
    assert_eq!(Scope::parse("000000"), Some(Scope::National));
    assert_eq!(Scope::parse("440300"), Some(Scope::Region(a("440300"))));
    assert_eq!(Scope::parse("44030"), None);
}

#[test]
fn scope_chain_runs_from_the_region_to_the_nation() {
    assert_eq!(
        Scope::chain(&a("500155")),
        vec![
            Scope::Region(a("500155")),
            Scope::Region(a("500100")),
            Scope::Region(a("500000")),
            Scope::National
        ]
    );
    assert_eq!(
        Scope::chain(&a("440300")),
        vec![Scope::Region(a("440300")), Scope::Region(a("440000")), Scope::National]
    );
    assert_eq!(Scope::chain(&a("440000")), vec![Scope::Region(a("440000")), Scope::National]);
}

fn item(code: &str, kind: ItemKind, begin: &str, end: Option<&str>) -> Item {
    Item {
        code: code.into(),
        kind,
        name: "阿莫西林胶囊".into(),
        spec: "0.25g*24".into(),
        unit: "盒".into(),
        period: Period { begin: d(begin), end: end.map(d) },
        ver: 1,
        operation: None,
    }
}

fn rule(scope: &str, class: CoverageClass, begin: &str, end: Option<&str>) -> CoverageRule {
    CoverageRule {
        id: 1,
        scope: Scope::parse(scope).unwrap(),
        code: "XL02BBA326A001010102180".into(),
        class,
        selfpay_ratio: ratio("0.10"),
        selfpay_ratio_by_insutype: vec![("390".into(), ratio("0.20"))],
        price_cap_fen: Some(3550),
        restrictions: Restrictions::default(),
        period: Period { begin: d(begin), end: end.map(d) },
        ver: 1,
    }
}

const DRUG: &str = "XL02BBA326A001010102180";

#[test]
fn effective_dating_at_the_boundaries() {
    let drug = item(DRUG, ItemKind::WesternDrug, "2024-01-01", Some("2025-06-30"));
    let rules = [
        rule("440000", CoverageClass::B, "2024-01-01", Some("2024-12-31")),
        rule("440000", CoverageClass::A, "2025-01-01", None),
    ];
    let ctx = LineContext::default();
    let at = |date: &str| resolve_item(&drug, &rules, &Scope::chain(&a("440300")), d(date), &ctx);
    assert_eq!(at("2023-12-31").unwrap_err().reason, "not_in_force");
    assert_eq!(at("2024-01-01").unwrap().class, CoverageClass::B);
    assert_eq!(at("2024-12-31").unwrap().class, CoverageClass::B);
    assert_eq!(at("2025-01-01").unwrap().class, CoverageClass::A);
    assert_eq!(at("2025-06-30").unwrap().class, CoverageClass::A);
    assert_eq!(at("2025-07-01").unwrap_err().reason, "not_in_force");
}

#[test]
fn the_most_specific_rule_in_force_applies() {
    let drug = item(DRUG, ItemKind::WesternDrug, "2024-01-01", None);
    let rules = [
        rule("000000", CoverageClass::B, "2024-01-01", None),
        rule("440000", CoverageClass::A, "2024-06-01", None),
    ];
    let ctx = LineContext::default();
    let national =
        resolve_item(&drug, &rules, &Scope::chain(&a("440300")), d("2024-05-31"), &ctx).unwrap();
    assert_eq!((national.class, national.scope), (CoverageClass::B, Scope::National));
    let provincial =
        resolve_item(&drug, &rules, &Scope::chain(&a("440300")), d("2024-06-01"), &ctx).unwrap();
    assert_eq!(
        (provincial.class, provincial.scope, provincial.selfpay_ratio),
        (CoverageClass::A, Scope::Region(a("440000")), Decimal::ZERO)
    );
    let elsewhere =
        resolve_item(&drug, &rules, &Scope::chain(&a("310000")), d("2024-06-01"), &ctx).unwrap();
    assert_eq!(elsewhere.scope, Scope::National);
    // Covered nowhere: out of scope, paid by the patient.
    let uncovered =
        resolve_item(&drug, &[], &Scope::chain(&a("310000")), d("2024-06-01"), &ctx).unwrap();
    assert_eq!((uncovered.class, uncovered.price_cap_fen), (CoverageClass::C, None));
}

#[test]
fn class_b_ratio_depends_on_insutype() {
    let drug = item(DRUG, ItemKind::WesternDrug, "2024-01-01", None);
    let rules = [rule("000000", CoverageClass::B, "2024-01-01", None)];
    let with = |insutype: Option<&str>| {
        let ctx = LineContext { insutype: insutype.map(str::to_owned), ..Default::default() };
        resolve_item(&drug, &rules, &Scope::chain(&a("440300")), d("2024-06-01"), &ctx)
            .unwrap()
            .selfpay_ratio
    };
    assert_eq!(with(None), ratio("0.10"));
    assert_eq!(with(Some("310")), ratio("0.10"));
    assert_eq!(with(Some("390")), ratio("0.20"));
}

#[test]
fn each_restriction_kind() {
    let by_level =
        Restrictions { hospital_levels: vec![HospitalLevel::Tertiary], ..Default::default() };
    let by_diagnosis =
        Restrictions { diagnosis_prefixes: vec!["E11".into(), "E10".into()], ..Default::default() };
    let by_age = Restrictions { min_age: Some(18), max_age: Some(65), ..Default::default() };
    let ctx =
        |level: Option<HospitalLevel>, diagnosis: Option<&str>, age: Option<u32>| LineContext {
            hospital_level: level,
            diagnosis: diagnosis.map(str::to_owned),
            age,
            insutype: None,
        };
    assert_eq!(Restrictions::default().check(&ctx(None, None, None)), Ok(RestrictionOutcome::None));
    assert_eq!(
        by_level.check(&ctx(Some(HospitalLevel::Tertiary), None, None)),
        Ok(RestrictionOutcome::Satisfied)
    );
    assert!(
        by_level
            .check(&ctx(Some(HospitalLevel::Secondary), None, None))
            .unwrap_err()
            .contains("tertiary")
    );
    assert_eq!(by_level.check(&ctx(None, None, None)), Ok(RestrictionOutcome::Unchecked));
    assert_eq!(
        by_diagnosis.check(&ctx(None, Some("E11.900"), None)),
        Ok(RestrictionOutcome::Satisfied)
    );
    assert_eq!(
        by_diagnosis.check(&ctx(None, Some("E10.x00"), None)),
        Ok(RestrictionOutcome::Satisfied)
    );
    assert!(by_diagnosis.check(&ctx(None, Some("I10.x00x002"), None)).is_err());
    assert_eq!(by_diagnosis.check(&ctx(None, None, None)), Ok(RestrictionOutcome::Unchecked));
    assert_eq!(by_age.check(&ctx(None, None, Some(18))), Ok(RestrictionOutcome::Satisfied));
    assert_eq!(by_age.check(&ctx(None, None, Some(65))), Ok(RestrictionOutcome::Satisfied));
    assert!(by_age.check(&ctx(None, None, Some(17))).is_err());
    assert!(by_age.check(&ctx(None, None, Some(66))).is_err());
    // A failed restriction is a per-line error naming the item.
    let drug = item(DRUG, ItemKind::WesternDrug, "2024-01-01", None);
    let mut restricted = rule("000000", CoverageClass::B, "2024-01-01", None);
    restricted.restrictions = by_level;
    let error = resolve_item(
        &drug,
        &[restricted],
        &Scope::chain(&a("440300")),
        d("2024-06-01"),
        &ctx(Some(HospitalLevel::Primary), None, None),
    )
    .unwrap_err();
    assert_eq!(error.reason, "restricted");
    assert!(error.message.starts_with(DRUG));
}

#[test]
fn diagnoses_are_not_billable() {
    let diagnosis = item("E11.900", ItemKind::Diagnosis, "2024-01-01", None);
    let error = resolve_item(
        &diagnosis,
        &[],
        &Scope::chain(&a("440300")),
        d("2024-06-01"),
        &LineContext::default(),
    )
    .unwrap_err();
    assert_eq!(error.reason, "bad_line");
}

#[test]
fn disease_payment_and_day_surgery_entries_are_not_billable() {
    for kind in [ItemKind::DiseasePayment, ItemKind::DaySurgery] {
        assert!(!kind.is_chargeable());
        let operation =
            NamedOperation { code: "47.0100".into(), name: "腹腔镜下阑尾切除术".into() };
        let entry =
            Item { operation: Some(operation), ..item("K35.800", kind, "2024-01-01", None) };
        let error = resolve_item(
            &entry,
            &[],
            &Scope::chain(&a("440300")),
            d("2024-06-01"),
            &LineContext::default(),
        )
        .unwrap_err();
        assert_eq!(error.reason, "bad_line", "{kind:?}");
        assert!(error.message.contains(kind.as_str()), "{}", error.message);
    }
    assert_eq!(ItemKind::DaySurgery.operation(), OperationUse::Required);
    assert_eq!(ItemKind::DiseasePayment.operation(), OperationUse::Allowed);
    assert_eq!(ItemKind::Service.operation(), OperationUse::None);
}

#[test]
fn periods_overlap_like_days() {
    let p = |b: &str, e: Option<&str>| Period { begin: d(b), end: e.map(d) };
    assert!(p("2024-01-01", Some("2024-01-31")).overlaps(&p("2024-01-31", None)));
    assert!(!p("2024-01-01", Some("2024-01-30")).overlaps(&p("2024-01-31", None)));
    assert!(p("2024-01-01", None).overlaps(&p("2030-01-01", None)));
}
