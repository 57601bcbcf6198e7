//! `/api/v1/policies/…`: home-region benefit policies as the bureaus publish them (DESIGN.md
//! §4.3), as JSON in front of the routing service's policy calls — check a document, keep it as
//! a draft, preview what it would change over a month of settlements, publish it; list, read
//! and resolve versions.
//!
//! A document is the JSON object the routing service reads (its `region`, `insutype`, and
//! `"kind": "floors"` for a province's floors); its text is passed on exactly as sent, since
//! its id is the hash of its content. Who may do what is [`crate::access::policy_access`]: a
//! province's bureau acts on its own regions' policies, the national operator on the national
//! default (`000000`) and the provinces' floors; operators read their own regions' documents
//! and every national one.
//!
//! Routing may be partitioned by home province. A region's documents live on its province's
//! instance. National documents live on every instance: drafted on the default one and, when
//! published, copied to each other one and published there too (an id is the content's hash,
//! the same everywhere; a publication that failed half-way is completed by publishing again).
//! A national document's preview runs on every instance and is added up.
//!
//! The functions under the handlers are the pages' too (`medclear-pages`), so a page acts
//! under exactly the same rule.

use std::collections::HashSet;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use medclear_common::{codes, money::fen_to_yuan, telemetry::Traced};
use medclear_proto::routing::v1::{self as pb, routing_service_client::RoutingServiceClient};
use serde::{Deserialize, Serialize};
use serde_json::{Value, value::RawValue};
use tonic::Code;

use crate::{
    access::{PolicyScope, Principal, policy_access},
    caller::Caller,
};

use super::{
    AppState,
    error::ApiError,
    json::{BodyText, MaybeBody, Params, flag, path_id, text},
};

type Answer<T> = Result<Json<T>, ApiError>;

/// The national default's region.
pub const NATIONAL_REGION: &str = "000000";

// ---------------------------------------------------------------------------------------------
// What a document is about, who acts, and where it lives
// ---------------------------------------------------------------------------------------------

/// What a document is about, as read from it (or from a stored version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A region's own policy (`kind` "policy").
    Region(String),
    /// The national default (`000000`) or a province's floors (`kind` "floors").
    National,
    /// No region can be read from it: the routing service refuses such a document by its
    /// field, and only an operator gets that far.
    Unknown,
}

/// The fields of a document that say where it belongs, read leniently (a region sent as a
/// number is read as its digits).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Head {
    #[serde(deserialize_with = "text")]
    region: String,
    #[serde(deserialize_with = "text")]
    kind: String,
}

impl Scope {
    /// A document of `region` and `kind` (empty kind: "policy").
    pub fn of(region: &str, kind: &str) -> Self {
        let region = region.trim();
        if kind.trim() == "floors" || region == NATIONAL_REGION {
            Self::National
        } else if region.len() == 6 && region.bytes().all(|b| b.is_ascii_digit()) {
            Self::Region(region.to_owned())
        } else {
            Self::Unknown
        }
    }

    /// What a parsed document is about.
    pub fn of_document(document: &Value) -> Self {
        let head = Head::deserialize(document).unwrap_or_default();
        Self::of(&head.region, &head.kind)
    }

    /// What a document's text is about ([`Scope::Unknown`] when it is no JSON object).
    pub fn of_text(document: &str) -> Self {
        serde_json::from_str::<Value>(document)
            .map(|value| Self::of_document(&value))
            .unwrap_or(Self::Unknown)
    }

    pub fn of_version(version: &pb::PolicyVersion) -> Self {
        Self::of(&version.region, &version.kind)
    }

    /// Whether `principal` may read (`act: false`) or act on (`act: true`) a document of this
    /// scope. An unknown one: any operator (the routing service refuses the document itself).
    pub fn allows(&self, principal: &Principal, act: bool) -> Result<(), ApiError> {
        let (scope, act) = match self {
            Self::Region(region) => (PolicyScope::Region(region), act),
            Self::National => (PolicyScope::National, act),
            Self::Unknown => (PolicyScope::National, false),
        };
        policy_access(principal, scope, act).map_err(ApiError::from)
    }

