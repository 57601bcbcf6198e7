//! `/citizen/…`: an insured person signs in with a one-time code, files for treatment in another
//! province, sees and revokes their filings, and sees their settlements with what each fund
//! paid and what they paid. A citizen sees only their own: every filing is checked against
//! [`medclear_gateway::access::authorize`] with the person it names.

use axum::{
    Form,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use medclear_proto::{filing::v1 as fpb, names, routing::v1 as rpb};
use serde::Deserialize;

use super::{
    Regions,
    layout::{
        Ctx, T, csrf_field, described, document, error_summary, esc, field, html, message_page,
        money, same_origin, see_other, upstream_failure,
    },
    refused_form, today,
};
use medclear_gateway::{
    AppState,
    access::{Principal, Target, authorize},
    caller::{PageActor, PageSession},
    citizen::{CODE_TTL, TOKEN_TTL},
    session::{CITIZEN_COOKIE, cookie, set_cookie},
};

/// The certificate number between asking for a code and entering it (5 minutes).
const SIGN_IN_COOKIE: &str = "medclear_signin";

/// The signed-in citizen of a page, or the answer that sends them to sign in (or refuses a
/// certificate holder, who is not a citizen).
fn citizen(ctx: &Ctx, session: &PageSession) -> Result<(String, PageActor), Response> {
    match session.citizen_actor() {
        Some(actor) => match &actor.principal {
            Principal::Citizen(psn_no) => Ok((psn_no.clone(), actor.clone())),
            _ => Err(message_page(ctx, StatusCode::FORBIDDEN, T::Forbidden, T::OnlyCitizens)),
        },
        None => Err(see_other("/citizen/sign-in", &[])),
    }
}

/// [`citizen`], for a form sent from this site with the session's CSRF token.
fn citizen_posting(
    ctx: &Ctx,
    session: &PageSession,
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<(String, PageActor), Response> {
    let (psn_no, actor) = citizen(ctx, session)?;
    if !same_origin(headers) || !state.pages().csrf_ok(&actor.session, csrf) {
        return Err(refused_form(ctx));
    }
    Ok((psn_no, actor))
}

/// The navigation of a signed-in citizen, and the sign-out button.
fn chrome(
    ctx: &Ctx,
    state: &AppState,
    actor: &PageActor,
) -> (Vec<(&'static str, &'static str)>, String) {
    let nav = vec![
        ("/citizen/filings", ctx.t(T::MyFilings)),
        ("/citizen/filings/new", ctx.t(T::NewFiling)),
        ("/citizen/settlements", ctx.t(T::MySettlements)),
    ];
    let sign_out = format!(
        "<form method=\"post\" action=\"/citizen/sign-out\">{}<button type=\"submit\">{}</button></form>",
        csrf_field(&state.pages().csrf(&actor.session)),
        ctx.t(T::SignOut)
    );
    (nav, sign_out)
}

fn page(
    ctx: &Ctx,
    state: &AppState,
    actor: &PageActor,
    status: StatusCode,
    title: &str,
    main: &str,
) -> Response {
    let (nav, sign_out) = chrome(ctx, state, actor);
    html(ctx, status, document(ctx, title, &nav, &sign_out, main))
}

/// `/citizen`: the filings when signed in, else the sign-in.
pub async fn home(ctx: Ctx, session: PageSession) -> Response {
    match citizen(&ctx, &session) {
        Ok(_) => see_other("/citizen/filings", &[]),
        Err(response) => response,
    }
}

// ---------------------------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------------------------

fn sign_in_form(ctx: &Ctx, certno: &str, error: Option<&str>) -> String {
    let control = format!(
        "<input type=\"text\" id=\"certno\" name=\"certno\" value=\"{}\" autocomplete=\"off\" \
         maxlength=\"18\" required{}>",
        esc(certno),
        described("certno", true, error.is_some())
    );
    format!(
        "<h1>{}</h1><form method=\"post\" action=\"/citizen/sign-in\" class=\"card\" novalidate>{}\
         <button type=\"submit\">{}</button></form>",
        ctx.t(T::CitizenSignIn),
        field("certno", ctx.t(T::Certno), &control, ctx.t(T::CertnoHelp), error),
        ctx.t(T::SendCode)
    )
}

pub async fn sign_in_page(ctx: Ctx, session: PageSession) -> Response {
    if let Some(PageActor { principal: Principal::Citizen(_), .. }) = session.citizen_actor() {
        return see_other("/citizen/filings", &[]);
    }
    let main = sign_in_form(&ctx, "", None);
    html(&ctx, StatusCode::OK, document(&ctx, ctx.t(T::CitizenSignIn), &[], "", &main))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CertnoForm {
    certno: String,
}

/// Asks for a code: the same answer whether or not the number is registered.
pub async fn send_code(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CertnoForm>,
) -> Response {
    if !same_origin(&headers) {
        return refused_form(&ctx);
    }
    let certno = form.certno.trim().to_uppercase();
    if certno.is_empty() || certno.len() > 18 || !certno.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        let main = sign_in_form(&ctx, &certno, Some(ctx.t(T::MissingCertno)));
        return html(
            &ctx,
            StatusCode::BAD_REQUEST,
            document(&ctx, ctx.t(T::CitizenSignIn), &[], "", &main),
        );
    }
    let mut found = None;
    for mut routing in state.routing_all() {
        let asked = rpb::QueryPersonRequest { certno: certno.clone(), psn_no: String::new() };
        match routing.query_person(asked).await {
            Ok(person) => {
                found = Some(person.into_inner());
                break;
            }
            Err(status) if status.code() == tonic::Code::NotFound => {}
            Err(status) => return upstream_failure(&ctx, &status),
        }
    }
    if let Some(person) = found {
        match state.citizens().issue_code(&certno, &person.psn_no) {
            // No SMS gateway yet: the code goes to the server's log (development).
            Ok(code) => {
                tracing::warn!(%certno, %code, "one-time sign-in code (no SMS delivery configured)")
            }
            Err(e) => {
                tracing::error!(error = %e, "issuing a sign-in code");
                return message_page(
                    &ctx,
                    StatusCode::SERVICE_UNAVAILABLE,
                    T::Unavailable,
                    T::UnavailableText,
                );
            }
        }
    }
    let pending = set_cookie(SIGN_IN_COOKIE, &certno, CODE_TTL, session.secure());
    see_other("/citizen/sign-in/code", &[pending])
}

fn code_form(
    ctx: &Ctx,
    state: &AppState,
    session: &PageSession,
    certno: &str,
    error: Option<&str>,
) -> String {
    // Development (plain HTTP on loopback) only: the code is shown, as the server log has it.
    let dev = if session.development() {
        match state.citizens().pending_code(certno) {
            Some(code) => format!(
                "<p class=\"dev\" role=\"note\">{} <strong id=\"dev-code\">{}</strong></p>",
                ctx.t(T::DevCode),
                esc(&code)
            ),
            None => format!("<p class=\"dev\" role=\"note\">{}</p>", ctx.t(T::DevNoCode)),
        }
    } else {
        String::new()
    };
    let control = format!(
        "<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" maxlength=\"6\" required{}>",
        described("code", true, error.is_some())
    );
    format!(
        "<h1>{}</h1><p class=\"notice\" role=\"status\">{}</p>{dev}\
         <form method=\"post\" action=\"/citizen/sign-in/code\" class=\"card\" novalidate>\
         <p>{}: <strong>{}</strong></p>{}<button type=\"submit\">{}</button></form>\
         <p><a href=\"/citizen/sign-in\">{}</a></p>",
        ctx.t(T::CitizenSignIn),
        ctx.t(T::CodeSent),
        ctx.t(T::Certno),
        esc(certno),
        field("code", ctx.t(T::Code), &control, ctx.t(T::CodeHelp), error),
        ctx.t(T::SignIn),
        ctx.t(T::OtherNumber),
    )
}

pub async fn code_page(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let Some(certno) = cookie(&headers, SIGN_IN_COOKIE).map(str::to_owned) else {
        return see_other("/citizen/sign-in", &[]);
    };
    let main = code_form(&ctx, &state, &session, &certno, None);
    html(&ctx, StatusCode::OK, document(&ctx, ctx.t(T::CitizenSignIn), &[], "", &main))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: String,
}

/// Spends the code: the session cookie holds the same token the JSON API answers.
pub async fn verify_code(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    if !same_origin(&headers) {
        return refused_form(&ctx);
    }
    let Some(certno) = cookie(&headers, SIGN_IN_COOKIE).map(str::to_owned) else {
        return see_other("/citizen/sign-in", &[]);
    };
    match state.citizens().verify(&certno, &form.code) {
        Ok((token, _, _)) => {
            let secure = session.secure();
            let cookies = [
                set_cookie(CITIZEN_COOKIE, &token, TOKEN_TTL, secure),
                set_cookie(SIGN_IN_COOKIE, "", std::time::Duration::ZERO, secure),
            ];
            see_other("/citizen/filings", &cookies)
        }
        Err(reason) => {
            let message = match reason {
                "wrong_code" => T::WrongCode,
                "code_expired" => T::CodeExpired,
                _ => T::NoCode,
            };
            let main = code_form(&ctx, &state, &session, &certno, Some(ctx.t(message)));
            html(
                &ctx,
                StatusCode::UNAUTHORIZED,
                document(&ctx, ctx.t(T::CitizenSignIn), &[], "", &main),
            )
        }
    }
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
    let Some(actor) = session.citizen_actor() else { return see_other("/", &[]) };
    if !same_origin(&headers) || !state.pages().csrf_ok(&actor.session, &form.csrf) {
        return refused_form(&ctx);
    }
    see_other("/", &[set_cookie(CITIZEN_COOKIE, "", std::time::Duration::ZERO, session.secure())])
}

// ---------------------------------------------------------------------------------------------
// Filings
// ---------------------------------------------------------------------------------------------

/// The categories a citizen can choose, with their label and whether they are long-term. The
/// form sends a category's word (`medclear_proto::names`).
const CATEGORIES: [(fpb::Category, T, bool); 6] = [
    (fpb::Category::RetireeResettled, T::CatRetireeResettled, true),
    (fpb::Category::LongTermResident, T::CatLongTermResident, true),
    (fpb::Category::StationedWorker, T::CatStationedWorker, true),
    (fpb::Category::Referral, T::CatReferral, false),
    (fpb::Category::Emergency, T::CatEmergency, false),
    (fpb::Category::OtherTemporary, T::CatOtherTemporary, false),
];

fn category_label(ctx: &Ctx, value: i32) -> &'static str {
    CATEGORIES.iter().find(|(c, ..)| i32::from(*c) == value).map_or("", |(_, t, _)| ctx.t(*t))
}

/// The category a form's word names, if a citizen may choose it.
fn category_from(word: &str) -> Option<fpb::Category> {
    names::parse(word.trim()).filter(|c| CATEGORIES.iter().any(|(known, ..)| known == c))
}

fn validity(ctx: &Ctx, f: &fpb::Filing) -> String {
    let end =
        if f.end_date.is_empty() { ctx.t(T::OpenEnded).to_owned() } else { f.end_date.clone() };
    format!("{} – {}", esc(&f.begin_date), esc(&end))
}

fn status_label(ctx: &Ctx, f: &fpb::Filing) -> &'static str {
    if f.status == i32::from(fpb::FilingStatus::Revoked) {
        ctx.t(T::Revoked)
    } else {
        ctx.t(T::Active)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Flash {
    created: String,
    revoked: String,
}

fn flash(ctx: &Ctx, flash: &Flash) -> String {
    let mut out = String::new();
    if !flash.created.is_empty() {
        out.push_str(&format!("<p class=\"notice\" role=\"status\">{}</p>", ctx.t(T::Filed)));
    }
    if !flash.revoked.is_empty() {
        out.push_str(&format!(
            "<p class=\"notice\" role=\"status\">{}</p>",
            ctx.t(T::RevokedNotice)
        ));
    }
    out
}

/// `/citizen/filings`: the person's filings, revoked ones included, newest first.
pub async fn filings(ctx: Ctx, session: PageSession, State(state): State<AppState>) -> Response {
    let (psn_no, actor) = match citizen(&ctx, &session) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let request = fpb::ListFilingsRequest { psn_no, include_revoked: true };
    let list = match state.filing().list_filings(request).await {
        Ok(list) => list.into_inner().filings,
        Err(status) => return upstream_failure(&ctx, &status),
    };
    let regions = Regions::load(&state).await.unwrap_or_default();
    let mut main = format!(
        "<h1>{}</h1><p><a class=\"button\" href=\"/citizen/filings/new\">{}</a></p>",
        ctx.t(T::MyFilings),
        ctx.t(T::NewFiling)
    );
    if list.is_empty() {
        main.push_str(&format!("<p>{}</p>", ctx.t(T::NoFilings)));
    } else {
        main.push_str(&format!(
            "<div class=\"table-wrap\"><table id=\"filings\"><caption class=\"vh\">{}</caption><thead><tr>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            ctx.t(T::MyFilings),
            ctx.t(T::Category),
            ctx.t(T::Destination),
            ctx.t(T::Validity),
            ctx.t(T::Status),
            ctx.t(T::Details)
        ));
        for f in &list {
            main.push_str(&format!(
                "<tr data-filing-id=\"{id}\"><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td>\
                 <td><a href=\"/citizen/filings/{id}\">{}</a></td></tr>",
                category_label(&ctx, f.category),
                esc(&regions.name(&f.mdtrtarea_admvs, ctx.lang)),
                validity(&ctx, f),
                status_label(&ctx, f),
                ctx.t(T::Details),
                id = esc(&f.filing_id),
            ));
        }
        main.push_str("</tbody></table></div>");
    }
    page(&ctx, &state, &actor, StatusCode::OK, ctx.t(T::MyFilings), &main)
}

/// What the filing form holds (also when it comes back with errors).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FilingForm {
    csrf: String,
    request_id: String,
    category: String,
    mdtrtarea_admvs: String,
    begin_date: String,
    end_date: String,
    memo: String,
}

/// The form fields a filing error can name; others go in the summary only.
const FORM_FIELDS: [&str; 5] = ["category", "mdtrtarea_admvs", "begin_date", "end_date", "memo"];

/// A refusal of the filing service in the page's language: Chinese words for the codes a
/// citizen meets, the service's own (English, exact) message otherwise.
fn filing_error(ctx: &Ctx, code: &str, message: &str) -> String {
    let zh = match code {
        "missing_field" => "此项必填。",
        "unknown_category" => "请选择备案类别。",
        "unknown_region" => "请选择已知的地区。",
        "same_province" => "就医地与参保地在同一省份：异地就医备案须选择其他省份。",
        "end_before_begin" => "结束日期早于开始日期。",
        "validity_too_short" => "临时备案有效期至少 6 个月：请不填结束日期或选择更晚的日期。",
        "long_term_is_open_ended" => "长期备案不设结束日期：请不填结束日期。",
        "begin_too_early" => "开始日期不能早于今天。",
        "begin_too_late" => "开始日期不能晚于一年后。",
        "invalid_date" => "日期格式应为 年-月-日。",
        "overlapping_filing" => "与已有备案的时间和地点重叠：请先撤销原备案或另选日期。",
        "revoke_locked" => "长期备案生效后 6 个月内不能撤销。",
        "already_revoked" => "该备案已撤销。",
        "filing_expired" => "该备案已到期，无需撤销。",
        "too_long" => "内容过长。",
        _ => "",
    };
    if ctx.lang == super::layout::Lang::Zh && !zh.is_empty() {
        zh.to_owned()
    } else {
        message.to_owned()
    }
}

/// The person behind a citizen session (name and home region for a filing).
async fn person(state: &AppState, psn_no: &str) -> Result<rpb::PersonInfo, tonic::Status> {
    let mut last = tonic::Status::not_found("no such person");
    for mut routing in state.routing_all() {
        let asked = rpb::QueryPersonRequest { certno: String::new(), psn_no: psn_no.to_owned() };
        match routing.query_person(asked).await {
            Ok(person) => return Ok(person.into_inner()),
            Err(status) if status.code() == tonic::Code::NotFound => last = status,
            Err(status) => return Err(status),
        }
    }
    Err(last)
}

struct FormErrors {
    /// (form field, message) — `None` for a refusal that names no field of the form.
    errors: Vec<(Option<&'static str>, String)>,
}

impl FormErrors {
    fn of(&self, id: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == Some(id)).map(|(_, m)| m.as_str())
    }
}

fn filing_form(
    ctx: &Ctx,
    state: &AppState,
    actor: &PageActor,
    regions: &Regions,
    person: &rpb::PersonInfo,
    form: &FilingForm,
    errors: &FormErrors,
) -> String {
    let mut categories = String::new();
    for (long_term, group) in [(true, T::LongTermGroup), (false, T::TemporaryGroup)] {
        categories.push_str(&format!("<optgroup label=\"{}\">", ctx.t(group)));
        for (category, label, _) in CATEGORIES.iter().filter(|c| c.2 == long_term) {
            let name = names::name(*category);
            let selected = if form.category == name { " selected" } else { "" };
            categories.push_str(&format!(
                "<option value=\"{name}\"{selected}>{}</option>",
                ctx.t(*label)
            ));
        }
        categories.push_str("</optgroup>");
    }
    let category = format!(
        "<select id=\"category\" name=\"category\" required{}><option value=\"\">{}</option>{categories}</select>",
        described("category", false, errors.of("category").is_some()),
        ctx.t(T::ChooseCategory)
    );
    let mut destinations = String::new();
    for province in regions.provinces() {
        let two = province.admdvs.get(..2).unwrap_or_default();
        destinations.push_str(&format!(
            "<optgroup label=\"{}\">",
            esc(&regions.name(&province.admdvs, ctx.lang))
        ));
        // The province and its cities (a filing for a city covers its districts and counties):
        // 371 choices, not the 3,220 codes a HIS may send; a county chosen before stays.
        let offered = |r: &&fpb::Region| {
            r.admdvs.get(..2) == Some(two)
                && (r.level != "district" || form.mdtrtarea_admvs == r.admdvs)
        };
        for region in regions.all().iter().filter(offered) {
            let selected = if form.mdtrtarea_admvs == region.admdvs { " selected" } else { "" };
            destinations.push_str(&format!(
                "<option value=\"{code}\"{selected}>{} ({code})</option>",
                esc(&regions.name(&region.admdvs, ctx.lang)),
                code = esc(&region.admdvs)
            ));
        }
        destinations.push_str("</optgroup>");
    }
    let destination = format!(
        "<select id=\"mdtrtarea_admvs\" name=\"mdtrtarea_admvs\" required{}><option value=\"\">{}</option>{destinations}</select>",
        described("mdtrtarea_admvs", true, errors.of("mdtrtarea_admvs").is_some()),
        ctx.t(T::ChooseDestination)
    );
    let date = |id: &str, value: &str| {
        format!(
            "<input type=\"date\" id=\"{id}\" name=\"{id}\" value=\"{}\"{}>",
            esc(value),
            described(id, true, errors.of(id).is_some())
        )
    };
    let memo = format!(
        "<input type=\"text\" id=\"memo\" name=\"memo\" value=\"{}\" maxlength=\"500\"{}>",
        esc(&form.memo),
        described("memo", true, errors.of("memo").is_some())
    );
    let summary: Vec<(Option<&str>, String)> =
        errors.errors.iter().map(|(f, m)| (*f, m.clone())).collect();
    format!(
        "<h1>{title}</h1>{summary}<div class=\"cards\"><form method=\"post\" action=\"/citizen/filings/new\" \
         class=\"card\" novalidate>{csrf}<input type=\"hidden\" name=\"request_id\" value=\"{request_id}\">\
         <p><strong>{home_label}</strong>: {home} ({home_code}) · {name}</p>\
         {category}{destination}{begin}{end}{memo}<button type=\"submit\">{submit}</button></form>\
         <section class=\"card\" aria-labelledby=\"rules\"><h2 id=\"rules\">{rules}</h2><ul>\
         <li>{r1}</li><li>{r2}</li><li>{r3}</li><li>{r4}</li></ul></section></div>",
        title = ctx.t(T::NewFiling),
        summary = error_summary(ctx, &summary),
        csrf = csrf_field(&state.pages().csrf(&actor.session)),
        request_id = esc(&form.request_id),
        home_label = ctx.t(T::HomeRegion),
        home = esc(&regions.name(&person.insuplc_admdvs, ctx.lang)),
        home_code = esc(&person.insuplc_admdvs),
        name = esc(&person.psn_name),
        category = field("category", ctx.t(T::Category), &category, "", errors.of("category")),
        destination = field(
            "mdtrtarea_admvs",
            ctx.t(T::Destination),
            &destination,
            ctx.t(T::DestinationHelp),
            errors.of("mdtrtarea_admvs")
        ),
        begin = field(
            "begin_date",
            ctx.t(T::BeginDate),
            &date("begin_date", &form.begin_date),
            ctx.t(T::BeginHelp),
            errors.of("begin_date")
        ),
        end = field(
            "end_date",
            ctx.t(T::EndDate),
            &date("end_date", &form.end_date),
            ctx.t(T::EndHelp),
            errors.of("end_date")
        ),
        memo = field("memo", ctx.t(T::Memo), &memo, ctx.t(T::MemoHelp), errors.of("memo")),
        submit = ctx.t(T::Submit),
        rules = ctx.t(T::RulesHeading),
        r1 = ctx.t(T::RuleLongTerm),
        r2 = ctx.t(T::RuleTemporary),
        r3 = ctx.t(T::RuleElsewhere),
        r4 = ctx.t(T::RuleEmergency),
    )
}

/// `/citizen/filings/new`: the form, with the rules beside it.
pub async fn new_filing(ctx: Ctx, session: PageSession, State(state): State<AppState>) -> Response {
    let (psn_no, actor) = match citizen(&ctx, &session) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let (person, regions) = match (person(&state, &psn_no).await, Regions::load(&state).await) {
        (Ok(p), Ok(r)) => (p, r),
        (Err(status), _) | (_, Err(status)) => return upstream_failure(&ctx, &status),
    };
    let form = FilingForm {
        request_id: super::form_id(),
        begin_date: today().to_string(),
        ..FilingForm::default()
    };
    let main = filing_form(
        &ctx,
        &state,
        &actor,
        &regions,
        &person,
        &form,
        &FormErrors { errors: Vec::new() },
    );
    page(&ctx, &state, &actor, StatusCode::OK, ctx.t(T::NewFiling), &main)
}

/// Files: on success, to the new filing's page; refused, the form again with each error next
/// to its field.
pub async fn create_filing(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<FilingForm>,
) -> Response {
    let (psn_no, actor) = match citizen_posting(&ctx, &session, &state, &headers, &form.csrf) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let (person, regions) = match (person(&state, &psn_no).await, Regions::load(&state).await) {
        (Ok(p), Ok(r)) => (p, r),
        (Err(status), _) | (_, Err(status)) => return upstream_failure(&ctx, &status),
    };
    let category = category_from(&form.category);
    let refused = |errors: Vec<(Option<&'static str>, String)>, status: StatusCode| {
        let errors = FormErrors { errors };
        let main = filing_form(&ctx, &state, &actor, &regions, &person, &form, &errors);
        page(&ctx, &state, &actor, status, ctx.t(T::NewFiling), &main)
    };
    let Some(category) = category else {
        let message = filing_error(&ctx, "unknown_category", ctx.t(T::ChooseCategory));
        return refused(vec![(Some("category"), message)], StatusCode::BAD_REQUEST);
    };
    let request = fpb::CreateFilingRequest {
        request_id: form.request_id.trim().to_owned(),
        psn_no: psn_no.clone(),
        psn_name: person.psn_name.clone(),
        insuplc_admdvs: person.insuplc_admdvs.clone(),
        mdtrtarea_admvs: form.mdtrtarea_admvs.trim().to_owned(),
        category: category.into(),
        begin_date: form.begin_date.trim().to_owned(),
        end_date: form.end_date.trim().to_owned(),
        actor: Some(fpb::Actor { id: psn_no, channel: fpb::Channel::CitizenOnline.into() }),
        memo: form.memo.trim().to_owned(),
    };
    match state.filing().create_filing(request).await {
        Ok(filing) => {
            let id = filing.into_inner().filing_id;
            see_other(&format!("/citizen/filings/{id}?created=1"), &[])
        }
        Err(status)
            if matches!(
                status.code(),
                tonic::Code::InvalidArgument
                    | tonic::Code::FailedPrecondition
                    | tonic::Code::AlreadyExists
            ) =>
        {
            let code = medclear_common::error::status_reason(&status);
            let field = medclear_common::error::status_field(&status)
                .and_then(|f| FORM_FIELDS.iter().find(|known| **known == f.as_str()).copied());
            let http = if status.code() == tonic::Code::InvalidArgument {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::CONFLICT
            };
            refused(vec![(field, filing_error(&ctx, &code, status.message()))], http)
        }
        Err(status) => upstream_failure(&ctx, &status),
    }
}

/// One filing of the signed-in person (another person's: 403), with `error` at the revoke form.
async fn filing_page(
    ctx: &Ctx,
    state: &AppState,
    session: &PageSession,
    filing_id: &str,
    flash_text: &Flash,
    error: Option<(StatusCode, String)>,
) -> Response {
    let (_, actor) = match citizen(ctx, session) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let filing = match state
        .filing()
        .get_filing(fpb::GetFilingRequest { filing_id: filing_id.to_owned() })
        .await
    {
        Ok(f) => f.into_inner(),
        Err(status) => return upstream_failure(ctx, &status),
    };
    if authorize(&actor.principal, Target::Person(&filing.psn_no)).is_err() {
        return message_page(ctx, StatusCode::FORBIDDEN, T::Forbidden, T::ForbiddenText);
    }
    let regions = Regions::load(state).await.unwrap_or_default();
    let f = &filing;
    let mut facts = vec![
        (T::FilingNo, esc(&f.filing_id)),
        (T::Category, category_label(ctx, f.category).to_owned()),
        (T::HomeRegion, esc(&regions.name(&f.insuplc_admdvs, ctx.lang))),
        (T::Destination, esc(&regions.name(&f.mdtrtarea_admvs, ctx.lang))),
        (T::Validity, validity(ctx, f)),
        (T::Status, status_label(ctx, f).to_owned()),
        (T::FiledAt, esc(&f.filed_at)),
    ];
    if !f.revoked_at.is_empty() {
        facts.push((T::RevokedAt, esc(&f.revoked_at)));
    }
    if !f.memo.is_empty() {
        facts.push((T::Memo, esc(&f.memo)));
    }
    let facts: String = facts
        .iter()
        .map(|(label, value)| format!("<dt>{}</dt><dd>{value}</dd>", ctx.t(*label)))
        .collect();
    let mut main = format!(
        "<h1>{} {}</h1>{}<div class=\"card\"><dl class=\"facts\">{facts}</dl></div>",
        ctx.t(T::Details),
        esc(&f.filing_id),
        flash(ctx, flash_text)
    );
    let active = f.status == i32::from(fpb::FilingStatus::Active);
    let today = today().to_string();
    // The 6-month lock of long-term filings: explained whenever it applies.
    let locked = active
        && !f.revocable_from.is_empty()
        && f.begin_date.as_str() <= today.as_str()
        && today.as_str() < f.revocable_from.as_str();
    if active && !f.revocable_from.is_empty() && today.as_str() < f.revocable_from.as_str() {
        let note = if locked {
            format!("{} <strong>{}</strong>", ctx.t(T::LockedFrom), esc(&f.revocable_from))
        } else {
            ctx.t(T::NotYetEffective).to_owned()
        };
        main.push_str(&format!("<p class=\"dev\" id=\"revoke-lock\" role=\"note\">{note}</p>"));
    }
    let (status, error) = error.map_or((StatusCode::OK, None), |(s, e)| (s, Some(e)));
    if active && (!locked || error.is_some()) {
        let control = format!(
            "<input type=\"text\" id=\"reason\" name=\"reason\" maxlength=\"500\"{}>",
            described("reason", true, error.is_some())
        );
        main.push_str(&format!(
            "<form method=\"post\" action=\"/citizen/filings/{}/revoke\" class=\"card\" novalidate>\
             <h2>{}</h2>{}{}<button type=\"submit\" class=\"danger\">{}</button></form>",
            esc(&f.filing_id),
            ctx.t(T::Revoke),
            csrf_field(&state.pages().csrf(&actor.session)),
            field(
                "reason",
                ctx.t(T::RevokeReason),
                &control,
                ctx.t(T::RevokeReasonHelp),
                error.as_deref()
            ),
            ctx.t(T::Revoke)
        ));
    }
    main.push_str(&format!("<p><a href=\"/citizen/filings\">{}</a></p>", ctx.t(T::Back)));
    page(ctx, state, &actor, status, ctx.t(T::MyFilings), &main)
}

/// `/citizen/filings/{id}`.
pub async fn filing(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
    Path(filing_id): Path<String>,
    Query(flash_text): Query<Flash>,
) -> Response {
    filing_page(&ctx, &state, &session, &filing_id, &flash_text, None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RevokeForm {
    csrf: String,
    reason: String,
}

/// Revokes one's own filing; refused (the 6-month lock…), the page again with the reason.
pub async fn revoke(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(filing_id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Response {
    let (psn_no, actor) = match citizen_posting(&ctx, &session, &state, &headers, &form.csrf) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let filing = match state
        .filing()
        .get_filing(fpb::GetFilingRequest { filing_id: filing_id.clone() })
        .await
    {
        Ok(f) => f.into_inner(),
        Err(status) => return upstream_failure(&ctx, &status),
    };
    if authorize(&actor.principal, Target::Person(&filing.psn_no)).is_err() {
        return message_page(&ctx, StatusCode::FORBIDDEN, T::Forbidden, T::ForbiddenText);
    }
    let request = fpb::RevokeFilingRequest {
        filing_id: filing_id.clone(),
        reason: form.reason.trim().to_owned(),
        actor: Some(fpb::Actor { id: psn_no, channel: fpb::Channel::CitizenOnline.into() }),
    };
    match state.filing().revoke_filing(request).await {
        Ok(_) => see_other(&format!("/citizen/filings/{filing_id}?revoked=1"), &[]),
        Err(status)
            if matches!(
                status.code(),
                tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition
            ) =>
        {
            let code = medclear_common::error::status_reason(&status);
            let message = filing_error(&ctx, &code, status.message());
            filing_page(
                &ctx,
                &state,
                &session,
                &filing_id,
                &Flash::default(),
                Some((StatusCode::CONFLICT, message)),
            )
            .await
        }
        Err(status) => upstream_failure(&ctx, &status),
    }
}

// ---------------------------------------------------------------------------------------------
// Settlements
// ---------------------------------------------------------------------------------------------

/// `/citizen/settlements`: each settlement with what each fund paid and what the person paid.
pub async fn settlements(
    ctx: Ctx,
    session: PageSession,
    State(state): State<AppState>,
) -> Response {
    let (psn_no, actor) = match citizen(&ctx, &session) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let mut all = Vec::new();
    // A person's settlements are in their home's routing partition; ask each instance.
    for mut routing in state.routing_all() {
        let request = rpb::ListPersonSettlementsRequest { psn_no: psn_no.clone(), limit: 200 };
        match routing.list_person_settlements(request).await {
            Ok(list) => all.extend(list.into_inner().settlements),
            Err(status) => return upstream_failure(&ctx, &status),
        }
    }
    all.sort_by(|a, b| {
        let key = |s: &rpb::PersonSettlement| {
            s.settlement.as_ref().map(|s| (s.setl_time.clone(), s.setl_id.clone()))
        };
        key(b).cmp(&key(a))
    });
    let regions = Regions::load(&state).await.unwrap_or_default();
    let mut main = format!("<h1>{}</h1>", ctx.t(T::MySettlements));
    if all.is_empty() {
        main.push_str(&format!("<p>{}</p>", ctx.t(T::NoSettlements)));
    }
    for item in &all {
        let Some(s) = &item.settlement else { continue };
        let cancellation = s.kind == "cancellation";
        let kind = if cancellation { ctx.t(T::Cancellation) } else { ctx.t(T::Settlement) };
        let mut badges = String::new();
        if !item.cancelled_by.is_empty() {
            badges.push_str(&format!(
                " <span class=\"badge\">{} {}</span>",
                ctx.t(T::CancelledBy),
                esc(&item.cancelled_by)
            ));
        }
        let row = |label: T, fen: i64| {
            format!(
                "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td></tr>",
                ctx.t(label),
                money(fen)
            )
        };
        let funds = [
            (T::HifpPay, s.hifp_pay_fen),
            (T::HifobPay, s.hifob_pay_fen),
            (T::HifmiPay, s.hifmi_pay_fen),
            (T::MafPay, s.maf_pay_fen),
        ];
        let fund_rows: String = funds
            .iter()
            .filter(|(_, fen)| *fen != 0)
            .map(|(label, fen)| row(*label, *fen))
            .collect();
        let id = esc(&s.setl_id);
        main.push_str(&format!(
            "<section class=\"card\" aria-labelledby=\"s-{id}\" data-setl-id=\"{id}\">\
             <h2 id=\"s-{id}\">{kind} <span class=\"id\">{id}</span>{badges}</h2><dl class=\"facts\">\
             <dt>{settled_at}</dt><dd>{time}</dd><dt>{hospital}</dt><dd>{code}</dd>\
             <dt>{destination}</dt><dd>{region}</dd></dl>\
             <div class=\"table-wrap\"><table><caption class=\"vh\">{kind} {id}</caption><thead><tr><th scope=\"col\">{item_label}</th>\
             <th scope=\"col\" class=\"num\">{amount}</th></tr></thead><tbody>\
             {total}{fulamt}{overlmt}{preself}{inscp}{dedc}\
             <tr><th scope=\"rowgroup\" colspan=\"2\">{funds_paid}</th></tr>{fund_rows}{fund_sum}\
             <tr><th scope=\"rowgroup\" colspan=\"2\">{you_paid}</th></tr>{psn}{acct}{cash}</tbody></table></div></section>",
            settled_at = ctx.t(T::SettledAt),
            time = esc(&s.setl_time),
            hospital = ctx.t(T::Hospital),
            code = esc(&item.fixmedins_code),
            destination = ctx.t(T::Destination),
            region = esc(&regions.name(&item.mdtrtarea_admvs, ctx.lang)),
            item_label = ctx.t(T::Item),
            amount = ctx.t(T::AmountYuan),
            total = row(T::MedfeeSumamt, s.medfee_sumamt_fen),
            fulamt = row(T::FulamtOwnpay, s.fulamt_ownpay_amt_fen),
            overlmt = row(T::OverlmtSelfpay, s.overlmt_selfpay_fen),
            preself = row(T::PreselfpayAmt, s.preselfpay_amt_fen),
            inscp = row(T::InscpScpAmt, s.inscp_scp_amt_fen),
            dedc = row(T::ActPayDedc, s.act_pay_dedc_fen),
            funds_paid = ctx.t(T::FundsPaid),
            fund_sum = row(T::FundPaySumamt, s.fund_pay_sumamt_fen),
            you_paid = ctx.t(T::YouPaid),
            psn = row(T::PsnPartAmt, s.psn_part_amt_fen),
            acct = row(T::AcctPay, s.acct_pay_fen),
            cash = row(T::PsnCashPay, s.psn_cash_pay_fen),
        ));
    }
    page(&ctx, &state, &actor, StatusCode::OK, ctx.t(T::MySettlements), &main)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_sends_a_category_by_its_word() {
        assert_eq!(category_from("long_term_resident"), Some(fpb::Category::LongTermResident));
        assert_eq!(category_from(" referral "), Some(fpb::Category::Referral));
        for refused in ["", "Referral", "unspecified", "tourist"] {
            assert_eq!(category_from(refused), None, "{refused:?}");
        }
        for (category, ..) in CATEGORIES {
            assert_eq!(category_from(names::name(category)), Some(category));
        }
    }
}
