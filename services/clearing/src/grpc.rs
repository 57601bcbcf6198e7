//! The gRPC surface: thin. Each call converts its request at the edge, runs the use case, and
//! converts the answer back.

use chrono::{DateTime, Utc};
use medclear_common::{
    Error,
    codes::{self, MessageId},
    wire,
};
use medclear_proto::{
    clearing::v1::{self as pb, clearing_service_server::ClearingService as Api},
    names,
};
use tonic::{Request, Response, Status};

use crate::{
    domain::{
        self, Application, Discrepancy, FundState, Operator, PeriodStatus, ReconDetail, ReconTotals,
    },
    repo::{ApplicationRow, CellRow, ConfirmationRow, DisputeRow, InstructionRow, ItemRow},
    service::{ClearingService, FundView, HospitalStatement, NettingView, PeriodView},
};

/// [`ClearingService`] behind `medclear.clearing.v1.ClearingService`.
#[derive(Debug, Clone)]
pub struct ClearingGrpc(pub ClearingService);

type Reply<T> = Result<Response<T>, Status>;

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn actor(actor: Option<pb::Operator>) -> Result<Operator, Error> {
    let a = actor.unwrap_or_default();
    text("actor.id", &a.id, MAX_ACTOR_ID)?;
    text("actor.name", &a.name, MAX_ACTOR_NAME)?;
    text("actor.admdvs", &a.admdvs, 6)?;
    Operator::new(&a.id, &a.name, &a.admdvs)
}

// What a request may hold, checked here by the boundary rules of `medclear_common::codes`
// (control characters, lengths, patterns): what the service then checks is its own business
// (a province, a period that exists), and nothing a client sends reaches a query, a key or the
// audit trail's JSON unchecked.

/// Free text: no control character, at most `max` characters.
fn text<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, Error> {
    Ok(codes::text(field, value, max)?)
}

/// The longest operator id ([`Operator::new`] holds it to 64) and name.
const MAX_ACTOR_ID: usize = 64;
const MAX_ACTOR_NAME: usize = 200;
/// The longest reason (a withdrawal's, a dispute's) kept: C(500).
const MAX_REASON: usize = 500;
/// The longest bank reference kept.
const MAX_BANK_REFERENCE: usize = 100;
/// The longest date or date-time accepted (`2026-03-02T08:00:00.000+08:00`), with room.
const MAX_DATE: usize = 40;

/// A date by the one rule for them ([`wire::date`]), its control characters and length
/// refused first by name, so a refusal never shows a long value.
fn date(field: &'static str, value: &str) -> Result<chrono::NaiveDate, Error> {
    text(field, value, MAX_DATE)?;
    wire::date(field, value)
}

/// The longest file name kept (the service holds it to 200).
const MAX_FILENAME: usize = 200;
/// The longest period id (`2026-03`; the service keeps 16).
const MAX_PERIOD_ID: usize = 16;

/// A period id: a code of at most 16 characters (`2026-03`).
fn period_id(value: &str) -> Result<&str, Error> {
    Ok(codes::code("period_id", value, MAX_PERIOD_ID)?)
}

/// A province filter: empty (all), else at most an admdvs' 6 characters without control
/// characters (the service matches it against the provinces it holds).
fn province_filter(value: &str) -> Result<&str, Error> {
    Ok(codes::optional_code("province_admdvs", value, 6)?)
}

/// A province the request acts for or asks about: six characters at most; the service checks
/// it is a province (`invalid_admdvs`).
fn province<'a>(field: &str, value: &'a str) -> Result<&'a str, Error> {
    Ok(codes::text(field, value, 6)?)
}

/// A sender's idempotency key ([`MessageId`]).
fn request_id(value: &str) -> Result<String, Error> {
    Ok(MessageId::parse_field("request_id", value)?.to_string())
}

/// A hospital by its `fixmedins_code` pattern.
fn hospital(value: &str) -> Result<String, Error> {
    Ok(codes::fixmedins_code("fixmedins_code", value)?.to_string())
}

/// A filter that may be left empty (all), else its dictionary code.
fn optional<'a>(
    value: &'a str,
    check: fn(&str, &'a str) -> Result<&'a str, codes::Invalid>,
    field: &str,
) -> Result<&'a str, Error> {
    match value.trim() {
        "" => Ok(""),
        _ => Ok(check(field, value)?),
    }
}

/// Settlement ids named by a dispute, each an id ([`codes::id`]) named by its index.
fn setl_ids(ids: &[String]) -> Result<Vec<String>, Error> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| Ok(codes::id(&format!("setl_ids[{i}]"), id)?.to_owned()))
        .collect()
}

fn run(netting_run: u32) -> Result<i32, Error> {
    i32::try_from(netting_run).map_err(|_| {
        Error::invalid("netting_run", "invalid_netting_run", "netting_run is too large")
    })
}

