//! `/api/v1/catalog/…`: catalogue queries, fee-line resolution, and hospitals' mapping upload
//! (3301) and revocation (3302), as JSON in front of the catalogue service's gRPC API.

use axum::{
    Json,
    extract::{Path, State},
};
use medclear_proto::{catalog::v1 as pb, names};
use serde::{Deserialize, Serialize};

use axum::Router;

use super::{
    AppState,
    error::ApiError,
    json::{Body, Params, flag, text},
};
use crate::{access::Target, caller::Caller};

type Answer<T> = Result<Json<T>, ApiError>;

fn some(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

#[derive(Debug, Serialize)]
pub struct ItemJson {
    code: String,
    kind: &'static str,
    name: String,
    spec: String,
    unit: String,
    begin_date: String,
    end_date: Option<String>,
    ver: i64,
}

impl From<pb::Item> for ItemJson {
    fn from(i: pb::Item) -> Self {
        Self {
            kind: names::name_of_i32::<pb::ItemKind>(i.kind),
            code: i.code,
            name: i.name,
            spec: i.spec,
            unit: i.unit,
            begin_date: i.begin_date,
            end_date: some(i.end_date),
            ver: i.ver,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CoverageJson {
    id: i64,
    scope: String,
    code: String,
    class: &'static str,
    selfpay_ratio: String,
    selfpay_ratio_by_insutype: std::collections::BTreeMap<String, String>,
    price_cap_fen: Option<i64>,
    hospital_levels: Vec<String>,
    diagnosis_prefixes: Vec<String>,
    min_age: Option<u32>,
    max_age: Option<u32>,
    begin_date: String,
    end_date: Option<String>,
    ver: i64,
}

impl From<pb::Coverage> for CoverageJson {
    fn from(c: pb::Coverage) -> Self {
        Self {
            class: names::name_of_i32::<pb::CoverageClass>(c.class),
            id: c.id,
            scope: c.scope,
            code: c.code,
            selfpay_ratio: c.selfpay_ratio,
            selfpay_ratio_by_insutype: c.selfpay_ratio_by_insutype.into_iter().collect(),
            price_cap_fen: c.price_cap_fen,
            hospital_levels: c.hospital_levels,
            diagnosis_prefixes: c.diagnosis_prefixes,
            min_age: c.min_age,
            max_age: c.max_age,
            begin_date: c.begin_date,
            end_date: some(c.end_date),
            ver: c.ver,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MappingJson {
    #[serde(default, skip_deserializing)]
    id: i64,
    #[serde(default, skip_deserializing)]
    fixmedins_code: String,
    #[serde(default, deserialize_with = "text")]
    local_code: String,
    #[serde(default, deserialize_with = "text")]
    local_name: String,
    #[serde(default, deserialize_with = "text")]
    national_code: String,
    #[serde(default, deserialize_with = "text")]
    begin_date: String,
    #[serde(default, skip_deserializing)]
    end_date: Option<String>,
    #[serde(default, skip_deserializing)]
    revoked: bool,
    #[serde(default, skip_deserializing)]
    ver: i64,
}

impl From<pb::Mapping> for MappingJson {
    fn from(m: pb::Mapping) -> Self {
        Self {
            id: m.id,
            fixmedins_code: m.fixmedins_code,
            local_code: m.local_code,
            local_name: m.local_name,
            national_code: m.national_code,
            begin_date: m.begin_date,
            end_date: some(m.end_date),
            revoked: m.revoked,
            ver: m.ver,
        }
    }
}

pub async fn get_item(State(state): State<AppState>, Path(code): Path<String>) -> Answer<ItemJson> {
    let item = state.catalog().get_item(pb::GetItemRequest { code }).await?.into_inner();
    Ok(Json(item.into()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CoverageQuery {
    #[serde(deserialize_with = "text")]
    code: String,
    #[serde(deserialize_with = "text")]
    mdtrtarea_admvs: String,
    #[serde(deserialize_with = "text")]
    date: String,
}

#[derive(Debug, Serialize)]
pub struct CoverageAnswer {
    /// `null`: no rule covers the item there, so it is out of scope (丙).
    coverage: Option<CoverageJson>,
}

pub async fn get_coverage(
    State(state): State<AppState>,
    Params(q): Params<CoverageQuery>,
) -> Answer<CoverageAnswer> {
    let request =
        pb::GetCoverageRequest { code: q.code, mdtrtarea_admvs: q.mdtrtarea_admvs, date: q.date };
    let answer = state.catalog().get_coverage(request).await?.into_inner();
    Ok(Json(CoverageAnswer { coverage: answer.coverage.map(Into::into) }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LineJson {
    #[serde(deserialize_with = "text")]
    line_no: String,
    #[serde(deserialize_with = "text")]
    local_code: String,
    #[serde(deserialize_with = "text")]
    national_code: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResolveBody {
    #[serde(deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(deserialize_with = "text")]
    mdtrtarea_admvs: String,
    #[serde(deserialize_with = "text")]
    date: String,
    #[serde(deserialize_with = "text")]
    hospital_level: String,
    #[serde(deserialize_with = "text")]
    diagnosis_code: String,
    patient_age: Option<u32>,
    #[serde(deserialize_with = "text")]
    insutype: String,
    lines: Vec<LineJson>,
}

#[derive(Debug, Serialize)]
pub struct LineAnswer {
    line_no: String,
    national_code: Option<String>,
    name: Option<String>,
    kind: Option<&'static str>,
    class: Option<&'static str>,
    selfpay_ratio: Option<String>,
    price_cap_fen: Option<i64>,
    restriction: Option<&'static str>,
    coverage_scope: Option<String>,
    error: Option<LineErrorJson>,
}

#[derive(Debug, Serialize)]
pub struct LineErrorJson {
    reason: String,
    message: String,
}

#[derive(Debug, Serialize)]
pub struct ResolveAnswer {
    ver: i64,
    lines: Vec<LineAnswer>,
}

pub async fn resolve(
    State(state): State<AppState>,
    Body(body): Body<ResolveBody>,
) -> Answer<ResolveAnswer> {
    let request = pb::ResolveLinesRequest {
        fixmedins_code: body.fixmedins_code,
        mdtrtarea_admvs: body.mdtrtarea_admvs,
        date: body.date,
        hospital_level: body.hospital_level,
        diagnosis_code: body.diagnosis_code,
        patient_age: body.patient_age,
        insutype: body.insutype,
        lines: body
            .lines
            .into_iter()
            .map(|l| pb::LineInput {
                line_no: l.line_no,
                local_code: l.local_code,
                national_code: l.national_code,
                // Every line on the request's date, for the request's patient.
                date: String::new(),
                patient_age: None,
            })
            .collect(),
    };
    let answer = state.catalog().resolve_lines(request).await?.into_inner();
    let lines = answer
        .lines
        .into_iter()
        .map(|line| {
            let mut out = LineAnswer {
                line_no: line.line_no,
                national_code: None,
                name: None,
                kind: None,
                class: None,
                selfpay_ratio: None,
                price_cap_fen: None,
                restriction: None,
                coverage_scope: None,
                error: None,
            };
            match line.outcome {
                Some(pb::line_result::Outcome::Resolved(r)) => {
                    out.kind = Some(names::name_of_i32::<pb::ItemKind>(r.kind));
                    out.class = Some(names::name_of_i32::<pb::CoverageClass>(r.class));
                    // An outcome left out means the item has no restriction.
                    out.restriction = Some(names::name(match r.restriction() {
                        pb::RestrictionOutcome::Unspecified => pb::RestrictionOutcome::None,
                        outcome => outcome,
                    }));
                    out.national_code = Some(r.national_code);
                    out.name = Some(r.name);
                    out.selfpay_ratio = Some(r.selfpay_ratio);
                    out.price_cap_fen = r.price_cap_fen;
                    out.coverage_scope = Some(r.coverage_scope);
                }
                Some(pb::line_result::Outcome::Error(e)) => {
                    out.error = Some(LineErrorJson { reason: e.reason, message: e.message });
                }
                None => {}
            }
            out
        })
        .collect();
    Ok(Json(ResolveAnswer { ver: answer.ver, lines }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UploadBody {
    #[serde(deserialize_with = "text")]
    msgid: String,
    #[serde(deserialize_with = "text")]
    fixmedins_code: String,
    mappings: Vec<MappingJson>,
}

#[derive(Debug, Serialize)]
pub struct OutcomeJson {
    index: u32,
    accepted: bool,
    reason: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct UploadAnswer {
    ver: i64,
    outcomes: Vec<OutcomeJson>,
}

pub async fn upload_mappings(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<UploadBody>,
) -> Answer<UploadAnswer> {
    caller.may(Target::Institution(&body.fixmedins_code))?;
    let request = pb::UploadMappingsRequest {
        msgid: body.msgid,
        fixmedins_code: body.fixmedins_code,
        mappings: body
            .mappings
            .into_iter()
            .map(|m| pb::Mapping {
                local_code: m.local_code,
                local_name: m.local_name,
                national_code: m.national_code,
                begin_date: m.begin_date,
                ..Default::default()
            })
            .collect(),
    };
    let answer = state.catalog().upload_mappings(request).await?.into_inner();
    Ok(Json(UploadAnswer {
        ver: answer.ver,
        outcomes: answer
            .outcomes
            .into_iter()
            .map(|o| OutcomeJson {
                index: o.index,
                accepted: o.accepted,
                reason: some(o.reason),
                message: some(o.message),
            })
            .collect(),
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RevokeBody {
    #[serde(deserialize_with = "text")]
    msgid: String,
    #[serde(deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(deserialize_with = "text")]
    local_code: String,
}

pub async fn revoke_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<RevokeBody>,
) -> Answer<MappingJson> {
    caller.may(Target::Institution(&body.fixmedins_code))?;
    let request = pb::RevokeMappingRequest {
        msgid: body.msgid,
        fixmedins_code: body.fixmedins_code,
        local_code: body.local_code,
    };
    let answer = state.catalog().revoke_mapping(request).await?.into_inner();
    let mapping = answer
        .mapping
        .ok_or_else(|| ApiError::from(tonic::Status::internal("no mapping in the answer")))?;
    Ok(Json(mapping.into()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MappingsQuery {
    #[serde(deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(deserialize_with = "flag")]
    include_revoked: bool,
}

#[derive(Debug, Serialize)]
pub struct MappingList {
    mappings: Vec<MappingJson>,
}

pub async fn list_mappings(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<MappingsQuery>,
) -> Answer<MappingList> {
    caller.may(Target::Institution(&q.fixmedins_code))?;
    let request = pb::ListMappingsRequest {
        fixmedins_code: q.fixmedins_code,
        include_revoked: q.include_revoked,
    };
    let answer = state.catalog().list_mappings(request).await?.into_inner();
    Ok(Json(MappingList { mappings: answer.mappings.into_iter().map(Into::into).collect() }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChangesQuery {
    #[serde(deserialize_with = "text")]
    since_ver: String,
    #[serde(deserialize_with = "text")]
    limit: String,
    #[serde(deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(deserialize_with = "text")]
    page_token: String,
}

#[derive(Debug, Serialize)]
pub struct ChangesAnswer {
    items: Vec<ItemJson>,
    coverage: Vec<CoverageJson>,
    mappings: Vec<MappingJson>,
    next_since_ver: i64,
    has_more: bool,
    next_page_token: Option<String>,
    current_ver: i64,
}

fn number<T: std::str::FromStr + Default>(field: &str, text: &str) -> Result<T, ApiError> {
    if text.trim().is_empty() {
        return Ok(T::default());
    }
    text.trim().parse().map_err(|_| {
        ApiError::invalid(
            field,
            "invalid_number",
            format!("{field} {text:?} is not a whole number"),
        )
    })
}

pub async fn list_changes(
    State(state): State<AppState>,
    Params(q): Params<ChangesQuery>,
) -> Answer<ChangesAnswer> {
    let request = pb::ListChangesRequest {
        since_ver: number("since_ver", &q.since_ver)?,
        limit: number("limit", &q.limit)?,
        fixmedins_code: q.fixmedins_code,
        page_token: q.page_token,
    };
    let answer = state.catalog().list_changes(request).await?.into_inner();
    Ok(Json(ChangesAnswer {
        items: answer.items.into_iter().map(Into::into).collect(),
        coverage: answer.coverage.into_iter().map(Into::into).collect(),
        mappings: answer.mappings.into_iter().map(Into::into).collect(),
        next_since_ver: answer.next_since_ver,
        has_more: answer.has_more,
        next_page_token: some(answer.next_page_token),
        current_ver: answer.current_ver,
    }))
}

/// The catalog area's routes.
pub fn router() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/api/v1/catalog/items/{code}", get(get_item))
        .route("/api/v1/catalog/coverage", get(get_coverage))
        .route("/api/v1/catalog/resolve", post(resolve))
        .route("/api/v1/catalog/mappings", post(upload_mappings).get(list_mappings))
        .route("/api/v1/catalog/mappings/revoke", post(revoke_mapping))
        .route("/api/v1/catalog/changes", get(list_changes))
}
