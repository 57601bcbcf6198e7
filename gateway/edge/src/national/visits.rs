//! 2201 / 2401 (registering an outpatient / inpatient visit), 2202 / 2404 (cancelling it),
//! 2402 (discharge) and 2203 / 2203A (the visit's medical type and diagnoses).

use medclear_proto::routing::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::envelope::{Envelope, Outcome, Refusal, date_of, list, node, output, routing};
use crate::{json::text, state::AppState};

#[derive(Debug, Default, Deserialize)]
struct Registration {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    begntime: String,
    #[serde(default, deserialize_with = "text")]
    ipt_otp_no: String,
    #[serde(default, deserialize_with = "text")]
    ipt_no: String,
    #[serde(default, deserialize_with = "text")]
    med_type: String,
    #[serde(default, deserialize_with = "text")]
    dise_codg: String,
    #[serde(default, deserialize_with = "text")]
    dscg_maindiag_code: String,
    #[serde(default, deserialize_with = "text")]
    adm_diag_dscr: String,
    #[serde(default)]
    exp_content: Value,
}

/// A national `med_type` code (`None` when empty).
fn med_type_of(text: &str) -> Result<Option<pb::MedType>, Refusal> {
    Ok(Some(match text.trim() {
        "" => return Ok(None),
        "11" | "12" => pb::MedType::GeneralOutpatient,
        "14" => pb::MedType::ChronicOutpatient,
        "21" => pb::MedType::Inpatient,
        "41" => pb::MedType::Pharmacy,
        other => {
            return Err(Refusal::new(
                "unknown_med_type",
                format!("med_type {other} is not 11, 12, 14, 21 or 41"),
            ));
        }
    }))
}

/// `exp_content.er_flag` (急诊, as HIS clients send it: an object, or a list of one).
fn emergency(exp: &Value) -> bool {
    let flag = exp.get("er_flag").or_else(|| exp.get(0).and_then(|e| e.get("er_flag")));
    matches!(flag.and_then(|f| f.as_str().map(str::to_owned).or_else(|| Some(f.to_string()))), Some(f) if f == "1" || f == "true")
}

/// An output whose only node is `data`. Outputs are written from typed structs, never through
/// `serde_json::Value`, which would turn an amount's exact text into a float.
#[derive(Debug, Serialize)]
struct DataOutput<T> {
    data: T,
}

#[derive(Debug, Serialize)]
struct Registered {
    mdtrt_id: String,
    psn_no: String,
    ipt_otp_no: String,
}

pub(super) async fn register(state: &AppState, envelope: &Envelope) -> Outcome {
    let inpatient = envelope.infno == "2401";
    let r: Registration = node(envelope, if inpatient { "mdtrtinfo" } else { "data" })?;
    let med_type = med_type_of(&r.med_type)?.unwrap_or(if inpatient {
        pb::MedType::Inpatient
    } else {
        pb::MedType::GeneralOutpatient
    });
    let diagnosis = if inpatient { &r.dscg_maindiag_code } else { &r.adm_diag_dscr };
    let request = pb::RegisterVisitRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        psn_no: r.psn_no.trim().to_owned(),
        med_type: med_type.into(),
        mdtrtarea_admvs: envelope.mdtrtarea_admvs.clone(),
        // The institution registry has it.
        hospital_level: String::new(),
        begin_date: date_of("begntime", &r.begntime)?,
        diagnosis_code: diagnosis.trim().to_owned(),
        emergency: emergency(&r.exp_content),
        disease_code: r.dise_codg.trim().to_owned(),
    };
    let visit = routing(state, envelope, "").register_visit(request).await?.into_inner();
    output(&DataOutput {
        data: Registered {
            mdtrt_id: visit.mdtrt_id,
            psn_no: visit.psn_no,
            ipt_otp_no: if inpatient { r.ipt_no } else { r.ipt_otp_no },
        },
    })
}

#[derive(Debug, Default, Deserialize)]
struct VisitNode {
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    endtime: String,
}

fn visit_ref(envelope: &Envelope, v: &VisitNode, end_date: String) -> pb::VisitRef {
    pb::VisitRef {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: v.mdtrt_id.trim().to_owned(),
        end_date,
    }
}

pub(super) async fn cancel_visit(state: &AppState, envelope: &Envelope) -> Outcome {
    let v: VisitNode = node(envelope, "data")?;
    routing(state, envelope, &v.mdtrt_id)
        .cancel_visit(visit_ref(envelope, &v, String::new()))
        .await?;
    Ok(None)
}

pub(super) async fn discharge(state: &AppState, envelope: &Envelope) -> Outcome {
    let v: VisitNode = node(envelope, "dscginfo")?;
    let end = date_of("endtime", &v.endtime)?;
    routing(state, envelope, &v.mdtrt_id).discharge_visit(visit_ref(envelope, &v, end)).await?;
    Ok(None)
}

#[derive(Debug, Default, Deserialize)]
struct VisitDetails {
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    med_type: String,
    #[serde(default, deserialize_with = "text")]
    dise_codg: String,
}

#[derive(Debug, Default, Deserialize)]
struct Diagnosis {
    #[serde(default, deserialize_with = "text")]
    diag_srt_no: String,
    #[serde(default, deserialize_with = "text")]
    diag_code: String,
}

/// 2203: the visit's medical type, disease (`dise_codg`) and main diagnosis (the `diseinfo`
/// row with `diag_srt_no` 1, else the first).
pub(super) async fn visit_details(state: &AppState, envelope: &Envelope) -> Outcome {
    let v: VisitDetails = node(envelope, "mdtrtinfo")?;
    let diagnoses: Vec<Diagnosis> = if envelope.input.get("diseinfo").is_some() {
        list(envelope, "diseinfo")?
    } else {
        Vec::new()
    };
    let main = diagnoses.iter().find(|d| d.diag_srt_no.trim() == "1").or(diagnoses.first());
    let request = pb::UpdateVisitRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: v.mdtrt_id.trim().to_owned(),
        med_type: med_type_of(&v.med_type)?.unwrap_or(pb::MedType::Unspecified).into(),
        diagnosis_code: main.map(|d| d.diag_code.trim().to_owned()).unwrap_or_default(),
        disease_code: v.dise_codg.trim().to_owned(),
    };
    routing(state, envelope, &v.mdtrt_id).update_visit(request).await?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emergency_flag_is_read_from_the_extension_as_his_clients_send_it() {
        assert!(emergency(&serde_json::json!({"er_flag": "1"})));
        assert!(emergency(&serde_json::json!([{"er_flag": 1}])));
        assert!(!emergency(&serde_json::json!({"er_flag": "0"})));
        assert!(!emergency(&Value::Null));
    }
}
