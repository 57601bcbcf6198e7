//! The national interface for hospital HIS (国家医保信息平台 定点医药机构接口):
//! `POST /fsi/api/rsfComIfsService/callService` takes the national envelope, runs the
//! transaction its `infno` names through the services' gRPC APIs, and answers in the national
//! envelope — `infcode` 0 with `output`, or -1 with `err_msg` (`reason: message`). Field
//! names, nesting and codes follow `docs/NATIONAL_INTERFACE.md`.
//!
//! Amounts travel in yuan. Before anything reads a body, every JSON number with a fraction or
//! an exponent is turned into a string of the same text ([`exact_numbers`]), so an amount is
//! read from its digits, never through a float; a string or a number are both accepted.
//! Amounts go out as JSON numbers with two decimals, written from integer fen.

use axum::{
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, FixedOffset, Utc};
use medclear_common::clock::{Clock as _, SystemClock};
use medclear_common::{
    clock::CHINA,
    error::status_reason,
    money::{fen_to_yuan, yuan_to_fen},
};
use medclear_proto::routing::v1 as pb;
use medclear_routing::partition::province_of_id;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Value, value::RawValue};

use super::{AppState, json::text};

mod files;

use crate::access::{Caller, Target, authorize};
pub use files::{unzip_first, zip_one};

/// Where HIS systems send every transaction.
pub const PATH: &str = "/fsi/api/rsfComIfsService/callService";

/// The largest envelope read (a 2204 upload of a long inpatient stay is the largest).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// The transactions this endpoint runs.
pub const TRANSACTIONS: [&str; 40] = [
    "1101", "1301", "1302", "1305", "1306", "1307", "1308", "1312", "1317", "1318", "1319", "2201",
    "2202", "2203", "2203A", "2204", "2205", "2206", "2207", "2208", "2301", "2302", "2303",
    "2304", "2305", "2401", "2402", "2404", "2501", "2502", "2503", "2504", "2601", "3201", "3202",
    "3301", "3302", "9001", "9101", "9102",
];

/// A refusal: the reason code and a message for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    pub message: String,
}

impl Refusal {
    fn new(reason: &str, message: impl Into<String>) -> Self {
        Self { reason: reason.to_owned(), message: message.into() }
    }
}

impl From<tonic::Status> for Refusal {
    fn from(status: tonic::Status) -> Self {
        Self { reason: status_reason(&status), message: status.message().to_owned() }
    }
}

type Outcome = Result<Option<Box<RawValue>>, Refusal>;