    /// The province an operator acting on this document acts for (`xx0000`), empty for a
    /// national document.
    fn province(&self) -> String {
        match self {
            Self::Region(region) => format!("{}0000", region.get(..2).unwrap_or_default()),
            Self::National | Self::Unknown => String::new(),
        }
    }
}

/// Who acts, as the routing service is told: the operator the certificate (or page session)
/// names; in development, for the document's own province (none for a national document).
pub fn actor(principal: &Principal, scope: &Scope) -> pb::PolicyActor {
    match principal {
        Principal::ProvinceOperator(province) => {
            pb::PolicyActor { operator_id: principal.label(), province: province.clone() }
        }
        Principal::NationalOperator => {
            pb::PolicyActor { operator_id: principal.label(), province: String::new() }
        }
        // Development; anyone else was refused before an actor is needed.
        _ => pb::PolicyActor { operator_id: "development".into(), province: scope.province() },
    }
}

/// The routing instance a document of `scope` is written to: its province's, or the default.
fn instance(state: &AppState, scope: &Scope) -> RoutingServiceClient<Traced> {
    match scope {
        Scope::Region(region) => state.routing_for(Some(region)),
        Scope::National | Scope::Unknown => state.routing_for(None),
    }
}

/// The region of an id (`<region>-<insutype>-<hash>`), if it has one.
fn region_of_id(policy_id: &str) -> Option<&str> {
    policy_id.get(..6).filter(|r| r.bytes().all(|b| b.is_ascii_digit()))
}

fn policy_not_found(policy_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "policy_not_found",
        format!("there is no policy document {}", codes::shown(policy_id)),
    )
}

/// The stored document `policy_id` (its text included), wherever it lives: a region's on its
/// province's instance, or a national draft on the default one. Checks no access.
async fn fetch(state: &AppState, policy_id: &str) -> Result<pb::PolicyVersion, ApiError> {
    let region = region_of_id(policy_id).ok_or_else(|| policy_not_found(policy_id))?;
    let request = pb::GetPolicyRequest { policy_id: policy_id.to_owned() };
    if region == NATIONAL_REGION {
        return Ok(state.routing_for(None).get_policy(request).await?.into_inner());
    }
    match state.routing_for(Some(region)).get_policy(request.clone()).await {
        Ok(version) => Ok(version.into_inner()),
        // A province's floors are national documents: drafted on the default instance.
        Err(status) if status.code() == Code::NotFound && state.routing_all().len() > 1 => {
            Ok(state.routing_for(None).get_policy(request).await?.into_inner())
        }
        Err(status) => Err(status.into()),
    }
}

/// A publication the instance already has (published before: the same content, the same id).
fn already_there(status: &tonic::Status) -> bool {
    matches!(status.code(), Code::AlreadyExists | Code::FailedPrecondition)
}

// ---------------------------------------------------------------------------------------------
// What the API and the pages do
// ---------------------------------------------------------------------------------------------

/// A document `principal` may write, as the request that carries it, and where it goes.
fn document_request(
    principal: &Principal,
    document: &str,
) -> Result<(Scope, pb::PolicyDocumentRequest), ApiError> {
    let scope = Scope::of_text(document);
    scope.allows(principal, true)?;
    let request = pb::PolicyDocumentRequest {
        document_json: document.to_owned(),
        actor: Some(actor(principal, &scope)),
    };
    Ok((scope, request))
}

/// Checks `document` as the routing service would store it, and says what its id would be.
pub async fn validate(
    state: &AppState,
    principal: &Principal,
    document: &str,
) -> Result<pb::ValidatePolicyResponse, ApiError> {
    let (scope, request) = document_request(principal, document)?;
    Ok(instance(state, &scope).validate_policy(request).await?.into_inner())
}

/// Keeps `document` as a draft (a national one on the default instance).
pub async fn put_draft(
    state: &AppState,
    principal: &Principal,
    document: &str,
) -> Result<pb::PolicyVersion, ApiError> {
    let (scope, request) = document_request(principal, document)?;
    Ok(instance(state, &scope).put_draft(request).await?.into_inner())
}

