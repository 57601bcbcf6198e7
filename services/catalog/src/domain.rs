//! The catalogue's vocabulary and rules (DESIGN.md §3, §4.2), pure: code formats, coverage
//! classes, payment restrictions, effective dating, and the choice of the coverage rule that
//! applies to a fee line in a treating region on a date.

use chrono::NaiveDate;
use medclear_common::codes::Admdvs;
pub use medclear_common::codes::HospitalLevel;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What an item of the national catalogue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    WesternDrug,
    PatentDrug,
    Herbal,
    Service,
    Consumable,
    Diagnosis,
    Operation,
    /// 按病种付费病种 (national 1310): a disease paid as a whole, which a visit declares.
    DiseasePayment,
    /// 日间手术治疗病种 (national 1311): a disease treated by a named operation within a day.
    DaySurgery,
}

impl ItemKind {
    pub const ALL: [ItemKind; 9] = [
        Self::WesternDrug,
        Self::PatentDrug,
        Self::Herbal,
        Self::Service,
        Self::Consumable,
        Self::Diagnosis,
        Self::Operation,
        Self::DiseasePayment,
        Self::DaySurgery,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WesternDrug => "western_drug",
            Self::PatentDrug => "patent_drug",
            Self::Herbal => "herbal",
            Self::Service => "service",
            Self::Consumable => "consumable",
            Self::Diagnosis => "diagnosis",
            Self::Operation => "operation",
            Self::DiseasePayment => "disease_payment",
            Self::DaySurgery => "day_surgery",
        }
    }

    /// Every kind's word, for messages: `western_drug, patent_drug, …`.
    pub fn word_list() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether a fee line may bill this kind: diagnoses and operations are classifications,
    /// disease-payment and day-surgery entries are lists a visit's disease is declared against.
    pub fn is_chargeable(self) -> bool {
        !matches!(self, Self::Diagnosis | Self::Operation | Self::DiseasePayment | Self::DaySurgery)
    }

    /// Whether items of this kind name an operation: a day-surgery entry must, a
    /// disease-payment entry may (its 限定手术操作), no other kind does.
    pub fn operation(self) -> OperationUse {
        match self {
            Self::DaySurgery => OperationUse::Required,
            Self::DiseasePayment => OperationUse::Allowed,
            _ => OperationUse::None,
        }
    }

    /// Whether `code` has this kind's national format.
    pub fn accepts(self, code: &str) -> bool {
        let b = code.as_bytes();
        let upper_alnum = |s: &[u8]| s.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
        match self {
            Self::WesternDrug | Self::PatentDrug => {
                let lead = if self == Self::WesternDrug { b'X' } else { b'Z' };
                (20..=23).contains(&b.len()) && b[0] == lead && upper_alnum(&b[1..])
            }
            Self::Herbal => (10..=23).contains(&b.len()) && b[0] == b'T' && upper_alnum(&b[1..]),
            Self::Service => b.len() == 15 && digits(b),
            Self::Consumable => (20..=27).contains(&b.len()) && b[0] == b'C' && digits(&b[1..]),
            Self::Diagnosis => diagnosis_format(b),
            Self::Operation => operation_format(b),
            Self::DiseasePayment | Self::DaySurgery => disease_list_format(b),
        }
    }

    /// An example of the format, for error messages.
    pub fn example(self) -> &'static str {
        match self {
            Self::WesternDrug => "X + 19 to 22 capitals/digits, e.g. XL02BBA326A001010102180",
            Self::PatentDrug => "Z + 19 to 22 capitals/digits, e.g. ZA01AAA0001010100000001",
            Self::Herbal => "T + 9 to 22 capitals/digits, e.g. T000100001",
            Self::Service => "15 digits, e.g. 003401000230600",
            Self::Consumable => "C + 19 to 26 digits, e.g. C0101010011303807555",
            Self::Diagnosis => "ICD-10 医保版, e.g. I10.x00x002, E11.900",
            Self::Operation => "ICD-9-CM-3 医保版, e.g. 36.0601x001",
            Self::DiseasePayment | Self::DaySurgery => {
                "a capital letter, then capitals, digits, '.' or 'x', at most 30, e.g. K80.100"
            }
        }
    }
}