/// Rewrites every JSON number that has a fraction or an exponent as a string of its text
/// (`12.30` → `"12.30"`); integers, strings and everything else are kept byte for byte. The
/// input need not be valid JSON: what is not is left for the parser to refuse.
pub fn exact_numbers(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b == b'"' {
            // A string, escapes included, copied as it is.
            let start = i;
            i += 1;
            while i < body.len() && body[i] != b'"' {
                i += if body[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(body.len());
            out.extend_from_slice(&body[start..i]);
        } else if b == b'-' || b.is_ascii_digit() {
            let start = i;
            i += 1;
            while i < body.len()
                && matches!(body[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
            {
                i += 1;
            }
            let number = &body[start..i];
            if number.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
                out.push(b'"');
                out.extend_from_slice(number);
                out.push(b'"');
            } else {
                out.extend_from_slice(number);
            }
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// The national envelope (request).
#[derive(Debug, Default, Deserialize)]
pub struct Envelope {
    #[serde(default, deserialize_with = "text")]
    pub infno: String,
    #[serde(default, deserialize_with = "text")]
    pub msgid: String,
    #[serde(default, deserialize_with = "text")]
    pub mdtrtarea_admvs: String,
    #[serde(default, deserialize_with = "text")]
    pub insuplc_admdvs: String,
    #[serde(default, deserialize_with = "text")]
    pub recer_sys_code: String,
    #[serde(default, deserialize_with = "text")]
    pub infver: String,
    #[serde(default, deserialize_with = "text")]
    pub opter_type: String,
    #[serde(default, deserialize_with = "text")]
    pub opter: String,
    #[serde(default, deserialize_with = "text")]
    pub opter_name: String,
    #[serde(default, deserialize_with = "text")]
    pub inf_time: String,
    #[serde(default, deserialize_with = "text")]
    pub fixmedins_code: String,
    #[serde(default, deserialize_with = "text")]
    pub fixmedins_name: String,
    #[serde(default, deserialize_with = "text")]
    pub sign_no: String,
    #[serde(default)]
    pub input: Value,
}

/// The national envelope (answer).
#[derive(Debug, Serialize)]
struct Answer<'a> {
    infcode: i32,
    inf_refmsgid: String,
    refmsg_time: String,
    respond_time: String,
    err_msg: Option<String>,
    warn_msg: Option<String>,
    output: Option<&'a RawValue>,
}

/// `yyyyMMddHHmmssSSS` in China time.
fn stamp(at: DateTime<Utc>) -> String {
    at.with_timezone(&CHINA).format("%Y%m%d%H%M%S%3f").to_string()
}

fn answer(
    envelope: Option<&Envelope>,
    received: DateTime<Utc>,
    outcome: &Outcome,
    status: StatusCode,
) -> Response {
    let area = envelope
        .map(|e| e.mdtrtarea_admvs.as_str())
        .filter(|a| a.len() == 6 && a.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("000000");
    let serial = uuid::Uuid::new_v4().as_u128() % 10_000_000_000;
    let inf_refmsgid =
        format!("{area}{}{serial:010}", received.with_timezone(&CHINA).format("%Y%m%d%H%M%S"));
    let (infcode, err_msg, output) = match outcome {
        Ok(output) => (0, None, output.as_deref()),
        Err(refusal) => (-1, Some(format!("{}: {}", refusal.reason, refusal.message)), None),
    };
    let body = Answer {
        infcode,
        inf_refmsgid,
        refmsg_time: stamp(received),
        respond_time: stamp(Utc::now()),
        err_msg,
        warn_msg: None,
        output,
    };
    let text = serde_json::to_string(&body).unwrap_or_else(|e| {
        format!(r#"{{"infcode":-1,"err_msg":"internal: the answer could not be written: {e}"}}"#)
    });
    let mut response =
        (status, [(axum::http::header::CONTENT_TYPE, "application/json; charset=utf-8")], text)
            .into_response();
    // For the metrics by transaction code; an envelope too broken to name one counts as "".
    let infno = envelope.map(|e| e.infno.clone()).unwrap_or_default();
    response.extensions_mut().insert(super::edge::Transaction { infno, infcode });
    response
}

/// A refusal in the national envelope, for what refuses a call before its transaction runs
/// (the gateway's rate and time limits).
pub fn refusal(status: StatusCode, reason: &str, message: String) -> Response {
    answer(None, Utc::now(), &Err(Refusal::new(reason, message)), status)
}

/// `POST /fsi/api/rsfComIfsService/callService`.
pub async fn call_service(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let received = Utc::now();
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let too_large = rejection.status() == StatusCode::PAYLOAD_TOO_LARGE;
            let refusal = if too_large {
                Refusal::new(
                    "body_too_large",
                    format!("the envelope is larger than {MAX_BODY} bytes"),
                )
            } else {
                Refusal::new("unreadable_body", rejection.body_text())
            };
            let status =
                if too_large { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::BAD_REQUEST };
            return answer(None, received, &Err(refusal), status);
        }
    };
    let envelope = match read_envelope(&body) {
        Ok(envelope) => envelope,
        Err(refusal) => return answer(None, received, &Err(refusal), StatusCode::BAD_REQUEST),
    };
    if let Err((status, refusal)) = check_caller(&caller, &envelope) {
        return answer(Some(&envelope), received, &Err(refusal), status);
    }
    if let Err(refusal) = state.sign_in().check(&envelope, received) {
        return answer(Some(&envelope), received, &Err(refusal), StatusCode::OK);
    }
    if envelope.infno == "9102" {
        return match download_file(&state, &envelope).await {
            Ok(response) => response,
            Err(refusal) => answer(Some(&envelope), received, &Err(refusal), StatusCode::OK),
        };
    }
    let outcome = run(&state, &envelope).await;
    answer(Some(&envelope), received, &outcome, StatusCode::OK)
}

/// 1301 / 1302 / 1305–1308: which file holds the catalogue items since `ver`.
#[derive(Debug, Serialize)]
struct FileAnswer {
    file_qury_no: String,
    filename: String,
    dld_end_time: String,
    data_cnt: usize,
}

async fn catalogue_file(state: &AppState, envelope: &Envelope) -> Outcome {
    let v: files::VersionNode = node(envelope, "data")?;
    let after = files::version_of(&v.ver)?;
    let (rows, upto) = files::rows(state, &envelope.infno, after, None).await?;
    let infno = envelope.infno.parse().unwrap_or_default();
    let query = files::FileQuery { infno, after, upto };
    let tomorrow = SystemClock.today() + chrono::Days::new(1);
    output(&FileAnswer {
        file_qury_no: query.number(),
        filename: query.filename(),
        dld_end_time: tomorrow.to_string(),
        data_cnt: rows.len(),
    })
}

/// 9102: the file a download (130x) or a reconciliation (3202) named, as a zip (the body is
/// the file, not an envelope).
async fn download_file(state: &AppState, envelope: &Envelope) -> Result<Response, Refusal> {
    let d: files::DownloadNode = node(envelope, "fsDownloadIn")?;
    let number = d.file_qury_no.trim();
    let (zip, filename) = if number.starts_with('F') {
        let request = medclear_proto::clearing::v1::GetFileRequest {
            fixmedins_code: envelope.fixmedins_code.clone(),
            file_qury_no: number.to_owned(),
        };
        let file = state.clearing().get_file(request).await?.into_inner();
        (file.content, file.filename)
    } else {
        let query = files::FileQuery::parse(number).ok_or_else(|| {
            Refusal::new("unknown_file", format!("no file {number:?} to download"))
        })?;
        let infno = query.infno.to_string();
        let (rows, _) = files::rows(state, &infno, query.after, Some(query.upto)).await?;
        let mut text = rows.join("\n");
        text.push('\n');
        (files::zip_one(&format!("{infno}.txt"), text.as_bytes())?, query.filename())
    };
    let disposition = format!("attachment; filename=\"{filename}\"");
    Ok((
        StatusCode::OK,
        [
            (axum::http::header::CONTENT_TYPE, "application/zip".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        zip,
    )
        .into_response())
}

/// The caller must be the institution the envelope names (see [`crate::access`]): over
/// HTTPS, the one its client certificate names.
fn check_caller(caller: &Caller, envelope: &Envelope) -> Result<(), (StatusCode, Refusal)> {
    authorize(&caller.0, Target::Institution(envelope.fixmedins_code.trim())).map_err(|denied| {
        let status = if denied.reason == "unauthenticated" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        (status, Refusal::new(denied.reason, denied.message))
    })
}

/// Reads and checks the envelope (not yet its `input`).
pub fn read_envelope(body: &[u8]) -> Result<Envelope, Refusal> {
    let value: Value = serde_json::from_slice(&exact_numbers(body))
        .map_err(|e| Refusal::new("malformed_json", format!("the envelope is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(Refusal::new("invalid_envelope", "the envelope must be a JSON object"));
    }
    let envelope: Envelope = serde_json::from_value(value)
        .map_err(|e| Refusal::new("invalid_envelope", format!("the envelope is not valid: {e}")))?;
    for (field, value, max) in [
        ("infno", &envelope.infno, 5),
        ("msgid", &envelope.msgid, 30),
        ("fixmedins_code", &envelope.fixmedins_code, 12),
        ("mdtrtarea_admvs", &envelope.mdtrtarea_admvs, 6),
    ] {
        if value.trim().is_empty() {
            return Err(Refusal::new("missing_field", format!("the envelope has no {field}")));
        }
        if value.chars().count() > max {
            return Err(Refusal::new(
                "invalid_field",
                format!("{field} is longer than {max} characters"),
            ));
        }
    }
    if !TRANSACTIONS.contains(&envelope.infno.as_str()) {
        return Err(Refusal::new(
            "unknown_infno",
            format!(
                "infno {} is not a transaction this platform runs ({})",
                envelope.infno,
                TRANSACTIONS.join(", ")
            ),
        ));
    }
    Ok(envelope)
}

/// One object node of `input`, read into `T` (`input.data`, `input.mdtrtinfo`, …).
fn node<T: DeserializeOwned>(envelope: &Envelope, name: &str) -> Result<T, Refusal> {
    read_node(envelope, name, Value::is_object, "an object")
}

/// One list node of `input` (`input.feedetail`).
fn list<T: DeserializeOwned>(envelope: &Envelope, name: &str) -> Result<Vec<T>, Refusal> {
    read_node(envelope, name, Value::is_array, "a list")
}

fn read_node<T: DeserializeOwned>(
    envelope: &Envelope,
    name: &str,
    shape: fn(&Value) -> bool,
    shape_name: &str,
) -> Result<T, Refusal> {
    let value = envelope.input.get(name).cloned().ok_or_else(|| {
        Refusal::new("invalid_input", format!("transaction {} needs input.{name}", envelope.infno))
    })?;
    if !shape(&value) {
        return Err(Refusal::new("invalid_input", format!("input.{name} must be {shape_name}")));
    }
    serde_json::from_value(value)
        .map_err(|e| Refusal::new("invalid_input", format!("input.{name} is not valid: {e}")))
}

/// An amount field in yuan (string or number, at most two decimals) in fen.
fn fen(field: &str, text: &str) -> Result<i64, Refusal> {
    let (negative, digits) = match text.trim().strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.trim()),
    };
    yuan_to_fen(digits)
        .map(|f| if negative { -f } else { f })
        .map_err(|e| Refusal::new("invalid_amount", format!("{field}: {}", e.0)))
}

/// A unit price (`pric`, N(16,6)) in fen: more decimals are accepted while they are zeros, a
/// price below the fen is refused (the line amount is kept in fen).
fn price_fen(field: &str, text: &str) -> Result<i64, Refusal> {
    let bad = |why: &str| Refusal::new("invalid_amount", format!("{field} {text:?}: {why}"));
    let price = Decimal::from_str_exact(text.trim()).map_err(|_| bad("not a number"))?;
    let fen = price * Decimal::ONE_HUNDRED;
    if price <= Decimal::ZERO {
        return Err(bad("must be above 0"));
    }
    if !fen.fract().is_zero() {
        return Err(bad("a price below the fen cannot be settled to the fen"));
    }
    i64::try_from(fen).map_err(|_| bad("too large"))
}

/// An amount written from fen as a JSON number with two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Yuan(i64);

impl Serialize for Yuan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(fen_to_yuan(self.0)).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

fn output<T: Serialize>(value: &T) -> Outcome {
    let text = serde_json::to_string(value)
        .map_err(|e| Refusal::new("internal", format!("writing the output: {e}")))?;
    RawValue::from_string(text)
        .map(Some)
        .map_err(|e| Refusal::new("internal", format!("writing the output: {e}")))
}

/// `yyyy-MM-dd HH:mm:ss` (or a bare date) → the date.
fn date_of(field: &str, text: &str) -> Result<String, Refusal> {
    let day = text.trim().get(..10).unwrap_or_default();
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|d| d.to_string())
        .map_err(|_| Refusal::new("invalid_date", format!("{field} {text:?} is not yyyy-MM-dd")))
}

async fn run(state: &AppState, envelope: &Envelope) -> Outcome {
    match envelope.infno.as_str() {
        "1101" => person_info(state, envelope).await,
        "2201" | "2401" => register(state, envelope).await,
        "2202" | "2404" => cancel_visit(state, envelope).await,
        "2402" => discharge(state, envelope).await,
        "2203" | "2203A" => visit_details(state, envelope).await,
        "1317" => institution_matching(state, envelope).await,
        "1312" | "1318" | "1319" => coverage_query(state, envelope).await,
        "1301" | "1302" | "1305" | "1306" | "1307" | "1308" => {
            catalogue_file(state, envelope).await
        }
        "2204" | "2301" => upload_fees(state, envelope).await,
        "2205" | "2302" => cancel_fees(state, envelope).await,
        "2206" | "2303" => settle(state, envelope, false).await,
        "2207" | "2304" => settle(state, envelope, true).await,
        "2208" | "2305" => cancel_settlement(state, envelope).await,
        "2601" => reverse(state, envelope).await,
        "9001" => sign_in(state, envelope),
        "2501" => file_referral(state, envelope).await,
        "2503" => file_chronic(state, envelope).await,
        "2502" | "2504" => revoke_filing(state, envelope).await,
        "3201" => reconcile_totals(state, envelope).await,
        "3202" => reconcile_details(state, envelope).await,
        "9101" => upload_file(state, envelope).await,
        "3301" => upload_mapping(state, envelope).await,
        "3302" => revoke_mapping(state, envelope).await,
        other => Err(Refusal::new("unknown_infno", format!("infno {other} is not run here"))),
    }
}

/// The routing instance for this envelope: the insured place's, else the id's.
fn routing(
    state: &AppState,
    envelope: &Envelope,
    id: &str,
) -> pb::routing_service_client::RoutingServiceClient<medclear_common::telemetry::Traced> {
    let home = Some(envelope.insuplc_admdvs.trim()).filter(|h| !h.is_empty());
    state.routing_for(home.or_else(|| province_of_id(id)))
}

// 1101 -----------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct PersonQuery {
    #[serde(default, deserialize_with = "text")]
    mdtrt_cert_type: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_cert_no: String,
    #[serde(default, deserialize_with = "text")]
    certno: String,
}

#[derive(Debug, Serialize)]
struct BaseInfo {
    psn_no: String,
    psn_cert_type: &'static str,
    certno: String,
    psn_name: String,
    gend: String,
    brdy: String,
    age: u32,
}

#[derive(Debug, Serialize)]
struct InsuInfo {
    balc: Yuan,
    insutype: String,
    psn_type: &'static str,
    psn_insu_stas: &'static str,
    cvlserv_flag: &'static str,
    insuplc_admdvs: String,
}

#[derive(Debug, Serialize)]
struct PersonOutput {
    baseinfo: BaseInfo,
    insuinfo: Vec<InsuInfo>,
    idetinfo: Vec<Value>,
}

async fn person_info(state: &AppState, envelope: &Envelope) -> Outcome {
    let q: PersonQuery = node(envelope, "data")?;
    // 02 (ID card) carries the citizen ID as the credential number; any type may name it
    // in `certno`. E-vouchers (01) and social-security cards (03) need their issuers.
    let certno = match (q.mdtrt_cert_type.as_str(), q.certno.trim()) {
        (_, certno) if !certno.is_empty() => certno.to_owned(),
        ("02", _) => q.mdtrt_cert_no.trim().to_owned(),
        (other, _) => {
            return Err(Refusal::new(
                "unsupported_credential",
                format!(
                    "mdtrt_cert_type {other:?} without certno: send the citizen ID (02) or certno"
                ),
            ));
        }
    };
    let person = routing(state, envelope, "")
        .query_person(pb::QueryPersonRequest { certno: certno.clone(), psn_no: String::new() })
        .await?
        .into_inner();
    let today = SystemClock.today();
    let birth = certno.get(6..14).and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y%m%d").ok());
    let age = birth.and_then(|b| today.years_since(b)).unwrap_or(0);
    let gend = certno
        .get(16..17)
        .and_then(|d| d.parse::<u8>().ok())
        .map_or("9", |d| if d % 2 == 1 { "1" } else { "2" });
    output(&PersonOutput {
        baseinfo: BaseInfo {
            psn_no: person.psn_no,
            psn_cert_type: "01",
            certno,
            psn_name: person.psn_name,
            gend: gend.to_owned(),
            brdy: birth.map(|b| b.to_string()).unwrap_or_default(),
            age,
        },
        insuinfo: vec![InsuInfo {
            balc: Yuan(person.account_balance_fen),
            insutype: person.insutype,
            // 11 在职 (employed), 12 退休 (retired): the first two digits of psn_type.
            psn_type: if person.retired { "1201" } else { "1101" },
            psn_insu_stas: "1",
            cvlserv_flag: "0",
            insuplc_admdvs: person.insuplc_admdvs,
        }],
        idetinfo: Vec::new(),
    })
}

// 2201 / 2401, 2202 / 2404, 2402 ------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct Registration {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    begntime: String,
    #[serde(default, deserialize_with = "text")]
    ipt_otp_no: String,
    #[serde(default, deserialize_with = "text")]
    ipt_no: String,
    #[serde(default, deserialize_with = "text")]
    med_type: String,
    #[serde(default, deserialize_with = "text")]
    dise_codg: String,
    #[serde(default, deserialize_with = "text")]
    dscg_maindiag_code: String,
    #[serde(default, deserialize_with = "text")]
    adm_diag_dscr: String,
    #[serde(default)]
    exp_content: Value,
}

/// A national `med_type` code (`None` when empty).
fn med_type_of(text: &str) -> Result<Option<pb::MedType>, Refusal> {
    Ok(Some(match text.trim() {
        "" => return Ok(None),
        "11" | "12" => pb::MedType::GeneralOutpatient,
        "14" => pb::MedType::ChronicOutpatient,
        "21" => pb::MedType::Inpatient,
        "41" => pb::MedType::Pharmacy,
        other => {
            return Err(Refusal::new(
                "unknown_med_type",
                format!("med_type {other} is not 11, 12, 14, 21 or 41"),
            ));
        }
    }))
}

/// `exp_content.er_flag` (急诊, as HIS clients send it: an object, or a list of one).
fn emergency(exp: &Value) -> bool {
    let flag = exp.get("er_flag").or_else(|| exp.get(0).and_then(|e| e.get("er_flag")));
    matches!(flag.and_then(|f| f.as_str().map(str::to_owned).or_else(|| Some(f.to_string()))), Some(f) if f == "1" || f == "true")
}

/// An output whose only node is `data`. Outputs are written from typed structs, never through
/// `serde_json::Value`, which would turn an amount's exact text into a float.
#[derive(Debug, Serialize)]
struct DataOutput<T> {
    data: T,
}

#[derive(Debug, Serialize)]
struct Registered {
    mdtrt_id: String,
    psn_no: String,
    ipt_otp_no: String,
}

async fn register(state: &AppState, envelope: &Envelope) -> Outcome {
    let inpatient = envelope.infno == "2401";
    let r: Registration = node(envelope, if inpatient { "mdtrtinfo" } else { "data" })?;
    let med_type = med_type_of(&r.med_type)?.unwrap_or(if inpatient {
        pb::MedType::Inpatient
    } else {
        pb::MedType::GeneralOutpatient
    });
    let diagnosis = if inpatient { &r.dscg_maindiag_code } else { &r.adm_diag_dscr };
    let request = pb::RegisterVisitRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        psn_no: r.psn_no.trim().to_owned(),
        med_type: med_type.into(),
        mdtrtarea_admvs: envelope.mdtrtarea_admvs.clone(),
        // The institution registry has it.
        hospital_level: String::new(),
        begin_date: date_of("begntime", &r.begntime)?,
        diagnosis_code: diagnosis.trim().to_owned(),
        emergency: emergency(&r.exp_content),
        disease_code: r.dise_codg.trim().to_owned(),
    };
    let visit = routing(state, envelope, "").register_visit(request).await?.into_inner();
    output(&DataOutput {
        data: Registered {
            mdtrt_id: visit.mdtrt_id,
            psn_no: visit.psn_no,
            ipt_otp_no: if inpatient { r.ipt_no } else { r.ipt_otp_no },
        },
    })
}

#[derive(Debug, Default, Deserialize)]
struct VisitNode {
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    endtime: String,
}

fn visit_ref(envelope: &Envelope, v: &VisitNode, end_date: String) -> pb::VisitRef {
    pb::VisitRef {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: v.mdtrt_id.trim().to_owned(),
        end_date,
    }
}

async fn cancel_visit(state: &AppState, envelope: &Envelope) -> Outcome {
    let v: VisitNode = node(envelope, "data")?;
    routing(state, envelope, &v.mdtrt_id)
        .cancel_visit(visit_ref(envelope, &v, String::new()))
        .await?;
    Ok(None)
}

async fn discharge(state: &AppState, envelope: &Envelope) -> Outcome {
    let v: VisitNode = node(envelope, "dscginfo")?;
    let end = date_of("endtime", &v.endtime)?;
    routing(state, envelope, &v.mdtrt_id).discharge_visit(visit_ref(envelope, &v, end)).await?;
    Ok(None)
}

#[derive(Debug, Default, Deserialize)]
struct VisitDetails {
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    med_type: String,
    #[serde(default, deserialize_with = "text")]
    dise_codg: String,
}

#[derive(Debug, Default, Deserialize)]
struct Diagnosis {
    #[serde(default, deserialize_with = "text")]
    diag_srt_no: String,
    #[serde(default, deserialize_with = "text")]
    diag_code: String,
}

/// 2203: the visit's medical type, disease (`dise_codg`) and main diagnosis (the `diseinfo`
/// row with `diag_srt_no` 1, else the first).
async fn visit_details(state: &AppState, envelope: &Envelope) -> Outcome {
    let v: VisitDetails = node(envelope, "mdtrtinfo")?;
    let diagnoses: Vec<Diagnosis> = if envelope.input.get("diseinfo").is_some() {
        list(envelope, "diseinfo")?
    } else {
        Vec::new()
    };
    let main = diagnoses.iter().find(|d| d.diag_srt_no.trim() == "1").or(diagnoses.first());
    let request = pb::UpdateVisitRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: v.mdtrt_id.trim().to_owned(),
        med_type: med_type_of(&v.med_type)?.unwrap_or(pb::MedType::Unspecified).into(),
        diagnosis_code: main.map(|d| d.diag_code.trim().to_owned()).unwrap_or_default(),
        disease_code: v.dise_codg.trim().to_owned(),
    };
    routing(state, envelope, &v.mdtrt_id).update_visit(request).await?;
    Ok(None)
}

// 2204 / 2301, 2205 / 2302 -------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct FeeDetail {
    #[serde(default, deserialize_with = "text")]
    feedetl_sn: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    fee_ocur_time: String,
    #[serde(default, deserialize_with = "text")]
    med_list_codg: String,
    #[serde(default, deserialize_with = "text")]
    medins_list_codg: String,
    #[serde(default, deserialize_with = "text")]
    det_item_fee_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    cnt: String,
    #[serde(default, deserialize_with = "text")]
    pric: String,
}