fn status(status: PeriodStatus) -> pb::PeriodStatus {
    match status {
        PeriodStatus::Open => pb::PeriodStatus::Open,
        PeriodStatus::Closed => pb::PeriodStatus::Closed,
        PeriodStatus::Netted => pb::PeriodStatus::Netted,
        PeriodStatus::Confirmed => pb::PeriodStatus::Confirmed,
        PeriodStatus::Settled => pb::PeriodStatus::Settled,
    }
}

/// The operator named by an audit label (`id@province` or `id@national`).
fn labelled(label: String) -> pb::Operator {
    match label.rsplit_once('@') {
        Some((id, province)) => pb::Operator {
            id: id.to_owned(),
            name: String::new(),
            admdvs: if province == "national" { String::new() } else { province.to_owned() },
        },
        None => pb::Operator { id: label, ..pb::Operator::default() },
    }
}

/// Rows keep a confirmation's state and an instruction's status as their proto word
/// (`medclear_proto::names`); the table's CHECK admits no other.
fn confirmation(c: ConfirmationRow) -> pb::ProvinceConfirmation {
    let state = match names::parse(&c.state) {
        Some(pb::ConfirmationState::Confirmed) => pb::ConfirmationState::Confirmed,
        _ => pb::ConfirmationState::Withdrawn,
    };
    pb::ProvinceConfirmation {
        province_admdvs: c.province,
        state: state.into(),
        netting_run: u32::try_from(c.netting_run).unwrap_or(0),
        by: Some(labelled(c.actor)),
        at: c.at.to_rfc3339(),
        reason: c.reason,
    }
}

fn period(v: PeriodView) -> pb::Period {
    let s = PeriodStatus::parse(&v.row.status).unwrap_or(PeriodStatus::Open);
    pb::Period {
        period_id: v.row.period_id,
        begin_date: v.row.begin_date.to_string(),
        end_date: v.row.end_date.to_string(),
        status: status(s).into(),
        opened_at: v.row.opened_at.to_rfc3339(),
        closed_at: time(v.row.closed_at),
        netted_at: time(v.row.netted_at),
        confirmed_at: time(v.row.confirmed_at),
        settled_at: time(v.row.settled_at),
        netting_run: u32::try_from(v.row.netting_run).unwrap_or(0),
        confirmations: v.confirmations.into_iter().map(confirmation).collect(),
        settlement_count: count(v.totals.settlements),
        reversal_count: count(v.totals.reversals),
        gross_total_fen: v.totals.obligation(),
        late_count: count(v.totals.late),
        carried_in_count: count(v.totals.carried_in),
    }
}

fn instruction(i: InstructionRow) -> pb::SettlementInstruction {
    let status = match names::parse(&i.status) {
        Some(pb::InstructionStatus::Unspecified) | None => pb::InstructionStatus::Cancelled,
        Some(status) => status,
    };
    pb::SettlementInstruction {
        instruction_id: i.instruction_id,
        period_id: i.period_id,
        netting_run: u32::try_from(i.netting_run).unwrap_or(0),
        payer_admdvs: i.payer,
        payee_admdvs: i.payee,
        amount_fen: i.amount_fen,
        from_prepaid_fen: i.from_prepaid_fen,
        status: status.into(),
        created_at: i.created_at.to_rfc3339(),
        executed_at: time(i.executed_at),
    }
}

fn cell(c: CellRow) -> pb::BilateralCell {
    let t = c.totals();
    pb::BilateralCell {
        insuplc_admdvs: c.home_province,
        mdtrtarea_admvs: c.treating_province,
        gross_fen: t.obligation(),
        settlement_count: count(t.settlements),
        reversal_count: count(t.reversals),
    }
}

fn netting(v: NettingView) -> pb::NettingResult {
    let efficiency = v.netting.efficiency().to_string();
    pb::NettingResult {
        period_id: v.period.period_id,
        netting_run: u32::try_from(v.period.netting_run).unwrap_or(0),
        gross_total_fen: v.netting.gross,
        sum_abs_net_fen: v.netting.sum_abs_net,
        netting_efficiency: efficiency,
        positions: v
            .netting
            .positions
            .into_iter()
            .map(|(province, p)| pb::NetPosition {
                province_admdvs: province,
                receivable_fen: p.receivable,
                payable_fen: p.payable,
                net_fen: p.net(),
            })
            .collect(),
        matrix: v.matrix.into_iter().map(cell).collect(),
        instructions: v.instructions.into_iter().map(instruction).collect(),
        netted_at: time(v.period.netted_at),
    }
}

fn dispute(d: DisputeRow) -> pb::Dispute {
    pb::Dispute {
        dispute_id: d.dispute_id,
        period_id: d.period_id,
        province_admdvs: d.province,
        setl_ids: d.setl_ids,
        reason: d.reason,
        amount_fen: d.amount_fen,
        carried_to_period_id: d.carried_to,
        status: pb::DisputeStatus::Carried.into(),
        raised_by: Some(labelled(d.actor)),
        raised_at: d.raised_at.to_rfc3339(),
    }
}