/// A stored document and its text, if `principal` may read it.
pub async fn get(
    state: &AppState,
    principal: &Principal,
    policy_id: &str,
) -> Result<pb::PolicyVersion, ApiError> {
    // Only operators learn whether an id exists.
    Scope::Unknown.allows(principal, false)?;
    let version = fetch(state, policy_id).await?;
    Scope::of_version(&version).allows(principal, false)?;
    Ok(version)
}

/// Publishes the draft `policy_id`: from its begin date, visits of its region use it. A
/// national document is published on every routing instance.
pub async fn publish(
    state: &AppState,
    principal: &Principal,
    policy_id: &str,
) -> Result<pb::PolicyVersion, ApiError> {
    Scope::Unknown.allows(principal, true)?;
    let version = fetch(state, policy_id).await?;
    let scope = Scope::of_version(&version);
    scope.allows(principal, true)?;
    let actor = actor(principal, &scope);
    let request = pb::PublishPolicyRequest {
        policy_id: version.policy_id.clone(),
        actor: Some(actor.clone()),
    };
    let instances = state.routing_all();
    if scope != Scope::National || instances.len() <= 1 {
        return Ok(instance(state, &scope).publish_policy(request).await?.into_inner());
    }
    let published = state.routing_for(None).publish_policy(request.clone()).await;
    if let Err(status) = &published {
        // Published before on the default instance: the others may still lack it (a
        // publication that failed half-way), so go on and copy it to them.
        if !(already_there(status) && version.status == "published") {
            return Err(status.clone().into());
        }
    }
    // The default instance comes first.
    for mut other in instances.into_iter().skip(1) {
        let draft = pb::PolicyDocumentRequest {
            document_json: version.document_json.clone(),
            actor: Some(actor.clone()),
        };
        match other.put_draft(draft).await {
            Ok(_) => {}
            Err(status) if status.code() == Code::AlreadyExists => {}
            Err(status) => return Err(status.into()),
        }
        match other.publish_policy(request.clone()).await {
            Ok(_) => {}
            Err(status) if already_there(&status) => {}
            Err(status) => return Err(status.into()),
        }
    }
    Ok(published?.into_inner())
}

/// What a list asks for.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// One region (`000000`: the national default); empty: as `province` says.
    #[serde(deserialize_with = "text")]
    pub region: String,
    #[serde(deserialize_with = "text")]
    pub insutype: String,
    /// Two or six digits: the regions of one province. Neither this nor `region`: a
    /// province's operator's own province, else every instance's documents.
    #[serde(deserialize_with = "text")]
    pub province: String,
    #[serde(deserialize_with = "flag")]
    pub include_drafts: bool,
}

