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
        designation::{Agent, BizAppyType, MAX_FIX_SRT_NO, NewDesignation},
    },
    repo::Region,
    service::{DesignationView, FilingView},
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
        // Checked as sent: a control character is refused even where trimming would drop it.
        _ => Ok(Some(MessageId::parse_field("request_id", text)?.to_string())),
    }
}

/// The longest date or date-time accepted (`2026-03-02T08:00:00.000+08:00`), with room.
const MAX_DATE: usize = 40;

/// A date by the one rule for them ([`medclear_common::wire::date`]), its control characters
/// and length refused first by name, so a refusal never shows a long value.
pub(crate) fn date(field: &'static str, text: &str) -> Result<NaiveDate> {
    codes::text(field, text, MAX_DATE)?;
    medclear_common::wire::date(field, text)
}

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

/// The longest revocation reason kept (C(500)).
const MAX_REASON: usize = 500;

/// A validated revocation: the filing, who revokes it and why (free text, may be empty).
#[derive(Debug)]
pub(crate) struct Revoke {
    pub(crate) id: String,
    pub(crate) actor: Actor,
    pub(crate) reason: String,
}

impl Revoke {
    fn new(filing_id: &str, actor_pb: Option<pb::Actor>, reason: &str) -> Result<Self> {
        let id = required_id("filing_id", filing_id)?;
        let actor = actor(actor_pb)?;
        Ok(Self { id, actor, reason: text("reason", reason, MAX_REASON)? })
    }
}

impl TryFrom<pb::RevokeFilingRequest> for Revoke {
    type Error = Error;
    fn try_from(r: pb::RevokeFilingRequest) -> Result<Self> {
        Self::new(&r.filing_id, r.actor, &r.reason)
    }
}

impl TryFrom<pb::RevokeChronicFilingRequest> for Revoke {
    type Error = Error;
    fn try_from(r: pb::RevokeChronicFilingRequest) -> Result<Self> {
        Self::new(&r.filing_id, r.actor, &r.reason)
    }
}

/// A validated chronic-filing check: whose, for which disease (a code; empty matches no
/// filing), on which day.
#[derive(Debug)]
pub(crate) struct ChronicQuery {
    pub(crate) psn_no: PsnNo,
    pub(crate) disease_code: String,
    pub(crate) date: NaiveDate,
}

