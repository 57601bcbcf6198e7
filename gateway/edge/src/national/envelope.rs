//! The national envelope, and the one place its form is read leniently (DESIGN.md §6): the
//! envelope ([`Envelope`], [`read_envelope`], [`exact_numbers`]), refusals ([`Refusal`]),
//! the answer writer, and what every transaction shares — reading `input` nodes and lists,
//! amounts in yuan, dates; writing amounts ([`Yuan`]) and outputs; and the routing instance an
//! envelope goes to.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use medclear_common::codes::province_of_id;
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
use crate::{json::text, state::AppState};

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

impl From<tonic::Status> for Refusal {
    fn from(status: tonic::Status) -> Self {
        Self { reason: status_reason(&status), message: status.message().to_owned() }
    }
}

/// What a transaction answers: its `output` (`None`: none), or why it was refused.
pub(super) type Outcome = Result<Option<Box<RawValue>>, Refusal>;

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
pub(super) fn node<T: DeserializeOwned>(envelope: &Envelope, name: &str) -> Result<T, Refusal> {
    read_node(envelope, name, Value::is_object, "an object")
}

/// One list node of `input` (`input.feedetail`).
pub(super) fn list<T: DeserializeOwned>(
    envelope: &Envelope,
    name: &str,
) -> Result<Vec<T>, Refusal> {
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
pub(super) fn fen(field: &str, text: &str) -> Result<i64, Refusal> {
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
pub(super) fn price_fen(field: &str, text: &str) -> Result<i64, Refusal> {
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
pub(super) struct Yuan(pub(super) i64);

impl Serialize for Yuan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(fen_to_yuan(self.0)).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
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
}
