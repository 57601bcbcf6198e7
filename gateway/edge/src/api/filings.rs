//! `/api/v1/filings…`, `/api/v1/chronic-filings…`, coverage, regions and region rules: JSON in
//! front of the filing service's gRPC API.
//!
//! Until hospital and citizen credentials arrive (mTLS and sign-in), the body says through
//! which `channel` a change is made and by which `operator`; a citizen filing online defaults to
//! acting as itself.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
};
use medclear_common::codes::{self, MessageId};
use medclear_proto::{filing::v1 as pb, names};
use serde::{Deserialize, Serialize};

use axum::Router;

use super::{
    AppState,
    error::ApiError,
    json::{Body, Params, flag, path_id, text},
};
use crate::{access::Target, caller::Caller};

type Answer<T> = Result<Json<T>, ApiError>;

fn category_from(text: &str) -> Result<pb::Category, ApiError> {
    let text = text.trim();
    names::parse(text).ok_or_else(|| {
        ApiError::invalid(
            "category",
            "unknown_category",
            format!(
                "category {} is not one of {}",
                codes::shown(text),
                names::word_list::<pb::Category>()
            ),
        )
    })
}

/// A blank channel is a citizen filing online.
fn channel_from(text: &str) -> Result<pb::Channel, ApiError> {
    let text = text.trim();
    match names::parse(text) {
        Some(pb::Channel::Unspecified) => Ok(pb::Channel::CitizenOnline),
        Some(channel) => Ok(channel),
        None => Err(ApiError::invalid(
            "channel",
            "unknown_channel",
            format!(
                "channel {} is not one of {}",
                codes::shown(text),
                names::word_list::<pb::Channel>()
            ),
        )),
    }
}

/// Who acts: `operator` in the body, or for a citizen filing online, the person themselves.
fn actor(channel: &str, operator: &str, psn_no: &str) -> Result<pb::Actor, ApiError> {
    let channel = channel_from(channel)?;
    let id = match operator.trim() {
        "" if channel == pb::Channel::CitizenOnline => psn_no.trim(),
        id => id,
    };
    Ok(pb::Actor { id: id.to_owned(), channel: channel.into() })
}

