//! 2501 / 2502 (filing and revoking a referral) and 2503 / 2504 (filing and revoking a chronic
//! or special disease declaration), filed by the hospital for the insured person; 2505 / 2506
//! (filing and revoking a person's designated institution, 人员定点) and 5302 (the person's
//! designations in force); 2001 (may the person be settled here: the filing service's
//! coverage) and 5301 (the person's chronic disease declarations).

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
    /// 2501A (转院备案, a transfer): the visit before the transfer, at the hospital the patient
    /// leaves (usually in the home province, so not one of medclear's).
    #[serde(default, deserialize_with = "text")]
    refl_old_mdtrt_id: String,
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

/// 2501 (and 2501A, a transfer naming the visit before it): a referral filed.
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
        memo: match codes::optional_code("refmedin.refl_old_mdtrt_id", &r.refl_old_mdtrt_id, 30)? {
            "" => format!("{reason} → {to}"),
            before => format!("{reason} → {to} (转院前就诊 {before})"),
        },
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

#[derive(Debug, Default, Deserialize)]
struct PersonNode {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
}

#[derive(Debug, Serialize)]
struct ChronicFilings {
    feedetail: Vec<ChronicFiled>,
}

#[derive(Debug, Serialize)]
struct ChronicFiled {
    opsp_dise_code: String,
    opsp_dise_name: String,
    begndate: String,
    enddate: Option<String>,
}

/// 5301 (人员慢特病备案查询): the person's chronic or special disease declarations in force.
pub(super) async fn chronic_filings(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::filing::v1 as fpb;
    let p: PersonNode = node(envelope, "data")?;
    let request = fpb::ListChronicFilingsRequest {
        psn_no: codes::psn_no("data.psn_no", &p.psn_no)?.to_string(),
        include_revoked: false,
    };
    let filings = state.filing().list_chronic_filings(request).await?.into_inner().filings;
    output(&ChronicFilings {
        feedetail: filings
            .into_iter()
            .map(|f| ChronicFiled {
                opsp_dise_code: f.disease_code,
                opsp_dise_name: f.disease_name,
                begndate: f.begin_date,
                enddate: Some(f.end_date).filter(|d| !d.is_empty()),
            })
            .collect(),
    })
}

#[derive(Debug, Default, Deserialize)]
struct BenefitCheck {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    insutype: String,
    #[serde(default, deserialize_with = "text")]
    med_type: String,
    #[serde(default, deserialize_with = "text")]
    begntime: String,
    #[serde(default, deserialize_with = "text")]
    dise_codg: String,
}

#[derive(Debug, Serialize)]
struct BenefitOutput {
    trtinfo: Vec<BenefitRow>,
}

#[derive(Debug, Serialize)]
struct BenefitRow {
    psn_no: String,
    trt_chk_type: &'static str,
    fund_pay_type: &'static str,
    trt_enjymnt_flag: &'static str,
    begndate: String,
    enddate: Option<String>,
    trt_chk_rslt: String,
}

/// 2001 (人员待遇享受检查): whether the person may be settled here on that day — covered by a
/// filing (or an emergency, or the same province) for treatment in the hospital's region, and
/// for a chronic-disease visit declared for that disease — as one `trtinfo` row per check, on
/// the pooling fund of the person's insutype: `trt_enjymnt_flag` 1 or 0, and why not in
/// `trt_chk_rslt`. `trt_chk_type`: 01 cross-province filing, 02 chronic-disease declaration.
pub(super) async fn benefit_check(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::filing::v1 as fpb;
    let b: BenefitCheck = node(envelope, "data")?;
    let psn_no = codes::psn_no("data.psn_no", &b.psn_no)?.to_string();
    let day = date_of("data.begntime", &b.begntime)?;
    let med_type =
        state.med_types().lookup("data.med_type", &envelope.mdtrtarea_admvs, &b.med_type)?;
    let disease = codes::diagnosis_code("data.dise_codg", &b.dise_codg, 30)?;
    let (home, insutype) = if envelope.insuplc_admdvs.is_empty() || b.insutype.trim().is_empty() {
        use medclear_proto::routing::v1 as rpb;
        let person = super::envelope::routing(state, envelope, "")
            .query_person(rpb::QueryPersonRequest { certno: String::new(), psn_no: psn_no.clone() })
            .await?
            .into_inner();
        (person.insuplc_admdvs, person.insutype)
    } else {
        (
            envelope.insuplc_admdvs.clone(),
            codes::digits("data.insutype", &b.insutype, 3, 6)?.to_owned(),
        )
    };
    let fund = if insutype.starts_with("39") { "390100" } else { "310100" };
    let inpatient = med_type == Some(medclear_proto::routing::v1::MedType::Inpatient);
    let covered = state
        .filing()
        .check_coverage(fpb::CheckCoverageRequest {
            psn_no: psn_no.clone(),
            insuplc_admdvs: home,
            mdtrtarea_admvs: envelope.mdtrtarea_admvs.clone(),
            date: day.clone(),
            emergency: false,
            admission_date: if inpatient { day.clone() } else { String::new() },
        })
        .await?
        .into_inner();
    let row = |trt_chk_type, ok: bool, why: String| BenefitRow {
        psn_no: psn_no.clone(),
        trt_chk_type,
        fund_pay_type: fund,
        trt_enjymnt_flag: if ok { "1" } else { "0" },
        begndate: day.clone(),
        enddate: None,
        trt_chk_rslt: why,
    };
    let mut trtinfo = vec![row("01", covered.covered, covered.message)];
    if med_type == Some(medclear_proto::routing::v1::MedType::ChronicOutpatient)
        && !disease.is_empty()
    {
        let chronic = state
            .filing()
            .check_chronic_filing(fpb::CheckChronicFilingRequest {
                psn_no: psn_no.clone(),
                disease_code: disease.to_owned(),
                date: day.clone(),
            })
            .await?
            .into_inner();
        trtinfo.push(row("02", chronic.covered, chronic.message));
    }
    output(&BenefitOutput { trtinfo })
}