#[derive(Debug, Serialize)]
struct FeeResults {
    result: Vec<FeeResult>,
}

#[derive(Debug, Serialize)]
struct FeeResult {
    feedetl_sn: String,
    det_item_fee_sumamt: Yuan,
    cnt: String,
    pric: Yuan,
}

async fn upload_fees(state: &AppState, envelope: &Envelope) -> Outcome {
    let details: Vec<FeeDetail> = list(envelope, "feedetail")?;
    let Some(first) = details.first() else {
        return Err(Refusal::new("invalid_input", "input.feedetail has no lines"));
    };
    let mdtrt_id = first.mdtrt_id.trim().to_owned();
    let mut lines = Vec::with_capacity(details.len());
    let mut results = Vec::with_capacity(details.len());
    for (i, d) in details.iter().enumerate() {
        let at = |field: &str| format!("feedetail[{i}].{field}");
        if d.mdtrt_id.trim() != mdtrt_id {
            return Err(Refusal::new(
                "invalid_input",
                format!("{}: every line of one upload belongs to one visit", at("mdtrt_id")),
            ));
        }
        let price_fen = price_fen(&at("pric"), &d.pric)?;
        let quantity = Decimal::from_str_exact(d.cnt.trim())
            .ok()
            .filter(|q| *q > Decimal::ZERO)
            .ok_or_else(|| {
                Refusal::new(
                    "invalid_quantity",
                    format!("{} {:?} is not above 0", at("cnt"), d.cnt),
                )
            })?;
        let amount = fen(&at("det_item_fee_sumamt"), &d.det_item_fee_sumamt)?;
        // The line amount must be the price times the quantity, to the fen (half away from 0).
        let expected = (Decimal::from(price_fen) * quantity)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        if Decimal::from(amount) != expected {
            return Err(Refusal::new(
                "amount_mismatch",
                format!(
                    "{}: {} is not pric × cnt ({} × {})",
                    at("det_item_fee_sumamt"),
                    d.det_item_fee_sumamt,
                    d.pric,
                    d.cnt
                ),
            ));
        }
        lines.push(pb::FeeLine {
            feedetl_sn: d.feedetl_sn.trim().to_owned(),
            local_code: d.medins_list_codg.trim().to_owned(),
            national_code: d.med_list_codg.trim().to_owned(),
            price_fen,
            quantity: quantity.normalize().to_string(),
            fee_date: date_of(&at("fee_ocur_time"), &d.fee_ocur_time)?,
        });
        results.push(FeeResult {
            feedetl_sn: d.feedetl_sn.trim().to_owned(),
            det_item_fee_sumamt: Yuan(amount),
            cnt: quantity.normalize().to_string(),
            pric: Yuan(price_fen),
        });
    }
    let request = pb::UploadFeeLinesRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: mdtrt_id.clone(),
        lines,
    };
    routing(state, envelope, &mdtrt_id).upload_fee_lines(request).await?;
    output(&FeeResults { result: results })
}

