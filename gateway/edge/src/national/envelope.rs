//! The national envelope, and the one place its form is read leniently (DESIGN.md §6): the
//! envelope ([`Envelope`], [`read_envelope`], [`exact_numbers`]), refusals ([`Refusal`]),
//! the answer writer, and what every transaction shares — reading `input` nodes and lists,
//! amounts in yuan, dates; writing amounts ([`Yuan`]) and outputs; and the routing instance an
//! envelope goes to.
//!
//! Formats and sizes are checked here, before any service is called ([`read_envelope`]): the
//! envelope's fields by their national patterns and lengths (`msgid` the sender's own, see
//! [`codes::Msgid`]), and every text anywhere in `input` for control characters and for the
//! longest national field ([`codes::MAX_FIELD`], C(4000); a 9101 upload's file content is bounded by
//! the body alone), named by its path (`input.feedetail[3].feedetl_sn`).
//! The transactions then read their codes and ids with [`medclear_common::codes`], whose
//! refusals become [`Refusal`]s by `?`.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use medclear_common::codes::{self, Invalid, province_of_id};
use medclear_common::{
    clock::CHINA,
    error::status_reason,
    money::{fen_to_yuan, yuan_to_fen},
};
use medclear_proto::routing::v1 as pb;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Value, value::RawValue};

use super::TRANSACTIONS;
use crate::{
    json::{TreeRefusal, text, walk_texts},
    state::AppState,
};

/// A refusal: the reason code and a message for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    pub message: String,
}

impl Refusal {
    pub(super) fn new(reason: &str, message: impl Into<String>) -> Self {
        Self { reason: reason.to_owned(), message: message.into() }
    }
}

/// A failed call to a service: its refusal, or a lost call (see [`super::failure`]).
impl From<tonic::Status> for Refusal {
    fn from(status: tonic::Status) -> Self {
        Self { reason: status_reason(&status), message: super::failure::message(&status) }
    }
}

/// What a transaction answers: its `output` (`None`: none), or why it was refused.
pub(super) type Outcome = Result<Option<Box<RawValue>>, Refusal>;

/// A field refused by the boundary rules ([`medclear_common::codes`]): its reason, and a
/// message that names the field.
impl From<Invalid> for Refusal {
    fn from(e: Invalid) -> Self {
        Self { reason: e.reason.to_owned(), message: e.message }
    }
}

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

/// The answer in the national envelope: `infcode` 0 with the output, or -1 with the refusal.
pub(super) fn answer(
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
    response.extensions_mut().insert(crate::limits::Transaction { infno, infcode });
    response
}

