//! `/api/v1/clearing/…`: the operator surface of clearing (清算, DESIGN.md §4.4) as JSON in front
//! of the clearing service's gRPC API — periods and their actions (close, net, confirm,
//! withdraw, dispute, settle), netting results and instructions, statements, prepaid funds,
//! reconciliation with hospitals (3201 / 3202), ingestion lag, the ledger and the audit.
//!
//! Field names mirror the proto in snake_case; enums are lowercase strings (`"netted"`,
//! `"below_alert"`, `"missing_at_center"`); amounts are integer fen (`…_fen`).
//!
//! Every read is held to [`crate::access::clearing_view`]: who may make it, which province or
//! institution its query may name (an unnamed one is the caller's own), and which rows of the
//! answer it sees — a province's operator only its own province's, a hospital only its own.
//!
//! Every action carries its `actor` (`{"id", "name", "admdvs"}`, empty `admdvs` = the national
//! clearing operator) and the clearing service decides who may do what (403 otherwise). Over
//! HTTPS the actor's province is the one the operator's client certificate names, and only
//! operators get this far ([`crate::access`]); on plain HTTP (development, loopback only) the
//! actor is taken from the body as sent.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
};
use medclear_common::money::yuan_to_fen;

use crate::{
    access::{ClearingRead, ClearingView, Principal, Target},
    caller::Caller,
};
use medclear_proto::{clearing::v1 as pb, names};
use serde::{Deserialize, Deserializer, Serialize};

use axum::Router;

use super::{
    AppState,
    error::ApiError,
    json::{Body, Params, flag, text},
};

type Answer<T> = Result<Json<T>, ApiError>;

fn some(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// A whole number from a lenient text field; `None` when left out.
fn number<T: std::str::FromStr>(field: &str, text: &str) -> Result<Option<T>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        ApiError::invalid(
            field,
            "invalid_number",
            format!("{field} {text:?} is not a whole number"),
        )
    })
}

/// A whole number that must be sent.
fn required<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, ApiError> {
    number(field, text)?
        .ok_or_else(|| ApiError::invalid(field, "missing_field", format!("{field} is required")))
}

