//! Who may act on what: every access rule of the gateway in one place.
//!
//! A caller is a [`Principal`], named by its client certificate (hospitals and operators) or,
//! on plain HTTP in development, nobody in particular. What a request acts on is a
//! [`Target`]: an institution, a province (any region code: its first two digits), a person,
//! or the national clearing itself. [`authorize`] is the whole rule:
//!
//! | principal | own institution | other institution | own province | other province | own person | other person | national |
//! |---|---|---|---|---|---|---|---|
//! | hospital | yes | no | no | no | no | no | no |
//! | province operator | no | no | yes | no | no | no | no |
//! | national operator | yes (oversight) | yes | yes | yes | no | no | yes |
//! | citizen | no | no | no | no | yes | no | no |
//! | anonymous (HTTPS, no certificate) | no | no | no | no | no | no | no |
//! | development (plain HTTP on loopback) | yes | yes | yes | yes | yes | yes | yes |
//!
//! Certificates name their holder in the subject common name: `H44030000001` (a hospital or
//! `P…` pharmacy), `OP-420000` (Hubei's operator), `OP-000000` (the national operator).
//!
//! The JSON API ([`Caller`]) reads the connection and a citizen's `Authorization: Bearer`
//! token, never a cookie — so a cookie cannot make a cross-site JSON call. The web pages
//! ([`PageSession`]) also read the session cookies of [`crate::session`]:
//!
//! * citizen pages act as the citizen of a valid `medclear_citizen` cookie (on HTTP or
//!   HTTPS), unless the connection's certificate names someone (then it does);
//! * bureau pages act as the operator of the connection's certificate over HTTPS, and only
//!   on plain HTTP on loopback (the connection is [`Principal::Development`]) as the operator of
//!   a valid development `medclear_operator` cookie — over HTTPS that cookie is ignored and
//!   the development sign-in does not exist;
//! * a page never acts as [`Principal::Development`]: without a session it asks to sign in.
//!
//! A page's principal is then held to [`authorize`] exactly like a certificate's.

use axum::{extract::FromRequestParts, http::StatusCode, http::request::Parts};

use crate::api::error::ApiError;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Plain HTTP on loopback, in development: nobody is authenticated, anything goes (the
    /// gateway says so loudly at start-up).
    Development,
    /// HTTPS without a usable certificate.
    Anonymous,
    /// A designated institution (`fixmedins_code`).
    Hospital(String),
    /// A provincial medical-insurance bureau's operator (the province's `xx0000` code).
    ProvinceOperator(String),
    /// The national clearing operator.
    NationalOperator,
    /// An insured person (`psn_no`), signed in.
    Citizen(String),
}

/// What a request acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Institution(&'a str),
    /// A province, or any region in it (compared by the first two digits).
    Province(&'a str),
    Person(&'a str),
    /// The national clearing: closing, netting and settling periods.
    National,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// `unauthenticated` (no credentials) or `forbidden`.
    pub reason: &'static str,
    pub message: String,
}

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

fn same_province(a: &str, b: &str) -> bool {
    a.len() >= 2 && b.len() >= 2 && a.get(..2) == b.get(..2)
}

impl Principal {
    /// The principal a certificate's common name names, if any.
    pub fn from_common_name(cn: &str) -> Option<Self> {
        if medclear_common::codes::FixmedinsCode::parse(cn).is_ok() {
            return Some(Self::Hospital(cn.to_owned()));
        }
        let code = cn.strip_prefix("OP-")?;
        if code == "000000" {
            return Some(Self::NationalOperator);
        }
        let province = medclear_common::codes::Admdvs::parse(code).ok()?;
        code.ends_with("0000").then(|| Self::ProvinceOperator(province.to_string()))
    }

    /// A label for logs and the audit trail.
    pub fn label(&self) -> String {
        match self {
            Self::Development => "development".into(),
            Self::Anonymous => "anonymous".into(),
            Self::Hospital(code) => code.clone(),
            Self::ProvinceOperator(p) => format!("OP-{p}"),
            Self::NationalOperator => "OP-000000".into(),
            Self::Citizen(psn) => psn.clone(),
        }
    }
}

/// The access rule (see the module's table).
pub fn authorize(principal: &Principal, target: Target<'_>) -> Result<(), Denied> {
    let allowed = match (principal, target) {
        (Principal::Development, _) => true,
        (Principal::Anonymous, _) => {
            return Err(Denied {
                reason: "unauthenticated",
                message: "this needs a client certificate (hospitals, operators) or a signed-in \
                          citizen"
                    .into(),
            });
        }
        (Principal::Hospital(own), Target::Institution(code)) => own == code,
        (Principal::ProvinceOperator(own), Target::Province(code)) => same_province(own, code),
        (Principal::NationalOperator, Target::Institution(_) | Target::Province(_)) => true,
        (Principal::NationalOperator, Target::National) => true,
        (Principal::Citizen(own), Target::Person(psn)) => own == psn,
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Denied {
            reason: "forbidden",
            message: format!("{} may not act on {}", principal.label(), describe(target)),
        })
    }
}

