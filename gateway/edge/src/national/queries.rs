//! The queries a HIS sends about what the platform holds:
//!
//! * 5203 (结算信息查询): a settlement found by its `setl_id`, by the visit it closed
//!   (`mdtrt_id`) or by the msgid that made it (`medins_setl_id`, which 2207 answers as the
//!   settlement's msgid) — how a HIS whose 2207 answer was lost learns whether the settlement
//!   happened: found, it has the answer 2207 gave (a retry of that 2207 with the same msgid
//!   answers it again, and changes nothing); not found (`settlement_not_found`), it did not
//!   happen, and the 2207 may be sent again.
//! * 5201 (就诊信息查询): the caller's visits of a person in a range of dates.
//! * 5204 (费用明细查询): a visit's fee lines, each as its settlement classified it.
//! * 5205 (人员慢特病用药记录查询): a person's drugs of settled chronic/special-disease
//!   outpatient visits, at any institution, in a range of fee dates.
//! * 5202 (诊断信息查询): a visit's diagnoses, as medclear keeps them ([`dise_info`]).
//! * 1901 (字典表查询): a national code table (reference/dictionaries.csv).
//! * 5206 (人员累计信息查询): a person's yearly accumulators, one `cuminfo` row per
//!   accumulator code ([`cum_rows`]).
//!
//! They only read.

use chrono::{Datelike, NaiveDate};
use medclear_common::codes;
use medclear_proto::routing::v1 as pb;
use serde::{Deserialize, Serialize};

use super::envelope::{
    Envelope, Number, Outcome, Refusal, Yuan, from_certno, node, optional_date, output, routing,
};
use super::settlement::{fund_name, settlement_output_with};
use crate::{dictionaries::Dictionaries, json::text, state::AppState};

#[derive(Debug, Default, Deserialize)]
struct Query {
    #[serde(default, deserialize_with = "text")]
    setl_id: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "text")]
    medins_setl_id: String,
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
}

/// 5203: the settlement's `setlinfo` and `setldetail`, as 2207 answered them, with
/// `refd_setl_flag` "1" when it has been cancelled since. Of several settlements of a visit
/// (settled, cancelled, settled again), the latest.
pub(super) async fn settlement_query(state: &AppState, envelope: &Envelope) -> Outcome {
    let q: Query = node(envelope, "data")?;
    let request = pb::FindSettlementsRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        setl_id: q.setl_id.trim().to_owned(),
        mdtrt_id: q.mdtrt_id.trim().to_owned(),
        msgid: q.medins_setl_id.trim().to_owned(),
    };
    let route = if q.setl_id.trim().is_empty() { q.mdtrt_id.trim() } else { q.setl_id.trim() };
    let found = routing(state, envelope, route).find_settlements(request).await?.into_inner();
    let psn_no = q.psn_no.trim();
    let latest = found
        .settlements
        .into_iter()
        .rfind(|s| psn_no.is_empty() || s.settlement.as_ref().is_some_and(|s| s.psn_no == psn_no))
        .ok_or_else(|| {
            Refusal::new(
                "settlement_not_found",
                format!(
                    "{} has no settlement {}: it did not happen (a 2207 whose answer was lost \
                     may be sent again with its msgid)",
                    envelope.fixmedins_code,
                    [&q.setl_id, &q.mdtrt_id, &q.medins_setl_id]
                        .iter()
                        .map(|t| t.trim())
                        .filter(|t| !t.is_empty())
                        .collect::<Vec<_>>()
                        .join(" / ")
                ),
            )
        })?;
    let refunded = if latest.cancelled_by.is_empty() { "0" } else { "1" };
    let settlement = latest.settlement.unwrap_or_default();
    let mdtrt_id = settlement.mdtrt_id.clone();
    settlement_output_with(settlement, &latest.msgid, &mdtrt_id, &[("refd_setl_flag", refunded)])
}

/// Some text, or `None` (null) when it is empty.
fn some(text: String) -> Option<String> {
    Some(text).filter(|t| !t.is_empty())
}

/// A date kept as `yyyy-MM-dd`, written as the national date-time (medclear keeps the dates of
/// visits and fee lines, not their times).
fn date_time(date: &str) -> Option<String> {
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok().map(|d| format!("{d} 00:00:00"))
}

// ---- 5201

#[derive(Debug, Default, Deserialize)]
struct VisitsQuery {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    begntime: String,
    #[serde(default, deserialize_with = "text")]
    endtime: String,
    #[serde(default, deserialize_with = "text")]
    med_type: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
}

