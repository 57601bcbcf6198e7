//! The filing rules of DESIGN.md §4.1, as pure functions: validated inputs and the current
//! date in, a decision out. No I/O; the caller passes the clock's date and what the repository
//! found.

use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use medclear_common::{
    Error, Result,
    codes::{Admdvs, FixmedinsCode, PsnNo},
};
use serde::Serialize;

pub mod designation;

/// The six filing categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 异地安置退休
    RetireeResettled,
    /// 异地长期居住
    LongTermResident,
    /// 常驻异地工作
    StationedWorker,
    /// 转诊转院
    Referral,
    /// 急诊抢救
    Emergency,
    /// 其他临时外出就医
    OtherTemporary,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Self::RetireeResettled,
        Self::LongTermResident,
        Self::StationedWorker,
        Self::Referral,
        Self::Emergency,
        Self::OtherTemporary,
    ];

    /// Long-term residence filings are open-ended and locked against revocation for a while;
    /// the others are temporary.
    pub fn is_long_term(self) -> bool {
        matches!(self, Self::RetireeResettled | Self::LongTermResident | Self::StationedWorker)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RetireeResettled => "retiree_resettled",
            Self::LongTermResident => "long_term_resident",
            Self::StationedWorker => "stationed_worker",
            Self::Referral => "referral",
            Self::Emergency => "emergency",
            Self::OtherTemporary => "other_temporary",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Through which channel a change was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    CitizenOnline,
    Hospital,
    Agency,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Self::CitizenOnline, Self::Hospital, Self::Agency];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CitizenOnline => "citizen_online",
            Self::Hospital => "hospital",
            Self::Agency => "agency",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub id: String,
    pub channel: Channel,
}

/// The filing rules in force for one home region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rules {
    /// A temporary filing is valid at least this long.
    pub temporary_min_validity_months: u32,
    /// A long-term filing cannot be revoked (or changed) this long after taking effect.
    pub long_term_revoke_lock_months: u32,
    /// Emergency treatment counts as filed (视同已备案).
    pub emergency_counts_as_filed: bool,
    /// A filing made after admission but before discharge settlement covers the admission (补办).
    pub late_filing_allowed: bool,
    /// How far before today a filing may begin.
    pub max_backdate_days: u32,
    /// How far after today a filing may begin.
    pub max_advance_days: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            temporary_min_validity_months: 6,
            long_term_revoke_lock_months: 6,
            emergency_counts_as_filed: true,
            late_filing_allowed: true,
            max_backdate_days: 0,
            max_advance_days: 365,
        }
    }
}

/// A home region's deviations from the defaults (unset = inherited).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RuleOverrides {
    pub temporary_min_validity_months: Option<u32>,
    pub long_term_revoke_lock_months: Option<u32>,
    pub emergency_counts_as_filed: Option<bool>,
    pub late_filing_allowed: Option<bool>,
    pub max_backdate_days: Option<u32>,
    pub max_advance_days: Option<u32>,
}

impl RuleOverrides {
    /// `base` with these overrides applied.
    pub fn apply(&self, base: Rules) -> Rules {
        Rules {
            temporary_min_validity_months: self
                .temporary_min_validity_months
                .unwrap_or(base.temporary_min_validity_months),
            long_term_revoke_lock_months: self
                .long_term_revoke_lock_months
                .unwrap_or(base.long_term_revoke_lock_months),
            emergency_counts_as_filed: self
                .emergency_counts_as_filed
                .unwrap_or(base.emergency_counts_as_filed),
            late_filing_allowed: self.late_filing_allowed.unwrap_or(base.late_filing_allowed),
            max_backdate_days: self.max_backdate_days.unwrap_or(base.max_backdate_days),
            max_advance_days: self.max_advance_days.unwrap_or(base.max_advance_days),
        }
    }

    /// Refuses values outside what the database (and common sense) allows.
    pub fn validate(&self) -> Result<()> {
        let in_range = |field: &'static str, value: Option<u32>, min: u32, max: u32| match value {
            Some(v) if v < min || v > max => Err(Error::invalid(
                field,
                "out_of_range",
                format!("{field} must be between {min} and {max}, not {v}"),
            )),
            _ => Ok(()),
        };
        in_range("temporary_min_validity_months", self.temporary_min_validity_months, 1, 120)?;
        in_range("long_term_revoke_lock_months", self.long_term_revoke_lock_months, 0, 120)?;
        in_range("max_backdate_days", self.max_backdate_days, 0, 3660)?;
        in_range("max_advance_days", self.max_advance_days, 0, 3660)
    }
}