impl TryFrom<pb::CheckChronicFilingRequest> for ChronicQuery {
    type Error = Error;
    fn try_from(r: pb::CheckChronicFilingRequest) -> Result<Self> {
        Ok(Self {
            psn_no: psn_no("psn_no", &r.psn_no)?,
            disease_code: codes::optional_code("disease_code", &r.disease_code, 30)?.to_owned(),
            date: date("date", &r.date)?,
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

/// A known `biz_appy_type` ([`BizAppyType`]), its control characters and length refused first.
pub(crate) fn biz_appy_type(field: &'static str, text: &str) -> Result<BizAppyType> {
    match codes::text(field, text, 3)? {
        "" => Err(missing(field)),
        code => BizAppyType::parse_field(field, code),
    }
}

/// A designation's order (`fix_srt_no`, C(3)): 1 to 999, leading zeros allowed (`01` is `1`);
/// empty: `None`, the next one (see [`designation::validate_new_designation`]).
fn fix_srt_no(field: &'static str, text: &str) -> Result<Option<u16>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let digits = codes::digits(field, text, 1, 3)?;
    match digits.parse::<u16>() {
        Ok(n) if (1..=MAX_FIX_SRT_NO).contains(&n) => Ok(Some(n)),
        _ => Err(Error::invalid(
            field,
            "out_of_range",
            format!("{field} must be between 1 and {MAX_FIX_SRT_NO}, not {digits}"),
        )),
    }
}

/// A short code that may be empty (`agnter_cert_type` C(6), `agnter_rlts` C(3)).
fn optional_code(field: &'static str, text: &str, max: usize) -> Result<String> {
    Ok(codes::optional_code(field, text, max)?.to_owned())
}

impl TryFrom<pb::CreateDesignationRequest> for Create<NewDesignation> {
    type Error = Error;
    fn try_from(r: pb::CreateDesignationRequest) -> Result<Self> {
        let agent = r.agent.unwrap_or_default();
        Ok(Self {
            new: NewDesignation {
                psn_no: psn_no("psn_no", &r.psn_no)?,
                home: admdvs("insuplc_admdvs", &r.insuplc_admdvs)?,
                insutype: codes::insutype("insutype", &r.insutype)?.to_owned(),
                biz_appy_type: biz_appy_type("biz_appy_type", &r.biz_appy_type)?,
                fixmedins_code: codes::fixmedins_code("fixmedins_code", &r.fixmedins_code)?,
                fixmedins_name: text("fixmedins_name", &r.fixmedins_name, 200)?,
                fix_srt_no: fix_srt_no("fix_srt_no", &r.fix_srt_no)?,
                begin: date("begin_date", &r.begin_date)?,
                end: optional_date("end_date", &r.end_date)?,
                tel: text("tel", &r.tel, 50)?,
                addr: text("addr", &r.addr, 200)?,
                agent: Agent {
                    name: text("agent.name", &agent.name, 50)?,
                    cert_type: optional_code("agent.cert_type", &agent.cert_type, 6)?,
                    certno: text("agent.certno", &agent.certno, 50)?,
                    tel: text("agent.tel", &agent.tel, 30)?,
                    addr: text("agent.addr", &agent.addr, 200)?,
                    rlts: optional_code("agent.rlts", &agent.rlts, 3)?,
                },
                memo: text("memo", &r.memo, MAX_REASON)?,
            },
            actor: actor(r.actor)?,
            request_id: request_id(&r.request_id)?,
        })
    }
}

/// A validated designation revocation: whose, which, by whom and why.
#[derive(Debug)]
pub(crate) struct RevokeDesignation {
    pub(crate) psn_no: PsnNo,
    pub(crate) id: String,
    pub(crate) actor: Actor,
    pub(crate) reason: String,
}

impl TryFrom<pb::RevokeDesignationRequest> for RevokeDesignation {
    type Error = Error;
    fn try_from(r: pb::RevokeDesignationRequest) -> Result<Self> {
        let psn_no = psn_no("psn_no", &r.psn_no)?;
        let id = match required_id("trt_dcla_detl_sn", &r.trt_dcla_detl_sn) {
            // An id no designation can have is nobody's: this person's not found.
            Err(Error::Problem(p)) if p.reason == "filing_not_found" => {
                return Err(crate::domain::designation::not_found(&psn_no, &r.trt_dcla_detl_sn));
            }
            other => other?,
        };
        Ok(Self {
            psn_no,
            id,
            actor: actor(r.actor)?,
            reason: text("reason", &r.reason, MAX_REASON)?,
        })
    }
}

/// A validated list request: whose, of which business (`None`: every kind), and whether the
/// revoked and ended ones too.
#[derive(Debug)]
pub(crate) struct ListDesignations {
    pub(crate) psn_no: PsnNo,
    pub(crate) biz_appy_type: Option<BizAppyType>,
    pub(crate) include_inactive: bool,
}

impl TryFrom<pb::ListDesignationsRequest> for ListDesignations {
    type Error = Error;
    fn try_from(r: pb::ListDesignationsRequest) -> Result<Self> {
        let biz_appy_type = match codes::text("biz_appy_type", &r.biz_appy_type, 3)? {
            "" => None,
            code => Some(BizAppyType::parse_field("biz_appy_type", code)?),
        };
        Ok(Self {
            psn_no: psn_no("psn_no", &r.psn_no)?,
            biz_appy_type,
            include_inactive: r.include_inactive,
        })
    }
}

impl From<DesignationView> for pb::Designation {
    fn from(view: DesignationView) -> Self {
        let d = view.designation;
        let revocation = d.revocation.as_ref();
        pb::Designation {
            status: status(revocation).into(),
            revoked_at: time(revocation.map(|r| r.at)),
            revoke_reason: revocation.map(|r| r.reason.clone()).unwrap_or_default(),
            active: view.active,
            trt_dcla_detl_sn: d.id,
            psn_no: d.psn_no.to_string(),
            insuplc_admdvs: d.home.to_string(),
            insutype: d.insutype,
            biz_appy_type: d.biz_appy_type.code().to_owned(),
            fixmedins_code: d.fixmedins_code.to_string(),
            fixmedins_name: d.fixmedins_name,
            fix_srt_no: d.fix_srt_no.to_string(),
            begin_date: d.begin.to_string(),
            end_date: day(d.end),
            tel: d.tel,
            addr: d.addr,
            agent: Some(pb::DesignationAgent {
                name: d.agent.name,
                cert_type: d.agent.cert_type,
                certno: d.agent.certno,
                tel: d.agent.tel,
                addr: d.agent.addr,
                rlts: d.agent.rlts,
            }),
            memo: d.memo,
            filed_by: Some(actor_to_pb(&d.filed_by)),
            filed_at: d.filed_at.to_rfc3339(),
        }
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
    fn designation_requests_are_refused_by_name() {
        let request = |edit: fn(&mut pb::CreateDesignationRequest)| {
            let mut r = pb::CreateDesignationRequest {
                request_id: "H50015500011202603021300010041".into(),
                psn_no: "50015500000000000301".into(),
                insuplc_admdvs: "500155".into(),
                insutype: "310".into(),
                biz_appy_type: "03".into(),
                fixmedins_code: "H50015500011".into(),
                fix_srt_no: "1".into(),
                begin_date: "2026-03-02".into(),
                actor: Some(pb::Actor {
                    id: "H50015500011".into(),
                    channel: pb::Channel::Hospital.into(),
                }),
                ..Default::default()
            };
            edit(&mut r);
            Create::<NewDesignation>::try_from(r)
        };
        let ok = request(|r| r.fix_srt_no = "001".into()).unwrap();
        assert_eq!(
            (ok.new.fix_srt_no, ok.new.end, ok.new.biz_appy_type.code()),
            (Some(1), None, "03")
        );
        assert_eq!(request(|r| r.fix_srt_no = String::new()).unwrap().new.fix_srt_no, None);
        let refused = |edit: fn(&mut pb::CreateDesignationRequest)| {
            let Error::Problem(p) = request(edit).unwrap_err() else { panic!("not a problem") };
            (p.reason.into_owned(), p.field.map(|f| f.into_owned()).unwrap_or_default())
        };
        let pair = |reason: &str, field: &str| (reason.to_owned(), field.to_owned());
        assert_eq!(
            refused(|r| r.biz_appy_type = "77".into()),
            pair("unknown_biz_appy_type", "biz_appy_type")
        );
        assert_eq!(
            refused(|r| r.biz_appy_type = "".into()),
            pair("missing_field", "biz_appy_type")
        );
        assert_eq!(refused(|r| r.fix_srt_no = "0".into()), pair("out_of_range", "fix_srt_no"));
        assert_eq!(refused(|r| r.fix_srt_no = "1000".into()), pair("too_long", "fix_srt_no"));
        assert_eq!(refused(|r| r.fix_srt_no = "a".into()), pair("invalid_code", "fix_srt_no"));
        assert_eq!(
            refused(|r| r.fixmedins_code = "X1".into()),
            pair("invalid_code", "fixmedins_code")
        );
        assert_eq!(refused(|r| r.insutype = "".into()), pair("missing_field", "insutype"));
        assert_eq!(refused(|r| r.end_date = "2026-13-01".into()), pair("invalid_date", "end_date"));
        let listed = ListDesignations::try_from(pb::ListDesignationsRequest {
            psn_no: "P1".into(),
            biz_appy_type: " ".into(),
            include_inactive: false,
        })
        .unwrap();
        assert_eq!(listed.biz_appy_type, None, "no business named: every kind");
        let revoke = RevokeDesignation::try_from(pb::RevokeDesignationRequest {
            psn_no: "P1".into(),
            trt_dcla_detl_sn: "D-1".into(),
            reason: String::new(),
            actor: None,
        });
        assert_eq!(revoke.unwrap_err().reason(), "designation_not_found");
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

    #[test]
    fn revocations_and_chronic_checks_are_refused_by_name() {
        let actor =
            || Some(pb::Actor { id: "agent-1".into(), channel: pb::Channel::Agency.into() });
        let revoke = |reason: &str| {
            Revoke::try_from(pb::RevokeFilingRequest {
                filing_id: " F1 ".into(),
                reason: reason.into(),
                actor: actor(),
            })
        };
        let ok = revoke(" moved back home ").unwrap();
        assert_eq!((ok.id.as_str(), ok.reason.as_str()), ("F1", "moved back home"));
        assert_eq!(revoke("").unwrap().reason, "", "a reason may be left out");
        assert_eq!(revoke(&"因".repeat(500)).unwrap().reason.chars().count(), 500);
        let refused = |reason: &str| {
            let Error::Problem(p) = revoke(reason).unwrap_err() else { panic!("not a problem") };
            (p.reason.into_owned(), p.field.map(|f| f.into_owned()).unwrap_or_default(), p.message)
        };
        let (reason, field, message) = refused("moved\u{0}");
        assert_eq!((reason.as_str(), field.as_str()), ("control_character", "reason"));
        assert_eq!(
            message,
            "reason contains the control character U+0000 at character 5: send text without \
             control characters"
        );
        assert_eq!(refused("a\u{202E}b").0, "control_character");
        assert_eq!(
            refused(&"因".repeat(501)),
            (
                "too_long".to_owned(),
                "reason".to_owned(),
                "reason has 501 characters: at most 500".to_owned()
            )
        );
        let chronic = Revoke::try_from(pb::RevokeChronicFilingRequest {
            filing_id: "C1".into(),
            reason: "x\u{1b}[31m".into(),
            actor: actor(),
        });
        assert_eq!(chronic.unwrap_err().reason(), "control_character");

        let check = |code: &str| {
            ChronicQuery::try_from(pb::CheckChronicFilingRequest {
                psn_no: "P420200001".into(),
                disease_code: code.into(),
                date: "2026-03-02".into(),
            })
        };
        assert_eq!(check(" M00100 ").unwrap().disease_code, "M00100");
        assert_eq!(check("").unwrap().disease_code, "", "matches no filing");
        assert_eq!(check("M0\u{0}").unwrap_err().reason(), "control_character");
        assert_eq!(check(&"M".repeat(31)).unwrap_err().reason(), "too_long");
        assert_eq!(check("M 1").unwrap_err().reason(), "invalid_code");
        let long_date = date("begin_date", &"2".repeat(100_000)).unwrap_err();
        assert_eq!(long_date.reason(), "too_long");
        assert!(long_date.to_string().len() < 100, "{long_date}");
    }

    /// Issue 16: every request filing converts, with each field mutated (empty, up to 100 KB,
    /// NUL and other control characters, bidi overrides, emoji, unknown enum values), converts
    /// without panicking into values that keep the documented patterns, or is refused naming
    /// one of its fields and one of the documented reasons, in a message short enough for a
    /// status header.
    mod properties {
        use medclear_common::codes::is_forbidden_char;
        use proptest::prelude::*;
        use tonic::{Code, Status};

        use super::*;

        /// Cases per property: bounded, so the suite stays fast.
        const CASES: u32 = 256;

        const REASONS: [&str; 9] = [
            "control_character",
            "too_long",
            "invalid_code",
            "invalid_msgid",
            "missing_field",
            "invalid_date",
            "unknown_category",
            "unknown_channel",
            // An id no filing can have is not found (`required_id`), never looked up.
            "filing_not_found",
        ];

        fn precise(e: Error, fields: &[&str]) -> Result<(), TestCaseError> {
            let Error::Problem(p) = &e else {
                return Err(TestCaseError::fail(format!("not a refusal: {e}")));
            };
            prop_assert!(REASONS.contains(&p.reason.as_ref()), "reason {:?}", p.reason);
            let status = Status::from(e);
            prop_assert!(status.message().len() < 400, "a long message");
            match status.code() {
                Code::InvalidArgument => {
                    let field = medclear_common::error::status_field(&status).unwrap_or_default();
                    prop_assert!(fields.contains(&field.as_str()), "field {:?}", field);
                }
                Code::NotFound => {
                    prop_assert_eq!(
                        medclear_common::error::status_reason(&status),
                        "filing_not_found"
                    );
                }
                other => return Err(TestCaseError::fail(format!("answered {other:?}"))),
            }
            Ok(())
        }

        fn clean_text(value: &str, max: usize) -> bool {
            !value.chars().any(is_forbidden_char)
                && value.chars().count() <= max
                && value.trim() == value
        }

        fn clean_code(value: &str, max: usize) -> bool {
            (1..=max).contains(&value.len())
                && value.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_+/".contains(&b))
        }

        fn field(valid: &'static str) -> impl Strategy<Value = String> {
            let controls = vec![
                '\u{0}', '\u{1}', '\u{7}', '\u{9}', '\u{a}', '\u{d}', '\u{1b}', '\u{7f}', '\u{85}',
                '\u{9f}', '\u{200e}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}',
            ];
            prop_oneof![
                14 => Just(valid.to_owned()),
                1 => Just(String::new()),
                2 => Just(format!("  {valid} ")),
                2 => (prop::sample::select(controls), 0usize..40).prop_map(move |(c, at)| {
                    let at = at.min(valid.chars().count());
                    let mut text: String = valid.chars().take(at).collect();
                    text.push(c);
                    text.extend(valid.chars().skip(at));
                    text
                }),
                1 => (1usize..=100_000, prop::sample::select(vec!["9", "F", "名", "🙂", " "]))
                    .prop_map(|(n, unit)| unit.repeat(n)),
                1 => prop::sample::select(vec!["🙂", "a b", "１２３", "\u{feff}x", "null", "-1"])
                    .prop_map(move |odd| format!("{valid}{odd}")),
                1 => ".{0,40}",
            ]
        }

        fn enum_value(valid: Vec<i32>) -> impl Strategy<Value = i32> {
            prop_oneof![
                4 => prop::sample::select(valid),
                1 => prop::sample::select(vec![0, -1, 7, i32::MAX, i32::MIN]),
                1 => any::<i32>(),
            ]
        }

        fn actor() -> impl Strategy<Value = Option<pb::Actor>> {
            (field("H42020000001"), enum_value(vec![1, 2, 3]), 0u8..10)
                .prop_map(|(id, channel, absent)| (absent > 0).then_some(pb::Actor { id, channel }))
        }

        const ACTOR: [&str; 3] = ["actor", "actor.id", "actor.channel"];

        proptest! {
            #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

            #[test]
            fn filings(
                request_id in field("H42020000001202603021200000001"),
                psn_no in field("P420200001"),
                psn_name in field("张三"),
                insuplc_admdvs in field("420200"),
                mdtrtarea_admvs in field("440300"),
                category in enum_value((1..=6).collect()),
                begin_date in field("2026-03-02"),
                end_date in field(""),
                actor in actor(),
                memo in field("转诊"),
            ) {
                let r = pb::CreateFilingRequest {
                    request_id, psn_no, psn_name, insuplc_admdvs, mdtrtarea_admvs, category,
                    begin_date, end_date, actor, memo,
                };
                match Create::try_from(r) {
                    Ok(Create { new, actor, request_id }) => {
                        prop_assert!(clean_code(new.psn_no.as_str(), 30));
                        prop_assert!(clean_text(&new.psn_name, 50));
                        prop_assert!(clean_text(&new.memo, MAX_MEMO));
                        prop_assert!(clean_text(&actor.id, 64) && !actor.id.is_empty());
                        prop_assert!(request_id.is_none_or(|id| clean_code(&id, 64)));
                    }
                    Err(e) => precise(e, &[
                        "request_id", "psn_no", "psn_name", "insuplc_admdvs", "mdtrtarea_admvs",
                        "category", "begin_date", "end_date", "memo", ACTOR[0], ACTOR[1],
                        ACTOR[2],
                    ])?,
                }
            }

            #[test]
            fn chronic_filings(
                request_id in field("R-1"),
                psn_no in field("P420200001"),
                insuplc_admdvs in field("420200"),
                disease_code in field("M00100"),
                diagnosed_by in field("H42020000001"),
                begin_date in field("2026-03-02"),
                end_date in field("2027-03-01"),
                actor in actor(),
                date in field("2026-03-02 08:00:00"),
            ) {
                let r = pb::CreateChronicFilingRequest {
                    request_id, psn_no: psn_no.clone(), insuplc_admdvs,
                    disease_code: disease_code.clone(), diagnosed_by, begin_date, end_date, actor,
                };
                match Create::try_from(r) {
                    Ok(Create { new, .. }) => {
                        prop_assert!(clean_code(&new.disease_code, 30));
                        prop_assert!(clean_code(new.diagnosed_by.as_str(), 12));
                    }
                    Err(e) => precise(e, &[
                        "request_id", "psn_no", "insuplc_admdvs", "disease_code", "diagnosed_by",
                        "begin_date", "end_date", ACTOR[0], ACTOR[1], ACTOR[2],
                    ])?,
                }
                let check = pb::CheckChronicFilingRequest { psn_no, disease_code, date };
                match ChronicQuery::try_from(check) {
                    Ok(q) => prop_assert!(q.disease_code.is_empty() || clean_code(&q.disease_code, 30)),
                    Err(e) => precise(e, &["psn_no", "disease_code", "date"])?,
                }
            }

            #[test]
            fn coverage_checks(
                psn_no in field("P420200001"),
                insuplc_admdvs in field("420200"),
                mdtrtarea_admvs in field("440300"),
                date in field("2026-03-02"),
                emergency in any::<bool>(),
                admission_date in field(""),
            ) {
                let r = pb::CheckCoverageRequest {
                    psn_no, insuplc_admdvs, mdtrtarea_admvs, date, emergency, admission_date,
                };
                match CoverageQuery::try_from(r) {
                    Ok(q) => prop_assert!(clean_code(q.psn_no.as_str(), 30)),
                    Err(e) => precise(e, &[
                        "psn_no", "insuplc_admdvs", "mdtrtarea_admvs", "date", "admission_date",
                    ])?,
                }
            }

            #[test]
            fn revocations(
                filing_id in field("F0123456789ABCDEF0123"),
                reason in field("回参保地就医"),
                actor in actor(),
                chronic in any::<bool>(),
            ) {
                let revoke = if chronic {
                    Revoke::try_from(pb::RevokeChronicFilingRequest { filing_id, reason, actor })
                } else {
                    Revoke::try_from(pb::RevokeFilingRequest { filing_id, reason, actor })
                };
                match revoke {
                    Ok(r) => {
                        prop_assert!(!r.id.is_empty() && r.id.len() <= 64);
                        prop_assert!(r.id.bytes().all(|b| b.is_ascii_alphanumeric()));
                        prop_assert!(clean_text(&r.reason, MAX_REASON));
                    }
                    Err(e) => precise(e, &["filing_id", "reason", ACTOR[0], ACTOR[1], ACTOR[2]])?,
                }
            }
        }
    }
}