/// Reads and checks the envelope (not yet its `input`).
pub fn read_envelope(body: &[u8]) -> Result<Envelope, Refusal> {
    let value: Value = serde_json::from_slice(&exact_numbers(body))
        .map_err(|e| Refusal::new("malformed_json", format!("the envelope is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(Refusal::new("invalid_envelope", "the envelope must be a JSON object"));
    }
    let mut envelope: Envelope = serde_json::from_value(value)
        .map_err(|e| Refusal::new("invalid_envelope", format!("the envelope is not valid: {e}")))?;
    for (field, value) in [
        ("infno", &envelope.infno),
        ("msgid", &envelope.msgid),
        ("fixmedins_code", &envelope.fixmedins_code),
        ("mdtrtarea_admvs", &envelope.mdtrtarea_admvs),
    ] {
        if value.trim().is_empty() {
            return Err(Refusal::new("missing_field", format!("the envelope has no {field}")));
        }
    }
    let infno = codes::text("infno", &envelope.infno, 5)?;
    if !TRANSACTIONS.contains(&infno) {
        return Err(Refusal::new(
            "unknown_infno",
            format!(
                "infno {infno} is not a transaction this platform runs ({})",
                TRANSACTIONS.join(", ")
            ),
        ));
    }
    check_envelope(&mut envelope)?;
    envelope.input = unstring("input", std::mem::take(&mut envelope.input))?;
    if let Some(nodes) = envelope.input.as_object_mut() {
        for (name, node) in nodes.iter_mut() {
            *node = unstring(&format!("input.{name}"), std::mem::take(node))?;
        }
    }
    check_input(&envelope.input)?;
    Ok(envelope)
}

/// A node sent as a JSON-encoded string (`"input": "{\"data\":{…}}"`, as many HIS clients
/// send it) read as the JSON it holds, its decimals kept as their text like the envelope's
/// ([`exact_numbers`]); an empty string is no node; any other value is kept.
fn unstring(field: &str, value: Value) -> Result<Value, Refusal> {
    let Value::String(text) = value else {
        return Ok(value);
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(Value::Null);
    }
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return Ok(Value::String(text));
    }
    serde_json::from_slice(&exact_numbers(trimmed.as_bytes())).map_err(|e| {
        Refusal::new("malformed_json", format!("{field} is a string that is not JSON: {e}"))
    })
}

/// The envelope's own fields by their national patterns and lengths (§2.1), kept trimmed: the
/// sender's `fixmedins_code`, a `msgid` of its own, the regions, and bounded texts.
fn check_envelope(envelope: &mut Envelope) -> Result<(), Refusal> {
    let sender = codes::fixmedins_code("fixmedins_code", &envelope.fixmedins_code)?;
    let msgid = codes::Msgid::parse(&envelope.msgid)?;
    if !msgid.belongs_to(sender.as_str()) {
        return Err(Refusal::new(
            "invalid_msgid",
            format!(
                "msgid {msgid} is not {sender}'s: a msgid begins with its sender's fixmedins_code"
            ),
        ));
    }
    let area = codes::admdvs("mdtrtarea_admvs", &envelope.mdtrtarea_admvs)?;
    let home = match codes::text("insuplc_admdvs", &envelope.insuplc_admdvs, 6)? {
        "" => String::new(),
        home => codes::admdvs("insuplc_admdvs", home)?.to_string(),
    };
    for (field, value, max) in [
        ("recer_sys_code", &mut envelope.recer_sys_code, 10),
        ("infver", &mut envelope.infver, 6),
        ("opter_type", &mut envelope.opter_type, 3),
        ("opter", &mut envelope.opter, 30),
        ("opter_name", &mut envelope.opter_name, 50),
        // DT, in any of the forms HIS clients send (`yyyy-MM-ddTHH:mm:ss.SSS+08:00` at most).
        ("inf_time", &mut envelope.inf_time, 29),
        ("fixmedins_name", &mut envelope.fixmedins_name, 200),
        ("sign_no", &mut envelope.sign_no, 30),
    ] {
        *value = codes::text(field, value, max)?.to_owned();
    }
    envelope.infno = envelope.infno.trim().to_owned();
    envelope.fixmedins_code = sender.to_string();
    envelope.msgid = msgid.to_string();
    envelope.mdtrtarea_admvs = area.to_string();
    envelope.insuplc_admdvs = home;
    Ok(())
}

/// Every text in `input`, at any depth, without control characters and within
/// [`codes::MAX_FIELD`] (a 9101 upload's file content excepted), named by its path; every key a plain
/// name ([`crate::json::walk_texts`]). The one place no NUL or 100 KB value gets past, whichever
/// transaction reads it later.
fn check_input(input: &Value) -> Result<(), Refusal> {
    let mut path = String::from("input");
    walk_texts(&mut path, input, Some("input.fsUploadIn.in")).map_err(|refusal| match refusal {
        TreeRefusal::Text(invalid) => Refusal::from(invalid),
        TreeRefusal::Key { at, key } => {
            Refusal::new("invalid_input", format!("{at} has a key {key} that is no field name"))
        }
    })
}

/// One object node of `input`, read into `T` (`input.data`, `input.mdtrtinfo`, …).
pub(super) fn node<T: DeserializeOwned>(envelope: &Envelope, name: &str) -> Result<T, Refusal> {
    let value = read_node(envelope, name)?;
    if !value.is_object() {
        return Err(Refusal::new("invalid_input", format!("input.{name} must be an object")));
    }
    typed(name, value)
}

/// One list node of `input` (`input.feedetail`); a single object is read as a list of one (some
/// clients send `diseinfo` so when there is one diagnosis).
pub(super) fn list<T: DeserializeOwned>(
    envelope: &Envelope,
    name: &str,
) -> Result<Vec<T>, Refusal> {
    let value = match read_node(envelope, name)? {
        object @ Value::Object(_) => Value::Array(vec![object]),
        list @ Value::Array(_) => list,
        _ => return Err(Refusal::new("invalid_input", format!("input.{name} must be a list"))),
    };
    typed(name, value)
}

fn typed<T: DeserializeOwned>(name: &str, value: Value) -> Result<T, Refusal> {
    serde_json::from_value(value)
        .map_err(|e| Refusal::new("invalid_input", format!("input.{name} is not valid: {e}")))
}

/// The node `name` of `input` (a node sent as a JSON string was read as its JSON by
/// [`read_envelope`]); `data` may also be left out, its fields sent in `input` itself (seen for
/// 2303/2304/2305 and in pharmacy clients) — an `input` without a `data` node is then read as
/// the node.
fn read_node(envelope: &Envelope, name: &str) -> Result<Value, Refusal> {
    let value = match envelope.input.get(name) {
        Some(value) => value.clone(),
        None if name == "data" && envelope.input.as_object().is_some_and(|o| !o.is_empty()) => {
            envelope.input.clone()
        }
        None => Value::Null,
    };
    if value.is_null() {
        return Err(Refusal::new(
            "invalid_input",
            format!("transaction {} needs input.{name}", envelope.infno),
        ));
    }
    Ok(value)
}

/// The visit credential a node names, checked for meaning: with `mdtrt_cert_type` 02 (the
/// citizen ID card), `mdtrt_cert_no` must be a citizen ID ([`codes::citizen_id`]); other types
/// (e-voucher 01, social-security card 03) carry their issuers' numbers, checked by form.
pub(super) fn credential(node: &str, cert_type: &str, cert_no: &str) -> Result<(), Refusal> {
    let cert_type = codes::optional_code(&format!("{node}.mdtrt_cert_type"), cert_type, 3)?;
    let field = format!("{node}.mdtrt_cert_no");
    match cert_type {
        "02" if !cert_no.trim().is_empty() => {
            codes::citizen_id(&field, cert_no)?;
        }
        _ => {
            codes::optional_code(&field, cert_no, 50)?;
        }
    }
    Ok(())
}

/// An amount field in yuan (string or number, at most two decimals) in fen.
pub(super) fn fen(field: &str, text: &str) -> Result<i64, Refusal> {
    let (negative, digits) = match text.trim().strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.trim()),
    };
    yuan_to_fen(digits)
        .map(|f| if negative { -f } else { f })
        .map_err(|e| Refusal::new("invalid_amount", format!("{field}: {}", e.0)))
}

