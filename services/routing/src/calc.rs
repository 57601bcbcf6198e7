//! The settlement calculator (DESIGN.md §4.3), pure: resolved fee lines, the person, their
//! yearly accumulators, the home policy, the filing and the visit in; the breakdown and the
//! accumulators after it out. No I/O.
//!
//! Every computed component is rounded once to the fen, half away from zero (amounts are never
//! negative, so half-up), by `medclear_common::money` — the rule the fee upload's answer uses
//! too; totals are sums of rounded components. Hence, for every settlement,
//! exactly: `medfee_sumamt = fulamt_ownpay + overlmt_selfpay + preselfpay + inscp_scp`,
//! `medfee_sumamt = fund_pay_sumamt + psn_part_amt`, `psn_part_amt = acct_pay + psn_cash_pay`.

use medclear_common::{Error, Result, money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::{
    model::{PriceFen, Quantity},
    policy::{
        Care, DeductiblePer, Disease, HospitalLevel, LayerBase, LayerFund, Policy, Scheme, Segment,
        Unlisted, normalized_code,
    },
};

/// 甲 / 乙 / 丙, as the catalogue resolved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CoverageClass {
    A,
    B,
    C,
}

/// A fee line after catalogue resolution. Its price and quantity were validated when it was
/// uploaded ([`crate::model::FeeLine`]); the ratio is the catalogue's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub price_fen: PriceFen,
    pub quantity: Quantity,
    pub class: CoverageClass,
    /// The 乙 first self-pay ratio.
    pub selfpay_ratio: Decimal,
    pub price_cap_fen: Option<i64>,
}

/// The national medical types (med_type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MedType {
    /// 11 普通门诊
    GeneralOutpatient,
    /// 14 门诊慢特病
    ChronicOutpatient,
    /// 21 普通住院
    Inpatient,
    /// 41 定点药店购药
    Pharmacy,
}

impl MedType {
    /// Every national med_type settled here.
    pub const ALL: [MedType; 4] =
        [Self::GeneralOutpatient, Self::ChronicOutpatient, Self::Inpatient, Self::Pharmacy];

    /// The kind of care a policy's rules are written for.
    pub fn care(self) -> Care {
        match self {
            Self::GeneralOutpatient => Care::GeneralOutpatient,
            Self::ChronicOutpatient => Care::ChronicOutpatient,
            Self::Inpatient => Care::Inpatient,
            Self::Pharmacy => Care::Pharmacy,
        }
    }

    /// The national med_type code.
    pub fn code(self) -> i16 {
        match self {
            Self::GeneralOutpatient => 11,
            Self::ChronicOutpatient => 14,
            Self::Inpatient => 21,
            Self::Pharmacy => 41,
        }
    }

    /// The type of a national med_type code, if it is one.
    pub fn from_code(code: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }
}

/// How the visit is covered across provinces, which decides the temporary reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FilingKind {
    /// Long-term residence filings, and visits that need none: no reduction.
    LongTerm,
    /// Referral (转诊转院) or emergency (急诊抢救, also unfiled emergencies).
    ReferralOrEmergency,
    /// Other temporary trips.
    OtherTemporary,
}

/// What the calculator needs to know of the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub retired: bool,
    pub account_balance_fen: i64,
    /// Medical-assistance category (e.g. `low_income`), if any.
    pub assistance_category: Option<String>,
}

/// What the funds have done for the person this year (one policy year). Settlements add to it;
/// a cancellation subtracts exactly what its settlement added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accumulators {
    /// Inpatient admissions settled this year.
    pub admissions: u32,
    /// Pooling fund paid this year, all kinds of care.
    pub pooling_paid_fen: i64,
    /// Pooling fund paid this year per kind of care (inpatient, general, chronic, pharmacy).
    pub benefit_paid_fen: [i64; 4],
    /// Yearly deductibles paid per kind of care (only for `DeductiblePer::Year`).
    pub deductible_paid_fen: [i64; 4],
    /// In-scope amounts the patient bore this year (the base of the serious-illness layer).
    pub inscp_self_burden_fen: i64,
    pub layer_paid_fen: i64,
    pub assistance_paid_fen: i64,
    /// The policy's own yearly counters, by name: each layer's base and payments
    /// (`layer.<name>.base`, `layer.<name>.paid`), each chronic disease's payments and visits
    /// (`chronic.<code>.paid`, `chronic.<code>.visits`), the assistance deductible paid
    /// (`assistance.deductible`). Absent is 0.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, i64>,
}

