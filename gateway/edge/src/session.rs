//! Page sessions: the cookies the web pages use, and the tokens that guard their forms.
//!
//! * A citizen's cookie (`medclear_citizen`) holds the same HMAC token the JSON API's
//!   `/api/v1/citizen/verify` answers ([`crate::citizen`]).
//! * An operator's development cookie (`medclear_operator`) holds
//!   `<province or 000000>.<expiry (unix seconds)>.<HMAC-SHA256, hex>`, signed with a key derived
//!   from the gateway secret. It is issued and honoured only on plain HTTP on loopback
//!   (development); over HTTPS the client certificate decides ([`crate::access`]).
//! * Every form that changes something carries a CSRF token: the HMAC of the session it was
//!   rendered for (the cookie's value, or the certificate holder's name), checked on POST.
//!
//! Which principal a page acts as is decided in [`crate::access`]; this module only signs
//! and checks.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::hmac;

use crate::access::Principal;

/// The citizen's session cookie.
pub const CITIZEN_COOKIE: &str = "medclear_citizen";
/// The operator's development session cookie.
pub const OPERATOR_COOKIE: &str = "medclear_operator";
/// How long an operator's development session lasts.
pub const OPERATOR_TTL: Duration = Duration::from_secs(8 * 60 * 60);

/// The keys of page sessions, each derived from the gateway secret for its own use.
#[derive(Debug)]
pub struct PageKeys {
    operator: hmac::Key,
    csrf: hmac::Key,
}

