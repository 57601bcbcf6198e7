//! 3201 (reconciling a day's totals) and 3202 (reconciling a day's settlements one by one,
//! from a detail file uploaded with 9101; the result file is downloaded with 9102); then, the
//! month reconciled, 3203 (applying for its clearing) and 3204 (revoking the application).

use medclear_common::{codes, money::fen_to_yuan};
use serde::{Deserialize, Serialize};

use super::envelope::{Envelope, Outcome, Refusal, count, date_of, fen, node, output};
use super::files::{self, FileInfoOutput, file_info};
use crate::{json::text, state::AppState};

#[derive(Debug, Default, Deserialize)]
struct TotalsNode {
    #[serde(default, deserialize_with = "text")]
    insutype: String,
    #[serde(default, deserialize_with = "text")]
    clr_type: String,
    #[serde(default, deserialize_with = "text")]
    setl_optins: String,
    #[serde(default, deserialize_with = "text")]
    stmt_begndate: String,
    #[serde(default, deserialize_with = "text")]
    stmt_enddate: String,
    #[serde(default, deserialize_with = "text")]
    medfee_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    fund_pay_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    acct_pay: String,
    #[serde(default, deserialize_with = "text")]
    fixmedins_setl_cnt: String,
}

#[derive(Debug, Serialize)]
struct StmtOutput {
    stmtinfo: StmtInfo,
}

#[derive(Debug, Serialize)]
struct StmtInfo {
    setl_optins: String,
    /// `0` balanced (平), `1` not (不平).
    stmt_rslt: &'static str,
    stmt_rslt_dscr: String,
}

/// 3201: the institution's totals of a day against clearing's.
pub(super) async fn reconcile_totals(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::clearing::v1 as cpb;
    let t: TotalsNode = node(envelope, "data")?;
    let insutype = codes::insutype("data.insutype", &t.insutype)?.to_owned();
    let clr_type = codes::clr_type("data.clr_type", &t.clr_type)?.to_owned();
    let setl_optins = codes::optional_code("data.setl_optins", &t.setl_optins, 6)?.to_owned();
    let begin = date_of("stmt_begndate", &t.stmt_begndate)?;
    let end = date_of("stmt_enddate", &t.stmt_enddate)?;
    if begin != end {
        return Err(Refusal::new(
            "unsupported_range",
            "totals are reconciled one day at a time: stmt_begndate and stmt_enddate the same day",
        ));
    }
    let count = count("fixmedins_setl_cnt", &t.fixmedins_setl_cnt)?;
    let request = cpb::ReconcileTotalsRequest {
        msgid: envelope.msgid.clone(),
        fixmedins_code: envelope.fixmedins_code.clone(),
        stmt_date: begin,
        insutype,
        clr_type,
        hospital: Some(cpb::ReconTotals {
            setl_cnt: count,
            medfee_sumamt_fen: fen("medfee_sumamt", &t.medfee_sumamt)?,
            fund_pay_sumamt_fen: fen("fund_pay_sumamt", &t.fund_pay_sumamt)?,
            acct_pay_fen: fen("acct_pay", &t.acct_pay)?,
        }),
    };
    let answer = state.clearing().reconcile_totals(request).await?.into_inner();
    let balanced = answer.stmt_rslt() == cpb::ReconResult::Match;
    output(&StmtOutput {
        stmtinfo: StmtInfo {
            setl_optins,
            stmt_rslt: if balanced { "0" } else { "1" },
            stmt_rslt_dscr: answer.stmt_rslt_dscr,
        },
    })
}

// 3202 ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct DetailsNode {
    #[serde(default, deserialize_with = "text")]
    file_qury_no: String,
    #[serde(default, deserialize_with = "text")]
    stmt_begndate: String,
    #[serde(default, deserialize_with = "text")]
    stmt_enddate: String,
    #[serde(default, deserialize_with = "text")]
    medfee_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    fund_pay_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    fixmedins_setl_cnt: String,
    #[serde(default, deserialize_with = "text")]
    clr_type: String,
}

