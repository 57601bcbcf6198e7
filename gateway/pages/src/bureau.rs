//! `/bureau/…`: the pages of provincial bureaus and of the national clearing operator.
//!
//! A province's operator sees its clearing periods, a period's net positions, a chart of what
//! it is owed and owes by counterpart province (from the period's bilateral matrix), its
//! prepaid fund against the alert line, and confirms or disputes — for its own province only.
//! The national operator sees every province and closes, nets and settles periods.
//!
//! Operators are who their client certificate says over HTTPS. On plain HTTP on loopback
//! (development) `/bureau/sign-in` picks an operator and sets a signed session cookie; over
//! HTTPS that page does not exist (404) and the cookie is ignored ([`medclear_gateway::access`]).

use axum::{
    Form,
    extract::{FromRequestParts, Path, Query, State},
    http::{HeaderMap, StatusCode, request::Parts},
    response::Response,
};
use medclear_proto::clearing::v1 as cpb;
use serde::Deserialize;

use super::{
    Regions,
    layout::{
        Ctx, T, csrf_field, described, document, error_summary, esc, field, html, message_page,
        money, same_origin, see_other, upstream_failure,
    },
    refused_form,
};
use crate::svg;
use medclear_gateway::{
    AppState,
    access::{ClearingRead, Principal, Target, authorize, clearing_view},
    api::clearing::{netting_as_seen, period_as_seen},
    caller::{PageActor, PageSession},
    session::{OPERATOR_COOKIE, OPERATOR_TTL, set_cookie},
};

/// The operator of a bureau page, or the answer that sends them to sign in (development) or
/// says a certificate is needed (HTTPS).
pub(crate) fn operator(ctx: &Ctx, session: &PageSession) -> Result<PageActor, Response> {
    match session.operator_actor() {
        Some(actor) => Ok(actor),
        None if session.development() => Err(see_other("/bureau/sign-in", &[])),
        None => Err(message_page(
            ctx,
            StatusCode::UNAUTHORIZED,
            T::NeedCertificate,
            T::NeedCertificateText,
        )),
    }
}

/// A bureau page's request from a signed-in operator: its context, session and operator. Any
/// other request is answered as [`operator`] answers it (sign in, or 401).
#[derive(Debug)]
pub struct OperatorRequest {
    pub ctx: Ctx,
    pub session: PageSession,
    pub actor: PageActor,
}

impl FromRequestParts<AppState> for OperatorRequest {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Ok(ctx) = Ctx::from_request_parts(parts, state).await;
        let Ok(session) = PageSession::from_request_parts(parts, state).await;
        let actor = operator(&ctx, &session)?;
        Ok(Self { ctx, session, actor })
    }
}

/// 403 unless the operator may act on `target` (the same rule as for certificates).
fn allowed(ctx: &Ctx, actor: &PageActor, target: Target<'_>) -> Result<(), Response> {
    authorize(&actor.principal, target)
        .map_err(|_| message_page(ctx, StatusCode::FORBIDDEN, T::Forbidden, T::ForbiddenText))
}

/// The operator's own page.
fn own_page(principal: &Principal) -> String {
    match principal {
        Principal::ProvinceOperator(province) => format!("/bureau/{province}"),
        _ => "/bureau/national".to_owned(),
    }
}

/// Who acts, for clearing's audit trail and its own province check.
fn actor_pb(principal: &Principal) -> cpb::Operator {
    let admdvs = match principal {
        Principal::ProvinceOperator(province) => province.clone(),
        _ => String::new(),
    };
    cpb::Operator { id: principal.label(), name: String::new(), admdvs }
}

pub(crate) fn page(
    ctx: &Ctx,
    state: &AppState,
    session: &PageSession,
    actor: &PageActor,
    status: StatusCode,
    title: &str,
    main: &str,
) -> Response {
    let own = own_page(&actor.principal);
    let label = match &actor.principal {
        Principal::NationalOperator => ctx.t(T::National),
        _ => ctx.t(T::ClearingPeriods),
    };
    let nav = [(own.as_str(), label), ("/bureau/policies", ctx.t(T::Policies))];
    // Only a development session can be signed out of; a certificate stays what it is.
    let sign_out = if session.operator.is_some() && session.development() {
        format!(
            "<form method=\"post\" action=\"/bureau/sign-out\">{}<button type=\"submit\">{}</button></form>",
            csrf_field(&state.pages().csrf(&actor.session)),
            ctx.t(T::SignOut)
        )
    } else {
        String::new()
    };
    html(ctx, status, document(ctx, title, &nav, &sign_out, main))
}

/// The way to the operator's policy documents.
fn policies_link(ctx: &Ctx, principal: &Principal) -> String {
    format!(
        "<p><a class=\"button\" href=\"/bureau/policies\" id=\"policies-link\">{}</a> {}</p>",
        ctx.t(T::Policies),
        match principal {
            Principal::NationalOperator => ctx.t(T::PoliciesNationalText),
            _ => ctx.t(T::PoliciesText),
        }
    )
}

fn is_province(code: &str) -> bool {
    code.len() == 6
        && code.bytes().all(|b| b.is_ascii_digit())
        && code.ends_with("0000")
        && code != "000000"
}