/// The versions (and drafts, when asked) `principal` may read.
pub async fn list(
    state: &AppState,
    principal: &Principal,
    query: ListQuery,
) -> Result<Vec<pb::PolicyVersion>, ApiError> {
    let ListQuery { region, insutype, mut province, include_drafts } = query;
    let (region, insutype) = (region.trim().to_owned(), insutype.trim().to_owned());
    province = province.trim().to_owned();
    if !insutype.is_empty() {
        codes::insutype("insutype", &insutype)?;
    }
    let instances = if !region.is_empty() {
        codes::digits("region", &region, 6, 6)?;
        let scope = Scope::of(&region, "policy");
        scope.allows(principal, false)?;
        if !province.is_empty() {
            Scope::Region(province.clone()).allows(principal, false)?;
        }
        vec![instance(state, &scope)]
    } else if !province.is_empty() {
        codes::digits("province", &province, 2, 6)?;
        Scope::Region(province.clone()).allows(principal, false)?;
        vec![state.routing_for(Some(&province))]
    } else if let Principal::ProvinceOperator(own) = principal {
        province = own.clone();
        vec![state.routing_for(Some(own))]
    } else {
        Scope::National.allows(principal, false)?;
        state.routing_all()
    };
    let request = pb::ListPoliciesRequest { region, insutype, include_drafts, province };
    let mut seen = HashSet::new();
    let mut versions = Vec::new();
    for mut routing in instances {
        let list = routing.list_policies(request.clone()).await?.into_inner();
        for version in list.versions {
            // National documents are on every instance: once each.
            if Scope::of_version(&version).allows(principal, false).is_ok()
                && seen.insert(version.policy_id.clone())
            {
                versions.push(version);
            }
        }
    }
    Ok(versions)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResolveQuery {
    #[serde(deserialize_with = "text")]
    pub region: String,
    #[serde(deserialize_with = "text")]
    pub insutype: String,
    /// yyyy-MM-dd.
    #[serde(deserialize_with = "text")]
    pub date: String,
}

/// The version a visit of `date` uses for a person insured in `region`.
pub async fn resolve(
    state: &AppState,
    principal: &Principal,
    query: ResolveQuery,
) -> Result<pb::PolicyVersion, ApiError> {
    let region = codes::digits("region", &query.region, 6, 6)?.to_owned();
    let insutype = codes::insutype("insutype", &query.insutype)?.to_owned();
    let date = query.date.trim();
    if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
        return Err(ApiError::invalid(
            "date",
            "invalid_date",
            format!("date {} is not a date (yyyy-MM-dd)", codes::shown(date)),
        ));
    }
    let scope = Scope::of(&region, "policy");
    scope.allows(principal, false)?;
    let request = pb::ResolvePolicyRequest { region, insutype, date: date.to_owned() };
    Ok(instance(state, &scope).resolve_policy(request).await?.into_inner())
}

/// A month, `yyyy-MM`, as a preview and a verification take it.
pub fn period(text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::invalid("period", "missing_field", "period (yyyy-MM) is required"));
    }
    let first = format!("{text}-01");
    if text.len() != 7 || chrono::NaiveDate::parse_from_str(&first, "%Y-%m-%d").is_err() {
        return Err(ApiError::invalid(
            "period",
            "invalid_period",
            format!("period {} is not a month (yyyy-MM)", codes::shown(text)),
        ));
    }
    Ok(text.to_owned())
}

/// What a preview is of.
#[derive(Debug, Clone)]
pub enum PreviewOf {
    /// A stored document, by id.
    Stored(String),
    /// A document not stored, by its text.
    Document(String),
}

/// What the document would change: every settlement of `period` of persons insured in its
/// region (and insutype), settled again under it and under the version each was settled with.
/// Writes nothing.
pub async fn preview(
    state: &AppState,
    principal: &Principal,
    of: PreviewOf,
    period_text: &str,
) -> Result<pb::PolicyPreview, ApiError> {
    let period = period(period_text)?;
    let (scope, stored, document) = match of {
        PreviewOf::Stored(policy_id) => {
            Scope::Unknown.allows(principal, true)?;
            let version = fetch(state, &policy_id).await?;
            (Scope::of_version(&version), Some(version.policy_id), version.document_json)
        }
        PreviewOf::Document(text) => (Scope::of_text(&text), None, text),
    };
    scope.allows(principal, true)?;
    let actor = Some(actor(principal, &scope));
    let instances = state.routing_all();
    if scope == Scope::National && instances.len() > 1 {
        // Its persons are on every instance; only the default one has the draft, so each is
        // sent the document itself.
        let mut total: Option<pb::PolicyPreview> = None;
        for mut routing in instances {
            let request = pb::PreviewPolicyRequest {
                policy_id: String::new(),
                document_json: document.clone(),
                period: period.clone(),
                actor: actor.clone(),
            };
            let part = routing.preview_policy(request).await?.into_inner();
            total = Some(match total {
                None => part,
                Some(sum) => add_previews(sum, part),
            });
        }
        let mut total = total.unwrap_or_default();
        if let Some(policy_id) = stored {
            total.policy_id = policy_id;
        }
        return Ok(total);
    }
    let request = match stored {
        Some(policy_id) => {
            pb::PreviewPolicyRequest { policy_id, document_json: String::new(), period, actor }
        }
        None => pb::PreviewPolicyRequest {
            policy_id: String::new(),
            document_json: document,
            period,
            actor,
        },
    };
    Ok(instance(state, &scope).preview_policy(request).await?.into_inner())
}

