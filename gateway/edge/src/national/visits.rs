//! 2201 / 2401 (registering an outpatient / inpatient visit), 2202 / 2404 (cancelling it),
//! 2402 (discharge), 2405 (cancelling the discharge), 2203 / 2203A (the visit's medical type
//! and diagnoses) and 2403 (an admission's details changed).

use medclear_common::codes;
use medclear_proto::routing::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::envelope::{
    Envelope, Outcome, Refusal, credential, date_of, list, node, optional_date, output, routing,
};
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
    #[serde(default, deserialize_with = "text")]
    mdtrt_cert_type: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_cert_no: String,
    #[serde(default)]
    exp_content: Value,
}

/// A `med_type` as the hospital sent it — national, or its province's platform's code —
/// as the kind of care it means ([`crate::med_types`]); `None` when empty.
fn med_type_of(
    state: &AppState,
    envelope: &Envelope,
    field: &str,
    text: &str,
) -> Result<Option<pb::MedType>, Refusal> {
    Ok(state.med_types().lookup(field, &envelope.mdtrtarea_admvs, text)?)
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

/// 2401's output: `result` (mdtrt_id, psn_no, ipt_no), where HIS clients read the admission.
#[derive(Debug, Serialize)]
struct Admitted {
    result: AdmittedVisit,
}

#[derive(Debug, Serialize)]
struct AdmittedVisit {
    mdtrt_id: String,
    psn_no: String,
    ipt_no: String,
}

pub(super) async fn register(state: &AppState, envelope: &Envelope) -> Outcome {
    let inpatient = envelope.infno == "2401";
    let name = if inpatient { "mdtrtinfo" } else { "data" };
    let r: Registration = node(envelope, name)?;
    let at = |field: &str| format!("{name}.{field}");
    let psn_no = codes::psn_no(&at("psn_no"), &r.psn_no)?;
    let (his_no, his_field) =
        if inpatient { (&r.ipt_no, "ipt_no") } else { (&r.ipt_otp_no, "ipt_otp_no") };
    let his_no = codes::optional_code(&at(his_field), his_no, codes::ID_LEN)?.to_owned();
    credential(name, &r.mdtrt_cert_type, &r.mdtrt_cert_no)?;
    let disease_code = codes::diagnosis_code(&at("dise_codg"), &r.dise_codg, 30)?;
    let diagnosis = if inpatient {
        codes::diagnosis_code(&at("dscg_maindiag_code"), &r.dscg_maindiag_code, 20)?
    } else {
        codes::text(&at("adm_diag_dscr"), &r.adm_diag_dscr, 200)?
    };
    let med_type = med_type_of(state, envelope, &at("med_type"), &r.med_type)?
        .unwrap_or(if inpatient { pb::MedType::Inpatient } else { pb::MedType::GeneralOutpatient });
    let request = pb::RegisterVisitRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        psn_no: psn_no.to_string(),
        med_type: med_type.into(),
        mdtrtarea_admvs: envelope.mdtrtarea_admvs.clone(),
        // The institution registry has it.
        hospital_level: String::new(),
        begin_date: date_of("begntime", &r.begntime)?,
        diagnosis_code: diagnosis.to_owned(),
        emergency: emergency(&r.exp_content),
        disease_code: disease_code.to_owned(),
    };
    let visit = routing(state, envelope, "").register_visit(request).await?.into_inner();
    if inpatient {
        return output(&Admitted {
            result: AdmittedVisit {
                mdtrt_id: visit.mdtrt_id,
                psn_no: visit.psn_no,
                ipt_no: his_no,
            },
        });
    }
    output(&DataOutput {
        data: Registered { mdtrt_id: visit.mdtrt_id, psn_no: visit.psn_no, ipt_otp_no: his_no },
    })
}

#[derive(Debug, Default, Deserialize)]
struct VisitNode {
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    endtime: String,
}

fn visit_ref(envelope: &Envelope, mdtrt_id: &str, end_date: String) -> pb::VisitRef {
    pb::VisitRef {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: mdtrt_id.to_owned(),
        end_date,
    }
}

pub(super) async fn cancel_visit(state: &AppState, envelope: &Envelope) -> Outcome {
    let v: VisitNode = node(envelope, "data")?;
    let mdtrt_id = codes::id("data.mdtrt_id", &v.mdtrt_id)?;
    routing(state, envelope, mdtrt_id)
        .cancel_visit(visit_ref(envelope, mdtrt_id, String::new()))
        .await?;
    Ok(None)
}

pub(super) async fn discharge(state: &AppState, envelope: &Envelope) -> Outcome {
    let v: VisitNode = node(envelope, "dscginfo")?;
    let mdtrt_id = codes::id("dscginfo.mdtrt_id", &v.mdtrt_id)?;
    let end = date_of("endtime", &v.endtime)?;
    routing(state, envelope, mdtrt_id).discharge_visit(visit_ref(envelope, mdtrt_id, end)).await?;
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
    #[serde(default, deserialize_with = "text")]
    maindiag_flag: String,
}