impl Accumulators {
    /// `self − other`, field by field: what a settlement contributed.
    pub fn minus(&self, other: &Accumulators) -> Accumulators {
        let each = |a: [i64; 4], b: [i64; 4]| [a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]];
        Accumulators {
            admissions: self.admissions.wrapping_sub(other.admissions),
            pooling_paid_fen: self.pooling_paid_fen - other.pooling_paid_fen,
            benefit_paid_fen: each(self.benefit_paid_fen, other.benefit_paid_fen),
            deductible_paid_fen: each(self.deductible_paid_fen, other.deductible_paid_fen),
            inscp_self_burden_fen: self.inscp_self_burden_fen - other.inscp_self_burden_fen,
            layer_paid_fen: self.layer_paid_fen - other.layer_paid_fen,
            assistance_paid_fen: self.assistance_paid_fen - other.assistance_paid_fen,
            counters: self
                .counters
                .keys()
                .chain(other.counters.keys())
                .map(|k| (k.clone(), counter(self, k) - counter(other, k)))
                .filter(|(_, v)| *v != 0)
                .collect(),
        }
    }

    /// Whether no field is negative (a restored total never may be).
    pub fn is_valid(&self) -> bool {
        [
            self.pooling_paid_fen,
            self.inscp_self_burden_fen,
            self.layer_paid_fen,
            self.assistance_paid_fen,
        ]
        .into_iter()
        .chain(self.benefit_paid_fen)
        .chain(self.deductible_paid_fen)
        .chain(self.counters.values().copied())
        .all(|v| v >= 0)
    }
}

/// One visit to settle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    pub med_type: MedType,
    pub hospital_level: HospitalLevel,
    pub filing: FilingKind,
    /// Pay from the personal account what it can.
    pub use_account: bool,
    /// The disease treated (a chronic-outpatient visit's `dise_codg`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disease: Option<String>,
}

/// One fund's part (`setldetail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundPart {
    /// National fund code, e.g. `310100` employee pooling fund.
    pub fund_pay_type: String,
    /// The amount that entered this fund's computation.
    pub crt_payb_lmt_amt: i64,
    pub fund_payamt: i64,
}

/// The settlement, in the national field names (all fen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    pub medfee_sumamt: i64,
    pub fulamt_ownpay_amt: i64,
    pub overlmt_selfpay: i64,
    pub preselfpay_amt: i64,
    pub inscp_scp_amt: i64,
    pub act_pay_dedc: i64,
    pub hifp_pay: i64,
    pub hifob_pay: i64,
    pub hifmi_pay: i64,
    pub maf_pay: i64,
    pub fund_pay_sumamt: i64,
    pub psn_part_amt: i64,
    pub acct_pay: i64,
    pub psn_cash_pay: i64,
    pub setldetail: Vec<FundPart>,
    /// The person's accumulators after this settlement.
    pub accumulators: Accumulators,
}

/// An amount out of range, for the line or the total at `field`.
fn out_of_range(field: impl Into<String>, e: &money::AmountError) -> Error {
    let field = field.into();
    Error::invalid(field.clone(), "amount_out_of_range", format!("{field}: {e}"))
}

/// Rounds to the fen, half away from zero.
fn round_fen(amount: Decimal) -> Result<i64> {
    money::round_fen(amount).map_err(|e| out_of_range("lines", &e))
}

fn fen(amount: i64) -> Decimal {
    Decimal::from(amount)
}

/// The four line components, each rounded once (the in-scope amount is the rest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineParts {
    pub total: i64,
    /// 丙: all of it (`fulamt_ownpay_amt`).
    pub fulamt: i64,
    /// Above the price cap (`overlmt_amt`).
    pub overlmt: i64,
    /// 乙's first self-pay (`preselfpay_amt`).
    pub preselfpay: i64,
}

