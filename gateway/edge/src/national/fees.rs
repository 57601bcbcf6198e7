//! 2204 / 2301 (uploading a visit's fee lines) and 2205 / 2302 (cancelling them).

use medclear_common::money::line_amount_fen;
use medclear_proto::routing::v1 as pb;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::envelope::{
    Envelope, Outcome, Refusal, Yuan, date_of, fen, list, node, output, price_fen, routing,
};
use crate::{json::text, state::AppState};

#[derive(Debug, Default, Deserialize)]
struct FeeDetail {
    #[serde(default, deserialize_with = "text")]
    feedetl_sn: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    fee_ocur_time: String,
    #[serde(default, deserialize_with = "text")]
    med_list_codg: String,
    #[serde(default, deserialize_with = "text")]
    medins_list_codg: String,
    #[serde(default, deserialize_with = "text")]
    det_item_fee_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    cnt: String,
    #[serde(default, deserialize_with = "text")]
    pric: String,
}

#[derive(Debug, Serialize)]
struct FeeResults {
    result: Vec<FeeResult>,
}

#[derive(Debug, Serialize)]
struct FeeResult {
    feedetl_sn: String,
    det_item_fee_sumamt: Yuan,
    cnt: String,
    pric: Yuan,
}

pub(super) async fn upload_fees(state: &AppState, envelope: &Envelope) -> Outcome {
    let details: Vec<FeeDetail> = list(envelope, "feedetail")?;
    let Some(first) = details.first() else {
        return Err(Refusal::new("invalid_input", "input.feedetail has no lines"));
    };
    let mdtrt_id = first.mdtrt_id.trim().to_owned();
    let mut lines = Vec::with_capacity(details.len());
    let mut results = Vec::with_capacity(details.len());
    for (i, d) in details.iter().enumerate() {
        let at = |field: &str| format!("feedetail[{i}].{field}");
        if d.mdtrt_id.trim() != mdtrt_id {
            return Err(Refusal::new(
                "invalid_input",
                format!("{}: every line of one upload belongs to one visit", at("mdtrt_id")),
            ));
        }
        let price_fen = price_fen(&at("pric"), &d.pric)?;
        let quantity = Decimal::from_str_exact(d.cnt.trim())
            .ok()
            .filter(|q| *q > Decimal::ZERO)
            .ok_or_else(|| {
                Refusal::new(
                    "invalid_quantity",
                    format!("{} {:?} is not above 0", at("cnt"), d.cnt),
                )
            })?;
        let amount = fen(&at("det_item_fee_sumamt"), &d.det_item_fee_sumamt)?;
        // The line amount must be the price times the quantity, to the fen (half away from 0).
        let expected = line_amount_fen(price_fen, quantity).map_err(|e| {
            Refusal::new("invalid_quantity", format!("{} × {}: {e}", at("pric"), at("cnt")))
        })?;
        if amount != expected {
            return Err(Refusal::new(
                "amount_mismatch",
                format!(
                    "{}: {} is not pric × cnt ({} × {})",
                    at("det_item_fee_sumamt"),
                    d.det_item_fee_sumamt,
                    d.pric,
                    d.cnt
                ),
            ));
        }
        lines.push(pb::FeeLine {
            feedetl_sn: d.feedetl_sn.trim().to_owned(),
            local_code: d.medins_list_codg.trim().to_owned(),
            national_code: d.med_list_codg.trim().to_owned(),
            price_fen,
            quantity: quantity.normalize().to_string(),
            fee_date: date_of(&at("fee_ocur_time"), &d.fee_ocur_time)?,
        });
        results.push(FeeResult {
            feedetl_sn: d.feedetl_sn.trim().to_owned(),
            det_item_fee_sumamt: Yuan(amount),
            cnt: quantity.normalize().to_string(),
            pric: Yuan(price_fen),
        });
    }
    let request = pb::UploadFeeLinesRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: mdtrt_id.clone(),
        lines,
    };
    routing(state, envelope, &mdtrt_id).upload_fee_lines(request).await?;
    output(&FeeResults { result: results })
}

#[derive(Debug, Default, Deserialize)]
struct FeeCancel {
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    chrg_bchno: String,
    #[serde(default, deserialize_with = "text")]
    feedetl_sn: String,
}

pub(super) async fn cancel_fees(state: &AppState, envelope: &Envelope) -> Outcome {
    let c: FeeCancel = node(envelope, "data")?;
    // "0000" (2205) or no line number (2302): every unsettled line of the visit.
    let named = match (c.chrg_bchno.trim(), c.feedetl_sn.trim()) {
        (_, sn) if !sn.is_empty() && sn != "0000" => vec![sn.to_owned()],
        ("0000" | "", _) => Vec::new(),
        (batch, _) => {
            return Err(Refusal::new(
                "unsupported_batch",
                format!(
                    "chrg_bchno {batch}: charge batches are not kept; cancel with \"0000\" (all \
                     unsettled lines) and upload again"
                ),
            ));
        }
    };
    let request = pb::CancelFeeLinesRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: c.mdtrt_id.trim().to_owned(),
        feedetl_sn: named,
    };
    routing(state, envelope, &c.mdtrt_id).cancel_fee_lines(request).await?;
    Ok(None)
}