#[derive(Debug, Default, Deserialize)]
struct FeeCancel {
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    chrg_bchno: String,
    #[serde(default, deserialize_with = "text")]
    feedetl_sn: String,
}

async fn cancel_fees(state: &AppState, envelope: &Envelope) -> Outcome {
    let c: FeeCancel = node(envelope, "data")?;
    // "0000" (2205) or no line number (2302): every unsettled line of the visit.
    let named = match (c.chrg_bchno.trim(), c.feedetl_sn.trim()) {
        (_, sn) if !sn.is_empty() && sn != "0000" => vec![sn.to_owned()],
        ("0000" | "", _) => Vec::new(),
        (batch, _) => {
            return Err(Refusal::new(
                "unsupported_batch",
                format!(
                    "chrg_bchno {batch}: charge batches are not kept; cancel with \"0000\" (all \
                     unsettled lines) and upload again"
                ),
            ));
        }
    };
    let request = pb::CancelFeeLinesRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: c.mdtrt_id.trim().to_owned(),
        feedetl_sn: named,
    };
    routing(state, envelope, &c.mdtrt_id).cancel_fee_lines(request).await?;
    Ok(None)
}

// 2206 / 2207 / 2303 / 2304, 2208 / 2305, 2601 -------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct SettleNode {
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    setl_id: String,
    #[serde(default, deserialize_with = "text")]
    medfee_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    acct_used_flag: String,
    #[serde(default, deserialize_with = "text")]
    omsgid: String,
}

#[derive(Debug, Serialize)]
struct SetlInfo {
    setl_id: Option<String>,
    mdtrt_id: String,
    psn_no: String,
    setl_time: Option<String>,
    medfee_sumamt: Yuan,
    fulamt_ownpay_amt: Yuan,
    overlmt_selfpay: Yuan,
    preselfpay_amt: Yuan,
    inscp_scp_amt: Yuan,
    act_pay_dedc: Yuan,
    hifp_pay: Yuan,
    hifob_pay: Yuan,
    hifmi_pay: Yuan,
    maf_pay: Yuan,
    fund_pay_sumamt: Yuan,
    psn_part_amt: Yuan,
    acct_pay: Yuan,
    psn_cash_pay: Yuan,
    medins_setl_id: String,
}

#[derive(Debug, Serialize)]
struct SetlDetail {
    fund_pay_type: String,
    crt_payb_lmt_amt: Yuan,
    fund_payamt: Yuan,
}

#[derive(Debug, Serialize)]
struct SettlementOutput {
    setlinfo: SetlInfo,
    setldetail: Vec<SetlDetail>,
}

/// The national `setlinfo` + `setldetail` of a settlement. A cancellation is answered as the
/// national platform does: its own new `setl_id`, every amount negative.
fn settlement_output(s: pb::Settlement, msgid: &str, mdtrt_id: &str) -> Outcome {
    let settled = s.kind != "presettlement";
    let sign = if s.kind == "cancellation" { -1 } else { 1 };
    let yuan = |fen: i64| Yuan(sign * fen);
    let setl_time = chrono::DateTime::parse_from_rfc3339(&s.setl_time)
        .map(|t: DateTime<FixedOffset>| {
            t.with_timezone(&CHINA).format("%Y-%m-%d %H:%M:%S").to_string()
        })
        .unwrap_or(s.setl_time);
    output(&SettlementOutput {
        setlinfo: SetlInfo {
            setl_id: settled.then_some(s.setl_id),
            mdtrt_id: if s.mdtrt_id.is_empty() { mdtrt_id.trim().to_owned() } else { s.mdtrt_id },
            psn_no: s.psn_no,
            setl_time: settled.then_some(setl_time),
            medfee_sumamt: yuan(s.medfee_sumamt_fen),
            fulamt_ownpay_amt: yuan(s.fulamt_ownpay_amt_fen),
            overlmt_selfpay: yuan(s.overlmt_selfpay_fen),
            preselfpay_amt: yuan(s.preselfpay_amt_fen),
            inscp_scp_amt: yuan(s.inscp_scp_amt_fen),
            act_pay_dedc: yuan(s.act_pay_dedc_fen),
            hifp_pay: yuan(s.hifp_pay_fen),
            hifob_pay: yuan(s.hifob_pay_fen),
            hifmi_pay: yuan(s.hifmi_pay_fen),
            maf_pay: yuan(s.maf_pay_fen),
            fund_pay_sumamt: yuan(s.fund_pay_sumamt_fen),
            psn_part_amt: yuan(s.psn_part_amt_fen),
            acct_pay: yuan(s.acct_pay_fen),
            psn_cash_pay: yuan(s.psn_cash_pay_fen),
            medins_setl_id: msgid.to_owned(),
        },
        setldetail: s
            .setldetail
            .into_iter()
            .map(|d| SetlDetail {
                fund_pay_type: d.fund_pay_type,
                crt_payb_lmt_amt: yuan(d.crt_payb_lmt_amt_fen),
                fund_payamt: yuan(d.fund_payamt_fen),
            })
            .collect(),
    })
}

