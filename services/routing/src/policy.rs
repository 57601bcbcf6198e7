//! Home-region benefit policies (参保地政策) as the bureaus publish them: the document format
//! and its validation, pure. A document is JSON; amounts are integer fen, ratios decimal
//! strings (`"0.90"`), so a document means exactly one thing. Unknown fields are refused, so a
//! misspelt field is an error, not a silently missing rule.
//!
//! Two kinds of document:
//! * a **policy** of one pooling region (any 6-digit admdvs; `000000` is the national default)
//!   and insutype, in force from `begin_date` ([`Policy`]);
//! * a province's **floors** (`"kind": "floors"`) that the policies of its regions must meet
//!   ([`Floors`]), published by the national operator.
//!
//! ```json
//! {
//!   "region": "420200", "insutype": "310", "scheme": "employee", "version": "2010-09",
//!   "title": "…", "source": "the published document", "notes": "…",
//!   "assumed": ["inpatient.deductibles", "…every field whose figure is not in the source"],
//!   "begin_date": "2010-09-01", "end_date": null,
//!   "ceilings": [{ "name": "pooling", "kinds": ["inpatient", "chronic_outpatient"], "annual_cap_fen": 12000000 }],
//!   "inpatient": { "deductible_per": "admission", "deductibles": [...], "bands": [...], "annual_cap_fen": null },
//!   "general_outpatient": {...}, "chronic_outpatient": {...}, "pharmacy": {...},
//!   "chronic_diseases": { "diseases": [{ "code": "M32", "name": "系统性红斑狼疮", "annual_limit_fen": null }],
//!                         "several": { "others_share": "0.50" }, "unlisted": "covered" },
//!   "temporary_reduction": { "referral_emergency": "0.10", "other": "0.20" },
//!   "category_adjustments": [{ "category": "low_income", "ratio_points": "0.05", "applies_to": ["inpatient"] }],
//!   "layers": [{ "name": "large_amount", "fund": "large_amount", "base": "inscp_self_burden",
//!                "counts": ["inpatient", "chronic_outpatient"], "segments": [...], "annual_cap_fen": null }],
//!   "assistance": { "categories": [{ "category": "low_income", "deductible_fen": 0, "ratio": "0.70" }],
//!                   "counts": ["inpatient", "chronic_outpatient"], "annual_limit_fen": 3000000 }
//! }
//! ```
//!
//! How the calculator reads each part is in [`crate::calc`]; the README's "Publishing a
//! policy" walks through a document field by field.

use std::fmt::Write as _;

use chrono::NaiveDate;
pub use medclear_common::codes::HospitalLevel;
use medclear_common::{Error, Result, codes::Admdvs};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The region code of the national default policy.
pub const NATIONAL: &str = "000000";

/// Which family of funds a policy belongs to: employees (职工) or residents (城乡居民).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    Employee,
    Resident,
}

/// A kind of care (the national med_types settled here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Care {
    /// 21 普通住院
    Inpatient,
    /// 11 普通门诊
    GeneralOutpatient,
    /// 14 门诊慢特病 (门诊特定病种)
    ChronicOutpatient,
    /// 41 定点药店购药
    Pharmacy,
}

impl Care {
    pub const ALL: [Care; 4] =
        [Self::Inpatient, Self::GeneralOutpatient, Self::ChronicOutpatient, Self::Pharmacy];

    /// Its slot in the accumulators' per-kind arrays.
    pub fn index(self) -> usize {
        match self {
            Self::Inpatient => 0,
            Self::GeneralOutpatient => 1,
            Self::ChronicOutpatient => 2,
            Self::Pharmacy => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inpatient => "inpatient",
            Self::GeneralOutpatient => "general_outpatient",
            Self::ChronicOutpatient => "chronic_outpatient",
            Self::Pharmacy => "pharmacy",
        }
    }
}

/// A slice of an amount and the ratio the fund pays of it: `from_fen ..< to_fen` (`to_fen`
/// `null` = no upper end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    pub from_fen: i64,
    pub to_fen: Option<i64>,
    pub ratio: Decimal,
}

/// A deductible (起付线); the first rule whose conditions hold applies, so rules for later
/// admissions come before the general one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeductibleRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hospital_level: Option<HospitalLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<bool>,
    /// Applies from this admission of the year on (1 = every admission).
    #[serde(default = "one")]
    pub from_nth_admission: u32,
    pub amount_fen: i64,
}

