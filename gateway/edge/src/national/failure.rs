//! Failures that are not refusals, as the national interface answers them (README "Final,
//! transient and unknown outcomes"). A refusal of a service keeps its reason: it is final for
//! that request. A call that got no answer is one of two things (see
//! [`medclear_common::error::lost_call`]):
//!
//! * `service_unavailable` — the service could not be reached, nothing was done: send the
//!   same envelope again (same msgid) later. A service whose own dependency is down says so
//!   itself (`upstream_unavailable`), equally transient.
//! * `outcome_unknown` — the request may have reached the service and its answer was lost: a
//!   write may or may not have taken effect. The HIS sends the same envelope again with the
//!   same msgid, which never applies it twice and answers what was done; for a settlement,
//!   the settlement query (5203) also tells whether it happened.
//!
//! A transaction that only reads changes nothing, so for it an answer lost is simply
//! transient ([`for_transaction`]).

use medclear_common::error::{Lost, OUTCOME_UNKNOWN, SERVICE_UNAVAILABLE, lost_call};

use super::Effect;
use super::envelope::{Outcome, Refusal};

/// The message of a failed call to a service (its reason is
/// [`medclear_common::error::status_reason`]'s): the service's own when it answered, else what
/// a lost call means ([`for_transaction`] adds what the HIS does about it).
pub(super) fn message(status: &tonic::Status) -> String {
    match lost_call(status) {
        None => status.message().to_owned(),
        Some(Lost::Unsent) => {
            tracing::warn!(%status, "a service could not be reached");
            format!(
                "a service behind the gateway could not be reached ({}); nothing was done: send \
                 the same request again, with the same msgid",
                status.message()
            )
        }
        Some(Lost::Unanswered) => {
            tracing::warn!(%status, "the answer of a service was lost");
            format!(
                "the answer of a service behind the gateway was lost ({}); the transaction may \
                 or may not have taken effect",
                status.message()
            )
        }
    }
}

/// `outcome` as transaction `infno` answers it: an answer lost to a read is transient (nothing
/// changed); to a write, the HIS is told how to find out what happened.
pub(super) fn for_transaction(infno: &str, effect: Effect, outcome: Outcome) -> Outcome {
    let Err(refusal) = outcome else { return outcome };
    if refusal.reason != OUTCOME_UNKNOWN {
        return Err(refusal);
    }
    let Refusal { reason, message } = refusal;
    if effect == Effect::Reads {
        return Err(Refusal::new(
            SERVICE_UNAVAILABLE,
            format!("{message}; {infno} only reads, so nothing changed: send it again"),
        ));
    }
    let what_to_do = if effect == Effect::Settles {
        format!(
            "send {infno} again with the same msgid: it is never applied twice, and answers \
             what it did; or ask 5203 (by mdtrt_id, or medins_setl_id = this msgid) whether the \
             settlement happened"
        )
    } else {
        format!("send {infno} again with the same msgid: it is never applied twice")
    };
    Err(Refusal { reason, message: format!("{message}: {what_to_do}") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use medclear_common::error::UPSTREAM_UNAVAILABLE;

    #[test]
    fn lost_answers_are_transient_for_reads_and_unknown_for_writes() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let lost = Refusal::from(tonic::Status::from_error(Box::new(reset)));
        assert_eq!(lost.reason, OUTCOME_UNKNOWN);
        let settle = for_transaction("2207", Effect::Settles, Err(lost.clone())).unwrap_err();
        assert_eq!(settle.reason, OUTCOME_UNKNOWN);
        assert!(settle.message.contains("5203"), "{}", settle.message);
        let register = for_transaction("2201", Effect::Writes, Err(lost.clone())).unwrap_err();
        assert_eq!(register.reason, OUTCOME_UNKNOWN);
        assert!(register.message.contains("same msgid"), "{}", register.message);
        assert_eq!(
            for_transaction("1101", Effect::Reads, Err(lost)).unwrap_err().reason,
            SERVICE_UNAVAILABLE
        );

        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let down = tonic::ConnectError(Box::new(refused));
        let unsent = Refusal::from(tonic::Status::from_error(Box::new(down)));
        assert_eq!(unsent.reason, SERVICE_UNAVAILABLE);
        assert!(unsent.message.contains("nothing was done"), "{}", unsent.message);
        assert_eq!(
            for_transaction("2207", Effect::Settles, Err(unsent.clone())).unwrap_err(),
            unsent
        );

        // A service's own answer, transient or not, is passed on as it is.
        let status = tonic::Status::from(medclear_common::Error::unavailable(
            UPSTREAM_UNAVAILABLE,
            "filing is down",
        ));
        let upstream =
            for_transaction("2207", Effect::Settles, Err(Refusal::from(status))).unwrap_err();
        assert_eq!(
            (upstream.reason.as_str(), upstream.message.as_str()),
            (UPSTREAM_UNAVAILABLE, "filing is down")
        );
    }
}