async fn settle(state: &AppState, envelope: &Envelope, persist: bool) -> Outcome {
    let s: SettleNode = node(envelope, "data")?;
    let request = pb::SettleRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: s.mdtrt_id.trim().to_owned(),
        use_account: s.acct_used_flag.trim() == "1",
        // The hospital's total must be what was uploaded: the settlement checks it as it
        // computes, before anything is kept.
        medfee_sumamt_fen: match s.medfee_sumamt.trim() {
            "" => None,
            text => Some(fen("medfee_sumamt", text)?),
        },
    };
    let mut client = routing(state, envelope, &s.mdtrt_id);
    let settlement = if persist {
        client.settle(request).await?.into_inner()
    } else {
        client.pre_settle(request).await?.into_inner()
    };
    settlement_output(settlement, &envelope.msgid, &s.mdtrt_id)
}

async fn cancel_settlement(state: &AppState, envelope: &Envelope) -> Outcome {
    let s: SettleNode = node(envelope, "data")?;
    let request = pb::CancelSettlementRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        setl_id: s.setl_id.trim().to_owned(),
    };
    let settlement =
        routing(state, envelope, &s.setl_id).cancel_settlement(request).await?.into_inner();
    settlement_output(settlement, &envelope.msgid, &s.mdtrt_id)
}

async fn reverse(state: &AppState, envelope: &Envelope) -> Outcome {
    let s: SettleNode = node(envelope, "data")?;
    let request = pb::ReverseRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        omsgid: s.omsgid.trim().to_owned(),
    };
    routing(state, envelope, "").reverse(request).await?;
    Ok(None)
}

// 9001 ---------------------------------------------------------------------------------------

/// Signs sign-in numbers (9001): `sign_no` is the China date and an HMAC-SHA256 of the
/// institution, the operator and that date, so a later envelope's `sign_no` is checked
/// without a store. It is good for the day it was issued. The key comes from
/// `GATEWAY_SIGN_KEY` (see [`crate::citizen::gateway_secret`]).
#[derive(Debug, Clone)]
pub struct SignIn {
    key: ring::hmac::Key,
}

impl SignIn {
    /// The 9001 signer of a gateway secret (see [`crate::citizen::gateway_secret`]).
    pub fn new(secret: &[u8]) -> Self {
        let key = [secret, b"|9001"].concat();
        Self { key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key) }
    }

    /// The sign-in number of `opter` at `institution` on `day` (`yyyyMMdd`).
    fn number(&self, institution: &str, opter: &str, day: &str) -> String {
        let tag = ring::hmac::sign(&self.key, format!("{institution}|{opter}|{day}").as_bytes());
        let hex: String = tag.as_ref().iter().take(8).map(|b| format!("{b:02X}")).collect();
        format!("{day}{hex}")
    }

    /// Refuses an envelope whose `sign_no` (when sent) was not issued today to its
    /// institution and operator.
    fn check(&self, envelope: &Envelope, at: DateTime<Utc>) -> Result<(), Refusal> {
        let sent = envelope.sign_no.trim();
        if sent.is_empty() || envelope.infno == "9001" {
            return Ok(());
        }
        let today = at.with_timezone(&CHINA).format("%Y%m%d").to_string();
        let expected = self.number(envelope.fixmedins_code.trim(), envelope.opter.trim(), &today);
        if !same_bytes(sent.as_bytes(), expected.as_bytes()) {
            return Err(Refusal::new(
                "invalid_sign_no",
                "sign_no was not issued today to this institution and operator: sign in (9001)",
            ));
        }
        Ok(())
    }
}

/// Equal, compared in time that does not depend on where they differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, Default, Deserialize)]
struct SignInNode {
    #[serde(default, deserialize_with = "text")]
    opter_no: String,
}

#[derive(Debug, Serialize)]
struct SignInOutput {
    signinoutb: SignedIn,
}

#[derive(Debug, Serialize)]
struct SignedIn {
    sign_time: String,
    sign_no: String,
}

fn sign_in(state: &AppState, envelope: &Envelope) -> Outcome {
    let node: SignInNode = node(envelope, "signIn")?;
    // The sign-in is the envelope's operator's: later envelopes are checked against `opter`.
    if !node.opter_no.trim().is_empty() && node.opter_no.trim() != envelope.opter.trim() {
        return Err(Refusal::new(
            "invalid_input",
            "signIn.opter_no must be the envelope's opter (the operator signing in)",
        ));
    }
    if envelope.opter.trim().is_empty() {
        return Err(Refusal::new("missing_field", "the envelope has no opter to sign in"));
    }
    let now = Utc::now().with_timezone(&CHINA);
    let day = now.format("%Y%m%d").to_string();
    output(&SignInOutput {
        signinoutb: SignedIn {
            sign_time: now.format("%Y-%m-%d %H:%M:%S").to_string(),
            sign_no: state.sign_in().number(
                envelope.fixmedins_code.trim(),
                envelope.opter.trim(),
                &day,
            ),
        },
    })
}

// 2501 / 2502 / 2503 / 2504 ------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct Referral {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    mdtrtarea_admdvs: String,
    #[serde(default, deserialize_with = "text")]
    refl_date: String,
    #[serde(default, deserialize_with = "text")]
    begndate: String,
    #[serde(default, deserialize_with = "text")]
    enddate: String,
    #[serde(default, deserialize_with = "text")]
    refl_rea: String,
    #[serde(default, deserialize_with = "text")]
    reflin_medins_name: String,
}

#[derive(Debug, Default, Deserialize)]
struct ChronicDeclaration {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    opsp_dise_code: String,
    #[serde(default, deserialize_with = "text")]
    insu_optins: String,
    #[serde(default, deserialize_with = "text")]
    ide_fixmedins_no: String,
    #[serde(default, deserialize_with = "text")]
    begndate: String,
    #[serde(default, deserialize_with = "text")]
    enddate: String,
}

#[derive(Debug, Default, Deserialize)]
struct Declared {
    #[serde(default, deserialize_with = "text")]
    trt_dcla_detl_sn: String,
    #[serde(default, deserialize_with = "text")]
    memo: String,
}

#[derive(Debug, Serialize)]
struct DeclarationOutput {
    result: DeclarationSerial,
}

#[derive(Debug, Serialize)]
struct DeclarationSerial {
    trt_dcla_detl_sn: String,
}

/// Filed by the hospital (定点医疗机构代办), under its code.
fn hospital_actor(envelope: &Envelope) -> medclear_proto::filing::v1::Actor {
    medclear_proto::filing::v1::Actor {
        id: envelope.fixmedins_code.clone(),
        channel: medclear_proto::filing::v1::Channel::Hospital.into(),
    }
}

fn optional_date(field: &str, text: &str) -> Result<String, Refusal> {
    if text.trim().is_empty() { Ok(String::new()) } else { date_of(field, text) }
}

async fn file_referral(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::filing::v1 as fpb;
    let r: Referral = node(envelope, "refmedin")?;
    let begin = if r.begndate.trim().is_empty() { &r.refl_date } else { &r.begndate };
    let request = fpb::CreateFilingRequest {
        request_id: envelope.msgid.clone(),
        psn_no: r.psn_no.trim().to_owned(),
        psn_name: String::new(),
        insuplc_admdvs: envelope.insuplc_admdvs.trim().to_owned(),
        mdtrtarea_admvs: r.mdtrtarea_admdvs.trim().to_owned(),
        category: fpb::Category::Referral.into(),
        begin_date: date_of("refl_date", begin)?,
        end_date: optional_date("enddate", &r.enddate)?,
        actor: Some(hospital_actor(envelope)),
        memo: format!("{} → {}", r.refl_rea.trim(), r.reflin_medins_name.trim()),
    };
    let filing = state.filing().create_filing(request).await?.into_inner();
    output(&DeclarationOutput { result: DeclarationSerial { trt_dcla_detl_sn: filing.filing_id } })
}

