//! Person designations (人员定点, national 2505 / 2506 / 5302): the designated institutions
//! (定点医药机构) a person has chosen for one kind of business (`biz_appy_type`), each in its
//! order (`fix_srt_no`), from a begin date to an end date or open-ended. Pure rules: validated
//! values, today's date and what the repository found in, a decision out.

use chrono::{DateTime, NaiveDate, Utc};
use medclear_common::{
    Error, Result,
    codes::{Admdvs, FixmedinsCode, PsnNo},
};
use serde::Serialize;

use super::{Actor, Revocation, Validity, check_order};

/// The national BIZ_APPY_TYPE codes (业务申请类型) a designation may be filed under, with their
/// national names: the one list of them. Read from public HIS clients of the national
/// interface (binzhe12123/Medical `YBSYB.js` SYB2505 and a Java client's 5302 query both list
/// 01 / 03 / 08 with these names; a Guangdong client files and queries 99).
pub const BIZ_APPY_TYPES: [(&str, &str); 4] = [
    ("01", "门诊慢特病登记"),
    ("03", "就医定点医疗机构登记"),
    ("08", "异地安置登记"),
    ("99", "其他"),
];

/// A known [`BIZ_APPY_TYPES`] code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "&'static str")]
pub struct BizAppyType(&'static str);

impl BizAppyType {
    /// The known code `text` names, if any.
    pub fn parse(text: &str) -> Option<Self> {
        BIZ_APPY_TYPES.iter().find(|(code, _)| *code == text).map(|(code, _)| Self(code))
    }

    /// Refuses a code that is not one of [`BIZ_APPY_TYPES`], naming the known ones.
    pub fn parse_field(field: &'static str, text: &str) -> Result<Self> {
        Self::parse(text).ok_or_else(|| {
            let known: Vec<String> =
                BIZ_APPY_TYPES.iter().map(|(code, name)| format!("{code} {name}")).collect();
            Error::invalid(
                field,
                "unknown_biz_appy_type",
                format!(
                    "{field} {} is not a known business application type: one of {}",
                    medclear_common::codes::shown(text),
                    known.join(", ")
                ),
            )
        })
    }

    pub fn code(self) -> &'static str {
        self.0
    }

    pub fn name(self) -> &'static str {
        BIZ_APPY_TYPES.iter().find(|(code, _)| *code == self.0).map_or("", |(_, name)| name)
    }
}

impl From<BizAppyType> for &'static str {
    fn from(value: BizAppyType) -> Self {
        value.0
    }
}

/// The highest order number (`fix_srt_no`, C(3)).
pub const MAX_FIX_SRT_NO: u16 = 999;

/// Who files on the person's behalf (代办人); every field may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub name: String,
    pub cert_type: String,
    pub certno: String,
    pub tel: String,
    pub addr: String,
    pub rlts: String,
}

/// A request for a designation, its codes and texts validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewDesignation {
    pub psn_no: PsnNo,
    pub home: Admdvs,
    /// The insurance type (险种类型, `310`, `390`…) it is for.
    pub insutype: String,
    pub biz_appy_type: BizAppyType,
    pub fixmedins_code: FixmedinsCode,
    pub fixmedins_name: String,
    /// The institution's order among the person's designations of this business, 1 to
    /// [`MAX_FIX_SRT_NO`]; `None` (sent empty, as some HIS do): the next after the person's
    /// designations of this business in force ([`validate_new_designation`] decides it).
    pub fix_srt_no: Option<u16>,
    pub begin: NaiveDate,
    /// `None`: open-ended.
    pub end: Option<NaiveDate>,
    pub tel: String,
    pub addr: String,
    pub agent: Agent,
    pub memo: String,
}

/// A stored designation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Designation {
    /// The serial (`trt_dcla_detl_sn`).
    pub id: String,
    pub psn_no: PsnNo,
    pub home: Admdvs,
    pub insutype: String,
    pub biz_appy_type: BizAppyType,
    pub fixmedins_code: FixmedinsCode,
    pub fixmedins_name: String,
    pub fix_srt_no: u16,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
    pub tel: String,
    pub addr: String,
    pub agent: Agent,
    pub memo: String,
    pub filed_by: Actor,
    pub filed_at: DateTime<Utc>,
    pub revocation: Option<Revocation>,
}