fn one() -> u32 {
    1
}

/// Pooling ratios by amount segment; the first band whose conditions hold applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hospital_level: Option<HospitalLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<bool>,
    pub segments: Vec<Segment>,
}

/// Whether a deductible is owed once per admission or once per year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeductiblePer {
    Admission,
    Year,
}

/// The pooling fund's rules for one kind of care.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Benefit {
    pub deductible_per: DeductiblePer,
    #[serde(default)]
    pub deductibles: Vec<DeductibleRule>,
    /// No matching band: the pooling fund pays nothing for this kind of care.
    pub bands: Vec<Band>,
    /// What the pooling fund pays for this kind of care in a year, at most (`null`: no cap of
    /// its own; shared [`Ceiling`]s still apply).
    #[serde(default)]
    pub annual_cap_fen: Option<i64>,
}

/// A yearly cap the pooling fund's payments for several kinds of care share (封顶线).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ceiling {
    #[serde(default)]
    pub name: String,
    pub kinds: Vec<Care>,
    pub annual_cap_fen: i64,
}

/// A chronic or special disease whose outpatient care the pooling fund pays (门诊慢特病).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disease {
    /// A diagnosis code or its prefix (`M32` covers `M32.900`); dots are ignored.
    pub code: String,
    #[serde(default)]
    pub name: String,
    /// What the pooling fund pays for this disease in a year, at most (`null`: no limit of
    /// its own).
    #[serde(default)]
    pub annual_limit_fen: Option<i64>,
    /// The pooling ratio for this disease, instead of the chronic-outpatient bands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Decimal>,
}

/// With two or more chronic diseases in a year: the disease with the highest limit keeps its
/// limit, and each other adds `others_share` of its own limit to one combined limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeveralDiseases {
    pub others_share: Decimal,
}

/// Whether a chronic-outpatient visit for a disease not listed is paid under the
/// chronic-outpatient rules or not by the pooling fund at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unlisted {
    #[default]
    Covered,
    NotCovered,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChronicDiseases {
    pub diseases: Vec<Disease>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub several: Option<SeveralDiseases>,
    #[serde(default)]
    pub unlisted: Unlisted,
}

/// Ratio points taken off for temporary filings (临时外出就医).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reduction {
    /// Referral and emergency (转诊转院, 急诊抢救).
    pub referral_emergency: Decimal,
    /// Other temporary trips.
    pub other: Decimal,
}

/// Ratio points added to the pooling fund's ratios for a person category (e.g. low-income
/// residents +5 points), for the kinds of care named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryAdjustment {
    pub category: String,
    pub ratio_points: Decimal,
    pub applies_to: Vec<Care>,
}

/// Which fund a layer is, and so which national field it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerFund {
    /// 职工大额医疗费用补助 (`hifob_pay`, fund 330100).
    LargeAmount,
    /// 城乡居民大病保险 (`hifmi_pay`, fund 390200).
    SeriousIllness,
}

/// What a layer's segments are positions in, over the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerBase {
    /// The in-scope cost (政策范围内费用) of the kinds of care counted.
    InscpCost,
    /// The in-scope amount the patient bore after the pooling fund (政策范围内个人负担).
    InscpSelfBurden,
}

/// A layer above the pooling fund: the large-amount fund or the serious-illness insurance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// Unique in the policy; names its yearly accumulators.
    pub name: String,
    pub fund: LayerFund,
    pub base: LayerBase,
    /// The kinds of care whose amounts count toward the base, and that the layer pays for.
    pub counts: Vec<Care>,
    /// Positions in the year's base; the first segment's start is the threshold.
    pub segments: Vec<Segment>,
    /// What the layer pays in a year, at most (`null`: uncapped).
    #[serde(default)]
    pub annual_cap_fen: Option<i64>,
}

/// One medical-assistance category (医疗救助对象) and its terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssistanceCategory {
    /// E.g. `extreme_poverty` (特困), `low_income` (低保), `low_income_margin` (低保边缘),
    /// `returned_to_poverty` (返贫致贫).
    pub category: String,
    /// A yearly deductible of its own (none for 特困 and 低保).
    pub deductible_fen: i64,
    pub ratio: Decimal,
}