async fn file_chronic(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::filing::v1 as fpb;
    let c: ChronicDeclaration = node(envelope, "data")?;
    let home =
        if c.insu_optins.trim().is_empty() { &envelope.insuplc_admdvs } else { &c.insu_optins };
    let request = fpb::CreateChronicFilingRequest {
        request_id: envelope.msgid.clone(),
        psn_no: c.psn_no.trim().to_owned(),
        insuplc_admdvs: home.trim().to_owned(),
        disease_code: c.opsp_dise_code.trim().to_owned(),
        diagnosed_by: c.ide_fixmedins_no.trim().to_owned(),
        begin_date: date_of("begndate", &c.begndate)?,
        end_date: optional_date("enddate", &c.enddate)?,
        actor: Some(hospital_actor(envelope)),
    };
    let filing = state.filing().create_chronic_filing(request).await?.into_inner();
    output(&DeclarationOutput { result: DeclarationSerial { trt_dcla_detl_sn: filing.filing_id } })
}

async fn revoke_filing(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::filing::v1 as fpb;
    let d: Declared = node(envelope, "data")?;
    let reason = if d.memo.trim().is_empty() { "revoked by the hospital" } else { d.memo.trim() };
    let filing_id = d.trt_dcla_detl_sn.trim().to_owned();
    let actor = Some(hospital_actor(envelope));
    if envelope.infno == "2504" {
        let request =
            fpb::RevokeChronicFilingRequest { filing_id, reason: reason.to_owned(), actor };
        state.filing().revoke_chronic_filing(request).await?;
    } else {
        let request = fpb::RevokeFilingRequest { filing_id, reason: reason.to_owned(), actor };
        state.filing().revoke_filing(request).await?;
    }
    Ok(None)
}

// 3201 ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct TotalsNode {
    #[serde(default, deserialize_with = "text")]
    insutype: String,
    #[serde(default, deserialize_with = "text")]
    clr_type: String,
    #[serde(default, deserialize_with = "text")]
    setl_optins: String,
    #[serde(default, deserialize_with = "text")]
    stmt_begndate: String,
    #[serde(default, deserialize_with = "text")]
    stmt_enddate: String,
    #[serde(default, deserialize_with = "text")]
    medfee_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    fund_pay_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    acct_pay: String,
    #[serde(default, deserialize_with = "text")]
    fixmedins_setl_cnt: String,
}

#[derive(Debug, Serialize)]
struct StmtOutput {
    stmtinfo: StmtInfo,
}

#[derive(Debug, Serialize)]
struct StmtInfo {
    setl_optins: String,
    /// `0` balanced (平), `1` not (不平).
    stmt_rslt: &'static str,
    stmt_rslt_dscr: String,
}

async fn reconcile_totals(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::clearing::v1 as cpb;
    let t: TotalsNode = node(envelope, "data")?;
    let begin = date_of("stmt_begndate", &t.stmt_begndate)?;
    let end = date_of("stmt_enddate", &t.stmt_enddate)?;
    if begin != end {
        return Err(Refusal::new(
            "unsupported_range",
            "totals are reconciled one day at a time: stmt_begndate and stmt_enddate the same day",
        ));
    }
    let count =
        t.fixmedins_setl_cnt.trim().parse::<u64>().map_err(|_| {
            Refusal::new("invalid_input", "fixmedins_setl_cnt must be a whole number")
        })?;
    let request = cpb::ReconcileTotalsRequest {
        msgid: envelope.msgid.clone(),
        fixmedins_code: envelope.fixmedins_code.clone(),
        stmt_date: begin,
        insutype: t.insutype.trim().to_owned(),
        clr_type: t.clr_type.trim().to_owned(),
        hospital: Some(cpb::ReconTotals {
            setl_cnt: count,
            medfee_sumamt_fen: fen("medfee_sumamt", &t.medfee_sumamt)?,
            fund_pay_sumamt_fen: fen("fund_pay_sumamt", &t.fund_pay_sumamt)?,
            acct_pay_fen: fen("acct_pay", &t.acct_pay)?,
        }),
    };
    let answer = state.clearing().reconcile_totals(request).await?.into_inner();
    let balanced = answer.stmt_rslt() == cpb::ReconResult::Match;
    output(&StmtOutput {
        stmtinfo: StmtInfo {
            setl_optins: t.setl_optins.trim().to_owned(),
            stmt_rslt: if balanced { "0" } else { "1" },
            stmt_rslt_dscr: answer.stmt_rslt_dscr,
        },
    })
}

// 3301 / 3302 ----------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct MappingNode {
    #[serde(default, deserialize_with = "text")]
    fixmedins_hilist_id: String,
    #[serde(default, deserialize_with = "text")]
    fixmedins_hilist_name: String,
    #[serde(default, deserialize_with = "text")]
    med_list_codg: String,
    #[serde(default, deserialize_with = "text")]
    begndate: String,
}

async fn upload_mapping(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::catalog::v1 as kpb;
    // One item in `data`, or a list of them (clients send both).
    let items: Vec<MappingNode> = match envelope.input.get("data") {
        Some(Value::Array(_)) => list(envelope, "data")?,
        _ => vec![node(envelope, "data")?],
    };
    let mut mappings = Vec::with_capacity(items.len());
    for (i, m) in items.iter().enumerate() {
        mappings.push(kpb::Mapping {
            local_code: m.fixmedins_hilist_id.trim().to_owned(),
            local_name: m.fixmedins_hilist_name.trim().to_owned(),
            national_code: m.med_list_codg.trim().to_owned(),
            begin_date: date_of(&format!("data[{i}].begndate"), &m.begndate)?,
            ..Default::default()
        });
    }
    let request = kpb::UploadMappingsRequest {
        msgid: envelope.msgid.clone(),
        fixmedins_code: envelope.fixmedins_code.clone(),
        mappings,
    };
    let answer = state.catalog().upload_mappings(request).await?.into_inner();
    let refused: Vec<String> = answer
        .outcomes
        .iter()
        .filter(|o| !o.accepted)
        .map(|o| format!("data[{}]: {} ({})", o.index, o.reason, o.message))
        .collect();
    if !refused.is_empty() {
        return Err(Refusal::new("mapping_refused", refused.join("; ")));
    }
    Ok(None)
}

async fn revoke_mapping(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::catalog::v1 as kpb;
    let m: MappingNode = node(envelope, "data")?;
    let request = kpb::RevokeMappingRequest {
        msgid: envelope.msgid.clone(),
        fixmedins_code: envelope.fixmedins_code.clone(),
        local_code: m.fixmedins_hilist_id.trim().to_owned(),
    };
    state.catalog().revoke_mapping(request).await?;
    Ok(None)
}

// 1317 ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default, deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(default, deserialize_with = "text")]
    medins_list_codg: String,
    #[serde(default, deserialize_with = "text")]
    med_list_codg: String,
    #[serde(default, deserialize_with = "text")]
    page_num: String,
    #[serde(default, deserialize_with = "text")]
    page_size: String,
}

/// A page of rows in the national paged-query wrapper (its keys are camelCase).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    data: Vec<T>,
    page_num: usize,
    page_size: usize,
    size: usize,
    start_row: usize,
    pages: usize,
    record_counts: usize,
    first_page: bool,
    last_page: bool,
}

impl<T> Page<T> {
    /// Page `page_num` (from 1) of `page_size` rows of `rows`.
    fn of(rows: Vec<T>, page_num: usize, page_size: usize) -> Self {
        let total = rows.len();
        let pages = total.div_ceil(page_size);
        let start = (page_num - 1).saturating_mul(page_size).min(total);
        let data: Vec<T> = rows.into_iter().skip(start).take(page_size).collect();
        Self {
            size: data.len(),
            data,
            page_num,
            page_size,
            start_row: start + 1,
            pages,
            record_counts: total,
            first_page: page_num == 1,
            last_page: page_num >= pages,
        }
    }
}

fn page_number(field: &str, text: &str, max: usize) -> Result<usize, Refusal> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| Refusal::new("invalid_input", format!("{field} must be 1 to {max}")))
}

#[derive(Debug, Serialize)]
struct MatchRow {
    fixmedins_code: String,
    medins_list_codg: String,
    medins_list_name: String,
    med_list_codg: String,
    begndate: String,
    enddate: String,
    /// `1` in force, `0` revoked.
    vali_flag: &'static str,
}