/// A row of 5201's `mdtrtinfo[]`, in the national order; what medclear does not keep is null
/// (docs/NATIONAL_INTERFACE.md, §7.1b).
#[derive(Debug, Default, Serialize)]
struct MdtrtInfo {
    mdtrt_id: String,
    psn_no: String,
    psn_cert_type: &'static str,
    certno: String,
    psn_name: String,
    gend: Option<&'static str>,
    naty: Option<String>,
    brdy: Option<String>,
    age: Option<i32>,
    coner_name: Option<String>,
    tel: Option<String>,
    insutype: String,
    psn_type: String,
    maf_psn_flag: &'static str,
    cvlserv_flag: &'static str,
    flxempe_flag: Option<String>,
    nwb_flag: Option<String>,
    insu_optins: String,
    emp_name: Option<String>,
    begntime: Option<String>,
    endtime: Option<String>,
    mdtrt_cert_type: Option<String>,
    med_type: String,
    ars_year_ipt_flag: &'static str,
    pre_pay_flag: Option<String>,
    ipt_otp_no: Option<String>,
    medrcdno: Option<String>,
    atddr_no: Option<String>,
    chfpdr_name: Option<String>,
    adm_dept_codg: Option<String>,
    adm_dept_name: Option<String>,
    adm_bed: Option<String>,
    dscg_maindiag_code: Option<String>,
    dscg_maindiag_name: Option<String>,
    dscg_dept_codg: Option<String>,
    dscg_dept_name: Option<String>,
    dscg_bed: Option<String>,
    dscg_way: Option<String>,
    main_cond_dscr: Option<String>,
    dise_codg: Option<String>,
    dise_name: Option<String>,
    oprn_oprt_code: Option<String>,
    oprn_oprt_name: Option<String>,
    otp_diag_info: Option<String>,
    inhosp_stas: &'static str,
    die_date: Option<String>,
    ipt_days: Option<i64>,
    fpsc_no: Option<String>,
    matn_type: Option<String>,
    birctrl_type: Option<String>,
    latechb_flag: Option<String>,
    geso_val: Option<i64>,
    fetts: Option<i64>,
    fetus_cnt: Option<i64>,
    pret_flag: Option<String>,
    birctrl_matn_date: Option<String>,
    cop_flag: Option<String>,
    opter_id: Option<String>,
    opter_name: Option<String>,
    opt_time: Option<String>,
    memo: Option<String>,
    /// Not in the national table: the treating institution, and whether the visit stands
    /// (`0`: cancelled, 2202 / 2404).
    fixmedins_code: String,
    vali_flag: &'static str,
}

#[derive(Debug, Serialize)]
struct VisitsOutput {
    mdtrtinfo: Vec<MdtrtInfo>,
}

/// A visit and its person as 5201 answers them.
fn mdtrt_info(person: &pb::PersonInfo, v: pb::Visit) -> MdtrtInfo {
    let begin = NaiveDate::parse_from_str(&v.begin_date, "%Y-%m-%d").ok();
    let end = NaiveDate::parse_from_str(&v.end_date, "%Y-%m-%d").ok();
    let holder = begin.and_then(|b| from_certno(&person.certno, b));
    let inpatient = v.med_type == i32::from(pb::MedType::Inpatient);
    // An admission's diagnosis is its main ICD-10 diagnosis; an outpatient visit's is the
    // registration's description or the diagnosis 2203 named.
    let (dscg_maindiag_code, otp_diag_info) =
        if inpatient { (some(v.diagnosis_code), None) } else { (None, some(v.diagnosis_code)) };
    MdtrtInfo {
        psn_no: v.psn_no,
        psn_cert_type: "01",
        certno: person.certno.clone(),
        psn_name: person.psn_name.clone(),
        gend: holder.as_ref().map(|h| h.0),
        brdy: holder.as_ref().map(|h| h.1.to_string()),
        age: holder.as_ref().map(|h| h.2),
        insutype: person.insutype.clone(),
        psn_type: person.psn_type.clone(),
        maf_psn_flag: if person.assistance_category.is_empty() { "0" } else { "1" },
        cvlserv_flag: "0",
        insu_optins: person.insuplc_admdvs.clone(),
        begntime: date_time(&v.begin_date),
        endtime: date_time(&v.end_date),
        med_type: if v.med_type == 0 { String::new() } else { v.med_type.to_string() },
        ars_year_ipt_flag: match (begin, end) {
            (Some(b), Some(e)) if inpatient && e.year() != b.year() => "1",
            _ => "0",
        },
        dscg_maindiag_code,
        otp_diag_info,
        dise_codg: some(v.disease_code),
        inhosp_stas: if inpatient && v.status == "open" { "1" } else { "0" },
        ipt_days: match (begin, end) {
            (Some(b), Some(e)) if inpatient => Some((e - b).num_days().max(1)),
            _ => None,
        },
        vali_flag: if v.status == "cancelled" { "0" } else { "1" },
        fixmedins_code: v.fixmedins_code,
        mdtrt_id: v.mdtrt_id,
        ..MdtrtInfo::default()
    }
}

