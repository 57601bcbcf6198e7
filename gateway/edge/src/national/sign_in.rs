//! 9001: an operator's sign-in, whose `sign_no` ([`crate::session::SignIn`]) later envelopes
//! are checked against.

use chrono::{DateTime, Utc};
use medclear_common::{clock::CHINA, codes};
use serde::{Deserialize, Serialize};

use super::envelope::{Envelope, Outcome, Refusal, node, output};
use crate::{json::text, session::SignIn, state::AppState};

/// Refuses an envelope whose `sign_no` (when sent) was not issued today to its institution
/// and operator.
pub(super) fn check(
    signer: &SignIn,
    envelope: &Envelope,
    at: DateTime<Utc>,
) -> Result<(), Refusal> {
    let sent = envelope.sign_no.trim();
    if sent.is_empty() || envelope.infno == "9001" || envelope.infno == "9002" {
        return Ok(());
    }
    let today = at.with_timezone(&CHINA).format("%Y%m%d").to_string();
    if !signer.verify(envelope.fixmedins_code.trim(), envelope.opter.trim(), &today, sent) {
        return Err(Refusal::new(
            "invalid_sign_no",
            "sign_no was not issued today to this institution and operator: sign in (9001)",
        ));
    }
    Ok(())
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
    codes::text("signIn.opter_no", &node.opter_no, 30)?;
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
    let sign_no =
        state.sign_in().number(envelope.fixmedins_code.trim(), envelope.opter.trim(), &day);
    state.sign_in().sign_in_again(&sign_no);
    output(&SignInOutput {
        signinoutb: SignedIn { sign_time: now.format("%Y-%m-%d %H:%M:%S").to_string(), sign_no },
    })
}

#[derive(Debug, Default, Deserialize)]
struct SignOutNode {
    #[serde(default, deserialize_with = "text")]
    sign_no: String,
    #[serde(default, deserialize_with = "text")]
    opter_no: String,
}

#[derive(Debug, Serialize)]
struct SignOutOutput {
    signoutoutb: SignedOut,
}

#[derive(Debug, Serialize)]
struct SignedOut {
    sign_time: String,
}

/// 9002: the operator's sign-in number withdrawn; later envelopes carrying it are refused
/// (`invalid_sign_no`) until the operator signs in again.
pub(super) async fn sign_out(state: &AppState, envelope: &Envelope) -> Outcome {
    let node: SignOutNode = node(envelope, "signOut")?;
    codes::text("signOut.opter_no", &node.opter_no, 30)?;
    let sign_no = codes::code("signOut.sign_no", &node.sign_no, 30)?;
    let now = Utc::now().with_timezone(&CHINA);
    let day = now.format("%Y%m%d").to_string();
    if !state.sign_in().verify(envelope.fixmedins_code.trim(), envelope.opter.trim(), &day, sign_no)
    {
        return Err(Refusal::new(
            "invalid_sign_no",
            "signOut.sign_no is not this institution's and operator's sign-in of today",
        ));
    }
    state.sign_in().sign_out(sign_no);
    output(&SignOutOutput {
        signoutoutb: SignedOut { sign_time: now.format("%Y-%m-%d %H:%M:%S").to_string() },
    })
}
