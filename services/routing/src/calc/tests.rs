//! The calculator against hand-worked examples (the arithmetic is in the comments): every seed
//! fact of DESIGN.md §4.3 settled under the seed policy that encodes it
//! (`migrations/routing/0008_policy_seeds.sql`), the boundaries of each step, and the
//! identities of §5.1 for any input under every seed policy. Amounts are fen.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;
use crate::{
    policies::tests::{seed, seed_book, seed_documents},
    policy::Document,
};

fn price(fen: i64) -> PriceFen {
    PriceFen::try_from(fen).unwrap()
}

fn qty(value: Decimal) -> Quantity {
    Quantity::try_from(value).unwrap()
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn date(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn line(
    price_fen: i64,
    quantity: &str,
    class: CoverageClass,
    ratio: &str,
    cap: Option<i64>,
) -> Line {
    Line {
        price_fen: price(price_fen),
        quantity: qty(d(quantity)),
        class,
        selfpay_ratio: d(ratio),
        price_cap_fen: cap,
    }
}

/// A 甲 line: all of it in scope.
fn a(price_fen: i64, quantity: &str) -> Line {
    line(price_fen, quantity, CoverageClass::A, "0", None)
}

fn employed() -> Person {
    Person { retired: false, account_balance_fen: 0, assistance_category: None }
}

fn retired() -> Person {
    Person { retired: true, ..employed() }
}

/// A person of a medical-assistance category (`low_income` 低保, …).
fn of(category: &str) -> Person {
    Person { assistance_category: Some(category.to_owned()), ..employed() }
}

fn visit(med_type: MedType, level: HospitalLevel) -> Visit {
    Visit {
        med_type,
        hospital_level: level,
        filing: FilingKind::LongTerm,
        use_account: false,
        disease: None,
    }
}

fn inpatient(level: HospitalLevel, filing: FilingKind) -> Visit {
    Visit { filing, ..visit(MedType::Inpatient, level) }
}

/// A chronic-outpatient visit (med_type 14) for the diagnosis `code`.
fn chronic(code: &str, level: HospitalLevel) -> Visit {
    Visit { disease: Some(code.to_owned()), ..visit(MedType::ChronicOutpatient, level) }
}

fn counters<K: AsRef<str>>(pairs: &[(K, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.as_ref().to_owned(), *v)).collect()
}

fn fresh() -> Accumulators {
    Accumulators::default()
}

fn parts(b: &Breakdown) -> [i64; 4] {
    [b.fulamt_ownpay_amt, b.overlmt_selfpay, b.preselfpay_amt, b.inscp_scp_amt]
}

/// What the funds paid: pooling, large-amount, serious illness, assistance.
fn funds(b: &Breakdown) -> [i64; 4] {
    [b.hifp_pay, b.hifob_pay, b.hifmi_pay, b.maf_pay]
}

const TERTIARY: HospitalLevel = HospitalLevel::Tertiary;
const SECONDARY: HospitalLevel = HospitalLevel::Secondary;
const PRIMARY: HospitalLevel = HospitalLevel::Primary;
const UNGRADED: HospitalLevel = HospitalLevel::Ungraded;
const LONG_TERM: FilingKind = FilingKind::LongTerm;

// ---- Huangshi 2010 employees (420200/310) ----

#[test]
fn huangshi_employee_tertiary_first_admission() {
    // Lines:
    //   甲 drug   10000 × 10                      = 100000, all in scope
    //   乙 drug    5000 × 20 = 100000; 10 % first self-pay = 10000
    //   甲 service 30000 × 2 = 60000; cap 25000 → over cap (30000−25000)×2 = 10000
    //   丙 item   20000 × 1                       = 20000, all own pay
    // total 280000; in scope = 280000 − 20000 − 10000 − 10000 = 240000
    // deductible (tertiary) 80000 → base 160000; employed tertiary 90 % → pooling 144000
    // self-burden 240000 − 144000 = 96000, far below the large-amount threshold 2000000
    // patient 280000 − 144000 = 136000; account balance 50000 → account 50000, cash 86000
    let lines = [
        a(10000, "10"),
        line(5000, "20", CoverageClass::B, "0.10", None),
        line(30000, "2", CoverageClass::A, "0", Some(25000)),
        line(20000, "1", CoverageClass::C, "0", None),
    ];
    let person = Person { account_balance_fen: 50000, ..employed() };
    let visit = Visit { use_account: true, ..inpatient(TERTIARY, LONG_TERM) };
    let b = settle(&lines, &person, &fresh(), &seed("420200", "310"), &visit).unwrap();
    assert_eq!(b.medfee_sumamt, 280000);
    assert_eq!(parts(&b), [20000, 10000, 10000, 240000]);
    assert_eq!((b.act_pay_dedc, b.hifp_pay, b.hifob_pay, b.maf_pay), (80000, 144000, 0, 0));
    assert_eq!(
        (b.fund_pay_sumamt, b.psn_part_amt, b.acct_pay, b.psn_cash_pay),
        (144000, 136000, 50000, 86000)
    );
    assert_eq!(
        b.setldetail,
        vec![
            FundPart {
                fund_pay_type: "310100".into(),
                crt_payb_lmt_amt: 160000,
                fund_payamt: 144000
            },
            FundPart {
                fund_pay_type: "310200".into(),
                crt_payb_lmt_amt: 136000,
                fund_payamt: 50000
            },
        ]
    );
    assert_eq!(b.accumulators.admissions, 1);
    assert_eq!(b.accumulators.pooling_paid_fen, 144000);
    assert_eq!(b.accumulators.benefit_paid_fen, [144000, 0, 0, 0]);
    assert_eq!(b.accumulators.inscp_self_burden_fen, 96000);
    assert_eq!(b.accumulators.counters, counters(&[("layer.large_amount.base", 96000)]));
}

#[test]
fn huangshi_inpatient_ratios_by_level_employed_and_retired() {
    // 甲 100000 fen. Deductibles tertiary 80000, secondary 50000, other 30000 → bases 20000,
    // 50000, 70000. Employed 90/92/94 %, retired 92/94/96 %:
    //   tertiary   20000 × 90 % = 18000   20000 × 92 % = 18400
    //   secondary  50000 × 92 % = 46000   50000 × 94 % = 47000
    //   primary    70000 × 94 % = 65800   70000 × 96 % = 67200
    //   ungraded   (other)        65800                  67200
    let policy = seed("420200", "310");
    for (level, deductible, employed_pays, retired_pays) in [
        (TERTIARY, 80000, 18000, 18400),
        (SECONDARY, 50000, 46000, 47000),
        (PRIMARY, 30000, 65800, 67200),
        (UNGRADED, 30000, 65800, 67200),
    ] {
        let at = |person: &Person| {
            let b =
                settle(&[a(100000, "1")], person, &fresh(), &policy, &inpatient(level, LONG_TERM))
                    .unwrap();
            (b.act_pay_dedc, b.hifp_pay)
        };
        assert_eq!(at(&employed()), (deductible, employed_pays), "{level:?} employed");
        assert_eq!(at(&retired()), (deductible, retired_pays), "{level:?} retired");
    }
}

#[test]
fn huangshi_ceiling_of_120000_yuan_is_reached_and_the_large_amount_fund_takes_over() {
    // Retired, secondary, other temporary filing. 甲 1000000: deductible 50000 → base 950000.
    // Retired secondary 94 % less 20 points = 74 % → 703000, but of the 12000000 ceiling over
    // inpatient and chronic outpatient care 12000000 − 11950000 = 50000 is left → pooling 50000.
    // Self-burden 1000000 − 50000 = 950000; the year's self-burden goes 1500000 → 2450000, of
    // which 2450000 − 2000000 = 450000 lies above the threshold, at 100 % → large-amount 450000.
    // Funds 500000; patient 500000.
    let before = Accumulators {
        admissions: 2,
        pooling_paid_fen: 11950000,
        benefit_paid_fen: [11950000, 0, 0, 0],
        counters: counters(&[("layer.large_amount.base", 1500000)]),
        ..fresh()
    };
    let visit = inpatient(SECONDARY, FilingKind::OtherTemporary);
    let b =
        settle(&[a(1000000, "1")], &retired(), &before, &seed("420200", "310"), &visit).unwrap();
    assert_eq!((b.act_pay_dedc, b.hifp_pay, b.hifob_pay, b.hifmi_pay), (50000, 50000, 450000, 0));
    assert_eq!((b.fund_pay_sumamt, b.psn_part_amt, b.psn_cash_pay), (500000, 500000, 500000));
    assert_eq!(b.accumulators.benefit_paid_fen[0], 12000000, "the ceiling is reached exactly");
    assert_eq!(
        b.accumulators.counters,
        counters(&[("layer.large_amount.base", 2450000), ("layer.large_amount.paid", 450000)])
    );
    assert_eq!(
        b.setldetail[1],
        FundPart { fund_pay_type: "330100".into(), crt_payb_lmt_amt: 950000, fund_payamt: 450000 }
    );
}

#[test]
fn huangshi_ceiling_is_shared_by_inpatient_and_chronic_care_only() {
    let policy = seed("420200", "310");
    // 11990000 paid for inpatient care: a lupus visit (甲 100000, tertiary, 90 % → 90000)
    // gets only the 12000000 − 11990000 = 10000 left of the ceiling.
    let before = Accumulators { benefit_paid_fen: [11990000, 0, 0, 0], ..fresh() };
    let lupus =
        settle(&[a(100000, "1")], &employed(), &before, &policy, &chronic("M32.900", TERTIARY))
            .unwrap();
    assert_eq!(lupus.hifp_pay, 10000);
    // Once reached, neither kind is paid from pooling ...
    let full = Accumulators { benefit_paid_fen: [11990000, 0, 10000, 0], ..fresh() };
    let again =
        settle(&[a(100000, "1")], &employed(), &full, &policy, &inpatient(TERTIARY, LONG_TERM))
            .unwrap();
    assert_eq!((again.act_pay_dedc, again.hifp_pay), (80000, 0));
    // ... but general outpatient care, with a cap of its own (assumed), still is: 甲 100000 at
    // a primary hospital, yearly deductible 20000 → 80000 × 50 % = 40000 (cap 200000).
    let outpatient = settle(
        &[a(100000, "1")],
        &employed(),
        &full,
        &policy,
        &visit(MedType::GeneralOutpatient, PRIMARY),
    )
    .unwrap();
    assert_eq!((outpatient.act_pay_dedc, outpatient.hifp_pay), (20000, 40000));
}

#[test]
fn huangshi_large_amount_pays_all_in_scope_self_burden_above_20000_yuan_without_cap() {
    // A year with 1000000 yuan of in-scope self-burden. 甲 112000000, tertiary, employed:
    // deductible 80000, base 111920000 × 90 % = 100728000, but the ceiling is 12000000 →
    // pooling 12000000. Self-burden 112000000 − 12000000 = 100000000: above 2000000 a year the
    // large-amount fund pays 100 %, uncapped → 98000000. The patient pays 2000000 (20000
    // yuan, the yearly personal limit); the funds 110000000.
    let policy = seed("420200", "310");
    let visit = inpatient(TERTIARY, LONG_TERM);
    let first = settle(&[a(112000000, "1")], &employed(), &fresh(), &policy, &visit).unwrap();
    assert_eq!(funds(&first), [12000000, 98000000, 0, 0]);
    assert_eq!((first.fund_pay_sumamt, first.psn_part_amt), (110000000, 2000000));
    // Later that year: 甲 5000000 and a 丙 item of 10000. Deductible 80000, pooling nothing
    // (ceiling reached); the whole in-scope self-burden 5000000 lies above the threshold →
    // large-amount 5000000, deductible included. The patient pays the 丙 item only. The fund
    // has now paid 103000000 this year, past any former cap.
    let lines = [a(5000000, "1"), line(10000, "1", CoverageClass::C, "0", None)];
    let later = settle(&lines, &employed(), &first.accumulators, &policy, &visit).unwrap();
    assert_eq!((later.act_pay_dedc, later.inscp_scp_amt), (80000, 5000000));
    assert_eq!(funds(&later), [0, 5000000, 0, 0]);
    assert_eq!(later.psn_part_amt, 10000);
    assert_eq!(
        later.accumulators.counters,
        counters(&[("layer.large_amount.base", 105000000), ("layer.large_amount.paid", 103000000)])
    );
}

#[test]
fn huangshi_lupus_myasthenia_gravis_and_haemophilia_outpatient_care_is_in_pooling() {
    // Chronic outpatient, 甲 50000 at a secondary hospital, no deductible, paid at the
    // inpatient ratios: employed 92 % → 46000; the self-burden 4000 counts toward the
    // large-amount fund.
    let policy = seed("420200", "310");
    for (diagnosis, code) in [("M32.100", "M32"), ("G70.000", "G70"), ("D66.x00", "D66")] {
        let b = settle(
            &[a(50000, "1")],
            &employed(),
            &fresh(),
            &policy,
            &chronic(diagnosis, SECONDARY),
        )
        .unwrap();
        assert_eq!((b.act_pay_dedc, b.hifp_pay), (0, 46000), "{diagnosis}");
        let (paid, visits) = (format!("chronic.{code}.paid"), format!("chronic.{code}.visits"));
        assert_eq!(
            b.accumulators.counters,
            counters(&[
                (paid.as_str(), 46000),
                (visits.as_str(), 1),
                ("layer.large_amount.base", 4000)
            ]),
            "{diagnosis}"
        );
        assert_eq!(b.accumulators.benefit_paid_fen, [0, 0, 46000, 0]);
    }
    // Retired, primary hospital: 96 % → 48000.
    let b = settle(&[a(50000, "1")], &retired(), &fresh(), &policy, &chronic("M32.900", PRIMARY))
        .unwrap();
    assert_eq!(b.hifp_pay, 48000);
    // A diagnosis that is not listed (asthma), or none, is not paid from pooling.
    for disease in [Some("J45.900"), None] {
        let visit = Visit { disease: disease.map(str::to_owned), ..chronic("", SECONDARY) };
        let b = settle(&[a(50000, "1")], &employed(), &fresh(), &policy, &visit).unwrap();
        assert_eq!((b.act_pay_dedc, b.hifp_pay, b.psn_part_amt), (0, 0, 50000), "{disease:?}");
    }
}

#[test]
fn huangshi_two_chronic_diseases_the_main_limit_plus_half_the_others() {
    // Diabetes (E11): limit 200000, 70 %; hypertension (I10): limit 120000, 70 %. With both in
    // a year: 200000 + 50 % × 120000 = 260000 for the two together.
    let policy = seed("420200", "310");
    let at = |diagnosis: &str, fen: i64, before: &Accumulators| {
        settle(&[a(fen, "1")], &employed(), before, &policy, &chronic(diagnosis, TERTIARY)).unwrap()
    };
    // Diabetes first: 甲 400000 × 70 % = 280000, its own limit 200000 → 200000.
    let diabetes = at("E11.900", 400000, &fresh());
    assert_eq!(diabetes.hifp_pay, 200000);
    // Then hypertension: 甲 200000 × 70 % = 140000, its own limit 120000, but together
    // 260000 − 200000 = 60000 is left → 60000.
    let hypertension = at("I10.x00x002", 200000, &diabetes.accumulators);
    assert_eq!(hypertension.hifp_pay, 60000);
    // Both limits are used up: 甲 10000 × 70 % = 7000 → nothing for either.
    let both = &hypertension.accumulators;
    assert_eq!(at("E11.900", 10000, both).hifp_pay, 0);
    assert_eq!(at("I10.x00x002", 10000, both).hifp_pay, 0);
    assert_eq!(
        [counter(both, "chronic.E11.paid"), counter(both, "chronic.I10.paid")],
        [200000, 60000]
    );
    // The other way round: hypertension alone gets its own limit (140000 → 120000); diabetes
    // then gets 260000 − 120000 = 140000 (of 280000; its own limit 200000).
    let hypertension = at("I10.x00x002", 200000, &fresh());
    assert_eq!(hypertension.hifp_pay, 120000);
    let diabetes = at("E11.900", 400000, &hypertension.accumulators);
    assert_eq!(diabetes.hifp_pay, 140000);
}

// ---- Tianjin 2016 residents (120000/390) ----

#[test]
fn tianjin_residents_serious_illness_segment_by_segment() {
    // 甲 9880000, tertiary: deductible 80000, base 9800000 × 60 % = 5880000 (ceiling 18000000).
    // Self-burden 9880000 − 5880000 = 4000000; the year's self-burden of inpatient and chronic
    // care goes 9000000 → 13000000:
    //   9000000..10000000 at 50 % = 500000, 10000000..13000000 at 60 % = 1800000 → 2300000.
    // Funds 5880000 + 2300000 = 8180000; patient 1700000.
    let policy = seed("120000", "390");
    let visit = inpatient(TERTIARY, LONG_TERM);
    let before =
        Accumulators { counters: counters(&[("layer.serious_illness.base", 9000000)]), ..fresh() };
    let b = settle(&[a(9880000, "1")], &employed(), &before, &policy, &visit).unwrap();
    assert_eq!(funds(&b), [5880000, 0, 2300000, 0]);
    assert_eq!((b.fund_pay_sumamt, b.psn_part_amt), (8180000, 1700000));
    assert_eq!(
        b.setldetail[1],
        FundPart {
            fund_pay_type: "390200".into(),
            crt_payb_lmt_amt: 4000000,
            fund_payamt: 2300000
        }
    );
    // With the pooling ceiling reached, 甲 12000000 is all self-burden; the year goes
    // 19000000 → 31000000: 19000000..20000000 at 60 % = 600000, 20000000..30000000 at 70 %
    // = 7000000, nothing above 30000000 → 7600000.
    let before = Accumulators {
        benefit_paid_fen: [18000000, 0, 0, 0],
        counters: counters(&[("layer.serious_illness.base", 19000000)]),
        ..fresh()
    };
    let b = settle(&[a(12000000, "1")], &employed(), &before, &policy, &visit).unwrap();
    assert_eq!((b.act_pay_dedc, b.hifp_pay, b.hifmi_pay), (80000, 0, 7600000));
    // Below the threshold of 2000000 nothing: 甲 100000 → self-burden 88000.
    let b = settle(&[a(100000, "1")], &employed(), &fresh(), &policy, &visit).unwrap();
    assert_eq!((b.hifp_pay, b.hifmi_pay), (12000, 0));
}

#[test]
fn tianjin_residents_general_outpatient_and_pharmacy_do_not_count_toward_serious_illness() {
    // The year's inpatient and chronic self-burden is already 2500000, above the threshold.
    let policy = seed("120000", "390");
    let before =
        Accumulators { counters: counters(&[("layer.serious_illness.base", 2500000)]), ..fresh() };
    let base = |b: &Breakdown| counter(&b.accumulators, "layer.serious_illness.base");
    // General outpatient, secondary: 甲 60000, deductible 50000 → 10000 × 50 % = 5000;
    // self-burden 55000, not counted, nothing from the serious-illness insurance.
    let general = settle(
        &[a(60000, "1")],
        &employed(),
        &before,
        &policy,
        &visit(MedType::GeneralOutpatient, SECONDARY),
    )
    .unwrap();
    assert_eq!((general.act_pay_dedc, general.hifp_pay, general.hifmi_pay), (50000, 5000, 0));
    assert_eq!(base(&general), 2500000);
    // Pharmacy: 甲 10000 × 50 % = 5000; self-burden 5000, not counted.
    let pharmacy = settle(
        &[a(10000, "1")],
        &employed(),
        &before,
        &policy,
        &visit(MedType::Pharmacy, UNGRADED),
    )
    .unwrap();
    assert_eq!((pharmacy.hifp_pay, pharmacy.hifmi_pay), (5000, 0));
    assert_eq!(base(&pharmacy), 2500000);
    // Inpatient, tertiary: 甲 100000, deductible 80000 → 20000 × 60 % = 12000; self-burden 88000
    // at 50 % → 44000.
    let inpatient_b =
        settle(&[a(100000, "1")], &employed(), &before, &policy, &inpatient(TERTIARY, LONG_TERM))
            .unwrap();
    assert_eq!((inpatient_b.hifp_pay, inpatient_b.hifmi_pay), (12000, 44000));
    assert_eq!(base(&inpatient_b), 2588000);
    // Chronic outpatient (门诊特定病种): 甲 10000 × 60 % = 6000; self-burden 4000 at 50 % → 2000.
    let chronic_b =
        settle(&[a(10000, "1")], &employed(), &before, &policy, &chronic("N18.500", SECONDARY))
            .unwrap();
    assert_eq!((chronic_b.hifp_pay, chronic_b.hifmi_pay), (6000, 2000));
    assert_eq!(base(&chronic_b), 2504000);
}

#[test]
fn tianjin_residents_general_outpatient_500_yuan_deductible_and_3000_yuan_cap() {
    // Yearly deductible 50000, 30000 already paid → 20000 left. 甲 60000 at a primary
    // hospital (the secondary hospitals' terms, assumed for other levels): deductible 20000,
    // base 40000 × 50 % = 20000, but the yearly cap 300000 has only 300000 − 290000 = 10000
    // left → pooling 10000. No layer for general outpatient care.
    let policy = seed("120000", "390");
    let before = Accumulators {
        deductible_paid_fen: [0, 30000, 0, 0],
        benefit_paid_fen: [0, 290000, 0, 0],
        pooling_paid_fen: 290000,
        ..fresh()
    };
    let visit = visit(MedType::GeneralOutpatient, PRIMARY);
    let b = settle(&[a(60000, "1")], &employed(), &before, &policy, &visit).unwrap();
    assert_eq!((b.act_pay_dedc, b.hifp_pay, b.hifmi_pay, b.psn_part_amt), (20000, 10000, 0, 50000));
    assert_eq!(b.accumulators.deductible_paid_fen[1], 50000, "the deductible is now used up");
    assert_eq!(b.accumulators.benefit_paid_fen[1], 300000);
    // The next visit pays no deductible and gets nothing from the capped pool.
    let next = settle(&[a(1000, "1")], &employed(), &b.accumulators, &policy, &visit).unwrap();
    assert_eq!((next.act_pay_dedc, next.hifp_pay), (0, 0));
    // At a secondary hospital, a fresh year: 甲 60000 → deductible 50000, 10000 × 50 % = 5000.
    let secondary = Visit { hospital_level: SECONDARY, ..visit };
    let b = settle(&[a(60000, "1")], &employed(), &fresh(), &policy, &secondary).unwrap();
    assert_eq!((b.act_pay_dedc, b.hifp_pay), (50000, 5000));
}

#[test]
fn tianjin_low_income_residents_get_5_more_points() {
    let policy = seed("120000", "390");
    let pays = |person: &Person, visit: &Visit, fen: i64| {
        settle(&[a(fen, "1")], person, &fresh(), &policy, visit).unwrap()
    };
    // Inpatient, tertiary: 甲 100000, deductible 80000 → 20000 × 60 % = 12000; low-income
    // 65 % → 13000.
    let stay = inpatient(TERTIARY, LONG_TERM);
    assert_eq!(pays(&employed(), &stay, 100000).hifp_pay, 12000);
    let low = pays(&of("low_income"), &stay, 100000);
    assert_eq!(low.hifp_pay, 13000);
    // They are 低保 too: assistance 70 % of the self-burden 100000 − 13000 = 87000 → 60900.
    assert_eq!(low.maf_pay, 60900);
    assert_eq!((low.fund_pay_sumamt, low.psn_part_amt), (73900, 26100));
    // Chronic outpatient: 甲 10000 × 60 % = 6000; low-income 65 % → 6500.
    let chronic_visit = chronic("N18.500", SECONDARY);
    assert_eq!(pays(&employed(), &chronic_visit, 10000).hifp_pay, 6000);
    assert_eq!(pays(&of("low_income"), &chronic_visit, 10000).hifp_pay, 6500);
    // General outpatient is not adjusted (assumed): 甲 60000 → 10000 × 50 % = 5000 either way.
    let general = visit(MedType::GeneralOutpatient, SECONDARY);
    assert_eq!(pays(&of("low_income"), &general, 60000).hifp_pay, 5000);
    // Other categories are not adjusted: 特困 60 % → 12000.
    assert_eq!(pays(&of("extreme_poverty"), &stay, 100000).hifp_pay, 12000);
    // A temporary filing's reduction and the adjustment add up: 60 − 10 + 5 = 55 % → 11000.
    let referral = inpatient(TERTIARY, FilingKind::ReferralOrEmergency);
    assert_eq!(pays(&of("low_income"), &referral, 100000).hifp_pay, 11000);
}

// ---- Tianjin 2016 employees (120000/310) ----

#[test]
fn tianjin_employees_large_amount_80_percent_of_in_scope_cost_from_150000_to_350000_yuan() {
    let policy = seed("120000", "310");
    let visit = inpatient(TERTIARY, LONG_TERM);
    let year = |cost: i64, pooling: i64| Accumulators {
        benefit_paid_fen: [pooling, 0, 0, 0],
        counters: counters(&[("layer.large_amount.base", cost)]),
        ..fresh()
    };
    // The pooling ceiling (15000000) reached; the year's in-scope cost goes 10000000 →
    // 20000000: 15000000..20000000 at 80 % = 4000000 of the self-burden 10000000.
    let b = settle(&[a(10000000, "1")], &employed(), &year(10000000, 15000000), &policy, &visit)
        .unwrap();
    assert_eq!((b.act_pay_dedc, b.hifp_pay, b.hifob_pay), (100000, 0, 4000000));
    assert_eq!(b.psn_part_amt, 6000000);
    assert_eq!(
        b.accumulators.counters,
        counters(&[("layer.large_amount.base", 20000000), ("layer.large_amount.paid", 4000000)])
    );
    // The same visit while pooling still pays: deductible 100000, 9900000 × 85 % = 8415000;
    // the self-burden left is 10000000 − 8415000 = 1585000, less than 4000000 → 1585000. The
    // base is the cost (10000000), not the self-burden.
    let b = settle(&[a(10000000, "1")], &employed(), &year(10000000, 0), &policy, &visit).unwrap();
    assert_eq!(funds(&b), [8415000, 1585000, 0, 0]);
    assert_eq!(b.psn_part_amt, 0);
    assert_eq!(counter(&b.accumulators, "layer.large_amount.base"), 20000000);
    // Nothing above 35000000: 34000000 → 36000000 pays 1000000 × 80 % = 800000.
    let b = settle(&[a(2000000, "1")], &employed(), &year(34000000, 15000000), &policy, &visit)
        .unwrap();
    assert_eq!(b.hifob_pay, 800000);
    // Nothing below 15000000: 0 → 10000000.
    let b = settle(&[a(10000000, "1")], &employed(), &year(0, 15000000), &policy, &visit).unwrap();
    assert_eq!(b.hifob_pay, 0);
    // General outpatient cost does not count (assumed: inpatient and chronic only).
    let general = settle(
        &[a(10000000, "1")],
        &employed(),
        &year(20000000, 15000000),
        &policy,
        &visit_of(MedType::GeneralOutpatient),
    )
    .unwrap();
    assert_eq!(general.hifob_pay, 0);
    assert_eq!(counter(&general.accumulators, "layer.large_amount.base"), 20000000);
}

fn visit_of(med_type: MedType) -> Visit {
    visit(med_type, SECONDARY)
}

#[test]
fn tianjin_employees_pharmacy_65_percent_from_2017() {
    // Version 2016 (in force to 2016-12-31) pays 50 % (assumed), version 2017 65 %:
    // 甲 10000 → 5000, then 6500.
    let book = seed_book();
    let pharmacy = |on| {
        let policy = book.policy_for("120000", "310", on).unwrap().policy;
        settle(&[a(10000, "1")], &employed(), &fresh(), &policy, &visit_of(MedType::Pharmacy))
            .unwrap()
            .hifp_pay
    };
    assert_eq!(pharmacy(date(2016, 12, 31)), 5000);
    assert_eq!(pharmacy(date(2017, 1, 1)), 6500);
    // Residents 50 %: 5000.
    let residents = seed("120000", "390");
    let b =
        settle(&[a(10000, "1")], &employed(), &fresh(), &residents, &visit_of(MedType::Pharmacy))
            .unwrap();
    assert_eq!(b.hifp_pay, 5000);
}

// ---- Shanxi 2017 residents (140000/390) ----

#[test]
fn shanxi_inpatient_pooling_is_capped_at_70000_yuan_while_outpatient_care_still_pays() {
    let policy = seed("140000", "390");
    assert!(policy.ceilings.is_empty(), "no ceiling over all care");
    // A fourth admission: deductible 50000 (half), 甲 200000 → 150000 × 55 % = 82500, but the
    // inpatient cap 7000000 has 7000000 − 6990000 = 10000 left → 10000.
    let before = Accumulators {
        admissions: 3,
        pooling_paid_fen: 6990000,
        benefit_paid_fen: [6990000, 0, 0, 0],
        ..fresh()
    };
    let stay = inpatient(TERTIARY, LONG_TERM);
    let b = settle(&[a(200000, "1")], &employed(), &before, &policy, &stay).unwrap();
    assert_eq!((b.act_pay_dedc, b.hifp_pay), (50000, 10000));
    let capped = b.accumulators;
    assert_eq!(capped.benefit_paid_fen[0], 7000000);
    // The next admission: nothing from pooling.
    let b = settle(&[a(200000, "1")], &employed(), &capped, &policy, &stay).unwrap();
    assert_eq!((b.act_pay_dedc, b.hifp_pay), (50000, 0));
    // Outpatient care still pays. General: 甲 30000, yearly deductible 10000 → 20000 × 50 %
    // = 10000. Chronic: 甲 10000 × 60 % = 6000. Pharmacy: 甲 1000 × 50 % = 500.
    let at = |fen: i64, visit: &Visit| {
        settle(&[a(fen, "1")], &employed(), &capped, &policy, visit).unwrap().hifp_pay
    };
    assert_eq!(at(30000, &visit_of(MedType::GeneralOutpatient)), 10000);
    assert_eq!(at(10000, &chronic("E11.900", SECONDARY)), 6000);
    assert_eq!(at(1000, &visit_of(MedType::Pharmacy)), 500);
}

#[test]
fn shanxi_second_and_later_admissions_have_half_the_deductible() {
    // 甲 200000. First admission / second and later:
    //   tertiary   100000 → 100000 × 55 % = 55000     50000 → 150000 × 55 % = 82500
    //   secondary   60000 → 140000 × 70 % = 98000     30000 → 170000 × 70 % = 119000
    //   primary     30000 → 170000 × 85 % = 144500    15000 → 185000 × 85 % = 157250
    let policy = seed("140000", "390");
    for (level, first, later) in [
        (TERTIARY, (100000, 55000), (50000, 82500)),
        (SECONDARY, (60000, 98000), (30000, 119000)),
        (PRIMARY, (30000, 144500), (15000, 157250)),
        (UNGRADED, (30000, 144500), (15000, 157250)),
    ] {
        let at = |admissions: u32| {
            let before = Accumulators { admissions, ..fresh() };
            let b = settle(
                &[a(200000, "1")],
                &employed(),
                &before,
                &policy,
                &inpatient(level, LONG_TERM),
            )
            .unwrap();
            (b.act_pay_dedc, b.hifp_pay)
        };
        assert_eq!(at(0), first, "{level:?} first");
        assert_eq!(at(1), later, "{level:?} second");
        assert_eq!(at(4), later, "{level:?} fifth");
    }
    // Settled one after the other, the count is the accumulators'.
    let stay = inpatient(TERTIARY, LONG_TERM);
    let first = settle(&[a(200000, "1")], &employed(), &fresh(), &policy, &stay).unwrap();
    let second =
        settle(&[a(200000, "1")], &employed(), &first.accumulators, &policy, &stay).unwrap();
    assert_eq!((first.act_pay_dedc, second.act_pay_dedc), (100000, 50000));
    assert_eq!(second.accumulators.admissions, 2);
}

// ---- Guangdong 2009 (440000) and the temporary reductions ----

#[test]
fn temporary_reductions_and_emergency() {
    // Guangdong employee, employed 80 %; 甲 1000000 tertiary, deductible 100000, base 900000.
    let policy = seed("440000", "310");
    let at = |filing| {
        settle(&[a(1000000, "1")], &employed(), &fresh(), &policy, &inpatient(TERTIARY, filing))
            .unwrap()
            .hifp_pay
    };
    assert_eq!(at(LONG_TERM), 720000); // 900000 × 80 %
    assert_eq!(at(FilingKind::ReferralOrEmergency), 630000); // × 70 %
    assert_eq!(at(FilingKind::OtherTemporary), 540000); // × 60 %
}

// ---- Medical assistance (2021 national opinions) ----

#[test]
fn assistance_for_tekun_and_dibao_without_deductible_at_70_percent_within_the_limit() {
    // Guangdong resident, 甲 1000000 tertiary: deductible 80000, base 920000 × 55 % = 506000.
    // Self-burden 494000 (below the 1500000 serious-illness threshold). Assistance: no
    // deductible, 70 % of 494000 = 345800.
    let policy = seed("440000", "390");
    let stay = inpatient(TERTIARY, LONG_TERM);
    for category in ["low_income", "extreme_poverty"] {
        let b = settle(&[a(1000000, "1")], &of(category), &fresh(), &policy, &stay).unwrap();
        assert_eq!(funds(&b), [506000, 0, 0, 345800], "{category}");
        assert_eq!(counter(&b.accumulators, "assistance.deductible"), 0);
        assert_eq!(
            b.setldetail.last(),
            Some(&FundPart {
                fund_pay_type: "610100".into(),
                crt_payb_lmt_amt: 494000,
                fund_payamt: 345800
            })
        );
    }
    // The yearly limit 3000000 has 3000000 − 2800000 = 200000 left → 200000.
    let before = Accumulators { assistance_paid_fen: 2800000, ..fresh() };
    let b = settle(&[a(1000000, "1")], &of("low_income"), &before, &policy, &stay).unwrap();
    assert_eq!(funds(&b), [506000, 0, 0, 200000]);
    assert_eq!((b.fund_pay_sumamt, b.psn_part_amt), (706000, 294000));
    // Nobody else: no category, or one the policy does not name.
    for person in [employed(), of("veteran")] {
        let b = settle(&[a(1000000, "1")], &person, &fresh(), &policy, &stay).unwrap();
        assert_eq!(b.maf_pay, 0, "{person:?}");
    }
}

#[test]
fn assistance_for_the_low_income_margin_after_its_deductible_at_60_percent() {
    // Guangdong resident, 甲 1000000 tertiary: pooling 506000, self-burden 494000. 低保边缘:
    // yearly deductible 100000 → 394000 × 60 % = 236400.
    let policy = seed("440000", "390");
    let stay = inpatient(TERTIARY, LONG_TERM);
    let margin = of("low_income_margin");
    let first = settle(&[a(1000000, "1")], &margin, &fresh(), &policy, &stay).unwrap();
    assert_eq!(funds(&first), [506000, 0, 0, 236400]);
    assert_eq!(counter(&first.accumulators, "assistance.deductible"), 100000);
    assert_eq!(first.setldetail.last().map(|p| p.crt_payb_lmt_amt), Some(394000));
    // The second admission: the deductible is paid → 494000 × 60 % = 296400.
    let second = settle(&[a(1000000, "1")], &margin, &first.accumulators, &policy, &stay).unwrap();
    assert_eq!(funds(&second), [506000, 0, 0, 296400]);
    // 60000 of the deductible paid before: 40000 left → 454000 × 60 % = 272400.
    let before =
        Accumulators { counters: counters(&[("assistance.deductible", 60000)]), ..fresh() };
    let partly = settle(&[a(1000000, "1")], &margin, &before, &policy, &stay).unwrap();
    assert_eq!(partly.maf_pay, 272400);
}

#[test]
fn assistance_has_one_limit_for_inpatient_and_chronic_care() {
    // Guangdong resident, 低保, 2900000 of the 3000000 limit used.
    let policy = seed("440000", "390");
    let person = of("low_income");
    let before = Accumulators { assistance_paid_fen: 2900000, ..fresh() };
    // Chronic outpatient: 甲 200000 × 60 % = 120000; self-burden 80000 × 70 % = 56000.
    let chronic_b =
        settle(&[a(200000, "1")], &person, &before, &policy, &chronic("E11.900", SECONDARY))
            .unwrap();
    assert_eq!(funds(&chronic_b), [120000, 0, 0, 56000]);
    // Inpatient: 506000 from pooling, self-burden 494000 × 70 % = 345800, but only
    // 3000000 − 2956000 = 44000 of the limit is left → 44000.
    let stay = settle(
        &[a(1000000, "1")],
        &person,
        &chronic_b.accumulators,
        &policy,
        &inpatient(TERTIARY, LONG_TERM),
    )
    .unwrap();
    assert_eq!(funds(&stay), [506000, 0, 0, 44000]);
    assert_eq!(stay.accumulators.assistance_paid_fen, 3000000);
    // Then nothing more, of either kind.
    let more = settle(
        &[a(200000, "1")],
        &person,
        &stay.accumulators,
        &policy,
        &chronic("E11.900", SECONDARY),
    )
    .unwrap();
    assert_eq!(more.maf_pay, 0);
    // General outpatient care is not counted (assumed): 甲 50000, deductible 20000, 30000 × 50 %
    // = 15000 from pooling, nothing from assistance even with the limit unused.
    let general =
        settle(&[a(50000, "1")], &person, &fresh(), &policy, &visit_of(MedType::GeneralOutpatient))
            .unwrap();
    assert_eq!(funds(&general), [15000, 0, 0, 0]);
}

// ---- Lines, rounding, the account ----

#[test]
fn rounding_is_once_per_component_half_up() {
    // 乙 333 fen × 1 at 15 %: first self-pay 49.95 → 50. 甲 price 1001 × 0.5 = 500.5 → 501.
    let lines = [line(333, "1", CoverageClass::B, "0.15", None), a(1001, "0.5")];
    let policy = seed("000000", "310");
    let b = settle(&lines, &employed(), &fresh(), &policy, &visit(MedType::Pharmacy, UNGRADED))
        .unwrap();
    assert_eq!((b.medfee_sumamt, b.preselfpay_amt, b.inscp_scp_amt), (834, 50, 784));
    // Pharmacy 50 %, no deductible: 784 × 50 % = 392.
    assert_eq!(b.hifp_pay, 392);
    // 甲 333 × 50 % = 166.5 → 167 from pooling.
    let b =
        settle(&[a(333, "1")], &employed(), &fresh(), &policy, &visit(MedType::Pharmacy, UNGRADED))
            .unwrap();
    assert_eq!((b.hifp_pay, b.psn_part_amt), (167, 166));
}

#[test]
fn amounts_round_half_away_from_zero_and_never_overflow() {
    let policy = seed("000000", "310");
    let visit = visit(MedType::Pharmacy, UNGRADED);
    let settle = |lines: &[Line]| settle(lines, &employed(), &fresh(), &policy, &visit);
    // 0.01 yuan × 2.5 = 2.5 fen → 3, as the fee upload answers (half to even would say 2).
    assert_eq!(settle(&[a(1, "2.5")]).unwrap().medfee_sumamt, 3);
    for lines in [
        // The largest quantity a line may carry (below 10¹⁴), at a price it cannot bear.
        vec![a(1_000_000, "99999999999999.9999")],
        vec![a(i64::MAX, "2")],
        vec![line(i64::MAX, "1.5", CoverageClass::B, "0.1", Some(1))],
        vec![a(i64::MAX / 2, "1"), a(i64::MAX / 2, "1.5")],
    ] {
        let refused = settle(&lines).unwrap_err();
        assert_eq!(refused.reason(), "amount_out_of_range", "{lines:?}: {refused}");
    }
}

#[test]
fn the_account_pays_only_what_it_holds() {
    let policy = seed("000000", "310");
    let visit = Visit { use_account: true, ..visit(MedType::Pharmacy, UNGRADED) };
    let person = Person { account_balance_fen: 100, ..employed() };
    let b = settle(&[a(1000, "1")], &person, &fresh(), &policy, &visit).unwrap();
    // 1000 × 50 % = 500 pooled; patient 500: account 100 (all it holds), cash 400.
    assert_eq!((b.psn_part_amt, b.acct_pay, b.psn_cash_pay), (500, 100, 400));
    let refused = settle(
        &[a(1000, "1")],
        &Person { account_balance_fen: -1, ..employed() },
        &fresh(),
        &policy,
        &visit,
    )
    .unwrap_err();
    assert_eq!(refused.reason(), "invalid_amount");
}

#[test]
fn an_all_out_of_scope_visit_is_paid_by_the_patient() {
    let b = settle(
        &[line(5000, "3", CoverageClass::C, "0", None)],
        &of("low_income"),
        &fresh(),
        &seed("420200", "310"),
        &inpatient(TERTIARY, LONG_TERM),
    )
    .unwrap();
    assert_eq!(
        (b.fulamt_ownpay_amt, b.inscp_scp_amt, b.act_pay_dedc, b.fund_pay_sumamt, b.psn_part_amt),
        (15000, 0, 0, 0, 15000)
    );
    assert!(b.setldetail.is_empty());
    assert_eq!(b.accumulators.admissions, 1);
}

#[test]
fn bad_lines_are_refused_by_name() {
    let policy = seed("420200", "310");
    let visit = inpatient(TERTIARY, LONG_TERM);
    let refuse = |lines: &[Line]| {
        settle(lines, &employed(), &fresh(), &policy, &visit).unwrap_err().reason().to_owned()
    };
    // A price or quantity out of range cannot reach the calculator: see `model::tests`.
    assert_eq!(refuse(&[line(1000, "1", CoverageClass::B, "1.5", None)]), "invalid_ratio");
    assert_eq!(refuse(&[]), "no_lines");
    assert_eq!(refuse(&[a(i64::MAX, "10")]), "amount_out_of_range");
}

// ---- Any input, every seed policy ----

/// Every seed policy (not the floors).
fn seed_policies() -> &'static [Policy] {
    static POLICIES: OnceLock<Vec<Policy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        seed_documents()
            .into_iter()
            .filter_map(|(_, document)| match document {
                Document::Policy(policy) => Some(*policy),
                Document::Floors(_) => None,
            })
            .collect()
    })
}

