//! 9001: an operator's sign-in, and [`SignIn`], which issues its `sign_no` and checks it on
//! later envelopes.

use chrono::{DateTime, Utc};
use medclear_common::clock::CHINA;
use serde::{Deserialize, Serialize};

use super::envelope::{Envelope, Outcome, Refusal, node, output};
use crate::{api::json::text, state::AppState};

/// Signs sign-in numbers (9001): `sign_no` is the China date and an HMAC-SHA256 of the
/// institution, the operator and that date, so a later envelope's `sign_no` is checked
/// without a store. It is good for the day it was issued. The key comes from
/// `GATEWAY_SIGN_KEY` (see [`crate::citizen::signing_secret`]).
#[derive(Debug, Clone)]
pub struct SignIn {
    key: ring::hmac::Key,
}

impl SignIn {
    /// The 9001 signer of a gateway secret (see [`crate::citizen::signing_secret`]).
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
    pub(super) fn check(&self, envelope: &Envelope, at: DateTime<Utc>) -> Result<(), Refusal> {
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

/// 9001: the operator's `sign_no` for today.
pub(super) async fn sign_in(state: &AppState, envelope: &Envelope) -> Outcome {
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