/// A count (`fixmedins_setl_cnt`, `psntime`: visits, settlements) as a number or a string,
/// read exactly: a fraction of zeros is accepted (C# decimals send `12.0`), any other fraction,
/// a negative or a non-number is refused (`invalid_input`).
pub(super) fn count(field: &str, text: &str) -> Result<u64, Refusal> {
    let bad = || Refusal::new("invalid_input", format!("{field} {text:?} is not a whole number"));
    let value = Decimal::from_str_exact(text.trim()).map_err(|_| bad())?;
    if value.is_sign_negative() || !value.fract().is_zero() {
        return Err(bad());
    }
    u64::try_from(value).map_err(|_| bad())
}

/// A price's bound, N(16,6): below 10¹⁰ yuan.
const MAX_PRICE_YUAN: Decimal = Decimal::from_parts(1_410_065_408, 2, 0, false, 0);

/// A unit price (`pric`, N(16,6)) in fen: more decimals are accepted while they are zeros, a
/// price below the fen is refused (the line amount is kept in fen).
pub(super) fn price_fen(field: &str, text: &str) -> Result<i64, Refusal> {
    let bad = |why: &str| Refusal::new("invalid_amount", format!("{field} {text:?}: {why}"));
    let price = Decimal::from_str_exact(text.trim()).map_err(|_| bad("not a number"))?;
    if price <= Decimal::ZERO {
        return Err(bad("must be above 0"));
    }
    // N(16,6): at most 10 digits before the point.
    if price >= MAX_PRICE_YUAN {
        return Err(bad("too large: a price is below 10000000000 yuan"));
    }
    let fen = price.checked_mul(Decimal::ONE_HUNDRED).ok_or_else(|| bad("too large"))?;
    if !fen.fract().is_zero() {
        return Err(bad("a price below the fen cannot be settled to the fen"));
    }
    i64::try_from(fen).map_err(|_| bad("too large"))
}