fn period_status(ctx: &Ctx, value: i32) -> &'static str {
    match cpb::PeriodStatus::try_from(value).unwrap_or(cpb::PeriodStatus::Unspecified) {
        cpb::PeriodStatus::Open => ctx.t(T::StOpen),
        cpb::PeriodStatus::Closed => ctx.t(T::StClosed),
        cpb::PeriodStatus::Netted => ctx.t(T::StNetted),
        cpb::PeriodStatus::Confirmed => ctx.t(T::StConfirmed),
        cpb::PeriodStatus::Settled => ctx.t(T::StSettled),
        cpb::PeriodStatus::Unspecified => "",
    }
}

fn confirmation_state(ctx: &Ctx, value: i32) -> &'static str {
    match cpb::ConfirmationState::try_from(value).unwrap_or(cpb::ConfirmationState::Unspecified) {
        cpb::ConfirmationState::Confirmed => ctx.t(T::Confirmed),
        cpb::ConfirmationState::Withdrawn => ctx.t(T::Withdrawn),
        _ => ctx.t(T::Pending),
    }
}

fn fund_state(ctx: &Ctx, value: i32) -> &'static str {
    match cpb::PrepaidFundState::try_from(value).unwrap_or(cpb::PrepaidFundState::Unspecified) {
        cpb::PrepaidFundState::BelowAlert => ctx.t(T::BelowAlert),
        cpb::PrepaidFundState::BelowRequired => ctx.t(T::BelowRequired),
        _ => ctx.t(T::Sufficient),
    }
}