/// Whether an item kind names an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationUse {
    None,
    Allowed,
    Required,
}

/// The operation (ICD-9-CM-3 医保版) a day-surgery entry is, or a disease-payment entry is
/// limited to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedOperation {
    pub code: String,
    pub name: String,
}

/// A disease-payment or day-surgery code (`dise_codg` carries it, 30 characters at most): a
/// capital letter, then capitals, digits, `.` and the `x` of 医保版 extensions — such lists are
/// commonly keyed by the main diagnosis, `K80.100`, `H25.900x001`.
fn disease_list_format(b: &[u8]) -> bool {
    (1..=30).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b[1..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || b".x".contains(c))
}

/// `I10`, `E11.900`, `I10.x00x002`, `S33.500x011`.
fn diagnosis_format(b: &[u8]) -> bool {
    if b.len() < 3 || !b[0].is_ascii_uppercase() || !b[1..3].iter().all(u8::is_ascii_digit) {
        return false;
    }
    match &b[3..] {
        [] => true,
        [b'.', rest @ ..] => {
            let (head, tail) = rest.split_at(rest.len().min(3));
            let head_ok = !head.is_empty()
                && head.iter().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase());
            head_ok && extension(tail)
        }
        _ => false,
    }
}

/// `36.06`, `36.0601x001`.
fn operation_format(b: &[u8]) -> bool {
    if b.len() < 5 || !b[..2].iter().all(u8::is_ascii_digit) || b[2] != b'.' {
        return false;
    }
    let rest = &b[3..];
    let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    (2..=4).contains(&n) && extension(&rest[n..])
}

/// Nothing, or `x` + 3 digits.
fn extension(b: &[u8]) -> bool {
    b.is_empty() || (b.len() == 4 && b[0] == b'x' && b[1..].iter().all(u8::is_ascii_digit))
}

/// 甲 / 乙 / 丙.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CoverageClass {
    /// 甲: fully in scope.
    A,
    /// 乙: in scope after the first self-pay ratio.
    B,
    /// 丙: out of scope.
    C,
}

impl CoverageClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
        }
    }

    /// `A`/`B`/`C` or `甲`/`乙`/`丙`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "A" | "a" | "甲" => Some(Self::A),
            "B" | "b" | "乙" => Some(Self::B),
            "C" | "c" | "丙" => Some(Self::C),
            _ => None,
        }
    }
}

/// Who a coverage rule belongs to: the nation (the default) or a treating region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Scope {
    National,
    Region(Admdvs),
}

impl Scope {
    /// How national rules are written: `000000`.
    pub const NATIONAL: &'static str = "000000";

    pub fn parse(text: &str) -> Option<Self> {
        if text == Self::NATIONAL {
            Some(Self::National)
        } else {
            Admdvs::parse(text).ok().map(Self::Region)
        }
    }

    pub fn as_string(&self) -> String {
        match self {
            Self::National => Self::NATIONAL.to_owned(),
            Self::Region(admdvs) => admdvs.to_string(),
        }
    }

    /// The scopes whose rules apply in `region`, most specific first: the region, the city it
    /// lies in, its province, the nation.
    pub fn chain(region: &Admdvs) -> Vec<Scope> {
        let mut chain = vec![Scope::Region(*region)];
        let text = region.as_str();
        if let Some(city) = text.get(..4).and_then(|c| Admdvs::parse(&format!("{c}00")).ok())
            && city != *region
            && city != region.province()
        {
            chain.push(Scope::Region(city));
        }
        if region.province() != *region {
            chain.push(Scope::Region(region.province()));
        }
        chain.push(Scope::National);
        chain
    }
}