/// An amount written from fen as a JSON number with two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Yuan(pub(super) i64);

impl Serialize for Yuan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(fen_to_yuan(self.0)).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// A JSON number written from its exact text (a ratio `0.9000`, a quantity `2.5`, an age).
#[derive(Debug, Clone)]
pub(super) struct Number(pub(super) String);

impl Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RawValue::from_string(self.0.clone())
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

/// What an 18-character citizen ID says of its holder: gender (1 male, 2 female), birth date
/// and age in whole years on `on`.
pub(super) fn from_certno(
    certno: &str,
    on: chrono::NaiveDate,
) -> Option<(&'static str, chrono::NaiveDate, i32)> {
    use chrono::Datelike;
    let bytes = certno.as_bytes();
    if bytes.len() != 18 {
        return None;
    }
    let birth = chrono::NaiveDate::parse_from_str(certno.get(6..14)?, "%Y%m%d").ok()?;
    let gend = if bytes[16].wrapping_sub(b'0') % 2 == 1 { "1" } else { "2" };
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    Some((gend, birth, age))
}

/// The output of a transaction, written from a typed struct.
pub(super) fn output<T: Serialize>(value: &T) -> Outcome {
    let text = serde_json::to_string(value)
        .map_err(|e| Refusal::new("internal", format!("writing the output: {e}")))?;
    RawValue::from_string(text)
        .map(Some)
        .map_err(|e| Refusal::new("internal", format!("writing the output: {e}")))
}

/// `yyyy-MM-dd HH:mm:ss` (or a bare date) → the date.
pub(super) fn date_of(field: &str, text: &str) -> Result<String, Refusal> {
    let day = text.trim().get(..10).unwrap_or_default();
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|d| d.to_string())
        .map_err(|_| Refusal::new("invalid_date", format!("{field} {text:?} is not yyyy-MM-dd")))
}

/// A date that may be left out (empty).
pub(super) fn optional_date(field: &str, text: &str) -> Result<String, Refusal> {
    if text.trim().is_empty() { Ok(String::new()) } else { date_of(field, text) }
}

