//! Re-adjudication, pure: the draft's difference, in order per person, from the year's start.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::*;
use crate::{
    calc::{CoverageClass, FilingKind, MedType, Person, Visit},
    model::{PriceFen, Quantity},
    policy::{Document, HospitalLevel},
};

/// A plain policy: inpatient 80 % above a 1,000-yuan deductible per admission, a shared
/// ceiling of `ceiling_yuan`.
fn policy(region: &str, ratio: &str, ceiling_yuan: i64) -> Policy {
    let outpatient = r#"{"deductible_per": "year", "bands": []}"#;
    let text = format!(
        r#"{{"region": "{region}", "insutype": "310", "scheme": "employee", "version": "t",
            "begin_date": "2020-01-01",
            "ceilings": [{{"kinds": ["inpatient"], "annual_cap_fen": {}}}],
            "inpatient": {{"deductible_per": "admission",
                "deductibles": [{{"amount_fen": 100000}}],
                "bands": [{{"segments": [{{"from_fen": 0, "to_fen": null, "ratio": "{ratio}"}}]}}]}},
            "general_outpatient": {outpatient}, "chronic_outpatient": {outpatient},
            "pharmacy": {outpatient},
            "temporary_reduction": {{"referral_emergency": "0.10", "other": "0.20"}}}}"#,
        ceiling_yuan * 100
    );
    match Document::parse_valid(&text).unwrap() {
        Document::Policy(policy) => *policy,
        Document::Floors(_) => unreachable!(),
    }
}

fn stored(psn_no: &str, price_yuan: i64, in_period: bool, policy_id: &str) -> Stored {
    Stored {
        setl_id: format!("S{psn_no}{price_yuan}"),
        psn_no: psn_no.into(),
        treating_province: "440000".into(),
        policy_id: policy_id.into(),
        in_period,
        lines: vec![Line {
            price_fen: PriceFen::try_from(price_yuan * 100).unwrap(),
            quantity: Quantity::try_from(Decimal::ONE).unwrap(),
            class: CoverageClass::A,
            selfpay_ratio: Decimal::ZERO,
            price_cap_fen: None,
        }],
        inputs: Inputs {
            person: Person { retired: false, account_balance_fen: 0, assistance_category: None },
            visit: Visit {
                med_type: MedType::Inpatient,
                hospital_level: HospitalLevel::Tertiary,
                filing: FilingKind::LongTerm,
                use_account: false,
                disease: None,
            },
        },
    }
}

fn recorded(policy: Policy) -> impl Fn(&str) -> Result<Arc<Policy>> {
    let policy = Arc::new(policy);
    move |_| Ok(policy.clone())
}

#[test]
fn the_same_policy_changes_nothing() {
    let old = policy("420200", "0.80", 100_000);
    let rows = [stored("A", 10_000, true, "x"), stored("B", 20_000, true, "x")];
    let preview = replay(&rows, &recorded(old.clone()), &old, &|_| true).unwrap();
    assert_eq!((preview.settlements, preview.persons, preview.persons_affected), (2, 2, 0));
    assert!(preview.funds.iter().all(|(_, c)| c.change() == 0));
    assert!(preview.largest.is_empty());
}

#[test]
fn a_higher_ratio_pays_more_by_hand() {
    // 10,000 yuan, deductible 1,000: 9,000 × 80 % = 7,200 before, × 90 % = 8,100 after.
    let (old, new) = (policy("420200", "0.80", 100_000), policy("420200", "0.90", 100_000));
    let rows = [stored("A", 10_000, true, "x")];
    let preview = replay(&rows, &recorded(old), &new, &|_| true).unwrap();
    let hifp = preview.funds.iter().find(|(f, _)| *f == "hifp_pay").unwrap().1;
    assert_eq!((hifp.before, hifp.after, hifp.change()), (720_000, 810_000, 90_000));
    assert_eq!(preview.provinces["440000"].change(), 90_000);
    assert_eq!(
        preview.largest,
        vec![("A".to_owned(), Change { settlements: 1, before: 720_000, after: 810_000 })]
    );
}

#[test]
fn the_years_earlier_settlements_carry_into_the_month() {
    // Ceiling 10,000 yuan. January (not in the period): 12,000 yuan → before 11,000 × 80 % =
    // 8,800; after 11,000 × 90 % = 9,900. The period's 5,000 yuan: 4,000 above the deductible;
    // before min(3,200, 10,000 − 8,800 = 1,200) = 1,200; after min(3,600, 100) = 100.
    let (old, new) = (policy("420200", "0.80", 10_000), policy("420200", "0.90", 10_000));
    let rows = [stored("A", 12_000, false, "x"), stored("A", 5_000, true, "x")];
    let preview = replay(&rows, &recorded(old), &new, &|_| true).unwrap();
    assert_eq!((preview.settlements, preview.replayed), (1, 2));
    let hifp = preview.funds.iter().find(|(f, _)| *f == "hifp_pay").unwrap().1;
    assert_eq!((hifp.before, hifp.after), (120_000, 10_000));
    assert_eq!(preview.persons_affected, 1);
}

#[test]
fn a_draft_leaves_settlements_under_a_more_specific_policy_alone() {
    let (old, new) = (policy("420200", "0.80", 100_000), policy("420000", "0.90", 100_000));
    let rows = [stored("A", 10_000, true, "x")];
    let chain = lookup_chain("420000");
    let preview =
        replay(&rows, &recorded(old), &new, &|p: &Policy| chain.contains(&p.region)).unwrap();
    assert_eq!(preview.persons_affected, 0, "Huangshi's own policy is not the province's draft");
}

#[test]
fn the_largest_changes_are_the_twenty_largest_by_size() {
    let (old, new) = (policy("420200", "0.80", 1_000_000), policy("420200", "0.90", 1_000_000));
    let rows: Vec<Stored> =
        (0..30).map(|i| stored(&format!("P{i:02}"), 2_000 + i * 1_000, true, "x")).collect();
    let preview = replay(&rows, &recorded(old), &new, &|_| true).unwrap();
    assert_eq!(preview.largest.len(), LARGEST);
    assert_eq!(preview.largest[0].0, "P29");
    assert!(preview.largest.windows(2).all(|w| w[0].1.change().abs() >= w[1].1.change().abs()));
}

#[test]
fn months_parse_strictly() {
    let month = Month::parse("2026-11").unwrap();
    assert_eq!(
        (month.first.to_string(), month.next.to_string()),
        ("2026-11-01".into(), "2026-12-01".into())
    );
    assert_eq!(Month::parse("2026-12").unwrap().next.to_string(), "2027-01-01");
    for bad in ["2026-13", "26-01", "", "2026-1x", "1899-01"] {
        assert_eq!(Month::parse(bad).unwrap_err().reason(), "invalid_period", "{bad}");
    }
}
