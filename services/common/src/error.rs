//! The one error type of a service, and how it reaches a client as a `tonic::Status`.
//!
//! A client mistake carries a stable machine-readable `reason` (snake_case, e.g.
//! `same_province`) and, where one field is to blame, the field's name. Both travel in the
//! status metadata (`medclear-reason`, `medclear-field`), so the gateway and other services can
//! act on them without parsing messages. Internal failures are logged with their cause and
//! answered with a generic `Internal`.
//!
//! A call that got no answer is not a refusal. [`lost_call`] tells the two ways it can fail
//! apart: the service could not be reached before anything was sent ([`SERVICE_UNAVAILABLE`]:
//! nothing happened, send it again), or the answer was lost after the request may have
//! reached it ([`OUTCOME_UNKNOWN`]: a write may or may not have taken effect; query it, or send
//! it again with the same msgid, which never applies it twice).

use std::borrow::Cow;

use tonic::{Code, Status, metadata::MetadataValue};

/// Metadata key carrying the machine-readable reason of a refused call.
pub const REASON_KEY: &str = "medclear-reason";
/// Metadata key naming the request field a refusal is about.
pub const FIELD_KEY: &str = "medclear-field";

/// The reason of a call to a service that could not be reached: nothing was done; transient.
pub const SERVICE_UNAVAILABLE: &str = "service_unavailable";
/// The reason of a call whose answer was lost after it may have reached its service: a write
/// may or may not have taken effect.
pub const OUTCOME_UNKNOWN: &str = "outcome_unknown";
/// The reason a service answers when a service it depends on could not be reached or did not
/// answer in time: it did nothing; transient.
pub const UPSTREAM_UNAVAILABLE: &str = "upstream_unavailable";

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of client mistake a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    /// The caller may not act on what it names (another province's position, say).
    PermissionDenied,
    /// Not a refusal: something this call needs is down or slow, nothing was done, the same
    /// call may succeed later.
    Unavailable,
}

/// A refusal the client can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub reason: Cow<'static, str>,
    pub field: Option<Cow<'static, str>>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller's mistake: answered with what to fix.
    #[error("{0}")]
    Problem(Problem),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    fn problem(
        kind: ProblemKind,
        reason: impl Into<Cow<'static, str>>,
        field: Option<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self::Problem(Problem { kind, reason: reason.into(), field, message: message.into() })
    }

    /// A malformed or out-of-range request field.
    pub fn invalid(
        field: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self::problem(ProblemKind::InvalidArgument, reason, Some(field.into()), message)
    }

    pub fn not_found(reason: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::problem(ProblemKind::NotFound, reason, None, message)
    }

    pub fn already_exists(
        reason: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self::problem(ProblemKind::AlreadyExists, reason, None, message)
    }

    /// The request is well-formed but the state of the system refuses it.
    pub fn precondition(reason: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::problem(ProblemKind::FailedPrecondition, reason, None, message)
    }

    /// The caller is who it says, but may not do this.
    pub fn forbidden(reason: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::problem(ProblemKind::PermissionDenied, reason, None, message)
    }

    /// Nothing was done because something the call needs did not answer: transient, the
    /// same call again may succeed.
    pub fn unavailable(reason: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::problem(ProblemKind::Unavailable, reason, None, message)
    }

    /// The machine-readable reason, as a client would see it.
    pub fn reason(&self) -> &str {
        match self {
            Self::Problem(p) => &p.reason,
            Self::Database(sqlx::Error::RowNotFound) => "not_found",
            Self::Database(e) if is_unique_violation(e) => "already_exists",
            _ => "internal",
        }
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|db| db.is_unique_violation())
}

fn with_metadata(mut status: Status, reason: &str, field: Option<&str>) -> Status {
    if let Ok(value) = MetadataValue::try_from(reason) {
        status.metadata_mut().insert(REASON_KEY, value);
    }
    if let Some(value) = field.and_then(|f| MetadataValue::try_from(f).ok()) {
        status.metadata_mut().insert(FIELD_KEY, value);
    }
    status
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        let reason = error.reason().to_owned();
        match error {
            Error::Problem(p) => {
                let code = match p.kind {
                    ProblemKind::InvalidArgument => Code::InvalidArgument,
                    ProblemKind::NotFound => Code::NotFound,
                    ProblemKind::AlreadyExists => Code::AlreadyExists,
                    ProblemKind::FailedPrecondition => Code::FailedPrecondition,
                    ProblemKind::PermissionDenied => Code::PermissionDenied,
                    ProblemKind::Unavailable => Code::Unavailable,
                };
                with_metadata(Status::new(code, p.message), &reason, p.field.as_deref())
            }
            Error::Database(sqlx::Error::RowNotFound) => {
                with_metadata(Status::not_found("no such record"), &reason, None)
            }
            Error::Database(ref e) if is_unique_violation(e) => {
                with_metadata(Status::already_exists("the record exists already"), &reason, None)
            }
            other => {
                tracing::error!(error = %other, "internal failure");
                with_metadata(Status::internal("internal error; it has been logged"), &reason, None)
            }
        }
    }
}