#[derive(Debug, Default, Deserialize)]
struct DesignationInput {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    /// Not in the national table; some provinces' clients send it (a Guangdong client's 2505).
    #[serde(default, deserialize_with = "text")]
    insutype: String,
    #[serde(default, deserialize_with = "text")]
    tel: String,
    #[serde(default, deserialize_with = "text")]
    addr: String,
    #[serde(default, deserialize_with = "text")]
    biz_appy_type: String,
    #[serde(default, deserialize_with = "text")]
    begndate: String,
    #[serde(default, deserialize_with = "text")]
    enddate: String,
    #[serde(default, deserialize_with = "text")]
    agnter_name: String,
    #[serde(default, deserialize_with = "text")]
    agnter_cert_type: String,
    #[serde(default, deserialize_with = "text")]
    agnter_certno: String,
    #[serde(default, deserialize_with = "text")]
    agnter_tel: String,
    #[serde(default, deserialize_with = "text")]
    agnter_addr: String,
    #[serde(default, deserialize_with = "text")]
    agnter_rlts: String,
    #[serde(default, deserialize_with = "text")]
    fix_srt_no: String,
    #[serde(default, deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(default, deserialize_with = "text")]
    fixmedins_name: String,
    #[serde(default, deserialize_with = "text")]
    memo: String,
}

/// The home region and insutype a designation is filed under: the envelope's
/// `insuplc_admdvs` as for 2501, and the `insutype` sent; what is missing of them, the
/// person's as the platform holds them (a person it does not know is refused).
async fn home_and_insutype(
    state: &AppState,
    envelope: &Envelope,
    psn_no: &str,
    insutype: &str,
) -> Result<(String, String), super::envelope::Refusal> {
    let home = envelope.insuplc_admdvs.trim();
    let insutype = match codes::text("data.insutype", insutype, 6)? {
        "" => "",
        sent => codes::insutype("data.insutype", sent)?,
    };
    if !home.is_empty() && !insutype.is_empty() {
        return Ok((home.to_owned(), insutype.to_owned()));
    }
    use medclear_proto::routing::v1 as rpb;
    let person = super::envelope::routing(state, envelope, "")
        .query_person(rpb::QueryPersonRequest { certno: String::new(), psn_no: psn_no.to_owned() })
        .await?
        .into_inner();
    let home = if home.is_empty() { person.insuplc_admdvs } else { home.to_owned() };
    let insutype = if insutype.is_empty() { person.insutype } else { insutype.to_owned() };
    Ok((home, insutype))
}