/// 1317: the institution's own catalogue matching (its mappings), a page at a time.
async fn institution_matching(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::catalog::v1 as kpb;
    let q: PageQuery = node(envelope, "data")?;
    let page_num = page_number("page_num", &q.page_num, 9999)?;
    let page_size = page_number("page_size", &q.page_size, 1000)?;
    // An institution sees its own matching only.
    if !q.fixmedins_code.trim().is_empty() && q.fixmedins_code.trim() != envelope.fixmedins_code {
        return Err(Refusal::new(
            "forbidden",
            "an institution queries its own catalogue matching (fixmedins_code)",
        ));
    }
    let request = kpb::ListMappingsRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        include_revoked: true,
    };
    let mappings = state.catalog().list_mappings(request).await?.into_inner().mappings;
    let rows: Vec<MatchRow> = mappings
        .into_iter()
        .filter(|m| {
            let local = q.medins_list_codg.trim();
            let national = q.med_list_codg.trim();
            (local.is_empty() || m.local_code == local)
                && (national.is_empty() || m.national_code == national)
        })
        .map(|m| MatchRow {
            fixmedins_code: m.fixmedins_code,
            medins_list_codg: m.local_code,
            medins_list_name: m.local_name,
            med_list_codg: m.national_code,
            begndate: m.begin_date,
            enddate: m.end_date,
            vali_flag: if m.revoked { "0" } else { "1" },
        })
        .collect();
    output(&Page::of(rows, page_num, page_size))
}

// 1312 / 1318 / 1319 --------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct RuleQuery {
    #[serde(default, deserialize_with = "text")]
    hilist_code: String,
    #[serde(default, deserialize_with = "text")]
    insu_admdvs: String,
    #[serde(default, deserialize_with = "text")]
    page_num: String,
    #[serde(default, deserialize_with = "text")]
    page_size: String,
}

/// A decimal written as a JSON number from its exact text.
#[derive(Debug, Clone)]
struct Exact(String);

impl Serialize for Exact {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.clone()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

#[derive(Debug, Serialize)]
struct HilistRow {
    hilist_code: String,
    hilist_name: String,
    insu_admdvs: String,
    begndate: String,
    enddate: String,
    /// 01 甲, 02 乙, 03 丙.
    chrgitm_lv: &'static str,
    /// 1 when the rule restricts use (levels, diagnoses, ages).
    lmt_used_flag: &'static str,
    vali_flag: &'static str,
    rid: String,
}

#[derive(Debug, Serialize)]
struct PriceCapRow {
    hilist_code: String,
    insu_admdvs: String,
    begndate: String,
    enddate: String,
    hilist_pric_uplmt_amt: Yuan,
    vali_flag: &'static str,
    rid: String,
}

#[derive(Debug, Serialize)]
struct SelfPayRow {
    hilist_code: String,
    /// The insutype the ratio is for, or `ALL`.
    selfpay_prop_psn_type: String,
    insu_admdvs: String,
    begndate: String,
    enddate: String,
    selfpay_prop: Exact,
    vali_flag: &'static str,
    rid: String,
}

/// 1312 (catalogue rules), 1318 (price caps), 1319 (first self-pay ratios): the catalogue's
/// coverage rules, filtered by `hilist_code` and `insu_admdvs` (the rule's scope, `000000`
/// national), a page at a time. `updt_time` is not a filter here: every rule is listed.
async fn coverage_query(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::catalog::v1 as kpb;
    let q: RuleQuery = node(envelope, "data")?;
    let page_num = page_number("page_num", &q.page_num, 9999)?;
    let page_size = page_number("page_size", &q.page_size, 1000)?;
    let (names, rules) = files::coverage(state).await?;
    let today = SystemClock.today().to_string();
    let rules = rules.into_iter().filter(|c| {
        (q.hilist_code.trim().is_empty() || c.code == q.hilist_code.trim())
            && (q.insu_admdvs.trim().is_empty() || c.scope == q.insu_admdvs.trim())
    });
    let valid = |c: &kpb::Coverage| -> &'static str {
        if c.end_date.is_empty() || c.end_date >= today { "1" } else { "0" }
    };
    match envelope.infno.as_str() {
        "1312" => {
            let rows: Vec<HilistRow> = rules
                .map(|c| HilistRow {
                    hilist_name: names.get(&c.code).cloned().unwrap_or_default(),
                    insu_admdvs: c.scope.clone(),
                    begndate: c.begin_date.clone(),
                    enddate: c.end_date.clone(),
                    chrgitm_lv: match kpb::CoverageClass::try_from(c.class) {
                        Ok(kpb::CoverageClass::A) => "01",
                        Ok(kpb::CoverageClass::B) => "02",
                        _ => "03",
                    },
                    lmt_used_flag: if c.hospital_levels.is_empty()
                        && c.diagnosis_prefixes.is_empty()
                        && c.min_age.is_none()
                        && c.max_age.is_none()
                    {
                        "0"
                    } else {
                        "1"
                    },
                    vali_flag: valid(&c),
                    rid: c.id.to_string(),
                    hilist_code: c.code,
                })
                .collect();
            output(&Page::of(rows, page_num, page_size))
        }
        "1318" => {
            let rows: Vec<PriceCapRow> = rules
                .filter_map(|c| {
                    Some(PriceCapRow {
                        hilist_pric_uplmt_amt: Yuan(c.price_cap_fen?),
                        insu_admdvs: c.scope.clone(),
                        begndate: c.begin_date.clone(),
                        enddate: c.end_date.clone(),
                        vali_flag: valid(&c),
                        rid: c.id.to_string(),
                        hilist_code: c.code,
                    })
                })
                .collect();
            output(&Page::of(rows, page_num, page_size))
        }
        _ => {
            let mut rows = Vec::new();
            for c in rules.filter(|c| c.class == i32::from(kpb::CoverageClass::B)) {
                let mut ratios: Vec<(String, String)> =
                    c.selfpay_ratio_by_insutype.clone().into_iter().collect();
                ratios.sort();
                ratios.insert(0, ("ALL".to_owned(), c.selfpay_ratio.clone()));
                for (who, ratio) in ratios {
                    rows.push(SelfPayRow {
                        hilist_code: c.code.clone(),
                        selfpay_prop_psn_type: who,
                        insu_admdvs: c.scope.clone(),
                        begndate: c.begin_date.clone(),
                        enddate: c.end_date.clone(),
                        selfpay_prop: Exact(ratio),
                        vali_flag: valid(&c),
                        rid: c.id.to_string(),
                    });
                }
            }
            output(&Page::of(rows, page_num, page_size))
        }
    }
}

// 9101 / 3202 ---------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct UploadNode {
    /// The file: a list of byte values, or base64 text (clients send both).
    #[serde(default, rename = "in")]
    content: Value,
    #[serde(default, deserialize_with = "text")]
    filename: String,
}

#[derive(Debug, Serialize)]
struct FileInfo {
    file_qury_no: String,
    filename: String,
    dld_endtime: String,
}

fn file_bytes(content: &Value) -> Result<Vec<u8>, Refusal> {
    let bad = || Refusal::new("invalid_file", "fsUploadIn.in is a list of bytes or base64 text");
    match content {
        Value::Array(values) => values
            .iter()
            .map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok()).ok_or_else(bad))
            .collect(),
        Value::String(text) => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

#[derive(Debug, Serialize)]
struct FileInfoOutput {
    fileinfo: FileInfo,
}

fn file_info(file: medclear_proto::clearing::v1::FileRef) -> FileInfo {
    let until = Utc::now().with_timezone(&CHINA) + chrono::Duration::days(1);
    FileInfo {
        file_qury_no: file.file_qury_no,
        filename: file.filename,
        dld_endtime: until.format("%Y-%m-%d %H:%M:%S").to_string(),
    }
}

/// 9101: a file for reconciliation (3202), kept for this institution.
async fn upload_file(state: &AppState, envelope: &Envelope) -> Outcome {
    let u: UploadNode = node(envelope, "fsUploadIn")?;
    let content = file_bytes(&u.content)?;
    let request = medclear_proto::clearing::v1::PutFileRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        filename: u.filename.trim().to_owned(),
        kind: "upload".into(),
        content,
        msgid: envelope.msgid.clone(),
    };
    output(&file_info(state.clearing().put_file(request).await?.into_inner()))
}