/// How many of a preview's largest changes per person are kept.
const LARGEST: usize = 20;

/// Two instances' previews of one document as one: counts and amounts added by fund and by
/// treating province, the largest changes of both (persons live on one instance each).
fn add_previews(mut sum: pb::PolicyPreview, part: pb::PolicyPreview) -> pb::PolicyPreview {
    sum.settlements = sum.settlements.saturating_add(part.settlements);
    sum.replayed = sum.replayed.saturating_add(part.replayed);
    sum.persons = sum.persons.saturating_add(part.persons);
    sum.persons_affected = sum.persons_affected.saturating_add(part.persons_affected);
    sum.elapsed_micros = sum.elapsed_micros.max(part.elapsed_micros);
    for fund in part.funds {
        match sum.funds.iter_mut().find(|f| f.fund == fund.fund) {
            Some(f) => {
                f.before_fen = f.before_fen.saturating_add(fund.before_fen);
                f.after_fen = f.after_fen.saturating_add(fund.after_fen);
                f.change_fen = f.change_fen.saturating_add(fund.change_fen);
            }
            None => sum.funds.push(fund),
        }
    }
    for province in part.provinces {
        match sum.provinces.iter_mut().find(|p| p.treating_province == province.treating_province) {
            Some(p) => {
                p.settlements = p.settlements.saturating_add(province.settlements);
                p.before_fen = p.before_fen.saturating_add(province.before_fen);
                p.after_fen = p.after_fen.saturating_add(province.after_fen);
                p.change_fen = p.change_fen.saturating_add(province.change_fen);
            }
            None => sum.provinces.push(province),
        }
    }
    sum.provinces.sort_by(|a, b| a.treating_province.cmp(&b.treating_province));
    sum.largest.extend(part.largest);
    sum.largest.sort_by(|a, b| {
        b.change_fen.unsigned_abs().cmp(&a.change_fen.unsigned_abs()).then(a.psn_no.cmp(&b.psn_no))
    });
    sum.largest.truncate(LARGEST);
    sum
}

/// One CSV cell, quoted when it must be.
fn cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A preview as CSV: one header, then a row per fund, per treating province and per person of
/// the largest changes (`section` says which); amounts in yuan with two decimals, converted
/// exactly from fen.
pub fn preview_csv(preview: &pb::PolicyPreview) -> String {
    let mut out = String::from("section,key,settlements,before_yuan,after_yuan,change_yuan\r\n");
    let mut row = |section: &str, key: &str, settlements: Option<u64>, amounts: [i64; 3]| {
        let settlements = settlements.map(|n| n.to_string()).unwrap_or_default();
        let [before, after, change] = amounts.map(fen_to_yuan);
        out.push_str(&format!(
            "{section},{},{settlements},{before},{after},{change}\r\n",
            cell(key)
        ));
    };
    for f in &preview.funds {
        row("fund", &f.fund, None, [f.before_fen, f.after_fen, f.change_fen]);
    }
    for p in &preview.provinces {
        let amounts = [p.before_fen, p.after_fen, p.change_fen];
        row("province", &p.treating_province, Some(p.settlements), amounts);
    }
    for p in &preview.largest {
        row("person", &p.psn_no, Some(p.settlements), [p.before_fen, p.after_fen, p.change_fen]);
    }
    out
}

