//! 2206 / 2303 (pre-settlement), 2207 / 2304 (settlement), 2208 / 2305 (cancelling a
//! settlement) and 2601 (reversing a transaction, 冲正).

use chrono::{DateTime, FixedOffset};
use medclear_common::clock::CHINA;
use medclear_proto::routing::v1 as pb;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::envelope::{
    Envelope, Number, Outcome, Refusal, Yuan, credential, fen, from_certno, node, output, routing,
};
use crate::{json::text, state::AppState};

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
    #[serde(default, deserialize_with = "text")]
    mdtrt_cert_type: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_cert_no: String,
}

impl SettleNode {
    /// The request's own fields `setlinfo` echoes.
    fn echoed(&self) -> Vec<(&'static str, &str)> {
        match self.mdtrt_cert_type.trim() {
            "" => Vec::new(),
            cert => vec![("mdtrt_cert_type", cert)],
        }
    }
}

/// A value of a national output field.
#[derive(Debug)]
enum Field {
    Text(String),
    Yuan(Yuan),
    /// A number written from its exact text (a ratio `0.9000`, an age).
    Number(Number),
    Null,
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(text) => serializer.serialize_str(text),
            Self::Yuan(yuan) => yuan.serialize(serializer),
            Self::Number(number) => number.serialize(serializer),
            Self::Null => serializer.serialize_none(),
        }
    }
}