/// Medical assistance (医疗救助) on the in-scope burden left after the layers, as the 2021
/// national opinions on major and serious diseases set it out: a ratio and deductible per
/// category, one yearly limit shared by the kinds of care counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assistance {
    pub categories: Vec<AssistanceCategory>,
    pub counts: Vec<Care>,
    pub annual_limit_fen: i64,
}

/// One home region's benefit policy for one insutype, from `begin_date`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub region: String,
    pub insutype: String,
    pub scheme: Scheme,
    /// The bureau's own label for this version (the stored id is the content's hash).
    pub version: String,
    #[serde(default)]
    pub title: String,
    /// The published document this encodes.
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub notes: String,
    /// The fields whose figures are assumed, not taken from the source.
    #[serde(default)]
    pub assumed: Vec<String>,
    pub begin_date: NaiveDate,
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    #[serde(default)]
    pub ceilings: Vec<Ceiling>,
    pub inpatient: Benefit,
    pub general_outpatient: Benefit,
    pub chronic_outpatient: Benefit,
    pub pharmacy: Benefit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chronic_diseases: Option<ChronicDiseases>,
    pub temporary_reduction: Reduction,
    #[serde(default)]
    pub category_adjustments: Vec<CategoryAdjustment>,
    #[serde(default)]
    pub layers: Vec<Layer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistance: Option<Assistance>,
}

/// A province's floors for the policies of its regions (e.g. Guangdong 2009: employees'
/// inpatient ratio ≥ 80 % and ceiling ≥ 100,000 yuan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Floors {
    /// The province (`xx0000`).
    pub region: String,
    pub insutype: String,
    pub version: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub assumed: Vec<String>,
    pub begin_date: NaiveDate,
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    /// Every inpatient pooling ratio (each band, each segment) at least this.
    #[serde(default)]
    pub inpatient_ratio_min: Option<Decimal>,
    /// The yearly limit of the pooling fund's inpatient payments (its own cap or a shared
    /// ceiling that counts inpatient care, whichever is lower) at least this; uncapped meets
    /// any floor.
    #[serde(default)]
    pub annual_ceiling_min_fen: Option<i64>,
}

/// A stored document: a policy or a province's floors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Policy(Box<Policy>),
    Floors(Box<Floors>),
}

/// What kind of document, as stored (`policy` | `floors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Policy,
    Floors,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Policy => "policy",
            Self::Floors => "floors",
        }
    }
}

/// One reason a document is refused, by the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A path like `inpatient.bands[0].segments[1].ratio` (empty: the document).
    pub field: String,
    pub reason: &'static str,
    pub message: String,
}

/// Every problem found in a document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            field: field.into(),
            reason: "invalid_policy",
            message: message.into(),
        });
    }

    fn below_floor(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            field: field.into(),
            reason: "below_floor",
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first problem as the service's error (its field and reason), with how many more.
    pub fn into_error(self) -> Error {
        let mut problems = self.0.into_iter();
        let Some(first) = problems.next() else {
            return Error::Internal("no problems to report".into());
        };
        let rest = problems.count();
        let mut message = format!("{}: {}", first.field, first.message);
        if rest > 0 {
            let _ = write!(message, " (and {rest} more problems)");
        }
        Error::invalid(first.field, first.reason, message)
    }
}

fn check_ratio(p: &mut Problems, field: &str, ratio: Decimal) {
    if ratio < Decimal::ZERO || ratio > Decimal::ONE {
        p.add(field, format!("ratio {ratio} is outside 0–1"));
    }
}

fn check_amount(p: &mut Problems, field: &str, amount: i64) {
    if amount < 0 {
        p.add(field, format!("amount {amount} is negative"));
    }
}

fn check_kinds(p: &mut Problems, field: &str, kinds: &[Care]) {
    if kinds.is_empty() {
        p.add(field, "names no kind of care");
    }
    for (i, kind) in kinds.iter().enumerate() {
        if kinds[..i].contains(kind) {
            p.add(format!("{field}[{i}]"), format!("{} is named twice", kind.as_str()));
        }
    }
}

fn check_category(p: &mut Problems, field: &str, category: &str) {
    if category.is_empty()
        || category.len() > 40
        || !category.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        p.add(field, format!("{category:?} is not a category name (a-z, 0-9, _)"));
    }
}