impl LineParts {
    /// `inscp_scp_amt`: what is left in scope.
    pub fn inscp(&self) -> i64 {
        self.total - self.fulamt - self.overlmt - self.preselfpay
    }
}

/// A line's components, as the settlement computes them (and the fee upload answers them).
pub fn line_parts(index: usize, line: &Line) -> Result<LineParts> {
    let field = || format!("lines[{index}]");
    let (price_fen, quantity) = (i64::from(line.price_fen), Decimal::from(line.quantity));
    if line.selfpay_ratio < Decimal::ZERO || line.selfpay_ratio > Decimal::ONE {
        return Err(Error::invalid(
            field(),
            "invalid_ratio",
            format!("{}: the self-pay ratio is outside 0–1", field()),
        ));
    }
    let total =
        money::line_amount_fen(price_fen, quantity).map_err(|e| out_of_range(field(), &e))?;
    if line.class == CoverageClass::C {
        return Ok(LineParts { total, fulamt: total, ..LineParts::default() });
    }
    let overlmt = match line.price_cap_fen {
        Some(cap) if price_fen > cap => money::line_amount_fen(price_fen - cap.max(0), quantity)
            .map_err(|e| out_of_range(field(), &e))?
            .min(total),
        _ => 0,
    };
    let preselfpay = if line.class == CoverageClass::B {
        money::share_fen(total - overlmt, line.selfpay_ratio)
            .map_err(|e| out_of_range(field(), &e))?
    } else {
        0
    };
    Ok(LineParts { total, fulamt: 0, overlmt, preselfpay })
}

/// What the fund pays of the amounts `lo ..< hi`, segment by segment, each ratio moved by
/// `points_off` (positive: fewer points, e.g. a temporary filing; negative: more, e.g. a
/// low-income adjustment) and kept within 0–1, unrounded.
fn through_segments(segments: &[Segment], lo: i64, hi: i64, points_off: Decimal) -> Decimal {
    segments
        .iter()
        .map(|s| {
            let from = s.from_fen.max(lo);
            let to = s.to_fen.map_or(hi, |to| to.min(hi));
            let ratio = (s.ratio - points_off).clamp(Decimal::ZERO, Decimal::ONE);
            if to > from { fen(to - from) * ratio } else { Decimal::ZERO }
        })
        .sum()
}

fn matches(
    level: Option<HospitalLevel>,
    retired: Option<bool>,
    visit: &Visit,
    person: &Person,
) -> bool {
    level.is_none_or(|l| l == visit.hospital_level) && retired.is_none_or(|r| r == person.retired)
}

/// The national fund code (基金支付类型) of a scheme's pooling fund.
pub fn pooling_fund_pay_type(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Employee => "310100",
        Scheme::Resident => "390100",
    }
}

/// The national fund code of a layer's fund.
pub fn layer_fund_pay_type(fund: LayerFund) -> &'static str {
    match fund {
        LayerFund::LargeAmount => "330100",
        LayerFund::SeriousIllness => "390200",
    }
}

/// A layer's yearly counters: the base counted and what it paid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerCounters {
    pub base_fen: i64,
    pub paid_fen: i64,
}

/// A chronic disease's yearly counters: what the pooling fund paid for it, and its visits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiseaseCounters {
    pub paid_fen: i64,
    pub visits: i64,
}

/// The yearly counters by what they count, read back from the keys [`settle`] writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterTotals {
    /// By the policy's layer name.
    pub layers: BTreeMap<String, LayerCounters>,
    /// By the disease code (normalised: no dots, upper case).
    pub chronic: BTreeMap<String, DiseaseCounters>,
    /// The assistance category's yearly deductible paid.
    pub assistance_deductible_fen: i64,
    /// Counters of any other name, as kept.
    pub other: BTreeMap<String, i64>,
}