/// 5201: the caller's visits of the person overlapping `begntime ..= endtime` (an admission
/// from its admission to its discharge, or on while not discharged; either bound may be left
/// out), of one `med_type` or one `mdtrt_id` when named; oldest first, at most 1000.
pub(super) async fn visit_query(state: &AppState, envelope: &Envelope) -> Outcome {
    let q: VisitsQuery = node(envelope, "data")?;
    let psn_no = codes::psn_no("data.psn_no", &q.psn_no)?;
    let med_type = state
        .med_types()
        .lookup("data.med_type", &envelope.mdtrtarea_admvs, &q.med_type)?
        .unwrap_or(pb::MedType::Unspecified);
    let request = pb::ListVisitsRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        psn_no: psn_no.to_string(),
        from_date: optional_date("data.begntime", &q.begntime)?,
        to_date: optional_date("data.endtime", &q.endtime)?,
        mdtrt_id: codes::optional_code("data.mdtrt_id", &q.mdtrt_id, codes::ID_LEN)?.to_owned(),
        med_type: med_type.into(),
    };
    // The insured place's instance; without one, the visit's (its id names its home).
    let route = request.mdtrt_id.clone();
    let found = routing(state, envelope, &route).list_visits(request).await?.into_inner();
    let person = found.person.unwrap_or_default();
    output(&VisitsOutput {
        mdtrtinfo: found.visits.into_iter().map(|v| mdtrt_info(&person, v)).collect(),
    })
}

// ---- 5202

#[derive(Debug, Default, Deserialize)]
struct DiagnosisQuery {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
}

/// A row of 5202's `diseinfo[]` (the fields of 2401's `diseinfo`, with the visit and person);
/// what medclear does not keep is null (docs/NATIONAL_INTERFACE.md, §7.1f).
#[derive(Debug, Default, Serialize)]
struct DiseInfo {
    mdtrt_id: String,
    psn_no: String,
    diag_type: &'static str,
    maindiag_flag: &'static str,
    diag_srt_no: u32,
    diag_code: String,
    diag_name: Option<String>,
    adm_cond: Option<String>,
    diag_dept: Option<String>,
    dise_dor_no: Option<String>,
    dise_dor_name: Option<String>,
    diag_time: Option<String>,
    vali_flag: &'static str,
}

/// A visit's diagnoses as 5202 answers them: its main diagnosis (`diag_srt_no` 1,
/// `maindiag_flag` 1) and, when it names another, its chronic disease (2, `maindiag_flag` 0);
/// none before one is named.
fn dise_info(v: &pb::Visit) -> Vec<DiseInfo> {
    let row = |srt_no: u32, code: &str| DiseInfo {
        mdtrt_id: v.mdtrt_id.clone(),
        psn_no: v.psn_no.clone(),
        diag_type: "1",
        maindiag_flag: if srt_no == 1 { "1" } else { "0" },
        diag_srt_no: srt_no,
        diag_code: code.to_owned(),
        diag_time: date_time(&v.begin_date),
        vali_flag: if v.status == "cancelled" { "0" } else { "1" },
        ..DiseInfo::default()
    };
    let (main, disease) = (v.diagnosis_code.trim(), v.disease_code.trim());
    let mut rows = Vec::new();
    if !main.is_empty() {
        rows.push(row(1, main));
    }
    if !disease.is_empty() && disease != main {
        let srt_no = u32::try_from(rows.len() + 1).unwrap_or(2);
        rows.push(row(srt_no, disease));
    }
    rows
}

#[derive(Debug, Serialize)]
struct DiagnosisOutput {
    diseinfo: Vec<DiseInfo>,
}

/// 5202: the diagnoses of the caller's visit of the person; another hospital's visit, or
/// another person's, is `visit_not_found`.
pub(super) async fn diagnosis_query(state: &AppState, envelope: &Envelope) -> Outcome {
    let q: DiagnosisQuery = node(envelope, "data")?;
    let psn_no = codes::psn_no("data.psn_no", &q.psn_no)?;
    let mdtrt_id = codes::id("data.mdtrt_id", &q.mdtrt_id)?;
    let request = pb::ListVisitsRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        psn_no: psn_no.to_string(),
        mdtrt_id: mdtrt_id.to_owned(),
        ..pb::ListVisitsRequest::default()
    };
    let found = routing(state, envelope, mdtrt_id).list_visits(request).await?.into_inner();
    let visit = found.visits.into_iter().find(|v| v.mdtrt_id == mdtrt_id).ok_or_else(|| {
        Refusal::new(
            "visit_not_found",
            format!("{} has no visit {mdtrt_id} of {psn_no}", envelope.fixmedins_code),
        )
    })?;
    output(&DiagnosisOutput { diseinfo: dise_info(&visit) })
}

// ---- 1901