/// The `diseinfo[]` an envelope carries (none: empty).
fn diagnoses(envelope: &Envelope) -> Result<Vec<Diagnosis>, Refusal> {
    if envelope.input.get("diseinfo").is_some() {
        list(envelope, "diseinfo")
    } else {
        Ok(Vec::new())
    }
}

/// 2203: the visit's medical type, disease (`dise_codg`) and main diagnosis (the `diseinfo`
/// row with `diag_srt_no` 1, else the first).
pub(super) async fn visit_details(state: &AppState, envelope: &Envelope) -> Outcome {
    let v: VisitDetails = node(envelope, "mdtrtinfo")?;
    let diagnoses = diagnoses(envelope)?;
    let main = diagnoses.iter().find(|d| d.diag_srt_no.trim() == "1").or(diagnoses.first());
    let mdtrt_id = codes::id("mdtrtinfo.mdtrt_id", &v.mdtrt_id)?;
    let diagnosis_code = match main {
        Some(d) => codes::diagnosis_code("diseinfo.diag_code", &d.diag_code, 20)?,
        None => "",
    };
    let request = pb::UpdateVisitRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: mdtrt_id.to_owned(),
        med_type: med_type_of(state, envelope, "mdtrtinfo.med_type", &v.med_type)?
            .unwrap_or(pb::MedType::Unspecified)
            .into(),
        diagnosis_code: diagnosis_code.to_owned(),
        disease_code: codes::optional_code("mdtrtinfo.dise_codg", &v.dise_codg, 30)?.to_owned(),
        begin_date: String::new(),
    };
    routing(state, envelope, mdtrt_id).update_visit(request).await?;
    Ok(None)
}

#[derive(Debug, Default, Deserialize)]
struct AdmissionChange {
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    begntime: String,
    #[serde(default, deserialize_with = "text")]
    med_type: String,
    #[serde(default, deserialize_with = "text")]
    dscg_maindiag_code: String,
    #[serde(default, deserialize_with = "text")]
    dise_codg: String,
}

/// 2403: an admission's details changed — its medical type, main diagnosis
/// (`dscg_maindiag_code`, else the `diseinfo` row flagged `maindiag_flag` 1, else the one with
/// `diag_srt_no` 1, else the first), disease (`dise_codg`) and admission date (`begntime`; not
/// after the discharge or a fee line). What is left out stays as it is. The node is `adminfo`
/// (also read as `mdtrtinfo`, as some clients send it).
pub(super) async fn admission_change(state: &AppState, envelope: &Envelope) -> Outcome {
    let name = if envelope.input.get("adminfo").is_some() { "adminfo" } else { "mdtrtinfo" };
    let a: AdmissionChange = node(envelope, name)?;
    let at = |field: &str| format!("{name}.{field}");
    let mdtrt_id = codes::id(&at("mdtrt_id"), &a.mdtrt_id)?;
    if !a.psn_no.trim().is_empty() {
        codes::psn_no(&at("psn_no"), &a.psn_no)?;
    }
    let diagnoses = diagnoses(envelope)?;
    let main = diagnoses
        .iter()
        .find(|d| d.maindiag_flag.trim() == "1")
        .or_else(|| diagnoses.iter().find(|d| d.diag_srt_no.trim() == "1"))
        .or(diagnoses.first());
    let diagnosis_code = match (a.dscg_maindiag_code.trim(), main) {
        ("", Some(d)) => codes::diagnosis_code("diseinfo.diag_code", &d.diag_code, 20)?,
        (code, _) => codes::diagnosis_code(&at("dscg_maindiag_code"), code, 20)?,
    };
    let request = pb::UpdateVisitRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        mdtrt_id: mdtrt_id.to_owned(),
        med_type: med_type_of(state, envelope, &at("med_type"), &a.med_type)?
            .unwrap_or(pb::MedType::Unspecified)
            .into(),
        diagnosis_code: diagnosis_code.to_owned(),
        disease_code: codes::diagnosis_code(&at("dise_codg"), &a.dise_codg, 30)?.to_owned(),
        begin_date: optional_date(&at("begntime"), &a.begntime)?,
    };
    routing(state, envelope, mdtrt_id).update_visit(request).await?;
    Ok(None)
}

/// 2405: a discharge cancelled — the admission is open again, to be discharged anew (2402). A
/// settled admission is refused (`already_settled`: cancel the settlement first, 2305).
pub(super) async fn cancel_discharge(state: &AppState, envelope: &Envelope) -> Outcome {
    let v: VisitNode = node(envelope, "data")?;
    let mdtrt_id = codes::id("data.mdtrt_id", &v.mdtrt_id)?;
    routing(state, envelope, mdtrt_id)
        .cancel_discharge(visit_ref(envelope, mdtrt_id, String::new()))
        .await?;
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