/// How a call that got no answer of its service's own failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lost {
    /// The service could not be reached (the connection was refused, or the service said it
    /// is unavailable before doing anything): nothing was done.
    Unsent,
    /// The request may have reached the service and the answer was lost (the connection
    /// broke, the call timed out or was cancelled): a write may or may not have taken effect.
    Unanswered,
}

impl Lost {
    /// The reason a client is answered with.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Unsent => SERVICE_UNAVAILABLE,
            Self::Unanswered => OUTCOME_UNKNOWN,
        }
    }
}

/// Whether a status is a lost call rather than an answer of a medclear service (which always
/// carries its reason): `None` for a service's own answer and for a peer's refusal.
///
/// tonic makes the status of a transport failure on the calling side with the failure as its
/// `source()`; a connection that could not be made has tonic's [`tonic::ConnectError`] in that
/// chain, so the request was never sent. Every other transport failure (a connection reset or
/// closed mid-call, a call over its deadline) may have come after the request was sent.
pub fn lost_call(status: &Status) -> Option<Lost> {
    if status.metadata().contains_key(REASON_KEY) {
        return None;
    }
    let mut source = std::error::Error::source(status);
    let transport = source.is_some();
    while let Some(error) = source {
        if error.is::<tonic::ConnectError>() {
            return Some(Lost::Unsent);
        }
        source = error.source();
    }
    match status.code() {
        // Made here from a transport failure after connecting: the request may have been sent.
        _ if transport => Some(Lost::Unanswered),
        // Said by the peer (or a proxy in between) before the call reached its handler.
        Code::Unavailable => Some(Lost::Unsent),
        // The peer gave up on the call (its deadline, a cancelled stream) or failed without a
        // reason: the handler may have run.
        Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => Some(Lost::Unanswered),
        _ => None,
    }
}

/// The machine-readable reason of a status received from a medclear service (or a generic one
/// derived from its code when the peer sent none; [`SERVICE_UNAVAILABLE`] or
/// [`OUTCOME_UNKNOWN`] for a call that got no answer, see [`lost_call`]).
pub fn status_reason(status: &Status) -> String {
    if let Some(reason) = status.metadata().get(REASON_KEY).and_then(|v| v.to_str().ok()) {
        return reason.to_owned();
    }
    if let Some(lost) = lost_call(status) {
        return lost.reason().to_owned();
    }
    match status.code() {
        Code::NotFound => "not_found",
        Code::InvalidArgument => "invalid_argument",
        Code::AlreadyExists => "already_exists",
        Code::FailedPrecondition => "failed_precondition",
        // gRPC's own limit on a message's size (a medclear service never says it).
        Code::ResourceExhausted => "too_large",
        _ => "internal",
    }
    .to_owned()
}

/// The request field a status is about, when the peer named one.
pub fn status_field(status: &Status) -> Option<String> {
    status.metadata().get(FIELD_KEY).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_keep_their_reason_and_field() {
        let status = Status::from(Error::invalid("end_date", "end_before_begin", "end first"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "end first");
        assert_eq!(status_reason(&status), "end_before_begin");
        assert_eq!(status_field(&status).as_deref(), Some("end_date"));
    }

    #[test]
    fn database_errors_map_to_codes_without_leaking() {
        let status = Status::from(Error::Database(sqlx::Error::RowNotFound));
        assert_eq!(status.code(), Code::NotFound);
        let status = Status::from(Error::Internal("disk on fire at /var/x".into()));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("/var/x"));
        assert_eq!(status_reason(&status), "internal");
        assert_eq!(status_reason(&Status::unavailable("down")), "service_unavailable");
    }

    #[test]
    fn a_lost_call_is_unsent_or_unanswered_never_a_refusal() {
        // tonic's status of a connection that could not be made.
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let unsent = Status::from_error(Box::new(tonic::ConnectError(Box::new(refused))));
        assert_eq!(unsent.code(), Code::Unavailable);
        assert_eq!(lost_call(&unsent), Some(Lost::Unsent));
        assert_eq!(status_reason(&unsent), SERVICE_UNAVAILABLE);
        // A connection broken mid-call, and a call over its deadline: maybe done.
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let broken = Status::from_error(Box::new(reset));
        assert_eq!(lost_call(&broken), Some(Lost::Unanswered));
        assert_eq!(status_reason(&broken), OUTCOME_UNKNOWN);
        let late = Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert_eq!(late.code(), Code::Cancelled);
        assert_eq!(status_reason(&late), OUTCOME_UNKNOWN);
        assert_eq!(status_reason(&Status::deadline_exceeded("late")), OUTCOME_UNKNOWN);
        // A service's own answer keeps its reason, whatever its code.
        let down = Status::from(Error::unavailable(UPSTREAM_UNAVAILABLE, "filing is down"));
        assert_eq!(down.code(), Code::Unavailable);
        assert_eq!(lost_call(&down), None);
        assert_eq!(status_reason(&down), UPSTREAM_UNAVAILABLE);
        let internal = Status::from(Error::Internal("x".into()));
        assert_eq!((lost_call(&internal), status_reason(&internal).as_str()), (None, "internal"));
        assert_eq!(lost_call(&Status::not_found("no")), None);
    }
}
