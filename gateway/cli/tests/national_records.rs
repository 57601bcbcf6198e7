//! The records a hospital sends and reads after settling, over real HTTP: the settlement list
//! of an inpatient stay (4101) — kept once per msgid, re-uploaded as a new version, refused
//! for another institution's, an unknown, a cancelled settlement or a visit or person it is
//! not of — and a person's chronic-disease drug records (5205): the drug lines of settled
//! chronic outpatient visits, not a general outpatient visit's, not a service item, not a
//! cancelled settlement's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_common::money::{fen_to_yuan, yuan_to_fen};
use medclear_proto::catalog::v1::{
    self as catalog_pb, catalog_service_client::CatalogServiceClient,
};
use serde_json::{Value, json};
use support::Harness;
use support::national::{HOSPITAL, count, envelope, msgid, ok, refused, register_hospital};

const TODAY: &str = "2026-03-02";
const PERSON: &str = "P420200001";
const CERTNO: &str = "420202196001010016";
/// A service item (诊查费) the hospital maps as local code `L003`.
const SERVICE: &str = "003401000230600";

/// A national amount (yuan, a JSON number) in fen, read from its text.
fn fen(v: &Value) -> i64 {
    yuan_to_fen(&v.to_string()).unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// The reason an envelope is refused for.
async fn reason(h: &Harness, infno: &str, tag: &str, input: Value) -> String {
    refused(h, envelope(infno, tag, input).to_string()).await.1
}

/// A fee line of `mdtrt_id` in the national shape: local item `local` at `pric` × `cnt`.
fn line(mdtrt_id: &str, sn: &str, local: &str, national: &str, pric: &str, cnt: &str) -> Value {
    let sum = fen_to_yuan(yuan_to_fen(pric).unwrap() * cnt.parse::<i64>().unwrap());
    json!({"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": PERSON, "chrg_bchno": "B1",
        "fee_ocur_time": "2026-03-02 09:10:00", "med_list_codg": national,
        "medins_list_codg": local, "pric": pric, "cnt": cnt,
        "det_item_fee_sumamt": sum, "rx_circ_flag": "0"})
}

async fn start() -> Harness {
    let h = Harness::start(TODAY).await;
    h.seed_drug(&[HOSPITAL]).await;
    h.add_person(&support::person(PERSON, CERTNO, "420200")).await;
    register_hospital(&h).await;
    h
}

// ---- 4101

/// An emergency admission of [`PERSON`] on 1 March, one drug line, discharged and settled
/// (2401 → 2301 → 2402 → 2304): its mdtrt_id and the settlement's `setlinfo`.
async fn settled_stay(h: &Harness) -> (String, Value) {
    let admission = json!({"mdtrtinfo": {"psn_no": PERSON, "insutype": "310", "med_type": "21",
        "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO,
        "ipt_no": "ZY0001", "dscg_maindiag_code": "I10.x00", "exp_content": {"er_flag": "1"}}});
    let (admitted, _) = ok(h, "2401", "A1", admission).await;
    let stay = admitted["result"]["mdtrt_id"].as_str().unwrap().to_owned();
    let fees = json!({"feedetail": [line(&stay, "1", "L001", support::DRUG, "100.00", "20")]});
    ok(h, "2301", "A2", fees).await;
    let discharge = json!({"dscginfo": {"mdtrt_id": stay, "endtime": "2026-03-02 10:00:00"}});
    ok(h, "2402", "A3", discharge).await;
    let settle = json!({"data": {"psn_no": PERSON, "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO,
        "medfee_sumamt": "2000.00", "psn_setlway": "01", "mdtrt_id": stay,
        "acct_used_flag": "0", "insutype": "310", "mid_setl_flag": "0"}});
    let (settled, _) = ok(h, "2304", "A4", settle).await;
    (stay, settled["setlinfo"].clone())
}

/// The settlement list of a settled stay as hsa-his sends it (`input` a JSON-encoded string,
/// `brdy` a date-time, empty lists), with `payinfo` from the settlement's own fund payments.
fn settlement_list(setlinfo: &Value, mdtrt_id: &str, psn_no: &str) -> Value {
    json!({
        "setlinfo": {"mdtrt_id": mdtrt_id, "setl_id": setlinfo["setl_id"], "psn_no": psn_no,
            "fixmedins_code": HOSPITAL, "fixmedins_name": "深圳市人民医院", "hi_setl_lv": "1",
            "medcasno": "BA2026030101", "dcla_time": "2026-03-02 17:00:00", "psn_name": "张三",
            "gend": "1", "brdy": "1960-01-01 00:00:00", "age": 66, "ntly": "CHN",
            "patn_cert_type": "01", "certno": CERTNO, "hi_type": "310", "ipt_med_type": "1",
            "adm_time": "2026-03-01 09:00:00", "adm_caty": "0501",
            "dscg_time": "2026-03-02 10:00:00", "dscg_caty": "0501", "act_ipt_days": 1,
            "dscg_way": "1", "setl_begn_date": "2026-03-01", "setl_end_date": "2026-03-02",
            "psn_selfpay": setlinfo["psn_part_amt"], "psn_ownpay": "0.00",
            "acct_pay": setlinfo["acct_pay"], "psn_cashpay": setlinfo["psn_cash_pay"]},
        "payinfo": [{"fund_pay_type": "310100", "fund_payamt": setlinfo["hifp_pay"]}],
        "opspdiseinfo": [],
        "diseinfo": [{"diag_type": "1", "diag_code": "I10.x00", "diag_name": "高血压",
            "maindiag_flag": "1", "adm_cond_type": "4"}],
        "iteminfo": [{"med_chrgitm": "09", "amt": "2000.00", "claa_sumfee": "2000.00",
            "clab_amt": "0.00", "fulamt_ownpay_amt": "0.00", "oth_amt": "0.00"}],
        "oprninfo": null,
        "bldinfo": [],
    })
}

/// The input as a JSON-encoded string, as hsa-his sends it.
fn as_string(input: &Value) -> Value {
    Value::String(input.to_string())
}

#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
struct Stored {
    setl_list_id: String,
    version: i32,
    msgid: String,
    fund_payamt_fen: i64,
    adm_date: Option<chrono::NaiveDate>,
    dscg_date: Option<chrono::NaiveDate>,
}

async fn stored(h: &Harness) -> Vec<Stored> {
    sqlx::query_as(
        "SELECT setl_list_id, version, msgid, fund_payamt_fen, adm_date, dscg_date
         FROM settlement_lists ORDER BY version",
    )
    .fetch_all(&h.routing_pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_list_is_kept_once_per_msgid_for_the_senders_standing_settlement() {
    let h = start().await;
    let (stay, setlinfo) = settled_stay(&h).await;
    let setl_id = setlinfo["setl_id"].as_str().unwrap().to_owned();
    let list = settlement_list(&setlinfo, &stay, PERSON);
    let hifp_pay = fen(&setlinfo["hifp_pay"]);
    assert!(hifp_pay > 0, "{setlinfo}");

    // Accepted: the list's id where hsa-his and openhis read it.
    let (first, text) = ok(&h, "4101", "L1", as_string(&list)).await;
    let setl_list_id = first["data"]["setl_list_id"].as_str().unwrap().to_owned();
    assert_eq!(first["setl_list_id"], json!(setl_list_id), "{text}");
    assert!(setl_list_id.starts_with("L42"), "the home province's: {setl_list_id}");
    let kept = stored(&h).await;
    assert_eq!(
        kept,
        [Stored {
            setl_list_id: setl_list_id.clone(),
            version: 1,
            msgid: msgid(HOSPITAL, "L1"),
            fund_payamt_fen: hifp_pay,
            adm_date: "2026-03-01".parse().ok(),
            dscg_date: "2026-03-02".parse().ok(),
        }]
    );
    // The document as sent, its amounts as their text.
    let document: Value =
        sqlx::query_scalar("SELECT document FROM settlement_lists WHERE setl_list_id = $1")
            .bind(&setl_list_id)
            .fetch_one(&h.routing_pool)
            .await
            .unwrap();
    assert_eq!(document["setlinfo"]["medcasno"], "BA2026030101");
    assert_eq!(document["iteminfo"][0]["amt"], "2000.00");
    assert_eq!(document["diseinfo"][0]["diag_code"], "I10.x00");

    // The same msgid again: the same list, nothing more; with another document: refused.
    let (again, _) = ok(&h, "4101", "L1", list.clone()).await;
    assert_eq!(again["data"]["setl_list_id"], json!(setl_list_id), "input as an object too");
    let mut changed = list.clone();
    changed["setlinfo"]["medcasno"] = json!("BA2026030199");
    assert_eq!(reason(&h, "4101", "L1", changed.clone()).await, "msgid_reused");
    assert_eq!(count(&h, "settlement_lists").await, 1);

    // Refused, and nothing written: an unknown settlement, another institution's, one of
    // another visit or person; dates and amounts that are none.
    let mut unknown = list.clone();
    unknown["setlinfo"]["setl_id"] = json!("S42NOSUCH");
    assert_eq!(reason(&h, "4101", "R1", unknown).await, "settlement_not_found");
    let mut elsewhere = envelope("4101", "R2", list.clone());
    elsewhere["fixmedins_code"] = json!("H44030000009");
    elsewhere["msgid"] = json!(msgid("H44030000009", "R2"));
    elsewhere["input"]["setlinfo"]["fixmedins_code"] = json!("H44030000009");
    assert_eq!(refused(&h, elsewhere.to_string()).await.1, "settlement_not_found");
    let mut named_elsewhere = list.clone();
    named_elsewhere["setlinfo"]["fixmedins_code"] = json!("H44030000009");
    assert_eq!(reason(&h, "4101", "R3", named_elsewhere).await, "mismatch");
    h.add_person(&support::person("P420200002", "420202197001010011", "420200")).await;
    let other_person = settlement_list(&setlinfo, &stay, "P420200002");
    assert_eq!(reason(&h, "4101", "R4", other_person).await, "mismatch");
    let other_visit = settlement_list(&setlinfo, "V42NOSUCH", PERSON);
    assert_eq!(reason(&h, "4101", "R5", other_visit).await, "mismatch");
    let mut bad_date = list.clone();
    bad_date["setlinfo"]["dscg_time"] = json!("2026-02-30 10:00:00");
    assert_eq!(reason(&h, "4101", "R6", bad_date).await, "invalid_date");
    let mut backwards = list.clone();
    backwards["setlinfo"]["dscg_time"] = json!("2026-02-28 10:00:00");
    assert_eq!(reason(&h, "4101", "R7", backwards).await, "end_before_begin");
    let mut inexact = list.clone();
    inexact["payinfo"][0]["fund_payamt"] = json!("12.345");
    assert_eq!(reason(&h, "4101", "R8", inexact).await, "invalid_amount");
    let mut no_setl_id = list.clone();
    no_setl_id["setlinfo"]["setl_id"] = json!("");
    assert_eq!(reason(&h, "4101", "R9", no_setl_id).await, "missing_field");
    assert_eq!(count(&h, "settlement_lists").await, 1);

    // Uploaded again with a new msgid: its next version; the first is kept.
    let (second, _) = ok(&h, "4101", "L2", changed).await;
    let second_id = second["data"]["setl_list_id"].as_str().unwrap().to_owned();
    assert_ne!(second_id, setl_list_id);
    let versions: Vec<(String, i32)> =
        stored(&h).await.into_iter().map(|s| (s.setl_list_id, s.version)).collect();
    assert_eq!(versions, [(setl_list_id.clone(), 1), (second_id, 2)]);

    // Cancelled (2305), the settlement takes no list; a retry of the first still answers it.
    ok(&h, "2305", "C1", json!({"data": {"setl_id": setl_id, "mdtrt_id": stay, "psn_no": PERSON}}))
        .await;
    assert_eq!(reason(&h, "4101", "L3", list.clone()).await, "settlement_cancelled");
    let (retried, _) = ok(&h, "4101", "L1", list).await;
    assert_eq!(retried["setl_list_id"], json!(setl_list_id));
    assert_eq!(count(&h, "settlement_lists").await, 2);
    h.finish().await;
}

// ---- 5205

/// `L003`, a service item of the national catalogue (甲) the hospital maps.
async fn seed_service(h: &Harness) {
    let mut catalog = CatalogServiceClient::new(
        medclear_common::server::connect("catalog", &h.catalog_grpc).await.unwrap(),
    );
    let item: &[(&str, &str)] =
        &[("code", SERVICE), ("kind", "service"), ("name", "诊查费"), ("begin_date", "2024-01-01")];
    let coverage: &[(&str, &str)] =
        &[("scope", "000000"), ("code", SERVICE), ("class", "A"), ("begin_date", "2024-01-01")];
    let mapping: &[(&str, &str)] = &[
        ("fixmedins_code", HOSPITAL),
        ("local_code", "L003"),
        ("national_code", SERVICE),
        ("begin_date", "2024-01-01"),
    ];
    support::import(&mut catalog, catalog_pb::ImportTarget::Items, &[item]).await;
    support::import(&mut catalog, catalog_pb::ImportTarget::Coverage, &[coverage]).await;
    support::import(&mut catalog, catalog_pb::ImportTarget::Mappings, &[mapping]).await;
}

/// An outpatient visit of [`PERSON`] (med_type 11, or 14 for hypertension) with `lines`
/// (`(sn, local, national, pric, cnt)`), settled: its mdtrt_id and setl_id.
async fn settled_visit(
    h: &Harness,
    tag: &str,
    med_type: &str,
    lines: &[(&str, &str, &str, &str, &str)],
) -> (String, String) {
    let mut registration = json!({"data": {"psn_no": PERSON, "insutype": "310",
        "begntime": "2026-03-02T09:05:00", "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO,
        "ipt_otp_no": format!("MZ{tag}"), "med_type": med_type}});
    if med_type == "14" {
        registration["data"]["dise_codg"] = json!("M03900");
    }
    let (visit, _) = ok(h, "2201", &format!("{tag}-2201"), registration).await;
    let mdtrt_id = visit["data"]["mdtrt_id"].as_str().unwrap().to_owned();
    let feedetail: Vec<Value> = lines
        .iter()
        .map(|(sn, local, national, pric, cnt)| line(&mdtrt_id, sn, local, national, pric, cnt))
        .collect();
    let total: i64 = feedetail
        .iter()
        .map(|l| yuan_to_fen(l["det_item_fee_sumamt"].as_str().unwrap()).unwrap())
        .sum();
    ok(h, "2204", &format!("{tag}-2204"), json!({ "feedetail": feedetail })).await;
    let settle = json!({"data": {"psn_no": PERSON, "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO,
        "med_type": med_type, "medfee_sumamt": fen_to_yuan(total),
        "psn_setlway": "01", "mdtrt_id": mdtrt_id, "acct_used_flag": "0", "insutype": "310"}});
    let (settled, _) = ok(h, "2207", &format!("{tag}-2207"), settle).await;
    (mdtrt_id, settled["setlinfo"]["setl_id"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chronic_drug_records_are_the_drugs_of_standing_chronic_settlements() {
    let h = start().await;
    seed_service(&h).await;
    // A referral filing for Shenzhen, and a hypertension filing (2503).
    let referral = json!({"refmedin": {"psn_no": PERSON, "insutype": "310",
        "diag_code": "I10.x00x002", "diag_name": "高血压", "reflin_medins_no": HOSPITAL,
        "reflin_medins_name": "深圳市人民医院", "mdtrtarea_admdvs": "440300", "refl_type": "1",
        "refl_date": TODAY, "refl_rea": "病情需要", "refl_opnn": "同意"}});
    ok(&h, "2501", "F1", referral).await;
    ok(
        &h,
        "2503",
        "F2",
        json!({"data": {"psn_no": PERSON, "insutype": "310",
        "opsp_dise_code": "M03900", "opsp_dise_name": "高血压", "insu_optins": "420200",
        "ide_fixmedins_no": HOSPITAL, "ide_fixmedins_name": "深圳市人民医院",
        "hosp_ide_date": TODAY, "diag_dr_codg": "D01", "diag_dr_name": "李医生",
        "begndate": TODAY}}),
    )
    .await;

    // 5205 before any: an empty list.
    let query = |begntime: &str, endtime: &str| json!({"data": {"psn_no": PERSON, "begntime": begntime, "endtime": endtime}});
    let (none, text) = ok(&h, "5205", "Q0", query("2026-01-01 00:00:00", "")).await;
    assert_eq!(none["feedetail"], json!([]), "{text}");

    // A chronic visit: a drug and a service item, settled; a general outpatient visit's drug;
    // a chronic visit settled and cancelled.
    let (chronic, setl_id) = settled_visit(
        &h,
        "C",
        "14",
        &[("1", "L001", support::DRUG, "12.30", "10"), ("2", "L003", SERVICE, "5.00", "1")],
    )
    .await;
    settled_visit(&h, "G", "11", &[("1", "L001", support::DRUG, "3.00", "1")]).await;
    let (undone, undone_setl) =
        settled_visit(&h, "U", "14", &[("1", "L001", support::DRUG, "7.00", "2")]).await;
    ok(
        &h,
        "2208",
        "U-2208",
        json!({"data": {"setl_id": undone_setl, "mdtrt_id": undone, "psn_no": PERSON}}),
    )
    .await;

    let (found, text) =
        ok(&h, "5205", "Q1", query("2026-03-01 00:00:00", "2026-03-02 23:59:59")).await;
    let rows = found["feedetail"].as_array().unwrap_or_else(|| panic!("a list: {text}"));
    assert_eq!(rows.len(), 1, "the chronic visit's drug only: {text}");
    let row = &rows[0];
    for (field, value) in [
        ("feedetl_sn", json!("1")),
        ("mdtrt_id", json!(chronic)),
        ("setl_id", json!(setl_id)),
        ("fixmedins_code", json!(HOSPITAL)),
        ("fixmedins_name", json!("深圳市人民医院")),
        ("psn_no", json!(PERSON)),
        ("med_type", json!("14")),
        ("fee_ocur_time", json!("2026-03-02 00:00:00")),
        ("med_list_codg", json!(support::DRUG)),
        ("hilist_code", json!(support::DRUG)),
        ("hilist_name", json!("甲药")),
        ("medins_list_codg", json!("L001")),
        ("med_chrgitm_type", json!("09")),
        ("list_type", json!("101")),
        ("chrgitm_lv", json!("01")),
        ("opsp_dise_code", json!("M03900")),
        ("rx_drord_no", Value::Null),
        ("spec", Value::Null),
    ] {
        assert_eq!(row[field], value, "{field}: {text}");
    }
    // Amounts as JSON numbers with two decimals, written from fen.
    assert!(text.contains(r#""pric":12.30"#) && text.contains(r#""cnt":10"#), "{text}");
    assert!(text.contains(r#""det_item_fee_sumamt":123.00"#), "{text}");
    assert_eq!(fen(&row["det_item_fee_sumamt"]), 12_300);

    // Outside the range, and a person with none: empty; an unknown person: refused.
    let (before, _) = ok(&h, "5205", "Q2", query("", "2026-03-01 23:59:59")).await;
    assert_eq!(before["feedetail"], json!([]));
    let (from_today, _) = ok(&h, "5205", "Q3", query("2026-03-02 12:04:00", "")).await;
    assert_eq!(from_today["feedetail"].as_array().map(Vec::len), Some(1));
    h.add_person(&support::person("P420200002", "420202197001010011", "420200")).await;
    let other = json!({"data": {"psn_no": "P420200002", "begntime": "", "endtime": ""}});
    let (others, _) = ok(&h, "5205", "Q4", other).await;
    assert_eq!(others["feedetail"], json!([]));
    let unknown = json!({"data": {"psn_no": "P420200003", "begntime": "", "endtime": ""}});
    assert_eq!(reason(&h, "5205", "Q5", unknown).await, "person_not_found");
    h.finish().await;
}
