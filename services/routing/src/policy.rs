//! Home-region benefit policies (参保地政策): a documented, versioned, effective-dated JSON
//! format per home pooling region and insutype, and its validation. Amounts are integer fen,
//! ratios decimal strings (`"0.90"`), so a policy file means exactly one thing.
//!
//! ```json
//! {
//!   "region": "420200", "insutype": "310", "scheme": "employee", "version": "2010-1",
//!   "begin_date": "2010-01-01", "end_date": null,
//!   "annual_ceiling_fen": 12000000,
//!   "inpatient": { "deductibles": [...], "bands": [...], "annual_cap_fen": null },
//!   "general_outpatient": {...}, "chronic_outpatient": {...}, "pharmacy": {...},
//!   "temporary_reduction": { "referral_emergency": "0.10", "other": "0.20" },
//!   "serious_illness": { "segments": [...], "annual_cap_fen": null },
//!   "assistance": { "categories": ["low_income"], "ratio": "0.70", "annual_cap_fen": 3000000 }
//! }
//! ```

use chrono::NaiveDate;
pub use medclear_common::codes::HospitalLevel;
use medclear_common::{Error, Result, codes::Admdvs};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Which family of funds a policy belongs to: employees have the large-amount fund (大额,
/// `hifob_pay`), residents the serious-illness insurance (大病, `hifmi_pay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    Employee,
    Resident,
}

/// A slice of an amount and the ratio the fund pays of it: `from_fen ..< to_fen` (`to_fen`
/// `null` = no upper end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub from_fen: i64,
    pub to_fen: Option<i64>,
    pub ratio: Decimal,
}

/// A deductible (起付线); the first rule whose conditions hold applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeductibleRule {
    #[serde(default)]
    pub hospital_level: Option<HospitalLevel>,
    #[serde(default)]
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
pub struct Band {
    #[serde(default)]
    pub hospital_level: Option<HospitalLevel>,
    #[serde(default)]
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

/// The rules of one kind of care (inpatient, general outpatient, chronic outpatient, pharmacy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Benefit {
    pub deductible_per: DeductiblePer,
    #[serde(default)]
    pub deductibles: Vec<DeductibleRule>,
    /// No matching band: the pooling fund pays nothing for this kind of care.
    pub bands: Vec<Band>,
    /// What the pooling fund pays for this kind of care in a year, at most (e.g. outpatient
    /// 3,000 yuan); on top of the policy's overall ceiling.
    #[serde(default)]
    pub annual_cap_fen: Option<i64>,
}

/// Ratio points taken off for temporary filings (临时外出就医).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reduction {
    /// Referral and emergency (转诊转院, 急诊抢救); default 0.10.
    pub referral_emergency: Decimal,
    /// Other temporary trips; default 0.20.
    pub other: Decimal,
}

/// The large-amount / serious-illness layer, on the year's in-scope self-burden: segments are
/// positions in that yearly total (the first segment's start is the threshold).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    pub segments: Vec<Segment>,
    #[serde(default)]
    pub annual_cap_fen: Option<i64>,
}

/// Medical assistance (医疗救助) for eligible categories, on the remaining in-scope burden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assistance {
    pub categories: Vec<String>,
    pub ratio: Decimal,
    pub annual_cap_fen: i64,
}

/// One home region's benefit policy for one insutype, over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub region: String,
    pub insutype: String,
    pub scheme: Scheme,
    pub version: String,
    /// Where the figures come from, and what was assumed.
    #[serde(default)]
    pub notes: String,
    pub begin_date: NaiveDate,
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    /// What the pooling fund pays in a year, at most (封顶线), all kinds of care together.
    pub annual_ceiling_fen: i64,
    pub inpatient: Benefit,
    pub general_outpatient: Benefit,
    pub chronic_outpatient: Benefit,
    pub pharmacy: Benefit,
    pub temporary_reduction: Reduction,
    #[serde(default)]
    pub serious_illness: Option<Layer>,
    #[serde(default)]
    pub assistance: Option<Assistance>,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> Error {
    let field = field.into();
    Error::invalid(field.clone(), "invalid_policy", format!("{field}: {}", message.into()))
}

fn check_ratio(field: &str, ratio: Decimal) -> Result<()> {
    if ratio < Decimal::ZERO || ratio > Decimal::ONE {
        return Err(refuse(field, format!("ratio {ratio} is outside 0–1")));
    }
    Ok(())
}

fn check_amount(field: &str, amount: i64) -> Result<()> {
    if amount < 0 {
        return Err(refuse(field, format!("amount {amount} is negative")));
    }
    Ok(())
}