impl Accumulators {
    /// The counters by what they count.
    pub fn counter_totals(&self) -> CounterTotals {
        let mut totals = CounterTotals::default();
        for (key, &value) in &self.counters {
            let split =
                |prefix: &str| key.strip_prefix(prefix).and_then(|rest| rest.rsplit_once('.'));
            match (split("layer."), split("chronic."), key.as_str()) {
                (Some((name, "base")), _, _) => {
                    totals.layers.entry(name.to_owned()).or_default().base_fen = value;
                }
                (Some((name, "paid")), _, _) => {
                    totals.layers.entry(name.to_owned()).or_default().paid_fen = value;
                }
                (_, Some((code, "paid")), _) => {
                    totals.chronic.entry(code.to_owned()).or_default().paid_fen = value;
                }
                (_, Some((code, "visits")), _) => {
                    totals.chronic.entry(code.to_owned()).or_default().visits = value;
                }
                (_, _, "assistance.deductible") => totals.assistance_deductible_fen = value,
                _ => {
                    totals.other.insert(key.clone(), value);
                }
            }
        }
        totals
    }
}

/// A yearly counter of the accumulators (0 when absent).
fn counter(accumulators: &Accumulators, key: &str) -> i64 {
    accumulators.counters.get(key).copied().unwrap_or(0)
}

fn add_counter(accumulators: &mut Accumulators, key: String, amount: i64) {
    *accumulators.counters.entry(key).or_insert(0) += amount;
}

/// The chronic disease of the policy a visit's diagnosis falls under, if listed.
fn listed_disease<'p>(policy: &'p Policy, visit: &Visit) -> Option<&'p Disease> {
    let chronic = policy.chronic_diseases.as_ref()?;
    let code = normalized_code(visit.disease.as_deref()?);
    chronic.diseases.iter().find(|d| code.starts_with(&normalized_code(&d.code)))
}

fn disease_key(disease: &Disease, what: &str) -> String {
    format!("chronic.{}.{what}", normalized_code(&disease.code))
}

/// What the pooling fund may still pay this year for `disease`: its own limit, and with
/// several limited diseases this year the combined limit (the highest limit, plus
/// `others_share` of each other's). `None`: no limit (a disease without a limit of its own is
/// left out of the combination).
fn disease_left(policy: &Policy, disease: &Disease, before: &Accumulators) -> Option<i64> {
    let chronic = policy.chronic_diseases.as_ref()?;
    let paid = |d: &Disease| counter(before, &disease_key(d, "paid"));
    let own = (disease.annual_limit_fen? - paid(disease)).max(0);
    let Some(several) = &chronic.several else {
        return Some(own);
    };
    // The limited diseases of this year: those treated before, and this one.
    let this_year: Vec<(&Disease, i64)> = chronic
        .diseases
        .iter()
        .filter(|d| std::ptr::eq(*d, disease) || counter(before, &disease_key(d, "visits")) > 0)
        .filter_map(|d| d.annual_limit_fen.map(|limit| (d, limit)))
        .collect();
    if this_year.len() < 2 {
        return Some(own);
    }
    let highest = this_year.iter().map(|(_, limit)| *limit).max().unwrap_or(0);
    let others: i64 = this_year.iter().map(|(_, limit)| limit).sum::<i64>() - highest;
    let combined = highest + money::share_fen(others, several.others_share).unwrap_or(others);
    let combined_left = (combined - this_year.iter().map(|(d, _)| paid(d)).sum::<i64>()).max(0);
    Some(own.min(combined_left))
}

