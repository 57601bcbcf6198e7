//! Who a request comes from, read once per request: [`Caller`] for the JSON API and the
//! national interface (the connection's principal, or a citizen's bearer token), and
//! [`PageSession`] for the web pages (the connection and the session cookies). What they may
//! then do is [`crate::access`]'s rule.

use axum::{extract::FromRequestParts, http::StatusCode, http::request::Parts};

use crate::{
    access::{ClearingRead, ClearingView, Principal, Target, authorize, clearing_view},
    error::ApiError,
    state::AppState,
};

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

    /// Whether the caller may make a clearing `read`, and which rows of it it sees
    /// ([`crate::access::clearing_view`]).
    pub fn clearing_view(&self, read: ClearingRead) -> Result<ClearingView<'_>, ApiError> {
        clearing_view(&self.0, read).map_err(ApiError::from)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// The connection's principal; a signed-in citizen's `Authorization: Bearer` token makes
    /// the caller that citizen (a token that is not valid is refused, not ignored).
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
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

impl FromRequestParts<AppState> for PageSession {
    type Rejection = std::convert::Infallible;

    /// Never refuses: a cookie that is not valid (tampered, expired, another key) is as none.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
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
}