/// One line of the detail file: `setl_id`, `mdtrt_id`, `psn_no`, `medfee_sumamt`,
/// `fund_pay_sumamt`, `acct_pay`, `refd_setl_flag` (1: a cancellation), TAB-separated;
/// `null` is empty.
fn detail_line(n: usize, line: &str) -> Result<medclear_proto::clearing::v1::ReconDetail, Refusal> {
    let cols: Vec<&str> =
        line.split('\t').map(|c| if c.trim() == "null" { "" } else { c.trim() }).collect();
    if cols.len() < 7 {
        return Err(Refusal::new(
            "invalid_file",
            format!("line {n}: 7 TAB-separated columns expected, {} found", cols.len()),
        ));
    }
    let amount = |i: usize, name: &str| fen(&format!("line {n} {name}"), cols[i]);
    let id = |i: usize, name: &str| codes::id(&format!("line {n} {name}"), cols[i]);
    Ok(medclear_proto::clearing::v1::ReconDetail {
        setl_id: id(0, "setl_id")?.to_owned(),
        msgid: String::new(),
        mdtrt_id: id(1, "mdtrt_id")?.to_owned(),
        psn_no: codes::psn_no(&format!("line {n} psn_no"), cols[2])?.to_string(),
        medfee_sumamt_fen: amount(3, "medfee_sumamt")?,
        fund_pay_sumamt_fen: amount(4, "fund_pay_sumamt")?,
        acct_pay_fen: amount(5, "acct_pay")?,
        refd_setl_flag: cols[6] == "1",
    })
}

/// 3202: the uploaded detail file (9101) against clearing's settlements of that day. The
/// result file (9102) lists each discrepancy: `psn_no`, `mdtrt_id`, `setl_id`, `msgid`,
/// `stmt_rslt` (1 the centre has it only, 2 the institution has it only, 3 they differ),
/// `refd_setl_flag`, `memo` (the differing fields), `medfee_sumamt`, `fund_pay_sumamt`,
/// `acct_pay` — the centre's where it has the row.
pub(super) async fn reconcile_details(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::clearing::v1 as cpb;
    let d: DetailsNode = node(envelope, "data")?;
    let file_qury_no = codes::id("data.file_qury_no", &d.file_qury_no)?.to_owned();
    let clr_type = match d.clr_type.trim() {
        "" => String::new(),
        clr_type => codes::clr_type("data.clr_type", clr_type)?.to_owned(),
    };
    let day = date_of("stmt_begndate", &d.stmt_begndate)?;
    if day != date_of("stmt_enddate", &d.stmt_enddate)? {
        return Err(Refusal::new(
            "unsupported_range",
            "details are reconciled one day at a time: stmt_begndate and stmt_enddate the same day",
        ));
    }
    let mut clearing = state.clearing();
    let file = clearing
        .get_file(cpb::GetFileRequest {
            fixmedins_code: envelope.fixmedins_code.clone(),
            file_qury_no: file_qury_no.clone(),
        })
        .await?
        .into_inner();
    let text = files::unzip_first(&file.content)?;
    let text = String::from_utf8(text)
        .map_err(|_| Refusal::new("invalid_file", "the detail file is not UTF-8 text"))?;
    if text.contains('\0') {
        return Err(Refusal::new("control_character", "the detail file contains NUL characters"));
    }
    let details = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| detail_line(i + 1, l))
        .collect::<Result<Vec<_>, _>>()?;
    // The envelope's totals must be the file's.
    let medfee: i64 = details.iter().map(|x| x.medfee_sumamt_fen).sum();
    let fund: i64 = details.iter().map(|x| x.fund_pay_sumamt_fen).sum();
    let sent =
        (fen("medfee_sumamt", &d.medfee_sumamt)?, fen("fund_pay_sumamt", &d.fund_pay_sumamt)?);
    let count = count("fixmedins_setl_cnt", &d.fixmedins_setl_cnt)?;
    if sent != (medfee, fund) || usize::try_from(count).ok() != Some(details.len()) {
        return Err(Refusal::new(
            "file_mismatch",
            format!(
                "the file has {} lines, medfee_sumamt {}, fund_pay_sumamt {}: not the totals sent",
                details.len(),
                fen_to_yuan(medfee),
                fen_to_yuan(fund)
            ),
        ));
    }
    let answer = clearing
        .reconcile_details(cpb::ReconcileDetailsRequest {
            msgid: envelope.msgid.clone(),
            fixmedins_code: envelope.fixmedins_code.clone(),
            stmt_date: day,
            insutype: String::new(),
            clr_type,
            details,
        })
        .await?
        .into_inner();
    let mut result = String::new();
    for x in &answer.discrepancies {
        let (code, row) = match cpb::DiscrepancyKind::try_from(x.kind) {
            Ok(cpb::DiscrepancyKind::MissingAtHospital) => ("1", x.center.clone()),
            Ok(cpb::DiscrepancyKind::MissingAtCenter) => ("2", x.hospital.clone()),
            _ => ("3", x.center.clone()),
        };
        let row = row.unwrap_or_default();
        result.push_str(&format!(
            "{}\t{}\t{}\t{}\t{code}\t{}\t{}\t{}\t{}\t{}\n",
            row.psn_no,
            row.mdtrt_id,
            x.setl_id,
            row.msgid,
            u8::from(row.refd_setl_flag),
            x.differing_fields.join(","),
            fen_to_yuan(row.medfee_sumamt_fen),
            fen_to_yuan(row.fund_pay_sumamt_fen),
            fen_to_yuan(row.acct_pay_fen)
        ));
    }
    let name = format!("{file_qury_no}_result");
    let zip = files::zip_one(&format!("{name}.txt"), result.as_bytes())?;
    let stored = clearing
        .put_file(cpb::PutFileRequest {
            fixmedins_code: envelope.fixmedins_code.clone(),
            filename: format!("{name}.zip"),
            kind: "result".into(),
            content: zip,
            msgid: envelope.msgid.clone(),
        })
        .await?
        .into_inner();
    output(&FileInfoOutput { fileinfo: file_info(stored) })
}