fn describe(target: Target<'_>) -> String {
    match target {
        Target::Institution(code) => format!("institution {code}"),
        Target::Province(code) => format!("province {}", code.get(..2).unwrap_or(code)),
        Target::Person(psn) => format!("person {psn}"),
        Target::National => "the national clearing".into(),
    }
}

/// The caller of a request: the principal its connection established (plain HTTP:
/// [`Principal::Development`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub Principal);

impl Caller {
    /// Refuses the request unless the caller may act on `target`.
    pub fn may(&self, target: Target<'_>) -> Result<(), ApiError> {
        authorize(&self.0, target).map_err(ApiError::from)
    }

    /// Refuses anyone but an operator (of a province or national): the clearing views that
    /// every party to clearing shares (periods, netting, funds).
    pub fn operator(&self) -> Result<(), ApiError> {
        match &self.0 {
            Principal::Development
            | Principal::ProvinceOperator(_)
            | Principal::NationalOperator => Ok(()),
            Principal::Anonymous => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "this needs an operator's client certificate",
            )),
            other => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("{} is not a clearing operator", other.label()),
            )),
        }
    }

    /// A person's own filings — the citizen, or an operator of the person's home province
    /// (`home`, when known) filing for them at a counter.
    pub fn may_for_person(&self, psn_no: &str, home: &str) -> Result<(), ApiError> {
        let as_person = authorize(&self.0, Target::Person(psn_no));
        if as_person.is_ok()
            || (!home.is_empty() && authorize(&self.0, Target::Province(home)).is_ok())
        {
            return Ok(());
        }
        as_person.map_err(ApiError::from)
    }

    /// The person registry (1101): hospitals look up the patient in front of them, operators
    /// the insured of the country; citizens and the anonymous may not browse it.
    pub fn registry_reader(&self) -> Result<(), ApiError> {
        match &self.0 {
            Principal::Hospital(_) => Ok(()),
            _ => self.operator(),
        }
    }

    /// A hospital's own statements and items (`code`), or — with no code — all hospitals',
    /// which is an operator's view.
    pub fn may_see_hospital(&self, code: &str) -> Result<(), ApiError> {
        if code.trim().is_empty() { self.operator() } else { self.may(Target::Institution(code)) }
    }
}

impl FromRequestParts<crate::state::AppState> for Caller {
    type Rejection = ApiError;

    /// The connection's principal; a signed-in citizen's `Authorization: Bearer` token makes
    /// the caller that citizen (a token that is not valid is refused, not ignored).
    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal =
            parts.extensions.get::<Principal>().cloned().unwrap_or(Principal::Development);
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let Some(token) = bearer else { return Ok(Self(principal)) };
        match state.citizens().citizen_of(token) {
            Some(psn_no) => Ok(Self(Principal::Citizen(psn_no))),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the bearer token is not valid (or has expired): sign in again",
            )),
        }
    }
}

/// Who a web page request comes from: the connection's principal and the sessions its cookies
/// carry (see the module's text for which one a page acts as).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSession {
    /// What the connection established: a certificate's holder, [`Principal::Anonymous`] on
    /// HTTPS without one, [`Principal::Development`] on plain HTTP.
    pub connection: Principal,
    /// A valid citizen cookie: the citizen and the cookie's value.
    pub citizen: Option<(Principal, String)>,
    /// A valid development operator cookie (plain HTTP only): the operator and its value.
    pub operator: Option<(Principal, String)>,
}

/// Who acts on a page, and the session its forms' CSRF tokens are derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageActor {
    pub principal: Principal,
    /// The cookie's value, or for a certificate holder `cert|<label>`.
    pub session: String,
}

impl PageSession {
    /// Plain HTTP on loopback: development (shows one-time codes, offers operator sign-in).
    pub fn development(&self) -> bool {
        self.connection == Principal::Development
    }

    /// Served over HTTPS (cookies are `Secure`).
    pub fn secure(&self) -> bool {
        !self.development()
    }

    fn certificate(&self) -> Option<PageActor> {
        match &self.connection {
            Principal::Development | Principal::Anonymous => None,
            holder => Some(PageActor {
                principal: holder.clone(),
                session: format!("cert|{}", holder.label()),
            }),
        }
    }

    /// Who acts on a citizen page: a certificate's holder, else the signed-in citizen; `None`
    /// means nobody (sign in).
    pub fn citizen_actor(&self) -> Option<PageActor> {
        self.certificate().or_else(|| {
            self.citizen.clone().map(|(principal, session)| PageActor { principal, session })
        })
    }