fn fund(f: FundView) -> pb::PrepaidFund {
    let state = match f.state {
        FundState::Sufficient => pb::PrepaidFundState::Sufficient,
        FundState::BelowRequired => pb::PrepaidFundState::BelowRequired,
        FundState::BelowAlert => pb::PrepaidFundState::BelowAlert,
    };
    pb::PrepaidFund {
        province_admdvs: f.province,
        deposit_fen: f.deposit,
        required_fen: f.level.required,
        alert_line_fen: f.level.alert_line,
        state: state.into(),
        basis_months: f.level.basis_periods,
        basis_outgoing_fen: f.level.basis_outgoing,
        topup: f.topup.map(|t| pb::TopUpInstruction {
            instruction_id: t.instruction_id,
            province_admdvs: t.province,
            amount_fen: t.amount_fen,
            due_date: t.due_date.to_string(),
            reason: t.reason,
            issued_at: t.issued_at.to_rfc3339(),
            fulfilled: t.fulfilled_at.is_some(),
        }),
        updated_at: f.as_of.to_rfc3339(),
    }
}

fn statement_line(counterparty: String, t: &domain::Totals) -> pb::StatementLine {
    pb::StatementLine {
        counterparty_admdvs: counterparty,
        settlement_count: count(t.settlements),
        reversal_count: count(t.reversals),
        medfee_sumamt_fen: t.medfee_sumamt,
        fund_pay_sumamt_fen: t.fund_pay_sumamt,
        acct_pay_fen: t.acct_pay,
        obligation_fen: t.obligation(),
    }
}

fn hospital_statement(period_id: &str, s: HospitalStatement) -> pb::HospitalStatement {
    let applied = |f: fn(&ApplicationRow) -> i64| s.applications.iter().map(f).sum::<i64>();
    pb::HospitalStatement {
        applied: !s.applications.is_empty(),
        applied_psntime: count(applied(|a| a.psntime)),
        applied_medfee_sumamt_fen: applied(|a| a.medfee_sumamt),
        applied_fund_appy_sum_fen: applied(|a| a.fund_appy_sum),
        applied_acct_pay_fen: applied(|a| a.acct_pay),
        applied_cash_payamt_fen: applied(|a| a.cash_payamt),
        clr_appy_evt_ids: s.applications.iter().map(|a| a.clr_appy_evt_id.clone()).collect(),
        period_id: period_id.to_owned(),
        mdtrtarea_admvs: s.treating,
        fixmedins_code: s.fixmedins_code,
        settlement_count: count(s.totals.settlements),
        reversal_count: count(s.totals.reversals),
        medfee_sumamt_fen: s.totals.medfee_sumamt,
        fund_pay_sumamt_fen: s.totals.fund_pay_sumamt,
        acct_pay_fen: s.totals.acct_pay,
        psn_cash_pay_fen: s.totals.psn_cash_pay,
        payable_to_hospital_fen: s.totals.obligation(),
        by_home_province: s
            .by_home
            .iter()
            .map(|h| statement_line(h.home_province.clone(), &h.totals()))
            .collect(),
    }
}

fn cleared_item(i: ItemRow) -> pb::ClearedItem {
    pb::ClearedItem {
        obligation_fen: i.fund_pay_sumamt + i.acct_pay,
        setl_id: i.setl_id,
        kind: i.kind,
        orig_setl_id: i.orig_setl_id.unwrap_or_default(),
        insuplc_admdvs: i.home_province,
        mdtrtarea_admvs: i.treating_province,
        fixmedins_code: i.fixmedins_code,
        insutype: i.insutype,
        clr_type: i.clr_type,
        psn_no: i.psn_no,
        msgid: i.msgid,
        mdtrt_id: i.mdtrt_id,
        medfee_sumamt_fen: i.medfee_sumamt,
        fund_pay_sumamt_fen: i.fund_pay_sumamt,
        acct_pay_fen: i.acct_pay,
        psn_cash_pay_fen: i.psn_cash_pay,
        setl_time: i.setl_time.to_rfc3339(),
        stmt_date: i.stmt_date.to_string(),
        period_id: i.period_id,
        late: i.late,
        carried_from_period_id: i.carried_from.unwrap_or_default(),
    }
}

/// The longest memo of a revocation kept: C(500).
const MAX_MEMO: usize = 500;
/// 清算方式 `clr_way`: C(30) in the national 3203.
const MAX_CLR_WAY: usize = 30;