fn unix(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

impl PageKeys {
    pub fn new(secret: &[u8]) -> Self {
        let derive =
            |purpose: &[u8]| hmac::Key::new(hmac::HMAC_SHA256, &[secret, purpose].concat());
        Self { operator: derive(b"|operator-session"), csrf: derive(b"|csrf") }
    }

    /// A development session for an operator (a province's or the national one); `None` for
    /// anyone else.
    pub fn operator_token(&self, principal: &Principal) -> Option<String> {
        let code = match principal {
            Principal::ProvinceOperator(province) => province.clone(),
            Principal::NationalOperator => "000000".to_owned(),
            _ => return None,
        };
        let expires = unix(SystemTime::now() + OPERATOR_TTL);
        let tag = hmac::sign(&self.operator, format!("{code}.{expires}").as_bytes());
        Some(format!("{code}.{expires}.{}", hex(tag.as_ref())))
    }

    /// The operator a development session names, if it is ours and not expired.
    pub fn operator_of(&self, token: &str) -> Option<Principal> {
        let mut parts = token.trim().splitn(3, '.');
        let (code, expires, tag) = (parts.next()?, parts.next()?, parts.next()?);
        let expires_at: u64 = expires.parse().ok()?;
        if expires_at < unix(SystemTime::now()) {
            return None;
        }
        hmac::verify(&self.operator, format!("{code}.{expires}").as_bytes(), &unhex(tag)?).ok()?;
        Principal::from_common_name(&format!("OP-{code}"))
    }

    /// The CSRF token of forms rendered for `session`.
    pub fn csrf(&self, session: &str) -> String {
        hex(hmac::sign(&self.csrf, session.as_bytes()).as_ref())
    }

    /// Whether `given` is the CSRF token of `session` (compared in constant time).
    pub fn csrf_ok(&self, session: &str, given: &str) -> bool {
        unhex(given.trim())
            .is_some_and(|tag| hmac::verify(&self.csrf, session.as_bytes(), &tag).is_ok())
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// A `Set-Cookie` value for a session cookie: HttpOnly, SameSite=Strict, `Secure` over HTTPS;
/// an empty value with `max_age` 0 removes it.
pub fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// Signs sign-in numbers (9001): `sign_no` is the China date and an HMAC-SHA256 of the
/// institution, the operator and that date, so a later envelope's `sign_no` is checked
/// without a store. It is good for the day it was issued. The key comes from
/// `GATEWAY_SIGN_KEY` (see [`crate::citizen::signing_secret`]).
///
/// A sign-out (9002) withdraws the number until the operator signs in again that day; what is
/// withdrawn is held by this gateway process (replicas behind one address do not share it).
#[derive(Debug, Clone)]
pub struct SignIn {
    key: ring::hmac::Key,
    signed_out: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl SignIn {
    /// The 9001 signer of a gateway secret (see [`crate::citizen::signing_secret`]).
    pub fn new(secret: &[u8]) -> Self {
        let key = [secret, b"|9001"].concat();
        Self {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
            signed_out: std::sync::Arc::default(),
        }
    }

    fn signed_out(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.signed_out.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Withdraws a sign-in number (9002); numbers of earlier days are forgotten (they are no
    /// longer valid anyway).
    pub fn sign_out(&self, number: &str) {
        let day = number.get(..8).unwrap_or_default().to_owned();
        let mut out = self.signed_out();
        out.retain(|n| n.get(..8) >= Some(day.as_str()));
        out.insert(number.to_owned());
    }

    /// Gives a withdrawn number back (9001 again the same day).
    pub fn sign_in_again(&self, number: &str) {
        self.signed_out().remove(number);
    }

    /// The sign-in number of `opter` at `institution` on `day` (`yyyyMMdd`).
    pub fn number(&self, institution: &str, opter: &str, day: &str) -> String {
        let tag = ring::hmac::sign(&self.key, format!("{institution}|{opter}|{day}").as_bytes());
        let hex: String = tag.as_ref().iter().take(8).map(|b| format!("{b:02X}")).collect();
        format!("{day}{hex}")
    }

    /// Whether `sent` is the sign-in number of `opter` at `institution` on `day`, compared
    /// in time that does not depend on where they differ.
    pub fn verify(&self, institution: &str, opter: &str, day: &str, sent: &str) -> bool {
        same_bytes(sent.as_bytes(), self.number(institution, opter, day).as_bytes())
            && !self.signed_out().contains(sent)
    }
}

/// Equal, compared in time that does not depend on where they differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_sessions_name_operators_and_nobody_else() {
        let keys = PageKeys::new(&[7; 32]);
        let token = keys.operator_token(&Principal::ProvinceOperator("440000".into())).unwrap();
        assert_eq!(keys.operator_of(&token), Some(Principal::ProvinceOperator("440000".into())));
        let national = keys.operator_token(&Principal::NationalOperator).unwrap();
        assert_eq!(keys.operator_of(&national), Some(Principal::NationalOperator));
        assert_eq!(keys.operator_token(&Principal::Citizen("P1".into())), None);
        // Another province in a token signed for 44: nobody; another key: nobody.
        assert_eq!(keys.operator_of(&token.replacen("440000", "420000", 1)), None);
        assert_eq!(PageKeys::new(&[8; 32]).operator_of(&token), None);
        assert_eq!(keys.operator_of("garbage"), None);
        assert_eq!(keys.operator_of("440000.1.00"), None, "expired");
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let keys = PageKeys::new(&[7; 32]);
        let token = keys.csrf("session-a");
        assert!(keys.csrf_ok("session-a", &token));
        assert!(!keys.csrf_ok("session-b", &token));
        assert!(!keys.csrf_ok("session-a", ""));
        assert!(!keys.csrf_ok("session-a", "zz"));
    }

    #[test]
    fn cookies_are_read_by_name_and_set_strictly() {
        let mut headers = axum::http::HeaderMap::new();
        headers
            .insert(axum::http::header::COOKIE, "a=1; medclear_citizen=P1.2.ab".parse().unwrap());
        assert_eq!(cookie(&headers, CITIZEN_COOKIE), Some("P1.2.ab"));
        assert_eq!(cookie(&headers, OPERATOR_COOKIE), None);
        let set = set_cookie(CITIZEN_COOKIE, "x", Duration::from_secs(60), true);
        assert_eq!(
            set,
            "medclear_citizen=x; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!set_cookie(CITIZEN_COOKIE, "x", Duration::ZERO, false).contains("Secure"));
    }
}
