//! `/bureau/policies/…`: the bureaus' benefit policies — a province's operator writes, checks,
//! previews and publishes its own regions' policies; the national operator the national
//! default and the provinces' floors.
//!
//! * `/bureau/policies`: the versions and drafts, newest first.
//! * `/bureau/policies/new?from=ID`: a document in a text area (from a version, laid out),
//!   checked or kept as a draft; a document with problems comes back with them listed and, in
//!   the document shown line by line beside it, each at the line of the field it is about.
//! * `/bureau/policies/{id}`: a version or draft, its document; for a draft a preview form and
//!   the publish button.
//! * `/bureau/policies/{id}/preview?period=yyyy-MM` (and `.csv`): what the draft would change
//!   over a month — by fund, by treating province (with a chart), the largest changes.
//!
//! Everything goes through [`medclear_gateway::api::policies`], the JSON API's own functions,
//! so a page acts under exactly the API's rule ([`medclear_gateway::access::policy_access`]).

use axum::{
    Form,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use chrono::Datelike as _;
use medclear_gateway::{
    AppState,
    access::Principal,
    api::policies::{self as api, ListQuery, NATIONAL_REGION, PreviewOf, Scope},
    caller::{PageActor, PageSession},
    error::ApiError,
};
use medclear_proto::routing::v1 as pb;
use serde::Deserialize;

use super::{
    Regions,
    bureau::{OperatorRequest, page},
    layout::{
        Ctx, T, csrf_field, described, error_summary, esc, field, message_page, money, same_origin,
        see_other,
    },
    refused_form, today,
};
use crate::svg;

// ---------------------------------------------------------------------------------------------
// Where in a document a field is
// ---------------------------------------------------------------------------------------------

/// How deep [`value_lines`] follows a document (deeper is not a policy).
const MAX_DEPTH: usize = 64;

/// The line (from 1) each value of a JSON text is on, by its path (`a.b[0].c`; the document
/// itself is `""`): a member's line is its key's, an element's the line it starts on. Reads as
/// far as the text is JSON.
pub(crate) fn value_lines(text: &str) -> Vec<(String, usize)> {
    let mut reader = Reader { bytes: text.as_bytes(), at: 0, line: 1, lines: Vec::new() };
    reader.space();
    reader.lines.push((String::new(), reader.line));
    reader.value(&mut String::new(), 0);
    reader.lines
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    line: usize,
    lines: Vec<(String, usize)>,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn bump(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line += 1;
        }
        self.at += 1;
    }

    fn space(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.bump();
        }
    }

    /// One value at `path`; false where the text stops being JSON.
    fn value(&mut self, path: &mut String, depth: usize) -> bool {
        self.space();
        match self.peek() {
            Some(b'{') if depth < MAX_DEPTH => {
                self.bump();
                self.object(path, depth + 1)
            }
            Some(b'[') if depth < MAX_DEPTH => {
                self.bump();
                self.array(path, depth + 1)
            }
            Some(b'"') => self.string().is_some(),
            Some(b'{' | b'[') | None => false,
            Some(_) => {
                let start = self.at;
                while self.peek().is_some_and(|b| !b",}] \t\r\n".contains(&b)) {
                    self.bump();
                }
                self.at > start
            }
        }
    }

    /// A string (at its opening quote), its text as written.
    fn string(&mut self) -> Option<String> {
        self.bump();
        let start = self.at;
        loop {
            match self.peek()? {
                b'\\' => {
                    self.bump();
                    if self.peek()? == b'\n' {
                        return None;
                    }
                    self.bump();
                }
                b'"' => {
                    let text = self.bytes.get(start..self.at).unwrap_or_default();
                    self.bump();
                    return Some(String::from_utf8_lossy(text).into_owned());
                }
                b'\n' => return None,
                _ => self.bump(),
            }
        }
    }

    /// The members of an object or the elements of an array (after its opening bracket), each
    /// read by `item` (given its index), separated by commas, up to `close`: whether all were.
    fn items(&mut self, close: u8, mut item: impl FnMut(&mut Self, usize) -> bool) -> bool {
        self.space();
        if self.peek() == Some(close) {
            self.bump();
            return true;
        }
        for i in 0usize.. {
            self.space();
            if !item(self, i) {
                return false;
            }
            self.space();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(c) if c == close => {
                    self.bump();
                    return true;
                }
                _ => return false,
            }
        }
        false
    }

    fn object(&mut self, path: &mut String, depth: usize) -> bool {
        self.items(b'}', |this, _| {
            if this.peek() != Some(b'"') {
                return false;
            }
            let line = this.line;
            let Some(key) = this.string() else { return false };
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key);
            this.lines.push((path.clone(), line));
            this.space();
            let read = this.peek() == Some(b':') && {
                this.bump();
                this.value(path, depth)
            };
            path.truncate(len);
            read
        })
    }

    fn array(&mut self, path: &mut String, depth: usize) -> bool {
        self.items(b']', |this, i| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            this.lines.push((path.clone(), this.line));
            let read = this.value(path, depth);
            path.truncate(len);
            read
        })
    }
}