/// A 3203 request as the service takes it: the sender's msgid and the declaration, each field
/// checked here by its form (what it means, the service checks).
fn application(r: pb::ApplyForClearingRequest) -> Result<(String, Application), Error> {
    let request_id = request_id(&r.request_id)?;
    let month = domain::parse_setlym(text("setlym", &r.setlym, 6)?)?;
    let amount = |field: &'static str, fen: i64| {
        if fen < 0 {
            return Err(Error::invalid(field, "invalid_amount", format!("{field} is negative")));
        }
        Ok(fen)
    };
    let application = Application {
        fixmedins_code: hospital(&r.fixmedins_code)?,
        clr_type: codes::clr_type("clr_type", &r.clr_type)?.to_owned(),
        clr_way: codes::code("clr_way", &r.clr_way, MAX_CLR_WAY)?.to_owned(),
        month,
        begndate: date("begndate", &r.begndate)?,
        enddate: date("enddate", &r.enddate)?,
        psntime: i64::try_from(r.psntime)
            .map_err(|_| Error::invalid("psntime", "invalid_amount", "psntime is too large"))?,
        medfee_sumamt: amount("medfee_sumamt_fen", r.medfee_sumamt_fen)?,
        med_sumfee: amount("med_sumfee_fen", r.med_sumfee_fen)?,
        fund_appy_sum: amount("fund_appy_sum_fen", r.fund_appy_sum_fen)?,
        cash_payamt: amount("cash_payamt_fen", r.cash_payamt_fen)?,
        acct_pay: amount("acct_pay_fen", r.acct_pay_fen)?,
    };
    Ok((request_id, application))
}

fn pb_application(a: ApplicationRow) -> pb::ClearingApplication {
    let status = a.status().to_owned();
    pb::ClearingApplication {
        clr_appy_evt_id: a.clr_appy_evt_id,
        fixmedins_code: a.fixmedins_code,
        clr_type: a.clr_type,
        clr_way: a.clr_way,
        setlym: a.setlym,
        begndate: a.begndate.to_string(),
        enddate: a.enddate.to_string(),
        period_id: a.period_id,
        psntime: count(a.psntime),
        medfee_sumamt_fen: a.medfee_sumamt,
        med_sumfee_fen: a.med_sumfee,
        fund_appy_sum_fen: a.fund_appy_sum,
        cash_payamt_fen: a.cash_payamt,
        acct_pay_fen: a.acct_pay,
        status,
        applied_at: a.applied_at.to_rfc3339(),
        revoked_at: time(a.revoked_at),
        memo: a.memo,
    }
}

fn recon_totals(t: Option<pb::ReconTotals>) -> Result<ReconTotals, Error> {
    let t = t.unwrap_or_default();
    Ok(ReconTotals {
        setl_cnt: i64::try_from(t.setl_cnt).map_err(|_| {
            Error::invalid("hospital.setl_cnt", "invalid_count", "setl_cnt is too large")
        })?,
        medfee_sumamt: t.medfee_sumamt_fen,
        fund_pay_sumamt: t.fund_pay_sumamt_fen,
        acct_pay: t.acct_pay_fen,
    })
}

fn pb_totals(t: ReconTotals) -> pb::ReconTotals {
    pb::ReconTotals {
        setl_cnt: count(t.setl_cnt),
        medfee_sumamt_fen: t.medfee_sumamt,
        fund_pay_sumamt_fen: t.fund_pay_sumamt,
        acct_pay_fen: t.acct_pay,
    }
}

fn detail(d: pb::ReconDetail) -> ReconDetail {
    ReconDetail {
        setl_id: d.setl_id,
        msgid: d.msgid,
        mdtrt_id: d.mdtrt_id,
        psn_no: d.psn_no,
        medfee_sumamt: d.medfee_sumamt_fen,
        fund_pay_sumamt: d.fund_pay_sumamt_fen,
        acct_pay: d.acct_pay_fen,
        refd_setl_flag: d.refd_setl_flag,
    }
}

fn pb_detail(d: ReconDetail) -> pb::ReconDetail {
    pb::ReconDetail {
        setl_id: d.setl_id,
        msgid: d.msgid,
        mdtrt_id: d.mdtrt_id,
        psn_no: d.psn_no,
        medfee_sumamt_fen: d.medfee_sumamt,
        fund_pay_sumamt_fen: d.fund_pay_sumamt,
        acct_pay_fen: d.acct_pay,
        refd_setl_flag: d.refd_setl_flag,
    }
}

fn discrepancy(d: Discrepancy) -> pb::ReconDiscrepancy {
    match d {
        Discrepancy::MissingAtCenter(h) => pb::ReconDiscrepancy {
            setl_id: h.setl_id.clone(),
            kind: pb::DiscrepancyKind::MissingAtCenter.into(),
            hospital: Some(pb_detail(h)),
            ..pb::ReconDiscrepancy::default()
        },
        Discrepancy::MissingAtHospital(c) => pb::ReconDiscrepancy {
            setl_id: c.setl_id.clone(),
            kind: pb::DiscrepancyKind::MissingAtHospital.into(),
            center: Some(pb_detail(c)),
            ..pb::ReconDiscrepancy::default()
        },
        Discrepancy::Differs { hospital, center, fields } => pb::ReconDiscrepancy {
            setl_id: hospital.setl_id.clone(),
            kind: pb::DiscrepancyKind::Differs.into(),
            hospital: Some(pb_detail(hospital)),
            center: Some(pb_detail(center)),
            differing_fields: fields.into_iter().map(str::to_owned).collect(),
        },
    }
}