fn any_line() -> impl Strategy<Value = Line> {
    (1i64..2_000_000, 1i64..10_000, 0..3usize, 0i64..=20, proptest::option::of(1i64..2_000_000))
        .prop_map(|(fen, hundredths, class, ratio_step, cap)| Line {
            price_fen: price(fen),
            quantity: qty(Decimal::new(hundredths, 2)),
            class: [CoverageClass::A, CoverageClass::B, CoverageClass::C][class],
            selfpay_ratio: Decimal::new(ratio_step * 5, 2),
            price_cap_fen: cap,
        })
}

/// The yearly counters any seed policy keeps.
const COUNTERS: [&str; 17] = [
    "layer.large_amount.base",
    "layer.large_amount.paid",
    "layer.serious_illness.base",
    "layer.serious_illness.paid",
    "chronic.M32.paid",
    "chronic.M32.visits",
    "chronic.G70.paid",
    "chronic.G70.visits",
    "chronic.D66.paid",
    "chronic.D66.visits",
    "chronic.I10.paid",
    "chronic.I10.visits",
    "chronic.E11.paid",
    "chronic.E11.visits",
    "assistance.deductible",
    "chronic.N18.paid",
    "chronic.N18.visits",
];

fn any_accumulators() -> impl Strategy<Value = Accumulators> {
    (
        0u32..5,
        0i64..50_000_000,
        proptest::array::uniform4(0i64..20_000_000),
        proptest::array::uniform4(0i64..80_000),
        0i64..50_000_000,
        0i64..60_000_000,
        0i64..4_000_000,
        proptest::collection::btree_map(
            proptest::sample::select(COUNTERS.to_vec()).prop_map(str::to_owned),
            1i64..60_000_000,
            0..8,
        ),
    )
        .prop_map(
            |(admissions, pooling, benefit, deductible, burden, layer, assistance, counters)| {
                Accumulators {
                    admissions,
                    pooling_paid_fen: pooling,
                    benefit_paid_fen: benefit,
                    deductible_paid_fen: deductible,
                    inscp_self_burden_fen: burden,
                    layer_paid_fen: layer,
                    assistance_paid_fen: assistance,
                    counters,
                }
            },
        )
}