/// The line a problem about `field` (`inpatient.bands[0].segments[1].ratio`) is shown at: its
/// own, else that of the nearest enclosing value the document has (a field left out is shown
/// at the object that lacks it).
pub(crate) fn line_of(lines: &[(String, usize)], field: &str) -> Option<usize> {
    let mut path = field.trim();
    loop {
        if let Some((_, line)) = lines.iter().find(|(p, _)| p == path) {
            return Some(*line);
        }
        if path.is_empty() {
            return None;
        }
        path = path.get(..path.rfind(['.', '[']).unwrap_or(0)).unwrap_or_default();
    }
}

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

/// The page of a refusal that is not about the document: 403, 404, or the service is down.
fn refused_page(ctx: &Ctx, error: &ApiError) -> Response {
    match error.status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            message_page(ctx, StatusCode::FORBIDDEN, T::Forbidden, T::ForbiddenText)
        }
        StatusCode::NOT_FOUND => {
            message_page(ctx, StatusCode::NOT_FOUND, T::NotFound, T::NotFoundText)
        }
        status => {
            tracing::warn!(%status, code = %error.code, message = %error.message, "a policy page's call failed");
            message_page(ctx, StatusCode::SERVICE_UNAVAILABLE, T::Unavailable, T::UnavailableText)
        }
    }
}

/// A refusal about what was sent (400, 409): shown on the page, with its field.
fn is_about_the_request(error: &ApiError) -> bool {
    matches!(error.status, StatusCode::BAD_REQUEST | StatusCode::CONFLICT)
}

fn kind_word(ctx: &Ctx, kind: &str) -> String {
    match kind {
        "floors" => ctx.t(T::KindFloors).to_owned(),
        "policy" | "" => ctx.t(T::KindPolicy).to_owned(),
        other => esc(other),
    }
}

fn status_word(ctx: &Ctx, status: &str) -> String {
    match status {
        "draft" => ctx.t(T::StDraft).to_owned(),
        "published" => ctx.t(T::StPublished).to_owned(),
        other => esc(other),
    }
}

fn region_name(ctx: &Ctx, regions: &Regions, region: &str) -> String {
    if region == NATIONAL_REGION {
        ctx.t(T::NationalDefault).to_owned()
    } else {
        format!("{} ({})", regions.name(region, ctx.lang), region)
    }
}

fn fund_name(ctx: &Ctx, fund: &str) -> String {
    let label = match fund {
        "hifp_pay" => T::HifpPay,
        "hifob_pay" => T::HifobPay,
        "hifmi_pay" => T::HifmiPay,
        "maf_pay" => T::MafPay,
        "fund_pay_sumamt" => T::FundPaySumamt,
        "acct_pay" => T::AcctPay,
        "psn_cash_pay" => T::PsnCashPay,
        other => return esc(other),
    };
    format!("{} <span class=\"badge\">{}</span>", ctx.t(label), esc(fund))
}

fn dash(text: &str) -> String {
    if text.is_empty() { "–".to_owned() } else { esc(text) }
}

fn in_force(ctx: &Ctx, v: &pb::PolicyVersion) -> String {
    let end = if v.end_date.is_empty() { ctx.t(T::OpenEnded).to_owned() } else { esc(&v.end_date) };
    format!("{} – {end}", esc(&v.begin_date))
}