fn result(matches: bool) -> pb::ReconResult {
    if matches { pb::ReconResult::Match } else { pb::ReconResult::Mismatch }
}

#[tonic::async_trait]
impl Api for ClearingGrpc {
    #[tracing::instrument(skip_all, name = "GetPeriod")]
    async fn get_period(&self, request: Request<pb::GetPeriodRequest>) -> Reply<pb::Period> {
        let r = request.into_inner();
        Ok(Response::new(period(self.0.period(period_id(&r.period_id)?).await?)))
    }

    #[tracing::instrument(skip_all, name = "ListPeriods")]
    async fn list_periods(
        &self,
        request: Request<pb::ListPeriodsRequest>,
    ) -> Reply<pb::ListPeriodsResponse> {
        let filter = match pb::PeriodStatus::try_from(request.into_inner().status) {
            Ok(pb::PeriodStatus::Open) => Some(PeriodStatus::Open),
            Ok(pb::PeriodStatus::Closed) => Some(PeriodStatus::Closed),
            Ok(pb::PeriodStatus::Netted) => Some(PeriodStatus::Netted),
            Ok(pb::PeriodStatus::Confirmed) => Some(PeriodStatus::Confirmed),
            Ok(pb::PeriodStatus::Settled) => Some(PeriodStatus::Settled),
            Ok(pb::PeriodStatus::Unspecified) => None,
            Err(_) => {
                return Err(
                    Error::invalid("status", "invalid_status", "unknown period status").into()
                );
            }
        };
        let periods = self.0.periods(filter).await?.into_iter().map(period).collect();
        Ok(Response::new(pb::ListPeriodsResponse { periods }))
    }

    #[tracing::instrument(skip_all, name = "ClosePeriod")]
    async fn close_period(&self, request: Request<pb::ClosePeriodRequest>) -> Reply<pb::Period> {
        let r = request.into_inner();
        let actor = actor(r.actor)?;
        Ok(Response::new(period(self.0.close(period_id(&r.period_id)?, &actor).await?)))
    }

    #[tracing::instrument(skip_all, name = "NetPeriod")]
    async fn net_period(&self, request: Request<pb::NetPeriodRequest>) -> Reply<pb::NettingResult> {
        let r = request.into_inner();
        let actor = actor(r.actor)?;
        Ok(Response::new(netting(self.0.net(period_id(&r.period_id)?, &actor).await?)))
    }

    #[tracing::instrument(skip_all, name = "ConfirmPeriod")]
    async fn confirm_period(
        &self,
        request: Request<pb::ConfirmPeriodRequest>,
    ) -> Reply<pb::Period> {
        let r = request.into_inner();
        let actor = actor(r.actor)?;
        let (id, province) =
            (period_id(&r.period_id)?, province("province_admdvs", &r.province_admdvs)?);
        let view = self.0.confirm(id, province, run(r.netting_run)?, &actor).await?;
        Ok(Response::new(period(view)))
    }

    #[tracing::instrument(skip_all, name = "WithdrawConfirmation")]
    async fn withdraw_confirmation(
        &self,
        request: Request<pb::WithdrawConfirmationRequest>,
    ) -> Reply<pb::Period> {
        let r = request.into_inner();
        let actor = actor(r.actor)?;
        let (id, province) =
            (period_id(&r.period_id)?, province("province_admdvs", &r.province_admdvs)?);
        let reason = text("reason", &r.reason, MAX_REASON)?;
        let view = self.0.withdraw(id, province, reason, &actor).await?;
        Ok(Response::new(period(view)))
    }

    #[tracing::instrument(skip_all, name = "DisputeItems")]
    async fn dispute_items(&self, request: Request<pb::DisputeRequest>) -> Reply<pb::Dispute> {
        let r = request.into_inner();
        let actor = actor(r.actor)?;
        let request_id = request_id(&r.request_id)?;
        let (id, province) =
            (period_id(&r.period_id)?, province("province_admdvs", &r.province_admdvs)?);
        let reason = text("reason", &r.reason, MAX_REASON)?;
        let ids = setl_ids(&r.setl_ids)?;
        let d = self.0.dispute(&request_id, id, province, &ids, reason, &actor).await?;
        Ok(Response::new(dispute(d)))
    }

