//! 2204 / 2301 (uploading a visit's fee lines) and 2205 / 2302 (cancelling them).

use medclear_common::{codes, money::line_amount_fen};
use medclear_proto::routing::v1 as pb;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::envelope::{
    Envelope, Number, Outcome, Refusal, Yuan, date_of, fen, list, output, price_fen, routing,
};
use crate::{json::text, state::AppState};

#[derive(Debug, Default, Deserialize)]
struct FeeDetail {
    #[serde(default, deserialize_with = "text")]
    feedetl_sn: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    chrg_bchno: String,
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
    result: Vec<LineResult>,
}

/// A line as uploaded: its number, amount, quantity and price.
#[derive(Debug)]
struct FeeResult {
    feedetl_sn: String,
    det_item_fee_sumamt: Yuan,
    cnt: String,
    pric: Yuan,
}

/// A line of 2204's `result[]` (and a pharmacy's `detlcutinfo[]`): as uploaded, and as the
/// catalogue of the treating region classifies it — its parts as the settlement computes
/// them. What medclear does not know of a line (national flags of the drug list) is null;
/// a line the catalogue refused has its reason in `memo` and all of it out of scope until it
/// is mapped.
#[derive(Debug, Serialize)]
pub(super) struct LineResult {
    feedetl_sn: String,
    det_item_fee_sumamt: Yuan,
    cnt: Number,
    pric: Yuan,
    pric_uplmt_amt: Option<Yuan>,
    selfpay_prop: Option<Number>,
    fulamt_ownpay_amt: Yuan,
    overlmt_amt: Yuan,
    preselfpay_amt: Yuan,
    inscp_scp_amt: Yuan,
    chrgitm_lv: Option<String>,
    med_chrgitm_type: Option<&'static str>,
    bas_medn_flag: Option<String>,
    hi_nego_drug_flag: Option<String>,
    chld_medc_flag: Option<String>,
    list_sp_item_flag: Option<String>,
    lmt_used_flag: Option<String>,
    drt_reim_flag: Option<String>,
    memo: Option<String>,
}

/// The national 医疗收费项目类别 of a catalogue item's kind: 09 西药费, 11 中成药费, 10 中药
/// 饮片费, 08 卫生材料费, 14 其他费 (a service item's own category is not in the catalogue);
/// 2204 and 5205 answer it.
pub(super) fn charge_type(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "western_drug" => "09",
        "patent_drug" => "11",
        "herbal" => "10",
        "consumable" => "08",
        "service" => "14",
        _ => return None,
    })
}

/// The lines as uploaded, with the routing service's classification of each.
fn line_results(
    uploaded: Vec<FeeResult>,
    classified: &[pb::LineClassification],
) -> Vec<LineResult> {
    uploaded
        .into_iter()
        .map(|line| {
            let c = classified.iter().find(|c| c.feedetl_sn == line.feedetl_sn);
            let fen = |f: fn(&pb::LineClassification) -> i64| Yuan(c.map_or(0, f));
            let resolved = c.filter(|c| c.refusal.is_empty());
            LineResult {
                pric_uplmt_amt: resolved.and_then(|c| c.pric_uplmt_amt_fen).map(Yuan),
                selfpay_prop: resolved.map(|c| Number(c.selfpay_prop.clone())),
                fulamt_ownpay_amt: fen(|c| c.fulamt_ownpay_amt_fen),
                overlmt_amt: fen(|c| c.overlmt_amt_fen),
                preselfpay_amt: fen(|c| c.preselfpay_amt_fen),
                inscp_scp_amt: fen(|c| c.inscp_scp_amt_fen),
                chrgitm_lv: resolved.map(|c| c.chrgitm_lv.clone()),
                med_chrgitm_type: resolved.and_then(|c| charge_type(&c.med_chrgitm_type)),
                bas_medn_flag: None,
                hi_nego_drug_flag: None,
                chld_medc_flag: None,
                list_sp_item_flag: None,
                lmt_used_flag: None,
                drt_reim_flag: None,
                memo: c.map(|c| c.refusal.clone()).filter(|r| !r.is_empty()),
                feedetl_sn: line.feedetl_sn,
                det_item_fee_sumamt: line.det_item_fee_sumamt,
                cnt: Number(line.cnt),
                pric: line.pric,
            }
        })
        .collect()
}

/// A fee line's quantity bound, N(16,4): below 10¹² (and at most four decimals).
const MAX_QUANTITY: i64 = 1_000_000_000_000;

/// `cnt`: above 0, below 10¹², at most four decimals.
fn quantity(field: &str, text: &str) -> Result<Decimal, Refusal> {
    let bad = |why: &str| Refusal::new("invalid_quantity", format!("{field} {text:?} {why}"));
    let quantity = Decimal::from_str_exact(text.trim()).map_err(|_| bad("is not a number"))?;
    if quantity <= Decimal::ZERO {
        return Err(bad("is not above 0"));
    }
    if quantity >= Decimal::from(MAX_QUANTITY) {
        return Err(bad("is too large: a quantity is below 1000000000000"));
    }
    if quantity.normalize().scale() > 4 {
        return Err(bad("has more than 4 decimals"));
    }
    Ok(quantity)
}