/// Segments must be in order, without gaps or overlaps; `from_zero` also asks that they start
/// at 0 and have no upper end (every amount has a ratio).
fn check_segments(p: &mut Problems, field: &str, segments: &[Segment], from_zero: bool) {
    let Some(first) = segments.first() else {
        p.add(field, "no segments");
        return;
    };
    if from_zero && first.from_fen != 0 {
        p.add(
            format!("{field}[0].from_fen"),
            format!("the first segment starts at {} fen, not 0", first.from_fen),
        );
    }
    for (i, segment) in segments.iter().enumerate() {
        let at = format!("{field}[{i}]");
        check_amount(p, &format!("{at}.from_fen"), segment.from_fen);
        check_ratio(p, &format!("{at}.ratio"), segment.ratio);
        if let Some(to) = segment.to_fen
            && to <= segment.from_fen
        {
            p.add(
                format!("{at}.to_fen"),
                format!("ends at {to} fen, not after its start {}", segment.from_fen),
            );
        }
        if let Some(next) = segments.get(i + 1) {
            match segment.to_fen {
                None => p.add(format!("{at}.to_fen"), "an open-ended segment must be the last"),
                Some(to) if next.from_fen > to => p.add(
                    format!("{field}[{}].from_fen", i + 1),
                    format!("gap between {to} and {} fen", next.from_fen),
                ),
                Some(to) if next.from_fen < to => p.add(
                    format!("{field}[{}].from_fen", i + 1),
                    format!("overlaps the previous segment, which ends at {to} fen"),
                ),
                Some(_) => {}
            }
        }
    }
    if from_zero && segments.last().is_some_and(|s| s.to_fen.is_some()) {
        p.add(
            format!("{field}[{}].to_fen", segments.len() - 1),
            "the last segment must have no upper end",
        );
    }
}

fn check_head(
    p: &mut Problems,
    region: &str,
    insutype: &str,
    version: &str,
    begin: NaiveDate,
    end: Option<NaiveDate>,
) {
    if region != NATIONAL
        && let Err(e) = Admdvs::parse(region)
    {
        p.add("region", e.to_string());
    }
    if insutype.len() != 3 || !insutype.bytes().all(|b| b.is_ascii_digit()) {
        p.add("insutype", format!("{insutype:?} is not a 3-digit insutype"));
    }
    if version.trim().is_empty() || version.chars().count() > 40 {
        p.add("version", "needs a label of 1–40 characters");
    }
    if let Some(end) = end
        && end < begin
    {
        p.add("end_date", format!("{end} is before begin_date {begin}"));
    }
}

impl Benefit {
    fn validate(&self, p: &mut Problems, field: &str) {
        for (i, rule) in self.deductibles.iter().enumerate() {
            let at = format!("{field}.deductibles[{i}]");
            check_amount(p, &format!("{at}.amount_fen"), rule.amount_fen);
            if rule.from_nth_admission == 0 {
                p.add(format!("{at}.from_nth_admission"), "admissions are counted from 1");
            }
        }
        for (i, band) in self.bands.iter().enumerate() {
            check_segments(p, &format!("{field}.bands[{i}].segments"), &band.segments, true);
        }
        if let Some(cap) = self.annual_cap_fen {
            check_amount(p, &format!("{field}.annual_cap_fen"), cap);
        }
    }
}

/// Assistance categories the 2021 national opinions name: no deductible, ratio ≥ 70 %.
const PROTECTED_CATEGORIES: [(&str, &str); 2] =
    [("extreme_poverty", "特困"), ("low_income", "低保")];

impl Policy {
    /// The rules of one kind of care.
    pub fn benefit(&self, care: Care) -> &Benefit {
        match care {
            Care::Inpatient => &self.inpatient,
            Care::GeneralOutpatient => &self.general_outpatient,
            Care::ChronicOutpatient => &self.chronic_outpatient,
            Care::Pharmacy => &self.pharmacy,
        }
    }