    #[tracing::instrument(skip_all, name = "ListDisputes")]
    async fn list_disputes(
        &self,
        request: Request<pb::ListDisputesRequest>,
    ) -> Reply<pb::ListDisputesResponse> {
        let r = request.into_inner();
        let disputes =
            self.0.disputes(period_id(&r.period_id)?, province_filter(&r.province_admdvs)?).await?;
        Ok(Response::new(pb::ListDisputesResponse {
            disputes: disputes.into_iter().map(dispute).collect(),
        }))
    }

    #[tracing::instrument(skip_all, name = "SettlePeriod")]
    async fn settle_period(&self, request: Request<pb::SettlePeriodRequest>) -> Reply<pb::Period> {
        let r = request.into_inner();
        let actor = actor(r.actor)?;
        Ok(Response::new(period(self.0.settle(period_id(&r.period_id)?, &actor).await?)))
    }

    #[tracing::instrument(skip_all, name = "GetNettingResult")]
    async fn get_netting_result(
        &self,
        request: Request<pb::GetNettingResultRequest>,
    ) -> Reply<pb::NettingResult> {
        let r = request.into_inner();
        let id = period_id(&r.period_id)?;
        Ok(Response::new(netting(self.0.netting(id, r.include_matrix).await?)))
    }

    #[tracing::instrument(skip_all, name = "ListSettlementInstructions")]
    async fn list_settlement_instructions(
        &self,
        request: Request<pb::ListSettlementInstructionsRequest>,
    ) -> Reply<pb::ListSettlementInstructionsResponse> {
        let r = request.into_inner();
        let (id, province) = (period_id(&r.period_id)?, province_filter(&r.province_admdvs)?);
        let rows = self.0.instructions(id, province).await?;
        Ok(Response::new(pb::ListSettlementInstructionsResponse {
            instructions: rows.into_iter().map(instruction).collect(),
        }))
    }

    #[tracing::instrument(skip_all, name = "GetPrepaidFund")]
    async fn get_prepaid_fund(
        &self,
        request: Request<pb::GetPrepaidFundRequest>,
    ) -> Reply<pb::PrepaidFund> {
        let r = request.into_inner();
        Ok(Response::new(fund(
            self.0.fund(province("province_admdvs", &r.province_admdvs)?).await?,
        )))
    }

    #[tracing::instrument(skip_all, name = "ListPrepaidFunds")]
    async fn list_prepaid_funds(
        &self,
        _request: Request<pb::ListPrepaidFundsRequest>,
    ) -> Reply<pb::ListPrepaidFundsResponse> {
        let funds = self.0.funds().await?.into_iter().map(fund).collect();
        Ok(Response::new(pb::ListPrepaidFundsResponse { funds }))
    }

    #[tracing::instrument(skip_all, name = "RecordPrepaidDeposit")]
    async fn record_prepaid_deposit(
        &self,
        request: Request<pb::RecordPrepaidDepositRequest>,
    ) -> Reply<pb::PrepaidFund> {
        let r = request.into_inner();
        let actor = actor(r.actor)?;
        let request_id = request_id(&r.request_id)?;
        let province = province("province_admdvs", &r.province_admdvs)?;
        let value_date = date("value_date", &r.value_date)?;
        let bank_reference = text("bank_reference", &r.bank_reference, MAX_BANK_REFERENCE)?;
        let view = self
            .0
            .deposit(&request_id, province, r.amount_fen, value_date, bank_reference, &actor)
            .await?;
        Ok(Response::new(fund(view)))
    }

    #[tracing::instrument(skip_all, name = "GetProvinceStatement")]
    async fn get_province_statement(
        &self,
        request: Request<pb::GetProvinceStatementRequest>,
    ) -> Reply<pb::ProvinceStatement> {
        let r = request.into_inner();
        let (id, province) =
            (period_id(&r.period_id)?, province("province_admdvs", &r.province_admdvs)?);
        let s = self.0.province_statement(id, province).await?;
        let as_home =
            s.as_home.iter().map(|c| statement_line(c.treating_province.clone(), &c.totals()));
        let as_treating =
            s.as_treating.iter().map(|c| statement_line(c.home_province.clone(), &c.totals()));
        Ok(Response::new(pb::ProvinceStatement {
            period_id: s.period.period_id,
            province_admdvs: s.province,
            netting_run: u32::try_from(s.period.netting_run).unwrap_or(0),
            as_home: as_home.collect(),
            as_treating: as_treating.collect(),
            payable_fen: s.position.payable,
            receivable_fen: s.position.receivable,
            net_fen: s.position.net(),
            disputed_fen: s.disputed,
            prepaid_drawn_fen: s.prepaid_drawn,
            instructions: s.instructions.into_iter().map(instruction).collect(),
            generated_at: s.generated_at.to_rfc3339(),
        }))
    }