#[derive(Debug, Default, Deserialize)]
struct DictionaryQuery {
    #[serde(default, rename = "type", deserialize_with = "text")]
    kind: String,
    #[serde(default, alias = "parent_value", deserialize_with = "text")]
    #[serde(rename = "parentValue")]
    parent_value: String,
    #[serde(default, deserialize_with = "text")]
    admdvs: String,
    #[serde(default, deserialize_with = "text")]
    date: String,
    #[serde(default, alias = "vali_Flag", alias = "valiFlag", deserialize_with = "text")]
    vali_flag: String,
}

/// A row of 1901's `list[]`; what medclear does not keep is null.
#[derive(Debug, Serialize)]
struct DictionaryRow<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    label: &'a str,
    value: &'a str,
    parent_value: Option<&'a str>,
    sort: u32,
    vali_flag: &'static str,
    create_user: Option<String>,
    create_time: Option<String>,
}

#[derive(Debug, Serialize)]
struct DictionaryOutput<'a> {
    list: Vec<DictionaryRow<'a>>,
}

/// 1901: the values of the dictionary `type` (reference/dictionaries.csv), the national ones
/// and, for `med_type`, the own codes of the province of `admdvs` (left out: the treating
/// region's); only those under `parentValue` when it is given. Every value is in force:
/// `vali_flag` 0 asks for none. `date` is read and does not change the answer.
pub(super) async fn dictionary_query(_state: &AppState, envelope: &Envelope) -> Outcome {
    let q: DictionaryQuery = node(envelope, "data")?;
    optional_date("data.date", &q.date)?;
    let tables = Dictionaries::shipped();
    let kind = q.kind.trim();
    let region = match q.admdvs.trim() {
        "" => envelope.mdtrtarea_admvs.trim(),
        admdvs => admdvs,
    };
    let rows = tables.table(kind, region).ok_or_else(|| {
        Refusal::new(
            "unknown_dictionary",
            format!(
                "data.type {} is not a dictionary served here: one of {}",
                codes::shown(kind),
                tables.names().join(", ")
            ),
        )
    })?;
    let parent = q.parent_value.trim();
    let in_force = !matches!(q.vali_flag.trim(), "0");
    let list = rows
        .into_iter()
        .filter(|e| in_force && (parent.is_empty() || e.parent_value == parent))
        .map(|e| DictionaryRow {
            kind: &e.kind,
            label: &e.label,
            value: &e.value,
            parent_value: Some(e.parent_value.as_str()).filter(|p| !p.is_empty()),
            sort: e.sort,
            vali_flag: "1",
            create_user: None,
            create_time: None,
        })
        .collect();
    output(&DictionaryOutput { list })
}

// ---- 5204

#[derive(Debug, Default, Deserialize)]
struct FeeQuery {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    setl_id: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_id: String,
}

/// The flags of a fee line's row (5204, 5205) that medclear does not keep: null.
#[derive(Debug, Default, Serialize)]
struct LineFlags {
    lmt_used_flag: Option<String>,
    hosp_prep_flag: Option<String>,
    hosp_appr_flag: Option<String>,
    tcmdrug_used_way: Option<String>,
    prodplac_type: Option<String>,
    bas_medn_flag: Option<String>,
    hi_nego_drug_flag: Option<String>,
    chld_medc_flag: Option<String>,
    etip_flag: Option<String>,
    etip_hosp_code: Option<String>,
    dscg_tkdrug_flag: Option<String>,
    list_sp_item_flag: Option<String>,
    matn_fee_flag: Option<String>,
}

/// What 5204's rows name that medclear does not keep: null.
#[derive(Debug, Default, Serialize)]
struct FeeUnknown {
    rx_drord_no: Option<String>,
    sin_dos_dscr: Option<String>,
    used_frqu_dscr: Option<String>,
    prd_days: Option<String>,
    medc_way_dscr: Option<String>,
    hilist_name: Option<String>,
    list_type: Option<String>,
    medins_list_name: Option<String>,
    med_chrgitm_type: Option<String>,
    prodname: Option<String>,
    spec: Option<String>,
    dosform_name: Option<String>,
    bilg_dept_codg: Option<String>,
    bilg_dept_name: Option<String>,
    bilg_dr_codg: Option<String>,
    bilg_dr_name: Option<String>,
    acord_dept_codg: Option<String>,
    acord_dept_name: Option<String>,
    orders_dr_code: Option<String>,
    orders_dr_name: Option<String>,
    #[serde(flatten)]
    flags: LineFlags,
    drt_reim_flag: Option<String>,
    memo: Option<String>,
    opter_id: Option<String>,
    opter_name: Option<String>,
    opt_time: Option<String>,
}