impl Designation {
    /// The days it covers, cut short by a revocation.
    pub fn validity(&self) -> Validity {
        Validity::new(self.begin, self.end, self.revocation.as_ref().map(|r| r.on))
    }

    /// In force today or later: not revoked and not ended before `today`.
    pub fn is_active(&self, today: NaiveDate) -> bool {
        self.revocation.is_none() && !self.validity().expired(today)
    }
}

/// Decides whether `new` may be filed, given whether its home region is known, today, and the
/// person's existing designations: the dates in order, and no active designation of the same
/// business and order whose days meet the new one's. Answers its days and its order (sent, or
/// the next after the highest of the person's active designations of the business).
pub fn validate_new_designation(
    new: &NewDesignation,
    region_known: bool,
    today: NaiveDate,
    existing: &[Designation],
) -> Result<(Validity, u16)> {
    if !region_known {
        return Err(Error::invalid(
            "insuplc_admdvs",
            "unknown_region",
            format!("insuplc_admdvs {} is not a known medical-insurance region", new.home),
        ));
    }
    let same_business = |d: &&Designation| {
        d.psn_no == new.psn_no && d.biz_appy_type == new.biz_appy_type && d.is_active(today)
    };
    let fix_srt_no = new.fix_srt_no.unwrap_or_else(|| {
        existing.iter().filter(same_business).map(|d| d.fix_srt_no).max().unwrap_or(0) + 1
    });
    if !(1..=MAX_FIX_SRT_NO).contains(&fix_srt_no) {
        return Err(Error::invalid(
            "fix_srt_no",
            "out_of_range",
            format!("fix_srt_no must be between 1 and {MAX_FIX_SRT_NO}, not {fix_srt_no}"),
        ));
    }
    check_order(new.begin, new.end)?;
    let validity = Validity { begin: new.begin, end: new.end };
    if let Some(clash) = existing
        .iter()
        .filter(same_business)
        .find(|d| d.fix_srt_no == fix_srt_no && d.validity().overlaps(&validity))
    {
        return Err(Error::precondition(
            "designation_exists",
            format!(
                "person {} already has designation {} ({} {}, fix_srt_no {}: {} from {}); \
                 revoke it (2506) first or choose another fix_srt_no",
                clash.psn_no,
                clash.id,
                clash.biz_appy_type.code(),
                clash.biz_appy_type.name(),
                clash.fix_srt_no,
                clash.fixmedins_code,
                clash.begin
            ),
        ));
    }
    Ok((validity, fix_srt_no))
}

/// What revoking `designation` for `psn_no` does: refused when it is another person's (named
/// as not found, so a serial tells nothing about whose it is); nothing when it is revoked
/// already (the same answer again); else a revocation to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeDecision {
    Revoke,
    AlreadyRevoked,
}

pub fn check_designation_revocable(
    designation: &Designation,
    psn_no: &PsnNo,
) -> Result<RevokeDecision> {
    if designation.psn_no != *psn_no {
        return Err(not_found(psn_no, &designation.id));
    }
    Ok(if designation.revocation.is_some() {
        RevokeDecision::AlreadyRevoked
    } else {
        RevokeDecision::Revoke
    })
}

/// No designation `id` of person `psn_no`.
pub fn not_found(psn_no: &PsnNo, id: &str) -> Error {
    Error::not_found(
        "designation_not_found",
        format!("person {psn_no} has no designation {}", medclear_common::codes::shown(id)),
    )
}

/// The designations a list asks for: of `biz_appy_type` when given, and only the active ones
/// (in force today or later) unless `include_inactive`; in their order, newest first within
/// one order number.
pub fn select_designations(
    mut all: Vec<Designation>,
    biz_appy_type: Option<BizAppyType>,
    include_inactive: bool,
    today: NaiveDate,
) -> Vec<Designation> {
    all.retain(|d| {
        biz_appy_type.is_none_or(|t| d.biz_appy_type == t)
            && (include_inactive || d.is_active(today))
    });
    all.sort_by(|a, b| {
        (a.biz_appy_type.code(), a.fix_srt_no, std::cmp::Reverse(a.filed_at)).cmp(&(
            b.biz_appy_type.code(),
            b.fix_srt_no,
            std::cmp::Reverse(b.filed_at),
        ))
    });
    all
}

#[cfg(test)]
mod tests;
