//! 5203 (结算信息查询): a settlement found by its `setl_id`, by the visit it closed
//! (`mdtrt_id`) or by the msgid that made it (`medins_setl_id`, which 2207 answers as the
//! settlement's msgid) — how a HIS whose 2207 answer was lost learns whether the settlement
//! happened: found, it has the answer 2207 gave (a retry of that 2207 with the same msgid
//! answers it again, and changes nothing); not found (`settlement_not_found`), it did not
//! happen, and the 2207 may be sent again.

use medclear_proto::routing::v1 as pb;
use serde::Deserialize;

use super::envelope::{Envelope, Outcome, Refusal, node, routing};
use super::settlement::settlement_output_with;
use crate::{json::text, state::AppState};

#[derive(Debug, Default, Deserialize)]
struct Query {
    #[serde(default, deserialize_with = "text")]
    setl_id: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    medins_setl_id: String,
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
}

/// 5203: the settlement's `setlinfo` and `setldetail`, as 2207 answered them, with
/// `refd_setl_flag` "1" when it has been cancelled since. Of several settlements of a visit
/// (settled, cancelled, settled again), the latest.
pub(super) async fn settlement_query(state: &AppState, envelope: &Envelope) -> Outcome {
    let q: Query = node(envelope, "data")?;
    let request = pb::FindSettlementsRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        setl_id: q.setl_id.trim().to_owned(),
        mdtrt_id: q.mdtrt_id.trim().to_owned(),
        msgid: q.medins_setl_id.trim().to_owned(),
    };
    let route = if q.setl_id.trim().is_empty() { q.mdtrt_id.trim() } else { q.setl_id.trim() };
    let found = routing(state, envelope, route).find_settlements(request).await?.into_inner();
    let psn_no = q.psn_no.trim();
    let latest = found
        .settlements
        .into_iter()
        .rfind(|s| psn_no.is_empty() || s.settlement.as_ref().is_some_and(|s| s.psn_no == psn_no))
        .ok_or_else(|| {
            Refusal::new(
                "settlement_not_found",
                format!(
                    "{} has no settlement {}: it did not happen (a 2207 whose answer was lost \
                     may be sent again with its msgid)",
                    envelope.fixmedins_code,
                    [&q.setl_id, &q.mdtrt_id, &q.medins_setl_id]
                        .iter()
                        .map(|t| t.trim())
                        .filter(|t| !t.is_empty())
                        .collect::<Vec<_>>()
                        .join(" / ")
                ),
            )
        })?;
    let refunded = if latest.cancelled_by.is_empty() { "0" } else { "1" };
    let settlement = latest.settlement.unwrap_or_default();
    let mdtrt_id = settlement.mdtrt_id.clone();
    settlement_output_with(settlement, &latest.msgid, &mdtrt_id, &[("refd_setl_flag", refunded)])
}