#[derive(Debug, Default, Deserialize)]
struct DetailsNode {
    #[serde(default, deserialize_with = "text")]
    file_qury_no: String,
    #[serde(default, deserialize_with = "text")]
    stmt_begndate: String,
    #[serde(default, deserialize_with = "text")]
    stmt_enddate: String,
    #[serde(default, deserialize_with = "text")]
    medfee_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    fund_pay_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    fixmedins_setl_cnt: String,
    #[serde(default, deserialize_with = "text")]
    clr_type: String,
}

/// One line of the detail file: `setl_id`, `mdtrt_id`, `psn_no`, `medfee_sumamt`,
/// `fund_pay_sumamt`, `acct_pay`, `refd_setl_flag` (1: a cancellation), TAB-separated;
/// `null` is empty.
fn detail_line(n: usize, line: &str) -> Result<medclear_proto::clearing::v1::ReconDetail, Refusal> {
    let cols: Vec<&str> =
        line.split('\t').map(|c| if c.trim() == "null" { "" } else { c.trim() }).collect();
    if cols.len() < 7 {
        return Err(Refusal::new(
            "invalid_file",
            format!("line {n}: 7 TAB-separated columns expected, {} found", cols.len()),
        ));
    }
    let amount = |i: usize, name: &str| fen(&format!("line {n} {name}"), cols[i]);
    Ok(medclear_proto::clearing::v1::ReconDetail {
        setl_id: cols[0].to_owned(),
        msgid: String::new(),
        mdtrt_id: cols[1].to_owned(),
        psn_no: cols[2].to_owned(),
        medfee_sumamt_fen: amount(3, "medfee_sumamt")?,
        fund_pay_sumamt_fen: amount(4, "fund_pay_sumamt")?,
        acct_pay_fen: amount(5, "acct_pay")?,
        refd_setl_flag: cols[6] == "1",
    })
}

/// 3202: the uploaded detail file (9101) against clearing's settlements of that day. The
/// result file (9102) lists each discrepancy: `psn_no`, `mdtrt_id`, `setl_id`, `msgid`,
/// `stmt_rslt` (1 the centre has it only, 2 the institution has it only, 3 they differ),
/// `refd_setl_flag`, `memo` (the differing fields), `medfee_sumamt`, `fund_pay_sumamt`,
/// `acct_pay` — the centre's where it has the row.
async fn reconcile_details(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::clearing::v1 as cpb;
    let d: DetailsNode = node(envelope, "data")?;
    let day = date_of("stmt_begndate", &d.stmt_begndate)?;
    if day != date_of("stmt_enddate", &d.stmt_enddate)? {
        return Err(Refusal::new(
            "unsupported_range",
            "details are reconciled one day at a time: stmt_begndate and stmt_enddate the same day",
        ));
    }
    let mut clearing = state.clearing();
    let file = clearing
        .get_file(cpb::GetFileRequest {
            fixmedins_code: envelope.fixmedins_code.clone(),
            file_qury_no: d.file_qury_no.trim().to_owned(),
        })
        .await?
        .into_inner();
    let text = files::unzip_first(&file.content)?;
    let text = String::from_utf8(text)
        .map_err(|_| Refusal::new("invalid_file", "the detail file is not UTF-8 text"))?;
    let details = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| detail_line(i + 1, l))
        .collect::<Result<Vec<_>, _>>()?;
    // The envelope's totals must be the file's.
    let medfee: i64 = details.iter().map(|x| x.medfee_sumamt_fen).sum();
    let fund: i64 = details.iter().map(|x| x.fund_pay_sumamt_fen).sum();
    let sent =
        (fen("medfee_sumamt", &d.medfee_sumamt)?, fen("fund_pay_sumamt", &d.fund_pay_sumamt)?);
    let count = d.fixmedins_setl_cnt.trim().parse::<usize>().ok();
    if sent != (medfee, fund) || count != Some(details.len()) {
        return Err(Refusal::new(
            "file_mismatch",
            format!(
                "the file has {} lines, medfee_sumamt {}, fund_pay_sumamt {}: not the totals sent",
                details.len(),
                fen_to_yuan(medfee),
                fen_to_yuan(fund)
            ),
        ));
    }
    let answer = clearing
        .reconcile_details(cpb::ReconcileDetailsRequest {
            msgid: envelope.msgid.clone(),
            fixmedins_code: envelope.fixmedins_code.clone(),
            stmt_date: day,
            insutype: String::new(),
            clr_type: d.clr_type.trim().to_owned(),
            details,
        })
        .await?
        .into_inner();
    let mut result = String::new();
    for x in &answer.discrepancies {
        let (code, row) = match cpb::DiscrepancyKind::try_from(x.kind) {
            Ok(cpb::DiscrepancyKind::MissingAtHospital) => ("1", x.center.clone()),
            Ok(cpb::DiscrepancyKind::MissingAtCenter) => ("2", x.hospital.clone()),
            _ => ("3", x.center.clone()),
        };
        let row = row.unwrap_or_default();
        result.push_str(&format!(
            "{}\t{}\t{}\t{}\t{code}\t{}\t{}\t{}\t{}\t{}\n",
            row.psn_no,
            row.mdtrt_id,
            x.setl_id,
            row.msgid,
            u8::from(row.refd_setl_flag),
            x.differing_fields.join(","),
            fen_to_yuan(row.medfee_sumamt_fen),
            fen_to_yuan(row.fund_pay_sumamt_fen),
            fen_to_yuan(row.acct_pay_fen)
        ));
    }
    let name = format!("{}_result", d.file_qury_no.trim());
    let zip = files::zip_one(&format!("{name}.txt"), result.as_bytes())?;
    let stored = clearing
        .put_file(cpb::PutFileRequest {
            fixmedins_code: envelope.fixmedins_code.clone(),
            filename: format!("{name}.zip"),
            kind: "result".into(),
            content: zip,
            msgid: envelope.msgid.clone(),
        })
        .await?
        .into_inner();
    output(&FileInfoOutput { fileinfo: file_info(stored) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_fractions_become_their_own_text() {
        let body =
            br#"{"a": 12.30, "b": -0.5e2, "c": 7, "d": "1.5", "e": "x\"1.5", "f": [1.10, 2]}"#;
        let out = String::from_utf8(exact_numbers(body)).unwrap();
        assert_eq!(
            out,
            r#"{"a": "12.30", "b": "-0.5e2", "c": 7, "d": "1.5", "e": "x\"1.5", "f": ["1.10", 2]}"#
        );
        // Not JSON stays not JSON.
        assert_eq!(exact_numbers(b"{\"a\": 1.2"), b"{\"a\": \"1.2\"".to_vec());
    }

    #[test]
    fn amounts_are_read_and_written_exactly() {
        assert_eq!(fen("x", "12.30"), Ok(1230));
        assert_eq!(fen("x", "-25.1"), Ok(-2510));
        assert_eq!(fen("x", "7"), Ok(700));
        assert_eq!(fen("x", "0.125").unwrap_err().reason, "invalid_amount");
        assert_eq!(fen("x", "1e3").unwrap_err().reason, "invalid_amount");
        assert_eq!(serde_json::to_string(&Yuan(-2510)).unwrap(), "-25.10");
        assert_eq!(serde_json::to_string(&Yuan(5)).unwrap(), "0.05");
        assert_eq!(price_fen("p", "12.300000"), Ok(1230));
        assert_eq!(price_fen("p", "0.035").unwrap_err().reason, "invalid_amount");
        assert_eq!(price_fen("p", "0").unwrap_err().reason, "invalid_amount");
    }

    #[test]
    fn the_envelope_is_checked_before_its_input() {
        let reason = |body: &str| read_envelope(body.as_bytes()).unwrap_err().reason;
        assert_eq!(reason("not json"), "malformed_json");
        assert_eq!(reason("[1]"), "invalid_envelope");
        assert_eq!(reason(r#"{"msgid": "M1"}"#), "missing_field");
        let base =
            r#""msgid": "M1", "fixmedins_code": "H42020000001", "mdtrtarea_admvs": "420200""#;
        assert_eq!(reason(&format!(r#"{{"infno": "9999", {base}}}"#)), "unknown_infno");
        let ok = read_envelope(format!(r#"{{"infno": 2207, {base}}}"#).as_bytes()).unwrap();
        assert_eq!(ok.infno, "2207", "a code sent as a number is read as its text");
    }

    #[test]
    fn an_emergency_flag_is_read_from_the_extension_as_his_clients_send_it() {
        assert!(emergency(&serde_json::json!({"er_flag": "1"})));
        assert!(emergency(&serde_json::json!([{"er_flag": 1}])));
        assert!(!emergency(&serde_json::json!({"er_flag": "0"})));
        assert!(!emergency(&Value::Null));
    }
}