/// Last month (China time), the preview's default.
fn last_month() -> String {
    let today = today();
    today
        .with_day(1)
        .and_then(|first| first.pred_opt())
        .unwrap_or(today)
        .format("%Y-%m")
        .to_string()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Done {
    done: String,
}

fn done_notice(ctx: &Ctx, done: &str) -> String {
    let text = match done {
        "draft" => ctx.t(T::DraftSavedNotice),
        "published" => ctx.t(T::PublishedNotice),
        _ => return String::new(),
    };
    format!("<p class=\"notice\" role=\"status\">{text}</p>")
}

// ---------------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------------

/// `/bureau/policies`: the operator's documents, newest first.
pub async fn list(
    OperatorRequest { ctx, session, actor }: OperatorRequest,
    State(state): State<AppState>,
) -> Response {
    let (query, national) = match &actor.principal {
        Principal::ProvinceOperator(province) => (
            ListQuery { province: province.clone(), include_drafts: true, ..ListQuery::default() },
            false,
        ),
        _ => (ListQuery { include_drafts: true, ..ListQuery::default() }, true),
    };
    let mut versions = match api::list(&state, &actor.principal, query).await {
        Ok(versions) => versions,
        Err(error) => return refused_page(&ctx, &error),
    };
    if national {
        versions.retain(|v| Scope::of_version(v) == Scope::National);
    }
    versions.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.seq.cmp(&a.seq)));
    let regions = Regions::load(&state).await.unwrap_or_default();
    let intro = if national { T::PoliciesNationalText } else { T::PoliciesText };
    let mut main = format!(
        "<h1>{}</h1><p>{}</p><p><a class=\"button\" href=\"/bureau/policies/new\" id=\"new-draft\">{}</a></p>",
        ctx.t(T::Policies),
        ctx.t(intro),
        ctx.t(T::NewDraft)
    );
    if versions.is_empty() {
        main.push_str(&format!("<p>{}</p>", ctx.t(T::NoPolicies)));
    } else {
        main.push_str(&format!(
            "<div class=\"table-wrap\"><table id=\"policies\" aria-label=\"{}\"><thead><tr>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            ctx.t(T::Policies),
            ctx.t(T::PolicyId),
            ctx.t(T::PolicyRegion),
            ctx.t(T::Insutype),
            ctx.t(T::PolicyKind),
            ctx.t(T::PolicyLabel),
            ctx.t(T::Status),
            ctx.t(T::InForce),
            ctx.t(T::PublishedAt),
        ));
        for v in &versions {
            main.push_str(&format!(
                "<tr data-policy-id=\"{id}\" data-status=\"{status}\"><th scope=\"row\">\
                 <a class=\"id\" href=\"/bureau/policies/{id}\">{id}</a></th><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&region_name(&ctx, &regions, &v.region)),
                esc(&v.insutype),
                kind_word(&ctx, &v.kind),
                dash(&v.label),
                status_word(&ctx, &v.status),
                in_force(&ctx, v),
                dash(&v.published_at),
                id = esc(&v.policy_id),
                status = esc(&v.status),
            ));
        }
        main.push_str("</tbody></table></div>");
    }
    page(&ctx, &state, &session, &actor, StatusCode::OK, ctx.t(T::Policies), &main)
}

// ---------------------------------------------------------------------------------------------
// Writing a draft
// ---------------------------------------------------------------------------------------------

/// A problem of a document, at its line when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    field: String,
    message: String,
    /// Known without looking the field up (a JSON syntax error's line).
    line: Option<usize>,
}

/// What the editor shows besides the document.
#[derive(Debug, Default)]
struct Editor {
    problems: Vec<Problem>,
    /// The document is valid: its id and SHA-256.
    valid: Option<(String, String)>,
}

/// The document, numbered line by line, each problem beside its line.
fn numbered_lines(ctx: &Ctx, text: &str, placed: &[(usize, &Problem)]) -> String {
    let mut out = format!(
        "<section aria-labelledby=\"lines-heading\"><h2 id=\"lines-heading\">{}</h2>\
         <ol class=\"doc-lines\" id=\"document-lines\">",
        ctx.t(T::DocumentLines)
    );
    for (n, line) in (1usize..).zip(text.lines()) {
        let here: Vec<&Problem> =
            placed.iter().filter(|(at, _)| *at == n).map(|(_, p)| *p).collect();
        let class = if here.is_empty() { "" } else { " class=\"bad\"" };
        out.push_str(&format!(
            "<li id=\"line-{n}\"{class}><span class=\"ln\" aria-hidden=\"true\">{n}</span><code>{}</code>",
            esc(line)
        ));
        for p in here {
            out.push_str(&format!(
                "<p class=\"error\" data-field=\"{}\">{}</p>",
                esc(&p.field),
                esc(&problem_text(p))
            ));
        }
        out.push_str("</li>");
    }
    out.push_str("</ol></section>");
    out
}

fn problem_text(p: &Problem) -> String {
    if p.field.is_empty() { p.message.clone() } else { format!("{}: {}", p.field, p.message) }
}