/// The rules in force for a home region, given the overrides of the regions it lies in,
/// outermost first (its province's, its city's, its own): the national defaults with each layer
/// applied in turn. What a county or city does not set itself, it thus takes from its city, then
/// its province, then the defaults.
pub fn rules_in_force(layers: &[RuleOverrides]) -> Rules {
    layers.iter().fold(Rules::default(), |rules, layer| layer.apply(rules))
}

/// A request for a filing, its codes already validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewFiling {
    pub psn_no: PsnNo,
    pub psn_name: String,
    pub home: Admdvs,
    pub destination: Admdvs,
    pub category: Category,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
    pub memo: String,
}

/// How a filing ended early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revocation {
    pub at: DateTime<Utc>,
    /// The China date of `at`: the filing covers days before it, not it.
    pub on: NaiveDate,
    pub by: Actor,
    pub reason: String,
}

/// A stored filing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filing {
    pub id: String,
    pub psn_no: PsnNo,
    pub psn_name: String,
    pub home: Admdvs,
    pub destination: Admdvs,
    pub category: Category,
    pub begin: NaiveDate,
    /// `None`: open-ended.
    pub end: Option<NaiveDate>,
    pub memo: String,
    pub filed_by: Actor,
    pub filed_at: DateTime<Utc>,
    pub revocation: Option<Revocation>,
}

/// The days a filing covers: `begin ..= end` (`end` `None` = open-ended), cut short by a
/// revocation. Shared by filings and chronic filings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
}

impl Validity {
    fn new(begin: NaiveDate, end: Option<NaiveDate>, revoked_on: Option<NaiveDate>) -> Self {
        let cut = revoked_on.map(|on| on.pred_opt().unwrap_or(on));
        let end = match (end, cut) {
            (Some(end), Some(cut)) => Some(end.min(cut)),
            (end, cut) => end.or(cut),
        };
        Self { begin, end }
    }

    pub fn is_empty(&self) -> bool {
        self.end.is_some_and(|end| end < self.begin)
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.begin <= date && self.end.is_none_or(|end| date <= end)
    }

    pub fn overlaps(&self, other: &Validity) -> bool {
        !self.is_empty()
            && !other.is_empty()
            && self.end.is_none_or(|end| other.begin <= end)
            && other.end.is_none_or(|end| self.begin <= end)
    }

    /// Ended before `today`.
    pub fn expired(&self, today: NaiveDate) -> bool {
        self.end.is_some_and(|end| end < today)
    }
}

impl Filing {
    pub fn validity(&self) -> Validity {
        Validity::new(self.begin, self.end, self.revocation.as_ref().map(|r| r.on))
    }

    pub fn is_revoked(&self) -> bool {
        self.revocation.is_some()
    }

    /// The first day a revocation is allowed, when a long-term lock applies.
    pub fn revocable_from(&self, rules: &Rules) -> Option<NaiveDate> {
        if !self.category.is_long_term() || rules.long_term_revoke_lock_months == 0 {
            return None;
        }
        self.begin.checked_add_months(Months::new(rules.long_term_revoke_lock_months))
    }
}

fn add_months(date: NaiveDate, months: u32) -> Result<NaiveDate> {
    date.checked_add_months(Months::new(months)).ok_or_else(|| {
        Error::invalid("begin_date", "date_out_of_range", "the date is out of range")
    })
}

/// The last day of a validity of `months` starting on `begin` (Jan 1 + 6 months → Jun 30).
fn last_day_of(begin: NaiveDate, months: u32) -> Result<NaiveDate> {
    let after = add_months(begin, months)?;
    Ok(after.pred_opt().unwrap_or(after))
}

/// Checks the start date against today and the region's back-dating and advance limits.
fn check_begin(begin: NaiveDate, rules: &Rules, today: NaiveDate) -> Result<()> {
    let earliest =
        today.checked_sub_days(Days::new(rules.max_backdate_days.into())).unwrap_or(today);
    if begin < earliest {
        return Err(Error::invalid(
            "begin_date",
            "begin_too_early",
            format!(
                "begin_date {begin} is too far in the past: the earliest allowed is {earliest} \
                 (a patient already admitted can file now, before discharge settlement)"
            ),
        ));
    }
    let latest = today.checked_add_days(Days::new(rules.max_advance_days.into())).unwrap_or(today);
    if begin > latest {
        return Err(Error::invalid(
            "begin_date",
            "begin_too_late",
            format!("begin_date {begin} is too far ahead: the latest allowed is {latest}"),
        ));
    }
    Ok(())
}

fn check_order(begin: NaiveDate, end: Option<NaiveDate>) -> Result<()> {
    match end {
        Some(end) if end < begin => Err(Error::invalid(
            "end_date",
            "end_before_begin",
            format!("end_date {end} is before begin_date {begin}"),
        )),
        _ => Ok(()),
    }
}

