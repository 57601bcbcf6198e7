//! Citizens sign in with a one-time code and then carry a signed token.
//!
//! `POST /api/v1/citizen/sign-in {"certno"}` makes a 6-digit code for an insured person,
//! good for 5 minutes and 5 tries, and delivers it. There is no SMS gateway yet, so the code
//! is written to the server's log (development: the server prints it). `POST
//! /api/v1/citizen/verify {"certno", "code"}` spends the code and answers a token:
//! `<psn_no>.<expiry (unix seconds)>.<HMAC-SHA256, hex>`, good for 8 hours. A request with
//! `Authorization: Bearer <token>` acts as that citizen ([`crate::access::Principal::Citizen`]).
//! The signing key is `GATEWAY_SIGN_KEY` (shared by replicas), else random per process; codes
//! are kept by the gateway process that issued them.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use medclear_common::{Error, config::Secret};

/// How long a code and a token are good for.
pub const CODE_TTL: Duration = Duration::from_secs(5 * 60);
pub const TOKEN_TTL: Duration = Duration::from_secs(8 * 60 * 60);
/// Wrong codes allowed before a code is void.
pub const CODE_TRIES: u32 = 5;

/// The gateway's signing secret: `key` (`GATEWAY_SIGN_KEY`, at least 32 characters; every
/// replica must share it), else random for this process. Each use derives its own key from it.
pub fn signing_secret(key: Option<&Secret>) -> Result<Vec<u8>, Error> {
    match key {
        Some(text) if text.expose().len() >= 32 => Ok(text.expose().as_bytes().to_vec()),
        Some(_) => Err(Error::Internal("GATEWAY_SIGN_KEY must be at least 32 characters".into())),
        None => {
            use ring::rand::SecureRandom as _;
            let mut bytes = [0u8; 32];
            ring::rand::SystemRandom::new()
                .fill(&mut bytes)
                .map_err(|_| Error::Internal("no random bytes for the signing key".into()))?;
            Ok(bytes.to_vec())
        }
    }
}

#[derive(Debug, Clone)]
struct Pending {
    psn_no: String,
    code: String,
    expires: SystemTime,
    tries: u32,
}

/// The citizens' sign-in: pending codes and the token key.
#[derive(Debug)]
pub struct CitizenAuth {
    key: ring::hmac::Key,
    pending: Mutex<HashMap<String, Pending>>,
}

fn unix(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl CitizenAuth {
    pub fn new(secret: &[u8]) -> Self {
        let key = [secret, b"|citizen"].concat();
        Self { key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key), pending: Mutex::default() }
    }

    /// A new code for the person with certificate `certno` (`psn_no` theirs), replacing any
    /// earlier one.
    pub fn issue_code(&self, certno: &str, psn_no: &str) -> Result<String, Error> {
        use ring::rand::SecureRandom as _;
        let mut bytes = [0u8; 4];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Error::Internal("no random bytes for a sign-in code".into()))?;
        let code = format!("{:06}", u32::from_le_bytes(bytes) % 1_000_000);
        let pending = Pending {
            psn_no: psn_no.to_owned(),
            code: code.clone(),
            expires: SystemTime::now() + CODE_TTL,
            tries: 0,
        };
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(certno.to_owned(), pending);
        Ok(code)
    }

    /// Spends the code of `certno`; the person's token, or why not.
    pub fn verify(&self, certno: &str, code: &str) -> Result<(String, String, u64), &'static str> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = pending.get_mut(certno) else { return Err("no_code") };
        if SystemTime::now() > entry.expires || entry.tries >= CODE_TRIES {
            pending.remove(certno);
            return Err("code_expired");
        }
        if entry.code != code.trim() {
            entry.tries += 1;
            return Err("wrong_code");
        }
        let psn_no = entry.psn_no.clone();
        pending.remove(certno);
        let expires = unix(SystemTime::now() + TOKEN_TTL);
        Ok((self.token(&psn_no, expires), psn_no, expires))
    }

    fn token(&self, psn_no: &str, expires: u64) -> String {
        let tag = ring::hmac::sign(&self.key, format!("{psn_no}.{expires}").as_bytes());
        format!("{psn_no}.{expires}.{}", hex(tag.as_ref()))
    }

    /// The person a token names, if it is ours and not expired.
    pub fn citizen_of(&self, token: &str) -> Option<String> {
        let mut parts = token.trim().rsplitn(3, '.');
        let (tag, expires, psn_no) = (parts.next()?, parts.next()?, parts.next()?);
        let expires: u64 = expires.parse().ok()?;
        if expires < unix(SystemTime::now()) {
            return None;
        }
        let tag: Vec<u8> = (0..tag.len())
            .step_by(2)
            .map(|i| tag.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect::<Option<_>>()?;
        ring::hmac::verify(&self.key, format!("{psn_no}.{expires}").as_bytes(), &tag).ok()?;
        Some(psn_no.to_owned())
    }

    /// The code pending for `certno`: what the server prints, for development and tests.
    pub fn pending_code(&self, certno: &str) -> Option<String> {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(certno)
            .map(|p| p.code.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_spent_once_and_gives_a_token_that_names_the_person() {
        let auth = CitizenAuth::new(&[7; 32]);
        let code = auth.issue_code("420202196001010016", "P420200001").unwrap();
        assert_eq!(code.len(), 6);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        assert_eq!(auth.verify("420202196001010016", wrong).unwrap_err(), "wrong_code");
        let (token, psn_no, _) = auth.verify("420202196001010016", &code).unwrap();
        assert_eq!(psn_no, "P420200001");
        assert_eq!(auth.citizen_of(&token).as_deref(), Some("P420200001"));
        assert_eq!(auth.verify("420202196001010016", &code).unwrap_err(), "no_code", "spent");
        // Tampered, or signed by another key: nobody.
        assert_eq!(auth.citizen_of(&token.replace("P420200001", "P420200002")), None);
        assert_eq!(CitizenAuth::new(&[8; 32]).citizen_of(&token), None);
        assert_eq!(auth.citizen_of("garbage"), None);
    }

    #[test]
    fn too_many_wrong_codes_void_the_code() {
        let auth = CitizenAuth::new(&[7; 32]);
        let code = auth.issue_code("C1", "P1").unwrap();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..CODE_TRIES {
            assert_eq!(auth.verify("C1", wrong).unwrap_err(), "wrong_code");
        }
        assert_eq!(auth.verify("C1", &code).unwrap_err(), "code_expired");
    }
}
