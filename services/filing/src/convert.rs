//! The edge of the filing service: wire messages in, validated domain values out (and back).
//! Every refusal names the field to fix.

use chrono::{DateTime, NaiveDate, Utc};
use medclear_common::{
    Error, Result,
    codes::{self, Admdvs, MessageId, PsnNo},
};
use medclear_proto::filing::v1 as pb;

use crate::{
    domain::{
        Actor, Category, Channel, ChronicFiling, Coverage, CoverageBasis, CoverageQuery,
        NewChronicFiling, NewFiling, Revocation, RuleOverrides, Rules,
    },
    repo::Region,
    service::FilingView,
};

fn missing(field: &'static str) -> Error {
    Error::invalid(field, "missing_field", format!("{field} is required"))
}

pub(crate) fn admdvs(field: &'static str, text: &str) -> Result<Admdvs> {
    Ok(codes::admdvs(field, text)?)
}

/// A `psn_no` by its pattern ([`PsnNo`]): `0` or `x` name nobody, and are never filed for.
pub(crate) fn psn_no(field: &'static str, text: &str) -> Result<PsnNo> {
    Ok(codes::psn_no(field, text)?)
}

/// Free text of at most `max` characters, without control characters.
fn text(field: &'static str, text: &str, max: usize) -> Result<String> {
    Ok(codes::text(field, text, max)?.to_owned())
}

/// The longest memo: a referral's reason (C(500)) and the institution's name (C(200)).
const MAX_MEMO: usize = 1000;

/// The sender's request id, when it sends one ([`MessageId`]: at most 64 characters).
fn request_id(text: &str) -> Result<Option<String>> {
    match text.trim() {
        "" => Ok(None),
        id => Ok(Some(MessageId::parse_field("request_id", id)?.to_string())),
    }
}

pub(crate) use medclear_common::wire::date;

pub(crate) fn optional_date(field: &'static str, text: &str) -> Result<Option<NaiveDate>> {
    if text.trim().is_empty() { Ok(None) } else { date(field, text).map(Some) }
}

pub(crate) fn category(value: i32) -> Result<Category> {
    match pb::Category::try_from(value) {
        Ok(pb::Category::RetireeResettled) => Ok(Category::RetireeResettled),
        Ok(pb::Category::LongTermResident) => Ok(Category::LongTermResident),
        Ok(pb::Category::StationedWorker) => Ok(Category::StationedWorker),
        Ok(pb::Category::Referral) => Ok(Category::Referral),
        Ok(pb::Category::Emergency) => Ok(Category::Emergency),
        Ok(pb::Category::OtherTemporary) => Ok(Category::OtherTemporary),
        Ok(pb::Category::Unspecified) => Err(missing("category")),
        Err(_) => Err(Error::invalid(
            "category",
            "unknown_category",
            format!("category {value} is not one of the six filing categories"),
        )),
    }
}

pub(crate) fn category_to_pb(category: Category) -> pb::Category {
    match category {
        Category::RetireeResettled => pb::Category::RetireeResettled,
        Category::LongTermResident => pb::Category::LongTermResident,
        Category::StationedWorker => pb::Category::StationedWorker,
        Category::Referral => pb::Category::Referral,
        Category::Emergency => pb::Category::Emergency,
        Category::OtherTemporary => pb::Category::OtherTemporary,
    }
}

fn channel_to_pb(channel: Channel) -> pb::Channel {
    match channel {
        Channel::CitizenOnline => pb::Channel::CitizenOnline,
        Channel::Hospital => pb::Channel::Hospital,
        Channel::Agency => pb::Channel::Agency,
    }
}

pub(crate) fn actor(actor: Option<pb::Actor>) -> Result<Actor> {
    let actor = actor.ok_or_else(|| missing("actor"))?;
    let id = codes::required_text("actor.id", &actor.id, 64)?.to_owned();
    let channel = match pb::Channel::try_from(actor.channel) {
        Ok(pb::Channel::CitizenOnline) => Channel::CitizenOnline,
        Ok(pb::Channel::Hospital) => Channel::Hospital,
        Ok(pb::Channel::Agency) => Channel::Agency,
        Ok(pb::Channel::Unspecified) => return Err(missing("actor.channel")),
        Err(_) => {
            return Err(Error::invalid("actor.channel", "unknown_channel", "unknown channel"));
        }
    };
    Ok(Actor { id, channel })
}

fn actor_to_pb(actor: &Actor) -> pb::Actor {
    pb::Actor { id: actor.id.clone(), channel: channel_to_pb(actor.channel).into() }
}