/// 2505 (人员定点登记): the person's designated institution for one kind of business, filed by
/// the hospital; answers the designation's serial. The same msgid again answers the same serial.
pub(super) async fn file_designation(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::filing::v1 as fpb;
    let d: DesignationInput = node(envelope, "data")?;
    let psn_no = codes::psn_no("data.psn_no", &d.psn_no)?.to_string();
    let fixmedins_code = codes::fixmedins_code("data.fixmedins_code", &d.fixmedins_code)?;
    let biz_appy_type = codes::code("data.biz_appy_type", &d.biz_appy_type, 3)?.to_owned();
    // Empty (a client that leaves the order to the platform): the next one.
    let fix_srt_no = match d.fix_srt_no.trim() {
        "" => String::new(),
        order => codes::digits("data.fix_srt_no", order, 1, 3)?.to_owned(),
    };
    let begin_date = date_of("data.begndate", &d.begndate)?;
    let end_date = optional_date("data.enddate", &d.enddate)?;
    let (home, insutype) = home_and_insutype(state, envelope, &psn_no, &d.insutype).await?;
    let request = fpb::CreateDesignationRequest {
        request_id: envelope.msgid.clone(),
        psn_no,
        insuplc_admdvs: home,
        insutype,
        biz_appy_type,
        fixmedins_code: fixmedins_code.to_string(),
        fixmedins_name: codes::text("data.fixmedins_name", &d.fixmedins_name, 200)?.to_owned(),
        fix_srt_no,
        begin_date,
        end_date,
        tel: codes::text("data.tel", &d.tel, 50)?.to_owned(),
        addr: codes::text("data.addr", &d.addr, 200)?.to_owned(),
        agent: Some(fpb::DesignationAgent {
            name: codes::text("data.agnter_name", &d.agnter_name, 50)?.to_owned(),
            cert_type: codes::optional_code("data.agnter_cert_type", &d.agnter_cert_type, 6)?
                .to_owned(),
            certno: codes::text("data.agnter_certno", &d.agnter_certno, 50)?.to_owned(),
            tel: codes::text("data.agnter_tel", &d.agnter_tel, 30)?.to_owned(),
            addr: codes::text("data.agnter_addr", &d.agnter_addr, 200)?.to_owned(),
            rlts: codes::optional_code("data.agnter_rlts", &d.agnter_rlts, 3)?.to_owned(),
        }),
        memo: codes::text("data.memo", &d.memo, 500)?.to_owned(),
        actor: Some(hospital_actor(envelope)),
    };
    let designation = state.filing().create_designation(request).await?.into_inner();
    output(&DeclarationOutput {
        result: DeclarationSerial { trt_dcla_detl_sn: designation.trt_dcla_detl_sn },
    })
}

#[derive(Debug, Default, Deserialize)]
struct DesignationRevoked {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    trt_dcla_detl_sn: String,
    #[serde(default, deserialize_with = "text")]
    memo: String,
}

/// 2506 (人员定点撤销): the person's designation revoked; a revoked one again answers the same.
/// Another person's serial is not found.
pub(super) async fn revoke_designation(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::filing::v1 as fpb;
    let d: DesignationRevoked = node(envelope, "data")?;
    let request = fpb::RevokeDesignationRequest {
        psn_no: codes::psn_no("data.psn_no", &d.psn_no)?.to_string(),
        trt_dcla_detl_sn: codes::id("data.trt_dcla_detl_sn", &d.trt_dcla_detl_sn)?.to_owned(),
        reason: codes::text("data.memo", &d.memo, 500)?.to_owned(),
        actor: Some(hospital_actor(envelope)),
    };
    state.filing().revoke_designation(request).await?;
    Ok(None)
}

#[derive(Debug, Default, Deserialize)]
struct DesignationQuery {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    biz_appy_type: String,
}

#[derive(Debug, Serialize)]
struct Designations {
    psnfixmedin: Vec<Designated>,
}

/// One `psnfixmedin` row: the national fields (psn_no … memo), and the business and serial the
/// row is of (so a HIS can revoke it with 2506).
#[derive(Debug, Serialize)]
struct Designated {
    psn_no: String,
    insutype: String,
    fix_srt_no: String,
    fixmedins_code: String,
    fixmedins_name: String,
    begndate: String,
    enddate: Option<String>,
    memo: Option<String>,
    biz_appy_type: String,
    trt_dcla_detl_sn: String,
}

/// 5302 (人员定点信息查询): the person's designations in force (not revoked, not ended), of the
/// business asked (every kind when none is named); none is an empty list.
pub(super) async fn designations(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::filing::v1 as fpb;
    let q: DesignationQuery = node(envelope, "data")?;
    let request = fpb::ListDesignationsRequest {
        psn_no: codes::psn_no("data.psn_no", &q.psn_no)?.to_string(),
        biz_appy_type: codes::optional_code("data.biz_appy_type", &q.biz_appy_type, 3)?.to_owned(),
        include_inactive: false,
    };
    let found = state.filing().list_designations(request).await?.into_inner().designations;
    output(&Designations {
        psnfixmedin: found
            .into_iter()
            .map(|d| Designated {
                psn_no: d.psn_no,
                insutype: d.insutype,
                fix_srt_no: d.fix_srt_no,
                fixmedins_code: d.fixmedins_code,
                fixmedins_name: d.fixmedins_name,
                begndate: d.begin_date,
                enddate: Some(d.end_date).filter(|e| !e.is_empty()),
                memo: Some(d.memo).filter(|m| !m.is_empty()),
                biz_appy_type: d.biz_appy_type,
                trt_dcla_detl_sn: d.trt_dcla_detl_sn,
            })
            .collect(),
    })
}