    /// Every problem of the document on its own (not yet against its province's floors).
    pub fn problems(&self) -> Problems {
        let mut p = Problems::default();
        check_head(
            &mut p,
            &self.region,
            &self.insutype,
            &self.version,
            self.begin_date,
            self.end_date,
        );
        for (i, ceiling) in self.ceilings.iter().enumerate() {
            check_kinds(&mut p, &format!("ceilings[{i}].kinds"), &ceiling.kinds);
            check_amount(&mut p, &format!("ceilings[{i}].annual_cap_fen"), ceiling.annual_cap_fen);
        }
        for care in Care::ALL {
            self.benefit(care).validate(&mut p, care.as_str());
        }
        if let Some(chronic) = &self.chronic_diseases {
            for (i, disease) in chronic.diseases.iter().enumerate() {
                let at = format!("chronic_diseases.diseases[{i}]");
                let code = normalized_code(&disease.code);
                if code.is_empty()
                    || code.len() > 20
                    || !code.bytes().all(|b| b.is_ascii_alphanumeric())
                {
                    p.add(
                        format!("{at}.code"),
                        format!("{:?} is not a diagnosis code", disease.code),
                    );
                }
                if chronic.diseases[..i].iter().any(|d| normalized_code(&d.code) == code) {
                    p.add(format!("{at}.code"), format!("{} is listed twice", disease.code));
                }
                if let Some(limit) = disease.annual_limit_fen {
                    check_amount(&mut p, &format!("{at}.annual_limit_fen"), limit);
                }
                if let Some(ratio) = disease.ratio {
                    check_ratio(&mut p, &format!("{at}.ratio"), ratio);
                }
            }
            if let Some(several) = &chronic.several {
                check_ratio(&mut p, "chronic_diseases.several.others_share", several.others_share);
            }
        }
        check_ratio(
            &mut p,
            "temporary_reduction.referral_emergency",
            self.temporary_reduction.referral_emergency,
        );
        check_ratio(&mut p, "temporary_reduction.other", self.temporary_reduction.other);
        for (i, adjustment) in self.category_adjustments.iter().enumerate() {
            let at = format!("category_adjustments[{i}]");
            check_category(&mut p, &format!("{at}.category"), &adjustment.category);
            check_ratio(&mut p, &format!("{at}.ratio_points"), adjustment.ratio_points);
            check_kinds(&mut p, &format!("{at}.applies_to"), &adjustment.applies_to);
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let at = format!("layers[{i}]");
            if layer.name.is_empty()
                || !layer.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                p.add(format!("{at}.name"), "needs a name of a-z and _");
            }
            if self.layers[..i].iter().any(|l| l.name == layer.name) {
                p.add(format!("{at}.name"), format!("{} is used by an earlier layer", layer.name));
            }
            let expected = match self.scheme {
                Scheme::Employee => LayerFund::LargeAmount,
                Scheme::Resident => LayerFund::SeriousIllness,
            };
            if layer.fund != expected {
                p.add(
                    format!("{at}.fund"),
                    "employees' layers are the large-amount fund, residents' the serious-illness insurance",
                );
            }
            check_kinds(&mut p, &format!("{at}.counts"), &layer.counts);
            check_segments(&mut p, &format!("{at}.segments"), &layer.segments, false);
            if let Some(cap) = layer.annual_cap_fen {
                check_amount(&mut p, &format!("{at}.annual_cap_fen"), cap);
            }
        }
        if let Some(assistance) = &self.assistance {
            check_kinds(&mut p, "assistance.counts", &assistance.counts);
            check_amount(&mut p, "assistance.annual_limit_fen", assistance.annual_limit_fen);
            for (i, category) in assistance.categories.iter().enumerate() {
                let at = format!("assistance.categories[{i}]");
                check_category(&mut p, &format!("{at}.category"), &category.category);
                if assistance.categories[..i].iter().any(|c| c.category == category.category) {
                    p.add(
                        format!("{at}.category"),
                        format!("{} is listed twice", category.category),
                    );
                }
                check_amount(&mut p, &format!("{at}.deductible_fen"), category.deductible_fen);
                check_ratio(&mut p, &format!("{at}.ratio"), category.ratio);
                if let Some((_, name)) =
                    PROTECTED_CATEGORIES.iter().find(|(c, _)| *c == category.category)
                {
                    if category.deductible_fen != 0 {
                        p.add(
                            format!("{at}.deductible_fen"),
                            format!("{name} persons have no deductible (2021 national opinions)"),
                        );
                    }
                    if category.ratio < Decimal::new(70, 2) {
                        p.add(
                            format!("{at}.ratio"),
                            format!(
                                "{name} persons' ratio is at least 0.70 (2021 national opinions)"
                            ),
                        );
                    }
                }
            }
        }
        p
    }

    /// The problems of a policy below its province's floors, naming the field and the floor.
    pub fn below(&self, floors: &Floors, floors_id: &str) -> Problems {
        let mut p = Problems::default();
        if let Some(min) = floors.inpatient_ratio_min {
            for (i, band) in self.inpatient.bands.iter().enumerate() {
                for (j, segment) in band.segments.iter().enumerate() {
                    if segment.ratio < min {
                        p.below_floor(
                            format!("inpatient.bands[{i}].segments[{j}].ratio"),
                            format!(
                                "{} is below the province's floor {min} ({floors_id})",
                                segment.ratio
                            ),
                        );
                    }
                }
            }
        }
        if let Some(min) = floors.annual_ceiling_min_fen {
            let own = self
                .inpatient
                .annual_cap_fen
                .map(|cap| ("inpatient.annual_cap_fen".to_owned(), cap));
            let shared = self
                .ceilings
                .iter()
                .enumerate()
                .filter(|(_, c)| c.kinds.contains(&Care::Inpatient))
                .map(|(i, c)| (format!("ceilings[{i}].annual_cap_fen"), c.annual_cap_fen));
            for (field, cap) in own.into_iter().chain(shared) {
                if cap < min {
                    p.below_floor(
                        field,
                        format!(
                            "{} yuan is below the province's floor of {} yuan a year ({floors_id})",
                            medclear_common::money::fen_to_yuan(cap),
                            medclear_common::money::fen_to_yuan(min)
                        ),
                    );
                }
            }
        }
        p
    }

    /// Whether the policy is in force on `date`.
    pub fn in_force(&self, date: NaiveDate) -> bool {
        self.begin_date <= date && self.end_date.is_none_or(|end| date <= end)
    }
}