fn same_province(a: &str, b: &str) -> bool {
    a.get(..2).is_some() && a.get(..2) == b.get(..2)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Done {
    done: String,
}

fn done_notice(ctx: &Ctx, done: &Done) -> String {
    let text = match done.done.as_str() {
        "" => return String::new(),
        "confirmed" => ctx.t(T::ConfirmedNotice),
        "disputed" => ctx.t(T::DisputedNotice),
        _ => ctx.t(T::ActionDone),
    };
    format!("<p class=\"notice\" role=\"status\">{text}</p>")
}

/// `/bureau`: the operator's own page.
pub async fn home(OperatorRequest { actor, .. }: OperatorRequest) -> Response {
    see_other(&own_page(&actor.principal), &[])
}

// ---------------------------------------------------------------------------------------------
// Development sign-in
// ---------------------------------------------------------------------------------------------

/// `/bureau/sign-in`: development only — anywhere else there is no such page.
pub async fn sign_in_page(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
) -> Response {
    if !session.development() {
        return message_page(&ctx, StatusCode::NOT_FOUND, T::NotFound, T::NotFoundText);
    }
    let regions = match Regions::load(&state).await {
        Ok(r) => r,
        Err(status) => return upstream_failure(&ctx, &status),
    };
    let mut options = format!("<option value=\"000000\">{}</option>", ctx.t(T::NationalOperator));
    for province in regions.provinces() {
        options.push_str(&format!(
            "<option value=\"{code}\">{}{} ({code})</option>",
            ctx.t(T::OperatorOf),
            esc(&regions.name(&province.admdvs, ctx.lang)),
            code = esc(&province.admdvs)
        ));
    }
    let control = format!(
        "<select id=\"who\" name=\"who\"{}>{options}</select>",
        described("who", true, false)
    );
    let main = format!(
        "<h1>{}</h1><p class=\"dev\" role=\"note\">{}</p><form method=\"post\" action=\"/bureau/sign-in\" \
         class=\"card\">{}<button type=\"submit\">{}</button></form>",
        ctx.t(T::BureauSignIn),
        ctx.t(T::BureauSignInText),
        field("who", ctx.t(T::SignInAs), &control, ctx.t(T::BureauSignInText), None),
        ctx.t(T::SignIn)
    );
    html(&ctx, StatusCode::OK, document(&ctx, ctx.t(T::BureauSignIn), &[], "", &main))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInForm {
    who: String,
}

pub async fn sign_in(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !session.development() {
        return message_page(&ctx, StatusCode::NOT_FOUND, T::NotFound, T::NotFoundText);
    }
    if !same_origin(&headers) {
        return refused_form(&ctx);
    }
    let principal = Principal::from_common_name(&format!("OP-{}", form.who.trim()));
    let Some(token) = principal.as_ref().and_then(|p| state.pages().operator_token(p)) else {
        return message_page(&ctx, StatusCode::BAD_REQUEST, T::NotFound, T::NotFoundText);
    };
    let own = principal.as_ref().map(own_page).unwrap_or_default();
    see_other(&own, &[set_cookie(OPERATOR_COOKIE, &token, OPERATOR_TTL, false)])
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn sign_out(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let Some((_, token)) = session.operator.clone() else { return see_other("/", &[]) };
    if !same_origin(&headers) || !state.pages().csrf_ok(&token, &form.csrf) {
        return refused_form(&ctx);
    }
    see_other("/", &[set_cookie(OPERATOR_COOKIE, "", std::time::Duration::ZERO, session.secure())])
}

// ---------------------------------------------------------------------------------------------
// A province
// ---------------------------------------------------------------------------------------------

fn fund_section(ctx: &Ctx, regions: &Regions, fund: &cpb::PrepaidFund) -> String {
    let name = regions.name(&fund.province_admdvs, ctx.lang);
    let title = format!("{name} · {}", ctx.t(T::PrepaidFund));
    let chart = svg::level_bar(
        &title,
        (ctx.t(T::Deposit), fund.deposit_fen),
        &[(ctx.t(T::AlertLine), fund.alert_line_fen), (ctx.t(T::Required), fund.required_fen)],
        svg::yuan,
    );
    let state = fund_state(ctx, fund.state);
    let topup = fund.topup.as_ref().filter(|t| !t.fulfilled).map_or_else(String::new, |t| {
        format!(
            "<dt>{}</dt><dd>{} ({} {})</dd>",
            ctx.t(T::TopUp),
            money(t.amount_fen),
            ctx.t(T::DueDate),
            esc(&t.due_date)
        )
    });
    format!(
        "<section class=\"card\" aria-labelledby=\"fund\" id=\"prepaid-fund\"><h2 id=\"fund\">{}</h2>{chart}\
         <dl class=\"facts\"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{state}</dd>{topup}</dl></section>",
        ctx.t(T::PrepaidFund),
        ctx.t(T::Deposit),
        money(fund.deposit_fen),
        ctx.t(T::AlertLine),
        money(fund.alert_line_fen),
        ctx.t(T::Required),
        money(fund.required_fen),
        ctx.t(T::FundState),
    )
}

/// `/bureau/{admdvs}`: the province's periods and prepaid fund.
pub async fn province(
    OperatorRequest { ctx, session, actor }: OperatorRequest,
    State(state): State<AppState>,
    Path(admdvs): Path<String>,
) -> Response {
    if !is_province(&admdvs) {
        return message_page(&ctx, StatusCode::NOT_FOUND, T::NotFound, T::NotFoundText);
    }
    if let Err(response) = allowed(&ctx, &actor, Target::Province(&admdvs)) {
        return response;
    }
    let mut clearing = state.clearing();
    let fund = clearing
        .get_prepaid_fund(cpb::GetPrepaidFundRequest { province_admdvs: admdvs.clone() })
        .await;
    let periods = clearing.list_periods(cpb::ListPeriodsRequest { status: 0 }).await;
    let (fund, periods) = match (fund, periods) {
        (Ok(f), Ok(p)) => (f.into_inner(), p.into_inner().periods),
        (Err(status), _) | (_, Err(status)) => return upstream_failure(&ctx, &status),
    };
    let regions = Regions::load(&state).await.unwrap_or_default();
    let name = regions.name(&admdvs, ctx.lang);
    let mut main = format!(
        "<h1>{} {}</h1>{}{}",
        esc(&name),
        ctx.t(T::Bureau),
        policies_link(&ctx, &actor.principal),
        fund_section(&ctx, &regions, &fund)
    );
    main.push_str(&format!("<h2 id=\"periods\">{}</h2>", ctx.t(T::ClearingPeriods)));
    if periods.is_empty() {
        main.push_str(&format!("<p>{}</p>", ctx.t(T::NoPeriods)));
    } else {
        main.push_str(&format!(
            "<div class=\"table-wrap\"><table aria-labelledby=\"periods\"><thead><tr><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th>\
             <th scope=\"col\">{}</th></tr></thead><tbody>",
            ctx.t(T::Period),
            ctx.t(T::Dates),
            ctx.t(T::PeriodStatus),
            ctx.t(T::GrossTotal),
            ctx.t(T::YourConfirmation)
        ));
        for p in &periods {
            let confirmation = p
                .confirmations
                .iter()
                .find(|c| same_province(&c.province_admdvs, &admdvs))
                .map_or("–", |c| confirmation_state(&ctx, c.state));
            main.push_str(&format!(
                "<tr><th scope=\"row\"><a href=\"/bureau/{}/periods/{id}\">{id}</a></th><td>{} – {}</td>\
                 <td>{}</td><td class=\"num\">{}</td><td>{confirmation}</td></tr>",
                esc(&admdvs),
                esc(&p.begin_date),
                esc(&p.end_date),
                period_status(&ctx, p.status),
                money(p.gross_total_fen),
                id = esc(&p.period_id),
            ));
        }
        main.push_str("</tbody></table></div>");
    }
    page(&ctx, &state, &session, &actor, StatusCode::OK, &name, &main)
}

/// The net positions of a netting result, the row of `own` (if any) marked.
fn positions_table(
    ctx: &Ctx,
    regions: &Regions,
    netting: &cpb::NettingResult,
    own: Option<&str>,
) -> String {
    let mut table = format!(
        "<div class=\"table-wrap\"><table id=\"net-positions\" aria-labelledby=\"positions\"><thead><tr>\
         <th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th>\
         <th scope=\"col\" class=\"num\">{}</th></tr></thead><tbody>",
        ctx.t(T::Province),
        ctx.t(T::ReceivableCol),
        ctx.t(T::PayableCol),
        ctx.t(T::Net)
    );
    for p in &netting.positions {
        let mine = own.is_some_and(|o| same_province(o, &p.province_admdvs));
        let (class, marker) = if mine {
            (" class=\"own\"", format!(" <span class=\"badge\">{}</span>", ctx.t(T::OwnProvince)))
        } else {
            ("", String::new())
        };
        table.push_str(&format!(
            "<tr{class} data-province=\"{code}\"><th scope=\"row\">{}{marker}</th><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&regions.name(&p.province_admdvs, ctx.lang)),
            money(p.receivable_fen),
            money(p.payable_fen),
            money(p.net_fen),
            code = esc(&p.province_admdvs),
        ));
    }
    table.push_str(&format!(
        "</tbody></table></div><p>{}: {} · {}: {}</p>",
        ctx.t(T::GrossTotal),
        money(netting.gross_total_fen),
        ctx.t(T::Efficiency),
        esc(&netting.netting_efficiency)
    ));
    table
}

/// What `province` is owed (positive) and owes (negative) by counterpart, from the matrix.
fn counterpart_bars(
    ctx: &Ctx,
    regions: &Regions,
    matrix: &[cpb::BilateralCell],
    province: &str,
) -> Vec<(String, i64)> {
    let mut counterparts: Vec<String> = matrix
        .iter()
        .flat_map(|c| [c.insuplc_admdvs.clone(), c.mdtrtarea_admvs.clone()])
        .filter_map(|code| code.get(..2).map(|two| format!("{two}0000")))
        .filter(|code| !same_province(code, province))
        .collect();
    counterparts.sort();
    counterparts.dedup();
    let mut bars = Vec::new();
    for other in counterparts {
        let sum = |home: &str, treating: &str| -> i64 {
            matrix
                .iter()
                .filter(|c| {
                    same_province(&c.insuplc_admdvs, home)
                        && same_province(&c.mdtrtarea_admvs, treating)
                })
                .map(|c| c.gross_fen)
                .sum()
        };
        let (receivable, payable) = (sum(&other, province), sum(province, &other));
        let name = regions.province_name(&other, ctx.lang);
        if receivable != 0 {
            bars.push((format!("{name} {}", ctx.t(T::Receivable)), receivable));
        }
        if payable != 0 {
            bars.push((format!("{name} {}", ctx.t(T::Payable)), -payable));
        }
    }
    bars
}

/// The period and its netting result (none before it is netted) as `actor` may see them —
/// the rows the JSON API shows it ([`clearing_view`]) — or the page saying why not.
async fn period_with_netting(
    state: &AppState,
    ctx: &Ctx,
    actor: &PageActor,
    period_id: &str,
) -> Result<(cpb::Period, Option<cpb::NettingResult>), Response> {
    let view = clearing_view(&actor.principal, ClearingRead::Operators)
        .map_err(|_| message_page(ctx, StatusCode::FORBIDDEN, T::Forbidden, T::ForbiddenText))?;
    let request = cpb::GetPeriodRequest { period_id: period_id.to_owned() };
    let period = match state.clearing().get_period(request).await {
        Ok(p) => period_as_seen(p.into_inner(), view),
        Err(status) => return Err(upstream_failure(ctx, &status)),
    };
    match netting(state, &period).await {
        Ok(netting) => Ok((period, netting.map(|n| netting_as_seen(n, view)))),
        Err(status) => Err(upstream_failure(ctx, &status)),
    }
}

async fn netting(
    state: &AppState,
    period: &cpb::Period,
) -> Result<Option<cpb::NettingResult>, tonic::Status> {
    if period.netting_run == 0 {
        return Ok(None);
    }
    let request =
        cpb::GetNettingResultRequest { period_id: period.period_id.clone(), include_matrix: true };
    match state.clearing().get_netting_result(request).await {
        Ok(result) => Ok(Some(result.into_inner())),
        Err(status) if status.code() == tonic::Code::FailedPrecondition => Ok(None),
        Err(status) => Err(status),
    }
}

fn instructions_table(
    ctx: &Ctx,
    regions: &Regions,
    instructions: &[&cpb::SettlementInstruction],
) -> String {
    if instructions.is_empty() {
        return String::new();
    }
    let mut table = format!(
        "<h2 id=\"instructions\">{}</h2><div class=\"table-wrap\"><table aria-labelledby=\"instructions\"><thead><tr>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th>\
         <th scope=\"col\" class=\"num\">{}</th></tr></thead><tbody>",
        ctx.t(T::Instructions),
        ctx.t(T::Payer),
        ctx.t(T::Payee),
        ctx.t(T::Amount),
        ctx.t(T::FromPrepaid)
    );
    let name = |code: &str| {
        if code == "000000" { ctx.t(T::National).to_owned() } else { regions.name(code, ctx.lang) }
    };
    for i in instructions {
        table.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&name(&i.payer_admdvs)),
            esc(&name(&i.payee_admdvs)),
            money(i.amount_fen),
            money(i.from_prepaid_fen)
        ));
    }
    table.push_str("</tbody></table></div>");
    table
}