    /// Who acts on a bureau page: a certificate's holder, else (development only) the operator
    /// signed in for development; `None` means nobody.
    pub fn operator_actor(&self) -> Option<PageActor> {
        self.certificate().or_else(|| {
            self.operator
                .clone()
                .filter(|_| self.development())
                .map(|(principal, session)| PageActor { principal, session })
        })
    }
}

impl FromRequestParts<crate::state::AppState> for PageSession {
    type Rejection = std::convert::Infallible;

    /// Never refuses: a cookie that is not valid (tampered, expired, another key) is as none.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        use crate::session::{CITIZEN_COOKIE, OPERATOR_COOKIE, cookie};
        let connection =
            parts.extensions.get::<Principal>().cloned().unwrap_or(Principal::Development);
        let citizen = cookie(&parts.headers, CITIZEN_COOKIE).and_then(|token| {
            let psn_no = state.citizens().citizen_of(token)?;
            Some((Principal::Citizen(psn_no), token.to_owned()))
        });
        let operator = cookie(&parts.headers, OPERATOR_COOKIE)
            .filter(|_| connection == Principal::Development)
            .and_then(|token| Some((state.pages().operator_of(token)?, token.to_owned())));
        Ok(Self { connection, citizen, operator })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cell of the module's table.
    #[test]
    fn the_access_matrix_cell_by_cell() {
        let principals = [
            Principal::Hospital("H44030000001".into()),
            Principal::ProvinceOperator("420000".into()),
            Principal::NationalOperator,
            Principal::Citizen("P420200001".into()),
            Principal::Anonymous,
            Principal::Development,
        ];
        let targets = [
            Target::Institution("H44030000001"),
            Target::Institution("H44030000002"),
            Target::Province("420200"),
            Target::Province("440300"),
            Target::Person("P420200001"),
            Target::Person("P420200002"),
            Target::National,
        ];
        // Rows: principals; columns: own institution, other institution, own province, other
        // province, own person, other person, national.
        let expected: [[bool; 7]; 6] = [
            [true, false, false, false, false, false, false],
            [false, false, true, false, false, false, false],
            [true, true, true, true, false, false, true],
            [false, false, false, false, true, false, false],
            [false, false, false, false, false, false, false],
            [true, true, true, true, true, true, true],
        ];
        for (principal, row) in principals.iter().zip(expected) {
            for (target, allowed) in targets.iter().zip(row) {
                let outcome = authorize(principal, *target);
                assert_eq!(outcome.is_ok(), allowed, "{principal:?} on {target:?}: {outcome:?}");
                if let Err(denied) = outcome {
                    let reason = if *principal == Principal::Anonymous {
                        "unauthenticated"
                    } else {
                        "forbidden"
                    };
                    assert_eq!(denied.reason, reason);
                }
            }
        }
    }

    #[test]
    fn pages_act_as_the_certificate_then_the_session_and_operators_only_in_development() {
        let citizen = Some((Principal::Citizen("P1".into()), "tok".to_owned()));
        let operator = Some((Principal::ProvinceOperator("440000".into()), "op".to_owned()));
        let dev = PageSession {
            connection: Principal::Development,
            citizen: citizen.clone(),
            operator: operator.clone(),
        };
        assert_eq!(dev.citizen_actor().unwrap().principal, Principal::Citizen("P1".into()));
        assert_eq!(
            dev.operator_actor().unwrap().principal,
            Principal::ProvinceOperator("440000".into())
        );
        let https = PageSession { connection: Principal::Anonymous, ..dev.clone() };
        assert_eq!(https.operator_actor(), None, "the development cookie means nothing on HTTPS");
        assert_eq!(https.citizen_actor().unwrap().principal, Principal::Citizen("P1".into()));
        let cert = PageSession { connection: Principal::NationalOperator, ..dev.clone() };
        assert_eq!(cert.operator_actor().unwrap().principal, Principal::NationalOperator);
        assert_eq!(cert.citizen_actor().unwrap().principal, Principal::NationalOperator);
        let nobody =
            PageSession { connection: Principal::Development, citizen: None, operator: None };
        assert_eq!((nobody.citizen_actor(), nobody.operator_actor()), (None, None));
    }

    #[test]
    fn certificates_name_principals() {
        assert_eq!(
            Principal::from_common_name("H44030000001"),
            Some(Principal::Hospital("H44030000001".into()))
        );
        assert_eq!(
            Principal::from_common_name("OP-420000"),
            Some(Principal::ProvinceOperator("420000".into()))
        );
        assert_eq!(Principal::from_common_name("OP-000000"), Some(Principal::NationalOperator));
        for bad in ["OP-420200", "OP-42", "medclear gateway", "", "OP-"] {
            assert_eq!(Principal::from_common_name(bad), None, "{bad}");
        }
    }
}