/// A JSON text laid out with two-space indentation, its keys in the order written and its
/// numbers and strings exactly as they are (unlike a parse and print, which would sort the
/// keys). `text` should be JSON; anything else comes out re-spaced but not checked.
pub fn pretty(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    let (mut in_string, mut escaped) = (false, false);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                out.push(c);
                let close = if c == '{' { '}' } else { ']' };
                if chars.peek() == Some(&close) {
                    chars.next();
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

/// `POST /api/v1/policies/validate`: the body is the document.
pub async fn validate_document(
    State(state): State<AppState>,
    caller: Caller,
    document: BodyText<Value>,
) -> Answer<pb::ValidatePolicyResponse> {
    Ok(Json(validate(&state, &caller.0, &document.text).await?))
}

/// `POST /api/v1/policies/drafts`: the body is the document; 201 with the draft.
pub async fn create_draft(
    State(state): State<AppState>,
    caller: Caller,
    document: BodyText<Value>,
) -> Result<(StatusCode, Json<pb::PolicyVersion>), ApiError> {
    let draft = put_draft(&state, &caller.0, &document.text).await?;
    Ok((StatusCode::CREATED, Json(draft)))
}

#[derive(Debug, Serialize)]
pub struct VersionList {
    versions: Vec<pb::PolicyVersion>,
}

/// `GET /api/v1/policies?region=&insutype=&province=&include_drafts=`.
pub async fn list_versions(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<ListQuery>,
) -> Answer<VersionList> {
    Ok(Json(VersionList { versions: list(&state, &caller.0, query).await? }))
}

/// `GET /api/v1/policies/resolve?region=&insutype=&date=`.
pub async fn resolve_version(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<ResolveQuery>,
) -> Answer<pb::PolicyVersion> {
    Ok(Json(resolve(&state, &caller.0, query).await?))
}

/// A version with its document as JSON (`document`), in place of its text (`document_json`).
#[derive(Debug, Serialize)]
pub struct VersionJson {
    #[serde(flatten)]
    version: serde_json::Map<String, Value>,
    /// The document as stored, its keys in their order.
    document: Option<Box<RawValue>>,
}

impl VersionJson {
    fn new(mut version: pb::PolicyVersion) -> Result<Self, ApiError> {
        let document = RawValue::from_string(std::mem::take(&mut version.document_json)).ok();
        let mut fields = match serde_json::to_value(&version) {
            Ok(Value::Object(fields)) => fields,
            other => {
                tracing::error!(?other, "a policy version did not serialize as an object");
                return Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; it has been logged",
                ));
            }
        };
        fields.remove("document_json");
        Ok(Self { version: fields, document })
    }
}

/// `GET /api/v1/policies/{policy_id}`.
pub async fn get_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(policy_id): Path<String>,
) -> Answer<VersionJson> {
    let policy_id = path_id("policy_id", &policy_id)?;
    Ok(Json(VersionJson::new(get(&state, &caller.0, &policy_id).await?)?))
}

