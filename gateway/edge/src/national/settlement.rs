//! 2206 / 2303 (pre-settlement), 2207 / 2304 (settlement), 2208 / 2305 (cancelling a
//! settlement) and 2601 (reversing a transaction, 冲正).

use chrono::{DateTime, FixedOffset};
use medclear_common::clock::CHINA;
use medclear_proto::routing::v1 as pb;
use serde::{Deserialize, Serialize};

use super::envelope::{Envelope, Outcome, Refusal, Yuan, fen, node, output, routing};
use crate::{api::json::text, state::AppState};

#[derive(Debug, Default, Deserialize)]
struct SettleNode {
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    setl_id: String,
    #[serde(default, deserialize_with = "text")]
    medfee_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    acct_used_flag: String,
    #[serde(default, deserialize_with = "text")]
    omsgid: String,
}

#[derive(Debug, Serialize)]
struct SetlInfo {
    setl_id: Option<String>,
    mdtrt_id: String,
    psn_no: String,
    setl_time: Option<String>,
    medfee_sumamt: Yuan,
    fulamt_ownpay_amt: Yuan,
    overlmt_selfpay: Yuan,
    preselfpay_amt: Yuan,
    inscp_scp_amt: Yuan,
    act_pay_dedc: Yuan,
    hifp_pay: Yuan,
    hifob_pay: Yuan,
    hifmi_pay: Yuan,
    maf_pay: Yuan,
    fund_pay_sumamt: Yuan,
    psn_part_amt: Yuan,
    acct_pay: Yuan,
    psn_cash_pay: Yuan,
    medins_setl_id: String,
}

#[derive(Debug, Serialize)]
struct SetlDetail {
    fund_pay_type: String,
    crt_payb_lmt_amt: Yuan,
    fund_payamt: Yuan,
}

#[derive(Debug, Serialize)]
struct SettlementOutput {
    setlinfo: SetlInfo,
    setldetail: Vec<SetlDetail>,
}

/// The national `setlinfo` + `setldetail` of a settlement. A cancellation is answered as the
/// national platform does: its own new `setl_id`, every amount negative.
fn settlement_output(s: pb::Settlement, msgid: &str, mdtrt_id: &str) -> Outcome {
    let settled = s.kind != "presettlement";
    let sign = if s.kind == "cancellation" { -1 } else { 1 };
    let yuan = |fen: i64| Yuan(sign * fen);
    let setl_time = chrono::DateTime::parse_from_rfc3339(&s.setl_time)
        .map(|t: DateTime<FixedOffset>| {
            t.with_timezone(&CHINA).format("%Y-%m-%d %H:%M:%S").to_string()
        })
        .unwrap_or(s.setl_time);
    output(&SettlementOutput {
        setlinfo: SetlInfo {
            setl_id: settled.then_some(s.setl_id),
            mdtrt_id: if s.mdtrt_id.is_empty() { mdtrt_id.trim().to_owned() } else { s.mdtrt_id },
            psn_no: s.psn_no,
            setl_time: settled.then_some(setl_time),
            medfee_sumamt: yuan(s.medfee_sumamt_fen),
            fulamt_ownpay_amt: yuan(s.fulamt_ownpay_amt_fen),
            overlmt_selfpay: yuan(s.overlmt_selfpay_fen),
            preselfpay_amt: yuan(s.preselfpay_amt_fen),
            inscp_scp_amt: yuan(s.inscp_scp_amt_fen),
            act_pay_dedc: yuan(s.act_pay_dedc_fen),
            hifp_pay: yuan(s.hifp_pay_fen),
            hifob_pay: yuan(s.hifob_pay_fen),
            hifmi_pay: yuan(s.hifmi_pay_fen),
            maf_pay: yuan(s.maf_pay_fen),
            fund_pay_sumamt: yuan(s.fund_pay_sumamt_fen),
            psn_part_amt: yuan(s.psn_part_amt_fen),
            acct_pay: yuan(s.acct_pay_fen),
            psn_cash_pay: yuan(s.psn_cash_pay_fen),
            medins_setl_id: msgid.to_owned(),
        },
        setldetail: s
            .setldetail
            .into_iter()
            .map(|d| SetlDetail {
                fund_pay_type: d.fund_pay_type,
                crt_payb_lmt_amt: yuan(d.crt_payb_lmt_amt_fen),
                fund_payamt: yuan(d.fund_payamt_fen),
            })
            .collect(),
    })
}

/// 2206 / 2303: what the visit's settlement would be; nothing is kept.
pub(super) async fn presettle(state: &AppState, envelope: &Envelope) -> Outcome {
    let s: SettleNode = node(envelope, "data")?;
    let request = settle_request(envelope, &s)?;
    let settlement = routing(state, envelope, &s.mdtrt_id).pre_settle(request).await?.into_inner();
    settlement_output(settlement, &envelope.msgid, &s.mdtrt_id)
}

/// 2207 / 2304: the visit's settlement, kept.
pub(super) async fn settle(state: &AppState, envelope: &Envelope) -> Outcome {
    let s: SettleNode = node(envelope, "data")?;
    let request = settle_request(envelope, &s)?;
    let settlement = routing(state, envelope, &s.mdtrt_id).settle(request).await?.into_inner();
    settlement_output(settlement, &envelope.msgid, &s.mdtrt_id)
}

/// The routing request of a pre-settlement or a settlement: they ask the same.
fn settle_request(envelope: &Envelope, s: &SettleNode) -> Result<pb::SettleRequest, Refusal> {
    Ok(pb::SettleRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: s.mdtrt_id.trim().to_owned(),
        use_account: s.acct_used_flag.trim() == "1",
        // The hospital's total must be what was uploaded: the settlement checks it as it
        // computes, before anything is kept.
        medfee_sumamt_fen: match s.medfee_sumamt.trim() {
            "" => None,
            text => Some(fen("medfee_sumamt", text)?),
        },
    })
}

/// 2208 / 2305: a settlement cancelled, answered as its negative.
pub(super) async fn cancel_settlement(state: &AppState, envelope: &Envelope) -> Outcome {
    let s: SettleNode = node(envelope, "data")?;
    let request = pb::CancelSettlementRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        setl_id: s.setl_id.trim().to_owned(),
    };
    let settlement =
        routing(state, envelope, &s.setl_id).cancel_settlement(request).await?.into_inner();
    settlement_output(settlement, &envelope.msgid, &s.mdtrt_id)
}

/// 2601: the transaction sent with `omsgid` reversed (冲正).
pub(super) async fn reverse(state: &AppState, envelope: &Envelope) -> Outcome {
    let s: SettleNode = node(envelope, "data")?;
    let request = pb::ReverseRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        omsgid: s.omsgid.trim().to_owned(),
    };
    routing(state, envelope, "").reverse(request).await?;
    Ok(None)
}