fn editor_page(
    ctx: &Ctx,
    state: &AppState,
    session: &PageSession,
    actor: &PageActor,
    text: &str,
    editor: &Editor,
) -> Response {
    let lines = value_lines(text);
    let placed: Vec<(usize, &Problem)> = editor
        .problems
        .iter()
        .filter_map(|p| p.line.or_else(|| line_of(&lines, &p.field)).map(|line| (line, p)))
        .collect();
    let anchors: Vec<(Option<String>, String)> = editor
        .problems
        .iter()
        .map(|p| {
            let at = placed.iter().find(|(_, q)| std::ptr::eq(*q, p)).map(|(l, _)| *l);
            (at.map(|line| format!("line-{line}")), problem_text(p))
        })
        .collect();
    let summary: Vec<(Option<&str>, String)> =
        anchors.iter().map(|(id, text)| (id.as_deref(), text.clone())).collect();
    let valid = editor.valid.as_ref().map_or_else(String::new, |(id, sha256)| {
        format!(
            "<p class=\"notice\" role=\"status\" id=\"valid-notice\">{} <code class=\"id\">{}</code> \
             (SHA-256 <code class=\"id\">{}</code>)</p>",
            ctx.t(T::ValidNotice),
            esc(id),
            esc(sha256)
        )
    });
    let has_problems = !editor.problems.is_empty();
    let control = format!(
        "<textarea id=\"document\" name=\"document\" class=\"doc\" rows=\"32\" spellcheck=\"false\" \
         autocomplete=\"off\"{}>\n{}</textarea>",
        described("document", true, has_problems),
        esc(text)
    );
    let beside = if has_problems { numbered_lines(ctx, text, &placed) } else { String::new() };
    let main = format!(
        "<h1>{}</h1>{}{valid}<form method=\"post\" action=\"/bureau/policies/new\" id=\"policy-form\" \
         novalidate>{}<div class=\"editor\"><div>{}</div>{beside}</div>\
         <p><button type=\"submit\" name=\"action\" value=\"validate\" class=\"secondary\">{}</button> \
         <button type=\"submit\" name=\"action\" value=\"draft\">{}</button></p></form>",
        ctx.t(T::NewDraft),
        error_summary(ctx, &summary),
        csrf_field(&state.pages().csrf(&actor.session)),
        field(
            "document",
            ctx.t(T::PolicyDocument),
            &control,
            ctx.t(T::PolicyDocumentHelp),
            has_problems.then(|| ctx.t(T::FormHasErrors)),
        ),
        ctx.t(T::ValidateAction),
        ctx.t(T::SaveDraft),
    );
    let status = if has_problems { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page(ctx, state, session, actor, status, ctx.t(T::NewDraft), &main)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FromQuery {
    from: String,
}

/// A document to start from: the operator's region (or the national default) and an insutype.
fn skeleton(principal: &Principal) -> String {
    let region = match principal {
        Principal::ProvinceOperator(province) => province.as_str(),
        _ => NATIONAL_REGION,
    };
    format!("{{\n  \"region\": \"{region}\",\n  \"insutype\": \"310\"\n}}\n")
}

/// `/bureau/policies/new?from=ID`.
pub async fn new_draft(
    OperatorRequest { ctx, session, actor }: OperatorRequest,
    State(state): State<AppState>,
    Query(from): Query<FromQuery>,
) -> Response {
    let from = from.from.trim();
    let text = if from.is_empty() {
        skeleton(&actor.principal)
    } else {
        match api::get(&state, &actor.principal, from).await {
            Ok(version) => api::pretty(&version.document_json),
            Err(error) => return refused_page(&ctx, &error),
        }
    };
    editor_page(&ctx, &state, &session, &actor, &text, &Editor::default())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DocumentForm {
    csrf: String,
    document: String,
    /// `validate` or `draft`.
    action: String,
}

/// The problems of a text that is no JSON object, found here (the line of a syntax error).
fn syntax_problems(ctx: &Ctx, text: &str) -> Vec<Problem> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) if value.is_object() => Vec::new(),
        Ok(_) => vec![Problem {
            field: String::new(),
            message: ctx.t(T::NotAnObject).to_owned(),
            line: Some(1),
        }],
        Err(e) => vec![Problem {
            field: String::new(),
            message: format!("{} {e}", ctx.t(T::NotJson)),
            line: Some(e.line().max(1)),
        }],
    }
}

fn problems_of(answer: &pb::ValidatePolicyResponse) -> Vec<Problem> {
    answer
        .problems
        .iter()
        .map(|p| Problem { field: p.field.clone(), message: p.message.clone(), line: None })
        .collect()
}

