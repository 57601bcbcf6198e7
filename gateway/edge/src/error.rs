//! Errors as the JSON API answers them: an HTTP status and
//! `{"code": "...", "message": "...", "field": "..."}` with a stable `code`.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use medclear_common::error::{Lost, lost_call, status_field, status_reason};

use crate::access::Denied;
use serde::Serialize;
use tonic::Code;

/// A refusal of the JSON API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self { status, code: code.to_owned(), message: message.into(), field: None }
    }

    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self { field: Some(field.to_owned()), ..Self::new(StatusCode::BAD_REQUEST, code, message) }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

/// A failed call to a service. Its refusal keeps its code; a call that got no answer is 503
/// `service_unavailable` when the service could not be reached (nothing was done) and 502
/// `outcome_unknown` when the answer was lost after the request may have reached it (a write
/// may or may not have taken effect: send it again with the same msgid or request id, which
/// never applies it twice, or look it up).
impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        let code = status_reason(&status);
        let field = status_field(&status);
        match lost_call(&status) {
            Some(Lost::Unsent) => {
                tracing::warn!(%status, "a service could not be reached");
                return Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &code,
                    "a service behind the gateway is not reachable; nothing was done: try again \
                     shortly (with the same msgid or request id)",
                );
            }
            Some(Lost::Unanswered) => {
                tracing::warn!(%status, "the answer of a service was lost");
                return Self::new(
                    StatusCode::BAD_GATEWAY,
                    &code,
                    "the answer of a service behind the gateway was lost; a write may or may not \
                     have taken effect: send it again with the same msgid or request id (it is \
                     never applied twice), or look it up",
                );
            }
            None => {}
        }
        let http = match status.code() {
            Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => StatusCode::CONFLICT,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            // A message over gRPC's size limit; only the edge's own rate limit answers 429.
            Code::ResourceExhausted => StatusCode::PAYLOAD_TOO_LARGE,
            // A service's own "not now" (`upstream_unavailable`: its dependency is down).
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if http == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(status = ?status, "upstream failure");
            "internal error; it has been logged".to_owned()
        } else {
            status.message().to_owned()
        };
        Self { status: http, code, message, field }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body { code: &self.code, message: &self.message, field: self.field.as_deref() };
        (self.status, Json(body)).into_response()
    }
}

/// A refusal of [`crate::access::authorize`]: 401 without credentials, else 403.
impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        let status = if denied.reason == "unauthenticated" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        ApiError::new(status, denied.reason, denied.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medclear_common::Error;

    #[test]
    fn service_refusals_keep_their_code_and_field() {
        let status =
            tonic::Status::from(Error::invalid("mdtrtarea_admvs", "same_province", "same"));
        let error = ApiError::from(status);
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.code, "same_province");
        assert_eq!(error.field.as_deref(), Some("mdtrtarea_admvs"));
        let conflict =
            ApiError::from(tonic::Status::from(Error::precondition("revoke_locked", "later")));
        assert_eq!(
            (conflict.status, conflict.code.as_str()),
            (StatusCode::CONFLICT, "revoke_locked")
        );
        let down = ApiError::from(tonic::Status::unavailable("connection refused"));
        assert_eq!(
            (down.status, down.code.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
        );
        // gRPC's message-size limit is 413, never the rate limit's 429.
        let large = ApiError::from(tonic::Status::resource_exhausted("message too large"));
        assert_eq!(
            (large.status, large.code.as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
        );
    }

    #[test]
    fn a_call_without_an_answer_is_unreachable_or_of_unknown_outcome() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let down = tonic::ConnectError(Box::new(refused));
        let unsent = ApiError::from(tonic::Status::from_error(Box::new(down)));
        assert_eq!(
            (unsent.status, unsent.code.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
        );
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let lost = ApiError::from(tonic::Status::from_error(Box::new(reset)));
        assert_eq!((lost.status, lost.code.as_str()), (StatusCode::BAD_GATEWAY, "outcome_unknown"));
        // A service whose own dependency is down says so, and is passed on.
        let upstream = ApiError::from(tonic::Status::from(Error::unavailable(
            "upstream_unavailable",
            "the filing service could not be reached",
        )));
        assert_eq!(
            (upstream.status, upstream.code.as_str(), upstream.message.as_str()),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream_unavailable",
                "the filing service could not be reached"
            )
        );
    }
}