/// A period `begin ..= end` (`end` `None` = open-ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
}

impl Period {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.begin <= date && self.end.is_none_or(|end| date <= end)
    }

    pub fn overlaps(&self, other: &Period) -> bool {
        self.end.is_none_or(|end| other.begin <= end)
            && other.end.is_none_or(|end| self.begin <= end)
    }
}

/// An item of the national catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub code: String,
    pub kind: ItemKind,
    pub name: String,
    pub spec: String,
    pub unit: String,
    pub period: Period,
    pub ver: i64,
    /// Day-surgery and disease-payment entries' operation; `None` for every other kind.
    pub operation: Option<NamedOperation>,
}

/// Conditions under which the funds pay for an item; every set condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Restrictions {
    /// Allowed hospital levels; empty = any.
    pub hospital_levels: Vec<HospitalLevel>,
    /// Allowed main-diagnosis code prefixes; empty = any.
    pub diagnosis_prefixes: Vec<String>,
    pub min_age: Option<u32>,
    pub max_age: Option<u32>,
}

/// What a fee line's context says about the patient and the hospital.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineContext {
    pub hospital_level: Option<HospitalLevel>,
    pub diagnosis: Option<String>,
    pub age: Option<u32>,
    pub insutype: Option<String>,
}

/// How a line fared against its item's restrictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestrictionOutcome {
    None,
    Satisfied,
    /// Restricted, and a fact a condition needs is not known yet.
    Unchecked,
}

impl Restrictions {
    pub fn is_empty(&self) -> bool {
        self.hospital_levels.is_empty()
            && self.diagnosis_prefixes.is_empty()
            && self.min_age.is_none()
            && self.max_age.is_none()
    }

    /// Checks `context`; `Err` says which condition failed.
    pub fn check(&self, context: &LineContext) -> Result<RestrictionOutcome, String> {
        if self.is_empty() {
            return Ok(RestrictionOutcome::None);
        }
        let mut unknown = false;
        if !self.hospital_levels.is_empty() {
            match context.hospital_level {
                None => unknown = true,
                Some(level) if !self.hospital_levels.contains(&level) => {
                    let allowed: Vec<_> = self.hospital_levels.iter().map(|l| l.as_str()).collect();
                    return Err(format!(
                        "paid only in {} hospitals, not {}",
                        allowed.join("/"),
                        level.as_str()
                    ));
                }
                Some(_) => {}
            }
        }
        if !self.diagnosis_prefixes.is_empty() {
            match &context.diagnosis {
                None => unknown = true,
                Some(diagnosis)
                    if !self
                        .diagnosis_prefixes
                        .iter()
                        .any(|p| diagnosis.starts_with(p.as_str())) =>
                {
                    return Err(format!(
                        "paid only for diagnoses {}, not {diagnosis}",
                        self.diagnosis_prefixes.join("/")
                    ));
                }
                Some(_) => {}
            }
        }
        if self.min_age.is_some() || self.max_age.is_some() {
            match context.age {
                None => unknown = true,
                Some(age) => {
                    if let Some(min) = self.min_age
                        && age < min
                    {
                        return Err(format!("paid only from age {min}, patient is {age}"));
                    }
                    if let Some(max) = self.max_age
                        && age > max
                    {
                        return Err(format!("paid only up to age {max}, patient is {age}"));
                    }
                }
            }
        }
        Ok(if unknown { RestrictionOutcome::Unchecked } else { RestrictionOutcome::Satisfied })
    }
}

/// How one scope covers one item over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverageRule {
    pub id: i64,
    pub scope: Scope,
    pub code: String,
    pub class: CoverageClass,
    /// The 乙 first self-pay ratio (0 for 甲 and 丙).
    pub selfpay_ratio: Decimal,
    /// Ratios that differ by insurance type (insutype → ratio).
    pub selfpay_ratio_by_insutype: Vec<(String, Decimal)>,
    pub price_cap_fen: Option<i64>,
    pub restrictions: Restrictions,
    pub period: Period,
    pub ver: i64,
}