impl Floors {
    pub fn problems(&self) -> Problems {
        let mut p = Problems::default();
        check_head(
            &mut p,
            &self.region,
            &self.insutype,
            &self.version,
            self.begin_date,
            self.end_date,
        );
        if !self.region.ends_with("0000") || self.region == NATIONAL {
            p.add("region", format!("floors are a province's (xx0000), not {}", self.region));
        }
        if let Some(min) = self.inpatient_ratio_min {
            check_ratio(&mut p, "inpatient_ratio_min", min);
        }
        if let Some(min) = self.annual_ceiling_min_fen {
            check_amount(&mut p, "annual_ceiling_min_fen", min);
        }
        p
    }
}

/// The first text (key or value) of a JSON tree holding a control character, by its path.
fn forbidden_text(value: &serde_json::Value, path: String) -> Option<(String, char)> {
    let bad = |text: &str| text.chars().find(|c| medclear_common::codes::is_forbidden_char(*c));
    match value {
        serde_json::Value::String(text) => bad(text).map(|c| (path, c)),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| forbidden_text(item, format!("{path}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let at = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            match bad(key) {
                Some(c) => Some((at, c)),
                None => forbidden_text(item, at),
            }
        }),
        _ => None,
    }
}

/// A diagnosis code compared without dots or case.
pub fn normalized_code(code: &str) -> String {
    code.chars().filter(|c| *c != '.').map(|c| c.to_ascii_uppercase()).collect()
}

