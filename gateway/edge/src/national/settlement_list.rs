//! 4101 (医疗保障基金结算清单信息上传): after a settlement, the hospital uploads its settlement
//! list — `setlinfo` (the stay, the person, the settlement) and the lists `payinfo`,
//! `opspdiseinfo`, `diseinfo`, `iteminfo`, `oprninfo`, `icuinfo`, `bldinfo` (each may be left
//! out or null). The list is kept as sent by the routing service, which checks it against the
//! settlement it names: the caller's own, standing, of the visit and the person the list
//! names (`settlement_not_found`, `settlement_cancelled`, `mismatch`). Read here: the ids, the
//! dates (each must be a date in one of the forms HIS clients send; discharge not before
//! admission) and the amounts of `setlinfo`, `payinfo` and `iteminfo` (yuan with at most two
//! decimals, not negative; `payinfo`'s `fund_payamt` required).
//!
//! The answer is the list's `setl_list_id` (清单流水号), at `output.data.setl_list_id` where
//! hsa-his reads it and at `output.setl_list_id` where openhis' `Output_4101` does. The same
//! msgid again answers the same list; a new msgid for the same settlement uploads it again as
//! its next version (the latest is current, the earlier ones are kept).

use medclear_common::codes;
use medclear_proto::routing::v1 as pb;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

use super::envelope::{
    Envelope, Outcome, Refusal, fen, list, node, optional_date, output, routing,
};
use crate::{json::text, state::AppState};

#[derive(Debug, Default, Deserialize)]
struct SetlInfo {
    #[serde(default, deserialize_with = "text")]
    setl_id: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(default, deserialize_with = "text")]
    adm_time: String,
    #[serde(default, deserialize_with = "text")]
    dscg_time: String,
    #[serde(default, deserialize_with = "text")]
    setl_begn_date: String,
    #[serde(default, deserialize_with = "text")]
    setl_end_date: String,
    #[serde(default, deserialize_with = "text")]
    dcla_time: String,
    #[serde(default, deserialize_with = "text")]
    brdy: String,
    #[serde(default, deserialize_with = "text")]
    psn_selfpay: String,
    #[serde(default, deserialize_with = "text")]
    psn_ownpay: String,
    #[serde(default, deserialize_with = "text")]
    acct_pay: String,
    #[serde(default, deserialize_with = "text")]
    psn_cashpay: String,
}

/// A row of `payinfo[]`: what one fund paid.
#[derive(Debug, Default, Deserialize)]
struct PayInfo {
    #[serde(default, deserialize_with = "text")]
    fund_pay_type: String,
    #[serde(default, deserialize_with = "text")]
    fund_payamt: String,
}

/// A row of `iteminfo[]`: the fees of one charge category.
#[derive(Debug, Default, Deserialize)]
struct ItemInfo {
    #[serde(default, deserialize_with = "text")]
    amt: String,
    #[serde(default, deserialize_with = "text")]
    claa_sumfee: String,
    #[serde(default, deserialize_with = "text")]
    clab_amt: String,
    #[serde(default, deserialize_with = "text")]
    fulamt_ownpay_amt: String,
    #[serde(default, deserialize_with = "text")]
    oth_amt: String,
}

/// A list node that may be left out or null: none.
fn optional_list<T: DeserializeOwned>(envelope: &Envelope, name: &str) -> Result<Vec<T>, Refusal> {
    match envelope.input.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => list(envelope, name),
    }
}

/// An amount that may be left out (empty), else in yuan with at most two decimals and not
/// negative; in fen.
fn optional_amount(field: &str, text: &str) -> Result<Option<i64>, Refusal> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let amount = fen(field, text)?;
    if amount < 0 {
        return Err(Refusal::new("invalid_amount", format!("{field} {text:?} is negative")));
    }
    Ok(Some(amount))
}

/// `payinfo`'s fund payments added up, in fen, each read exactly.
fn fund_payments(payinfo: &[PayInfo]) -> Result<i64, Refusal> {
    let mut total: i64 = 0;
    for (i, p) in payinfo.iter().enumerate() {
        let at = |field: &str| format!("payinfo[{i}].{field}");
        codes::required_text(&at("fund_pay_type"), &p.fund_pay_type, 6)?;
        let amount = optional_amount(&at("fund_payamt"), &p.fund_payamt)?
            .ok_or_else(|| Refusal::from(codes::missing(&at("fund_payamt"))))?;
        total = total.checked_add(amount).ok_or_else(|| {
            Refusal::new("invalid_amount", "payinfo's fund payments total more than fen can hold")
        })?;
    }
    Ok(total)
}

#[derive(Debug, Serialize)]
struct Listed {
    setl_list_id: String,
}