impl CoverageRule {
    /// The self-pay ratio for `insutype` (the default when it has none of its own).
    pub fn ratio_for(&self, insutype: Option<&str>) -> Decimal {
        insutype
            .and_then(|t| self.selfpay_ratio_by_insutype.iter().find(|(i, _)| i == t))
            .map_or(self.selfpay_ratio, |(_, r)| *r)
    }
}

/// A hospital's local code mapped to a national one (目录对照).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub id: i64,
    pub fixmedins_code: String,
    pub local_code: String,
    pub local_name: String,
    pub national_code: String,
    pub period: Period,
    pub revoked: bool,
    pub ver: i64,
}

/// A fee line to resolve, on the day it was incurred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    pub line_no: String,
    pub local_code: String,
    pub national_code: String,
    /// The mappings, items and coverage in force on this day apply.
    pub date: NaiveDate,
    /// The patient's age on `date`, when it is not the request's (a birthday during a stay).
    pub age: Option<u32>,
}

/// A line resolved under a treating region's catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub national_code: String,
    pub name: String,
    pub kind: ItemKind,
    pub class: CoverageClass,
    pub selfpay_ratio: Decimal,
    pub price_cap_fen: Option<i64>,
    pub restriction: RestrictionOutcome,
    pub scope: Scope,
}

/// Why a line could not be resolved. One bad line does not fail the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub reason: &'static str,
    pub message: String,
}

impl LineError {
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self { reason, message: message.into() }
    }
}

/// Picks, among an item's rules, the one in force on `date` under `chain` (a region's
/// [`Scope::chain`]): the most specific scope that has one. `None`: no scope covers it, so the
/// item is out of scope (丙).
pub fn applicable_rule<'a>(
    rules: &'a [CoverageRule],
    chain: &[Scope],
    date: NaiveDate,
) -> Option<&'a CoverageRule> {
    chain
        .iter()
        .find_map(|scope| rules.iter().find(|r| r.scope == *scope && r.period.contains(date)))
}

/// Resolves one line, given the item and its rules as the index found them, under the scope
/// chain of the treating region.
pub fn resolve_item(
    item: &Item,
    rules: &[CoverageRule],
    chain: &[Scope],
    date: NaiveDate,
    context: &LineContext,
) -> Result<Resolved, LineError> {
    if !item.kind.is_chargeable() {
        return Err(LineError::new(
            "bad_line",
            format!("{} is a {}, not something a fee line can bill", item.code, item.kind.as_str()),
        ));
    }
    if !item.period.contains(date) {
        return Err(LineError::new(
            "not_in_force",
            format!(
                "{} is in force from {} to {}, not on {date}",
                item.code,
                item.period.begin,
                item.period.end.map_or_else(|| "-".to_owned(), |d| d.to_string())
            ),
        ));
    }
    let Some(rule) = applicable_rule(rules, chain, date) else {
        return Ok(Resolved {
            national_code: item.code.clone(),
            name: item.name.clone(),
            kind: item.kind,
            class: CoverageClass::C,
            selfpay_ratio: Decimal::ZERO,
            price_cap_fen: None,
            restriction: RestrictionOutcome::None,
            scope: Scope::National,
        });
    };
    let restriction = rule
        .restrictions
        .check(context)
        .map_err(|why| LineError::new("restricted", format!("{}: {why}", item.code)))?;
    Ok(Resolved {
        national_code: item.code.clone(),
        name: item.name.clone(),
        kind: item.kind,
        class: rule.class,
        selfpay_ratio: if rule.class == CoverageClass::B {
            rule.ratio_for(context.insutype.as_deref())
        } else {
            Decimal::ZERO
        },
        price_cap_fen: rule.price_cap_fen,
        restriction,
        scope: rule.scope,
    })
}

#[cfg(test)]
mod tests;