/// The upload an envelope carries, checked line by line before anything is sent: the visit,
/// the lines for the routing service, and the answer's rows.
fn read_upload(envelope: &Envelope) -> Result<(String, Vec<pb::FeeLine>, Vec<FeeResult>), Refusal> {
    let details: Vec<FeeDetail> = list(envelope, "feedetail")?;
    let Some(first) = details.first() else {
        return Err(Refusal::new("invalid_input", "input.feedetail has no lines"));
    };
    let mdtrt_id = codes::id("feedetail[0].mdtrt_id", &first.mdtrt_id)?.to_owned();
    for (i, d) in details.iter().enumerate() {
        if d.mdtrt_id.trim() != mdtrt_id {
            return Err(Refusal::new(
                "invalid_input",
                format!("feedetail[{i}].mdtrt_id: every line of one upload belongs to one visit"),
            ));
        }
    }
    let (lines, results) = read_lines("feedetail", &details)?;
    Ok((mdtrt_id, lines, results))
}

/// Fee lines (`feedetail[]`, or a pharmacy's `drugdetail[]`), each checked: its ids and codes,
/// its price, quantity and amount (which must be the price times the quantity, to the fen).
fn read_lines(
    node: &str,
    details: &[FeeDetail],
) -> Result<(Vec<pb::FeeLine>, Vec<FeeResult>), Refusal> {
    let mut lines = Vec::with_capacity(details.len());
    let mut results = Vec::with_capacity(details.len());
    for (i, d) in details.iter().enumerate() {
        let at = |field: &str| format!("{node}[{i}].{field}");
        let feedetl_sn = codes::id(&at("feedetl_sn"), &d.feedetl_sn)?.to_owned();
        if !d.psn_no.trim().is_empty() {
            codes::psn_no(&at("psn_no"), &d.psn_no)?;
        }
        codes::optional_code(&at("chrg_bchno"), &d.chrg_bchno, codes::ID_LEN)?;
        let national_code = codes::optional_code(&at("med_list_codg"), &d.med_list_codg, 50)?;
        let local_code = codes::code(&at("medins_list_codg"), &d.medins_list_codg, 150)?;
        let price_fen = price_fen(&at("pric"), &d.pric)?;
        let quantity = quantity(&at("cnt"), &d.cnt)?;
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
            chrg_bchno: d.chrg_bchno.trim().to_owned(),
            feedetl_sn: feedetl_sn.clone(),
            local_code: local_code.to_owned(),
            national_code: national_code.to_owned(),
            price_fen,
            quantity: quantity.normalize().to_string(),
            fee_date: date_of(&at("fee_ocur_time"), &d.fee_ocur_time)?,
        });
        results.push(FeeResult {
            feedetl_sn,
            det_item_fee_sumamt: Yuan(amount),
            cnt: quantity.normalize().to_string(),
            pric: Yuan(price_fen),
        });
    }
    Ok((lines, results))
}

/// A pharmacy's `drugdetail[]` (2101 / 2102), read as fee lines are: the lines for the
/// routing service, and what 2101/2102 answer of each (`detlcutinfo[]`, [`Drugs::results`]).
pub(super) struct Drugs {
    pub(super) lines: Vec<pb::FeeLine>,
    uploaded: Vec<FeeResult>,
}

impl Drugs {
    /// The lines as uploaded with the routing service's classification of each.
    pub(super) fn results(self, classified: &[pb::LineClassification]) -> Vec<LineResult> {
        line_results(self.uploaded, classified)
    }
}

/// The drugs of a purchase that has no visit yet; the time of a line without
/// `fee_ocur_time` is `default_time`.
pub(super) fn drug_lines(envelope: &Envelope, default_time: &str) -> Result<Drugs, Refusal> {
    let mut details: Vec<FeeDetail> = list(envelope, "drugdetail")?;
    if details.is_empty() {
        return Err(Refusal::new("invalid_input", "input.drugdetail has no lines"));
    }
    for d in &mut details {
        if d.fee_ocur_time.trim().is_empty() {
            d.fee_ocur_time = default_time.to_owned();
        }
    }
    let (lines, uploaded) = read_lines("drugdetail", &details)?;
    Ok(Drugs { lines, uploaded })
}

pub(super) async fn upload_fees(state: &AppState, envelope: &Envelope) -> Outcome {
    let (mdtrt_id, lines, results) = read_upload(envelope)?;
    let request = pb::UploadFeeLinesRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: mdtrt_id.clone(),
        lines,
    };
    let uploaded =
        routing(state, envelope, &mdtrt_id).upload_fee_lines(request).await?.into_inner();
    output(&FeeResults { result: line_results(results, &uploaded.classified) })
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