/// A row of 5204's output (a list: `output` is the rows themselves). The classification is
/// the settlement's, and null while the visit is not settled.
#[derive(Debug, Serialize)]
struct FeeRow {
    mdtrt_id: String,
    setl_id: Option<String>,
    feedetl_sn: String,
    /// Not in the national table: the visit's person.
    psn_no: String,
    med_type: String,
    fee_ocur_time: Option<String>,
    cnt: Number,
    pric: Yuan,
    det_item_fee_sumamt: Yuan,
    pric_uplmt_amt: Option<Yuan>,
    selfpay_prop: Option<Number>,
    fulamt_ownpay_amt: Option<Yuan>,
    overlmt_amt: Option<Yuan>,
    preselfpay_amt: Option<Yuan>,
    inscp_scp_amt: Option<Yuan>,
    chrgitm_lv: Option<&'static str>,
    hilist_code: Option<String>,
    med_list_codg: Option<String>,
    medins_list_codg: String,
    #[serde(flatten)]
    unknown: FeeUnknown,
}

/// The national 收费项目等级 of a settled line's class: 01 甲, 02 乙, 03 丙.
fn chrgitm_lv(class: &str) -> Option<&'static str> {
    match class {
        "A" => Some("01"),
        "B" => Some("02"),
        "C" => Some("03"),
        _ => None,
    }
}

fn fee_row(visit: &pb::Visit, setl_id: &str, record: pb::FeeLineRecord) -> FeeRow {
    let line = record.line.unwrap_or_default();
    let settled = record.settled;
    let part = |f: fn(&pb::LineSettled) -> i64| settled.as_ref().map(|s| Yuan(f(s)));
    FeeRow {
        mdtrt_id: visit.mdtrt_id.clone(),
        setl_id: some(setl_id.to_owned()),
        psn_no: visit.psn_no.clone(),
        med_type: visit.med_type.to_string(),
        fee_ocur_time: date_time(&line.fee_date),
        cnt: Number(line.quantity),
        pric: Yuan(line.price_fen),
        det_item_fee_sumamt: Yuan(record.amount_fen),
        pric_uplmt_amt: settled.as_ref().and_then(|s| s.price_cap_fen).map(Yuan),
        selfpay_prop: settled.as_ref().map(|s| Number(s.selfpay_ratio.clone())),
        fulamt_ownpay_amt: part(|s| s.fulamt_ownpay_amt_fen),
        overlmt_amt: part(|s| s.overlmt_amt_fen),
        preselfpay_amt: part(|s| s.preselfpay_amt_fen),
        inscp_scp_amt: part(|s| s.inscp_scp_amt_fen),
        chrgitm_lv: settled.as_ref().and_then(|s| chrgitm_lv(&s.coverage_class)),
        hilist_code: some(line.national_code.clone()),
        med_list_codg: some(line.national_code),
        medins_list_codg: line.local_code,
        feedetl_sn: line.feedetl_sn,
        unknown: FeeUnknown::default(),
    }
}

/// 5204: the caller's visit's fee lines (the cancelled ones left out), by line number; named
/// with a `setl_id`, only if it is the settlement that settled the visit (`settlement_not_found`
/// otherwise: cancelled since, or another visit's).
pub(super) async fn fee_query(state: &AppState, envelope: &Envelope) -> Outcome {
    let q: FeeQuery = node(envelope, "data")?;
    let mdtrt_id = codes::id("data.mdtrt_id", &q.mdtrt_id)?;
    let psn_no = match q.psn_no.trim() {
        "" => String::new(),
        psn_no => codes::psn_no("data.psn_no", psn_no)?.to_string(),
    };
    let request = pb::ListFeeLinesRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        mdtrt_id: mdtrt_id.to_owned(),
        setl_id: codes::optional_code("data.setl_id", &q.setl_id, codes::ID_LEN)?.to_owned(),
        psn_no,
    };
    let listed = routing(state, envelope, mdtrt_id).list_fee_lines(request).await?.into_inner();
    let visit = listed.visit.unwrap_or_default();
    let rows: Vec<FeeRow> = listed
        .lines
        .into_iter()
        .filter(|l| !l.cancelled)
        .map(|l| fee_row(&visit, &listed.setl_id, l))
        .collect();
    output(&rows)
}

// ---- 5205

#[derive(Debug, Default, Deserialize)]
struct MedicationQuery {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    begntime: String,
    #[serde(default, deserialize_with = "text")]
    endtime: String,
}

/// The national 目录类别 of a drug's kind: 101 西药中成药, 102 中药饮片.
fn list_type(kind: &str) -> Option<&'static str> {
    match kind {
        "western_drug" | "patent_drug" => Some("101"),
        "herbal" => Some("102"),
        _ => None,
    }
}

