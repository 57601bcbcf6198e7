//! The national interface over real HTTP: a Shenzhen hospital runs a Huangshi patient's
//! emergency outpatient visit through 1101, 2201, 2204, 2206, 2207, 2208 and 2601 in the
//! national envelope, with every amount in yuan read and written exactly; malformed envelopes
//! get the national error envelope and write nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_gateway::national::{unzip_first, zip_one};
use medclear_proto::routing::v1::{self as rpb, routing_service_client::RoutingServiceClient};
use serde_json::{Value, json};
use support::Harness;
use support::national::{
    HOSPITAL, PATH, call, count, envelope, msgid, ok, refused, register_hospital, signed,
};

const TODAY: &str = "2026-03-02";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hospital_runs_a_visit_through_the_national_transactions() {
    let h = Harness::start(TODAY).await;
    h.seed_drug(&[HOSPITAL]).await;
    let patient = medclear_routing::repo::PersonRow {
        account_balance_fen: 50_000,
        ..support::person("P420200001", "420202196001010016", "420200")
    };
    h.add_person(&patient).await;
    let mut routing = RoutingServiceClient::connect(h.routing_grpc.clone()).await.unwrap();
    let institution = |code: &str, level: &str| rpb::Institution {
        fixmedins_code: code.into(),
        fixmedins_name: "深圳市人民医院".into(),
        admdvs: "440300".into(),
        hospital_level: level.into(),
    };
    // A malformed institution refuses the whole import, by index and field.
    let bad = routing
        .import_institutions(signed(rpb::ImportInstitutionsRequest {
            institutions: vec![institution(HOSPITAL, "tertiary"), institution("H1", "tertiary")],
        }))
        .await
        .unwrap_err();
    assert_eq!(
        medclear_common::error::status_field(&bad).as_deref(),
        Some("institutions[1].fixmedins_code")
    );
    assert_eq!(count(&h, "institutions").await, 0);
    routing
        .import_institutions(signed(rpb::ImportInstitutionsRequest {
            institutions: vec![institution(HOSPITAL, "tertiary")],
        }))
        .await
        .unwrap();

    // 1101: the person by citizen ID, the account balance in yuan with two decimals.
    let (person, text) = ok(
        &h,
        "1101",
        "M1101",
        json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "420202196001010016",
            "psn_cert_type": "01"}}),
    )
    .await;
    assert_eq!(person["baseinfo"]["psn_no"], "P420200001");
    assert_eq!(person["baseinfo"]["gend"], "1");
    assert_eq!(person["baseinfo"]["brdy"], "1960-01-01");
    assert_eq!(person["insuinfo"][0]["insuplc_admdvs"], "420200");
    assert_eq!(person["insuinfo"][0]["insutype"], "310");
    assert!(text.contains(r#""balc":500.00"#), "{text}");

    // 2201: an emergency (er_flag) outpatient registration; the level comes from the registry.
    let registration = json!({"data": {"psn_no": "P420200001", "insutype": "310",
        "begntime": "2026-03-02 09:01:00", "mdtrt_cert_type": "02",
        "mdtrt_cert_no": "420202196001010016", "ipt_otp_no": "MZ0001", "atddr_no": "D01",
        "dr_name": "李医生", "dept_code": "A01", "dept_name": "急诊科", "caty": "A01",
        "exp_content": {"er_flag": "1"}}});
    let (visit, _) = ok(&h, "2201", "M2201", registration.clone()).await;
    let mdtrt_id = visit["data"]["mdtrt_id"].as_str().unwrap().to_owned();
    assert_eq!(visit["data"]["ipt_otp_no"], "MZ0001");
    let (again, _) = ok(&h, "2201", "M2201", registration).await;
    assert_eq!(again, visit, "the same msgid, the same visit");

    // 2203: details after registration; an outpatient visit cannot become an admission.
    let details = |med_type: &str| {
        json!({"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": "P420200001", "med_type": med_type,
            "begntime": "2026-03-02 09:05:00", "main_cond_dscr": "头痛"},
            "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": "I10.x00x002",
                "diag_name": "高血压", "diag_dept": "急诊科", "dise_dor_no": "D01",
                "dise_dor_name": "李医生", "diag_time": "2026-03-02 09:05:00", "vali_flag": "1"}]})
    };
    ok(&h, "2203", "M2203", details("11")).await;
    let (_, reason) = refused(&h, envelope("2203", "M2203B", details("21")).to_string()).await;
    assert_eq!(reason, "med_type_change");
    let (_, reason) = refused(&h, envelope("2203", "M2203C", details("14")).to_string()).await;
    assert_eq!(reason, "missing_field", "a chronic visit names its disease");

    // 2204: amounts as JSON numbers with decimals, read from their text.
    let line = |sn: &str, pric: &str, cnt: &str, sum: &str| {
        format!(
            r#"{{"feedetl_sn": "{sn}", "mdtrt_id": "{mdtrt_id}", "psn_no": "P420200001",
            "chrg_bchno": "B1", "rx_circ_flag": "0", "fee_ocur_time": "2026-03-02 09:10:00",
            "med_list_codg": "{drug}", "medins_list_codg": "L001",
            "det_item_fee_sumamt": {sum}, "cnt": {cnt}, "pric": {pric},
            "bilg_dept_codg": "A01", "bilg_dept_name": "急诊科", "bilg_dr_codg": "D01",
            "bilg_dr_name": "李医生", "hosp_appr_flag": "1"}}"#,
            drug = support::DRUG
        )
    };
    let upload = |lines: Vec<String>, tag: &str| {
        let mut e = envelope("2204", tag, Value::Null);
        e["input"] = json!("INPUT");
        e.to_string().replace(r#""INPUT""#, &format!(r#"{{"feedetail": [{}]}}"#, lines.join(",")))
    };
    let (status, reason) =
        refused(&h, upload(vec![line("1", "12.30", "2", "24.605")], "MF0")).await;
    assert_eq!((status, reason.as_str()), (200, "invalid_amount"), "three decimals");
    let (status, reason) = refused(&h, upload(vec![line("1", "12.30", "2", "24.70")], "MF0")).await;
    assert_eq!((status, reason.as_str()), (200, "amount_mismatch"), "not pric × cnt");
    assert_eq!(count(&h, "fee_lines").await, 0, "refusals wrote nothing");
    let (status, answer, text) = call(
        &h,
        upload(vec![line("1", "12.30", "2", "24.60"), line("2", "0.10", "3", "0.3")], "MF1"),
    )
    .await;
    assert_eq!((status, answer["infcode"].as_i64()), (200, Some(0)), "{text}");
    assert!(text.contains(r#""det_item_fee_sumamt":24.60"#), "{text}");
    assert_eq!(answer["output"]["result"][1]["feedetl_sn"], "2");

    // 2206 with a total that is not the upload's: refused; with the right one: computed.
    let settle = |total: &str| {
        json!({"data": {"psn_no": "P420200001", "mdtrt_cert_type": "02",
            "mdtrt_cert_no": "420202196001010016", "med_type": "11", "medfee_sumamt": total,
            "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1",
            "acct_used_flag": "1", "insutype": "310"}})
    };
    let (_, reason) = refused(&h, envelope("2206", "MP0", settle("99.99")).to_string()).await;
    assert_eq!(reason, "amount_mismatch");
    let (pre, _) = ok(&h, "2206", "MP1", settle("24.90")).await;
    assert!(pre["setlinfo"]["setl_id"].is_null(), "a pre-settlement keeps nothing: {pre}");
    assert_eq!(count(&h, "settlements").await, 0);

    // 2207: kept; the same msgid again answers the same.
    let (settled, text) = ok(&h, "2207", "MS1", settle("24.90")).await;
    let info = &settled["setlinfo"];
    assert!(text.contains(r#""medfee_sumamt":24.90"#), "{text}");
    assert_eq!(info["medins_setl_id"], msgid(HOSPITAL, "MS1"));
    // Who was settled and how it clears, as HIS read it (gender, birth date and age from the
    // citizen ID; the category from the registry; clearing by the treating region).
    for (field, value) in [
        ("psn_name", json!("张三")),
        ("certno", json!("420202196001010016")),
        ("psn_cert_type", json!("01")),
        ("gend", json!("1")),
        ("brdy", json!("1960-01-01")),
        ("age", json!(66)),
        ("insutype", json!("310")),
        ("psn_type", json!("1101")),
        ("med_type", json!("11")),
        ("clr_type", json!("11")),
        ("clr_way", json!("1")),
        ("clr_optins", json!("440300")),
        ("cvlserv_flag", json!("0")),
    ] {
        assert_eq!(info[field], value, "{field}: {text}");
    }
    let fen = |v: &Value| medclear_common::money::yuan_to_fen(&v.to_string()).unwrap();
    assert_eq!(fen(&info["balc"]), 50_000 - fen(&info["acct_pay"]), "{text}");
    for field in ["cvlserv_pay", "hifes_pay", "hosp_part_amt", "oth_pay", "acct_mulaid_pay"] {
        assert!(text.contains(&format!(r#""{field}":0.00"#)), "{field}: {text}");
    }
    assert!(info["pool_prop_selfpay"].is_number(), "{text}");
    let detail = &settled["setldetail"][0];
    assert!(detail["fund_pay_type_name"].as_str().is_some_and(|n| !n.is_empty()), "{text}");
    assert_eq!(detail["inscp_scp_amt"], info["inscp_scp_amt"]);
    let setl_id = info["setl_id"].as_str().unwrap().to_owned();
    for (a, b) in [("setlinfo", "hifp_pay"), ("setlinfo", "psn_cash_pay")] {
        assert!(settled[a][b].is_number(), "{b}: {text}");
    }
    assert_eq!(pre["setlinfo"]["fund_pay_sumamt"], info["fund_pay_sumamt"]);
    let (retried, _) = ok(&h, "2207", "MS1", settle("24.90")).await;
    assert_eq!(retried, settled, "a retry gets the stored answer");
    assert_eq!(count(&h, "settlements").await, 1);

    // 2208: a new settlement id, amounts negative.
    let (cancelled, text) = ok(
        &h,
        "2208",
        "MC1",
        json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": "P420200001"}}),
    )
    .await;
    assert_ne!(cancelled["setlinfo"]["setl_id"], json!(setl_id));
    assert!(text.contains(r#""medfee_sumamt":-24.90"#), "{text}");
    assert_eq!(cancelled["setlinfo"]["mdtrt_id"], json!(mdtrt_id));
    assert!(text.contains(r#""fund_payamt":-"#), "{text}");

    // Settled again, then reversed by its msgid (2601).
    let (second, _) = ok(&h, "2207", "MS2", settle("24.90")).await;
    let (reversal, _) = ok(
        &h,
        "2601",
        "MR1",
        json!({"data": {"psn_no": "P420200001", "omsgid": msgid(HOSPITAL, "MS2"),
            "oinfno": "2207"}}),
    )
    .await;
    assert!(reversal.is_null());
    assert_eq!(count(&h, "settlements").await, 4, "two settlements, two cancellations");
    let (_, reason) = refused(
        &h,
        envelope("2601", "MR2", json!({"data": {"psn_no": "P420200001", "omsgid": "NOPE"}}))
            .to_string(),
    )
    .await;
    assert_eq!(reason, "settlement_not_found");

    // 3202: the day's details, zipped and uploaded (9101), against clearing's. The hospital
    // lists its two settlements and the cancellation (2208 answered its id) but not the
    // reversal (2601 answers none): the result file has that one line, the centre's only.
    support::eventually(&h, "/api/v1/clearing/ingest", |a| {
        a["partitions"][0]["events_ingested"].as_u64() >= Some(4)
    })
    .await;
    let line = |info: &Value, mdtrt: &str, refund: u8| {
        format!(
            "{}\t{mdtrt}\tP420200001\t{}\t{}\t{}\t{refund}",
            info["setl_id"].as_str().unwrap(),
            info["medfee_sumamt"],
            info["fund_pay_sumamt"],
            info["acct_pay"]
        )
    };
    let file = [
        line(&settled["setlinfo"], &mdtrt_id, 0),
        line(&cancelled["setlinfo"], &mdtrt_id, 1),
        line(&second["setlinfo"], &mdtrt_id, 0),
    ]
    .join("\n");
    let zip = zip_one("detail.txt", file.as_bytes()).unwrap();
    let (uploaded, _) = ok(
        &h,
        "9101",
        "M9101",
        json!({"fsUploadIn": {"in": zip,
        "filename": "detail.zip", "fixmedins_code": HOSPITAL}}),
    )
    .await;
    let file_qury_no = uploaded["file_qury_no"].as_str().unwrap().to_owned();
    let (again, _) = ok(
        &h,
        "9101",
        "M9101",
        json!({"fsUploadIn": {"in": zip,
        "filename": "detail.zip", "fixmedins_code": HOSPITAL}}),
    )
    .await;
    assert_eq!(again["file_qury_no"], uploaded["file_qury_no"], "the same msgid, the same file");
    let details = |count: u32, medfee: &str| {
        json!({"data": {"setl_optins": "420200", "file_qury_no": file_qury_no,
            "stmt_begndate": TODAY, "stmt_enddate": TODAY, "medfee_sumamt": medfee,
            "fund_pay_sumamt": settled["setlinfo"]["fund_pay_sumamt"], "cash_payamt": "0",
            "fixmedins_setl_cnt": count}})
    };
    let (_, reason) =
        refused(&h, envelope("3202", "M3202A", details(2, "24.90")).to_string()).await;
    assert_eq!(reason, "file_mismatch", "the totals sent are not the file's");
    let (result, _) = ok(&h, "3202", "M3202", details(3, "24.90")).await;
    let result_no = result["fileinfo"]["file_qury_no"].as_str().unwrap().to_owned();
    let (retried, _) = ok(&h, "3202", "M3202", details(3, "24.90")).await;
    assert_eq!(retried["fileinfo"]["file_qury_no"], result["fileinfo"]["file_qury_no"]);
    let download = envelope(
        "9102",
        "M9102",
        json!({"fsDownloadIn": {"file_qury_no": result_no,
        "filename": result["fileinfo"]["filename"], "fixmedins_code": HOSPITAL}}),
    );
    let zip = h.http.post(h.url(PATH)).json(&download).send().await.unwrap().bytes().await.unwrap();
    let text = String::from_utf8(unzip_first(&zip).unwrap()).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 1, "{text}");
    let cols: Vec<&str> = rows[0].split('\t').collect();
    assert_eq!((cols[0], cols[4], cols[7]), ("P420200001", "1", "-24.90"), "{text}");
    // Another institution cannot read this one's file.
    let mut other = download.clone();
    other["fixmedins_code"] = json!("H44030000002");
    other["msgid"] = json!(msgid("H44030000002", "M9102"));
    let (_, reason) = refused(&h, other.to_string()).await;
    assert_eq!(reason, "unknown_file");

    // An institution the registry does not know cannot register visits.
    let mut stranger = envelope(
        "2201",
        "MX1",
        json!({"data": {"psn_no": "P420200001",
        "begntime": "2026-03-02 10:00:00"}}),
    );
    stranger["fixmedins_code"] = json!("H44030000099");
    stranger["msgid"] = json!(msgid("H44030000099", "MX1"));
    let (_, reason) = refused(&h, stranger.to_string()).await;
    assert_eq!(reason, "unknown_institution");

    // The metrics count each transaction code and outcome.
    let metrics = h.http.get(h.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for line in [
        "medclear_national_transactions_total{infno=\"2207\",infcode=\"0\"} 3",
        "medclear_national_transactions_total{infno=\"2206\",infcode=\"-1\"} 1",
        "medclear_national_transaction_duration_seconds_count{infno=\"2204\"} 3",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    h.finish().await;
}

/// One money rule: a line of 0.01 yuan × 2.5 is 3 fen (half away from zero) on the fee
/// upload, on the pre-settlement and on the settlement alike (the upload rounded half to even
/// once, and answered 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fen_and_a_half_is_two_fen_nowhere() {
    let h = Harness::start(TODAY).await;
    h.seed_drug(&[HOSPITAL]).await;
    h.add_person(&support::person("P420200001", "420202196001010016", "420200")).await;
    let mut routing = RoutingServiceClient::connect(h.routing_grpc.clone()).await.unwrap();
    let institution = rpb::Institution {
        fixmedins_code: HOSPITAL.into(),
        fixmedins_name: "深圳市人民医院".into(),
        admdvs: "440300".into(),
        hospital_level: "tertiary".into(),
    };
    let institutions = rpb::ImportInstitutionsRequest { institutions: vec![institution] };
    routing.import_institutions(signed(institutions)).await.unwrap();
    let registration = json!({"data": {"psn_no": "P420200001", "insutype": "310",
        "begntime": "2026-03-02 09:01:00", "mdtrt_cert_type": "02",
        "mdtrt_cert_no": "420202196001010016", "ipt_otp_no": "MZ0002", "atddr_no": "D01",
        "dr_name": "李医生", "dept_code": "A01", "dept_name": "急诊科", "caty": "A01",
        "exp_content": {"er_flag": "1"}}});
    let (visit, _) = ok(&h, "2201", "MR2201", registration).await;
    let mdtrt_id = visit["data"]["mdtrt_id"].as_str().unwrap().to_owned();
    // The upload's answer (its total in fen, over the JSON API)…
    let (status, lines) = h
        .post(
            &format!("/api/v1/visits/{mdtrt_id}/fee-lines"),
            &json!({"fixmedins_code": HOSPITAL, "msgid": "MR2204", "lines": [{"feedetl_sn": "1",
                "local_code": "L001", "price_fen": 1, "quantity": "2.5", "fee_date": TODAY}]}),
        )
        .await;
    assert_eq!((status, lines["total_fen"].as_i64()), (200, Some(3)), "{lines}");
    // …the pre-settlement's and the settlement's, which check the hospital's total against it.
    let settle = json!({"data": {"psn_no": "P420200001", "mdtrt_cert_type": "02",
        "mdtrt_cert_no": "420202196001010016", "med_type": "11", "medfee_sumamt": "0.03",
        "psn_setlway": "01", "mdtrt_id": mdtrt_id, "acct_used_flag": "0", "insutype": "310"}});
    for infno in ["2206", "2207"] {
        let (_, text) = ok(&h, infno, &format!("MR{infno}"), settle.clone()).await;
        assert!(text.contains(r#""medfee_sumamt":0.03"#), "{infno}: {text}");
    }
    let stored: i64 = sqlx::query_scalar("SELECT medfee_sumamt FROM settlements")
        .fetch_one(&h.routing_pool)
        .await
        .unwrap();
    assert_eq!(stored, 3);
    h.finish().await;
}

#[tokio::test]
async fn malformed_envelopes_get_the_national_error_envelope_and_write_nothing() {
    let h = Harness::start(TODAY).await;
    let cases: Vec<(String, u16, &str)> = vec![
        ("this is not json".into(), 400, "malformed_json"),
        ("[1, 2]".into(), 400, "invalid_envelope"),
        (
            json!({"msgid": "M1", "fixmedins_code": HOSPITAL, "mdtrtarea_admvs": "440300"})
                .to_string(),
            400,
            "missing_field",
        ),
        (envelope("9999", "M2", json!({})).to_string(), 400, "unknown_infno"),
        (
            // One line as an object is read as a list of one: this one names no visit.
            envelope("2204", "M3", json!({"feedetail": {"feedetl_sn": 1}})).to_string(),
            200,
            "missing_field",
        ),
        (envelope("2207", "M4", json!({"data": [1]})).to_string(), 200, "invalid_input"),
        (envelope("2201", "M5", json!({})).to_string(), 200, "invalid_input"),
        (
            envelope("2207", "M6", json!({"data": {"mdtrt_id": "V42X", "medfee_sumamt": 1.005}}))
                .to_string(),
            200,
            "invalid_amount",
        ),
    ];
    for (body, status, reason) in cases {
        assert_eq!(refused(&h, body.clone()).await, (status, reason.to_owned()), "{body}");
    }
    // 10 MB: refused before it is read, still in the national envelope.
    let huge = format!(r#"{{"infno": "2204", "input": "{}"}}"#, "x".repeat(10 * 1024 * 1024));
    let (status, reason) = refused(&h, huge).await;
    assert_eq!((status, reason.as_str()), (413, "body_too_large"));
    for table in ["visits", "fee_lines", "settlements", "outbox", "events"] {
        assert_eq!(count(&h, table).await, 0, "{table}");
    }
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_filings_mappings_and_reconciliation_over_the_national_interface() {
    let h = Harness::start(TODAY).await;
    h.seed_drug(&[HOSPITAL]).await;

    // 9001: a sign-in number, checked on later envelopes when they send one.
    let (signed, _) = ok(
        &h,
        "9001",
        "M9001",
        json!({"signIn": {"opter_no": "001",
        "mac": "00:11:22:33:44:55", "ip": "10.0.0.8"}}),
    )
    .await;
    let sign_no = signed["signinoutb"]["sign_no"].as_str().unwrap().to_owned();
    assert!(sign_no.len() <= 30 && signed["signinoutb"]["sign_time"].is_string(), "{signed}");
    let referral = json!({"refmedin": {"psn_no": "P420200001", "insutype": "310",
        "diag_code": "I10.x00x002", "diag_name": "高血压", "reflin_medins_no": HOSPITAL,
        "reflin_medins_name": "深圳市人民医院", "mdtrtarea_admdvs": "440300", "refl_type": "1",
        "refl_date": TODAY, "refl_rea": "病情需要", "refl_opnn": "同意"}});
    let mut forged = envelope("2501", "MF", referral.clone());
    forged["sign_no"] = json!("20260302DEADBEEFDEADBEEF");
    let (_, reason) = refused(&h, forged.to_string()).await;
    assert_eq!(reason, "invalid_sign_no");
    let mut other_operator = envelope("2501", "MF", referral.clone());
    other_operator["sign_no"] = json!(sign_no);
    other_operator["opter"] = json!("002");
    let (_, reason) = refused(&h, other_operator.to_string()).await;
    assert_eq!(reason, "invalid_sign_no", "a sign-in is its operator's");

    // 2501: a referral filing for Shenzhen, filed by the hospital; it covers the patient.
    let mut signed_referral = envelope("2501", "M2501", referral);
    signed_referral["sign_no"] = json!(sign_no);
    let (status, answer, text) = call(&h, signed_referral.to_string()).await;
    assert_eq!((status, answer["infcode"].as_i64()), (200, Some(0)), "{text}");
    let serial = answer["output"]["result"]["trt_dcla_detl_sn"].as_str().unwrap().to_owned();
    let coverage =
        "/api/v1/coverage?psn_no=P420200001&insuplc_admdvs=420200&mdtrtarea_admvs=440300";
    let (_, covered) = h.get(&format!("{coverage}&date={TODAY}")).await;
    assert_eq!(
        (covered["basis"].as_str(), covered["filing_id"].as_str()),
        (Some("filing"), Some(serial.as_str()))
    );
    // 9002: signed out, the number is refused; signed in again, it is good again.
    let (signed_out, _) =
        ok(&h, "9002", "M9002", json!({"signOut": {"sign_no": sign_no, "opter_no": "001"}})).await;
    assert!(signed_out["signoutoutb"]["sign_time"].is_string(), "{signed_out}");
    let mut after_sign_out = envelope(
        "1101",
        "M1101-OUT",
        json!({"data": {"mdtrt_cert_type": "02",
        "mdtrt_cert_no": "420202196001010016"}}),
    );
    after_sign_out["sign_no"] = json!(sign_no);
    let (_, reason) = refused(&h, after_sign_out.to_string()).await;
    assert_eq!(reason, "invalid_sign_no");
    let (again, _) = ok(&h, "9001", "M9001-AGAIN", json!({"signIn": {"opter_no": "001"}})).await;
    assert_eq!(again["signinoutb"]["sign_no"], json!(sign_no));
    // 2502: revoked.
    ok(
        &h,
        "2502",
        "M2502",
        json!({"data": {"trt_dcla_detl_sn": serial, "psn_no": "P420200001",
        "memo": "病人转回"}}),
    )
    .await;
    let (_, after) = h.get(&format!("{coverage}&date={TODAY}")).await;
    assert_eq!(after["covered"], false, "{after}");

    // 2503 / 2504: a chronic-disease filing, then its revocation.
    let (chronic, _) = ok(&h, "2503", "M2503", json!({"data": {"psn_no": "P420200001",
        "insutype": "310", "opsp_dise_code": "M03900", "opsp_dise_name": "高血压",
        "insu_optins": "420200", "ide_fixmedins_no": HOSPITAL, "ide_fixmedins_name": "深圳市人民医院",
        "hosp_ide_date": TODAY, "diag_dr_codg": "D01", "diag_dr_name": "李医生",
        "begndate": TODAY}}))
    .await;
    let chronic_id = chronic["result"]["trt_dcla_detl_sn"].as_str().unwrap().to_owned();
    ok(
        &h,
        "2504",
        "M2504",
        json!({"data": {"trt_dcla_detl_sn": chronic_id,
        "psn_no": "P420200001", "memo": "诊断更正"}}),
    )
    .await;

    // 3301 / 3302: a mapping uploaded and revoked; an unknown national code is refused.
    let mapping = |local: &str, national: &str| {
        json!({"data": {"fixmedins_hilist_id": local, "fixmedins_hilist_name": "阿莫西林",
            "list_type": "101", "med_list_codg": national, "begndate": "2026-01-01",
            "enddate": "2099-12-31"}})
    };
    ok(&h, "3301", "M3301", mapping("L002", support::DRUG)).await;
    let (_, reason) =
        refused(&h, envelope("3301", "M3301B", mapping("L003", "XX0000000000000")).to_string())
            .await;
    assert_eq!(reason, "mapping_refused");
    ok(
        &h,
        "3302",
        "M3302",
        json!({"data": {"fixmedins_code": HOSPITAL,
        "fixmedins_hilist_id": "L002", "list_type": "101", "med_list_codg": support::DRUG}}),
    )
    .await;

    // 1317: the institution's matching, a page at a time (the revoked one flagged 0).
    let page = |num: u32| {
        json!({"data": {"fixmedins_code": HOSPITAL, "updt_time": "2026-01-01", "page_num": num,
            "page_size": 1}})
    };
    let (first, _) = ok(&h, "1317", "M1317", page(1)).await;
    assert_eq!((first["recordCounts"].as_u64(), first["pages"].as_u64()), (Some(2), Some(2)));
    assert_eq!(first["firstPage"], true);
    let (second, _) = ok(&h, "1317", "M1317B", page(2)).await;
    assert_eq!(second["lastPage"], true);
    let rows = [&first["data"][0], &second["data"][0]];
    let l002 = rows.iter().find(|r| r["medins_list_codg"] == "L002").unwrap();
    assert_eq!(
        (l002["vali_flag"].as_str(), l002["med_list_codg"].as_str()),
        (Some("0"), Some(support::DRUG))
    );
    let mut others = page(1);
    others["data"]["fixmedins_code"] = json!("H11000000001");
    let (_, reason) = refused(&h, envelope("1317", "M1317C", others).to_string()).await;
    assert_eq!(reason, "forbidden");

    // 1301 then 9102: the drugs since version 0, as a zip of TAB-separated lines.
    let (file, _) = ok(&h, "1301", "M1301", json!({"data": {"ver": "0"}})).await;
    assert_eq!(file["data_cnt"], 1, "{file}");
    let file_qury_no = file["file_qury_no"].as_str().unwrap().to_owned();
    let download = envelope(
        "9102",
        "M9102",
        json!({"fsDownloadIn": {"file_qury_no": file_qury_no,
        "filename": file["filename"], "fixmedins_code": HOSPITAL}}),
    );
    let response = h.http.post(h.url(PATH)).json(&download).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/zip");
    let zip = response.bytes().await.unwrap();
    assert_eq!(&zip[..4], b"PK\x03\x04");
    let text = String::from_utf8_lossy(&zip);
    assert!(text.contains(&format!("{}\t甲药\t", support::DRUG)), "{text}");
    // Nothing since the current version; no diagnoses at all; no such file.
    let upto = file_qury_no.rsplit('-').next().unwrap().to_owned();
    let (none, _) = ok(&h, "1301", "M1301B", json!({"data": {"ver": upto}})).await;
    assert_eq!(none["data_cnt"], 0);
    let (diagnoses, _) = ok(&h, "1307", "M1307", json!({"data": {"ver": "0"}})).await;
    assert_eq!(diagnoses["data_cnt"], 0);
    let (_, reason) = refused(
        &h,
        envelope("9102", "M9102B", json!({"fsDownloadIn": {"file_qury_no": "C1301-9-1"}}))
            .to_string(),
    )
    .await;
    assert_eq!(reason, "unknown_file");

    // 1312 / 1318 / 1319: the coverage rules, with a province's 乙 rule that has a price cap
    // and a first self-pay ratio per insutype.
    let mut catalog =
        medclear_proto::catalog::v1::catalog_service_client::CatalogServiceClient::connect(
            h.catalog_grpc.clone(),
        )
        .await
        .unwrap();
    support::import(
        &mut catalog,
        medclear_proto::catalog::v1::ImportTarget::Coverage,
        &[&[
            ("scope", "420000"),
            ("code", support::DRUG),
            ("class", "B"),
            ("selfpay_ratio", "0.10"),
            ("selfpay_ratio_by_insutype", "390:0.2"),
            ("price_cap", "12.30"),
            ("begin_date", "2024-01-01"),
        ]],
    )
    .await;
    let rules = |scope: &str| {
        json!({"data": {"hilist_code": support::DRUG, "insu_admdvs": scope,
            "updt_time": "2024-01-01", "page_num": 1, "page_size": 10}})
    };
    let (national, _) = ok(&h, "1312", "M1312", rules("000000")).await;
    assert_eq!(national["recordCounts"], 1);
    let row = &national["data"][0];
    assert_eq!(
        (row["chrgitm_lv"].as_str(), row["hilist_name"].as_str()),
        (Some("01"), Some("甲药"))
    );
    let (_, text) = ok(&h, "1318", "M1318", rules("")).await;
    assert!(text.contains(r#""hilist_pric_uplmt_amt":12.30"#), "{text}");
    assert!(text.contains(r#""recordCounts":1"#), "only the capped rule: {text}");
    let (ratios, text) = ok(&h, "1319", "M1319", rules("420000")).await;
    assert_eq!(ratios["recordCounts"], 2, "ALL and 390: {ratios}");
    assert!(
        text.contains(r#""selfpay_prop":0.10"#) || text.contains(r#""selfpay_prop":0.1"#),
        "{text}"
    );

    // 3201: no settlements that day — zero totals balance, anything else does not.
    let totals = |medfee: &str, count: u32, end: &str| {
        json!({"data": {"insutype": "310", "clr_type": "11", "setl_optins": "440300",
            "stmt_begndate": TODAY, "stmt_enddate": end, "medfee_sumamt": medfee,
            "fund_pay_sumamt": "0.00", "acct_pay": "0.00", "fixmedins_setl_cnt": count}})
    };
    let (balanced, _) = ok(&h, "3201", "M3201", totals("0.00", 0, TODAY)).await;
    assert_eq!(balanced["stmtinfo"]["stmt_rslt"], "0", "{balanced}");
    let (unbalanced, _) = ok(&h, "3201", "M3201B", totals("1.00", 1, TODAY)).await;
    assert_eq!(unbalanced["stmtinfo"]["stmt_rslt"], "1", "{unbalanced}");
    let (_, reason) =
        refused(&h, envelope("3201", "M3201C", totals("0", 0, "2026-03-03")).to_string()).await;
    assert_eq!(reason, "unsupported_range");
    h.finish().await;
}

/// The issue's "done when": the bureau of the patient's home region publishes a correction,
/// previews last month under it first, and the next settlement through the national interface
/// uses it — no rebuild, no restart; a visit's pre-settlement before the publication shows the
/// old amounts, its settlement after it the new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bureaus_correction_applies_to_the_next_national_settlement_without_a_restart() {
    let h = Harness::start(TODAY).await;
    h.seed_drug(&[HOSPITAL]).await;
    h.add_person(&support::person("P420200001", "420202196001010016", "420200")).await;
    register_hospital(&h).await;
    // An emergency outpatient visit with one 甲 line of 100.00 × 5, registered and uploaded.
    let visit = |tag: &str| {
        let h = &h;
        let tag = tag.to_owned();
        async move {
            let registration = json!({"data": {"psn_no": "P420200001", "insutype": "310",
                "begntime": "2026-03-02 09:01:00", "mdtrt_cert_type": "02",
                "mdtrt_cert_no": "420202196001010016", "ipt_otp_no": tag,
                "exp_content": {"er_flag": "1"}}});
            let (visit, _) = ok(h, "2201", &format!("{tag}-2201"), registration).await;
            let mdtrt_id = visit["data"]["mdtrt_id"].as_str().unwrap().to_owned();
            let line = json!({"feedetail": [{"feedetl_sn": "1", "mdtrt_id": mdtrt_id,
                "psn_no": "P420200001", "chrg_bchno": "B1", "fee_ocur_time": "2026-03-02 09:10:00",
                "med_list_codg": support::DRUG, "medins_list_codg": "L001",
                "det_item_fee_sumamt": "500.00", "cnt": "5", "pric": "100.00"}]});
            ok(h, "2204", &format!("{tag}-2204"), line).await;
            mdtrt_id
        }
    };
    let settle = |mdtrt_id: &str| {
        json!({"data": {"psn_no": "P420200001", "mdtrt_cert_type": "02",
            "mdtrt_cert_no": "420202196001010016", "med_type": "11", "medfee_sumamt": "500.00",
            "psn_setlway": "01", "mdtrt_id": mdtrt_id, "acct_used_flag": "0", "insutype": "310"}})
    };
    // A national amount (yuan, a JSON number) in fen, read from its text.
    let yuan = |v: &Value| {
        medclear_common::money::yuan_to_fen(&v.to_string()).unwrap_or_else(|e| panic!("{v}: {e}"))
    };

    // Last month's settlement under the version in force.
    let first = visit("V1").await;
    let (settled, _) = ok(&h, "2207", "V1-2207", settle(&first)).await;
    // Huangshi employees' general outpatient: 200 yuan deductible a year, 50 % less 10 points
    // for an emergency: (500 − 200) × 40 % = 120.
    assert_eq!(yuan(&settled["setlinfo"]["hifp_pay"]), 12_000);

    // The bureau takes the version in force, corrects it (general outpatient +10 points from
    // 1 March) and stores a draft.
    let (status, in_force) =
        h.get("/api/v1/policies/resolve?region=420200&insutype=310&date=2026-03-02").await;
    assert_eq!(status, 200, "{in_force}");
    let old_id = in_force["policy_id"].as_str().unwrap().to_owned();
    let (status, version) = h.get(&format!("/api/v1/policies/{old_id}")).await;
    assert_eq!(status, 200, "{version}");
    let mut document = version["document"].clone();
    document["version"] = json!("2026-03 correction");
    document["begin_date"] = json!("2026-03-01");
    for band in document["general_outpatient"]["bands"].as_array_mut().unwrap() {
        for segment in band["segments"].as_array_mut().unwrap() {
            let ratio: rust_decimal::Decimal = segment["ratio"].as_str().unwrap().parse().unwrap();
            segment["ratio"] = json!((ratio + rust_decimal::Decimal::new(10, 2)).to_string());
        }
    }
    let (status, draft) = h.post("/api/v1/policies/drafts", &document).await;
    assert_eq!(status, 201, "{draft}");
    assert_eq!(draft["status"], "draft");
    let draft_id = draft["policy_id"].as_str().unwrap().to_owned();

    // The preview of the month under the draft: the one settlement, 30 yuan more (300 × 10 %).
    let (status, preview) = h
        .post(&format!("/api/v1/policies/{draft_id}/preview"), &json!({"period": "2026-03"}))
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(
        (preview["settlements"].as_u64(), preview["persons_affected"].as_u64()),
        (Some(1), Some(1))
    );
    let hifp =
        preview["funds"].as_array().unwrap().iter().find(|f| f["fund"] == "hifp_pay").unwrap();
    assert_eq!(
        (hifp["before_fen"].as_i64(), hifp["after_fen"].as_i64()),
        (Some(12_000), Some(15_000))
    );

    // A second visit, pre-settled before the publication: the old ratio (deductible used up:
    // 500 × 40 % = 200).
    let second = visit("V2").await;
    let (pre, _) = ok(&h, "2206", "V2-2206", settle(&second)).await;
    assert_eq!(yuan(&pre["setlinfo"]["hifp_pay"]), 20_000);

    // Published: the settlement of the same visit right after uses it (500 × 50 % = 250).
    let (status, published) =
        h.post(&format!("/api/v1/policies/{draft_id}/publish"), &json!({})).await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["status"], "published");
    let (settled, _) = ok(&h, "2207", "V2-2207", settle(&second)).await;
    assert_eq!(yuan(&settled["setlinfo"]["hifp_pay"]), 25_000);
    let (_, now) =
        h.get("/api/v1/policies/resolve?region=420200&insutype=310&date=2026-03-02").await;
    assert_eq!(now["policy_id"], json!(draft_id));
    let (_, before) =
        h.get("/api/v1/policies/resolve?region=420200&insutype=310&date=2026-02-28").await;
    assert_eq!(before["policy_id"], json!(old_id), "an earlier date keeps the old version");
    h.finish().await;
}

/// `input` as HIS clients send it: an object with `data`, a JSON-encoded string, or its fields
/// without `data` — read the same; and 2401 answers the admission in `output.result`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_as_a_string_or_without_data_reads_the_same_and_2401_answers_in_result() {
    let h = Harness::start(TODAY).await;
    h.add_person(&support::person("P420200001", "420202196001010016", "420200")).await;
    let query = json!({"mdtrt_cert_type": "02", "mdtrt_cert_no": "420202196001010016",
        "psn_cert_type": "01"});
    let (with_data, _) = ok(&h, "1101", "F1", json!({ "data": query })).await;
    let (as_string, _) = ok(&h, "1101", "F2", json!(json!({ "data": query }).to_string())).await;
    let (without_data, _) = ok(&h, "1101", "F3", query.clone()).await;
    let (data_as_string, _) = ok(&h, "1101", "F4", json!({"data": query.to_string()})).await;
    assert_eq!(with_data["baseinfo"]["psn_no"], "P420200001");
    for other in [&as_string, &without_data, &data_as_string] {
        assert_eq!(other, &with_data);
    }
    // Meaning is checked too: a credential number that is no citizen ID, a diagnosis that is no
    // diagnosis code.
    let (_, reason) = refused(
        &h,
        envelope("1101", "F7", json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "02"}}))
            .to_string(),
    )
    .await;
    assert_eq!(reason, "invalid_certno");
    let (_, reason) = refused(
        &h,
        envelope(
            "1101",
            "F8",
            json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "420202196001010012"}}),
        )
        .to_string(),
    )
    .await;
    assert_eq!(reason, "invalid_certno", "a wrong check character");
    // A string that is not JSON is refused as such, naming it.
    let (_, reason) = refused(&h, envelope("1101", "F5", json!("{\"data\": ")).to_string()).await;
    assert_eq!(reason, "malformed_json");

    // 2401: the admission's id where HIS clients read it; a diagnosis "11" is refused.
    register_hospital(&h).await;
    let bad = json!({"mdtrtinfo": {"psn_no": "P420200001", "begntime": "2026-03-02 09:01:00",
        "med_type": "21", "ipt_no": "ZY0000", "dscg_maindiag_code": "11"}});
    let (_, reason) = refused(&h, envelope("2401", "F9", bad).to_string()).await;
    assert_eq!(reason, "invalid_diagnosis");
    let admission = json!({"mdtrtinfo": {"psn_no": "P420200001", "insutype": "310",
        "begntime": "2026-03-02 09:01:00", "mdtrt_cert_type": "02", "med_type": "21",
        "ipt_no": "ZY0001", "dscg_maindiag_code": "I10.x00", "exp_content": {"er_flag": "1"}}});
    let (admitted, _) = ok(&h, "2401", "F6", admission).await;
    assert!(
        admitted["result"]["mdtrt_id"].as_str().is_some_and(|id| id.starts_with('V')),
        "{admitted}"
    );
    assert_eq!(admitted["result"]["ipt_no"], "ZY0001");
    assert_eq!(admitted["result"]["psn_no"], "P420200001");
    h.finish().await;
}

/// A pharmacy's purchase: 2101 computes and keeps nothing; 2102 settles once per msgid (a
/// retry answers the same); 5203 finds it by the msgid; 2103 cancels it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pharmacy_presettles_settles_and_cancels_a_purchase() {
    const PHARMACY: &str = "P44030000002";
    let h = Harness::start(TODAY).await;
    h.seed_drug(&[PHARMACY]).await;
    h.add_person(&support::person("P420200001", "420202196001010016", "420200")).await;
    let mut routing = RoutingServiceClient::connect(h.routing_grpc.clone()).await.unwrap();
    routing
        .import_institutions(signed(rpb::ImportInstitutionsRequest {
            institutions: vec![rpb::Institution {
                fixmedins_code: PHARMACY.into(),
                fixmedins_name: "深圳大药房".into(),
                admdvs: "440300".into(),
                hospital_level: "ungraded".into(),
            }],
        }))
        .await
        .unwrap();
    let (status, filing) = h
        .post(
            "/api/v1/filings",
            &json!({"psn_no": "P420200001", "insuplc_admdvs": "420200",
                "mdtrtarea_admvs": "440000", "category": "other_temporary", "begin_date": TODAY}),
        )
        .await;
    assert!(status < 300, "{filing}");
    let from_pharmacy = |infno: &str, tag: &str, input: Value| {
        let mut e = envelope(infno, tag, input);
        e["fixmedins_code"] = json!(PHARMACY);
        e["fixmedins_name"] = json!("深圳大药房");
        e["msgid"] = json!(msgid(PHARMACY, tag));
        e.to_string()
    };
    let send = |infno: &'static str, tag: &'static str, input: Value| {
        let body = from_pharmacy(infno, tag, input);
        let h = &h;
        async move {
            let (status, answer, text) = call(h, body).await;
            assert_eq!((status, answer["infcode"].as_i64()), (200, Some(0)), "{infno}: {text}");
            answer["output"].clone()
        }
    };
    // Two boxes at 12.30, as a pharmacy client sends them: the purchase whole.
    let purchase = json!({
        "data": {"psn_no": "P420200001", "mdtrt_cert_type": "02",
            "mdtrt_cert_no": "420202196001010016", "begntime": "2026-03-02 10:00:00",
            "medfee_sumamt": "24.60", "psn_setlway": "01", "insutype": "310",
            "acct_used_flag": "0", "med_type": "41"},
        "drugdetail": [{"feedetl_sn": "1", "med_list_codg": support::DRUG,
            "medins_list_codg": "L001", "pric": "12.30", "cnt": "2", "det_item_fee_sumamt": "24.60",
            "rxno": "RX1", "rx_circ_flag": "0", "fee_ocur_time": "2026-03-02 10:00:00"}]});
    let pre = send("2101", "PH1", purchase.clone()).await;
    assert!(pre["setlinfo"]["setl_id"].is_null(), "{pre}");
    assert_eq!(count(&h, "settlements").await, 0);
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM visits WHERE status <> 'cancelled'")
        .fetch_one(&h.routing_pool)
        .await
        .unwrap();
    assert_eq!(open, 0, "a pre-settlement leaves no visit open");

    let settled = send("2102", "PH2", purchase.clone()).await;
    assert_eq!(settled["setlinfo"]["fund_pay_sumamt"], pre["setlinfo"]["fund_pay_sumamt"]);
    assert_eq!(settled["setlinfo"]["medins_setl_id"], json!(msgid(PHARMACY, "PH2")));
    let again = send("2102", "PH2", purchase).await;
    assert_eq!(again, settled, "the same msgid answers the same");
    assert_eq!(count(&h, "settlements").await, 1);

    let found =
        send("5203", "PH3", json!({"data": {"medins_setl_id": msgid(PHARMACY, "PH2")}})).await;
    assert_eq!(found["setlinfo"]["setl_id"], settled["setlinfo"]["setl_id"]);
    let setl_id = settled["setlinfo"]["setl_id"].clone();
    let cancelled =
        send("2103", "PH4", json!({"data": {"setl_id": setl_id, "psn_no": "P420200001"}})).await;
    assert_ne!(cancelled["setlinfo"]["setl_id"], setl_id);
    let found = send("5203", "PH5", json!({"data": {"setl_id": setl_id}})).await;
    assert_eq!(found["setlinfo"]["refd_setl_flag"], "1", "{found}");
    h.finish().await;
}

/// A hospital of a county (Changsha's Furong district, 430102) on Hunan's platform sends its
/// own medical-type codes: 2101 (普通住院) registers an admission; a code neither national nor
/// Hunan's is refused by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hunan_county_hospital_sends_its_platforms_medical_types() {
    const CHANGSHA: &str = "H43010200001";
    let h = Harness::start(TODAY).await;
    h.add_person(&support::person("P420200001", "420202196001010016", "420200")).await;
    let mut routing = RoutingServiceClient::connect(h.routing_grpc.clone()).await.unwrap();
    routing
        .import_institutions(signed(rpb::ImportInstitutionsRequest {
            institutions: vec![rpb::Institution {
                fixmedins_code: CHANGSHA.into(),
                fixmedins_name: "长沙市芙蓉区人民医院".into(),
                admdvs: "430102".into(),
                hospital_level: "secondary".into(),
            }],
        }))
        .await
        .unwrap();
    let from_changsha = |tag: &str, med_type: &str| {
        let mut e = envelope(
            "2401",
            tag,
            json!({"mdtrtinfo": {"psn_no": "P420200001", "insutype": "310", "med_type": med_type,
                "begntime": "2026-03-02 09:00:00", "mdtrt_cert_type": "02", "ipt_no": tag,
                "dscg_maindiag_code": "I10.x00"}}),
        );
        e["fixmedins_code"] = json!(CHANGSHA);
        e["mdtrtarea_admvs"] = json!("430102");
        e["msgid"] = json!(msgid(CHANGSHA, tag));
        e.to_string()
    };
    let (status, answer, text) = call(&h, from_changsha("HN1", "2101")).await;
    assert_eq!((status, answer["infcode"].as_i64()), (200, Some(0)), "{text}");
    let mdtrt_id = answer["output"]["result"]["mdtrt_id"].as_str().unwrap().to_owned();
    let med_type: String =
        sqlx::query_scalar("SELECT med_type::text FROM visits WHERE mdtrt_id = $1")
            .bind(&mdtrt_id)
            .fetch_one(&h.routing_pool)
            .await
            .unwrap();
    assert_eq!(med_type, "21", "Hunan's 2101 is an inpatient stay");
    let (_, reason) = refused(&h, from_changsha("HN2", "7777")).await;
    assert_eq!(reason, "unknown_med_type");
    h.finish().await;
}

/// Fee lines uploaded in charge batches (chrg_bchno) are withdrawn a batch at a time (2205 by
/// batch number); a batch with nothing standing is refused by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_batch_is_withdrawn_whole() {
    let h = Harness::start(TODAY).await;
    h.seed_drug(&[HOSPITAL]).await;
    h.add_person(&support::person("P420200001", "420202196001010016", "420200")).await;
    register_hospital(&h).await;
    let registration = json!({"data": {"psn_no": "P420200001", "insutype": "310",
        "begntime": "2026-03-02 09:01:00", "mdtrt_cert_type": "02",
        "mdtrt_cert_no": "420202196001010016", "ipt_otp_no": "CB1",
        "exp_content": {"er_flag": "1"}}});
    let (visit, _) = ok(&h, "2201", "CB-2201", registration).await;
    let mdtrt_id = visit["data"]["mdtrt_id"].as_str().unwrap().to_owned();
    let line = |sn: &str, batch: &str| {
        json!({"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": "P420200001",
            "chrg_bchno": batch, "fee_ocur_time": "2026-03-02 09:10:00",
            "med_list_codg": support::DRUG, "medins_list_codg": "L001",
            "det_item_fee_sumamt": "10.00", "cnt": "1", "pric": "10.00"})
    };
    ok(
        &h,
        "2204",
        "CB-2204",
        json!({"feedetail": [line("1", "B1"), line("2", "B1"), line("3", "B2")]}),
    )
    .await;
    ok(&h, "2205", "CB-2205", json!({"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "B1"}})).await;
    let standing: Vec<String> = sqlx::query_scalar(
        "SELECT feedetl_sn FROM fee_lines WHERE mdtrt_id = $1 AND NOT cancelled ORDER BY 1",
    )
    .bind(&mdtrt_id)
    .fetch_all(&h.routing_pool)
    .await
    .unwrap();
    assert_eq!(standing, ["3"], "batch B1 withdrawn, B2 stands");
    let (_, reason) = refused(
        &h,
        envelope("2205", "CB-2205B", json!({"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "B1"}}))
            .to_string(),
    )
    .await;
    assert_eq!(reason, "batch_not_found");
    h.finish().await;
}
