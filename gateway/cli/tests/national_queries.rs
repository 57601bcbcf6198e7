//! The national queries and admission corrections over real HTTP: a Shenzhen hospital asks
//! who it is (1201), runs a Huangshi patient's outpatient visit and admission, and asks what
//! the platform holds of them — the visits (5201), a visit's fee lines as its settlement
//! classified them (5204), the person's yearly accumulators (5206) — and corrects the
//! admission (2403) and its discharge (2405); reads a visit's diagnoses (5202) and the national
//! code tables (1901).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_common::money::yuan_to_fen;
use serde_json::{Value, json};
use support::Harness;
use support::national::{HOSPITAL, envelope, ok, refused, register_hospital};

const TODAY: &str = "2026-03-02";
const PERSON: &str = "P420200001";
const CERTNO: &str = "420202196001010016";

/// A national amount (yuan, a JSON number) in fen, read from its text.
fn fen(v: &Value) -> i64 {
    yuan_to_fen(&v.to_string()).unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// The reason an envelope is refused for.
async fn reason(h: &Harness, infno: &str, tag: &str, input: Value) -> String {
    refused(h, envelope(infno, tag, input).to_string()).await.1
}

/// A fee line of `mdtrt_id` in the national shape: the seeded drug at `pric` × `cnt`.
fn line(mdtrt_id: &str, sn: &str, pric: &str, cnt: &str, sum: &str, time: &str) -> Value {
    json!({"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": PERSON, "chrg_bchno": "B1",
        "fee_ocur_time": time, "med_list_codg": support::DRUG, "medins_list_codg": "L001",
        "pric": pric, "cnt": cnt, "det_item_fee_sumamt": sum, "rx_circ_flag": "0"})
}

/// The `cum` of one `cuminfo` row, by its code, in fen (or as a count).
fn cum(output: &Value, code: &str) -> i64 {
    let row = output["cuminfo"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cum_type_code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {output}"));
    if row["cum"].is_i64() { row["cum"].as_i64().unwrap() } else { fen(&row["cum"]) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hospital_queries_what_the_platform_holds_and_corrects_an_admission() {
    let h = Harness::start(TODAY).await;
    h.seed_drug(&[HOSPITAL]).await;
    h.add_person(&support::person(PERSON, CERTNO, "420200")).await;
    register_hospital(&h).await;

    // 1201: the caller itself, by its code or by none; an unknown code is no row; a name alone
    // is not a query served.
    let (own, text) = ok(
        &h,
        "1201",
        "I1",
        json!({"medinsinfo": {"fixmedins_code": HOSPITAL, "fixmedins_type": "1", "fixmedins_name": null}}),
    )
    .await;
    let institution = &own["medinsinfo"][0];
    for (field, value) in [
        ("fixmedins_code", json!(HOSPITAL)),
        ("fixmedins_name", json!("深圳市人民医院")),
        ("fixmedins_type", json!("1")),
        ("hosp_lv", json!("12")),
        ("uscc", Value::Null),
    ] {
        assert_eq!(institution[field], value, "{field}: {text}");
    }
    let (unnamed, _) = ok(&h, "1201", "I2", json!({"medinsinfo": {}})).await;
    assert_eq!(unnamed, own, "no code: the caller");
    let (unknown, _) =
        ok(&h, "1201", "I3", json!({"medinsinfo": {"fixmedins_code": "H11000000009"}})).await;
    assert_eq!(unknown["medinsinfo"], json!([]));
    let (pharmacies, _) = ok(
        &h,
        "1201",
        "I4",
        json!({"medinsinfo": {"fixmedins_code": HOSPITAL, "fixmedins_type": "2"}}),
    )
    .await;
    assert_eq!(pharmacies["medinsinfo"], json!([]), "a hospital is not a pharmacy");
    let by_name = json!({"medinsinfo": {"fixmedins_name": "深圳市人民医院"}});
    assert_eq!(reason(&h, "1201", "I5", by_name).await, "unsupported_query");

    // An emergency outpatient visit: lines 1 and 2 uploaded, 2 cancelled, 3 uploaded.
    let registration = json!({"data": {"psn_no": PERSON, "insutype": "310",
        "begntime": "2026-03-02 09:01:00", "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO,
        "ipt_otp_no": "MZ0001", "exp_content": {"er_flag": "1"}}});
    let (visit, _) = ok(&h, "2201", "O1", registration).await;
    let outpatient = visit["data"]["mdtrt_id"].as_str().unwrap().to_owned();
    let at = "2026-03-02 09:10:00";
    let lines = json!({"feedetail": [line(&outpatient, "1", "12.30", "2", "24.60", at),
        line(&outpatient, "2", "5.00", "1", "5.00", at)]});
    ok(&h, "2204", "O2", lines).await;
    ok(&h, "2205", "O3", json!({"data": {"mdtrt_id": outpatient, "feedetl_sn": "2"}})).await;
    let third = json!({"feedetail": [line(&outpatient, "3", "0.10", "3", "0.30", at)]});
    ok(&h, "2204", "O4", third).await;

    // 5204 before settling: the standing lines as uploaded, no classification yet.
    let fees = |tag: &str, extra: Value| {
        let mut data = json!({"mdtrt_id": outpatient, "psn_no": PERSON});
        data.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        (tag.to_owned(), json!({ "data": data }))
    };
    let (tag, input) = fees("F1", json!({}));
    let (unsettled, text) = ok(&h, "5204", &tag, input).await;
    let rows = unsettled.as_array().unwrap_or_else(|| panic!("a list: {text}"));
    assert_eq!(
        rows.iter().map(|r| r["feedetl_sn"].as_str().unwrap()).collect::<Vec<_>>(),
        ["1", "3"],
        "the cancelled line is left out: {text}"
    );
    assert!(text.contains(r#""cnt":2,"#) && text.contains(r#""pric":12.30"#), "{text}");
    assert!(text.contains(r#""det_item_fee_sumamt":24.60"#), "{text}");
    for field in ["setl_id", "chrgitm_lv", "inscp_scp_amt", "fulamt_ownpay_amt", "selfpay_prop"] {
        assert!(rows[0][field].is_null(), "{field}: {text}");
    }
    assert_eq!(
        (rows[0]["med_type"].as_str(), rows[0]["medins_list_codg"].as_str()),
        (Some("11"), Some("L001"))
    );
    assert_eq!(rows[0]["fee_ocur_time"], "2026-03-02 00:00:00");

    // Settled: each line as its settlement classified and split it; the parts add up to the
    // line, the lines to the settlement.
    let settle = json!({"data": {"psn_no": PERSON, "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO,
        "med_type": "11", "medfee_sumamt": "24.90", "psn_setlway": "01", "mdtrt_id": outpatient,
        "acct_used_flag": "0", "insutype": "310"}});
    let (first, _) = ok(&h, "2207", "S1", settle.clone()).await;
    let first_setl_id = first["setlinfo"]["setl_id"].as_str().unwrap().to_owned();
    let (tag, input) = fees("F2", json!({"setl_id": first_setl_id}));
    let (settled, text) = ok(&h, "5204", &tag, input).await;
    let rows = settled.as_array().unwrap();
    let mut inscp = 0;
    for row in rows {
        assert_eq!(row["setl_id"], json!(first_setl_id), "{text}");
        assert_eq!(row["chrgitm_lv"], "01", "a 甲 drug: {text}");
        let parts: i64 = ["fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt"]
            .iter()
            .map(|f| fen(&row[f]))
            .sum();
        assert_eq!(parts, fen(&row["det_item_fee_sumamt"]), "{text}");
        inscp += fen(&row["inscp_scp_amt"]);
    }
    assert_eq!(inscp, fen(&first["setlinfo"]["inscp_scp_amt"]), "{text}");
    // Another person's, another hospital's, or not this visit's settlement: nothing.
    let (tag, input) = fees("F3", json!({"psn_no": "P420200002"}));
    assert_eq!(reason(&h, "5204", &tag, input).await, "visit_not_found");
    let (tag, input) = fees("F4", json!({"setl_id": "S42NOSUCH"}));
    assert_eq!(reason(&h, "5204", &tag, input).await, "settlement_not_found");
    let mut elsewhere = envelope("5204", "F5", json!({"data": {"mdtrt_id": outpatient}}));
    elsewhere["fixmedins_code"] = json!("H44030000009");
    elsewhere["msgid"] = json!(support::national::msgid("H44030000009", "F5"));
    assert_eq!(refused(&h, elsewhere.to_string()).await.1, "visit_not_found");

    // Cancelled: the visit is open again, its lines unclassified, the old settlement not its.
    ok(
        &h,
        "2208",
        "C1",
        json!({"data": {"setl_id": first_setl_id, "mdtrt_id": outpatient, "psn_no": PERSON}}),
    )
    .await;
    let (tag, input) = fees("F6", json!({"setl_id": first_setl_id}));
    assert_eq!(reason(&h, "5204", &tag, input).await, "settlement_not_found");
    let (tag, input) = fees("F7", json!({}));
    let (reopened, _) = ok(&h, "5204", &tag, input).await;
    assert!(reopened[0]["setl_id"].is_null() && reopened[0]["chrgitm_lv"].is_null(), "{reopened}");
    let (outpatient_settled, _) = ok(&h, "2207", "S2", settle).await;

    // An emergency admission on 1 March, a line that day; 2403 moves it to 28 February with
    // its main diagnosis, but not past its line.
    let admission = json!({"mdtrtinfo": {"psn_no": PERSON, "insutype": "310", "med_type": "21",
        "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO,
        "ipt_no": "ZY0001", "dscg_maindiag_code": "I10.x00", "exp_content": {"er_flag": "1"}}});
    let (admitted, _) = ok(&h, "2401", "A1", admission).await;
    let inpatient = admitted["result"]["mdtrt_id"].as_str().unwrap().to_owned();
    let stay = json!({"feedetail": [line(&inpatient, "1", "100.00", "20", "2000.00", "2026-03-01 10:00:00")]});
    ok(&h, "2301", "A2", stay).await;
    let change = |begntime: &str| {
        json!({"adminfo": {"mdtrt_id": inpatient, "psn_no": PERSON, "begntime": begntime,
            "med_type": "21", "dscg_maindiag_code": null, "endtime": null},
            "diseinfo": [{"diag_type": "1", "maindiag_flag": "0", "diag_srt_no": 2, "diag_code": "E11.900"},
                {"diag_type": "1", "maindiag_flag": "1", "diag_srt_no": 1, "diag_code": "K35.800"}]})
    };
    assert_eq!(reason(&h, "2403", "A3", change("2026-03-02 08:00:00")).await, "invalid_date");
    ok(&h, "2403", "A4", change("2026-02-28 20:00:00")).await;
    let stored: (chrono::NaiveDate, String) =
        sqlx::query_as("SELECT begin_date, diagnosis_code FROM visits WHERE mdtrt_id = $1")
            .bind(&inpatient)
            .fetch_one(&h.routing_pool)
            .await
            .unwrap();
    assert_eq!((stored.0.to_string().as_str(), stored.1.as_str()), ("2026-02-28", "K35.800"));
    let bad_diagnosis = json!({"adminfo": {"mdtrt_id": inpatient, "dscg_maindiag_code": "11"}});
    assert_eq!(reason(&h, "2403", "A5", bad_diagnosis).await, "invalid_diagnosis");
    let outpatient_change = json!({"adminfo": {"mdtrt_id": outpatient, "med_type": "21"}});
    assert_eq!(reason(&h, "2403", "A6", outpatient_change).await, "visit_state", "settled");

    // Discharged, the discharge cancelled (twice: a retry), discharged again.
    let discharge = json!({"dscginfo": {"mdtrt_id": inpatient, "endtime": "2026-03-02 10:00:00"}});
    ok(&h, "2402", "D1", discharge.clone()).await;
    let undo = json!({"data": {"mdtrt_id": inpatient, "psn_no": PERSON}});
    ok(&h, "2405", "D2", undo.clone()).await;
    ok(&h, "2405", "D3", undo.clone()).await;
    let status: (String, Option<chrono::NaiveDate>) =
        sqlx::query_as("SELECT status, end_date FROM visits WHERE mdtrt_id = $1")
            .bind(&inpatient)
            .fetch_one(&h.routing_pool)
            .await
            .unwrap();
    assert_eq!(status, ("open".to_owned(), None));
    let not_admission = json!({"data": {"mdtrt_id": "V42NOSUCH"}});
    assert_eq!(reason(&h, "2405", "D4", not_admission).await, "visit_not_found");

    // 5201 while the admission is open: both visits, the admission from 28 February on.
    let visits = |tag: &str, data: Value| {
        let h = &h;
        let tag = tag.to_owned();
        async move { ok(h, "5201", &tag, json!({ "data": data })).await }
    };
    let (both, text) = visits(
        "V1",
        json!({"psn_no": PERSON, "begntime": "2026-03-01 00:00:00", "endtime": "2026-03-02 23:59:59"}),
    )
    .await;
    let rows = both["mdtrtinfo"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{text}");
    let stay = rows.iter().find(|r| r["mdtrt_id"] == json!(inpatient)).unwrap();
    for (field, value) in [
        ("med_type", json!("21")),
        ("begntime", json!("2026-02-28 00:00:00")),
        ("endtime", Value::Null),
        ("inhosp_stas", json!("1")),
        ("dscg_maindiag_code", json!("K35.800")),
        ("psn_name", json!("张三")),
        ("certno", json!(CERTNO)),
        ("gend", json!("1")),
        ("age", json!(66)),
        ("insutype", json!("310")),
        ("psn_type", json!("1101")),
        ("insu_optins", json!("420200")),
        ("fixmedins_code", json!(HOSPITAL)),
        ("vali_flag", json!("1")),
        ("ipt_otp_no", Value::Null),
    ] {
        assert_eq!(stay[field], value, "{field}: {text}");
    }
    let visit = rows.iter().find(|r| r["mdtrt_id"] == json!(outpatient)).unwrap();
    assert_eq!(
        (visit["med_type"].as_str(), visit["inhosp_stas"].as_str()),
        (Some("11"), Some("0"))
    );
    // By medical type (Hunan's own 2101 would be refused here: Shenzhen's platform has none),
    // by id, outside the range, another hospital's.
    let (admissions, _) = visits(
        "V2",
        json!({"psn_no": PERSON, "begntime": "2026-03-01",
        "endtime": "2026-03-02", "med_type": "21"}),
    )
    .await;
    assert_eq!(admissions["mdtrtinfo"].as_array().unwrap().len(), 1);
    let (one, _) = visits("V3", json!({"psn_no": PERSON, "mdtrt_id": outpatient})).await;
    assert_eq!(one["mdtrtinfo"][0]["mdtrt_id"], json!(outpatient));
    let (february, _) = visits(
        "V4",
        json!({"psn_no": PERSON, "begntime": "2026-02-01",
        "endtime": "2026-02-27"}),
    )
    .await;
    assert_eq!(february["mdtrtinfo"], json!([]));
    let mut elsewhere = envelope("5201", "V5", json!({"data": {"psn_no": PERSON}}));
    elsewhere["fixmedins_code"] = json!("H44030000009");
    elsewhere["msgid"] = json!(support::national::msgid("H44030000009", "V5"));
    let (status, answer) = h.post_raw(support::national::PATH, elsewhere.to_string()).await;
    assert_eq!((status, &answer["output"]["mdtrtinfo"]), (200, &json!([])), "{answer}");
    let backwards =
        json!({"data": {"psn_no": PERSON, "begntime": "2026-03-02", "endtime": "2026-03-01"}});
    assert_eq!(reason(&h, "5201", "V6", backwards).await, "end_before_begin");

    // Discharged again and settled: a settled admission's discharge stands.
    ok(&h, "2402", "D5", discharge).await;
    let settle_stay = json!({"data": {"psn_no": PERSON, "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO,
        "medfee_sumamt": "2000.00", "psn_setlway": "01", "mdtrt_id": inpatient,
        "acct_used_flag": "0", "insutype": "310", "mid_setl_flag": "0"}});
    let (stay_settled, _) = ok(&h, "2304", "S3", settle_stay).await;
    assert_eq!(reason(&h, "2405", "D6", undo).await, "already_settled");
    let (discharged, _) = visits("V7", json!({"psn_no": PERSON, "mdtrt_id": inpatient})).await;
    let row = &discharged["mdtrtinfo"][0];
    assert_eq!(
        (row["endtime"].as_str(), row["inhosp_stas"].as_str()),
        (Some("2026-03-02 00:00:00"), Some("0"))
    );
    assert_eq!(row["ipt_days"], 2, "28 February to 2 March");

    // 5206: the year's accumulators by code — the admission counted, the pooling fund per kind
    // of care (the cancelled settlement undone), the outpatient deductible (per year).
    let (year, text) =
        ok(&h, "5206", "Y1", json!({"data": {"psn_no": PERSON, "cum_ym": "202603"}})).await;
    let row = &year["cuminfo"][0];
    for (field, value) in [("insutype", "310"), ("year", "2026"), ("cum_ym", "202603")] {
        assert_eq!(row[field], value, "{field}: {text}");
    }
    let hifp = |s: &Value| fen(&s["setlinfo"]["hifp_pay"]);
    assert_eq!(cum(&year, "C0000_BIZ21"), 1, "{text}");
    assert_eq!(cum(&year, "D310100_BIZ21"), hifp(&stay_settled), "{text}");
    assert_eq!(cum(&year, "D310100_BIZ11"), hifp(&outpatient_settled), "{text}");
    assert_eq!(cum(&year, "D310100"), hifp(&stay_settled) + hifp(&outpatient_settled), "{text}");
    assert_eq!(
        cum(&year, "Q0000_BIZ11"),
        fen(&outpatient_settled["setlinfo"]["act_pay_dedc"]),
        "the general outpatient deductible is yearly: {text}"
    );
    assert_eq!(cum(&year, "Q0000_BIZ21"), 0, "an admission's deductible is not kept: {text}");
    let codes: Vec<&str> = year["cuminfo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cum_type_code"].as_str().unwrap())
        .collect();
    let unique: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), codes.len(), "each code once: {codes:?}");
    let (this_year, _) =
        ok(&h, "5206", "Y2", json!({"data": {"psn_no": PERSON, "cum_ym": ""}})).await;
    assert_eq!(cum(&this_year, "D310100"), cum(&year, "D310100"), "no month: this year");
    assert!(this_year["cuminfo"][0]["cum_ym"].is_null());
    let (last_year, _) =
        ok(&h, "5206", "Y3", json!({"data": {"psn_no": PERSON, "cum_ym": "202512"}})).await;
    assert_eq!((cum(&last_year, "C0000_BIZ21"), cum(&last_year, "D310100")), (0, 0));
    assert_eq!(
        reason(&h, "5206", "Y4", json!({"data": {"psn_no": PERSON, "cum_ym": "202613"}})).await,
        "invalid_date"
    );
    assert_eq!(
        reason(&h, "5206", "Y5", json!({"data": {"psn_no": "P420200009"}})).await,
        "person_not_found"
    );
    h.finish().await;
}

/// 1901: a dictionary's values, national and (for med_type) the province's own; under a parent
/// value; an unknown dictionary is refused, naming the known ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hospital_reads_the_code_tables() {
    let h = Harness::start(TODAY).await;
    let dictionary = |tag: &str, data: Value| {
        let h = &h;
        let tag = tag.to_owned();
        async move { ok(h, "1901", &tag, json!({ "data": data })).await }
    };
    let values = |output: &Value| -> Vec<(String, String)> {
        output["list"]
            .as_array()
            .unwrap_or_else(|| panic!("a list: {output}"))
            .iter()
            .map(|r| {
                (r["value"].as_str().unwrap().to_owned(), r["label"].as_str().unwrap().to_owned())
            })
            .collect()
    };

    let (funds, text) = dictionary(
        "T1",
        json!({"type": "fund_pay_type", "parentValue": null,
        "date": "2026-03-02 09:00:00", "vali_flag": "1"}),
    )
    .await;
    let funds = values(&funds);
    for (code, name) in [
        ("310100", "职工基本医疗保险统筹基金"),
        ("310200", "职工基本医疗保险个人账户基金"),
        ("330100", "职工大额医疗费用补助基金"),
        ("390100", "城乡居民基本医疗保险基金"),
        ("390200", "城乡居民大病医疗保险基金"),
        ("610100", "医疗救助基金"),
    ] {
        assert!(funds.contains(&(code.to_owned(), name.to_owned())), "{code}: {text}");
    }
    let (gend, text) = dictionary("T2", json!({"type": "gend"})).await;
    let row = &gend["list"][0];
    for (field, value) in [
        ("type", json!("gend")),
        ("value", json!("1")),
        ("label", json!("男")),
        ("parent_value", Value::Null),
        ("sort", json!(1)),
        ("vali_flag", json!("1")),
        ("create_user", Value::Null),
    ] {
        assert_eq!(row[field], value, "{field}: {text}");
    }

    // med_type: the national codes; with a Hunan admdvs, Hunan's own after them, each under the
    // national code it is settled as.
    let (national, _) = dictionary("T3", json!({"type": "med_type"})).await;
    let national = values(&national);
    assert!(national.contains(&("21".to_owned(), "普通住院".to_owned())));
    assert!(!national.iter().any(|(code, _)| code == "2101"), "not Guangdong's");
    let (hunan, text) = dictionary("T4", json!({"type": "med_type", "admdvs": "430102"})).await;
    let own = hunan["list"].as_array().unwrap().iter().find(|r| r["value"] == "2101");
    let own = own.unwrap_or_else(|| panic!("2101: {text}"));
    assert_eq!((&own["label"], &own["parent_value"]), (&json!("普通住院"), &json!("21")));
    let (under, _) =
        dictionary("T5", json!({"type": "med_type", "admdvs": "430000", "parentValue": "21"}))
            .await;
    assert_eq!(
        values(&under).into_iter().map(|(code, _)| code).collect::<Vec<_>>(),
        ["2101", "2102"]
    );
    let (invalid, _) = dictionary("T6", json!({"type": "psn_cert_type", "vali_Flag": "0"})).await;
    assert_eq!(invalid["list"], json!([]), "every value is in force");

    let unknown = envelope("1901", "T7", json!({"data": {"type": "no_such_table"}}));
    let (_, answer, text) = support::national::call(&h, unknown.to_string()).await;
    let message = answer["err_msg"].as_str().unwrap_or_else(|| panic!("{text}"));
    assert!(message.starts_with("unknown_dictionary"), "{text}");
    assert!(message.contains("med_type") && message.contains("fund_pay_type"), "{text}");
    assert_eq!(reason(&h, "1901", "T8", json!({"data": {}})).await, "unknown_dictionary");
}

/// 5202: the diagnoses of the caller's own visit of the person; another's visit is not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hospital_reads_a_visits_diagnoses() {
    let h = Harness::start(TODAY).await;
    h.add_person(&support::person(PERSON, CERTNO, "420200")).await;
    register_hospital(&h).await;
    let admission = json!({"mdtrtinfo": {"psn_no": PERSON, "insutype": "310", "med_type": "21",
        "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO,
        "ipt_no": "ZY0009", "dscg_maindiag_code": "I10.x00"}});
    let (admitted, _) = ok(&h, "2401", "G1", admission).await;
    let inpatient = admitted["result"]["mdtrt_id"].as_str().unwrap().to_owned();

    let query = json!({"data": {"psn_no": PERSON, "mdtrt_id": inpatient}});
    let (found, text) = ok(&h, "5202", "G2", query.clone()).await;
    let rows = found["diseinfo"].as_array().unwrap_or_else(|| panic!("a list: {text}"));
    assert_eq!(rows.len(), 1, "the main diagnosis: {text}");
    for (field, value) in [
        ("mdtrt_id", json!(inpatient)),
        ("psn_no", json!(PERSON)),
        ("diag_type", json!("1")),
        ("maindiag_flag", json!("1")),
        ("diag_srt_no", json!(1)),
        ("diag_code", json!("I10.x00")),
        ("diag_time", json!("2026-03-01 00:00:00")),
        ("vali_flag", json!("1")),
        ("diag_name", Value::Null),
        ("diag_dept", Value::Null),
        ("dise_dor_no", Value::Null),
        ("dise_dor_name", Value::Null),
    ] {
        assert_eq!(rows[0][field], value, "{field}: {text}");
    }

    // Another person's, another hospital's, none at all; an unknown person.
    h.add_person(&support::person("P420200002", "420202197001010011", "420200")).await;
    let other = json!({"data": {"psn_no": "P420200002", "mdtrt_id": inpatient}});
    assert_eq!(reason(&h, "5202", "G3", other).await, "visit_not_found");
    let unknown = json!({"data": {"psn_no": "P420200003", "mdtrt_id": inpatient}});
    assert_eq!(reason(&h, "5202", "G6", unknown).await, "person_not_found");
    let mut elsewhere = envelope("5202", "G4", query);
    elsewhere["fixmedins_code"] = json!("H44030000009");
    elsewhere["msgid"] = json!(support::national::msgid("H44030000009", "G4"));
    assert_eq!(refused(&h, elsewhere.to_string()).await.1, "visit_not_found");
    let none = json!({"data": {"psn_no": PERSON, "mdtrt_id": "V42NOSUCH"}});
    assert_eq!(reason(&h, "5202", "G5", none).await, "visit_not_found");
}