/// A row of 5205's `feedetail[]`, in the national order, then what HIS clients also read of a
/// fee line (the visit, the settlement, the amount, the disease); what medclear does not keep
/// is null (docs/NATIONAL_INTERFACE.md).
#[derive(Debug, Serialize)]
struct MedicationRow {
    feedetl_sn: String,
    rx_drord_no: Option<String>,
    fixmedins_code: String,
    fixmedins_name: Option<String>,
    psn_no: String,
    med_type: String,
    fee_ocur_time: Option<String>,
    cnt: Number,
    pric: Yuan,
    chrgitm_lv: Option<&'static str>,
    hilist_code: Option<String>,
    hilist_name: Option<String>,
    list_type: Option<&'static str>,
    med_list_codg: Option<String>,
    medins_list_codg: String,
    medins_list_name: Option<String>,
    med_chrgitm_type: Option<&'static str>,
    prodname: Option<String>,
    spec: Option<String>,
    dosform_name: Option<String>,
    #[serde(flatten)]
    flags: LineFlags,
    /// Not in the national table: the visit and settlement, the line's amount and the
    /// visit's chronic disease.
    mdtrt_id: String,
    setl_id: String,
    det_item_fee_sumamt: Yuan,
    opsp_dise_code: Option<String>,
    opsp_dise_name: Option<String>,
}

#[derive(Debug, Serialize)]
struct MedicationOutput {
    feedetail: Vec<MedicationRow>,
}

fn medication_row(psn_no: &str, l: pb::PersonFeeLine) -> MedicationRow {
    let record = l.record.unwrap_or_default();
    let line = record.line.unwrap_or_default();
    let code = some(l.national_code).or_else(|| some(line.national_code.clone()));
    MedicationRow {
        feedetl_sn: line.feedetl_sn,
        rx_drord_no: None,
        fixmedins_code: l.fixmedins_code,
        fixmedins_name: some(l.fixmedins_name),
        psn_no: psn_no.to_owned(),
        med_type: l.med_type.to_string(),
        fee_ocur_time: date_time(&line.fee_date),
        cnt: Number(line.quantity),
        pric: Yuan(line.price_fen),
        chrgitm_lv: record.settled.as_ref().and_then(|s| chrgitm_lv(&s.coverage_class)),
        hilist_code: code.clone(),
        hilist_name: some(l.item_name),
        list_type: list_type(&l.item_kind),
        med_list_codg: code,
        medins_list_codg: line.local_code,
        medins_list_name: None,
        med_chrgitm_type: super::fees::charge_type(&l.item_kind),
        prodname: None,
        spec: None,
        dosform_name: None,
        flags: LineFlags::default(),
        mdtrt_id: l.mdtrt_id,
        setl_id: l.setl_id,
        det_item_fee_sumamt: Yuan(record.amount_fen),
        opsp_dise_code: some(l.disease_code),
        opsp_dise_name: None,
    }
}

/// 5205: the person's drugs of chronic/special-disease outpatient care (med_type 14, and the
/// provincial codes that mean it) settled at any institution, with fee dates from `begntime`
/// to `endtime` (either may be left out), oldest first, at most 5000; lines of cancelled
/// settlements are not among them. None: an empty list.
pub(super) async fn medication_query(state: &AppState, envelope: &Envelope) -> Outcome {
    let q: MedicationQuery = node(envelope, "data")?;
    let psn_no = codes::psn_no("data.psn_no", &q.psn_no)?;
    let request = pb::ListPersonFeeLinesRequest {
        psn_no: psn_no.to_string(),
        from_date: optional_date("data.begntime", &q.begntime)?,
        to_date: optional_date("data.endtime", &q.endtime)?,
        med_type: pb::MedType::ChronicOutpatient.into(),
        drugs_only: true,
    };
    let found = routing(state, envelope, "").list_person_fee_lines(request).await?.into_inner();
    let psn_no = psn_no.to_string();
    output(&MedicationOutput {
        feedetail: found.lines.into_iter().map(|l| medication_row(&psn_no, l)).collect(),
    })
}

// ---- 5206

#[derive(Debug, Default, Deserialize)]
struct CumQuery {
    #[serde(default, deserialize_with = "text")]
    psn_no: String,
    #[serde(default, deserialize_with = "text")]
    cum_ym: String,
}

/// An accumulated value: an amount in yuan, or a count.
#[derive(Debug)]
enum Cum {
    Yuan(i64),
    Count(i64),
}

impl Serialize for Cum {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Yuan(fen) => Yuan(*fen).serialize(serializer),
            Self::Count(n) => serializer.serialize_i64(*n),
        }
    }
}

/// A row of 5206's `cuminfo[]`.
#[derive(Debug, Serialize)]
struct CumInfo {
    insutype: String,
    year: String,
    cum_ym: Option<String>,
    cum_type_code: String,
    /// Not in the national table: what the code counts.
    cum_type_name: String,
    cum: Cum,
}

#[derive(Debug, Serialize)]
struct CumOutput {
    cuminfo: Vec<CumInfo>,
}