fn problem_of(error: &ApiError) -> Problem {
    // Refused for who acts: that is the document's region (or kind).
    let field = match (&error.field, error.status) {
        (Some(field), _) => field.clone(),
        (None, StatusCode::FORBIDDEN) => "region".to_owned(),
        (None, _) => String::new(),
    };
    Problem { field, message: error.message.clone(), line: None }
}

/// A refusal shown in the editor, beside its field: the document's (400), or who acts (403).
fn is_about_the_document(error: &ApiError) -> bool {
    is_about_the_request(error) || error.status == StatusCode::FORBIDDEN
}

/// `POST /bureau/policies/new`: check the document, or keep it as a draft.
pub async fn submit_draft(
    OperatorRequest { ctx, session, actor }: OperatorRequest,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<DocumentForm>,
) -> Response {
    if !same_origin(&headers) || !state.pages().csrf_ok(&actor.session, &form.csrf) {
        return refused_form(&ctx);
    }
    // Browsers send a text area's lines ended by CR LF; a document is kept with LF, so the
    // same text has the same id whichever way it came.
    let text = form.document.replace("\r\n", "\n");
    let problems = syntax_problems(&ctx, &text);
    if !problems.is_empty() {
        return editor_page(
            &ctx,
            &state,
            &session,
            &actor,
            &text,
            &Editor { problems, valid: None },
        );
    }
    let principal = &actor.principal;
    let editor = if form.action == "draft" {
        match api::put_draft(&state, principal, &text).await {
            Ok(v) => {
                return see_other(&format!("/bureau/policies/{}?done=draft", v.policy_id), &[]);
            }
            // Refused as invalid: every problem of it, not only the first.
            Err(error) if is_about_the_document(&error) => {
                match api::validate(&state, principal, &text).await {
                    Ok(answer) if !answer.valid => {
                        Editor { problems: problems_of(&answer), valid: None }
                    }
                    _ => Editor { problems: vec![problem_of(&error)], valid: None },
                }
            }
            Err(error) => return refused_page(&ctx, &error),
        }
    } else {
        match api::validate(&state, principal, &text).await {
            Ok(answer) if answer.valid => {
                Editor { problems: Vec::new(), valid: Some((answer.policy_id, answer.sha256)) }
            }
            Ok(answer) => Editor { problems: problems_of(&answer), valid: None },
            Err(error) if is_about_the_document(&error) => {
                Editor { problems: vec![problem_of(&error)], valid: None }
            }
            Err(error) => return refused_page(&ctx, &error),
        }
    };
    editor_page(&ctx, &state, &session, &actor, &text, &editor)
}

// ---------------------------------------------------------------------------------------------
// A version
// ---------------------------------------------------------------------------------------------

async fn version_page(
    ctx: &Ctx,
    state: &AppState,
    session: &PageSession,
    actor: &PageActor,
    policy_id: &str,
    done: &str,
    refused: Option<&ApiError>,
) -> Response {
    let v = match api::get(state, &actor.principal, policy_id).await {
        Ok(v) => v,
        Err(error) => return refused_page(ctx, &error),
    };
    let regions = Regions::load(state).await.unwrap_or_default();
    let acts = Scope::of_version(&v).allows(&actor.principal, true).is_ok();
    let errors: Vec<(Option<&str>, String)> =
        refused.iter().map(|e| (None, e.message.clone())).collect();
    let id = esc(&v.policy_id);
    let title = if v.title.is_empty() { String::new() } else { format!(" · {}", esc(&v.title)) };
    let mut main = format!(
        "<h1>{} <span class=\"id\">{id}</span>{title}</h1>{}{}<div class=\"card\"><dl class=\"facts\">\
         <dt>{}</dt><dd id=\"policy-status\" data-status=\"{}\">{}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd><code class=\"id\">{}</code></dd><dt>{}</dt><dd>{} · {}</dd>",
        ctx.t(T::Policies),
        done_notice(ctx, done),
        error_summary(ctx, &errors),
        ctx.t(T::Status),
        esc(&v.status),
        status_word(ctx, &v.status),
        ctx.t(T::PolicyRegion),
        esc(&region_name(ctx, &regions, &v.region)),
        ctx.t(T::Insutype),
        esc(&v.insutype),
        ctx.t(T::PolicyKind),
        kind_word(ctx, &v.kind),
        ctx.t(T::PolicyLabel),
        dash(&v.label),
        ctx.t(T::InForce),
        in_force(ctx, &v),
        ctx.t(T::Sha256),
        esc(&v.sha256),
        ctx.t(T::DraftedBy),
        dash(&v.created_by),
        dash(&v.created_at),
    );
    if v.status == "published" {
        main.push_str(&format!(
            "<dt>{}</dt><dd>{} · {}</dd><dt>{}</dt><dd>{}</dd>",
            ctx.t(T::PublishedBy),
            dash(&v.published_by),
            dash(&v.published_at),
            ctx.t(T::Publication),
            v.seq
        ));
    }
    main.push_str("</dl>");
    if acts {
        main.push_str(&format!(
            "<p><a class=\"button\" href=\"/bureau/policies/new?from={id}\" id=\"start-from\">{}</a></p>",
            ctx.t(T::StartFrom)
        ));
    }
    main.push_str("</div>");
    if acts && v.status == "draft" {
        main.push_str(&preview_form(ctx, policy_id, &last_month(), None));
        main.push_str(&format!(
            "<form method=\"post\" action=\"/bureau/policies/{id}/publish\" class=\"card\" id=\"publish-form\">\
             <h2>{}</h2><p>{}</p>{}<button type=\"submit\" class=\"danger\">{}</button></form>",
            ctx.t(T::PublishAction),
            ctx.t(T::PublishText),
            csrf_field(&state.pages().csrf(&actor.session)),
            ctx.t(T::PublishAction),
        ));
    }
    main.push_str(&format!(
        "<h2 id=\"document-heading\">{}</h2><pre class=\"doc\" id=\"document\" aria-labelledby=\"document-heading\">{}</pre>",
        ctx.t(T::PolicyDocument),
        esc(&api::pretty(&v.document_json))
    ));
    let status = match refused {
        Some(error) => error.status,
        None => StatusCode::OK,
    };
    page(ctx, state, session, actor, status, &v.policy_id, &main)
}