/// The routing instance for this envelope: the insured place's, else the id's.
pub(super) fn routing(
    state: &AppState,
    envelope: &Envelope,
    id: &str,
) -> pb::routing_service_client::RoutingServiceClient<medclear_common::telemetry::Traced> {
    let home = Some(envelope.insuplc_admdvs.trim()).filter(|h| !h.is_empty());
    state.routing_for(home.or_else(|| province_of_id(id)))
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
    fn counts_are_whole_numbers_in_any_form() {
        for (text, n) in [("12", 12), ("12.0", 12), (" 3.000 ", 3), ("0", 0)] {
            assert_eq!(count("psntime", text).unwrap(), n, "{text}");
        }
        for text in ["12.5", "-1", "", "x", "1e3", "18446744073709551616"] {
            assert_eq!(count("psntime", text).unwrap_err().reason, "invalid_input", "{text}");
        }
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

    const SENDER: &str = "H42020000001";
    const MSGID: &str = "H42020000001202603020900000001";

    fn base() -> Value {
        serde_json::json!({"infno": "2207", "msgid": MSGID, "fixmedins_code": SENDER,
            "mdtrtarea_admvs": "420200", "insuplc_admdvs": "440300", "opter": "001",
            "opter_name": "收费员", "input": {"data": {"mdtrt_id": "V42A"}}})
    }

    fn reason_of(body: &Value) -> String {
        read_envelope(body.to_string().as_bytes()).unwrap_err().reason
    }

    #[test]
    fn the_envelope_is_checked_before_its_input() {
        let reason = |body: &str| read_envelope(body.as_bytes()).unwrap_err().reason;
        assert_eq!(reason("not json"), "malformed_json");
        assert_eq!(reason("[1]"), "invalid_envelope");
        assert_eq!(reason(r#"{"msgid": "M1"}"#), "missing_field");
        let mut unknown = base();
        unknown["infno"] = serde_json::json!("9999");
        assert_eq!(reason_of(&unknown), "unknown_infno");
        let mut numeric = base();
        numeric["infno"] = serde_json::json!(2207);
        let ok = read_envelope(numeric.to_string().as_bytes()).unwrap();
        assert_eq!(ok.infno, "2207", "a code sent as a number is read as its text");
    }

    /// Issue 16's findings at the envelope: each refused before any service is called, by a
    /// precise reason.
    #[test]
    fn envelope_fields_keep_their_national_formats() {
        let with = |field: &str, value: Value| {
            let mut body = base();
            body[field] = value;
            reason_of(&body)
        };
        use serde_json::json;
        assert_eq!(with("msgid", json!("M2201")), "invalid_msgid");
        assert_eq!(with("msgid", json!("H42020000001202613020900000001")), "invalid_msgid");
        assert_eq!(with("msgid", json!("H44030000001202603020900000001")), "invalid_msgid");
        assert_eq!(with("msgid", json!("H4202000000120260302090000\u{0}001")), "control_character");
        assert_eq!(
            with("msgid", json!("H420200000012026030209000000\u{202E}1")),
            "control_character"
        );
        assert_eq!(with("msgid", json!("H42020000001202603020900000🙂")), "invalid_msgid");
        assert_eq!(with("msgid", json!("H".repeat(20_000))), "invalid_msgid");
        assert_eq!(with("fixmedins_code", json!("x")), "invalid_code");
        assert_eq!(with("fixmedins_code", json!("H4202000\u{0}001")), "control_character");
        assert_eq!(with("mdtrtarea_admvs", json!("44030")), "invalid_code");
        assert_eq!(with("insuplc_admdvs", json!("4403\u{0}0")), "control_character");
        assert_eq!(with("opter_name", json!("收".repeat(51))), "too_long");
        assert_eq!(with("infno", json!("2207\u{0}")), "control_character");
        assert_eq!(with("infno", json!("2".repeat(100_000))), "too_long");
        let input = |input: Value| with("input", input);
        assert_eq!(input(json!({"data": {"psn_no": "P1\u{0}"}})), "control_character");
        assert_eq!(
            input(json!({"feedetail": [{"feedetl_sn": "1"}, {"feedetl_sn": "x".repeat(100_000)}]})),
            "too_long"
        );
        assert_eq!(input(json!({"data": {"x\u{0}": 1}})), "invalid_input");
        let e = read_envelope(
            {
                let mut body = base();
                body["input"] = json!({"feedetail": [{}, {"mdtrt_id": "V\u{1b}"}]});
                body
            }
            .to_string()
            .as_bytes(),
        )
        .unwrap_err();
        assert!(e.message.starts_with("input.feedetail[1].mdtrt_id contains"), "{}", e.message);
        // A 9101 file travels as base64 text longer than any field.
        let mut upload = base();
        upload["infno"] = json!("9101");
        upload["input"] = json!({"fsUploadIn": {"in": "A".repeat(100_000), "filename": "d.zip"}});
        assert!(read_envelope(upload.to_string().as_bytes()).is_ok());
        // Kept trimmed, as the services are sent them.
        let mut spaced = base();
        spaced["fixmedins_code"] = json!(format!(" {SENDER} "));
        assert_eq!(read_envelope(spaced.to_string().as_bytes()).unwrap().fixmedins_code, SENDER);
    }

    #[test]
    fn an_overflowing_price_is_refused_not_a_panic() {
        // 99999999999999999999999999.99 × 100 overflowed a Decimal multiplication.
        let huge = "99999999999999999999999999.99";
        assert_eq!(price_fen("pric", huge).unwrap_err().reason, "invalid_amount");
        assert_eq!(
            price_fen("pric", "79228162514264337593543950335").unwrap_err().reason,
            "invalid_amount"
        );
        assert_eq!(price_fen("pric", "10000000000").unwrap_err().reason, "invalid_amount");
        assert_eq!(price_fen("pric", "9999999999.99"), Ok(999_999_999_999));
        assert_eq!(fen("x", huge).unwrap_err().reason, "invalid_amount");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use serde_json::json;

        /// Values a hostile or broken HIS may put in any field.
        fn hostile() -> impl Strategy<Value = Value> {
            prop_oneof![
                ".{0,40}".prop_map(Value::from),
                "[A-Z0-9]{0,12}[\\x00-\\x1f\\x7f\\u{202E}][A-Z0-9]{0,12}".prop_map(Value::from),
                (4001usize..20_000).prop_map(|n| Value::from("9".repeat(n))),
                any::<i64>().prop_map(Value::from),
                // A HIS may send a float: the reader must refuse it or read its text.
                any::<f64>().prop_map(|f| json!(f)), // float-ok: fuzz input, not money
                Just(json!("99999999999999999999999999.99")),
                Just(json!(-1)),
                Just(Value::Null),
                Just(json!([])),
                Just(json!({"a": "\u{0}"})),
                Just(json!(true)),
            ]
        }

        const FIELDS: [&str; 9] = [
            "infno",
            "msgid",
            "fixmedins_code",
            "mdtrtarea_admvs",
            "insuplc_admdvs",
            "opter",
            "opter_name",
            "inf_time",
            "sign_no",
        ];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Any envelope field mutated to anything: a precise refusal or an envelope whose
            /// fields are all within their rules — never a panic.
            #[test]
            fn a_mutated_envelope_field_is_refused_precisely(
                field in prop::sample::select(FIELDS.to_vec()),
                value in hostile(),
            ) {
                let mut body = base();
                body[field] = value;
                match read_envelope(body.to_string().as_bytes()) {
                    Ok(e) => {
                        prop_assert!(codes::Msgid::parse(&e.msgid).unwrap().belongs_to(&e.fixmedins_code));
                        for text in [&e.opter, &e.opter_name, &e.inf_time, &e.sign_no] {
                            prop_assert!(!text.chars().any(codes::is_forbidden_char));
                        }
                    }
                    Err(r) => prop_assert!([
                        "missing_field", "unknown_infno", "invalid_msgid", "invalid_code",
                        "control_character", "too_long", "invalid_envelope",
                    ].contains(&r.reason.as_str()), "{field}: {r:?}"),
                }
            }

            /// Any text at any depth of `input` with a control character or beyond the longest
            /// field is refused by its path.
            #[test]
            fn a_mutated_input_field_is_refused_by_its_path(
                node in prop::sample::select(vec!["data", "feedetail", "mdtrtinfo", "refmedin"]),
                field in prop::sample::select(vec!["psn_no", "mdtrt_id", "feedetl_sn", "memo", "insutype"]),
                bad in prop_oneof![
                    "[a-z]{0,5}[\\x00-\\x1f\\x7f][a-z]{0,5}",
                    (4001usize..10_000).prop_map(|n| "x".repeat(n)),
                ],
                list in any::<bool>(),
            ) {
                let mut body = base();
                let item = json!({ field: bad });
                body["input"] = json!({ node: if list { json!([{}, item]) } else { item } });
                let refusal = read_envelope(body.to_string().as_bytes()).unwrap_err();
                prop_assert!(["control_character", "too_long"].contains(&refusal.reason.as_str()));
                let path = if list { format!("input.{node}[1].{field}") } else { format!("input.{node}.{field}") };
                prop_assert!(refusal.message.starts_with(&path), "{}", refusal.message);
            }

            /// Arbitrary bytes are refused or read; the reader never panics.
            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
                let _ = read_envelope(&bytes);
            }

            /// Prices and amounts of any text: a fen amount or `invalid_amount`, never a panic.
            #[test]
            fn any_amount_text_is_read_or_refused(text in "-?[0-9]{0,30}(\\.[0-9]{0,30})?") {
                for result in [price_fen("pric", &text), fen("x", &text)] {
                    if let Err(r) = result {
                        prop_assert_eq!(r.reason.as_str(), "invalid_amount");
                    }
                }
            }
        }
    }
}