fn none_if_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// The sender's message id: the body's `request_id`, else an `Idempotency-Key` header; either
/// a [`MessageId`] (1 to 64 ASCII letters, digits and `. _ : -`), or none.
fn request_id(body: String, headers: &HeaderMap) -> Result<String, ApiError> {
    if !body.trim().is_empty() {
        return Ok(MessageId::parse_field("request_id", &body)?.to_string());
    }
    match headers.get("idempotency-key") {
        None => Ok(String::new()),
        Some(value) => {
            let value = value.to_str().map_err(|_| {
                ApiError::invalid(
                    "Idempotency-Key",
                    "invalid_msgid",
                    "the Idempotency-Key header is not ASCII text",
                )
            })?;
            Ok(MessageId::parse_field("Idempotency-Key", value)?.to_string())
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ActorJson {
    id: String,
    channel: &'static str,
}

fn actor_json(actor: Option<pb::Actor>) -> ActorJson {
    let actor = actor.unwrap_or_default();
    ActorJson { id: actor.id, channel: names::name_of_i32::<pb::Channel>(actor.channel) }
}

#[derive(Debug, Serialize)]
pub struct FilingJson {
    filing_id: String,
    psn_no: String,
    psn_name: String,
    insuplc_admdvs: String,
    mdtrtarea_admvs: String,
    category: &'static str,
    long_term: bool,
    begin_date: String,
    end_date: Option<String>,
    status: &'static str,
    filed_by: ActorJson,
    filed_at: String,
    revoked_at: Option<String>,
    revoke_reason: Option<String>,
    memo: String,
    revocable_from: Option<String>,
}

impl From<pb::Filing> for FilingJson {
    fn from(f: pb::Filing) -> Self {
        let category = pb::Category::try_from(f.category).unwrap_or(pb::Category::Unspecified);
        Self {
            category: names::name_of_i32::<pb::Category>(f.category),
            long_term: matches!(
                category,
                pb::Category::RetireeResettled
                    | pb::Category::LongTermResident
                    | pb::Category::StationedWorker
            ),
            status: names::name_of_i32::<pb::FilingStatus>(f.status),
            filed_by: actor_json(f.filed_by),
            end_date: none_if_empty(f.end_date),
            revoked_at: none_if_empty(f.revoked_at),
            revoke_reason: none_if_empty(f.revoke_reason),
            revocable_from: none_if_empty(f.revocable_from),
            filing_id: f.filing_id,
            psn_no: f.psn_no,
            psn_name: f.psn_name,
            insuplc_admdvs: f.insuplc_admdvs,
            mdtrtarea_admvs: f.mdtrtarea_admvs,
            begin_date: f.begin_date,
            filed_at: f.filed_at,
            memo: f.memo,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateFilingBody {
    #[serde(deserialize_with = "text")]
    request_id: String,
    #[serde(deserialize_with = "text")]
    psn_no: String,
    #[serde(deserialize_with = "text")]
    psn_name: String,
    #[serde(deserialize_with = "text")]
    insuplc_admdvs: String,
    #[serde(deserialize_with = "text")]
    mdtrtarea_admvs: String,
    #[serde(deserialize_with = "text")]
    category: String,
    #[serde(deserialize_with = "text")]
    begin_date: String,
    #[serde(deserialize_with = "text")]
    end_date: String,
    #[serde(deserialize_with = "text")]
    memo: String,
    #[serde(deserialize_with = "text")]
    channel: String,
    #[serde(deserialize_with = "text")]
    operator: String,
}

pub async fn create_filing(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Body(mut body): Body<CreateFilingBody>,
) -> Result<(StatusCode, Json<FilingJson>), ApiError> {
    body.psn_no = codes::psn_no("psn_no", &body.psn_no)?.to_string();
    caller.may_for_person(&body.psn_no, &body.insuplc_admdvs)?;
    let request = pb::CreateFilingRequest {
        category: category_from(&body.category)?.into(),
        actor: Some(actor(&body.channel, &body.operator, &body.psn_no)?),
        request_id: request_id(body.request_id, &headers)?,
        psn_no: body.psn_no,
        psn_name: body.psn_name,
        insuplc_admdvs: body.insuplc_admdvs,
        mdtrtarea_admvs: body.mdtrtarea_admvs,
        begin_date: body.begin_date,
        end_date: body.end_date,
        memo: body.memo,
    };
    let filing = state.filing().create_filing(request).await?.into_inner();
    Ok((StatusCode::CREATED, Json(filing.into())))
}

pub async fn get_filing(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer<FilingJson> {
    let id = path_id("filing_id", &id)?;
    let filing = state.filing().get_filing(pb::GetFilingRequest { filing_id: id }).await?;
    let filing = filing.into_inner();
    caller.may_for_person(&filing.psn_no, &filing.insuplc_admdvs)?;
    Ok(Json(filing.into()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    #[serde(deserialize_with = "text")]
    psn_no: String,
    #[serde(deserialize_with = "flag")]
    include_revoked: bool,
}

#[derive(Debug, Serialize)]
pub struct FilingList {
    filings: Vec<FilingJson>,
}

pub async fn list_filings(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<ListQuery>,
) -> Answer<FilingList> {
    caller.may_for_person(&q.psn_no, "")?;
    let request = pb::ListFilingsRequest { psn_no: q.psn_no, include_revoked: q.include_revoked };
    let list = state.filing().list_filings(request).await?.into_inner();
    Ok(Json(FilingList { filings: list.filings.into_iter().map(Into::into).collect() }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RevokeBody {
    #[serde(deserialize_with = "text")]
    reason: String,
    #[serde(deserialize_with = "text")]
    channel: String,
    #[serde(deserialize_with = "text")]
    operator: String,
}

pub async fn revoke_filing(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<RevokeBody>,
) -> Answer<FilingJson> {
    let id = path_id("filing_id", &id)?;
    codes::text("reason", &body.reason, 500)?;
    let filing = state.filing().get_filing(pb::GetFilingRequest { filing_id: id.clone() }).await?;
    let filing = filing.into_inner();
    caller.may_for_person(&filing.psn_no, &filing.insuplc_admdvs)?;
    let request = pb::RevokeFilingRequest {
        filing_id: id,
        reason: body.reason,
        actor: Some(actor(&body.channel, &body.operator, "")?),
    };
    Ok(Json(state.filing().revoke_filing(request).await?.into_inner().into()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CoverageQueryJson {
    #[serde(deserialize_with = "text")]
    psn_no: String,
    #[serde(deserialize_with = "text")]
    insuplc_admdvs: String,
    #[serde(deserialize_with = "text")]
    mdtrtarea_admvs: String,
    #[serde(deserialize_with = "text")]
    date: String,
    #[serde(deserialize_with = "flag")]
    emergency: bool,
    #[serde(deserialize_with = "text")]
    admission_date: String,
}

#[derive(Debug, Serialize)]
pub struct CoverageJson {
    covered: bool,
    basis: Option<&'static str>,
    category: Option<&'static str>,
    filing_id: Option<String>,
    reason: Option<String>,
    message: Option<String>,
}

pub async fn check_coverage(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<CoverageQueryJson>,
) -> Answer<CoverageJson> {
    caller.registry_reader()?;
    let request = pb::CheckCoverageRequest {
        psn_no: q.psn_no,
        insuplc_admdvs: q.insuplc_admdvs,
        mdtrtarea_admvs: q.mdtrtarea_admvs,
        date: q.date,
        emergency: q.emergency,
        admission_date: q.admission_date,
    };
    let r = state.filing().check_coverage(request).await?.into_inner();
    Ok(Json(CoverageJson {
        covered: r.covered,
        basis: Some(names::name_of_i32::<pb::CoverageBasis>(r.basis)).filter(|b| !b.is_empty()),
        category: Some(names::name_of_i32::<pb::Category>(r.category)).filter(|c| !c.is_empty()),
        filing_id: none_if_empty(r.filing_id),
        reason: none_if_empty(r.reason),
        message: none_if_empty(r.message),
    }))
}

#[derive(Debug, Serialize)]
pub struct ChronicFilingJson {
    filing_id: String,
    psn_no: String,
    insuplc_admdvs: String,
    disease_code: String,
    disease_name: String,
    diagnosed_by: String,
    begin_date: String,
    end_date: Option<String>,
    status: &'static str,
    filed_by: ActorJson,
    filed_at: String,
    revoked_at: Option<String>,
    revoke_reason: Option<String>,
}

impl From<pb::ChronicFiling> for ChronicFilingJson {
    fn from(f: pb::ChronicFiling) -> Self {
        Self {
            status: names::name_of_i32::<pb::FilingStatus>(f.status),
            filed_by: actor_json(f.filed_by),
            end_date: none_if_empty(f.end_date),
            revoked_at: none_if_empty(f.revoked_at),
            revoke_reason: none_if_empty(f.revoke_reason),
            filing_id: f.filing_id,
            psn_no: f.psn_no,
            insuplc_admdvs: f.insuplc_admdvs,
            disease_code: f.disease_code,
            disease_name: f.disease_name,
            diagnosed_by: f.diagnosed_by,
            begin_date: f.begin_date,
            filed_at: f.filed_at,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateChronicBody {
    #[serde(deserialize_with = "text")]
    request_id: String,
    #[serde(deserialize_with = "text")]
    psn_no: String,
    #[serde(deserialize_with = "text")]
    insuplc_admdvs: String,
    #[serde(deserialize_with = "text")]
    disease_code: String,
    #[serde(deserialize_with = "text")]
    diagnosed_by: String,
    #[serde(deserialize_with = "text")]
    begin_date: String,
    #[serde(deserialize_with = "text")]
    end_date: String,
    #[serde(deserialize_with = "text")]
    channel: String,
    #[serde(deserialize_with = "text")]
    operator: String,
}

pub async fn create_chronic_filing(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Body(mut body): Body<CreateChronicBody>,
) -> Result<(StatusCode, Json<ChronicFilingJson>), ApiError> {
    body.psn_no = codes::psn_no("psn_no", &body.psn_no)?.to_string();
    caller.may_for_person(&body.psn_no, &body.insuplc_admdvs)?;
    let request = pb::CreateChronicFilingRequest {
        actor: Some(actor(&body.channel, &body.operator, &body.psn_no)?),
        request_id: request_id(body.request_id, &headers)?,
        psn_no: body.psn_no,
        insuplc_admdvs: body.insuplc_admdvs,
        disease_code: body.disease_code,
        diagnosed_by: body.diagnosed_by,
        begin_date: body.begin_date,
        end_date: body.end_date,
    };
    let filing = state.filing().create_chronic_filing(request).await?.into_inner();
    Ok((StatusCode::CREATED, Json(filing.into())))
}

pub async fn get_chronic_filing(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer<ChronicFilingJson> {
    let id = path_id("filing_id", &id)?;
    let filing = state.filing().get_chronic_filing(pb::GetFilingRequest { filing_id: id }).await?;
    let filing = filing.into_inner();
    caller.may_for_person(&filing.psn_no, &filing.insuplc_admdvs)?;
    Ok(Json(filing.into()))
}

#[derive(Debug, Serialize)]
pub struct ChronicList {
    filings: Vec<ChronicFilingJson>,
}

pub async fn list_chronic_filings(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<ListQuery>,
) -> Answer<ChronicList> {
    caller.may_for_person(&q.psn_no, "")?;
    let request =
        pb::ListChronicFilingsRequest { psn_no: q.psn_no, include_revoked: q.include_revoked };
    let list = state.filing().list_chronic_filings(request).await?.into_inner();
    Ok(Json(ChronicList { filings: list.filings.into_iter().map(Into::into).collect() }))
}

pub async fn revoke_chronic_filing(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<RevokeBody>,
) -> Answer<ChronicFilingJson> {
    let id = path_id("filing_id", &id)?;
    codes::text("reason", &body.reason, 500)?;
    let filing =
        state.filing().get_chronic_filing(pb::GetFilingRequest { filing_id: id.clone() }).await?;
    let filing = filing.into_inner();
    caller.may_for_person(&filing.psn_no, &filing.insuplc_admdvs)?;
    let request = pb::RevokeChronicFilingRequest {
        filing_id: id,
        reason: body.reason,
        actor: Some(actor(&body.channel, &body.operator, "")?),
    };
    Ok(Json(state.filing().revoke_chronic_filing(request).await?.into_inner().into()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChronicCheckQuery {
    #[serde(deserialize_with = "text")]
    psn_no: String,
    #[serde(deserialize_with = "text")]
    disease_code: String,
    #[serde(deserialize_with = "text")]
    date: String,
}

#[derive(Debug, Serialize)]
pub struct ChronicCheckJson {
    covered: bool,
    filing_id: Option<String>,
    reason: Option<String>,
    message: Option<String>,
}

pub async fn check_chronic_filing(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<ChronicCheckQuery>,
) -> Answer<ChronicCheckJson> {
    caller.registry_reader()?;
    let request = pb::CheckChronicFilingRequest {
        psn_no: q.psn_no,
        disease_code: q.disease_code,
        date: q.date,
    };
    let r = state.filing().check_chronic_filing(request).await?.into_inner();
    Ok(Json(ChronicCheckJson {
        covered: r.covered,
        filing_id: none_if_empty(r.filing_id),
        reason: none_if_empty(r.reason),
        message: none_if_empty(r.message),
    }))
}

#[derive(Debug, Serialize)]
pub struct DiseaseList {
    diseases: Vec<DiseaseJson>,
}

#[derive(Debug, Serialize)]
pub struct DiseaseJson {
    code: String,
    name: String,
}

pub async fn list_chronic_diseases(State(state): State<AppState>) -> Answer<DiseaseList> {
    let list =
        state.filing().list_chronic_diseases(pb::ListChronicDiseasesRequest {}).await?.into_inner();
    Ok(Json(DiseaseList {
        diseases: list
            .diseases
            .into_iter()
            .map(|d| DiseaseJson { code: d.code, name: d.name })
            .collect(),
    }))
}

#[derive(Debug, Serialize)]
pub struct RegionList {
    regions: Vec<RegionJson>,
}

#[derive(Debug, Serialize)]
pub struct RegionJson {
    admdvs: String,
    name_zh: String,
    name_en: String,
    level: String,
}

pub async fn list_regions(State(state): State<AppState>) -> Answer<RegionList> {
    let list = state.filing().list_regions(pb::ListRegionsRequest {}).await?.into_inner();
    Ok(Json(RegionList {
        regions: list
            .regions
            .into_iter()
            .map(|r| RegionJson {
                admdvs: r.admdvs,
                name_zh: r.name_zh,
                name_en: r.name_en,
                level: r.level,
            })
            .collect(),
    }))
}

/// A home region's filing rules; in a request, absent fields are not overridden.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RulesJson {
    insuplc_admdvs: String,
    temporary_min_validity_months: Option<u32>,
    long_term_revoke_lock_months: Option<u32>,
    emergency_counts_as_filed: Option<bool>,
    late_filing_allowed: Option<bool>,
    max_backdate_days: Option<u32>,
    max_advance_days: Option<u32>,
    #[serde(skip_serializing, deserialize_with = "text")]
    operator: String,
}

impl From<pb::RegionRules> for RulesJson {
    fn from(r: pb::RegionRules) -> Self {
        Self {
            insuplc_admdvs: r.insuplc_admdvs,
            temporary_min_validity_months: r.temporary_min_validity_months,
            long_term_revoke_lock_months: r.long_term_revoke_lock_months,
            emergency_counts_as_filed: r.emergency_counts_as_filed,
            late_filing_allowed: r.late_filing_allowed,
            max_backdate_days: r.max_backdate_days,
            max_advance_days: r.max_advance_days,
            operator: String::new(),
        }
    }
}

pub async fn get_region_rules(
    State(state): State<AppState>,
    Path(admdvs): Path<String>,
) -> Answer<RulesJson> {
    let admdvs = codes::admdvs("admdvs", &admdvs)?.to_string();
    let rules = state
        .filing()
        .get_region_rules(pb::GetRegionRulesRequest { insuplc_admdvs: admdvs })
        .await?;
    Ok(Json(rules.into_inner().into()))
}

pub async fn set_region_rules(
    State(state): State<AppState>,
    caller: Caller,
    Path(admdvs): Path<String>,
    Body(body): Body<RulesJson>,
) -> Answer<RulesJson> {
    let admdvs = codes::admdvs("admdvs", &admdvs)?.to_string();
    caller.may(Target::Province(&admdvs))?;
    let request = pb::SetRegionRulesRequest {
        actor: Some(actor("agency", &body.operator, "")?),
        rules: Some(pb::RegionRules {
            insuplc_admdvs: admdvs,
            temporary_min_validity_months: body.temporary_min_validity_months,
            long_term_revoke_lock_months: body.long_term_revoke_lock_months,
            emergency_counts_as_filed: body.emergency_counts_as_filed,
            late_filing_allowed: body.late_filing_allowed,
            max_backdate_days: body.max_backdate_days,
            max_advance_days: body.max_advance_days,
        }),
    };
    Ok(Json(state.filing().set_region_rules(request).await?.into_inner().into()))
}

/// The filings area's routes.
pub fn router() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/api/v1/filings", post(create_filing).get(list_filings))
        .route("/api/v1/filings/{filing_id}", get(get_filing))
        .route("/api/v1/filings/{filing_id}/revoke", post(revoke_filing))
        .route("/api/v1/coverage", get(check_coverage))
        .route("/api/v1/chronic-filings", post(create_chronic_filing).get(list_chronic_filings))
        .route("/api/v1/chronic-filings/check", get(check_chronic_filing))
        .route("/api/v1/chronic-filings/{filing_id}", get(get_chronic_filing))
        .route("/api/v1/chronic-filings/{filing_id}/revoke", post(revoke_chronic_filing))
        .route("/api/v1/chronic-diseases", get(list_chronic_diseases))
        .route("/api/v1/regions", get(list_regions))
        .route("/api/v1/region-rules/{admdvs}", get(get_region_rules).put(set_region_rules))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_channels_read_as_words() {
        assert_eq!(category_from(" long_term_resident ").unwrap(), pb::Category::LongTermResident);
        assert_eq!(category_from("").unwrap(), pb::Category::Unspecified);
        assert_eq!(
            category_from("tourist").unwrap_err().message,
            "category \"tourist\" is not one of retiree_resettled, long_term_resident, \
             stationed_worker, referral, emergency, other_temporary"
        );
        assert_eq!(channel_from("").unwrap(), pb::Channel::CitizenOnline);
        assert_eq!(channel_from("hospital").unwrap(), pb::Channel::Hospital);
        assert_eq!(
            channel_from("Agency").unwrap_err().message,
            "channel \"Agency\" is not one of citizen_online, hospital, agency"
        );
    }

    #[test]
    fn filings_answer_with_words() {
        let filing = pb::Filing {
            category: pb::Category::StationedWorker.into(),
            status: pb::FilingStatus::Revoked.into(),
            filed_by: Some(pb::Actor { id: "H1".into(), channel: pb::Channel::Agency.into() }),
            ..pb::Filing::default()
        };
        let json = serde_json::to_value(FilingJson::from(filing)).unwrap();
        assert_eq!(json["category"], "stationed_worker");
        assert_eq!(json["long_term"], true);
        assert_eq!(json["status"], "revoked");
        assert_eq!(json["filed_by"]["channel"], "agency");
    }
}