/// Decides whether `new` may be filed, given the known regions, the home region's rules, today,
/// and the person's existing filings. Returns the validity the filing gets.
pub fn validate_new_filing(
    new: &NewFiling,
    region_known: impl Fn(&Admdvs) -> bool,
    rules: &Rules,
    today: NaiveDate,
    existing: &[Filing],
) -> Result<Validity> {
    for (field, code) in [("insuplc_admdvs", &new.home), ("mdtrtarea_admvs", &new.destination)] {
        if !region_known(code) {
            return Err(Error::invalid(
                field,
                "unknown_region",
                format!("{field} {code} is not a known medical-insurance region"),
            ));
        }
    }
    if new.home.same_province(&new.destination) {
        return Err(Error::invalid(
            "mdtrtarea_admvs",
            "same_province",
            format!(
                "{} and {} are in the same province: filing is for treatment in another province",
                new.home, new.destination
            ),
        ));
    }
    check_order(new.begin, new.end)?;
    let end = if new.category.is_long_term() {
        if let Some(end) = new.end {
            return Err(Error::invalid(
                "end_date",
                "long_term_is_open_ended",
                format!(
                    "a {} filing is open-ended: leave end_date empty (got {end})",
                    new.category.as_str()
                ),
            ));
        }
        None
    } else {
        let shortest = last_day_of(new.begin, rules.temporary_min_validity_months)?;
        match new.end {
            None => Some(shortest),
            Some(end) if end < shortest => {
                return Err(Error::invalid(
                    "end_date",
                    "validity_too_short",
                    format!(
                        "a temporary filing is valid at least {} months: leave end_date empty or \
                         choose {shortest} or later",
                        rules.temporary_min_validity_months
                    ),
                ));
            }
            Some(end) => Some(end),
        }
    };
    check_begin(new.begin, rules, today)?;
    let validity = Validity { begin: new.begin, end };
    if let Some(clash) = existing
        .iter()
        .find(|f| f.destination.overlaps(&new.destination) && f.validity().overlaps(&validity))
    {
        return Err(Error::precondition(
            "overlapping_filing",
            format!(
                "filing {} ({} in {}, from {}) already covers part of this period; revoke it \
                 first or choose dates outside it",
                clash.id,
                clash.category.as_str(),
                clash.destination,
                clash.begin
            ),
        ));
    }
    Ok(validity)
}

/// Shared checks before any revocation: not revoked already, not over.
fn check_not_revoked_or_expired(
    kind: &str,
    id: &str,
    revoked: bool,
    validity: Validity,
    today: NaiveDate,
) -> Result<()> {
    if revoked {
        return Err(Error::precondition(
            "already_revoked",
            format!("{kind} {id} is revoked already"),
        ));
    }
    if validity.expired(today) {
        return Err(Error::precondition(
            "filing_expired",
            format!("{kind} {id} ended on {}; there is nothing to revoke", fmt_end(validity.end)),
        ));
    }
    Ok(())
}

fn fmt_end(end: Option<NaiveDate>) -> String {
    end.map_or_else(|| "-".to_owned(), |d| d.to_string())
}

/// Decides whether `filing` may be revoked today under `rules`.
pub fn check_revocable(filing: &Filing, rules: &Rules, today: NaiveDate) -> Result<()> {
    check_not_revoked_or_expired(
        "filing",
        &filing.id,
        filing.is_revoked(),
        filing.validity(),
        today,
    )?;
    // A filing that has not taken effect yet can always be withdrawn.
    if let Some(from) = filing.revocable_from(rules)
        && filing.begin <= today
        && today < from
    {
        return Err(Error::precondition(
            "revoke_locked",
            format!(
                "a long-term filing cannot be revoked within {} months of taking effect \
                 ({}): it can be revoked from {from}",
                rules.long_term_revoke_lock_months, filing.begin
            ),
        ));
    }
    Ok(())
}

/// The coverage question the routing service asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageQuery {
    pub psn_no: PsnNo,
    pub home: Admdvs,
    pub treating: Admdvs,
    /// Treatment date (for an admission: the discharge settlement date).
    pub date: NaiveDate,
    pub emergency: bool,
    pub admission: Option<NaiveDate>,
}

/// Why a visit is covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageBasis {
    Filing,
    LateFiling,
    EmergencyUnfiled,
    SameProvince,
}

/// The answer to a [`CoverageQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    Covered { basis: CoverageBasis, category: Option<Category>, filing_id: Option<String> },
    NotCovered { reason: &'static str, message: String },
}