/// 4101's output: the list's id where either kind of client reads it.
#[derive(Debug, Serialize)]
struct ListOutput {
    setl_list_id: String,
    data: Listed,
}

/// 4101: the settlement list, kept by the routing service of the settlement.
pub(super) async fn upload_list(state: &AppState, envelope: &Envelope) -> Outcome {
    let s: SetlInfo = node(envelope, "setlinfo")?;
    let setl_id = codes::id("setlinfo.setl_id", &s.setl_id)?;
    let mdtrt_id = codes::id("setlinfo.mdtrt_id", &s.mdtrt_id)?;
    let psn_no = codes::psn_no("setlinfo.psn_no", &s.psn_no)?;
    let named = codes::optional_code("setlinfo.fixmedins_code", &s.fixmedins_code, 30)?;
    if !named.is_empty() && named != envelope.fixmedins_code {
        return Err(Refusal::new(
            "mismatch",
            format!(
                "setlinfo.fixmedins_code {named} is not the sender {}: a hospital uploads the lists \
                 of its own settlements",
                envelope.fixmedins_code
            ),
        ));
    }
    let adm_date = optional_date("setlinfo.adm_time", &s.adm_time)?;
    let dscg_date = optional_date("setlinfo.dscg_time", &s.dscg_time)?;
    for (field, value) in [
        ("setlinfo.setl_begn_date", &s.setl_begn_date),
        ("setlinfo.setl_end_date", &s.setl_end_date),
        ("setlinfo.dcla_time", &s.dcla_time),
        ("setlinfo.brdy", &s.brdy),
    ] {
        optional_date(field, value)?;
    }
    for (field, value) in [
        ("setlinfo.psn_selfpay", &s.psn_selfpay),
        ("setlinfo.psn_ownpay", &s.psn_ownpay),
        ("setlinfo.acct_pay", &s.acct_pay),
        ("setlinfo.psn_cashpay", &s.psn_cashpay),
    ] {
        optional_amount(field, value)?;
    }
    let fund_payamt_fen = fund_payments(&optional_list(envelope, "payinfo")?)?;
    let items: Vec<ItemInfo> = optional_list(envelope, "iteminfo")?;
    for (i, item) in items.iter().enumerate() {
        for (name, value) in [
            ("amt", &item.amt),
            ("claa_sumfee", &item.claa_sumfee),
            ("clab_amt", &item.clab_amt),
            ("fulamt_ownpay_amt", &item.fulamt_ownpay_amt),
            ("oth_amt", &item.oth_amt),
        ] {
            optional_amount(&format!("iteminfo[{i}].{name}"), value)?;
        }
    }
    for name in ["opspdiseinfo", "diseinfo", "oprninfo", "icuinfo", "bldinfo"] {
        optional_list::<Value>(envelope, name)?;
    }
    // The document as sent (its decimals as their text, as every amount is read).
    let document_json = serde_json::to_string(&envelope.input)
        .map_err(|e| Refusal::new("internal", format!("writing the list: {e}")))?;
    let request = pb::UploadSettlementListRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        setl_id: setl_id.to_owned(),
        mdtrt_id: mdtrt_id.to_owned(),
        psn_no: psn_no.to_string(),
        adm_date,
        dscg_date,
        fund_payamt_fen,
        document_json,
    };
    let list =
        routing(state, envelope, setl_id).upload_settlement_list(request).await?.into_inner();
    output(&ListOutput {
        setl_list_id: list.setl_list_id.clone(),
        data: Listed { setl_list_id: list.setl_list_id },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pay(kind: &str, amount: &str) -> PayInfo {
        PayInfo { fund_pay_type: kind.into(), fund_payamt: amount.into() }
    }

    #[test]
    fn fund_payments_are_read_exactly() {
        assert_eq!(fund_payments(&[]), Ok(0));
        assert_eq!(fund_payments(&[pay("310100", "1200.10"), pay("310200", "0.05")]), Ok(120_015));
        let reason = |rows: &[PayInfo]| fund_payments(rows).unwrap_err().reason;
        assert_eq!(reason(&[pay("310100", "12.345")]), "invalid_amount");
        assert_eq!(reason(&[pay("310100", "-1.00")]), "invalid_amount");
        assert_eq!(reason(&[pay("310100", "")]), "missing_field");
        assert_eq!(reason(&[pay("", "1.00")]), "missing_field");
    }

    #[test]
    fn amounts_may_be_left_out() {
        assert_eq!(optional_amount("x", " "), Ok(None));
        assert_eq!(optional_amount("x", "0.0"), Ok(Some(0)));
        assert_eq!(optional_amount("x", "1e2").unwrap_err().reason, "invalid_amount");
    }
}
