//! Reading request bodies and query strings the way HIS clients send them: strict about meaning,
//! lenient about form. Any JSON content type (or none) is accepted; text fields may arrive as
//! strings or numbers; unknown fields are ignored; a missing field is refused later, by name.
//!
//! Sizes and characters are checked here, once, for every body and query string before a
//! handler sees it: a body over [`MAX_BODY`] is 413 `body_too_large`; any text at any depth
//! with a control character (NUL included) is 400 `control_character`, and any text longer
//! than the longest national field ([`codes::MAX_FIELD`]) 400 `too_long`, both naming the
//! field by its path (`lines[2].feedetl_sn`). Handlers then check their codes and ids with
//! [`medclear_common::codes`] (a refusal becomes an [`ApiError`] by `?`), so no value a service
//! would refuse with an oversized message, or PostgreSQL with an error, leaves the gateway.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, rejection::BytesRejection},
    http::{StatusCode, request::Parts},
};
use medclear_common::codes::{self, Invalid};
use serde::{Deserialize, Deserializer, de::DeserializeOwned};

use super::error::ApiError;

/// A field refused by the boundary rules: 400 with its reason, naming the field.
impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::invalid(&e.field, e.reason, e.message)
    }
}

/// The longest name a JSON key may have.
const MAX_KEY: usize = 64;

/// Why [`walk_texts`] refused a JSON tree.
#[derive(Debug)]
pub(crate) enum TreeRefusal {
    /// A text: a control character, or over its length.
    Text(Invalid),
    /// A key that is no field name (too long, or with a control character), at `at`.
    Key { at: String, key: String },
}

/// Every text in `value`, at any depth, without control characters and within
/// [`codes::MAX_FIELD`], named by its path (`a.b[2].c`; `body` for a bare text); every key a
/// plain name. The text at path `unbounded`, when given, may be of any length (a file's
/// content). The one walk the JSON API's bodies and the national envelope's `input` share.
pub(crate) fn walk_texts(
    path: &mut String,
    value: &serde_json::Value,
    unbounded: Option<&str>,
) -> Result<(), TreeRefusal> {
    use serde_json::Value;
    let len = path.len();
    let result = match value {
        Value::String(_) if unbounded == Some(path.as_str()) => Ok(()),
        Value::String(text) => {
            let field = if path.is_empty() { "body" } else { path.as_str() };
            codes::text(field, text, codes::MAX_FIELD).map(|_| ()).map_err(TreeRefusal::Text)
        }
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            path.truncate(len);
            path.push_str(&format!("[{i}]"));
            walk_texts(path, item, unbounded)
        }),
        Value::Object(fields) => fields.iter().try_for_each(|(key, item)| {
            path.truncate(len);
            if key.chars().count() > MAX_KEY || key.chars().any(codes::is_forbidden_char) {
                return Err(TreeRefusal::Key { at: path.clone(), key: codes::shown(key) });
            }
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            walk_texts(path, item, unbounded)
        }),
        _ => Ok(()),
    };
    path.truncate(len);
    result
}

/// A JSON API body or query, by [`walk_texts`].
fn check_texts(value: &serde_json::Value) -> Result<(), ApiError> {
    walk_texts(&mut String::new(), value, None).map_err(|refusal| match refusal {
        TreeRefusal::Text(invalid) => ApiError::from(invalid),
        TreeRefusal::Key { key, .. } => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body has a key {key} that is no field name"),
        ),
    })
}

/// An id in the path (`/api/v1/filings/{id}`): 1 to 30 code characters
/// ([`codes::id`]), refused by name before any service sees it.
pub fn path_id(field: &str, id: &str) -> Result<String, ApiError> {
    Ok(codes::id(field, id)?.to_owned())
}

/// The largest request body the JSON API reads.
pub const MAX_BODY: usize = 64 * 1024;

/// A JSON body, parsed into `T`, with refusals in the API's error format.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        parse(&bytes).map(Body)
    }
}

/// A JSON body parsed into `T` as [`Body`] parses it, and its text as sent: for a document
/// whose very text is what is kept (a policy, named by the hash of its content).
#[derive(Debug)]
pub struct BodyText<T> {
    pub text: String,
    pub value: T,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for BodyText<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        let value = parse(&bytes)?;
        // `parse` read it as JSON, which is UTF-8.
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", "the body is not UTF-8")
        })?;
        Ok(Self { text, value })
    }
}

/// A JSON body that may be left out (empty, or only whitespace): `None`; else as [`Body`].
#[derive(Debug)]
pub struct MaybeBody<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for MaybeBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        parse(&bytes).map(|value| Self(Some(value)))
    }
}

/// The request's body, up to [`MAX_BODY`], with refusals in the API's error format.
async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection: BytesRejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the request body is larger than {MAX_BODY} bytes"),
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", rejection.body_text())
        }
    })
}

/// Parses a JSON document, telling syntax errors from shape errors.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the request body is empty: send a JSON object",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the request body is not JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the request body must be a JSON object",
        ));
    }
    check_texts(&value)?;
    serde_json::from_value(value).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the request body is not valid: {e}"),
        )
    })
}

/// A query string parsed into `T`.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded_like(query).map(Params)
    }
}