/// What a period page shows after a refused confirmation or dispute.
#[derive(Debug, Default)]
struct Refusal {
    confirm: Option<String>,
    dispute: Vec<(Option<&'static str>, String)>,
    setl_ids: String,
    reason: String,
}

#[allow(clippy::too_many_arguments)]
async fn province_period_page(
    ctx: &Ctx,
    state: &AppState,
    session: &PageSession,
    admdvs: &str,
    period_id: &str,
    done: &Done,
    refusal: Refusal,
) -> Response {
    let actor = match operator(ctx, session) {
        Ok(a) => a,
        Err(response) => return response,
    };
    if !is_province(admdvs) {
        return message_page(ctx, StatusCode::NOT_FOUND, T::NotFound, T::NotFoundText);
    }
    if let Err(response) = allowed(ctx, &actor, Target::Province(admdvs)) {
        return response;
    }
    let (period, netting) = match period_with_netting(state, ctx, &actor, period_id).await {
        Ok(both) => both,
        Err(response) => return response,
    };
    let regions = Regions::load(state).await.unwrap_or_default();
    let name = regions.name(admdvs, ctx.lang);
    let errors: Vec<(Option<&str>, String)> = refusal
        .confirm
        .iter()
        .map(|m| (None, m.clone()))
        .chain(refusal.dispute.iter().map(|(f, m)| (*f, m.clone())))
        .collect();
    let mut main = format!(
        "<h1>{} · {} {}</h1>{}{}<div class=\"card\"><dl class=\"facts\"><dt>{}</dt><dd>{} – {}</dd>\
         <dt>{}</dt><dd id=\"period-status\">{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd></dl></div>",
        esc(&name),
        ctx.t(T::Period),
        esc(&period.period_id),
        done_notice(ctx, done),
        error_summary(ctx, &errors),
        ctx.t(T::Dates),
        esc(&period.begin_date),
        esc(&period.end_date),
        ctx.t(T::PeriodStatus),
        period_status(ctx, period.status),
        ctx.t(T::Settlements),
        period.settlement_count,
        ctx.t(T::NettingRun),
        period.netting_run,
    );
    let Some(netting) = netting else {
        main.push_str(&format!("<p>{}</p>", ctx.t(T::NotNetted)));
        return page(ctx, state, session, &actor, StatusCode::OK, &name, &main);
    };
    let bars = counterpart_bars(ctx, &regions, &netting.matrix, admdvs);
    let title = format!("{name} · {}", ctx.t(T::ByCounterpart));
    main.push_str(&format!(
        "<h2 id=\"chart\">{}</h2><figure id=\"counterpart-chart\" aria-labelledby=\"chart\">{}</figure>\
         <h2 id=\"positions\">{}</h2>{}",
        ctx.t(T::ByCounterpart),
        svg::signed_bars(&title, &bars, svg::yuan, ctx.t(T::NoCounterparts)),
        ctx.t(T::NetPositions),
        positions_table(ctx, &regions, &netting, Some(admdvs)),
    ));
    let own_instructions: Vec<_> = netting
        .instructions
        .iter()
        .filter(|i| {
            same_province(&i.payer_admdvs, admdvs) || same_province(&i.payee_admdvs, admdvs)
        })
        .collect();
    main.push_str(&instructions_table(ctx, &regions, &own_instructions));
    // Forms: only the province's own operator confirms or disputes.
    let status =
        cpb::PeriodStatus::try_from(period.status).unwrap_or(cpb::PeriodStatus::Unspecified);
    let own_operator =
        matches!(&actor.principal, Principal::ProvinceOperator(p) if same_province(p, admdvs));
    let csrf = csrf_field(&state.pages().csrf(&actor.session));
    let base = format!("/bureau/{}/periods/{}", esc(admdvs), esc(&period.period_id));
    if own_operator && status == cpb::PeriodStatus::Netted {
        let confirmed = period.confirmations.iter().any(|c| {
            same_province(&c.province_admdvs, admdvs)
                && c.netting_run == period.netting_run
                && c.state == i32::from(cpb::ConfirmationState::Confirmed)
        });
        if !confirmed {
            let error = refusal.confirm.as_ref().map_or_else(String::new, |e| {
                format!("<p class=\"error\" id=\"confirm-error\">{}</p>", esc(e))
            });
            main.push_str(&format!(
                "<form method=\"post\" action=\"{base}/confirm\" class=\"card\" id=\"confirm-form\"><h2>{}</h2>\
                 <p>{}</p>{csrf}<input type=\"hidden\" name=\"netting_run\" value=\"{}\">{error}\
                 <button type=\"submit\">{}</button></form>",
                ctx.t(T::Confirm),
                ctx.t(T::ConfirmText),
                period.netting_run,
                ctx.t(T::Confirm)
            ));
        }
    }
    if own_operator && matches!(status, cpb::PeriodStatus::Netted | cpb::PeriodStatus::Confirmed) {
        let of = |id: &str| {
            refusal.dispute.iter().find(|(f, _)| *f == Some(id)).map(|(_, m)| m.as_str())
        };
        let ids = format!(
            "<textarea id=\"setl_ids\" name=\"setl_ids\" rows=\"3\"{}>{}</textarea>",
            described("setl_ids", true, of("setl_ids").is_some()),
            esc(&refusal.setl_ids)
        );
        let reason = format!(
            "<input type=\"text\" id=\"reason\" name=\"reason\" value=\"{}\" maxlength=\"500\"{}>",
            esc(&refusal.reason),
            described("reason", false, of("reason").is_some())
        );
        main.push_str(&format!(
            "<form method=\"post\" action=\"{base}/dispute\" class=\"card\" id=\"dispute-form\" novalidate>\
             <h2>{}</h2><p>{}</p>{csrf}<input type=\"hidden\" name=\"request_id\" value=\"{}\">{}{}\
             <button type=\"submit\" class=\"secondary\">{}</button></form>",
            ctx.t(T::Dispute),
            ctx.t(T::DisputeText),
            super::form_id(),
            field("setl_ids", ctx.t(T::SetlIds), &ids, ctx.t(T::SetlIdsHelp), of("setl_ids")),
            field("reason", ctx.t(T::Reason), &reason, "", of("reason")),
            ctx.t(T::Dispute)
        ));
    }
    let status_code = if errors.is_empty() { StatusCode::OK } else { StatusCode::CONFLICT };
    page(ctx, state, session, &actor, status_code, &name, &main)
}

/// `/bureau/{admdvs}/periods/{period_id}`.
pub async fn province_period(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
    Path((admdvs, period_id)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Response {
    province_period_page(&ctx, &state, &session, &admdvs, &period_id, &done, Refusal::default())
        .await
}

/// The operator of a POST on a province's page, its CSRF token checked; else the answer.
fn posting_operator(
    ctx: &Ctx,
    state: &AppState,
    session: &PageSession,
    headers: &HeaderMap,
    admdvs: &str,
    csrf: &str,
) -> Result<PageActor, Response> {
    let actor = operator(ctx, session)?;
    if !same_origin(headers) || !state.pages().csrf_ok(&actor.session, csrf) {
        return Err(refused_form(ctx));
    }
    allowed(ctx, &actor, Target::Province(admdvs))?;
    Ok(actor)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfirmForm {
    csrf: String,
    netting_run: String,
}

pub async fn confirm(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((admdvs, period_id)): Path<(String, String)>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let actor = match posting_operator(&ctx, &state, &session, &headers, &admdvs, &form.csrf) {
        Ok(a) => a,
        Err(response) => return response,
    };
    let request = cpb::ConfirmPeriodRequest {
        period_id: period_id.clone(),
        province_admdvs: admdvs.clone(),
        netting_run: form.netting_run.trim().parse().unwrap_or(0),
        actor: Some(actor_pb(&actor.principal)),
    };
    match state.clearing().confirm_period(request).await {
        Ok(_) => see_other(&format!("/bureau/{admdvs}/periods/{period_id}?done=confirmed"), &[]),
        Err(status) if is_refusal(&status) => {
            let refusal =
                Refusal { confirm: Some(status.message().to_owned()), ..Refusal::default() };
            province_period_page(
                &ctx,
                &state,
                &session,
                &admdvs,
                &period_id,
                &Done::default(),
                refusal,
            )
            .await
        }
        Err(status) => upstream_failure(&ctx, &status),
    }
}

fn is_refusal(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::InvalidArgument
            | tonic::Code::FailedPrecondition
            | tonic::Code::AlreadyExists
            | tonic::Code::PermissionDenied
            | tonic::Code::NotFound
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DisputeForm {
    csrf: String,
    request_id: String,
    setl_ids: String,
    reason: String,
}

pub async fn dispute(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((admdvs, period_id)): Path<(String, String)>,
    Form(form): Form<DisputeForm>,
) -> Response {
    let actor = match posting_operator(&ctx, &state, &session, &headers, &admdvs, &form.csrf) {
        Ok(a) => a,
        Err(response) => return response,
    };
    let setl_ids: Vec<String> = form
        .setl_ids
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect();
    let request = cpb::DisputeRequest {
        request_id: form.request_id.trim().to_owned(),
        period_id: period_id.clone(),
        province_admdvs: admdvs.clone(),
        setl_ids,
        reason: form.reason.trim().to_owned(),
        actor: Some(actor_pb(&actor.principal)),
    };
    match state.clearing().dispute_items(request).await {
        Ok(_) => see_other(&format!("/bureau/{admdvs}/periods/{period_id}?done=disputed"), &[]),
        Err(status) if is_refusal(&status) => {
            let field = medclear_common::error::status_field(&status).and_then(|f| {
                if f.starts_with("setl_ids") {
                    Some("setl_ids")
                } else if f == "reason" {
                    Some("reason")
                } else {
                    None
                }
            });
            let refusal = Refusal {
                dispute: vec![(field, status.message().to_owned())],
                setl_ids: form.setl_ids.clone(),
                reason: form.reason.clone(),
                ..Refusal::default()
            };
            province_period_page(
                &ctx,
                &state,
                &session,
                &admdvs,
                &period_id,
                &Done::default(),
                refusal,
            )
            .await
        }
        Err(status) => upstream_failure(&ctx, &status),
    }
}

// ---------------------------------------------------------------------------------------------
// National
// ---------------------------------------------------------------------------------------------

/// The actions the national operator can take on a period in this state.
fn actions(status: i32) -> &'static [(&'static str, T)] {
    match cpb::PeriodStatus::try_from(status).unwrap_or(cpb::PeriodStatus::Unspecified) {
        cpb::PeriodStatus::Open => &[("close", T::Close)],
        cpb::PeriodStatus::Closed => &[("net", T::NetAction)],
        cpb::PeriodStatus::Netted => &[("net", T::NetAction)],
        cpb::PeriodStatus::Confirmed => &[("settle", T::SettleAction)],
        _ => &[],
    }
}

fn action_forms(ctx: &Ctx, csrf: &str, period: &cpb::Period) -> String {
    actions(period.status)
        .iter()
        .map(|(action, label)| {
            format!(
                "<form method=\"post\" action=\"/bureau/national/periods/{}/{action}\" class=\"inline\">{csrf}\
                 <button type=\"submit\" class=\"secondary\" data-action=\"{action}\">{}</button></form> ",
                esc(&period.period_id),
                ctx.t(*label)
            )
        })
        .collect()
}

/// `/bureau/national`: every period with its actions, every province's prepaid fund.
pub async fn national(
    OperatorRequest { ctx, session, actor }: OperatorRequest,
    State(state): State<AppState>,
) -> Response {
    if let Err(response) = allowed(&ctx, &actor, Target::National) {
        return response;
    }
    let mut clearing = state.clearing();
    let periods = clearing.list_periods(cpb::ListPeriodsRequest { status: 0 }).await;
    let funds = clearing.list_prepaid_funds(cpb::ListPrepaidFundsRequest {}).await;
    let (periods, funds) = match (periods, funds) {
        (Ok(p), Ok(f)) => (p.into_inner().periods, f.into_inner().funds),
        (Err(status), _) | (_, Err(status)) => return upstream_failure(&ctx, &status),
    };
    let regions = Regions::load(&state).await.unwrap_or_default();
    let csrf = csrf_field(&state.pages().csrf(&actor.session));
    let mut main = format!(
        "<h1>{}</h1>{}<h2 id=\"periods\">{}</h2>",
        ctx.t(T::National),
        policies_link(&ctx, &actor.principal),
        ctx.t(T::ClearingPeriods)
    );
    if periods.is_empty() {
        main.push_str(&format!("<p>{}</p>", ctx.t(T::NoPeriods)));
    } else {
        main.push_str(&format!(
            "<div class=\"table-wrap\"><table aria-labelledby=\"periods\"><thead><tr><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th>\
             <th scope=\"col\" class=\"num\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            ctx.t(T::Period),
            ctx.t(T::Dates),
            ctx.t(T::PeriodStatus),
            ctx.t(T::Settlements),
            ctx.t(T::GrossTotal),
            ctx.t(T::Actions)
        ));
        for p in &periods {
            main.push_str(&format!(
                "<tr><th scope=\"row\"><a href=\"/bureau/national/periods/{id}\">{id}</a></th><td>{} – {}</td>\
                 <td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(&p.begin_date),
                esc(&p.end_date),
                period_status(&ctx, p.status),
                p.settlement_count,
                money(p.gross_total_fen),
                action_forms(&ctx, &csrf, p),
                id = esc(&p.period_id),
            ));
        }
        main.push_str("</tbody></table></div>");
    }
    main.push_str(&format!(
        "<h2 id=\"funds\">{}</h2><div class=\"table-wrap\"><table aria-labelledby=\"funds\"><thead><tr>\
         <th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th>\
         <th scope=\"col\" class=\"num\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        ctx.t(T::AllFunds),
        ctx.t(T::Province),
        ctx.t(T::Deposit),
        ctx.t(T::AlertLine),
        ctx.t(T::Required),
        ctx.t(T::FundState)
    ));
    for f in &funds {
        let state_text = fund_state(&ctx, f.state);
        main.push_str(&format!(
            "<tr><th scope=\"row\"><a href=\"/bureau/{code}\">{}</a></th><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{state_text}</td></tr>",
            esc(&regions.name(&f.province_admdvs, ctx.lang)),
            money(f.deposit_fen),
            money(f.alert_line_fen),
            money(f.required_fen),
            code = esc(&f.province_admdvs),
        ));
    }
    main.push_str("</tbody></table></div>");
    main.push_str(&format!(
        "<h2 id=\"provinces\">{}</h2><ul class=\"cards\">",
        ctx.t(T::Provinces)
    ));
    for province in regions.provinces() {
        main.push_str(&format!(
            "<li><a href=\"/bureau/{code}\">{}</a></li>",
            esc(&regions.name(&province.admdvs, ctx.lang)),
            code = esc(&province.admdvs)
        ));
    }
    main.push_str("</ul>");
    page(&ctx, &state, &session, &actor, StatusCode::OK, ctx.t(T::National), &main)
}

async fn national_period_page(
    ctx: &Ctx,
    state: &AppState,
    session: &PageSession,
    period_id: &str,
    done: &Done,
    refused: Option<String>,
) -> Response {
    let actor = match operator(ctx, session) {
        Ok(a) => a,
        Err(response) => return response,
    };
    if let Err(response) = allowed(ctx, &actor, Target::National) {
        return response;
    }
    let (period, netting) = match period_with_netting(state, ctx, &actor, period_id).await {
        Ok(both) => both,
        Err(response) => return response,
    };
    let regions = Regions::load(state).await.unwrap_or_default();
    let csrf = csrf_field(&state.pages().csrf(&actor.session));
    let errors: Vec<(Option<&str>, String)> = refused.iter().map(|m| (None, m.clone())).collect();
    let mut main = format!(
        "<h1>{} · {} {}</h1>{}{}<div class=\"card\"><dl class=\"facts\"><dt>{}</dt><dd>{} – {}</dd>\
         <dt>{}</dt><dd id=\"period-status\">{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{}</dd></dl><p>{}</p></div>",
        ctx.t(T::National),
        ctx.t(T::Period),
        esc(&period.period_id),
        done_notice(ctx, done),
        error_summary(ctx, &errors),
        ctx.t(T::Dates),
        esc(&period.begin_date),
        esc(&period.end_date),
        ctx.t(T::PeriodStatus),
        period_status(ctx, period.status),
        ctx.t(T::Settlements),
        period.settlement_count,
        ctx.t(T::GrossTotal),
        money(period.gross_total_fen),
        ctx.t(T::NettingRun),
        period.netting_run,
        action_forms(ctx, &csrf, &period),
    );
    if let Some(netting) = netting {
        let bars: Vec<(String, i64)> = netting
            .positions
            .iter()
            .map(|p| (regions.name(&p.province_admdvs, ctx.lang), p.net_fen))
            .collect();
        main.push_str(&format!(
            "<h2 id=\"chart\">{}</h2><figure id=\"net-chart\" aria-labelledby=\"chart\">{}</figure>\
             <h2 id=\"positions\">{}</h2>{}",
            ctx.t(T::NetByProvince),
            svg::signed_bars(ctx.t(T::NetByProvince), &bars, svg::yuan, ctx.t(T::NoCounterparts)),
            ctx.t(T::NetPositions),
            positions_table(ctx, &regions, &netting, None),
        ));
        let all: Vec<_> = netting.instructions.iter().collect();
        main.push_str(&instructions_table(ctx, &regions, &all));
    } else {
        main.push_str(&format!("<p>{}</p>", ctx.t(T::NotNetted)));
    }
    if !period.confirmations.is_empty() {
        main.push_str(&format!(
            "<h2 id=\"confirmations\">{}</h2><div class=\"table-wrap\"><table aria-labelledby=\"confirmations\">\
             <thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            ctx.t(T::Confirmations),
            ctx.t(T::Province),
            ctx.t(T::Status),
            ctx.t(T::NettingRun)
        ));
        for c in &period.confirmations {
            main.push_str(&format!(
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>",
                esc(&regions.name(&c.province_admdvs, ctx.lang)),
                confirmation_state(ctx, c.state),
                c.netting_run
            ));
        }
        main.push_str("</tbody></table></div>");
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::CONFLICT };
    page(ctx, state, session, &actor, status, ctx.t(T::National), &main)
}

/// `/bureau/national/periods/{period_id}`.
pub async fn national_period(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
    Path(period_id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    national_period_page(&ctx, &state, &session, &period_id, &done, None).await
}

/// Close, net or settle a period (the national operator).
pub async fn national_action(
    OperatorRequest { ctx, session, actor }: OperatorRequest,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((period_id, action)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !same_origin(&headers) || !state.pages().csrf_ok(&actor.session, &form.csrf) {
        return refused_form(&ctx);
    }
    if let Err(response) = allowed(&ctx, &actor, Target::National) {
        return response;
    }
    let who = Some(actor_pb(&actor.principal));
    let mut clearing = state.clearing();
    let outcome = match action.as_str() {
        "close" => clearing
            .close_period(cpb::ClosePeriodRequest { period_id: period_id.clone(), actor: who })
            .await
            .map(|_| ()),
        "net" => clearing
            .net_period(cpb::NetPeriodRequest { period_id: period_id.clone(), actor: who })
            .await
            .map(|_| ()),
        "settle" => clearing
            .settle_period(cpb::SettlePeriodRequest { period_id: period_id.clone(), actor: who })
            .await
            .map(|_| ()),
        _ => return message_page(&ctx, StatusCode::NOT_FOUND, T::NotFound, T::NotFoundText),
    };
    match outcome {
        Ok(()) => see_other(&format!("/bureau/national/periods/{period_id}?done={action}"), &[]),
        Err(status) if is_refusal(&status) => {
            national_period_page(
                &ctx,
                &state,
                &session,
                &period_id,
                &Done::default(),
                Some(status.message().to_owned()),
            )
            .await
        }
        Err(status) => upstream_failure(&ctx, &status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Lang;

    #[test]
    fn counterparts_are_receivable_as_treating_and_payable_as_home() {
        let cell = |home: &str, treating: &str, gross_fen| cpb::BilateralCell {
            insuplc_admdvs: home.into(),
            mdtrtarea_admvs: treating.into(),
            gross_fen,
            settlement_count: 1,
            reversal_count: 0,
        };
        let matrix = [
            cell("420000", "440000", 500),
            cell("440000", "420000", 200),
            cell("110000", "440000", 70),
        ];
        let ctx = crate::layout::tests_ctx(Lang::En);
        let bars = counterpart_bars(&ctx, &Regions::default(), &matrix, "440000");
        assert_eq!(
            bars,
            [
                ("110000 receivable".to_owned(), 70),
                ("420000 receivable".to_owned(), 500),
                ("420000 payable".to_owned(), -200),
            ]
        );
        assert!(counterpart_bars(&ctx, &Regions::default(), &matrix, "310000").is_empty());
    }
}