/// `cum_ym` (yyyyMM, or yyyy-MM) as its year and its yyyyMM; empty: none.
fn cum_month(text: &str) -> Result<Option<(i32, String)>, Refusal> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || {
        Refusal::new(
            "invalid_date",
            format!("data.cum_ym {} is not a month: send yyyyMM", codes::shown(text)),
        )
    };
    let digits: String = text.chars().filter(|c| *c != '-').collect();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (year, month) =
        (digits[..4].parse().map_err(|_| bad())?, digits[4..].parse().map_err(|_| bad())?);
    NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
    Ok(Some((year, digits)))
}

/// The kinds of care the accumulators count, in their order (`pb::CareAmounts`): the national
/// med_type and its name.
const KINDS: [(&str, &str); 4] =
    [("21", "普通住院"), ("11", "普通门诊"), ("14", "门诊慢特病"), ("41", "定点药店购药")];

fn care(amounts: Option<&pb::CareAmounts>) -> [i64; 4] {
    amounts.map_or([0; 4], |a| {
        [a.inpatient_fen, a.general_outpatient_fen, a.chronic_outpatient_fen, a.pharmacy_fen]
    })
}

/// The accumulators as `cuminfo` rows: `(cum_type_code, cum_type_name, cum)`. The codes follow
/// the pattern a provincial platform answers (a HIS settlement sheet reads `C0000` counts,
/// `D<fund>` fund payments, `Q0000` deductibles, `TS<fund>` a layer's base, `_BIZ<med_type>`
/// per kind of care); the fund codes are those medclear settles under (setldetail); codes of
/// medclear's own begin with `MC_`. docs/NATIONAL_INTERFACE.md §7.1d lists them.
fn cum_rows(a: &pb::PersonAccumulators) -> Vec<(String, String, Cum)> {
    let pool = a.pooling_fund_pay_type.as_str();
    let pool_name = fund_name(pool);
    let mut rows = vec![(
        "C0000_BIZ21".to_owned(),
        "住院次数".to_owned(),
        Cum::Count(i64::from(a.admissions)),
    )];
    rows.push((format!("D{pool}"), format!("{pool_name}支付累计"), Cum::Yuan(a.pooling_paid_fen)));
    for ((code, kind), paid) in KINDS.iter().zip(care(a.benefit_paid.as_ref())) {
        rows.push((
            format!("D{pool}_BIZ{code}"),
            format!("{pool_name}支付累计({kind})"),
            Cum::Yuan(paid),
        ));
    }
    let deductibles = care(a.deductible_paid.as_ref());
    rows.push(("Q0000".to_owned(), "起付线累计".to_owned(), Cum::Yuan(deductibles.iter().sum())));
    for ((code, kind), paid) in KINDS.iter().zip(deductibles) {
        rows.push((format!("Q0000_BIZ{code}"), format!("起付线累计({kind})"), Cum::Yuan(paid)));
    }
    for layer in &a.layers {
        // A layer paid by a national fund under its codes; one of medclear's own, by its name.
        let (paid_code, base_code, name, base) = match layer.fund_pay_type.as_str() {
            "" => (
                format!("MC_LAYER_{}_PAID", layer.name),
                format!("MC_LAYER_{}_BASE", layer.name),
                layer.name.clone(),
                "计算基数累计",
            ),
            fund => (
                format!("D{fund}"),
                format!("TS{fund}"),
                fund_name(fund).to_owned(),
                "合规费用累计",
            ),
        };
        rows.push((paid_code, format!("{name}支付累计"), Cum::Yuan(layer.paid_fen)));
        rows.push((base_code, format!("{name}{base}"), Cum::Yuan(layer.base_fen)));
    }
    rows.push((
        "D610100".to_owned(),
        format!("{}支付累计", fund_name("610100")),
        Cum::Yuan(a.assistance_paid_fen),
    ));
    rows.push((
        "MC_Q610100".to_owned(),
        "医疗救助起付线累计".to_owned(),
        Cum::Yuan(a.assistance_deductible_fen),
    ));
    rows.push((
        "MC_INSCP_SELF_BURDEN".to_owned(),
        "符合政策范围个人负担累计".to_owned(),
        Cum::Yuan(a.inscp_self_burden_fen),
    ));
    for c in &a.chronic {
        let code = &c.disease_code;
        rows.push((
            format!("D{pool}_BIZ14_DISE{code}"),
            format!("{pool_name}支付累计(门诊慢特病 {code})"),
            Cum::Yuan(c.paid_fen),
        ));
        rows.push((
            format!("C0000_BIZ14_DISE{code}"),
            format!("门诊慢特病就诊次数({code})"),
            Cum::Count(c.visits),
        ));
    }
    let mut others: Vec<_> = a.other_counters.iter().collect();
    others.sort();
    for (key, value) in others {
        rows.push((format!("MC_{key}"), key.clone(), Cum::Yuan(*value)));
    }
    rows
}