/// `/bureau/policies/{policy_id}`.
pub async fn version(
    OperatorRequest { ctx, session, actor }: OperatorRequest,
    State(state): State<AppState>,
    Path(policy_id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    version_page(&ctx, &state, &session, &actor, &policy_id, &done.done, None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /bureau/policies/{policy_id}/publish`.
pub async fn publish(
    OperatorRequest { ctx, session, actor }: OperatorRequest,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(policy_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !same_origin(&headers) || !state.pages().csrf_ok(&actor.session, &form.csrf) {
        return refused_form(&ctx);
    }
    match api::publish(&state, &actor.principal, &policy_id).await {
        Ok(v) => see_other(&format!("/bureau/policies/{}?done=published", v.policy_id), &[]),
        Err(error) if is_about_the_request(&error) => {
            version_page(&ctx, &state, &session, &actor, &policy_id, "", Some(&error)).await
        }
        Err(error) => refused_page(&ctx, &error),
    }
}

// ---------------------------------------------------------------------------------------------
// A preview
// ---------------------------------------------------------------------------------------------

fn preview_form(ctx: &Ctx, policy_id: &str, period: &str, error: Option<&str>) -> String {
    let control = format!(
        "<input type=\"text\" id=\"period\" name=\"period\" value=\"{}\" maxlength=\"7\" \
         inputmode=\"numeric\" autocomplete=\"off\"{}>",
        esc(period),
        described("period", true, error.is_some())
    );
    format!(
        "<form method=\"get\" action=\"/bureau/policies/{}/preview\" class=\"card\" id=\"preview-form\">\
         <h2>{}</h2><p>{}</p>{}<button type=\"submit\" class=\"secondary\">{}</button></form>",
        esc(policy_id),
        ctx.t(T::PreviewAction),
        ctx.t(T::PreviewText),
        field("period", ctx.t(T::Month), &control, ctx.t(T::MonthHelp), error),
        ctx.t(T::PreviewAction),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PeriodQuery {
    period: String,
}

fn amounts(before: i64, after: i64, change: i64) -> String {
    format!(
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\" data-fen=\"{change}\">{}</td>",
        money(before),
        money(after),
        money(change)
    )
}

fn amount_headers(ctx: &Ctx) -> String {
    format!(
        "<th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th>\
         <th scope=\"col\" class=\"num\">{}</th>",
        ctx.t(T::BeforeCol),
        ctx.t(T::AfterCol),
        ctx.t(T::ChangeCol)
    )
}

fn preview_tables(ctx: &Ctx, regions: &Regions, p: &pb::PolicyPreview) -> String {
    let mut out = format!(
        "<h2 id=\"by-fund\">{}</h2><div class=\"table-wrap\"><table id=\"funds\" aria-labelledby=\"by-fund\">\
         <thead><tr><th scope=\"col\">{}</th>{}</tr></thead><tbody>",
        ctx.t(T::ByFund),
        ctx.t(T::Fund),
        amount_headers(ctx)
    );
    for f in &p.funds {
        out.push_str(&format!(
            "<tr data-fund=\"{}\"><th scope=\"row\">{}</th>{}</tr>",
            esc(&f.fund),
            fund_name(ctx, &f.fund),
            amounts(f.before_fen, f.after_fen, f.change_fen)
        ));
    }
    out.push_str("</tbody></table></div>");
    let bars: Vec<(String, i64)> = p
        .provinces
        .iter()
        .map(|c| (regions.province_name(&c.treating_province, ctx.lang), c.change_fen))
        .collect();
    out.push_str(&format!(
        "<h2 id=\"by-treating\">{}</h2><figure id=\"treating-chart\" aria-label=\"{}\">{}</figure>\
         <div class=\"table-wrap\"><table id=\"provinces\" aria-labelledby=\"by-treating\"><thead><tr>\
         <th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th>{}</tr></thead><tbody>",
        ctx.t(T::ByTreating),
        ctx.t(T::ChangeByTreating),
        svg::signed_bars(ctx.t(T::ChangeByTreating), &bars, svg::yuan, ctx.t(T::NoChanges)),
        ctx.t(T::Province),
        ctx.t(T::Settlements),
        amount_headers(ctx)
    ));
    for c in &p.provinces {
        out.push_str(&format!(
            "<tr data-province=\"{}\"><th scope=\"row\">{}</th><td class=\"num\">{}</td>{}</tr>",
            esc(&c.treating_province),
            esc(&regions.name(&c.treating_province, ctx.lang)),
            c.settlements,
            amounts(c.before_fen, c.after_fen, c.change_fen)
        ));
    }
    out.push_str("</tbody></table></div>");
    out.push_str(&format!(
        "<h2 id=\"largest\">{}</h2><p>{}: {}</p>",
        ctx.t(T::LargestChanges),
        ctx.t(T::PersonsAffected),
        p.persons_affected
    ));
    if p.largest.is_empty() {
        out.push_str(&format!("<p>{}</p>", ctx.t(T::NoChanges)));
    } else {
        out.push_str(&format!(
            "<div class=\"table-wrap\"><table id=\"persons\" aria-labelledby=\"largest\"><thead><tr>\
             <th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th>{}</tr></thead><tbody>",
            ctx.t(T::PsnNo),
            ctx.t(T::Settlements),
            amount_headers(ctx)
        ));
        for c in &p.largest {
            out.push_str(&format!(
                "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td>{}</tr>",
                esc(&c.psn_no),
                c.settlements,
                amounts(c.before_fen, c.after_fen, c.change_fen)
            ));
        }
        out.push_str("</tbody></table></div>");
    }
    out
}

/// `/bureau/policies/{policy_id}/preview?period=yyyy-MM`.
pub async fn preview(
    OperatorRequest { ctx, session, actor }: OperatorRequest,
    State(state): State<AppState>,
    Path(policy_id): Path<String>,
    Query(query): Query<PeriodQuery>,
) -> Response {
    let period = if query.period.trim().is_empty() { last_month() } else { query.period };
    let of = PreviewOf::Stored(policy_id.clone());
    let heading = format!(
        "<h1>{} · <span class=\"id\">{}</span></h1><p><a href=\"/bureau/policies/{}\">{}</a></p>",
        ctx.t(T::PreviewTitle),
        esc(&policy_id),
        esc(&policy_id),
        ctx.t(T::Back)
    );
    let p = match api::preview(&state, &actor.principal, of, &period).await {
        Ok(p) => p,
        Err(error) if is_about_the_request(&error) => {
            let at_period = error.field.as_deref() == Some("period");
            let summary = [(at_period.then_some("period"), error.message.clone())];
            let main = format!(
                "{heading}{}{}",
                error_summary(&ctx, &summary),
                preview_form(
                    &ctx,
                    &policy_id,
                    &period,
                    at_period.then_some(error.message.as_str())
                )
            );
            let title = ctx.t(T::PreviewTitle);
            return page(&ctx, &state, &session, &actor, error.status, title, &main);
        }
        Err(error) => return refused_page(&ctx, &error),
    };
    let regions = Regions::load(&state).await.unwrap_or_default();
    let csv = format!("/bureau/policies/{}/preview.csv?period={}", esc(&policy_id), esc(&p.period));
    let main = format!(
        "{heading}<div class=\"card\"><dl class=\"facts\"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd id=\"preview-settlements\">{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{}</dd></dl><p><a class=\"button\" href=\"{csv}\" id=\"preview-csv\" download>{}</a></p></div>{}{}",
        ctx.t(T::PolicyRegion),
        esc(&region_name(&ctx, &regions, &p.region)),
        ctx.t(T::Month),
        esc(&p.period),
        ctx.t(T::Settlements),
        p.settlements,
        ctx.t(T::Replayed),
        p.replayed,
        ctx.t(T::Persons),
        p.persons,
        ctx.t(T::PersonsAffected),
        p.persons_affected,
        ctx.t(T::DownloadCsv),
        preview_form(&ctx, &policy_id, &p.period, None),
        preview_tables(&ctx, &regions, &p),
    );
    page(&ctx, &state, &session, &actor, StatusCode::OK, ctx.t(T::PreviewTitle), &main)
}

/// `/bureau/policies/{policy_id}/preview.csv?period=yyyy-MM`: the preview as the JSON API's
/// CSV, for the page's session.
pub async fn preview_csv(
    OperatorRequest { ctx, actor, .. }: OperatorRequest,
    State(state): State<AppState>,
    Path(policy_id): Path<String>,
    Query(query): Query<PeriodQuery>,
) -> Response {
    let of = PreviewOf::Stored(policy_id.clone());
    match api::preview(&state, &actor.principal, of, &query.period).await {
        Ok(p) => api::csv_response(
            &api::preview_csv(&p),
            &format!("preview-{policy_id}-{}.csv", p.period),
        ),
        Err(error) if is_about_the_request(&error) => {
            message_page(&ctx, StatusCode::BAD_REQUEST, T::PreviewTitle, T::MonthHelp)
        }
        Err(error) => refused_page(&ctx, &error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENT: &str = r#"{
  "region": "420200",
  "inpatient": {
    "bands": [
      {
        "segments": [
          { "from_fen": 0, "ratio": "0.90" },
          {
            "from_fen": 100,
            "ratio": "1.50"
          }
        ]
      }
    ]
  },
  "tags": ["a", "b"]
}"#;

    #[test]
    fn a_field_is_found_at_its_own_line() {
        let lines = value_lines(DOCUMENT);
        let at = |field: &str| line_of(&lines, field);
        assert_eq!(at("region"), Some(2));
        assert_eq!(at("inpatient.bands[0].segments[0].ratio"), Some(7));
        assert_eq!(at("inpatient.bands[0].segments[1].ratio"), Some(10));
        assert_eq!(at("inpatient.bands[0].segments[1]"), Some(8));
        assert_eq!(at("tags[1]"), Some(16));
        // Left out: where it belongs.
        assert_eq!(at("inpatient.bands[0].segments[1].to_fen"), Some(8));
        assert_eq!(at("inpatient.deductibles"), Some(3));
        assert_eq!(at("scheme"), Some(1));
        assert_eq!(at(""), Some(1));
    }

    #[test]
    fn problems_are_shown_beside_their_lines_escaped() {
        let ctx = crate::layout::tests_ctx(crate::layout::Lang::En);
        let problem = Problem { field: "a.b".into(), message: "too <big>".into(), line: None };
        let text = "{\n  \"a\": {\"b\": 2}\n}";
        let line = line_of(&value_lines(text), &problem.field).unwrap();
        assert_eq!(line, 2);
        let html = numbered_lines(&ctx, text, &[(line, &problem)]);
        assert!(html.contains(
            "<li id=\"line-1\"><span class=\"ln\" aria-hidden=\"true\">1</span><code>{</code></li>"
        ));
        assert!(html.contains("<li id=\"line-2\" class=\"bad\">"), "{html}");
        assert!(html.contains("<code>  &quot;a&quot;: {&quot;b&quot;: 2}</code><p class=\"error\" data-field=\"a.b\">a.b: too &lt;big&gt;</p></li>"), "{html}");
        assert!(!html.contains("<li id=\"line-3\" class=\"bad\">"));
    }

    #[test]
    fn a_broken_document_is_read_as_far_as_it_goes() {
        let lines = value_lines("{\n \"a\": 1,\n \"b\": [1,\n \"c\"\n");
        assert_eq!(line_of(&lines, "a"), Some(2));
        assert_eq!(line_of(&lines, "b[1]"), Some(4));
        assert_eq!(line_of(&value_lines(""), "a"), Some(1));
        let deep = "[".repeat(10_000);
        assert!(value_lines(&deep).len() <= MAX_DEPTH + 2, "no deeper than a policy goes");
    }
}