/// The sender's idempotency key: the body's `request_id`, else an `Idempotency-Key` header.
fn request_id(body: String, headers: &HeaderMap) -> String {
    if !body.trim().is_empty() {
        return body;
    }
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Enums as lowercase strings: the words of `medclear_proto::names`
// ---------------------------------------------------------------------------------------------

fn period_status_from(text: &str) -> Result<pb::PeriodStatus, ApiError> {
    let text = text.trim();
    names::parse(text).ok_or_else(|| {
        ApiError::invalid(
            "status",
            "invalid_status",
            format!("status {text:?} is not one of {}", names::word_list::<pb::PeriodStatus>()),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Operators
// ---------------------------------------------------------------------------------------------

/// Who acts, as a request names them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActorBody {
    #[serde(deserialize_with = "text")]
    id: String,
    #[serde(deserialize_with = "text")]
    name: String,
    /// The operator's province; empty for the national clearing operator.
    #[serde(deserialize_with = "text")]
    admdvs: String,
}

/// The actor of a request. Over HTTPS it is the operator the client certificate names (its
/// province overrides the body's; `id` and `name` are the body's, for the audit trail);
/// anyone else is refused. On plain HTTP (development) the body is taken as sent; when it is
/// left out, the service refuses it by name (`actor.id`).
fn actor(caller: &Caller, body: Option<ActorBody>) -> Result<Option<pb::Operator>, ApiError> {
    // Anyone but an operator (or development) is refused here.
    caller.operator()?;
    let admdvs = match &caller.0 {
        Principal::Development => {
            return Ok(body.map(|a| pb::Operator { id: a.id, name: a.name, admdvs: a.admdvs }));
        }
        Principal::ProvinceOperator(province) => province.clone(),
        // The national operator (the only other one `operator()` lets through).
        _ => String::new(),
    };
    // The audit trail names the certificate, and the person at it when the body says.
    let body = body.unwrap_or_default();
    let label = caller.0.label();
    let id = if body.id.trim().is_empty() { label } else { format!("{label}/{}", body.id.trim()) };
    Ok(Some(pb::Operator { id, name: body.name, admdvs }))
}

#[derive(Debug, Serialize)]
pub struct OperatorJson {
    id: String,
    name: String,
    admdvs: String,
}

fn operator_json(o: Option<pb::Operator>) -> OperatorJson {
    let o = o.unwrap_or_default();
    OperatorJson { id: o.id, name: o.name, admdvs: o.admdvs }
}

// ---------------------------------------------------------------------------------------------
// Periods
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct ConfirmationJson {
    province_admdvs: String,
    state: &'static str,
    netting_run: u32,
    by: OperatorJson,
    at: String,
    reason: Option<String>,
}

impl From<pb::ProvinceConfirmation> for ConfirmationJson {
    fn from(c: pb::ProvinceConfirmation) -> Self {
        Self {
            state: names::name_of_i32::<pb::ConfirmationState>(c.state),
            by: operator_json(c.by),
            reason: some(c.reason),
            province_admdvs: c.province_admdvs,
            netting_run: c.netting_run,
            at: c.at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PeriodJson {
    period_id: String,
    begin_date: String,
    end_date: String,
    status: &'static str,
    opened_at: String,
    closed_at: Option<String>,
    netted_at: Option<String>,
    confirmed_at: Option<String>,
    settled_at: Option<String>,
    netting_run: u32,
    confirmations: Vec<ConfirmationJson>,
    settlement_count: u64,
    reversal_count: u64,
    gross_total_fen: i64,
    late_count: u64,
    carried_in_count: u64,
}

impl From<pb::Period> for PeriodJson {
    fn from(p: pb::Period) -> Self {
        Self {
            status: names::name_of_i32::<pb::PeriodStatus>(p.status),
            closed_at: some(p.closed_at),
            netted_at: some(p.netted_at),
            confirmed_at: some(p.confirmed_at),
            settled_at: some(p.settled_at),
            confirmations: p.confirmations.into_iter().map(Into::into).collect(),
            period_id: p.period_id,
            begin_date: p.begin_date,
            end_date: p.end_date,
            opened_at: p.opened_at,
            netting_run: p.netting_run,
            settlement_count: p.settlement_count,
            reversal_count: p.reversal_count,
            gross_total_fen: p.gross_total_fen,
            late_count: p.late_count,
            carried_in_count: p.carried_in_count,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PeriodsQuery {
    #[serde(deserialize_with = "text")]
    status: String,
}

#[derive(Debug, Serialize)]
pub struct PeriodList {
    periods: Vec<PeriodJson>,
}

/// The periods, newest first; `?status=` filters.
pub async fn list_periods(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<PeriodsQuery>,
) -> Answer<PeriodList> {
    let view = caller.clearing_view(ClearingRead::Operators)?;
    let request = pb::ListPeriodsRequest { status: period_status_from(&q.status)?.into() };
    let list = state.clearing().list_periods(request).await?.into_inner();
    let periods = list.periods.into_iter().map(|p| period_as_seen(p, view).into()).collect();
    Ok(Json(PeriodList { periods }))
}

pub async fn get_period(
    State(state): State<AppState>,
    caller: Caller,
    Path(period_id): Path<String>,
) -> Answer<PeriodJson> {
    let view = caller.clearing_view(ClearingRead::Operators)?;
    let period = state.clearing().get_period(pb::GetPeriodRequest { period_id }).await?;
    Ok(Json(period_as_seen(period.into_inner(), view).into()))
}

/// A period with the confirmations `view` shows: a province's operator sees its own (the
/// pages show the same).
pub fn period_as_seen(mut period: pb::Period, view: ClearingView<'_>) -> pb::Period {
    period.confirmations.retain(|c| view.shows_region(&c.province_admdvs));
    period
}

/// The body of close, net and settle: who acts.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActionBody {
    actor: Option<ActorBody>,
}

/// OPEN → CLOSED (national operator).
pub async fn close_period(
    State(state): State<AppState>,
    caller: Caller,
    Path(period_id): Path<String>,
    Body(b): Body<ActionBody>,
) -> Answer<PeriodJson> {
    let request = pb::ClosePeriodRequest { period_id, actor: actor(&caller, b.actor)? };
    Ok(Json(state.clearing().close_period(request).await?.into_inner().into()))
}

/// CLOSED → NETTED (national operator): answers the netting result, matrix included.
pub async fn net_period(
    State(state): State<AppState>,
    caller: Caller,
    Path(period_id): Path<String>,
    Body(b): Body<ActionBody>,
) -> Answer<NettingJson> {
    let request = pb::NetPeriodRequest { period_id, actor: actor(&caller, b.actor)? };
    Ok(Json(state.clearing().net_period(request).await?.into_inner().into()))
}

/// CONFIRMED → SETTLED (national operator).
pub async fn settle_period(
    State(state): State<AppState>,
    caller: Caller,
    Path(period_id): Path<String>,
    Body(b): Body<ActionBody>,
) -> Answer<PeriodJson> {
    let request = pb::SettlePeriodRequest { period_id, actor: actor(&caller, b.actor)? };
    Ok(Json(state.clearing().settle_period(request).await?.into_inner().into()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfirmBody {
    #[serde(deserialize_with = "text")]
    province_admdvs: String,
    /// The netting run the province read and confirms.
    #[serde(deserialize_with = "text")]
    netting_run: String,
    actor: Option<ActorBody>,
}

/// A province confirms the current netting run (its own operator).
pub async fn confirm_period(
    State(state): State<AppState>,
    caller: Caller,
    Path(period_id): Path<String>,
    Body(b): Body<ConfirmBody>,
) -> Answer<PeriodJson> {
    let request = pb::ConfirmPeriodRequest {
        period_id,
        netting_run: required("netting_run", &b.netting_run)?,
        province_admdvs: b.province_admdvs,
        actor: actor(&caller, b.actor)?,
    };
    Ok(Json(state.clearing().confirm_period(request).await?.into_inner().into()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WithdrawBody {
    #[serde(deserialize_with = "text")]
    province_admdvs: String,
    #[serde(deserialize_with = "text")]
    reason: String,
    actor: Option<ActorBody>,
}

/// A province rolls its confirmation back (until the period is settled).
pub async fn withdraw_confirmation(
    State(state): State<AppState>,
    caller: Caller,
    Path(period_id): Path<String>,
    Body(b): Body<WithdrawBody>,
) -> Answer<PeriodJson> {
    let request = pb::WithdrawConfirmationRequest {
        period_id,
        province_admdvs: b.province_admdvs,
        reason: b.reason,
        actor: actor(&caller, b.actor)?,
    };
    Ok(Json(state.clearing().withdraw_confirmation(request).await?.into_inner().into()))
}

/// One text in a list, sent as a string or a number.
#[derive(Debug, Default, Deserialize)]
pub struct TextItem(#[serde(deserialize_with = "text")] String);

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DisputeBody {
    #[serde(deserialize_with = "text")]
    request_id: String,
    #[serde(deserialize_with = "text")]
    province_admdvs: String,
    setl_ids: Vec<TextItem>,
    #[serde(deserialize_with = "text")]
    reason: String,
    actor: Option<ActorBody>,
}

#[derive(Debug, Serialize)]
pub struct DisputeJson {
    dispute_id: String,
    period_id: String,
    province_admdvs: String,
    setl_ids: Vec<String>,
    reason: String,
    amount_fen: i64,
    carried_to_period_id: String,
    status: &'static str,
    raised_by: OperatorJson,
    raised_at: String,
}

impl From<pb::Dispute> for DisputeJson {
    fn from(d: pb::Dispute) -> Self {
        Self {
            status: names::name_of_i32::<pb::DisputeStatus>(d.status),
            raised_by: operator_json(d.raised_by),
            dispute_id: d.dispute_id,
            period_id: d.period_id,
            province_admdvs: d.province_admdvs,
            setl_ids: d.setl_ids,
            reason: d.reason,
            amount_fen: d.amount_fen,
            carried_to_period_id: d.carried_to_period_id,
            raised_at: d.raised_at,
        }
    }
}

/// A province disputes items: they are carried to the next open period, and the period goes
/// back to CLOSED to be netted again. Idempotent by `request_id` / `Idempotency-Key`.
pub async fn create_dispute(
    State(state): State<AppState>,
    caller: Caller,
    Path(period_id): Path<String>,
    headers: HeaderMap,
    Body(b): Body<DisputeBody>,
) -> Result<(StatusCode, Json<DisputeJson>), ApiError> {
    let request = pb::DisputeRequest {
        request_id: request_id(b.request_id, &headers),
        period_id,
        province_admdvs: b.province_admdvs,
        setl_ids: b.setl_ids.into_iter().map(|TextItem(id)| id).collect(),
        reason: b.reason,
        actor: actor(&caller, b.actor)?,
    };
    let dispute = state.clearing().dispute_items(request).await?.into_inner();
    Ok((StatusCode::CREATED, Json(dispute.into())))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProvinceQuery {
    #[serde(deserialize_with = "text")]
    province_admdvs: String,
}

#[derive(Debug, Serialize)]
pub struct DisputeList {
    disputes: Vec<DisputeJson>,
}

pub async fn list_disputes(
    State(state): State<AppState>,
    caller: Caller,
    Path(period_id): Path<String>,
    Params(q): Params<ProvinceQuery>,
) -> Answer<DisputeList> {
    let view = caller.clearing_view(ClearingRead::Operators)?;
    let province_admdvs = view.region_query(&q.province_admdvs)?;
    let request = pb::ListDisputesRequest { period_id, province_admdvs };
    let list = state.clearing().list_disputes(request).await?.into_inner();
    let disputes = list
        .disputes
        .into_iter()
        .filter(|d| view.shows_region(&d.province_admdvs))
        .map(Into::into)
        .collect();
    Ok(Json(DisputeList { disputes }))
}

// ---------------------------------------------------------------------------------------------
// Netting
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct PositionJson {
    province_admdvs: String,
    receivable_fen: i64,
    payable_fen: i64,
    net_fen: i64,
}

#[derive(Debug, Serialize)]
pub struct CellJson {
    insuplc_admdvs: String,
    mdtrtarea_admvs: String,
    gross_fen: i64,
    settlement_count: u64,
    reversal_count: u64,
}

#[derive(Debug, Serialize)]
pub struct InstructionJson {
    instruction_id: String,
    period_id: String,
    netting_run: u32,
    payer_admdvs: String,
    payee_admdvs: String,
    amount_fen: i64,
    from_prepaid_fen: i64,
    status: &'static str,
    created_at: String,
    executed_at: Option<String>,
}

impl From<pb::SettlementInstruction> for InstructionJson {
    fn from(i: pb::SettlementInstruction) -> Self {
        Self {
            status: names::name_of_i32::<pb::InstructionStatus>(i.status),
            executed_at: some(i.executed_at),
            instruction_id: i.instruction_id,
            period_id: i.period_id,
            netting_run: i.netting_run,
            payer_admdvs: i.payer_admdvs,
            payee_admdvs: i.payee_admdvs,
            amount_fen: i.amount_fen,
            from_prepaid_fen: i.from_prepaid_fen,
            created_at: i.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct NettingJson {
    period_id: String,
    netting_run: u32,
    gross_total_fen: i64,
    sum_abs_net_fen: i64,
    /// 1 − Σ|net| / gross, a decimal string.
    netting_efficiency: String,
    positions: Vec<PositionJson>,
    /// Empty unless asked for (`include_matrix`); always there in the answer to a netting.
    matrix: Vec<CellJson>,
    instructions: Vec<InstructionJson>,
    netted_at: Option<String>,
}

impl From<pb::NettingResult> for NettingJson {
    fn from(n: pb::NettingResult) -> Self {
        Self {
            positions: n
                .positions
                .into_iter()
                .map(|p| PositionJson {
                    province_admdvs: p.province_admdvs,
                    receivable_fen: p.receivable_fen,
                    payable_fen: p.payable_fen,
                    net_fen: p.net_fen,
                })
                .collect(),
            matrix: n
                .matrix
                .into_iter()
                .map(|c| CellJson {
                    insuplc_admdvs: c.insuplc_admdvs,
                    mdtrtarea_admvs: c.mdtrtarea_admvs,
                    gross_fen: c.gross_fen,
                    settlement_count: c.settlement_count,
                    reversal_count: c.reversal_count,
                })
                .collect(),
            instructions: n.instructions.into_iter().map(Into::into).collect(),
            netted_at: some(n.netted_at),
            period_id: n.period_id,
            netting_run: n.netting_run,
            gross_total_fen: n.gross_total_fen,
            sum_abs_net_fen: n.sum_abs_net_fen,
            netting_efficiency: n.netting_efficiency,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NettingQuery {
    #[serde(deserialize_with = "flag")]
    include_matrix: bool,
}

/// The current netting run of a period (409 `period_not_netted` before the first).
pub async fn get_netting(
    State(state): State<AppState>,
    caller: Caller,
    Path(period_id): Path<String>,
    Params(q): Params<NettingQuery>,
) -> Answer<NettingJson> {
    let view = caller.clearing_view(ClearingRead::Operators)?;
    let request = pb::GetNettingResultRequest { period_id, include_matrix: q.include_matrix };
    let netting = state.clearing().get_netting_result(request).await?.into_inner();
    Ok(Json(netting_as_seen(netting, view).into()))
}

/// A netting run as `view` shows it (the pages show the same): a province's operator sees its
/// own position, its bilateral cells and its instructions; the totals and the efficiency are
/// the whole run's.
pub fn netting_as_seen(
    mut netting: pb::NettingResult,
    view: ClearingView<'_>,
) -> pb::NettingResult {
    netting.positions.retain(|p| view.shows_region(&p.province_admdvs));
    netting
        .matrix
        .retain(|c| view.shows_region(&c.insuplc_admdvs) || view.shows_region(&c.mdtrtarea_admvs));
    netting.instructions.retain(|i| shows_instruction(view, i));
    netting
}

/// Whether `view` shows an instruction: its province pays or is paid.
fn shows_instruction(view: ClearingView<'_>, i: &pb::SettlementInstruction) -> bool {
    view.shows_region(&i.payer_admdvs) || view.shows_region(&i.payee_admdvs)
}

#[derive(Debug, Serialize)]
pub struct InstructionList {
    instructions: Vec<InstructionJson>,
}

/// Every instruction of the period (all netting runs), `?province_admdvs=` as payer or payee.
pub async fn list_instructions(
    State(state): State<AppState>,
    caller: Caller,
    Path(period_id): Path<String>,
    Params(q): Params<ProvinceQuery>,
) -> Answer<InstructionList> {
    let view = caller.clearing_view(ClearingRead::Operators)?;
    let province_admdvs = view.region_query(&q.province_admdvs)?;
    let request = pb::ListSettlementInstructionsRequest { period_id, province_admdvs };
    let list = state.clearing().list_settlement_instructions(request).await?.into_inner();
    Ok(Json(InstructionList {
        instructions: list
            .instructions
            .into_iter()
            .filter(|i| shows_instruction(view, i))
            .map(Into::into)
            .collect(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

/// Written from its message (`medclear_proto::json`), as the next four.
type StatementLineJson = pb::StatementLine;

#[derive(Debug, Serialize)]
pub struct ProvinceStatementJson {
    period_id: String,
    province_admdvs: String,
    netting_run: u32,
    as_home: Vec<StatementLineJson>,
    as_treating: Vec<StatementLineJson>,
    payable_fen: i64,
    receivable_fen: i64,
    net_fen: i64,
    disputed_fen: i64,
    prepaid_drawn_fen: i64,
    instructions: Vec<InstructionJson>,
    generated_at: String,
}

pub async fn province_statement(
    State(state): State<AppState>,
    caller: Caller,
    Path((period_id, province_admdvs)): Path<(String, String)>,
) -> Answer<ProvinceStatementJson> {
    caller.may(Target::Province(&province_admdvs))?;
    let request = pb::GetProvinceStatementRequest { period_id, province_admdvs };
    let s = state.clearing().get_province_statement(request).await?.into_inner();
    Ok(Json(ProvinceStatementJson {
        period_id: s.period_id,
        province_admdvs: s.province_admdvs,
        netting_run: s.netting_run,
        as_home: s.as_home,
        as_treating: s.as_treating,
        payable_fen: s.payable_fen,
        receivable_fen: s.receivable_fen,
        net_fen: s.net_fen,
        disputed_fen: s.disputed_fen,
        prepaid_drawn_fen: s.prepaid_drawn_fen,
        instructions: s.instructions.into_iter().map(Into::into).collect(),
        generated_at: s.generated_at,
    }))
}

type HospitalStatementJson = pb::HospitalStatement;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HospitalStatementsQuery {
    #[serde(deserialize_with = "text")]
    mdtrtarea_admvs: String,
    #[serde(deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(deserialize_with = "text")]
    page_size: String,
    #[serde(deserialize_with = "text")]
    page_token: String,
}

#[derive(Debug, Serialize)]
pub struct HospitalStatementList {
    statements: Vec<HospitalStatementJson>,
    next_page_token: Option<String>,
}

/// What the treating province owes each of its hospitals for the period, a page at a time.
pub async fn hospital_statements(
    State(state): State<AppState>,
    caller: Caller,
    Path(period_id): Path<String>,
    Params(q): Params<HospitalStatementsQuery>,
) -> Answer<HospitalStatementList> {
    let view = caller.clearing_view(ClearingRead::Hospitals)?;
    let request = pb::ListHospitalStatementsRequest {
        period_id,
        page_size: number("page_size", &q.page_size)?.unwrap_or(0),
        mdtrtarea_admvs: view.region_query(&q.mdtrtarea_admvs)?,
        fixmedins_code: view.institution_query(&q.fixmedins_code)?,
        page_token: q.page_token,
    };
    let list = state.clearing().list_hospital_statements(request).await?.into_inner();
    let mut statements = list.statements;
    statements.retain(|s| view.shows_row(&s.fixmedins_code, &[&s.mdtrtarea_admvs]));
    Ok(Json(HospitalStatementList { statements, next_page_token: some(list.next_page_token) }))
}

type ClearedItemJson = pb::ClearedItem;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ItemsQuery {
    #[serde(deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(deserialize_with = "text")]
    page_size: String,
    #[serde(deserialize_with = "text")]
    page_token: String,
}

#[derive(Debug, Serialize)]
pub struct ItemList {
    items: Vec<ClearedItemJson>,
    next_page_token: Option<String>,
}

/// A hospital's items of the period in setl_id order: the lines its statement totals. A
/// hospital reads its own (`fixmedins_code` may be left out); a province's operator the items
/// of its province as treating or home province.
pub async fn list_items(
    State(state): State<AppState>,
    caller: Caller,
    Path(period_id): Path<String>,
    Params(q): Params<ItemsQuery>,
) -> Answer<ItemList> {
    let view = caller.clearing_view(ClearingRead::Hospitals)?;
    let request = pb::ListPeriodItemsRequest {
        period_id,
        page_size: number("page_size", &q.page_size)?.unwrap_or(0),
        fixmedins_code: view.institution_query(&q.fixmedins_code)?,
        page_token: q.page_token,
    };
    let list = state.clearing().list_period_items(request).await?.into_inner();
    // A province's operator sees the items its province treated or its insured were treated
    // in (a page may then hold fewer items than asked: follow `next_page_token`).
    let mut items = list.items;
    items.retain(|i| view.shows_row(&i.fixmedins_code, &[&i.insuplc_admdvs, &i.mdtrtarea_admvs]));
    Ok(Json(ItemList { items, next_page_token: some(list.next_page_token) }))
}

// ---------------------------------------------------------------------------------------------
// Prepaid funds
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct TopUpJson {
    instruction_id: String,
    province_admdvs: String,
    amount_fen: i64,
    due_date: String,
    reason: String,
    issued_at: String,
    fulfilled: bool,
}

#[derive(Debug, Serialize)]
pub struct FundJson {
    province_admdvs: String,
    deposit_fen: i64,
    required_fen: i64,
    alert_line_fen: i64,
    state: &'static str,
    basis_months: u32,
    basis_outgoing_fen: i64,
    topup: Option<TopUpJson>,
    updated_at: Option<String>,
}

impl From<pb::PrepaidFund> for FundJson {
    fn from(f: pb::PrepaidFund) -> Self {
        Self {
            state: names::name_of_i32::<pb::PrepaidFundState>(f.state),
            topup: f.topup.map(|t| TopUpJson {
                instruction_id: t.instruction_id,
                province_admdvs: t.province_admdvs,
                amount_fen: t.amount_fen,
                due_date: t.due_date,
                reason: t.reason,
                issued_at: t.issued_at,
                fulfilled: t.fulfilled,
            }),
            updated_at: some(f.updated_at),
            province_admdvs: f.province_admdvs,
            deposit_fen: f.deposit_fen,
            required_fen: f.required_fen,
            alert_line_fen: f.alert_line_fen,
            basis_months: f.basis_months,
            basis_outgoing_fen: f.basis_outgoing_fen,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FundList {
    funds: Vec<FundJson>,
}

/// The prepaid funds the caller sees: every province's for the national operator, its own for
/// a province's operator.
pub async fn list_funds(State(state): State<AppState>, caller: Caller) -> Answer<FundList> {
    let view = caller.clearing_view(ClearingRead::Operators)?;
    let list = state.clearing().list_prepaid_funds(pb::ListPrepaidFundsRequest {}).await?;
    let funds = list.into_inner().funds;
    Ok(Json(FundList {
        funds: funds
            .into_iter()
            .filter(|f| view.shows_region(&f.province_admdvs))
            .map(Into::into)
            .collect(),
    }))
}

pub async fn get_fund(
    State(state): State<AppState>,
    caller: Caller,
    Path(province_admdvs): Path<String>,
) -> Answer<FundJson> {
    caller.may(Target::Province(&province_admdvs))?;
    let request = pb::GetPrepaidFundRequest { province_admdvs };
    Ok(Json(state.clearing().get_prepaid_fund(request).await?.into_inner().into()))
}

/// An amount as sent: a whole JSON number or a string, kept as its decimal text. A JSON number
/// with a fraction has already lost its exact decimal form in the JSON reader, so it is kept
/// only to be refused by name: yuan with decimals come as a string, or as whole `amount_fen`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AmountText {
    #[default]
    Absent,
    Exact(String),
    Fraction(String),
}

impl<'de> Deserialize<'de> for AmountText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Loose {
            Number(serde_json::Number),
            Text(String),
        }
        Ok(match Option::<Loose>::deserialize(deserializer)? {
            None => Self::Absent,
            Some(Loose::Number(n)) if n.is_i64() || n.is_u64() => Self::Exact(n.to_string()),
            Some(Loose::Number(n)) => Self::Fraction(n.to_string()),
            Some(Loose::Text(s)) if s.trim().is_empty() => Self::Absent,
            Some(Loose::Text(s)) => Self::Exact(s.trim().to_owned()),
        })
    }
}

impl AmountText {
    /// The exact text, if any; a number with a fraction is refused for `field`.
    fn text(&self, field: &str) -> Result<Option<&str>, ApiError> {
        match self {
            Self::Absent => Ok(None),
            Self::Exact(text) => Ok(Some(text)),
            Self::Fraction(shown) => Err(ApiError::invalid(
                field,
                "invalid_amount",
                format!(
                    "{field} {shown} is a JSON number with a fraction, which cannot be read \
                     exactly: send it as a string (\"{shown}\"), or whole fen in amount_fen"
                ),
            )),
        }
    }
}

/// A signed amount in yuan with at most two decimals, in fen; exact.
fn signed_yuan_to_fen(field: &str, text: &str) -> Result<i64, ApiError> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let fen = yuan_to_fen(digits)
        .map_err(|e| ApiError::invalid(field, "invalid_amount", format!("{field}: {e}")))?;
    Ok(if negative { -fen } else { fen })
}

/// The deposit's amount in fen: `amount_fen` (whole fen), or `amount` (yuan, ≤ 2 decimals).
fn deposit_amount(amount_fen: &AmountText, amount: &AmountText) -> Result<i64, ApiError> {
    let fen = match amount_fen.text("amount_fen")? {
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            ApiError::invalid(
                "amount_fen",
                "invalid_amount",
                format!("amount_fen {text:?} is not a whole number of fen"),
            )
        })?),
        None => None,
    };
    let yuan = amount.text("amount")?.map(|text| signed_yuan_to_fen("amount", text)).transpose()?;
    match (fen, yuan) {
        (Some(fen), Some(yuan)) if fen != yuan => Err(ApiError::invalid(
            "amount",
            "conflicting_amounts",
            format!("amount ({yuan} fen) and amount_fen ({fen}) differ: send one of them"),
        )),
        (Some(fen), _) | (None, Some(fen)) => Ok(fen),
        (None, None) => Err(ApiError::invalid(
            "amount_fen",
            "missing_field",
            "amount_fen (fen) or amount (yuan) is required",
        )),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DepositBody {
    #[serde(deserialize_with = "text")]
    request_id: String,
    amount_fen: AmountText,
    /// In yuan, at most two decimals: the alternative to `amount_fen`.
    amount: AmountText,
    #[serde(deserialize_with = "text")]
    value_date: String,
    #[serde(deserialize_with = "text")]
    bank_reference: String,
    actor: Option<ActorBody>,
}

/// A province paid into (negative: took back from) its prepaid fund. Idempotent by
/// `request_id` / `Idempotency-Key`; answers the fund after it.
pub async fn record_deposit(
    State(state): State<AppState>,
    caller: Caller,
    Path(province_admdvs): Path<String>,
    headers: HeaderMap,
    Body(b): Body<DepositBody>,
) -> Answer<FundJson> {
    let request = pb::RecordPrepaidDepositRequest {
        amount_fen: deposit_amount(&b.amount_fen, &b.amount)?,
        request_id: request_id(b.request_id, &headers),
        province_admdvs,
        value_date: b.value_date,
        bank_reference: b.bank_reference,
        actor: actor(&caller, b.actor)?,
    };
    Ok(Json(state.clearing().record_prepaid_deposit(request).await?.into_inner().into()))
}

// ---------------------------------------------------------------------------------------------
// Reconciliation with hospitals (3201 / 3202)
// ---------------------------------------------------------------------------------------------

type ReconTotalsJson = pb::ReconTotals;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReconTotalsBody {
    #[serde(deserialize_with = "text")]
    msgid: String,
    #[serde(deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(deserialize_with = "text")]
    stmt_date: String,
    #[serde(deserialize_with = "text")]
    insutype: String,
    #[serde(deserialize_with = "text")]
    clr_type: String,
    #[serde(deserialize_with = "text")]
    setl_cnt: String,
    #[serde(deserialize_with = "text")]
    medfee_sumamt_fen: String,
    #[serde(deserialize_with = "text")]
    fund_pay_sumamt_fen: String,
    #[serde(deserialize_with = "text")]
    acct_pay_fen: String,
}

#[derive(Debug, Serialize)]
pub struct ReconTotalsAnswer {
    stmt_rslt: &'static str,
    stmt_rslt_dscr: String,
    hospital: ReconTotalsJson,
    center: ReconTotalsJson,
    as_of: Option<String>,
}

/// 3201: a hospital's totals for one day against clearing's.
pub async fn reconcile_totals(
    State(state): State<AppState>,
    caller: Caller,
    Body(b): Body<ReconTotalsBody>,
) -> Answer<ReconTotalsAnswer> {
    caller.may(Target::Institution(&b.fixmedins_code))?;
    let hospital = pb::ReconTotals {
        setl_cnt: required("setl_cnt", &b.setl_cnt)?,
        medfee_sumamt_fen: required("medfee_sumamt_fen", &b.medfee_sumamt_fen)?,
        fund_pay_sumamt_fen: required("fund_pay_sumamt_fen", &b.fund_pay_sumamt_fen)?,
        acct_pay_fen: required("acct_pay_fen", &b.acct_pay_fen)?,
    };
    let request = pb::ReconcileTotalsRequest {
        msgid: b.msgid,
        fixmedins_code: b.fixmedins_code,
        stmt_date: b.stmt_date,
        insutype: b.insutype,
        clr_type: b.clr_type,
        hospital: Some(hospital),
    };
    let r = state.clearing().reconcile_totals(request).await?.into_inner();
    Ok(Json(ReconTotalsAnswer {
        stmt_rslt: names::name_of_i32::<pb::ReconResult>(r.stmt_rslt),
        stmt_rslt_dscr: r.stmt_rslt_dscr,
        hospital: r.hospital.unwrap_or_default(),
        center: r.center.unwrap_or_default(),
        as_of: some(r.as_of),
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReconDetailBody {
    #[serde(deserialize_with = "text")]
    setl_id: String,
    #[serde(deserialize_with = "text")]
    msgid: String,
    #[serde(deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(deserialize_with = "text")]
    psn_no: String,
    #[serde(deserialize_with = "text")]
    medfee_sumamt_fen: String,
    #[serde(deserialize_with = "text")]
    fund_pay_sumamt_fen: String,
    #[serde(deserialize_with = "text")]
    acct_pay_fen: String,
    #[serde(deserialize_with = "flag")]
    refd_setl_flag: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReconDetailsBody {
    #[serde(deserialize_with = "text")]
    msgid: String,
    #[serde(deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(deserialize_with = "text")]
    stmt_date: String,
    #[serde(deserialize_with = "text")]
    insutype: String,
    #[serde(deserialize_with = "text")]
    clr_type: String,
    details: Vec<ReconDetailBody>,
}

fn recon_detail(n: usize, d: ReconDetailBody) -> Result<pb::ReconDetail, ApiError> {
    let field = |name: &str| format!("details[{n}].{name}");
    if d.setl_id.trim().is_empty() {
        return Err(ApiError::invalid(
            &field("setl_id"),
            "missing_field",
            format!("{} is required", field("setl_id")),
        ));
    }
    Ok(pb::ReconDetail {
        medfee_sumamt_fen: required(&field("medfee_sumamt_fen"), &d.medfee_sumamt_fen)?,
        fund_pay_sumamt_fen: required(&field("fund_pay_sumamt_fen"), &d.fund_pay_sumamt_fen)?,
        acct_pay_fen: required(&field("acct_pay_fen"), &d.acct_pay_fen)?,
        setl_id: d.setl_id,
        msgid: d.msgid,
        mdtrt_id: d.mdtrt_id,
        psn_no: d.psn_no,
        refd_setl_flag: d.refd_setl_flag,
    })
}

type ReconDetailJson = pb::ReconDetail;

#[derive(Debug, Serialize)]
pub struct DiscrepancyJson {
    setl_id: String,
    kind: &'static str,
    hospital: Option<ReconDetailJson>,
    center: Option<ReconDetailJson>,
    differing_fields: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ReconDetailsAnswer {
    stmt_rslt: &'static str,
    matched_count: u64,
    discrepancies: Vec<DiscrepancyJson>,
    as_of: Option<String>,
}

/// 3202: a hospital's detail list for one day against clearing's.
pub async fn reconcile_details(
    State(state): State<AppState>,
    caller: Caller,
    Body(b): Body<ReconDetailsBody>,
) -> Answer<ReconDetailsAnswer> {
    caller.may(Target::Institution(&b.fixmedins_code))?;
    let details = b
        .details
        .into_iter()
        .enumerate()
        .map(|(n, d)| recon_detail(n, d))
        .collect::<Result<Vec<_>, _>>()?;
    let request = pb::ReconcileDetailsRequest {
        msgid: b.msgid,
        fixmedins_code: b.fixmedins_code,
        stmt_date: b.stmt_date,
        insutype: b.insutype,
        clr_type: b.clr_type,
        details,
    };
    let r = state.clearing().reconcile_details(request).await?.into_inner();
    Ok(Json(ReconDetailsAnswer {
        stmt_rslt: names::name_of_i32::<pb::ReconResult>(r.stmt_rslt),
        matched_count: r.matched_count,
        discrepancies: r
            .discrepancies
            .into_iter()
            .map(|d| DiscrepancyJson {
                kind: names::name_of_i32::<pb::DiscrepancyKind>(d.kind),
                hospital: d.hospital,
                center: d.center,
                setl_id: d.setl_id,
                differing_fields: d.differing_fields,
            })
            .collect(),
        as_of: some(r.as_of),
    }))
}

// ---------------------------------------------------------------------------------------------
// Ingestion, ledger, audit
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct CursorJson {
    partition: String,
    last_seq: i64,
    last_event_at: Option<String>,
    updated_at: String,
    events_ingested: u64,
    duplicates_ignored: u64,
}

#[derive(Debug, Serialize)]
pub struct IngestAnswer {
    partitions: Vec<CursorJson>,
}

/// How far clearing has consumed each routing partition's settlement events (the national
/// operator's).
pub async fn ingest_status(State(state): State<AppState>, caller: Caller) -> Answer<IngestAnswer> {
    caller.clearing_view(ClearingRead::National)?;
    let r = state.clearing().get_ingest_status(pb::GetIngestStatusRequest {}).await?;
    Ok(Json(IngestAnswer {
        partitions: r
            .into_inner()
            .partitions
            .into_iter()
            .map(|c| CursorJson {
                last_event_at: some(c.last_event_at),
                partition: c.partition,
                last_seq: c.last_seq,
                updated_at: c.updated_at,
                events_ingested: c.events_ingested,
                duplicates_ignored: c.duplicates_ignored,
            })
            .collect(),
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BalancesQuery {
    #[serde(deserialize_with = "text")]
    owner: String,
}

#[derive(Debug, Serialize)]
pub struct BalanceJson {
    account: String,
    balance_fen: i64,
}

#[derive(Debug, Serialize)]
pub struct BalancesAnswer {
    balances: Vec<BalanceJson>,
    total_fen: i64,
    postings: u64,
}

/// Ledger balances (debit positive), `?owner=` a province, a hospital or `000000`. A province's
/// operator reads its own province's accounts (`owner` left out means them); `total_fen` is
/// the sum of the balances shown.
pub async fn balances(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<BalancesQuery>,
) -> Answer<BalancesAnswer> {
    let view = caller.clearing_view(ClearingRead::Operators)?;
    let owner = view.region_query(&q.owner)?;
    let r = state.clearing().list_balances(pb::ListBalancesRequest { owner }).await?;
    let r = r.into_inner();
    let balances: Vec<BalanceJson> = r
        .balances
        .into_iter()
        .filter(|b| view.shows_region(b.account.split(':').next().unwrap_or_default()))
        .map(|b| BalanceJson { account: b.account, balance_fen: b.balance_fen })
        .collect();
    let total_fen = match view {
        ClearingView::All => r.total_fen,
        _ => balances.iter().map(|b| b.balance_fen).sum(),
    };
    Ok(Json(BalancesAnswer { balances, total_fen, postings: r.postings }))
}

#[derive(Debug, Serialize)]
pub struct AuditAnswer {
    period_id: String,
    consistent: bool,
    items: u64,
    cells: u64,
    differences: Vec<String>,
    gross_total_fen: i64,
}

/// Recomputes the period's matrix from the raw items and compares it with the kept one.
pub async fn audit_period(
    State(state): State<AppState>,
    caller: Caller,
    Path(period_id): Path<String>,
) -> Answer<AuditAnswer> {
    caller.may(Target::National)?;
    let r = state.clearing().audit_period(pb::AuditPeriodRequest { period_id }).await?;
    let r = r.into_inner();
    Ok(Json(AuditAnswer {
        period_id: r.period_id,
        consistent: r.consistent,
        items: r.items,
        cells: r.cells,
        differences: r.differences,
        gross_total_fen: r.gross_total_fen,
    }))
}

/// The clearing area's routes.
pub fn router() -> Router<AppState> {
    use axum::routing::{get, post};
    const PERIOD: &str = "/api/v1/clearing/periods/{period_id}";
    Router::new()
        .route("/api/v1/clearing/periods", get(list_periods))
        .route(PERIOD, get(get_period))
        .route(&format!("{PERIOD}/close"), post(close_period))
        .route(&format!("{PERIOD}/net"), post(net_period))
        .route(&format!("{PERIOD}/confirm"), post(confirm_period))
        .route(&format!("{PERIOD}/withdraw"), post(withdraw_confirmation))
        .route(&format!("{PERIOD}/disputes"), post(create_dispute).get(list_disputes))
        .route(&format!("{PERIOD}/settle"), post(settle_period))
        .route(&format!("{PERIOD}/netting"), get(get_netting))
        .route(&format!("{PERIOD}/instructions"), get(list_instructions))
        .route(&format!("{PERIOD}/statements/provinces/{{admdvs}}"), get(province_statement))
        .route(&format!("{PERIOD}/statements/hospitals"), get(hospital_statements))
        .route(&format!("{PERIOD}/items"), get(list_items))
        .route(&format!("{PERIOD}/audit"), get(audit_period))
        .route("/api/v1/clearing/prepaid-funds", get(list_funds))
        .route("/api/v1/clearing/prepaid-funds/{admdvs}", get(get_fund))
        .route("/api/v1/clearing/prepaid-funds/{admdvs}/deposits", post(record_deposit))
        .route("/api/v1/clearing/reconcile/totals", post(reconcile_totals))
        .route("/api/v1/clearing/reconcile/details", post(reconcile_details))
        .route("/api/v1/clearing/ingest", get(ingest_status))
        .route("/api/v1/clearing/balances", get(balances))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn amount(body: &str) -> Result<i64, ApiError> {
        let b: DepositBody = parse(body.as_bytes())?;
        deposit_amount(&b.amount_fen, &b.amount)
    }

    #[test]
    fn deposit_amounts_are_exact() {
        assert_eq!(amount(r#"{"amount_fen": 123456}"#), Ok(123456));
        assert_eq!(amount(r#"{"amount_fen": "-500"}"#), Ok(-500));
        assert_eq!(amount(r#"{"amount": "1234.56"}"#), Ok(123456));
        // A JSON number with a fraction has lost its decimal form: refused by name, never rounded.
        assert_eq!(amount(r#"{"amount": 0.1}"#).unwrap_err().code, "invalid_amount");
        assert_eq!(amount(r#"{"amount": 1234.56}"#).unwrap_err().field.as_deref(), Some("amount"));
        assert_eq!(amount(r#"{"amount": 100}"#), Ok(10000));
        assert_eq!(amount(r#"{"amount": "-20.5"}"#), Ok(-2050));
        assert_eq!(amount(r#"{"amount": "1.00", "amount_fen": 100}"#), Ok(100));
        let refused = |body: &str| amount(body).unwrap_err();
        assert_eq!(refused(r#"{"amount": 1.234}"#).field.as_deref(), Some("amount"));
        assert_eq!(refused(r#"{"amount": "1e3"}"#).code, "invalid_amount");
        assert_eq!(refused(r#"{"amount_fen": 1.5}"#).field.as_deref(), Some("amount_fen"));
        assert_eq!(refused(r#"{"amount": "1", "amount_fen": 1}"#).code, "conflicting_amounts");
        assert_eq!(refused("{}").code, "missing_field");
        assert_eq!(refused(r#"{"amount": 12345678901234.567}"#).code, "invalid_amount");
    }

    #[test]
    fn statuses_read_and_write_as_lowercase_words() {
        for status in ["open", "closed", "netted", "confirmed", "settled"] {
            let value = period_status_from(status).unwrap();
            assert_eq!(names::name(value), status);
        }
        assert_eq!(period_status_from(" netted ").unwrap(), pb::PeriodStatus::Netted);
        assert_eq!(period_status_from("").unwrap(), pb::PeriodStatus::Unspecified);
        let refused = period_status_from("done").unwrap_err();
        assert_eq!(refused.field.as_deref(), Some("status"));
        assert_eq!(
            refused.message,
            "status \"done\" is not one of open, closed, netted, confirmed, settled"
        );
    }
}