/// Query strings are flat `key=value` pairs; they are read into a JSON object of strings so
/// the same lenient field types serve bodies and queries.
fn serde_urlencoded_like<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let mut map = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        map.insert(decode(key)?, serde_json::Value::String(decode(value)?));
    }
    let map = serde_json::Value::Object(map);
    check_texts(&map)?;
    serde_json::from_value(map).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("the query string is not valid: {e}"),
        )
    })
}

fn decode(text: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "the query string is not valid percent-encoding",
        )
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// A text field that HIS systems send as a string, a number, or null.
pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Text(String),
        Int(i64),
        Uint(u64),
        Null(()),
    }
    Ok(match Option::<Loose>::deserialize(deserializer)? {
        Some(Loose::Text(s)) => s,
        Some(Loose::Int(n)) => n.to_string(),
        Some(Loose::Uint(n)) => n.to_string(),
        Some(Loose::Null(())) | None => String::new(),
    })
}

/// A flag sent as `true`/`false`, `1`/`0`, `"true"`/`"1"`, or left out.
pub fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    match Option::<Loose>::deserialize(deserializer)? {
        None => Ok(false),
        Some(Loose::Bool(b)) => Ok(b),
        Some(Loose::Int(n)) => Ok(n != 0),
        Some(Loose::Text(s)) => match s.trim() {
            "" | "0" | "false" | "no" => Ok(false),
            "1" | "true" | "yes" => Ok(true),
            other => Err(serde::de::Error::custom(format!("{other:?} is not a yes/no value"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sample {
        #[serde(default, deserialize_with = "text")]
        psn_no: String,
        #[serde(default, deserialize_with = "flag")]
        emergency: bool,
    }

    #[test]
    fn lenient_about_form() {
        let s: Sample = parse(br#"{"psn_no": 12345, "emergency": "1", "extra": [1]}"#).unwrap();
        assert_eq!(s, Sample { psn_no: "12345".into(), emergency: true });
        let s: Sample = parse(br#"{"psn_no": null}"#).unwrap();
        assert_eq!(s, Sample { psn_no: String::new(), emergency: false });
        let q: Sample = serde_urlencoded_like("psn_no=P%2F1+x&emergency=true").unwrap();
        assert_eq!(q, Sample { psn_no: "P/1 x".into(), emergency: true });
    }

    #[test]
    fn control_characters_and_oversized_fields_are_refused_by_name() {
        let e = parse::<Sample>(br#"{"psn_no": "P1\u0000"}"#).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (StatusCode::BAD_REQUEST, "control_character"));
        assert_eq!(e.field.as_deref(), Some("psn_no"));
        let e = parse::<Sample>(br#"{"lines": [{}, {"feedetl_sn": "\u202e1"}]}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("lines[1].feedetl_sn"));
        let long = format!(r#"{{"memo": "{}"}}"#, "x".repeat(100_000));
        assert_eq!(parse::<Sample>(long.as_bytes()).unwrap_err().code, "too_long");
        assert_eq!(parse::<Sample>(b"{\"a\\u0000\": 1}").unwrap_err().code, "invalid_json");
        let e = serde_urlencoded_like::<Sample>("psn_no=P1%00").unwrap_err();
        assert_eq!((e.code.as_str(), e.field.as_deref()), ("control_character", Some("psn_no")));
        assert_eq!(path_id("filing_id", &"F".repeat(100_000)).unwrap_err().code, "too_long");
        assert_eq!(path_id("filing_id", "F42\u{0}").unwrap_err().code, "control_character");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Any body of any bytes: parsed, or refused with a 400/413-class reason — never a
            /// panic, never a 5xx.
            #[test]
            fn any_body_is_read_or_refused(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
                if let Err(e) = parse::<Sample>(&bytes) {
                    prop_assert!(e.status.is_client_error());
                }
            }

            /// A control character in any field of a body is refused by that field's name.
            #[test]
            fn a_control_character_anywhere_is_refused_by_name(
                key in "[a-z_]{1,12}",
                c in prop::sample::select(vec!['\u{0}', '\u{1}', '\u{1b}', '\u{7f}', '\u{9f}', '\u{202e}']),
                nested in any::<bool>(),
            ) {
                let text = format!("x{c}y");
                let body = if nested {
                    serde_json::json!({"lines": [{ key.clone(): text }]})
                } else {
                    serde_json::json!({ key.clone(): text })
                };
                let e = parse::<Sample>(body.to_string().as_bytes()).unwrap_err();
                prop_assert_eq!(e.code.as_str(), "control_character");
                let field = if nested { format!("lines[0].{key}") } else { key };
                prop_assert_eq!(e.field, Some(field));
            }
        }
    }

    #[test]
    fn strict_about_meaning() {
        assert_eq!(parse::<Sample>(b"{\"psn_no\": ").unwrap_err().code, "malformed_json");
        assert_eq!(parse::<Sample>(b"  ").unwrap_err().code, "malformed_json");
        assert_eq!(parse::<Sample>(br#"{"psn_no": [1]}"#).unwrap_err().code, "invalid_json");
        assert_eq!(parse::<Sample>(br#"["P1", true]"#).unwrap_err().code, "invalid_json");
        assert_eq!(parse::<Sample>(br#"{"emergency": "maybe"}"#).unwrap_err().code, "invalid_json");
        assert_eq!(
            serde_urlencoded_like::<Sample>("psn_no=%zz").unwrap_err().code,
            "invalid_query"
        );
    }
}