    #[tracing::instrument(skip_all, name = "ListHospitalStatements")]
    async fn list_hospital_statements(
        &self,
        request: Request<pb::ListHospitalStatementsRequest>,
    ) -> Reply<pb::ListHospitalStatementsResponse> {
        let r = request.into_inner();
        let size = if r.page_size == 0 { 100 } else { r.page_size };
        let id = period_id(&r.period_id)?;
        let treating = province("mdtrtarea_admvs", &r.mdtrtarea_admvs)?;
        let fixmedins_code = match r.fixmedins_code.trim() {
            "" => String::new(),
            _ => hospital(&r.fixmedins_code)?,
        };
        // The last hospital of the page before.
        let after = codes::optional_code("page_token", &r.page_token, 12).map_err(Error::from)?;
        let (statements, next) =
            self.0.hospital_statements(id, treating, &fixmedins_code, after, size).await?;
        Ok(Response::new(pb::ListHospitalStatementsResponse {
            statements: statements
                .into_iter()
                .map(|s| hospital_statement(&r.period_id, s))
                .collect(),
            next_page_token: next,
        }))
    }

    #[tracing::instrument(skip_all, name = "ListPeriodItems")]
    async fn list_period_items(
        &self,
        request: Request<pb::ListPeriodItemsRequest>,
    ) -> Reply<pb::ListPeriodItemsResponse> {
        let r = request.into_inner();
        let (id, fixmedins_code) = (period_id(&r.period_id)?, hospital(&r.fixmedins_code)?);
        // The last setl_id of the page before.
        let after = codes::optional_code("page_token", &r.page_token, codes::ID_LEN)
            .map_err(Error::from)?;
        let (items, next) = self.0.period_items(id, &fixmedins_code, after, r.page_size).await?;
        Ok(Response::new(pb::ListPeriodItemsResponse {
            items: items.into_iter().map(cleared_item).collect(),
            next_page_token: next,
        }))
    }

    #[tracing::instrument(skip_all, name = "ReconcileTotals")]
    async fn reconcile_totals(
        &self,
        request: Request<pb::ReconcileTotalsRequest>,
    ) -> Reply<pb::ReconcileTotalsResponse> {
        let r = request.into_inner();
        let fixmedins_code = hospital(&r.fixmedins_code)?;
        let day = date("stmt_date", &r.stmt_date)?;
        let insutype = optional(&r.insutype, codes::insutype, "insutype")?;
        let clr_type = optional(&r.clr_type, codes::clr_type, "clr_type")?;
        let hospital = recon_totals(r.hospital)?;
        let (center, difference, as_of) =
            self.0.reconcile_totals(&fixmedins_code, day, insutype, clr_type, &hospital).await?;
        Ok(Response::new(pb::ReconcileTotalsResponse {
            stmt_rslt: result(difference.is_none()).into(),
            stmt_rslt_dscr: difference.unwrap_or_else(|| "平 (totals match)".into()),
            hospital: Some(pb_totals(hospital)),
            center: Some(pb_totals(center)),
            as_of: time(as_of),
        }))
    }

    #[tracing::instrument(skip_all, name = "ReconcileDetails")]
    async fn put_file(&self, request: Request<pb::PutFileRequest>) -> Reply<pb::FileRef> {
        let r = request.into_inner();
        let fixmedins_code = hospital(&r.fixmedins_code)?;
        let filename = text("filename", &r.filename, MAX_FILENAME)?;
        let msgid = match r.msgid.trim() {
            "" => String::new(),
            _ => MessageId::parse(&r.msgid).map_err(Error::from)?.to_string(),
        };
        let file = self.0.put_file(&fixmedins_code, filename, &r.kind, r.content, &msgid).await?;
        Ok(Response::new(pb::FileRef { file_qury_no: file.file_qury_no, filename: file.filename }))
    }

    async fn get_file(&self, request: Request<pb::GetFileRequest>) -> Reply<pb::FileContent> {
        let r = request.into_inner();
        let fixmedins_code = hospital(&r.fixmedins_code)?;
        let file_qury_no = codes::id("file_qury_no", &r.file_qury_no).map_err(Error::from)?;
        let file = self.0.get_file(&fixmedins_code, file_qury_no).await?;
        Ok(Response::new(pb::FileContent {
            filename: file.filename,
            kind: file.kind,
            content: file.content,
        }))
    }

    async fn reconcile_details(
        &self,
        request: Request<pb::ReconcileDetailsRequest>,
    ) -> Reply<pb::ReconcileDetailsResponse> {
        let r = request.into_inner();
        let fixmedins_code = hospital(&r.fixmedins_code)?;
        let day = date("stmt_date", &r.stmt_date)?;
        let insutype = optional(&r.insutype, codes::insutype, "insutype")?.to_owned();
        let clr_type = optional(&r.clr_type, codes::clr_type, "clr_type")?.to_owned();
        let hospital = r.details.into_iter().map(detail).collect();
        let (matched, discrepancies, as_of) =
            self.0.reconcile_details(&fixmedins_code, day, &insutype, &clr_type, hospital).await?;
        Ok(Response::new(pb::ReconcileDetailsResponse {
            stmt_rslt: result(discrepancies.is_empty()).into(),
            matched_count: matched,
            discrepancies: discrepancies.into_iter().map(discrepancy).collect(),
            as_of: time(as_of),
        }))
    }