/// A message of the routing service under its national names, written from the message itself
/// so no field list is kept here: each `<name>_fen` amount becomes `<name>` in yuan (times
/// `sign`), each text stays as it is; lists are left to the caller.
fn national<T: Serialize>(message: &T, sign: i64) -> Result<BTreeMap<String, Field>, Refusal> {
    let internal = |e: &dyn std::fmt::Display| Refusal::new("internal", e.to_string());
    let Value::Object(fields) = serde_json::to_value(message).map_err(|e| internal(&e))? else {
        return Err(internal(&"a message is not an object"));
    };
    let mut out = BTreeMap::new();
    for (name, value) in fields {
        match (name.strip_suffix("_fen"), value) {
            (Some(national), Value::Number(n)) => {
                let fen = n.as_i64().ok_or_else(|| internal(&format!("{name} {n}")))?;
                out.insert(national.to_owned(), Field::Yuan(Yuan(sign * fen)));
            }
            (None, Value::String(text)) => {
                out.insert(name, Field::Text(text));
            }
            (None, Value::Null) => {
                out.insert(name, Field::Null);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// What a settlement carries that the national `setlinfo` does not (or writes otherwise:
/// `balc` is the balance, never negated).
const NOT_NATIONAL: [&str; 5] =
    ["kind", "orig_setl_id", "policy_version", "coverage_basis", "balc"];

/// The funds the national `setlinfo` names that medclear does not have: always 0.00.
const NO_SUCH_FUND: [&str; 6] =
    ["cvlserv_pay", "hifes_pay", "hosp_part_amt", "oth_pay", "acct_mulaid_pay", "hifdm_pay"];

/// The national name of a fund type (基金支付类型名称), from the code tables 1901 serves.
pub(super) fn fund_name(code: &str) -> &'static str {
    crate::dictionaries::Dictionaries::shipped().label("fund_pay_type", code).unwrap_or_default()
}

#[derive(Debug, Serialize)]
pub(super) struct SettlementOutput {
    setlinfo: BTreeMap<String, Field>,
    setldetail: Vec<BTreeMap<String, Field>>,
}

/// The national `setlinfo` + `setldetail` of a settlement. A cancellation is answered as the
/// national platform does: its own new `setl_id`, every amount negative.
pub(super) fn settlement_output(s: pb::Settlement, msgid: &str, mdtrt_id: &str) -> Outcome {
    settlement_output_with(s, msgid, mdtrt_id, &[])
}

/// [`settlement_output`] with more `setlinfo` fields (5203's refund flag).
pub(super) fn settlement_output_with(
    s: pb::Settlement,
    msgid: &str,
    mdtrt_id: &str,
    more: &[(&str, &str)],
) -> Outcome {
    output(&settlement_parts(s, msgid, mdtrt_id, more)?)
}

/// `setlinfo` and `setldetail` of a settlement, to answer with more nodes (a pharmacy's
/// `detlcutinfo`).
pub(super) fn settlement_parts(
    s: pb::Settlement,
    msgid: &str,
    mdtrt_id: &str,
    more: &[(&str, &str)],
) -> Result<SettlementOutput, Refusal> {
    let settled = s.kind != "presettlement";
    let sign = if s.kind == "cancellation" { -1 } else { 1 };
    let setl_time = chrono::DateTime::parse_from_rfc3339(&s.setl_time)
        .map(|t: DateTime<FixedOffset>| {
            t.with_timezone(&CHINA).format("%Y-%m-%d %H:%M:%S").to_string()
        })
        .unwrap_or_else(|_| s.setl_time.clone());
    let mut setlinfo = national(&s, sign)?;
    for name in NOT_NATIONAL {
        setlinfo.remove(name);
    }
    let id = |text: String| if settled { Field::Text(text) } else { Field::Null };
    setlinfo.insert("setl_id".into(), id(s.setl_id.clone()));
    let day = chrono::DateTime::parse_from_rfc3339(&s.setl_time)
        .map(|t| t.with_timezone(&CHINA).date_naive())
        .ok();
    setlinfo.insert("setl_time".into(), id(setl_time));
    let mdtrt_id =
        if s.mdtrt_id.is_empty() { mdtrt_id.trim().to_owned() } else { s.mdtrt_id.clone() };
    setlinfo.insert("mdtrt_id".into(), Field::Text(mdtrt_id));
    setlinfo.insert("medins_setl_id".into(), Field::Text(msgid.to_owned()));
    // The person: from the registry (name, ID, insutype, category) and from the ID itself.
    let person = day.and_then(|day| from_certno(&s.certno, day));
    let (gend, brdy, age) = match person {
        Some((gend, brdy, age)) => (
            Field::Text(gend.into()),
            Field::Text(brdy.to_string()),
            Field::Number(Number(age.to_string())),
        ),
        None => (Field::Null, Field::Null, Field::Null),
    };
    setlinfo.insert("gend".into(), gend);
    setlinfo.insert("brdy".into(), brdy);
    setlinfo.insert("age".into(), age);
    setlinfo.insert("psn_cert_type".into(), Field::Text("01".into()));
    setlinfo.insert("naty".into(), Field::Null);
    setlinfo.insert("cvlserv_flag".into(), Field::Text("0".into()));
    setlinfo.insert("mdtrt_cert_type".into(), Field::Text("02".into()));
    setlinfo.insert("clr_way".into(), Field::Text("1".into()));
    setlinfo.insert("balc".into(), Field::Yuan(Yuan(s.balc_fen)));
    for name in NO_SUCH_FUND {
        setlinfo.insert(name.into(), Field::Yuan(Yuan(0)));
    }
    // 统筹基金支付比例: what the pooling fund paid of what it could pay for (in scope, above
    // the deductible), to four decimals.
    let base = s.inscp_scp_amt_fen - s.act_pay_dedc_fen;
    let ratio = if base == 0 {
        rust_decimal::Decimal::ZERO
    } else {
        medclear_common::money::round_ratio(
            rust_decimal::Decimal::from(s.hifp_pay_fen) / rust_decimal::Decimal::from(base),
        )
    };
    setlinfo.insert("pool_prop_selfpay".into(), Field::Number(Number(format!("{ratio:.4}"))));
    for (name, value) in more {
        setlinfo.insert((*name).into(), Field::Text((*value).to_owned()));
    }
    let process = format!("policy {}", s.policy_version);
    let setldetail = s
        .setldetail
        .iter()
        .map(|d| {
            let mut row = national(d, sign)?;
            row.insert(
                "fund_pay_type_name".into(),
                Field::Text(fund_name(&d.fund_pay_type).into()),
            );
            row.insert("inscp_scp_amt".into(), Field::Yuan(Yuan(sign * s.inscp_scp_amt_fen)));
            row.insert("setl_proc_info".into(), Field::Text(process.clone()));
            Ok(row)
        })
        .collect::<Result<Vec<_>, Refusal>>()?;
    Ok(SettlementOutput { setlinfo, setldetail })
}

/// 2206 / 2303: what the visit's settlement would be; nothing is kept.
pub(super) async fn presettle(state: &AppState, envelope: &Envelope) -> Outcome {
    let s: SettleNode = node(envelope, "data")?;
    let request = settle_request(envelope, &s)?;
    let settlement = routing(state, envelope, &s.mdtrt_id).pre_settle(request).await?.into_inner();
    settlement_output_with(settlement, &envelope.msgid, &s.mdtrt_id, &s.echoed())
}

/// 2207 / 2304: the visit's settlement, kept.
pub(super) async fn settle(state: &AppState, envelope: &Envelope) -> Outcome {
    let s: SettleNode = node(envelope, "data")?;
    let request = settle_request(envelope, &s)?;
    let settlement = routing(state, envelope, &s.mdtrt_id).settle(request).await?.into_inner();
    settlement_output_with(settlement, &envelope.msgid, &s.mdtrt_id, &s.echoed())
}

/// The routing request of a pre-settlement or a settlement: they ask the same.
fn settle_request(envelope: &Envelope, s: &SettleNode) -> Result<pb::SettleRequest, Refusal> {
    credential("data", &s.mdtrt_cert_type, &s.mdtrt_cert_no)?;
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