fn any_visit() -> impl Strategy<Value = (Visit, Person)> {
    let diseases = [
        None,
        Some("M32.900"),
        Some("G70"),
        Some("D66.x00"),
        Some("I10.x00x002"),
        Some("E11.900"),
        Some("J45.900"),
    ];
    let categories = [
        None,
        Some("low_income"),
        Some("extreme_poverty"),
        Some("low_income_margin"),
        Some("veteran"),
    ];
    (
        proptest::sample::select(MedType::ALL.to_vec()),
        proptest::sample::select(HospitalLevel::ALL.to_vec()),
        0..3usize,
        any::<bool>(),
        any::<bool>(),
        0i64..5_000_000,
        proptest::sample::select(diseases.to_vec()),
        proptest::sample::select(categories.to_vec()),
    )
        .prop_map(
            |(
                med_type,
                hospital_level,
                filing,
                use_account,
                retired,
                balance,
                disease,
                category,
            )| {
                let visit = Visit {
                    med_type,
                    hospital_level,
                    filing: [
                        LONG_TERM,
                        FilingKind::ReferralOrEmergency,
                        FilingKind::OtherTemporary,
                    ][filing],
                    use_account,
                    disease: disease.map(str::to_owned),
                };
                let person = Person {
                    retired,
                    account_balance_fen: balance,
                    assistance_category: category.map(str::to_owned),
                };
                (visit, person)
            },
        )
}

