//! `/api/v1/persons`, `/api/v1/visits/…`, `/api/v1/settlements/…`: the visit lifecycle as JSON
//! in front of the routing service's gRPC API. Amounts are fen; quantities decimal strings or
//! numbers.

use axum::{
    Json,
    extract::{Path, State},
};
use medclear_common::codes::{self, MessageId, province_of_id};
use medclear_proto::routing::v1 as pb;

use crate::{access::Target, caller::Caller};
use serde::{Deserialize, Serialize};
use tokio_stream::StreamExt as _;

use axum::Router;

use super::{
    AppState,
    error::ApiError,
    json::{Body, Params, flag, path_id, text},
};

type Answer<T> = Result<Json<T>, ApiError>;

#[derive(Debug, Serialize)]
pub struct PersonJson {
    psn_no: String,
    certno: String,
    psn_name: String,
    insutype: String,
    retired: bool,
    insuplc_admdvs: String,
    account_balance_fen: i64,
    assistance_category: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PersonQuery {
    #[serde(deserialize_with = "text")]
    certno: String,
    /// Picks the routing instance when they are partitioned by home province.
    #[serde(deserialize_with = "text")]
    insuplc_admdvs: String,
}

/// The province a request names, if any.
fn named(province: &str) -> Option<&str> {
    Some(province.trim()).filter(|p| !p.is_empty())
}

/// 1101: a person by certificate number.
pub async fn query_person(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<PersonQuery>,
) -> Answer<PersonJson> {
    caller.registry_reader()?;
    let p = state
        .routing_for(named(&q.insuplc_admdvs))
        .query_person(pb::QueryPersonRequest { certno: q.certno, psn_no: String::new() })
        .await?
        .into_inner();
    Ok(Json(PersonJson {
        assistance_category: Some(p.assistance_category).filter(|c| !c.is_empty()),
        psn_no: p.psn_no,
        certno: p.certno,
        psn_name: p.psn_name,
        insutype: p.insutype,
        retired: p.retired,
        insuplc_admdvs: p.insuplc_admdvs,
        account_balance_fen: p.account_balance_fen,
    }))
}

#[derive(Debug, Serialize)]
pub struct VisitJson {
    mdtrt_id: String,
    fixmedins_code: String,
    psn_no: String,
    med_type: String,
    mdtrtarea_admvs: String,
    hospital_level: String,
    begin_date: String,
    end_date: Option<String>,
    diagnosis_code: String,
    disease_code: String,
    emergency: bool,
    status: String,
}

impl From<pb::Visit> for VisitJson {
    fn from(v: pb::Visit) -> Self {
        Self {
            med_type: v.med_type.to_string(),
            end_date: Some(v.end_date).filter(|d| !d.is_empty()),
            mdtrt_id: v.mdtrt_id,
            fixmedins_code: v.fixmedins_code,
            psn_no: v.psn_no,
            mdtrtarea_admvs: v.mdtrtarea_admvs,
            hospital_level: v.hospital_level,
            begin_date: v.begin_date,
            diagnosis_code: v.diagnosis_code,
            disease_code: v.disease_code,
            emergency: v.emergency,
            status: v.status,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegisterBody {
    #[serde(deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(deserialize_with = "text")]
    msgid: String,
    #[serde(deserialize_with = "text")]
    psn_no: String,
    /// The patient's home region: picks the routing instance that owns it.
    #[serde(deserialize_with = "text")]
    insuplc_admdvs: String,
    /// 11, 14, 21 or 41.
    #[serde(deserialize_with = "text")]
    med_type: String,
    #[serde(deserialize_with = "text")]
    mdtrtarea_admvs: String,
    #[serde(deserialize_with = "text")]
    hospital_level: String,
    #[serde(deserialize_with = "text")]
    begin_date: String,
    #[serde(deserialize_with = "text")]
    diagnosis_code: String,
    #[serde(deserialize_with = "flag")]
    emergency: bool,
    #[serde(deserialize_with = "text")]
    disease_code: String,
}

/// 2201 / 2401.
pub async fn register_visit(
    State(state): State<AppState>,
    caller: Caller,
    Body(mut b): Body<RegisterBody>,
) -> Answer<VisitJson> {
    b.fixmedins_code = codes::fixmedins_code("fixmedins_code", &b.fixmedins_code)?.to_string();
    b.msgid = MessageId::parse(&b.msgid)?.to_string();
    b.psn_no = codes::psn_no("psn_no", &b.psn_no)?.to_string();
    caller.may(Target::Institution(&b.fixmedins_code))?;
    let med_type = b.med_type.trim().parse::<i32>().map_err(|_| {
        ApiError::invalid(
            "med_type",
            "unknown_med_type",
            format!("med_type {:?} is not 11, 14, 21 or 41", b.med_type),
        )
    })?;
    let request = pb::RegisterVisitRequest {
        fixmedins_code: b.fixmedins_code,
        msgid: b.msgid,
        psn_no: b.psn_no,
        med_type,
        mdtrtarea_admvs: b.mdtrtarea_admvs,
        hospital_level: b.hospital_level,
        begin_date: b.begin_date,
        diagnosis_code: b.diagnosis_code,
        emergency: b.emergency,
        disease_code: b.disease_code,
    };
    Ok(Json(
        state
            .routing_for(named(&b.insuplc_admdvs))
            .register_visit(request)
            .await?
            .into_inner()
            .into(),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VisitBody {
    #[serde(deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(deserialize_with = "text")]
    msgid: String,
    #[serde(deserialize_with = "text")]
    end_date: String,
    #[serde(deserialize_with = "flag")]
    use_account: bool,
    feedetl_sn: Vec<String>,
    lines: Vec<LineJson>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LineJson {
    #[serde(deserialize_with = "text")]
    feedetl_sn: String,
    #[serde(deserialize_with = "text")]
    local_code: String,
    #[serde(deserialize_with = "text")]
    national_code: String,
    price_fen: i64,
    #[serde(deserialize_with = "text")]
    quantity: String,
    #[serde(deserialize_with = "text")]
    fee_date: String,
}

impl VisitBody {
    /// The sender and its message id (when sent) by their patterns, the lines named by their
    /// ids; the rest is the routing service's to check.
    fn checked(mut self) -> Result<Self, ApiError> {
        self.fixmedins_code =
            codes::fixmedins_code("fixmedins_code", &self.fixmedins_code)?.to_string();
        // Required where the routing service keeps an answer per msgid (settlements).
        if !self.msgid.trim().is_empty() {
            self.msgid = MessageId::parse(&self.msgid)?.to_string();
        }
        for (i, sn) in self.feedetl_sn.iter().enumerate() {
            codes::id(&format!("feedetl_sn[{i}]"), sn)?;
        }
        Ok(self)
    }
}

fn visit_ref(id: String, b: VisitBody) -> pb::VisitRef {
    pb::VisitRef {
        fixmedins_code: b.fixmedins_code,
        msgid: b.msgid,
        mdtrt_id: id,
        end_date: b.end_date,
    }
}

/// 2402.
pub async fn discharge(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<VisitBody>,
) -> Answer<VisitJson> {
    let (id, b) = (path_id("mdtrt_id", &id)?, b.checked()?);
    caller.may(Target::Institution(&b.fixmedins_code))?;
    Ok(Json(
        state
            .routing_for(province_of_id(&id))
            .discharge_visit(visit_ref(id, b))
            .await?
            .into_inner()
            .into(),
    ))
}

/// 2202 / 2404.
pub async fn cancel_visit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<VisitBody>,
) -> Answer<VisitJson> {
    let (id, b) = (path_id("mdtrt_id", &id)?, b.checked()?);
    caller.may(Target::Institution(&b.fixmedins_code))?;
    Ok(Json(
        state
            .routing_for(province_of_id(&id))
            .cancel_visit(visit_ref(id, b))
            .await?
            .into_inner()
            .into(),
    ))
}

#[derive(Debug, Serialize)]
pub struct LinesAnswer {
    lines: u32,
    total_fen: i64,
}

/// 2204 / 2301.
pub async fn upload_lines(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<VisitBody>,
) -> Answer<LinesAnswer> {
    let (id, b) = (path_id("mdtrt_id", &id)?, b.checked()?);
    caller.may(Target::Institution(&b.fixmedins_code))?;
    let request = pb::UploadFeeLinesRequest {
        fixmedins_code: b.fixmedins_code,
        msgid: b.msgid,
        mdtrt_id: id,
        lines: b
            .lines
            .into_iter()
            .map(|l| pb::FeeLine {
                chrg_bchno: String::new(),
                feedetl_sn: l.feedetl_sn,
                local_code: l.local_code,
                national_code: l.national_code,
                price_fen: l.price_fen,
                quantity: l.quantity,
                fee_date: l.fee_date,
            })
            .collect(),
    };
    let answer = state
        .routing_for(province_of_id(&request.mdtrt_id))
        .upload_fee_lines(request)
        .await?
        .into_inner();
    Ok(Json(LinesAnswer { lines: answer.lines, total_fen: answer.total_fen }))
}

/// 2205 / 2302.
pub async fn cancel_lines(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<VisitBody>,
) -> Answer<LinesAnswer> {
    let (id, b) = (path_id("mdtrt_id", &id)?, b.checked()?);
    caller.may(Target::Institution(&b.fixmedins_code))?;
    let request = pb::CancelFeeLinesRequest {
        chrg_bchno: String::new(),
        fixmedins_code: b.fixmedins_code,
        msgid: b.msgid,
        mdtrt_id: id,
        feedetl_sn: b.feedetl_sn,
    };
    state.routing_for(province_of_id(&request.mdtrt_id)).cancel_fee_lines(request).await?;
    Ok(Json(LinesAnswer { lines: 0, total_fen: 0 }))
}

/// A settlement is answered as its message: the national field names, amounts in fen (see
/// `medclear_proto::json`).
type SettlementJson = pb::Settlement;

fn settle_request(id: String, b: VisitBody) -> pb::SettleRequest {
    pb::SettleRequest {
        fixmedins_code: b.fixmedins_code,
        msgid: b.msgid,
        mdtrt_id: id,
        use_account: b.use_account,
        medfee_sumamt_fen: None,
    }
}

/// 2206 / 2303: computes, keeps nothing.
pub async fn presettle(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<VisitBody>,
) -> Answer<SettlementJson> {
    let (id, b) = (path_id("mdtrt_id", &id)?, b.checked()?);
    caller.may(Target::Institution(&b.fixmedins_code))?;
    Ok(Json(
        state
            .routing_for(province_of_id(&id))
            .pre_settle(settle_request(id, b))
            .await?
            .into_inner(),
    ))
}

/// 2207 / 2304.
pub async fn settle(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<VisitBody>,
) -> Answer<SettlementJson> {
    let (id, b) = (path_id("mdtrt_id", &id)?, b.checked()?);
    caller.may(Target::Institution(&b.fixmedins_code))?;
    Ok(Json(
        state.routing_for(province_of_id(&id)).settle(settle_request(id, b)).await?.into_inner(),
    ))
}

/// 2208 / 2305.
pub async fn cancel_settlement(
    State(state): State<AppState>,
    caller: Caller,
    Path(setl_id): Path<String>,
    Body(b): Body<VisitBody>,
) -> Answer<SettlementJson> {
    let (setl_id, b) = (path_id("setl_id", &setl_id)?, b.checked()?);
    caller.may(Target::Institution(&b.fixmedins_code))?;
    let request =
        pb::CancelSettlementRequest { fixmedins_code: b.fixmedins_code, msgid: b.msgid, setl_id };
    Ok(Json(
        state
            .routing_for(province_of_id(&request.setl_id))
            .cancel_settlement(request)
            .await?
            .into_inner(),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReverseBody {
    #[serde(deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(deserialize_with = "text")]
    msgid: String,
    #[serde(deserialize_with = "text")]
    omsgid: String,
    /// The patient's home region: picks the routing instance that owns it.
    #[serde(deserialize_with = "text")]
    insuplc_admdvs: String,
}

/// 2601: undo the settlement sent as `omsgid`.
pub async fn reverse(
    State(state): State<AppState>,
    caller: Caller,
    Body(mut b): Body<ReverseBody>,
) -> Answer<SettlementJson> {
    b.fixmedins_code = codes::fixmedins_code("fixmedins_code", &b.fixmedins_code)?.to_string();
    b.msgid = MessageId::parse(&b.msgid)?.to_string();
    b.omsgid = MessageId::parse_field("omsgid", &b.omsgid)?.to_string();
    caller.may(Target::Institution(&b.fixmedins_code))?;
    let request =
        pb::ReverseRequest { fixmedins_code: b.fixmedins_code, msgid: b.msgid, omsgid: b.omsgid };
    Ok(Json(state.routing_for(named(&b.insuplc_admdvs)).reverse(request).await?.into_inner()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventsQuery {
    #[serde(deserialize_with = "text")]
    after_seq: String,
    /// With partitioned routing: whose instance's events (a province code).
    #[serde(deserialize_with = "text")]
    province: String,
}

#[derive(Debug, Serialize)]
pub struct EventJson {
    seq: i64,
    setl_id: String,
    kind: String,
    home_province: String,
    treating_province: String,
    obligation_fen: i64,
    at: String,
}

#[derive(Debug, Serialize)]
pub struct EventsAnswer {
    events: Vec<EventJson>,
}

/// The settlement events after `after_seq` (at most 1000).
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<EventsQuery>,
) -> Answer<EventsAnswer> {
    caller.may(Target::National)?;
    let after_seq = match q.after_seq.trim() {
        "" => 0,
        text => text.parse().map_err(|_| {
            ApiError::invalid(
                "after_seq",
                "invalid_number",
                format!("after_seq {} is not a whole number", codes::shown(text)),
            )
        })?,
    };
    let mut stream = state
        .routing_for(named(&q.province))
        .stream_settlement_events(pb::StreamSettlementEventsRequest { after_seq, follow: false })
        .await?
        .into_inner();
    let mut events = Vec::new();
    while events.len() < 1000
        && let Some(event) = stream.next().await
    {
        let e = event?;
        events.push(EventJson {
            seq: e.seq,
            setl_id: e.setl_id,
            kind: e.kind,
            home_province: e.home_province,
            treating_province: e.treating_province,
            obligation_fen: e.obligation_fen,
            at: e.at,
        });
    }
    Ok(Json(EventsAnswer { events }))
}

/// The routing area's routes.
pub fn router() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/api/v1/persons", get(query_person))
        .route("/api/v1/visits", post(register_visit))
        .route("/api/v1/visits/{mdtrt_id}/fee-lines", post(upload_lines))
        .route("/api/v1/visits/{mdtrt_id}/fee-lines/cancel", post(cancel_lines))
        .route("/api/v1/visits/{mdtrt_id}/discharge", post(discharge))
        .route("/api/v1/visits/{mdtrt_id}/cancel", post(cancel_visit))
        .route("/api/v1/visits/{mdtrt_id}/presettle", post(presettle))
        .route("/api/v1/visits/{mdtrt_id}/settle", post(settle))
        .route("/api/v1/settlements/{setl_id}/cancel", post(cancel_settlement))
        .route("/api/v1/reversals", post(reverse))
        .route("/api/v1/settlement-events", get(events))
}