/// 2205 / 2302: fee lines cancelled — named by `feedetl_sn`, or those of a charge batch
/// (`chrg_bchno`, as uploaded), or all unsettled lines of the visit (`chrg_bchno` "0000", or
/// nothing named). `data` may be a list of lines of one visit (seen for 2302).
pub(super) async fn cancel_fees(state: &AppState, envelope: &Envelope) -> Outcome {
    let nodes: Vec<FeeCancel> = list(envelope, "data")?;
    let Some(first) = nodes.first() else {
        return Err(Refusal::new("invalid_input", "input.data names no visit"));
    };
    let mdtrt_id = codes::id("data.mdtrt_id", &first.mdtrt_id)?.to_owned();
    let mut named = Vec::new();
    let mut batch = String::new();
    for (i, c) in nodes.iter().enumerate() {
        if c.mdtrt_id.trim() != mdtrt_id {
            return Err(Refusal::new(
                "invalid_input",
                format!("data[{i}].mdtrt_id: the lines cancelled belong to one visit"),
            ));
        }
        codes::optional_code("data.chrg_bchno", &c.chrg_bchno, codes::ID_LEN)?;
        codes::optional_code("data.feedetl_sn", &c.feedetl_sn, codes::ID_LEN)?;
        // "0000" (2205) or no line number (2302): every unsettled line of the visit.
        match (c.chrg_bchno.trim(), c.feedetl_sn.trim()) {
            (_, sn) if !sn.is_empty() && sn != "0000" => named.push(sn.to_owned()),
            ("0000" | "", _) => {
                named.clear();
                batch.clear();
                break;
            }
            (one, _) => one.clone_into(&mut batch),
        }
    }
    let request = pb::CancelFeeLinesRequest {
        chrg_bchno: if named.is_empty() { batch } else { String::new() },
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: mdtrt_id.clone(),
        feedetl_sn: named,
    };
    routing(state, envelope, &mdtrt_id).cancel_fee_lines(request).await?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::national::read_envelope;
    use serde_json::json;

    fn upload(line: Value) -> Result<(String, Vec<pb::FeeLine>, Vec<FeeResult>), Refusal> {
        let body = json!({"infno": "2204", "msgid": "H44030000001202603020900000001",
            "fixmedins_code": "H44030000001", "mdtrtarea_admvs": "440300",
            "input": {"feedetail": [line]}});
        let envelope = read_envelope(body.to_string().as_bytes())?;
        read_upload(&envelope)
    }

    fn line(pric: &str, cnt: &str, sum: &str) -> Value {
        json!({"feedetl_sn": "1", "mdtrt_id": "V44A", "psn_no": "P420200001",
            "fee_ocur_time": "2026-03-02 09:10:00", "medins_list_codg": "L001",
            "pric": pric, "cnt": cnt, "det_item_fee_sumamt": sum})
    }

    use serde_json::Value;

    #[test]
    fn overflowing_quantities_and_prices_are_refused_not_a_panic() {
        let reason =
            |pric: &str, cnt: &str, sum: &str| upload(line(pric, cnt, sum)).unwrap_err().reason;
        // Issue 16: pric 10.00 × cnt 99999999999999999999999999.99.
        assert_eq!(reason("10.00", "99999999999999999999999999.99", "1"), "invalid_quantity");
        assert_eq!(reason("99999999999999999999999999.99", "1", "1"), "invalid_amount");
        assert_eq!(reason("9999999999.99", "999999999999.9999", "1"), "invalid_quantity");
        assert_eq!(reason("10.00", "1000000000000", "1"), "invalid_quantity");
        assert_eq!(reason("10.00", "0.00001", "0"), "invalid_quantity");
        assert_eq!(reason("10.00", "-1", "-10"), "invalid_quantity");
        let (_, lines, _) = upload(line("10.00", "2.5", "25.00")).unwrap();
        assert_eq!((lines[0].price_fen, lines[0].quantity.as_str()), (1000, "2.5"));
    }

    #[test]
    fn ids_and_codes_of_a_line_keep_their_national_patterns() {
        let with = |field: &str, value: Value| {
            let mut l = line("1", "1", "1");
            l[field] = value;
            upload(l).unwrap_err().reason
        };
        assert_eq!(with("feedetl_sn", json!("x".repeat(31))), "too_long");
        assert_eq!(with("feedetl_sn", json!("1 2")), "invalid_code");
        assert_eq!(with("feedetl_sn", json!("")), "missing_field");
        assert_eq!(with("psn_no", json!("x")), "invalid_code");
        assert_eq!(with("mdtrt_id", json!("V44A/../x y")), "invalid_code");
        assert_eq!(with("medins_list_codg", json!("L 1")), "invalid_code");
    }
}