fn day(date: Option<NaiveDate>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

fn time(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn status(revocation: Option<&Revocation>) -> pb::FilingStatus {
    if revocation.is_some() { pb::FilingStatus::Revoked } else { pb::FilingStatus::Active }
}

/// A validated create request.
#[derive(Debug)]
pub(crate) struct Create<T> {
    pub(crate) new: T,
    pub(crate) actor: Actor,
    pub(crate) request_id: Option<String>,
}

impl TryFrom<pb::CreateFilingRequest> for Create<NewFiling> {
    type Error = Error;
    fn try_from(r: pb::CreateFilingRequest) -> Result<Self> {
        Ok(Self {
            new: NewFiling {
                psn_no: psn_no("psn_no", &r.psn_no)?,
                psn_name: text("psn_name", &r.psn_name, 50)?,
                home: admdvs("insuplc_admdvs", &r.insuplc_admdvs)?,
                destination: admdvs("mdtrtarea_admvs", &r.mdtrtarea_admvs)?,
                category: category(r.category)?,
                begin: date("begin_date", &r.begin_date)?,
                end: optional_date("end_date", &r.end_date)?,
                memo: text("memo", &r.memo, MAX_MEMO)?,
            },
            actor: actor(r.actor)?,
            request_id: request_id(&r.request_id)?,
        })
    }
}

impl TryFrom<pb::CreateChronicFilingRequest> for Create<NewChronicFiling> {
    type Error = Error;
    fn try_from(r: pb::CreateChronicFilingRequest) -> Result<Self> {
        let disease_code = codes::code("disease_code", &r.disease_code, 30)?.to_owned();
        Ok(Self {
            new: NewChronicFiling {
                psn_no: psn_no("psn_no", &r.psn_no)?,
                home: admdvs("insuplc_admdvs", &r.insuplc_admdvs)?,
                disease_code,
                diagnosed_by: codes::fixmedins_code("diagnosed_by", &r.diagnosed_by)?,
                begin: date("begin_date", &r.begin_date)?,
                end: optional_date("end_date", &r.end_date)?,
            },
            actor: actor(r.actor)?,
            request_id: request_id(&r.request_id)?,
        })
    }
}

impl TryFrom<pb::CheckCoverageRequest> for CoverageQuery {
    type Error = Error;
    fn try_from(r: pb::CheckCoverageRequest) -> Result<Self> {
        Ok(Self {
            psn_no: psn_no("psn_no", &r.psn_no)?,
            home: admdvs("insuplc_admdvs", &r.insuplc_admdvs)?,
            treating: admdvs("mdtrtarea_admvs", &r.mdtrtarea_admvs)?,
            date: date("date", &r.date)?,
            emergency: r.emergency,
            admission: optional_date("admission_date", &r.admission_date)?,
        })
    }
}

pub(crate) fn required_id(field: &'static str, id: &str) -> Result<String> {
    let id = id.trim();
    if id.is_empty() {
        return Err(missing(field));
    }
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::not_found(
            "filing_not_found",
            format!("no filing {}", codes::shown(id)),
        ));
    }
    Ok(id.to_owned())
}

impl From<FilingView> for pb::Filing {
    fn from(view: FilingView) -> Self {
        let f = view.filing;
        let revocation = f.revocation.as_ref();
        pb::Filing {
            status: status(revocation).into(),
            revoked_at: time(revocation.map(|r| r.at)),
            revoke_reason: revocation.map(|r| r.reason.clone()).unwrap_or_default(),
            filing_id: f.id,
            psn_no: f.psn_no.to_string(),
            psn_name: f.psn_name,
            insuplc_admdvs: f.home.to_string(),
            mdtrtarea_admvs: f.destination.to_string(),
            category: category_to_pb(f.category).into(),
            begin_date: f.begin.to_string(),
            end_date: day(f.end),
            filed_by: Some(actor_to_pb(&f.filed_by)),
            filed_at: f.filed_at.to_rfc3339(),
            memo: f.memo,
            revocable_from: day(view.revocable_from),
        }
    }
}

impl From<ChronicFiling> for pb::ChronicFiling {
    fn from(f: ChronicFiling) -> Self {
        let revocation = f.revocation.as_ref();
        pb::ChronicFiling {
            status: status(revocation).into(),
            revoked_at: time(revocation.map(|r| r.at)),
            revoke_reason: revocation.map(|r| r.reason.clone()).unwrap_or_default(),
            filing_id: f.id,
            psn_no: f.psn_no.to_string(),
            insuplc_admdvs: f.home.to_string(),
            disease_code: f.disease_code,
            disease_name: f.disease_name,
            diagnosed_by: f.diagnosed_by.to_string(),
            begin_date: f.begin.to_string(),
            end_date: day(f.end),
            filed_by: Some(actor_to_pb(&f.filed_by)),
            filed_at: f.filed_at.to_rfc3339(),
        }
    }
}

impl From<Coverage> for pb::CheckCoverageResponse {
    fn from(coverage: Coverage) -> Self {
        match coverage {
            Coverage::Covered { basis, category, filing_id } => pb::CheckCoverageResponse {
                covered: true,
                basis: match basis {
                    CoverageBasis::Filing => pb::CoverageBasis::Filing,
                    CoverageBasis::LateFiling => pb::CoverageBasis::LateFiling,
                    CoverageBasis::EmergencyUnfiled => pb::CoverageBasis::EmergencyUnfiled,
                    CoverageBasis::SameProvince => pb::CoverageBasis::SameProvince,
                }
                .into(),
                category: category.map_or(pb::Category::Unspecified, category_to_pb).into(),
                filing_id: filing_id.unwrap_or_default(),
                reason: String::new(),
                message: String::new(),
            },
            Coverage::NotCovered { reason, message } => pb::CheckCoverageResponse {
                covered: false,
                reason: reason.to_owned(),
                message,
                ..Default::default()
            },
        }
    }
}