/// Answers `query` from the person's filings. `now` is when the question is asked: a late
/// filing only counts if it was made before it (before discharge settlement).
pub fn check_coverage(
    query: &CoverageQuery,
    rules: &Rules,
    filings: &[Filing],
    now: DateTime<Utc>,
) -> Result<Coverage> {
    if let Some(admission) = query.admission
        && admission > query.date
    {
        return Err(Error::invalid(
            "admission_date",
            "admission_after_date",
            format!("admission_date {admission} is after the settlement date {}", query.date),
        ));
    }
    if query.home.same_province(&query.treating) {
        return Ok(Coverage::Covered {
            basis: CoverageBasis::SameProvince,
            category: None,
            filing_id: None,
        });
    }
    let candidates = filings.iter().filter(|f| {
        f.psn_no == query.psn_no
            && f.home.overlaps(&query.home)
            && f.destination.contains(&query.treating)
    });
    let start = query.admission.unwrap_or(query.date);
    let mut late = None;
    for filing in candidates {
        let validity = filing.validity();
        if validity.contains(start) {
            return Ok(covered(CoverageBasis::Filing, filing));
        }
        let filed_late = query.admission.is_some_and(|admission| {
            admission < filing.begin && validity.contains(query.date) && filing.filed_at <= now
        });
        if rules.late_filing_allowed && filed_late {
            late = Some(filing);
        }
    }
    if let Some(filing) = late {
        return Ok(covered(CoverageBasis::LateFiling, filing));
    }
    if query.emergency && rules.emergency_counts_as_filed {
        return Ok(Coverage::Covered {
            basis: CoverageBasis::EmergencyUnfiled,
            category: Some(Category::Emergency),
            filing_id: None,
        });
    }
    Ok(Coverage::NotCovered {
        reason: "no_filing",
        message: format!(
            "person {} insured in {} has no filing for treatment in {} on {start}: file for \
             treatment elsewhere first, or settle the visit as an emergency",
            query.psn_no, query.home, query.treating
        ),
    })
}

fn covered(basis: CoverageBasis, filing: &Filing) -> Coverage {
    Coverage::Covered { basis, category: Some(filing.category), filing_id: Some(filing.id.clone()) }
}

/// A request for a chronic / special disease filing, codes validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewChronicFiling {
    pub psn_no: PsnNo,
    pub home: Admdvs,
    pub disease_code: String,
    pub diagnosed_by: FixmedinsCode,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
}

/// A stored chronic / special disease filing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChronicFiling {
    pub id: String,
    pub psn_no: PsnNo,
    pub home: Admdvs,
    pub disease_code: String,
    pub disease_name: String,
    pub diagnosed_by: FixmedinsCode,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
    pub filed_by: Actor,
    pub filed_at: DateTime<Utc>,
    pub revocation: Option<Revocation>,
}

impl ChronicFiling {
    pub fn validity(&self) -> Validity {
        Validity::new(self.begin, self.end, self.revocation.as_ref().map(|r| r.on))
    }
}

/// Decides whether a chronic-disease filing may be made.
pub fn validate_new_chronic_filing(
    new: &NewChronicFiling,
    region_known: bool,
    disease_known: bool,
    rules: &Rules,
    today: NaiveDate,
    existing: &[ChronicFiling],
) -> Result<Validity> {
    if !region_known {
        return Err(Error::invalid(
            "insuplc_admdvs",
            "unknown_region",
            format!("insuplc_admdvs {} is not a known medical-insurance region", new.home),
        ));
    }
    if !disease_known {
        return Err(Error::invalid(
            "disease_code",
            "unknown_disease",
            format!(
                "disease_code {} is not a chronic or special disease that cross-province \
                 outpatient settlement covers (see /api/v1/chronic-diseases)",
                new.disease_code
            ),
        ));
    }
    check_order(new.begin, new.end)?;
    check_begin(new.begin, rules, today)?;
    let validity = Validity { begin: new.begin, end: new.end };
    if let Some(clash) = existing
        .iter()
        .find(|f| f.disease_code == new.disease_code && f.validity().overlaps(&validity))
    {
        return Err(Error::precondition(
            "overlapping_filing",
            format!(
                "chronic filing {} for {} already covers part of this period",
                clash.id, clash.disease_code
            ),
        ));
    }
    Ok(validity)
}

/// Decides whether a chronic-disease filing may be revoked today.
pub fn check_chronic_revocable(filing: &ChronicFiling, today: NaiveDate) -> Result<()> {
    check_not_revoked_or_expired(
        "chronic filing",
        &filing.id,
        filing.revocation.is_some(),
        filing.validity(),
        today,
    )
}

/// The chronic filing of `disease_code` in force on `date`, if any.
pub fn chronic_filing_on<'a>(
    filings: &'a [ChronicFiling],
    disease_code: &str,
    date: NaiveDate,
) -> Option<&'a ChronicFiling> {
    filings.iter().find(|f| f.disease_code == disease_code && f.validity().contains(date))
}

#[cfg(test)]
mod tests;