/// 5206: the person's accumulators of the year of `cum_ym` (this year when it is left out),
/// as of now; from the routing instance of the envelope's `insuplc_admdvs`, which settles the
/// person (another instance's person: `wrong_partition`).
pub(super) async fn cumulative_query(state: &AppState, envelope: &Envelope) -> Outcome {
    let q: CumQuery = node(envelope, "data")?;
    let psn_no = codes::psn_no("data.psn_no", &q.psn_no)?;
    let month = cum_month(&q.cum_ym)?;
    let request = pb::GetAccumulatorsRequest {
        psn_no: psn_no.to_string(),
        year: month.as_ref().map_or(0, |m| m.0),
    };
    let a = routing(state, envelope, "").get_accumulators(request).await?.into_inner();
    let cum_ym = month.map(|m| m.1);
    let cuminfo = cum_rows(&a)
        .into_iter()
        .map(|(cum_type_code, cum_type_name, cum)| CumInfo {
            insutype: a.insutype.clone(),
            year: a.year.to_string(),
            cum_ym: cum_ym.clone(),
            cum_type_code,
            cum_type_name,
            cum,
        })
        .collect();
    output(&CumOutput { cuminfo })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fund_names_agree_with_the_dictionary() {
        let funds = Dictionaries::shipped().table("fund_pay_type", "").unwrap();
        for fund in ["310100", "310200", "330100", "390100", "390200", "610100"] {
            let row = funds.iter().find(|e| e.value == fund);
            assert_eq!(row.map(|e| e.label.as_str()), Some(fund_name(fund)), "{fund}");
        }
    }

    #[test]
    fn a_visit_has_its_main_diagnosis_and_its_chronic_disease() {
        let visit = pb::Visit {
            mdtrt_id: "M1".into(),
            psn_no: "P1".into(),
            begin_date: "2026-03-02".into(),
            diagnosis_code: "I10.x00".into(),
            disease_code: "M03900".into(),
            status: "open".into(),
            ..Default::default()
        };
        let rows = dise_info(&visit);
        let seen: Vec<_> =
            rows.iter().map(|r| (r.diag_srt_no, r.maindiag_flag, r.diag_code.as_str())).collect();
        assert_eq!(seen, [(1, "1", "I10.x00"), (2, "0", "M03900")]);
        assert_eq!(rows[0].diag_time.as_deref(), Some("2026-03-02 00:00:00"));
        let same = pb::Visit { disease_code: "I10.x00".into(), ..visit.clone() };
        assert_eq!(dise_info(&same).len(), 1, "the same code once");
        let none =
            pb::Visit { diagnosis_code: String::new(), disease_code: String::new(), ..visit };
        assert!(dise_info(&none).is_empty());
    }

    #[test]
    fn a_month_is_read_as_yyyymm() {
        assert_eq!(cum_month("202603").unwrap(), Some((2026, "202603".to_owned())));
        assert_eq!(cum_month(" 2026-03 ").unwrap(), Some((2026, "202603".to_owned())));
        assert_eq!(cum_month("").unwrap(), None);
        for bad in ["202613", "2026", "20260301", "2026x3"] {
            assert_eq!(cum_month(bad).unwrap_err().reason, "invalid_date", "{bad}");
        }
    }

    #[test]
    fn accumulators_become_cuminfo_rows_by_code() {
        let a = pb::PersonAccumulators {
            insutype: "310".into(),
            year: 2026,
            admissions: 1,
            pooling_paid_fen: 12_000,
            pooling_fund_pay_type: "310100".into(),
            benefit_paid: Some(pb::CareAmounts { inpatient_fen: 12_000, ..Default::default() }),
            deductible_paid: Some(pb::CareAmounts {
                general_outpatient_fen: 20_000,
                ..Default::default()
            }),
            layers: vec![pb::LayerTotal {
                name: "large_amount".into(),
                fund_pay_type: "330100".into(),
                base_fen: 5_000,
                paid_fen: 0,
            }],
            chronic: vec![pb::ChronicTotal {
                disease_code: "M03900".into(),
                paid_fen: 300,
                visits: 2,
            }],
            ..Default::default()
        };
        let rows = cum_rows(&a);
        let find = |code: &str| {
            let row = rows.iter().find(|r| r.0 == code).unwrap_or_else(|| panic!("{code}"));
            serde_json::to_string(&row.2).unwrap()
        };
        assert_eq!(find("C0000_BIZ21"), "1");
        assert_eq!(find("D310100"), "120.00");
        assert_eq!(find("D310100_BIZ21"), "120.00");
        assert_eq!(find("D310100_BIZ11"), "0.00");
        assert_eq!(find("Q0000"), "200.00");
        assert_eq!(find("Q0000_BIZ11"), "200.00");
        assert_eq!(find("TS330100"), "50.00");
        assert_eq!(find("D330100"), "0.00");
        assert_eq!(find("C0000_BIZ14_DISEM03900"), "2");
        let codes: std::collections::HashSet<_> = rows.iter().map(|r| &r.0).collect();
        assert_eq!(codes.len(), rows.len(), "each code once");
    }
}