/// Segments must be in order, without gaps or overlaps; `from_zero` also asks that they start
/// at 0 and have no upper end (every amount has a ratio).
fn check_segments(field: &str, segments: &[Segment], from_zero: bool) -> Result<()> {
    let Some(first) = segments.first() else {
        return Err(refuse(field, "no segments"));
    };
    if from_zero && first.from_fen != 0 {
        return Err(refuse(
            field,
            format!("the first segment starts at {} fen, not 0", first.from_fen),
        ));
    }
    for (i, segment) in segments.iter().enumerate() {
        let at = format!("{field}[{i}]");
        check_amount(&at, segment.from_fen)?;
        check_ratio(&at, segment.ratio)?;
        if let Some(to) = segment.to_fen
            && to <= segment.from_fen
        {
            return Err(refuse(
                &at,
                format!("ends at {to} fen, not after its start {}", segment.from_fen),
            ));
        }
        if let Some(next) = segments.get(i + 1) {
            match segment.to_fen {
                None => return Err(refuse(&at, "an open-ended segment must be the last")),
                Some(to) if next.from_fen > to => {
                    return Err(refuse(&at, format!("gap between {to} and {} fen", next.from_fen)));
                }
                Some(to) if next.from_fen < to => {
                    return Err(refuse(
                        &at,
                        format!("overlaps the next segment from {} fen", next.from_fen),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    if from_zero && segments.last().is_some_and(|s| s.to_fen.is_some()) {
        return Err(refuse(field, "the last segment must have no upper end"));
    }
    Ok(())
}

impl Benefit {
    fn validate(&self, field: &str) -> Result<()> {
        for (i, rule) in self.deductibles.iter().enumerate() {
            check_amount(&format!("{field}.deductibles[{i}]"), rule.amount_fen)?;
            if rule.from_nth_admission == 0 {
                return Err(refuse(
                    format!("{field}.deductibles[{i}]"),
                    "from_nth_admission starts at 1",
                ));
            }
        }
        for (i, band) in self.bands.iter().enumerate() {
            check_segments(&format!("{field}.bands[{i}].segments"), &band.segments, true)?;
        }
        if let Some(cap) = self.annual_cap_fen {
            check_amount(&format!("{field}.annual_cap_fen"), cap)?;
        }
        Ok(())
    }
}

impl Policy {
    /// Parses and validates a policy document.
    pub fn from_json(text: &str) -> Result<Self> {
        let policy: Policy = serde_json::from_str(text)
            .map_err(|e| Error::invalid("policy", "invalid_policy", format!("policy: {e}")))?;
        policy.validate()?;
        Ok(policy)
    }

    /// Refuses a policy that cannot mean one thing: ratios outside 0–1, negative amounts,
    /// segments with gaps or overlaps, an end before the start.
    pub fn validate(&self) -> Result<()> {
        Admdvs::parse(&self.region).map_err(|e| refuse("region", e.to_string()))?;
        if self.insutype.len() != 3 || !self.insutype.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse(
                "insutype",
                format!("{:?} is not a 3-digit insutype", self.insutype),
            ));
        }
        if self.version.trim().is_empty() {
            return Err(refuse("version", "is empty"));
        }
        if let Some(end) = self.end_date
            && end < self.begin_date
        {
            return Err(refuse(
                "end_date",
                format!("{end} is before begin_date {}", self.begin_date),
            ));
        }
        check_amount("annual_ceiling_fen", self.annual_ceiling_fen)?;
        self.inpatient.validate("inpatient")?;
        self.general_outpatient.validate("general_outpatient")?;
        self.chronic_outpatient.validate("chronic_outpatient")?;
        self.pharmacy.validate("pharmacy")?;
        check_ratio(
            "temporary_reduction.referral_emergency",
            self.temporary_reduction.referral_emergency,
        )?;
        check_ratio("temporary_reduction.other", self.temporary_reduction.other)?;
        if let Some(layer) = &self.serious_illness {
            check_segments("serious_illness.segments", &layer.segments, false)?;
            if let Some(cap) = layer.annual_cap_fen {
                check_amount("serious_illness.annual_cap_fen", cap)?;
            }
        }
        if let Some(assistance) = &self.assistance {
            check_ratio("assistance.ratio", assistance.ratio)?;
            check_amount("assistance.annual_cap_fen", assistance.annual_cap_fen)?;
        }
        Ok(())
    }

    /// Whether the policy is in force on `date`.
    pub fn in_force(&self, date: NaiveDate) -> bool {
        self.begin_date <= date && self.end_date.is_none_or(|end| date <= end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(json: &str) -> Vec<Segment> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn segments_must_tile_the_amounts() {
        let good = segments(
            r#"[{"from_fen":0,"to_fen":100,"ratio":"0.5"},{"from_fen":100,"to_fen":null,"ratio":"0.6"}]"#,
        );
        assert!(check_segments("s", &good, true).is_ok());
        let gap = segments(
            r#"[{"from_fen":0,"to_fen":100,"ratio":"0.5"},{"from_fen":101,"to_fen":null,"ratio":"0.6"}]"#,
        );
        assert!(check_segments("s", &gap, true).unwrap_err().to_string().contains("gap"));
        let overlap = segments(
            r#"[{"from_fen":0,"to_fen":100,"ratio":"0.5"},{"from_fen":90,"to_fen":null,"ratio":"0.6"}]"#,
        );
        assert!(check_segments("s", &overlap, true).unwrap_err().to_string().contains("overlaps"));
        let high = segments(r#"[{"from_fen":0,"to_fen":null,"ratio":"1.01"}]"#);
        assert!(check_segments("s", &high, true).unwrap_err().to_string().contains("outside 0–1"));
        let late = segments(r#"[{"from_fen":5,"to_fen":null,"ratio":"0.5"}]"#);
        assert!(check_segments("s", &late, true).is_err());
        assert!(check_segments("s", &late, false).is_ok(), "a layer starts at its threshold");
        let bounded = segments(r#"[{"from_fen":0,"to_fen":100,"ratio":"0.5"}]"#);
        assert!(check_segments("s", &bounded, true).is_err(), "pooling bands cover every amount");
        assert!(check_segments("s", &bounded, false).is_ok(), "a layer may end");
    }
}