/// `POST /api/v1/policies/{policy_id}/publish`.
pub async fn publish_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(policy_id): Path<String>,
) -> Answer<pb::PolicyVersion> {
    let policy_id = path_id("policy_id", &policy_id)?;
    Ok(Json(publish(&state, &caller.0, &policy_id).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PeriodQuery {
    #[serde(deserialize_with = "text")]
    period: String,
}

/// `POST /api/v1/policies/{policy_id}/preview`: `period` in the body or the query.
pub async fn preview_stored(
    State(state): State<AppState>,
    caller: Caller,
    Path(policy_id): Path<String>,
    Params(query): Params<PeriodQuery>,
    MaybeBody(body): MaybeBody<PeriodQuery>,
) -> Answer<pb::PolicyPreview> {
    let policy_id = path_id("policy_id", &policy_id)?;
    let period = body.map(|b| b.period).filter(|p| !p.trim().is_empty()).unwrap_or(query.period);
    Ok(Json(preview(&state, &caller.0, PreviewOf::Stored(policy_id), &period).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PreviewDocumentBody {
    document: Option<Value>,
    #[serde(deserialize_with = "text")]
    period: String,
}

/// `POST /api/v1/policies/preview`: `{"document": {…}, "period": "yyyy-MM"}`, a document not
/// stored.
pub async fn preview_document(
    State(state): State<AppState>,
    caller: Caller,
    body: BodyText<PreviewDocumentBody>,
) -> Answer<pb::PolicyPreview> {
    if !body.value.document.as_ref().is_some_and(Value::is_object) {
        return Err(ApiError::invalid(
            "document",
            "missing_field",
            "document (the policy document, a JSON object) is required",
        ));
    }
    /// The document's text as sent.
    #[derive(Deserialize)]
    struct Raw {
        document: Box<RawValue>,
    }
    let raw: Raw = serde_json::from_str(&body.text).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid: {e}"),
        )
    })?;
    let document = raw.document.get().to_owned();
    let of = PreviewOf::Document(document);
    Ok(Json(preview(&state, &caller.0, of, &body.value.period).await?))
}

/// `GET /api/v1/policies/{policy_id}/preview.csv?period=yyyy-MM`.
pub async fn preview_csv_file(
    State(state): State<AppState>,
    caller: Caller,
    Path(policy_id): Path<String>,
    Params(query): Params<PeriodQuery>,
) -> Result<Response, ApiError> {
    let policy_id = path_id("policy_id", &policy_id)?;
    let of = PreviewOf::Stored(policy_id.clone());
    let preview = preview(&state, &caller.0, of, &query.period).await?;
    Ok(csv_response(&preview_csv(&preview), &format!("preview-{policy_id}-{}.csv", preview.period)))
}

/// A CSV file to download, named `file_name` (code characters only).
pub fn csv_response(csv: &str, file_name: &str) -> Response {
    let mut response = csv.to_owned().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let name: String =
        file_name.chars().filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c)).collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The policies' routes.
pub fn router() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/api/v1/policies", get(list_versions))
        .route("/api/v1/policies/validate", post(validate_document))
        .route("/api/v1/policies/drafts", post(create_draft))
        .route("/api/v1/policies/resolve", get(resolve_version))
        .route("/api/v1/policies/preview", post(preview_document))
        .route("/api/v1/policies/{policy_id}", get(get_version))
        .route("/api/v1/policies/{policy_id}/publish", post(publish_version))
        .route("/api/v1/policies/{policy_id}/preview", post(preview_stored))
        .route("/api/v1/policies/{policy_id}/preview.csv", get(preview_csv_file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_belongs_to_its_region_or_to_the_nation() {
        let scope = |json: &str| Scope::of_document(&serde_json::from_str(json).unwrap());
        assert_eq!(scope(r#"{"region": "420200"}"#), Scope::Region("420200".into()));
        assert_eq!(
            scope(r#"{"region": 420200, "kind": "policy"}"#),
            Scope::Region("420200".into())
        );
        assert_eq!(scope(r#"{"region": "000000"}"#), Scope::National);
        assert_eq!(scope(r#"{"region": "440000", "kind": "floors"}"#), Scope::National);
        assert_eq!(scope(r#"{"region": "4402"}"#), Scope::Unknown);
        assert_eq!(scope(r#"{"region": ["420200"]}"#), Scope::Unknown);
        assert_eq!(Scope::of_text("not json"), Scope::Unknown);
    }

    #[test]
    fn who_acts_is_the_operator_or_in_development_the_documents_province() {
        let hubei = Principal::ProvinceOperator("420000".into());
        let region = Scope::Region("420200".into());
        assert_eq!(
            actor(&hubei, &region),
            pb::PolicyActor { operator_id: "OP-420000".into(), province: "420000".into() }
        );
        assert_eq!(
            actor(&Principal::NationalOperator, &Scope::National),
            pb::PolicyActor { operator_id: "OP-000000".into(), province: String::new() }
        );
        assert_eq!(
            actor(&Principal::Development, &region),
            pb::PolicyActor { operator_id: "development".into(), province: "420000".into() }
        );
        assert_eq!(actor(&Principal::Development, &Scope::National).province, "");
        // The national operator reads a region's policy but does not publish it.
        assert!(region.allows(&Principal::NationalOperator, false).is_ok());
        let refused = region.allows(&Principal::NationalOperator, true).unwrap_err();
        assert_eq!((refused.status, refused.code.as_str()), (StatusCode::FORBIDDEN, "forbidden"));
        assert!(Scope::Unknown.allows(&hubei, true).is_ok());
        let hospital = Principal::Hospital("H42020000001".into());
        assert_eq!(Scope::Unknown.allows(&hospital, false).unwrap_err().code, "forbidden");
    }

    #[test]
    fn months_are_yyyy_mm() {
        assert_eq!(period(" 2026-11 ").unwrap(), "2026-11");
        for bad in ["2026-13", "2026-1", "202611", "2026-11-01", "x"] {
            assert_eq!(period(bad).unwrap_err().code, "invalid_period", "{bad}");
        }
        assert_eq!(period("").unwrap_err().field.as_deref(), Some("period"));
    }

    #[test]
    fn pretty_keeps_order_and_text() {
        let text = r#"{"z":1,"a":{"b":[1, 2.50,{}],"c":"x, \"y\": {z}"},"e":[],"n":null}"#;
        let laid_out = pretty(text);
        assert_eq!(
            laid_out,
            "{\n  \"z\": 1,\n  \"a\": {\n    \"b\": [\n      1,\n      2.50,\n      {}\n    ],\n    \
             \"c\": \"x, \\\"y\\\": {z}\"\n  },\n  \"e\": [],\n  \"n\": null\n}\n"
        );
        let before: Value = serde_json::from_str(text).unwrap();
        let after: Value = serde_json::from_str(&laid_out).unwrap();
        assert_eq!(before, after);
        assert_eq!(pretty(&laid_out), laid_out, "laid out once is laid out");
    }

    fn preview(funds: &[(&str, i64, i64)], provinces: &[(&str, i64)]) -> pb::PolicyPreview {
        pb::PolicyPreview {
            settlements: 2,
            funds: funds
                .iter()
                .map(|(fund, before_fen, after_fen)| pb::FundChange {
                    fund: (*fund).into(),
                    before_fen: *before_fen,
                    after_fen: *after_fen,
                    change_fen: after_fen - before_fen,
                })
                .collect(),
            provinces: provinces
                .iter()
                .map(|(p, change_fen)| pb::ProvinceChange {
                    treating_province: (*p).into(),
                    settlements: 1,
                    before_fen: 0,
                    after_fen: *change_fen,
                    change_fen: *change_fen,
                })
                .collect(),
            largest: provinces
                .iter()
                .map(|(p, change_fen)| pb::PersonChange {
                    psn_no: format!("P{p}"),
                    settlements: 1,
                    before_fen: 0,
                    after_fen: *change_fen,
                    change_fen: *change_fen,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn previews_of_instances_add_up() {
        let a = preview(&[("hifp_pay", 100, 150)], &[("440000", 50)]);
        let b =
            preview(&[("hifp_pay", 10, 5), ("maf_pay", 0, 1)], &[("110000", -5), ("440000", 7)]);
        let sum = add_previews(a, b);
        assert_eq!(sum.settlements, 4);
        let funds: Vec<_> = sum.funds.iter().map(|f| (f.fund.as_str(), f.change_fen)).collect();
        assert_eq!(funds, [("hifp_pay", 45), ("maf_pay", 1)]);
        let provinces: Vec<_> =
            sum.provinces.iter().map(|p| (p.treating_province.as_str(), p.change_fen)).collect();
        assert_eq!(provinces, [("110000", -5), ("440000", 57)]);
        let largest: Vec<_> = sum.largest.iter().map(|p| p.change_fen).collect();
        assert_eq!(largest, [50, 7, -5]);
    }

    #[test]
    fn the_csv_is_in_yuan_to_the_fen() {
        let p = preview(&[("hifp_pay", 12_345, -1)], &[("440000", 5)]);
        let csv = preview_csv(&p);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "section,key,settlements,before_yuan,after_yuan,change_yuan");
        assert_eq!(lines[1], "fund,hifp_pay,,123.45,-0.01,-123.46");
        assert_eq!(lines[2], "province,440000,1,0.00,0.05,0.05");
        assert_eq!(lines[3], "person,P440000,1,0.00,0.05,0.05");
        assert_eq!(cell("a,\"b\""), "\"a,\"\"b\"\"\"");
    }
}
