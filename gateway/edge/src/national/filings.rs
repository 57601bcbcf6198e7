//! 2501 / 2502 (filing and revoking a referral) and 2503 / 2504 (filing and revoking a chronic
//! or special disease declaration), filed by the hospital for the insured person.

use medclear_common::codes;
use serde::{Deserialize, Serialize};

use super::envelope::{Envelope, Outcome, date_of, node, optional_date, output};
use crate::{json::text, state::AppState};

#[derive(Debug, Default, Deserialize)]
struct Referral {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    mdtrtarea_admdvs: String,
    #[serde(default, deserialize_with = "text")]
    refl_date: String,
    #[serde(default, deserialize_with = "text")]
    begndate: String,
    #[serde(default, deserialize_with = "text")]
    enddate: String,
    #[serde(default, deserialize_with = "text")]
    refl_rea: String,
    #[serde(default, deserialize_with = "text")]
    reflin_medins_name: String,
    #[serde(default, deserialize_with = "text")]
    diag_code: String,
}

#[derive(Debug, Default, Deserialize)]
struct ChronicDeclaration {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    opsp_dise_code: String,
    #[serde(default, deserialize_with = "text")]
    insu_optins: String,
    #[serde(default, deserialize_with = "text")]
    ide_fixmedins_no: String,
    #[serde(default, deserialize_with = "text")]
    begndate: String,
    #[serde(default, deserialize_with = "text")]
    enddate: String,
}

#[derive(Debug, Default, Deserialize)]
struct Declared {
    #[serde(default, deserialize_with = "text")]
    trt_dcla_detl_sn: String,
    #[serde(default, deserialize_with = "text")]
    memo: String,
}

#[derive(Debug, Serialize)]
struct DeclarationOutput {
    result: DeclarationSerial,
}

#[derive(Debug, Serialize)]
struct DeclarationSerial {
    trt_dcla_detl_sn: String,
}

/// Filed by the hospital (定点医疗机构代办), under its code.
fn hospital_actor(envelope: &Envelope) -> medclear_proto::filing::v1::Actor {
    medclear_proto::filing::v1::Actor {
        id: envelope.fixmedins_code.clone(),
        channel: medclear_proto::filing::v1::Channel::Hospital.into(),
    }
}

/// 2501: a referral filed.
pub(super) async fn file_referral(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::filing::v1 as fpb;
    let r: Referral = node(envelope, "refmedin")?;
    let psn_no = codes::psn_no("refmedin.psn_no", &r.psn_no)?;
    let area = codes::admdvs("refmedin.mdtrtarea_admdvs", &r.mdtrtarea_admdvs)?;
    let reason = codes::text("refmedin.refl_rea", &r.refl_rea, 500)?;
    let to = codes::text("refmedin.reflin_medins_name", &r.reflin_medins_name, 200)?;
    codes::diagnosis_code("refmedin.diag_code", &r.diag_code, 20)?;
    let begin = if r.begndate.trim().is_empty() { &r.refl_date } else { &r.begndate };
    let request = fpb::CreateFilingRequest {
        request_id: envelope.msgid.clone(),
        psn_no: psn_no.to_string(),
        psn_name: String::new(),
        insuplc_admdvs: envelope.insuplc_admdvs.trim().to_owned(),
        mdtrtarea_admvs: area.to_string(),
        category: fpb::Category::Referral.into(),
        begin_date: date_of("refl_date", begin)?,
        end_date: optional_date("enddate", &r.enddate)?,
        actor: Some(hospital_actor(envelope)),
        memo: format!("{reason} → {to}"),
    };
    let filing = state.filing().create_filing(request).await?.into_inner();
    output(&DeclarationOutput { result: DeclarationSerial { trt_dcla_detl_sn: filing.filing_id } })
}

/// 2503: a chronic or special disease declaration filed.
pub(super) async fn file_chronic(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::filing::v1 as fpb;
    let c: ChronicDeclaration = node(envelope, "data")?;
    let home =
        if c.insu_optins.trim().is_empty() { &envelope.insuplc_admdvs } else { &c.insu_optins };
    let request = fpb::CreateChronicFilingRequest {
        request_id: envelope.msgid.clone(),
        psn_no: codes::psn_no("data.psn_no", &c.psn_no)?.to_string(),
        insuplc_admdvs: codes::admdvs("data.insu_optins", home)?.to_string(),
        disease_code: match codes::diagnosis_code("data.opsp_dise_code", &c.opsp_dise_code, 30)? {
            "" => return Err(codes::missing("data.opsp_dise_code").into()),
            code => code.to_owned(),
        },
        diagnosed_by: codes::fixmedins_code("data.ide_fixmedins_no", &c.ide_fixmedins_no)?
            .to_string(),
        begin_date: date_of("begndate", &c.begndate)?,
        end_date: optional_date("enddate", &c.enddate)?,
        actor: Some(hospital_actor(envelope)),
    };
    let filing = state.filing().create_chronic_filing(request).await?.into_inner();
    output(&DeclarationOutput { result: DeclarationSerial { trt_dcla_detl_sn: filing.filing_id } })
}

/// 2502 / 2504: a referral / a chronic disease declaration revoked.
pub(super) async fn revoke_filing(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::filing::v1 as fpb;
    let d: Declared = node(envelope, "data")?;
    let memo = codes::text("data.memo", &d.memo, 500)?;
    let reason = if memo.is_empty() { "revoked by the hospital" } else { memo };
    let filing_id = codes::id("data.trt_dcla_detl_sn", &d.trt_dcla_detl_sn)?.to_owned();
    let actor = Some(hospital_actor(envelope));
    if envelope.infno == "2504" {
        let request =
            fpb::RevokeChronicFilingRequest { filing_id, reason: reason.to_owned(), actor };
        state.filing().revoke_chronic_filing(request).await?;
    } else {
        let request = fpb::RevokeFilingRequest { filing_id, reason: reason.to_owned(), actor };
        state.filing().revoke_filing(request).await?;
    }
    Ok(None)
}