    #[tracing::instrument(skip_all, name = "ApplyForClearing")]
    async fn apply_for_clearing(
        &self,
        request: Request<pb::ApplyForClearingRequest>,
    ) -> Reply<pb::ClearingApplication> {
        let (request_id, application) = application(request.into_inner())?;
        let row = self.0.apply(&request_id, &application).await?;
        Ok(Response::new(pb_application(row)))
    }

    #[tracing::instrument(skip_all, name = "RevokeClearingApplication")]
    async fn revoke_clearing_application(
        &self,
        request: Request<pb::RevokeClearingApplicationRequest>,
    ) -> Reply<pb::ClearingApplication> {
        let r = request.into_inner();
        let request_id = request_id(&r.request_id)?;
        let fixmedins_code = hospital(&r.fixmedins_code)?;
        let id = codes::id("clr_appy_evt_id", &r.clr_appy_evt_id).map_err(Error::from)?;
        let memo = text("memo", &r.memo, MAX_MEMO)?;
        let row = self.0.revoke_application(&request_id, &fixmedins_code, id, memo).await?;
        Ok(Response::new(pb_application(row)))
    }

    #[tracing::instrument(skip_all, name = "ListClearingApplications")]
    async fn list_clearing_applications(
        &self,
        request: Request<pb::ListClearingApplicationsRequest>,
    ) -> Reply<pb::ListClearingApplicationsResponse> {
        let r = request.into_inner();
        let period =
            codes::optional_code("period_id", &r.period_id, MAX_PERIOD_ID).map_err(Error::from)?;
        let fixmedins_code = match r.fixmedins_code.trim() {
            "" => String::new(),
            _ => hospital(&r.fixmedins_code)?,
        };
        let status = codes::optional_code("status", &r.status, 10).map_err(Error::from)?;
        // The last id of the page before.
        let after = codes::optional_code("page_token", &r.page_token, codes::ID_LEN)
            .map_err(Error::from)?;
        let (rows, next) =
            self.0.applications(period, &fixmedins_code, status, after, r.page_size).await?;
        Ok(Response::new(pb::ListClearingApplicationsResponse {
            applications: rows.into_iter().map(pb_application).collect(),
            next_page_token: next,
        }))
    }

    #[tracing::instrument(skip_all, name = "GetIngestStatus")]
    async fn get_ingest_status(
        &self,
        _request: Request<pb::GetIngestStatusRequest>,
    ) -> Reply<pb::GetIngestStatusResponse> {
        let partitions = self
            .0
            .ingest_status()
            .await?
            .into_iter()
            .map(|c| pb::PartitionCursor {
                partition: c.source,
                last_seq: c.last_seq,
                last_event_at: time(c.last_event_at),
                updated_at: c.updated_at.to_rfc3339(),
                events_ingested: count(c.events_ingested),
                duplicates_ignored: count(c.duplicates_ignored),
            })
            .collect();
        Ok(Response::new(pb::GetIngestStatusResponse { partitions }))
    }

    #[tracing::instrument(skip_all, name = "ListBalances")]
    async fn list_balances(
        &self,
        request: Request<pb::ListBalancesRequest>,
    ) -> Reply<pb::ListBalancesResponse> {
        let r = request.into_inner();
        // A province admdvs, a fixmedins_code or 000000; empty: every account.
        let owner = codes::optional_code("owner", &r.owner, 12).map_err(Error::from)?;
        let (rows, postings) = self.0.balances(owner).await?;
        Ok(Response::new(pb::ListBalancesResponse {
            total_fen: rows.iter().map(|(_, b)| b).sum(),
            balances: rows
                .into_iter()
                .map(|(account, balance_fen)| pb::AccountBalance { account, balance_fen })
                .collect(),
            postings: count(postings),
        }))
    }

    #[tracing::instrument(skip_all, name = "AuditPeriod")]
    async fn audit_period(
        &self,
        request: Request<pb::AuditPeriodRequest>,
    ) -> Reply<pb::AuditPeriodResponse> {
        let period_id = period_id(&request.into_inner().period_id)?.to_owned();
        let outcome = self.0.audit_period(&period_id).await?;
        Ok(Response::new(pb::AuditPeriodResponse {
            period_id,
            consistent: outcome.differences.is_empty(),
            items: count(outcome.items),
            cells: u64::try_from(outcome.cells).unwrap_or(0),
            differences: outcome.differences,
            gross_total_fen: outcome.gross,
        }))
    }
}