// 3203 / 3204 --------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct ApplicationNode {
    #[serde(default, deserialize_with = "text")]
    clr_type: String,
    #[serde(default, deserialize_with = "text")]
    clr_way: String,
    #[serde(default, deserialize_with = "text")]
    setlym: String,
    #[serde(default, deserialize_with = "text")]
    psntime: String,
    #[serde(default, deserialize_with = "text")]
    medfee_sumamt: String,
    #[serde(default, deserialize_with = "text")]
    med_sumfee: String,
    #[serde(default, deserialize_with = "text")]
    fund_appy_sum: String,
    #[serde(default, deserialize_with = "text")]
    cash_payamt: String,
    #[serde(default, deserialize_with = "text")]
    acct_pay: String,
    #[serde(default, deserialize_with = "text")]
    begndate: String,
    #[serde(default, deserialize_with = "text")]
    enddate: String,
}

#[derive(Debug, Serialize)]
struct ApplicationOutput {
    result: ApplicationResult,
}

#[derive(Debug, Serialize)]
struct ApplicationResult {
    clr_appy_evt_id: String,
}

/// 3203: the institution applies for the clearing of a month in one clearing category, with
/// its totals of the month; the clearing service accepts them only when they are its own.
pub(super) async fn apply_for_clearing(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::clearing::v1 as cpb;
    let a: ApplicationNode = node(envelope, "data")?;
    let request = cpb::ApplyForClearingRequest {
        request_id: envelope.msgid.clone(),
        fixmedins_code: envelope.fixmedins_code.clone(),
        clr_type: codes::clr_type("data.clr_type", &a.clr_type)?.to_owned(),
        clr_way: codes::code("data.clr_way", &a.clr_way, 30)?.to_owned(),
        setlym: codes::digits("data.setlym", &a.setlym, 6, 6)?.to_owned(),
        begndate: date_of("begndate", &a.begndate)?,
        enddate: date_of("enddate", &a.enddate)?,
        psntime: count("data.psntime", &a.psntime)?,
        medfee_sumamt_fen: fen("medfee_sumamt", &a.medfee_sumamt)?,
        med_sumfee_fen: fen("med_sumfee", &a.med_sumfee)?,
        fund_appy_sum_fen: fen("fund_appy_sum", &a.fund_appy_sum)?,
        cash_payamt_fen: fen("cash_payamt", &a.cash_payamt)?,
        acct_pay_fen: fen("acct_pay", &a.acct_pay)?,
    };
    let application = state.clearing().apply_for_clearing(request).await?.into_inner();
    output(&ApplicationOutput {
        result: ApplicationResult { clr_appy_evt_id: application.clr_appy_evt_id },
    })
}

#[derive(Debug, Default, Deserialize)]
struct RevocationNode {
    #[serde(default, deserialize_with = "text")]
    clr_appy_evt_id: String,
    #[serde(default, deserialize_with = "text")]
    memo: String,
}

/// 3204: the institution revokes its clearing application (while the period is not netted);
/// revoking it again answers the same. No output.
pub(super) async fn revoke_clearing_application(state: &AppState, envelope: &Envelope) -> Outcome {
    use medclear_proto::clearing::v1 as cpb;
    let r: RevocationNode = node(envelope, "data")?;
    let request = cpb::RevokeClearingApplicationRequest {
        request_id: envelope.msgid.clone(),
        fixmedins_code: envelope.fixmedins_code.clone(),
        clr_appy_evt_id: codes::id("data.clr_appy_evt_id", &r.clr_appy_evt_id)?.to_owned(),
        memo: codes::text("data.memo", &r.memo, 500)?.to_owned(),
    };
    state.clearing().revoke_clearing_application(request).await?;
    Ok(None)
}