impl From<Region> for pb::Region {
    fn from(r: Region) -> Self {
        pb::Region { admdvs: r.admdvs, name_zh: r.name_zh, name_en: r.name_en, level: r.level }
    }
}

impl From<pb::RegionRules> for RuleOverrides {
    fn from(r: pb::RegionRules) -> Self {
        RuleOverrides {
            temporary_min_validity_months: r.temporary_min_validity_months,
            long_term_revoke_lock_months: r.long_term_revoke_lock_months,
            emergency_counts_as_filed: r.emergency_counts_as_filed,
            late_filing_allowed: r.late_filing_allowed,
            max_backdate_days: r.max_backdate_days,
            max_advance_days: r.max_advance_days,
        }
    }
}

pub(crate) fn rules_to_pb(home: &Admdvs, rules: Rules) -> pb::RegionRules {
    pb::RegionRules {
        insuplc_admdvs: home.to_string(),
        temporary_min_validity_months: Some(rules.temporary_min_validity_months),
        long_term_revoke_lock_months: Some(rules.long_term_revoke_lock_months),
        emergency_counts_as_filed: Some(rules.emergency_counts_as_filed),
        late_filing_allowed: Some(rules.late_filing_allowed),
        max_backdate_days: Some(rules.max_backdate_days),
        max_advance_days: Some(rules.max_advance_days),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_are_refused_by_name() {
        assert_eq!(category(0).unwrap_err().reason(), "missing_field");
        assert_eq!(category(42).unwrap_err().reason(), "unknown_category");
        assert_eq!(category(4).unwrap(), Category::Referral);
        assert_eq!(actor(None).unwrap_err().reason(), "missing_field");
    }

    fn referral(edit: impl FnOnce(&mut pb::CreateFilingRequest)) -> Result<Create<NewFiling>> {
        let mut r = pb::CreateFilingRequest {
            request_id: "H42020000001202603021200000001".into(),
            psn_no: "P420200001".into(),
            insuplc_admdvs: "420200".into(),
            mdtrtarea_admvs: "440300".into(),
            category: pb::Category::Referral.into(),
            begin_date: "2026-03-02".into(),
            actor: Some(pb::Actor {
                id: "H42020000001".into(),
                channel: pb::Channel::Hospital.into(),
            }),
            ..Default::default()
        };
        edit(&mut r);
        Create::try_from(r)
    }

    /// Issue 16: filings for nobody, NUL in ids and oversized texts are refused by name,
    /// before a row could be written.
    #[test]
    fn hostile_fields_are_refused_by_name() {
        assert!(referral(|_| {}).is_ok());
        let refused = |edit: fn(&mut pb::CreateFilingRequest)| {
            let e = referral(edit).unwrap_err();
            let Error::Problem(p) = e else { panic!("{e}") };
            (p.reason.into_owned(), p.field.map(|f| f.into_owned()).unwrap_or_default())
        };
        let pair = |reason: &str, field: &str| (reason.to_owned(), field.to_owned());
        assert_eq!(refused(|r| r.psn_no = "0".into()), pair("invalid_code", "psn_no"));
        assert_eq!(refused(|r| r.psn_no = "x".into()), pair("invalid_code", "psn_no"));
        assert_eq!(refused(|r| r.psn_no = "P42\0".into()), pair("control_character", "psn_no"));
        assert_eq!(
            refused(|r| r.request_id = "R\0".into()),
            pair("control_character", "request_id")
        );
        assert_eq!(refused(|r| r.request_id = "🙂".into()), pair("invalid_msgid", "request_id"));
        assert_eq!(refused(|r| r.request_id = "r".repeat(65)), pair("too_long", "request_id"));
        assert_eq!(refused(|r| r.psn_name = "名".repeat(51)), pair("too_long", "psn_name"));
        assert_eq!(refused(|r| r.memo = "a\u{202E}b".into()), pair("control_character", "memo"));
        assert_eq!(
            refused(|r| r.insuplc_admdvs = "4202\u{0}0".into()),
            pair("control_character", "insuplc_admdvs")
        );
        let long = required_id("filing_id", &"F".repeat(100_000)).unwrap_err();
        assert!(long.to_string().len() < 100, "the message does not echo 100 KB: {long}");
    }

    #[test]
    fn an_empty_optional_date_is_absent() {
        assert_eq!(optional_date("end_date", "").unwrap(), None);
        assert_eq!(optional_date("end_date", "  ").unwrap(), None);
        assert_eq!(
            optional_date("end_date", "2026-03-01").unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 1)
        );
        assert_eq!(optional_date("end_date", "x").unwrap_err().reason(), "invalid_date");
    }
}
