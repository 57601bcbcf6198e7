//! 2101 (药店预结算, a pharmacy's pre-settlement), 2102 (药店结算, its settlement) and 2103
//! (药店结算撤销, cancelling it). A pharmacy sends the purchase whole — the person in `data`,
//! the drugs in `drugdetail[]` — where a hospital registers a visit, uploads fee lines and
//! settles them: the same steps are run here, on the routing service, as a pharmacy visit
//! (med_type 41).
//!
//! 2102 is kept once per msgid: its visit is registered under the msgid (the same msgid, the
//! same visit), its lines are uploaded (the same lines again change nothing) and it is settled
//! under the msgid (answered again, never twice); a retry of a 2102 whose answer was lost finds
//! the visit settled and answers the stored settlement. 2101 keeps nothing: its purchase is
//! registered under a key of its own, pre-settled and cancelled at once.

use medclear_common::codes;
use medclear_proto::routing::v1 as pb;
use serde::{Deserialize, Serialize};

use super::envelope::{Envelope, Outcome, credential, date_of, fen, node, output, routing};
use super::{
    fees::{LineResult, drug_lines},
    settlement::{SettlementOutput, settlement_parts},
};
use crate::{json::text, state::AppState};

#[derive(Debug, Default, Deserialize)]
struct Purchase {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    begntime: String,
    #[serde(default, deserialize_with = "text")]
    medfee_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    acct_used_flag: String,
    #[serde(default, deserialize_with = "text")]
    dise_codg: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_cert_type: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_cert_no: String,
}

/// What 2101 and 2102 answer: the settlement, and each drug line classified.
#[derive(Debug, Serialize)]
struct PurchaseOutput {
    #[serde(flatten)]
    settlement: SettlementOutput,
    detlcutinfo: Vec<LineResult>,
}

/// The purchase's visit: registered under `key`, its drugs uploaded (again, for a retry:
/// nothing changes), and each drug line as classified.
async fn purchase_visit(
    state: &AppState,
    envelope: &Envelope,
    key: &str,
) -> Result<(Purchase, pb::Visit, Vec<LineResult>), super::Refusal> {
    // The person's node is `data`, or `druginfo` as some pharmacy clients name it.
    let name = if envelope.input.get("druginfo").is_some() { "druginfo" } else { "data" };
    let p: Purchase = node(envelope, name)?;
    let psn_no = codes::psn_no("data.psn_no", &p.psn_no)?.to_string();
    credential("data", &p.mdtrt_cert_type, &p.mdtrt_cert_no)?;
    let begntime = if p.begntime.trim().is_empty() { &envelope.inf_time } else { &p.begntime };
    let begin_date = date_of("data.begntime", begntime)?;
    let drugs = drug_lines(envelope, begntime)?;
    let disease_code = codes::diagnosis_code("data.dise_codg", &p.dise_codg, 30)?.to_owned();
    let register = pb::RegisterVisitRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: key.to_owned(),
        psn_no,
        med_type: pb::MedType::Pharmacy.into(),
        mdtrtarea_admvs: envelope.mdtrtarea_admvs.clone(),
        hospital_level: String::new(),
        begin_date,
        diagnosis_code: String::new(),
        emergency: false,
        disease_code,
    };
    let mut client = routing(state, envelope, "");
    let visit = client.register_visit(register).await?.into_inner();
    // A settled purchase's visit takes the same lines again (a retry) and answers them.
    let upload = pb::UploadFeeLinesRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: key.to_owned(),
        mdtrt_id: visit.mdtrt_id.clone(),
        lines: drugs.lines.clone(),
    };
    let classified = routing(state, envelope, &visit.mdtrt_id)
        .upload_fee_lines(upload)
        .await?
        .into_inner()
        .classified;
    Ok((p, visit, drugs.results(&classified)))
}

fn settle_request(
    envelope: &Envelope,
    p: &Purchase,
    visit: &pb::Visit,
    msgid: &str,
) -> Result<pb::SettleRequest, super::Refusal> {
    Ok(pb::SettleRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: msgid.to_owned(),
        mdtrt_id: visit.mdtrt_id.clone(),
        use_account: p.acct_used_flag.trim() == "1",
        medfee_sumamt_fen: match p.medfee_sumamt.trim() {
            "" => None,
            text => Some(fen("data.medfee_sumamt", text)?),
        },
    })
}

/// 2101: what the purchase's settlement would be; nothing is kept (its visit, registered
/// under a key of its own, is cancelled again).
pub(super) async fn presettle(state: &AppState, envelope: &Envelope) -> Outcome {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let key = format!("{}:pre:{}", envelope.msgid, &nonce[..8]);
    let (p, visit, lines) = purchase_visit(state, envelope, &key).await?;
    let request = settle_request(envelope, &p, &visit, &key)?;
    let mut client = routing(state, envelope, &visit.mdtrt_id);
    let computed = client.pre_settle(request).await;
    let cancel = pb::VisitRef {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: key.clone(),
        mdtrt_id: visit.mdtrt_id.clone(),
        end_date: String::new(),
    };
    // Nothing is left open, whatever the pre-settlement answered.
    client.cancel_visit(cancel).await?;
    let settlement =
        settlement_parts(computed?.into_inner(), &envelope.msgid, &visit.mdtrt_id, &[])?;
    output(&PurchaseOutput { settlement, detlcutinfo: lines })
}

/// 2102: the purchase settled, kept once per msgid.
pub(super) async fn settle(state: &AppState, envelope: &Envelope) -> Outcome {
    let (p, visit, lines) = purchase_visit(state, envelope, &envelope.msgid).await?;
    let request = settle_request(envelope, &p, &visit, &envelope.msgid)?;
    let settlement = routing(state, envelope, &visit.mdtrt_id).settle(request).await?.into_inner();
    let settlement = settlement_parts(settlement, &envelope.msgid, &visit.mdtrt_id, &[])?;
    output(&PurchaseOutput { settlement, detlcutinfo: lines })
}