impl Document {
    /// Reads a document: JSON, a `kind` of `policy` (the default) or `floors`, no unknown
    /// field. A document that cannot be read is one problem, at the field serde names.
    pub fn parse(text: &str) -> std::result::Result<Self, Problems> {
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            let mut p = Problems::default();
            p.add("", format!("not JSON: {e}"));
            p
        })?;
        if let Some((field, c)) = forbidden_text(&value, String::new()) {
            let mut p = Problems::default();
            p.0.push(Problem {
                field,
                reason: "control_character",
                message: format!(
                    "contains the control character U+{:04X}: write text without control characters",
                    u32::from(c)
                ),
            });
            return Err(p);
        }
        let kind = match value.as_object_mut().map(|o| o.remove("kind")) {
            None => {
                let mut p = Problems::default();
                p.add("", "a policy document is a JSON object");
                return Err(p);
            }
            Some(None) => "policy".to_owned(),
            Some(Some(serde_json::Value::String(kind))) => kind,
            Some(Some(other)) => {
                let mut p = Problems::default();
                p.add("kind", format!("{other} is not policy or floors"));
                return Err(p);
            }
        };
        fn typed<T: serde::de::DeserializeOwned>(
            value: serde_json::Value,
        ) -> std::result::Result<T, Problems> {
            serde_path_to_error::deserialize(value).map_err(|e| {
                let mut p = Problems::default();
                let path = e.path().to_string();
                let field = if path == "." { String::new() } else { path };
                p.add(field, e.into_inner().to_string());
                p
            })
        }
        match kind.as_str() {
            "policy" => Ok(Self::Policy(Box::new(typed(value)?))),
            "floors" => Ok(Self::Floors(Box::new(typed(value)?))),
            other => {
                let mut p = Problems::default();
                p.add("kind", format!("{other:?} is not policy or floors"));
                Err(p)
            }
        }
    }

    /// Reads and checks a document on its own.
    pub fn parse_valid(text: &str) -> std::result::Result<Self, Problems> {
        let document = Self::parse(text)?;
        let problems = document.problems();
        if problems.is_empty() { Ok(document) } else { Err(problems) }
    }

    pub fn problems(&self) -> Problems {
        match self {
            Self::Policy(policy) => policy.problems(),
            Self::Floors(floors) => floors.problems(),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Self::Policy(_) => Kind::Policy,
            Self::Floors(_) => Kind::Floors,
        }
    }

    pub fn region(&self) -> &str {
        match self {
            Self::Policy(p) => &p.region,
            Self::Floors(f) => &f.region,
        }
    }

    pub fn insutype(&self) -> &str {
        match self {
            Self::Policy(p) => &p.insutype,
            Self::Floors(f) => &f.insutype,
        }
    }

    pub fn label(&self) -> &str {
        match self {
            Self::Policy(p) => &p.version,
            Self::Floors(f) => &f.version,
        }
    }

    pub fn title(&self) -> &str {
        match self {
            Self::Policy(p) => &p.title,
            Self::Floors(f) => &f.title,
        }
    }

    pub fn dates(&self) -> (NaiveDate, Option<NaiveDate>) {
        match self {
            Self::Policy(p) => (p.begin_date, p.end_date),
            Self::Floors(f) => (f.begin_date, f.end_date),
        }
    }

    /// Whether only the national operator publishes it: the national default and floors.
    pub fn is_national(&self) -> bool {
        self.kind() == Kind::Floors || self.region() == NATIONAL
    }

    /// The document in its one stored form: `kind` first, then the typed document's fields
    /// in the order of its type, pretty-printed with two spaces — what is hashed, stored and
    /// shown (the seed documents of `0008_policy_seeds.sql` are written in it).
    pub fn canonical(&self) -> Result<String> {
        let fields = match self {
            Self::Policy(p) => serde_json::to_string_pretty(p),
            Self::Floors(f) => serde_json::to_string_pretty(f),
        }
        .map_err(|e| Error::Internal(format!("writing a policy: {e}")))?;
        let rest = fields
            .strip_prefix("{\n")
            .ok_or_else(|| Error::Internal("a policy is written as an object".into()))?;
        Ok(format!("{{\n  \"kind\": \"{}\",\n{rest}", self.kind().as_str()))
    }

    /// The SHA-256 of the canonical form, hex, and the id it gives the document:
    /// `<region>-<insutype>-<first 12 hex digits>`.
    pub fn identity(&self) -> Result<Identity> {
        let canonical = self.canonical()?;
        let digest = Sha256::digest(canonical.as_bytes());
        let sha256 = digest.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
        let id = format!("{}-{}-{}", self.region(), self.insutype(), &sha256[..12]);
        Ok(Identity { id, sha256, canonical })
    }
}

/// A document's id, hash and canonical text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: String,
    pub sha256: String,
    pub canonical: String,
}

/// Whether `text` has the form of a policy id (`<6 digits>-<3 digits>-<12 hex>`).
pub fn is_policy_id(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 23
        && b[..6].iter().all(u8::is_ascii_digit)
        && b[6] == b'-'
        && b[7..10].iter().all(u8::is_ascii_digit)
        && b[10] == b'-'
        && b[11..].iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// The regions a policy for `home` is looked up in, most specific first: the county, its
/// city, its province, the national default (duplicates left out).
pub fn lookup_chain(home: &str) -> Vec<String> {
    let mut chain = vec![home.to_owned()];
    if home.len() == 6 {
        for candidate in [format!("{}00", &home[..4]), format!("{}0000", &home[..2])] {
            if !chain.contains(&candidate) {
                chain.push(candidate);
            }
        }
    }
    if !chain.iter().any(|r| r == NATIONAL) {
        chain.push(NATIONAL.to_owned());
    }
    chain
}

#[cfg(test)]
mod tests;