/// DESIGN.md §5.1 for one settlement: total = funds + patient; patient = account + cash;
/// every component ≥ 0; the line components add up to the total; and no fund pays more than
/// its cap, ceiling or limit leaves.
fn adds_up(
    lines: &[Line],
    before: &Accumulators,
    visit: &Visit,
    person: &Person,
    policy: &Policy,
) -> Result<(), TestCaseError> {
    let at = format!("{}/{} {}", policy.region, policy.insutype, policy.version);
    let b = settle(lines, person, before, policy, visit).unwrap();
    prop_assert_eq!(b.medfee_sumamt, b.fund_pay_sumamt + b.psn_part_amt, "{}", at);
    prop_assert_eq!(b.psn_part_amt, b.acct_pay + b.psn_cash_pay, "{}", at);
    prop_assert_eq!(
        b.medfee_sumamt,
        b.fulamt_ownpay_amt + b.overlmt_selfpay + b.preselfpay_amt + b.inscp_scp_amt,
        "{}",
        at
    );
    prop_assert_eq!(
        b.fund_pay_sumamt,
        b.hifp_pay + b.hifob_pay + b.hifmi_pay + b.maf_pay,
        "{}",
        at
    );
    for amount in [
        b.medfee_sumamt,
        b.fulamt_ownpay_amt,
        b.overlmt_selfpay,
        b.preselfpay_amt,
        b.inscp_scp_amt,
        b.act_pay_dedc,
        b.hifp_pay,
        b.hifob_pay,
        b.hifmi_pay,
        b.maf_pay,
        b.fund_pay_sumamt,
        b.psn_part_amt,
        b.acct_pay,
        b.psn_cash_pay,
    ] {
        prop_assert!(amount >= 0, "{}: {:?}", at, b);
    }
    // The funds pay only in-scope amounts.
    prop_assert!(b.fund_pay_sumamt <= b.inscp_scp_amt, "{}", at);
    prop_assert!(b.act_pay_dedc + b.hifp_pay <= b.inscp_scp_amt, "{}", at);
    prop_assert!(b.acct_pay <= person.account_balance_fen, "{}", at);
    // Pooling within this kind's cap and every ceiling that counts it.
    let care = visit.med_type.care();
    if let Some(cap) = policy.benefit(care).annual_cap_fen {
        prop_assert!(b.hifp_pay <= (cap - before.benefit_paid_fen[care.index()]).max(0), "{}", at);
    }
    for ceiling in policy.ceilings.iter().filter(|c| c.kinds.contains(&care)) {
        let paid: i64 = ceiling.kinds.iter().map(|k| before.benefit_paid_fen[k.index()]).sum();
        prop_assert!(b.hifp_pay <= (ceiling.annual_cap_fen - paid).max(0), "{}", at);
    }
    // Each layer within its cap, only for the kinds it counts; the scheme's fund.
    let mut layers_paid = 0;
    for layer in &policy.layers {
        let key = format!("layer.{}.paid", layer.name);
        let paid = counter(&b.accumulators, &key) - counter(before, &key);
        prop_assert!(paid >= 0, "{}", at);
        if !layer.counts.contains(&care) {
            prop_assert_eq!(paid, 0, "{}", at);
        }
        if let Some(cap) = layer.annual_cap_fen {
            prop_assert!(paid <= (cap - counter(before, &key)).max(0), "{}", at);
        }
        layers_paid += paid;
    }
    prop_assert_eq!(layers_paid, b.hifob_pay + b.hifmi_pay, "{}", at);
    match policy.scheme {
        Scheme::Employee => prop_assert_eq!(b.hifmi_pay, 0, "{}", at),
        Scheme::Resident => prop_assert_eq!(b.hifob_pay, 0, "{}", at),
    }
    // Assistance within its one yearly limit, for the categories it names.
    match &policy.assistance {
        Some(assistance) => prop_assert!(
            b.maf_pay <= (assistance.annual_limit_fen - before.assistance_paid_fen).max(0),
            "{}",
            at
        ),
        None => prop_assert_eq!(b.maf_pay, 0, "{}", at),
    }
    // Fund details add up to the fund parts (and the account's).
    let detailed: i64 = b.setldetail.iter().map(|p| p.fund_payamt).sum();
    prop_assert_eq!(detailed, b.fund_pay_sumamt + b.acct_pay, "{}", at);
    // Accumulators only grow, by exactly what this settlement contributed.
    let after = &b.accumulators;
    prop_assert_eq!(after.pooling_paid_fen - before.pooling_paid_fen, b.hifp_pay, "{}", at);
    prop_assert_eq!(
        after.benefit_paid_fen[care.index()] - before.benefit_paid_fen[care.index()],
        b.hifp_pay,
        "{}",
        at
    );
    prop_assert_eq!(
        after.layer_paid_fen - before.layer_paid_fen,
        b.hifob_pay + b.hifmi_pay,
        "{}",
        at
    );
    prop_assert_eq!(after.assistance_paid_fen - before.assistance_paid_fen, b.maf_pay, "{}", at);
    prop_assert_eq!(
        after.inscp_self_burden_fen - before.inscp_self_burden_fen,
        b.inscp_scp_amt - b.hifp_pay,
        "{}",
        at
    );
    for key in before.counters.keys().chain(after.counters.keys()) {
        prop_assert!(counter(after, key) >= counter(before, key), "{}: {}", at, key);
    }
    prop_assert!(after.is_valid(), "{}", at);
    let contribution = after.minus(before);
    prop_assert!(contribution.is_valid(), "{}: {:?}", at, contribution);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Any input, under every seed policy.
    #[test]
    fn every_settlement_adds_up_to_the_fen_under_every_seed_policy(
        lines in proptest::collection::vec(any_line(), 1..12),
        before in any_accumulators(),
        (visit, person) in any_visit(),
    ) {
        for policy in seed_policies() {
            adds_up(&lines, &before, &visit, &person, policy)?;
        }
    }
}

#[test]
fn the_counters_read_back_by_what_they_count() {
    let accumulators = Accumulators {
        counters: [
            ("layer.large_amount.base", 5_000),
            ("layer.large_amount.paid", 1_000),
            ("chronic.M03900.paid", 300),
            ("chronic.M03900.visits", 2),
            ("assistance.deductible", 700),
            ("something.else", 9),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
        ..Accumulators::default()
    };
    let totals = accumulators.counter_totals();
    assert_eq!(totals.layers["large_amount"], LayerCounters { base_fen: 5_000, paid_fen: 1_000 });
    assert_eq!(totals.chronic["M03900"], DiseaseCounters { paid_fen: 300, visits: 2 });
    assert_eq!(totals.assistance_deductible_fen, 700);
    assert_eq!(totals.other.into_iter().collect::<Vec<_>>(), [("something.else".to_owned(), 9)]);
    assert_eq!(
        (pooling_fund_pay_type(Scheme::Resident), layer_fund_pay_type(LayerFund::LargeAmount)),
        ("390100", "330100")
    );
}
