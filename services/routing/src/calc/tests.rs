//! The calculator against hand-worked examples (the arithmetic is in the comments), at every
//! boundary of DESIGN.md §4.3, and against the identities of §5.1 for any input.

use proptest::prelude::*;

use super::*;
use crate::policies::{default_policy, seed_policies};

fn price(fen: i64) -> PriceFen {
    PriceFen::try_from(fen).unwrap()
}

fn qty(value: Decimal) -> Quantity {
    Quantity::try_from(value).unwrap()
}

fn seed(region: &str, insutype: &str) -> Policy {
    seed_policies()
        .unwrap()
        .into_iter()
        .find(|p| p.region == region && p.insutype == insutype)
        .unwrap()
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
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

fn a(price_fen: i64, quantity: &str) -> Line {
    line(price_fen, quantity, CoverageClass::A, "0", None)
}

fn employed() -> Person {
    Person { retired: false, account_balance_fen: 0, assistance_category: None }
}

fn inpatient(level: HospitalLevel, filing: FilingKind) -> Visit {
    Visit { med_type: MedType::Inpatient, hospital_level: level, filing, use_account: false }
}

fn parts(b: &Breakdown) -> [i64; 4] {
    [b.fulamt_ownpay_amt, b.overlmt_selfpay, b.preselfpay_amt, b.inscp_scp_amt]
}

#[test]
fn huangshi_employee_tertiary_first_admission() {
    // Lines (fen):
    //   甲 drug   10000 × 10                      = 100000, all in scope
    //   乙 drug    5000 × 20 = 100000; 10 % first self-pay = 10000
    //   甲 service 30000 × 2 = 60000; cap 25000 → over cap (30000−25000)×2 = 10000
    //   丙 item   20000 × 1                       = 20000, all own pay
    // total 280000; in scope = 280000 − 20000 − 10000 − 10000 = 240000
    // deductible (tertiary) 80000 → base 160000; employed tertiary 90 % → pooling 144000
    // self-burden 240000 − 144000 = 96000, far below the 2000000 large-amount threshold
    // patient 280000 − 144000 = 136000; account balance 50000 → account 50000, cash 86000
    let lines = [
        a(10000, "10"),
        line(5000, "20", CoverageClass::B, "0.10", None),
        line(30000, "2", CoverageClass::A, "0", Some(25000)),
        line(20000, "1", CoverageClass::C, "0", None),
    ];
    let person = Person { account_balance_fen: 50000, ..employed() };
    let visit =
        Visit { use_account: true, ..inpatient(HospitalLevel::Tertiary, FilingKind::LongTerm) };
    let b =
        settle(&lines, &person, &Accumulators::default(), &seed("420200", "310"), &visit).unwrap();
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
    assert_eq!(b.accumulators.inscp_self_burden_fen, 96000);
}

#[test]
fn huangshi_retired_other_temporary_reaches_the_ceiling_and_the_large_amount_fund() {
    // One 甲 service of 1000000 fen. Secondary deductible 50000 → base 950000.
    // Retired secondary 94 % less 20 points (other temporary filing) = 74 % → 703000,
    // but only 12000000 − 11950000 = 50000 of the yearly ceiling is left → pooling 50000.
    // Self-burden 1000000 − 50000 = 950000; the year's total goes 1500000 → 2450000, of which
    // 2450000 − 2000000 = 450000 lies above the threshold, at 80 % → large-amount fund 360000.
    // Funds 410000; patient 590000, all cash.
    let before = Accumulators {
        pooling_paid_fen: 11950000,
        inscp_self_burden_fen: 1500000,
        admissions: 2,
        ..Default::default()
    };
    let person = Person { retired: true, ..employed() };
    let visit = inpatient(HospitalLevel::Secondary, FilingKind::OtherTemporary);
    let b = settle(&[a(1000000, "1")], &person, &before, &seed("420200", "310"), &visit).unwrap();
    assert_eq!((b.act_pay_dedc, b.hifp_pay, b.hifob_pay, b.hifmi_pay), (50000, 50000, 360000, 0));
    assert_eq!((b.fund_pay_sumamt, b.psn_part_amt, b.psn_cash_pay), (410000, 590000, 590000));
    assert_eq!(b.accumulators.pooling_paid_fen, 12000000, "the ceiling is reached exactly");
    assert_eq!(b.accumulators.layer_paid_fen, 360000);
    assert_eq!(
        b.setldetail[1],
        FundPart { fund_pay_type: "330100".into(), crt_payb_lmt_amt: 950000, fund_payamt: 360000 }
    );
}

#[test]
fn tianjin_resident_serious_illness_across_a_segment_boundary() {
    // One 甲 item of 5000000 fen, tertiary: deductible 80000, base 4920000 × 60 % = 2952000.
    // Self-burden 5000000 − 2952000 = 2048000; the year's total goes 9000000 → 11048000:
    //   9000000..10000000 at 50 % = 500000, 10000000..11048000 at 60 % = 628800 → 1128800.
    // Funds 2952000 + 1128800 = 4080800; patient 919200.
    let before = Accumulators { inscp_self_burden_fen: 9000000, ..Default::default() };
    let visit = inpatient(HospitalLevel::Tertiary, FilingKind::LongTerm);
    let b =
        settle(&[a(5000000, "1")], &employed(), &before, &seed("120000", "390"), &visit).unwrap();
    assert_eq!((b.hifp_pay, b.hifmi_pay, b.hifob_pay), (2952000, 1128800, 0));
    assert_eq!((b.fund_pay_sumamt, b.psn_part_amt), (4080800, 919200));
    assert_eq!(b.setldetail[1].fund_pay_type, "390200");
}

#[test]
fn shanxi_second_admission_has_half_the_deductible() {
    // 甲 200000 fen, tertiary, 55 %. First admission: deductible 100000 → (200000−100000)×55 %
    // = 55000. Second admission: deductible 50000 → 150000 × 55 % = 82500.
    let policy = seed("140000", "390");
    let visit = inpatient(HospitalLevel::Tertiary, FilingKind::LongTerm);
    let first =
        settle(&[a(200000, "1")], &employed(), &Accumulators::default(), &policy, &visit).unwrap();
    assert_eq!((first.act_pay_dedc, first.hifp_pay), (100000, 55000));
    let second =
        settle(&[a(200000, "1")], &employed(), &first.accumulators, &policy, &visit).unwrap();
    assert_eq!((second.act_pay_dedc, second.hifp_pay), (50000, 82500));
    assert_eq!(second.accumulators.admissions, 2);
}

#[test]
fn tianjin_outpatient_deductible_partly_used_and_cap_reached_mid_visit() {
    // General outpatient: yearly deductible 50000, 30000 already paid → 20000 left.
    // 甲 60000 fen: deductible 20000, base 40000 × 50 % = 20000, but the yearly outpatient cap
    // 300000 has only 300000 − 290000 = 10000 left → pooling 10000. No layer for outpatients.
    let before = Accumulators {
        deductible_paid_fen: [0, 30000, 0, 0],
        benefit_paid_fen: [0, 290000, 0, 0],
        pooling_paid_fen: 290000,
        ..Default::default()
    };
    let visit = Visit {
        med_type: MedType::GeneralOutpatient,
        hospital_level: HospitalLevel::Primary,
        filing: FilingKind::LongTerm,
        use_account: false,
    };
    let b = settle(&[a(60000, "1")], &employed(), &before, &seed("120000", "390"), &visit).unwrap();
    assert_eq!((b.act_pay_dedc, b.hifp_pay, b.hifmi_pay, b.psn_part_amt), (20000, 10000, 0, 50000));
    assert_eq!(b.accumulators.deductible_paid_fen[1], 50000, "the deductible is now used up");
    assert_eq!(b.accumulators.benefit_paid_fen[1], 300000);
    // The next visit pays no deductible and gets nothing from the capped pool.
    let next =
        settle(&[a(1000, "1")], &employed(), &b.accumulators, &seed("120000", "390"), &visit)
            .unwrap();
    assert_eq!((next.act_pay_dedc, next.hifp_pay), (0, 0));
}

#[test]
fn temporary_reductions_and_emergency() {
    // Guangdong employee, any level 80 %; 甲 1000000 fen, tertiary deductible 100000, base 900000.
    let policy = seed("440000", "310");
    let at = |filing| {
        settle(
            &[a(1000000, "1")],
            &employed(),
            &Accumulators::default(),
            &policy,
            &inpatient(HospitalLevel::Tertiary, filing),
        )
        .unwrap()
        .hifp_pay
    };
    assert_eq!(at(FilingKind::LongTerm), 720000); // 900000 × 80 %
    assert_eq!(at(FilingKind::ReferralOrEmergency), 630000); // × 70 %
    assert_eq!(at(FilingKind::OtherTemporary), 540000); // × 60 %
}

#[test]
fn retired_and_employed_and_levels_pick_their_band() {
    // Huangshi, 甲 100000 fen, primary deductible 30000, base 70000: employed 94 %, retired 96 %.
    let policy = seed("420200", "310");
    let visit = inpatient(HospitalLevel::Primary, FilingKind::LongTerm);
    let employed_b =
        settle(&[a(100000, "1")], &employed(), &Accumulators::default(), &policy, &visit).unwrap();
    let retired_b = settle(
        &[a(100000, "1")],
        &Person { retired: true, ..employed() },
        &Accumulators::default(),
        &policy,
        &visit,
    )
    .unwrap();
    assert_eq!((employed_b.hifp_pay, retired_b.hifp_pay), (65800, 67200));
}

#[test]
fn rounding_is_once_per_component_half_up() {
    // 乙 333 fen × 1 at 15 %: first self-pay 49.95 → 50. 甲 price 1001 × 0.5 = 500.5 → 501.
    let lines = [line(333, "1", CoverageClass::B, "0.15", None), a(1001, "0.5")];
    let policy = default_policy("110000", "310").unwrap();
    let visit = Visit {
        med_type: MedType::Pharmacy,
        hospital_level: HospitalLevel::Ungraded,
        filing: FilingKind::LongTerm,
        use_account: false,
    };
    let b = settle(&lines, &employed(), &Accumulators::default(), &policy, &visit).unwrap();
    assert_eq!((b.medfee_sumamt, b.preselfpay_amt, b.inscp_scp_amt), (834, 50, 784));
    // Pharmacy 50 %, no deductible: 784 × 50 % = 392.
    assert_eq!(b.hifp_pay, 392);
}

#[test]
fn amounts_round_half_away_from_zero_and_never_overflow() {
    let policy = default_policy("110000", "310").unwrap();
    let visit = Visit {
        med_type: MedType::Pharmacy,
        hospital_level: HospitalLevel::Ungraded,
        filing: FilingKind::LongTerm,
        use_account: false,
    };
    let settle =
        |lines: &[Line]| settle(lines, &employed(), &Accumulators::default(), &policy, &visit);
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
    let policy = default_policy("110000", "310").unwrap();
    let visit = Visit {
        med_type: MedType::Pharmacy,
        hospital_level: HospitalLevel::Ungraded,
        filing: FilingKind::LongTerm,
        use_account: true,
    };
    let person = Person { account_balance_fen: 100, ..employed() };
    let b = settle(&[a(1000, "1")], &person, &Accumulators::default(), &policy, &visit).unwrap();
    // 1000 × 50 % = 500 pooled; patient 500: account 100 (all it holds), cash 400.
    assert_eq!((b.psn_part_amt, b.acct_pay, b.psn_cash_pay), (500, 100, 400));
}

#[test]
fn medical_assistance_for_eligible_people_within_its_cap() {
    // Guangdong resident, 甲 1000000 fen tertiary: deductible 80000, base 920000 × 55 % = 506000.
    // Self-burden 494000 (the year's total stays below the 1500000 layer threshold).
    // Assistance 70 % of 494000 = 345800, but its yearly cap 3000000 has 2800000 used → 200000.
    let before = Accumulators { assistance_paid_fen: 2800000, ..Default::default() };
    let person = Person { assistance_category: Some("low_income".into()), ..employed() };
    let b = settle(
        &[a(1000000, "1")],
        &person,
        &before,
        &seed("440000", "390"),
        &inpatient(HospitalLevel::Tertiary, FilingKind::LongTerm),
    )
    .unwrap();
    assert_eq!((b.hifp_pay, b.hifmi_pay, b.maf_pay), (506000, 0, 200000));
    assert_eq!((b.fund_pay_sumamt, b.psn_part_amt), (706000, 294000));
    let ineligible = settle(
        &[a(1000000, "1")],
        &employed(),
        &before,
        &seed("440000", "390"),
        &inpatient(HospitalLevel::Tertiary, FilingKind::LongTerm),
    )
    .unwrap();
    assert_eq!(ineligible.maf_pay, 0);
}

#[test]
fn an_all_out_of_scope_visit_is_paid_by_the_patient() {
    let b = settle(
        &[line(5000, "3", CoverageClass::C, "0", None)],
        &employed(),
        &Accumulators::default(),
        &seed("420200", "310"),
        &inpatient(HospitalLevel::Tertiary, FilingKind::LongTerm),
    )
    .unwrap();
    assert_eq!(
        (b.fulamt_ownpay_amt, b.inscp_scp_amt, b.act_pay_dedc, b.fund_pay_sumamt, b.psn_part_amt),
        (15000, 0, 0, 0, 15000)
    );
    assert!(b.setldetail.is_empty());
}

#[test]
fn bad_lines_are_refused_by_name() {
    let policy = seed("420200", "310");
    let visit = inpatient(HospitalLevel::Tertiary, FilingKind::LongTerm);
    let refuse = |lines: &[Line]| {
        settle(lines, &employed(), &Accumulators::default(), &policy, &visit)
            .unwrap_err()
            .reason()
            .to_owned()
    };
    // A price or quantity out of range cannot reach the calculator: see `model::tests`.
    assert_eq!(refuse(&[line(1000, "1", CoverageClass::B, "1.5", None)]), "invalid_ratio");
    assert_eq!(refuse(&[]), "no_lines");
    assert_eq!(refuse(&[a(i64::MAX, "10")]), "amount_out_of_range");
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

fn any_policy() -> impl Strategy<Value = Policy> {
    let mut all = seed_policies().unwrap();
    all.push(default_policy("110000", "310").unwrap());
    all.push(default_policy("310000", "390").unwrap());
    proptest::sample::select(all)
}

fn any_accumulators() -> impl Strategy<Value = Accumulators> {
    (
        0u32..5,
        0i64..50_000_000,
        0i64..500_000,
        0i64..80_000,
        0i64..50_000_000,
        0i64..60_000_000,
        0i64..4_000_000,
    )
        .prop_map(|(admissions, pooling, benefit, deductible, burden, layer, assistance)| {
            Accumulators {
                admissions,
                pooling_paid_fen: pooling,
                benefit_paid_fen: [benefit; 4],
                deductible_paid_fen: [deductible; 4],
                inscp_self_burden_fen: burden,
                layer_paid_fen: layer,
                assistance_paid_fen: assistance,
            }
        })
}

fn any_visit() -> impl Strategy<Value = (Visit, Person)> {
    (0..4usize, 0..4usize, 0..3usize, any::<bool>(), any::<bool>(), 0i64..5_000_000, any::<bool>())
        .prop_map(|(med, level, filing, use_account, retired, balance, assisted)| {
            let visit = Visit {
                med_type: [
                    MedType::GeneralOutpatient,
                    MedType::ChronicOutpatient,
                    MedType::Inpatient,
                    MedType::Pharmacy,
                ][med],
                hospital_level: [
                    HospitalLevel::Tertiary,
                    HospitalLevel::Secondary,
                    HospitalLevel::Primary,
                    HospitalLevel::Ungraded,
                ][level],
                filing: [
                    FilingKind::LongTerm,
                    FilingKind::ReferralOrEmergency,
                    FilingKind::OtherTemporary,
                ][filing],
                use_account,
            };
            let person = Person {
                retired,
                account_balance_fen: balance,
                assistance_category: assisted.then(|| "low_income".to_owned()),
            };
            (visit, person)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// DESIGN.md §5.1 for any settlement: total = funds + patient; patient = account + cash;
    /// every component ≥ 0; and the line components add up to the total.
    #[test]
    fn every_settlement_adds_up_to_the_fen(
        lines in proptest::collection::vec(any_line(), 1..12),
        policy in any_policy(),
        before in any_accumulators(),
        (visit, person) in any_visit(),
    ) {
        let b = settle(&lines, &person, &before, &policy, &visit).unwrap();
        prop_assert_eq!(b.medfee_sumamt, b.fund_pay_sumamt + b.psn_part_amt);
        prop_assert_eq!(b.psn_part_amt, b.acct_pay + b.psn_cash_pay);
        prop_assert_eq!(b.medfee_sumamt, b.fulamt_ownpay_amt + b.overlmt_selfpay + b.preselfpay_amt + b.inscp_scp_amt);
        prop_assert_eq!(b.fund_pay_sumamt, b.hifp_pay + b.hifob_pay + b.hifmi_pay + b.maf_pay);
        for amount in [b.medfee_sumamt, b.fulamt_ownpay_amt, b.overlmt_selfpay, b.preselfpay_amt, b.inscp_scp_amt,
                       b.act_pay_dedc, b.hifp_pay, b.hifob_pay, b.hifmi_pay, b.maf_pay, b.fund_pay_sumamt,
                       b.psn_part_amt, b.acct_pay, b.psn_cash_pay] {
            prop_assert!(amount >= 0, "{b:?}");
        }
        // The funds pay only in-scope amounts, and never more than their caps left.
        prop_assert!(b.fund_pay_sumamt <= b.inscp_scp_amt);
        prop_assert!(b.act_pay_dedc + b.hifp_pay <= b.inscp_scp_amt);
        prop_assert!(b.hifp_pay <= (policy.annual_ceiling_fen - before.pooling_paid_fen).max(0));
        prop_assert!(b.acct_pay <= person.account_balance_fen);
        // Fund details add up to the fund parts (and the account's).
        let detailed: i64 = b.setldetail.iter().map(|p| p.fund_payamt).sum();
        prop_assert_eq!(detailed, b.fund_pay_sumamt + b.acct_pay);
        // Accumulators only grow, by exactly what this settlement contributed.
        let after = &b.accumulators;
        prop_assert_eq!(after.pooling_paid_fen - before.pooling_paid_fen, b.hifp_pay);
        prop_assert_eq!(after.layer_paid_fen - before.layer_paid_fen, b.hifob_pay + b.hifmi_pay);
        prop_assert_eq!(after.assistance_paid_fen - before.assistance_paid_fen, b.maf_pay);
        prop_assert_eq!(after.inscp_self_burden_fen - before.inscp_self_burden_fen, b.inscp_scp_amt - b.hifp_pay);
    }
}