/// Settles one visit.
pub fn settle(
    lines: &[Line],
    person: &Person,
    before: &Accumulators,
    policy: &Policy,
    visit: &Visit,
) -> Result<Breakdown> {
    if lines.is_empty() {
        return Err(Error::invalid(
            "lines",
            "no_lines",
            "a settlement needs at least one fee line",
        ));
    }
    if person.account_balance_fen < 0 {
        return Err(Error::invalid(
            "account_balance_fen",
            "invalid_amount",
            "the account balance is negative",
        ));
    }
    // 1–2. Lines: out of scope (丙), over the price cap, 乙 first self-pay, in scope.
    let mut sum = LineParts::default();
    for (i, line) in lines.iter().enumerate() {
        let parts = line_parts(i, line)?;
        // Each part is at most its line's total, so only the total can overflow first.
        sum.total = sum.total.checked_add(parts.total).ok_or_else(|| {
            Error::invalid("lines", "amount_out_of_range", "the lines' total is out of range")
        })?;
        sum.fulamt += parts.fulamt;
        sum.overlmt += parts.overlmt;
        sum.preselfpay += parts.preselfpay;
    }
    let inscp = sum.total - sum.fulamt - sum.overlmt - sum.preselfpay;
    let care = visit.med_type.care();
    let rules = policy.benefit(care);
    let slot = care.index();
    let mut after = before.clone();
    let disease =
        if care == Care::ChronicOutpatient { listed_disease(policy, visit) } else { None };
    let covered = care != Care::ChronicOutpatient
        || disease.is_some()
        || policy.chronic_diseases.as_ref().is_none_or(|c| c.unlisted == Unlisted::Covered);

    // 3. Deductible.
    let nth = if care == Care::Inpatient { before.admissions + 1 } else { 1 };
    let deductible = rules
        .deductibles
        .iter()
        .filter(|d| nth >= d.from_nth_admission)
        .find(|d| matches(d.hospital_level, d.retired, visit, person))
        .map_or(0, |d| d.amount_fen);
    let deductible_left = match rules.deductible_per {
        DeductiblePer::Admission => deductible,
        DeductiblePer::Year => (deductible - before.deductible_paid_fen[slot]).max(0),
    };
    let act_pay_dedc = if covered { deductible_left.min(inscp) } else { 0 };
    if rules.deductible_per == DeductiblePer::Year {
        after.deductible_paid_fen[slot] += act_pay_dedc;
    }

    // 4. Pooling fund: segments of what is above the deductible, the ratio moved by the
    //    temporary reduction and the person's category, within this kind of care's cap, the
    //    disease's limit and every shared ceiling that counts this kind of care.
    let base = inscp - act_pay_dedc;
    let reduction = match visit.filing {
        FilingKind::LongTerm => Decimal::ZERO,
        FilingKind::ReferralOrEmergency => policy.temporary_reduction.referral_emergency,
        FilingKind::OtherTemporary => policy.temporary_reduction.other,
    };
    let bonus: Decimal = policy
        .category_adjustments
        .iter()
        .filter(|a| {
            a.applies_to.contains(&care)
                && person.assistance_category.as_deref() == Some(a.category.as_str())
        })
        .map(|a| a.ratio_points)
        .sum();
    let segments = match disease.and_then(|d| d.ratio) {
        Some(ratio) => Some(vec![Segment { from_fen: 0, to_fen: None, ratio }]),
        None => rules
            .bands
            .iter()
            .find(|b| matches(b.hospital_level, b.retired, visit, person))
            .map(|b| b.segments.clone()),
    };
    let pooling = match (&segments, covered) {
        (Some(segments), true) => {
            round_fen(through_segments(segments, 0, base, reduction - bonus))?
        }
        _ => 0,
    };
    let mut left = base.min(pooling);
    if let Some(cap) = rules.annual_cap_fen {
        left = left.min((cap - before.benefit_paid_fen[slot]).max(0));
    }
    for ceiling in policy.ceilings.iter().filter(|c| c.kinds.contains(&care)) {
        let paid: i64 = ceiling.kinds.iter().map(|k| before.benefit_paid_fen[k.index()]).sum();
        left = left.min((ceiling.annual_cap_fen - paid).max(0));
    }
    if let Some(disease_left) = disease.and_then(|d| disease_left(policy, d, before)) {
        left = left.min(disease_left);
    }
    let hifp_pay = left.max(0);
    after.pooling_paid_fen += hifp_pay;
    after.benefit_paid_fen[slot] += hifp_pay;
    if let Some(d) = disease {
        add_counter(&mut after, disease_key(d, "paid"), hifp_pay);
        add_counter(&mut after, disease_key(d, "visits"), 1);
    }

    // 5. Layers (large-amount fund, serious-illness insurance), in order, on the year's
    //    in-scope cost or self-burden of the kinds of care they count, each paying at most
    //    what is left of this visit's in-scope self-burden.
    let burden = inscp - hifp_pay;
    after.inscp_self_burden_fen += burden;
    let mut burden_left = burden;
    let (mut hifob_pay, mut hifmi_pay) = (0, 0);
    for layer in policy.layers.iter().filter(|l| l.counts.contains(&care)) {
        let amount = match layer.base {
            LayerBase::InscpCost => inscp,
            LayerBase::InscpSelfBurden => burden,
        };
        let (base_key, paid_key) =
            (format!("layer.{}.base", layer.name), format!("layer.{}.paid", layer.name));
        let lo = counter(before, &base_key);
        let raw = round_fen(through_segments(&layer.segments, lo, lo + amount, Decimal::ZERO))?;
        let cap_left =
            layer.annual_cap_fen.map_or(i64::MAX, |cap| (cap - counter(before, &paid_key)).max(0));
        let pay = raw.min(cap_left).min(burden_left);
        add_counter(&mut after, base_key, amount);
        add_counter(&mut after, paid_key, pay);
        burden_left -= pay;
        match layer.fund {
            LayerFund::LargeAmount => hifob_pay += pay,
            LayerFund::SeriousIllness => hifmi_pay += pay,
        }
    }
    let layer_pay = hifob_pay + hifmi_pay;
    after.layer_paid_fen += layer_pay;

    // 6. Medical assistance on what is left of the in-scope burden: the category's yearly
    //    deductible, its ratio, the one yearly limit.
    let mut maf_pay = 0;
    let mut assistance_base = 0;
    if let Some(assistance) = policy.assistance.as_ref().filter(|a| a.counts.contains(&care))
        && let Some(terms) = person
            .assistance_category
            .as_deref()
            .and_then(|c| assistance.categories.iter().find(|t| t.category == c))
    {
        let deductible_key = "assistance.deductible".to_owned();
        let deductible =
            (terms.deductible_fen - counter(before, &deductible_key)).max(0).min(burden_left);
        add_counter(&mut after, deductible_key, deductible);
        assistance_base = burden_left - deductible;
        let limit_left = (assistance.annual_limit_fen - before.assistance_paid_fen).max(0);
        maf_pay = money::share_fen(assistance_base, terms.ratio)
            .map_err(|e| out_of_range("lines", &e))?
            .min(limit_left)
            .min(assistance_base);
    }
    after.assistance_paid_fen += maf_pay;
    after.counters.retain(|_, v| *v != 0);

    // 7. The patient's part: from the account what it can (when asked), the rest in cash.
    let fund_pay_sumamt = hifp_pay + layer_pay + maf_pay;
    let psn_part_amt = sum.total - fund_pay_sumamt;
    let acct_pay = if visit.use_account { psn_part_amt.min(person.account_balance_fen) } else { 0 };
    let psn_cash_pay = psn_part_amt - acct_pay;
    if care == Care::Inpatient {
        after.admissions += 1;
    }

    let setldetail = [
        (pooling_fund_pay_type(policy.scheme), base, hifp_pay),
        (layer_fund_pay_type(LayerFund::LargeAmount), burden, hifob_pay),
        (layer_fund_pay_type(LayerFund::SeriousIllness), burden, hifmi_pay),
        ("610100", assistance_base, maf_pay),
        ("310200", psn_part_amt, acct_pay),
    ]
    .into_iter()
    .filter(|(_, _, paid)| *paid > 0)
    .map(|(code, crt_payb_lmt_amt, fund_payamt)| FundPart {
        fund_pay_type: code.to_owned(),
        crt_payb_lmt_amt,
        fund_payamt,
    })
    .collect();

    Ok(Breakdown {
        medfee_sumamt: sum.total,
        fulamt_ownpay_amt: sum.fulamt,
        overlmt_selfpay: sum.overlmt,
        preselfpay_amt: sum.preselfpay,
        inscp_scp_amt: inscp,
        act_pay_dedc,
        hifp_pay,
        hifob_pay,
        hifmi_pay,
        maf_pay,
        fund_pay_sumamt,
        psn_part_amt,
        acct_pay,
        psn_cash_pay,
        setldetail,
        accumulators: after,
    })
}

#[cfg(test)]
mod tests;
