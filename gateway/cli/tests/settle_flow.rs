//! A visit from registration to settlement, with the filing and catalogue services answering
//! over gRPC and every amount checked to the fen.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use medclear_common::config::DbConfig;
use medclear_proto::{
    catalog::v1::{self as pb, catalog_service_client::CatalogServiceClient},
    routing::v1 as rpb,
};
use medclear_routing::{
    lifecycle::{Lifecycle, Settled},
    model::{
        Cancellation, Discharge, ProtocolError, Registration, Reversal, SettleCommand, Upload,
    },
    repo::PersonRow,
    settlement::Settlements,
};
use serde_json::json;
use support::{Harness, import};

const HOSPITAL: &str = "H44030000001";
const TODAY: &str = "2026-03-02";

fn visit(msgid: &str, psn_no: &str, emergency: bool) -> Registration {
    Registration::try_from(rpb::RegisterVisitRequest {
        fixmedins_code: HOSPITAL.into(),
        msgid: msgid.into(),
        psn_no: psn_no.into(),
        med_type: rpb::MedType::Inpatient.into(),
        mdtrtarea_admvs: "440300".into(),
        hospital_level: "tertiary".into(),
        begin_date: TODAY.into(),
        diagnosis_code: "I10.x00x002".into(),
        emergency,
        disease_code: String::new(),
    })
    .unwrap()
}

fn line(sn: &str, local: &str, price_fen: i64, quantity: i64) -> rpb::FeeLine {
    rpb::FeeLine {
        chrg_bchno: String::new(),
        feedetl_sn: sn.into(),
        local_code: local.into(),
        national_code: String::new(),
        price_fen,
        quantity: quantity.to_string(),
        fee_date: "2026-03-03".into(),
    }
}

/// Fee lines for a visit, validated as the routing service's edge does.
fn upload(mdtrt_id: &str, lines: Vec<rpb::FeeLine>) -> Result<Upload, ProtocolError> {
    Upload::try_from(rpb::UploadFeeLinesRequest {
        fixmedins_code: HOSPITAL.into(),
        msgid: "F1".into(),
        mdtrt_id: mdtrt_id.into(),
        lines,
    })
}

fn discharge(mdtrt_id: &str, end_date: &str) -> Discharge {
    Discharge::try_from(rpb::VisitRef {
        fixmedins_code: HOSPITAL.into(),
        msgid: "D1".into(),
        mdtrt_id: mdtrt_id.into(),
        end_date: end_date.into(),
    })
    .unwrap()
}

/// A (pre-)settlement of the visit, sent by `sender` as `msgid`, not from the account.
fn settle_as(sender: &str, msgid: &str, mdtrt_id: &str) -> SettleCommand {
    SettleCommand::try_from(rpb::SettleRequest {
        fixmedins_code: sender.into(),
        msgid: msgid.into(),
        mdtrt_id: mdtrt_id.into(),
        use_account: false,
        medfee_sumamt_fen: None,
    })
    .unwrap()
}

async fn settle(life: &Lifecycle, msgid: &str, mdtrt_id: &str) -> medclear_common::Result<Settled> {
    life.settle(&settle_as(HOSPITAL, msgid, mdtrt_id)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_settles_under_home_rules_after_the_filing_and_catalogue_say_so() {
    let h = Harness::start(TODAY).await;
    let mut catalog = CatalogServiceClient::connect(h.catalog_grpc.clone()).await.unwrap();
    import(
        &mut catalog,
        pb::ImportTarget::Items,
        &[
            &[
                ("code", "XL02BBA326A001010102180"),
                ("kind", "western_drug"),
                ("name", "甲药"),
                ("begin_date", "2024-01-01"),
            ],
            &[
                ("code", "003401000230600"),
                ("kind", "service"),
                ("name", "乙项目"),
                ("begin_date", "2024-01-01"),
            ],
        ],
    )
    .await;
    import(
        &mut catalog,
        pb::ImportTarget::Coverage,
        &[
            &[
                ("scope", "000000"),
                ("code", "XL02BBA326A001010102180"),
                ("class", "A"),
                ("begin_date", "2024-01-01"),
            ],
            &[
                ("scope", "000000"),
                ("code", "003401000230600"),
                ("class", "B"),
                ("selfpay_ratio", "0.10"),
                ("begin_date", "2024-01-01"),
            ],
        ],
    )
    .await;
    import(
        &mut catalog,
        pb::ImportTarget::Mappings,
        &[
            &[
                ("fixmedins_code", HOSPITAL),
                ("local_code", "L001"),
                ("national_code", "XL02BBA326A001010102180"),
                ("begin_date", "2024-01-01"),
            ],
            &[
                ("fixmedins_code", HOSPITAL),
                ("local_code", "L002"),
                ("national_code", "003401000230600"),
                ("begin_date", "2024-01-01"),
            ],
        ],
    )
    .await;

    let schema = format!("routing_test_{}", uuid::Uuid::new_v4().simple());
    let pool = medclear_routing::connect(&DbConfig::new(support::database_url(), schema.clone()))
        .await
        .unwrap();
    let store = Settlements::new(
        pool.clone(),
        Arc::new(h.clock.clone()),
        medclear_routing::publication::load(&pool).await.unwrap(),
    );
    // This test's own routing schema, not the harness's.
    for person in [
        support::person("P420200001", "420202196001010016", "420200"),
        support::person("P420200002", "420202196001010027", "420200"),
    ] {
        store.upsert_person(&person).await.unwrap();
    }
    // Bare channels: the lifecycle's clients send the trace context and this process's token.
    let channel = medclear_common::server::connect_lazy;
    let life = Lifecycle::new(
        pool.clone(),
        store,
        channel("filing", &h.grpc).unwrap(),
        channel("catalog", &h.catalog_grpc).unwrap(),
    );

    // Admitted in Shenzhen without a filing: the lines can be recorded, the settlement is refused.
    let v = life.register_visit(visit("V1", "P420200001", false)).await.unwrap();
    assert_eq!(
        life.register_visit(visit("V1", "P420200001", false)).await.unwrap(),
        v,
        "same msgid, same visit"
    );
    let lines =
        upload(&v.mdtrt_id, vec![line("1", "L001", 10000, 10), line("2", "L002", 5000, 20)])
            .unwrap();
    let uploaded = life.upload_lines(&lines).await.unwrap();
    assert_eq!((uploaded.lines, uploaded.total_fen), (2, 200000));
    // Each line classified at upload, as the settlement will split it.
    let classes: Vec<_> =
        uploaded.classified.iter().map(|c| (c.feedetl_sn.as_str(), c.parts.total)).collect();
    assert_eq!(classes, [("1", 100000), ("2", 100000)]);
    let again = upload(&v.mdtrt_id, vec![line("1", "L001", 10000, 10)]).unwrap();
    life.upload_lines(&again).await.unwrap();
    let other = upload(&v.mdtrt_id, vec![line("1", "L001", 10000, 11)]).unwrap();
    let conflict = life.upload_lines(&other).await.unwrap_err();
    assert_eq!(conflict.reason(), "line_conflict");
    let not_yet = settle(&life, "S1", &v.mdtrt_id).await.unwrap_err();
    assert_eq!(not_yet.reason(), "not_discharged");
    life.discharge(&discharge(&v.mdtrt_id, "2026-03-05")).await.unwrap();
    let refused = settle(&life, "S1", &v.mdtrt_id).await.unwrap_err();
    assert_eq!(refused.reason(), "not_filed", "{refused}");
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM settlements")
            .fetch_one(&pool)
            .await
            .unwrap(),
        0
    );

    // The patient files (referral to Guangdong) before discharge settlement; now it settles.
    let (status, _) = h.post("/api/v1/filings", &json!({"psn_no": "P420200001", "insuplc_admdvs": "420200", "mdtrtarea_admvs": "440000", "category": "referral", "begin_date": TODAY})).await;
    assert_eq!(status, 201);
    // Lines: 甲 10000 × 10 = 100000; 乙 5000 × 20 = 100000 with 10 % first self-pay 10000.
    // In scope 190000; Huangshi tertiary deductible 80000; base 110000 at 90 % less 10 points
    // (referral) = 80 % → pooling 88000. Patient 200000 − 88000 = 112000, in cash.
    let pre = life.presettle(&settle_as(HOSPITAL, "P1", &v.mdtrt_id)).await.unwrap().answer;
    assert_eq!(pre.kind, "presettlement");
    let Settled { answer: settled, coverage_basis: basis } =
        settle(&life, "S1", &v.mdtrt_id).await.unwrap();
    assert_eq!(basis, "filing");
    let b = &settled.breakdown;
    assert_eq!(
        (
            b.medfee_sumamt,
            b.preselfpay_amt,
            b.inscp_scp_amt,
            b.act_pay_dedc,
            b.hifp_pay,
            b.psn_cash_pay
        ),
        (200000, 10000, 190000, 80000, 88000, 112000)
    );
    assert_eq!(pre.breakdown, settled.breakdown, "pre-settlement computed the same");
    assert_eq!(
        settle(&life, "S1", &v.mdtrt_id).await.unwrap().answer,
        settled,
        "a retry gets the stored answer"
    );
    assert_eq!(settle(&life, "S2", &v.mdtrt_id).await.unwrap_err().reason(), "already_settled");

    // Cancel, settle again, then reverse that one by its msgid: all back to nothing.
    let cancellation = Cancellation::try_from(rpb::CancelSettlementRequest {
        fixmedins_code: HOSPITAL.into(),
        msgid: "C1".into(),
        setl_id: settled.setl_id.clone(),
    })
    .unwrap();
    life.cancel_settlement(&cancellation).await.unwrap();
    let again = settle(&life, "S3", &v.mdtrt_id).await.unwrap().answer;
    assert_eq!(again.breakdown.hifp_pay, 88000);
    let reversal = Reversal::try_from(rpb::ReverseRequest {
        fixmedins_code: HOSPITAL.into(),
        msgid: "R1".into(),
        omsgid: "S3".into(),
    })
    .unwrap();
    let reversed = life.reverse(&reversal).await.unwrap();
    assert_eq!(reversed.orig_setl_id.as_deref(), Some(again.setl_id.as_str()));
    let events = life.store().events_after(0, 10).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.event.obligation_fen).sum::<i64>(),
        0,
        "every obligation undone"
    );
    assert_eq!(events.len(), 4);
    assert!(
        events.iter().all(|e| e.mdtrt_id.as_deref() == Some(v.mdtrt_id.as_str())),
        "every event names the visit, cancellations too"
    );

    // An emergency without any filing counts as filed (and as referral/emergency for the rate).
    let e = life.register_visit(visit("V2", "P420200002", true)).await.unwrap();
    life.upload_lines(&upload(&e.mdtrt_id, vec![line("1", "L001", 10000, 10)]).unwrap())
        .await
        .unwrap();
    life.discharge(&discharge(&e.mdtrt_id, "2026-03-03")).await.unwrap();
    let basis = settle(&life, "S4", &e.mdtrt_id).await.unwrap().coverage_basis;
    assert_eq!(basis, "emergency_unfiled");

    // Bad input changes nothing: a bad line is refused before any visit is looked at.
    let fine = upload(&e.mdtrt_id, vec![line("9", "L001", 100, 1)]).unwrap();
    assert_eq!(
        life.upload_lines(&fine).await.unwrap_err().reason(),
        "visit_state",
        "settled visits take no lines"
    );
    let other = life.register_visit(visit("V3", "P420200001", false)).await.unwrap();
    let negative = line("9", "L001", 100, -1);
    assert_eq!(upload(&other.mdtrt_id, vec![negative]).unwrap_err().reason(), "invalid_quantity");
    assert_eq!(
        upload(&other.mdtrt_id, vec![line("9", "L001", 0, 1)]).unwrap_err().reason(),
        "invalid_price"
    );
    assert_eq!(settle(&life, "S9", "VNOSUCH").await.unwrap_err().reason(), "visit_not_found");
    assert_eq!(
        life.settle(&settle_as("H11000000001", "S9", &other.mdtrt_id)).await.unwrap_err().reason(),
        "visit_not_found",
        "another hospital's visit"
    );
    let unmapped = life.register_visit(visit("V4", "P420200001", false)).await.unwrap();
    life.upload_lines(&upload(&unmapped.mdtrt_id, vec![line("1", "L999", 100, 1)]).unwrap())
        .await
        .unwrap();
    life.discharge(&discharge(&unmapped.mdtrt_id, "2026-03-04")).await.unwrap();
    let lines_refused = settle(&life, "S10", &unmapped.mdtrt_id).await.unwrap_err();
    assert_eq!(lines_refused.reason(), "lines_refused");
    assert!(lines_refused.to_string().contains("unmapped"));
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM fee_lines WHERE mdtrt_id = $1")
            .bind(&other.mdtrt_id)
            .fetch_one(&pool)
            .await
            .unwrap(),
        0
    );

    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE")).execute(&pool).await.unwrap();
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_over_the_json_api() {
    let h = Harness::start(TODAY).await;
    let (status, health) = h.get("/healthz").await;
    assert_eq!((status, health["services"]["routing"].as_str()), (200, Some("serving")));
    h.seed_drug(&[HOSPITAL]).await;
    h.add_person(&support::person("P420200001", "420202196001010016", "420200")).await;

    let (status, p) = h.get("/api/v1/persons?certno=420202196001010016").await;
    assert_eq!((status, p["psn_no"].as_str()), (200, Some("P420200001")));
    let (status, v) = h
        .post("/api/v1/visits", &json!({"fixmedins_code": HOSPITAL, "msgid": "V1", "psn_no": "P420200001", "med_type": 11,
            "mdtrtarea_admvs": "440300", "hospital_level": "tertiary", "begin_date": TODAY}))
        .await;
    assert_eq!(status, 200, "{v}");
    let id = v["mdtrt_id"].as_str().unwrap().to_owned();
    let (status, lines) = h
        .post(&format!("/api/v1/visits/{id}/fee-lines"), &json!({"fixmedins_code": HOSPITAL, "msgid": "F1",
            "lines": [{"feedetl_sn": "1", "local_code": "L001", "price_fen": 2500, "quantity": "4", "fee_date": TODAY}]}))
        .await;
    assert_eq!((status, lines["total_fen"].as_i64()), (200, Some(10000)));
    let settle = format!("/api/v1/visits/{id}/settle");
    let (status, error) =
        h.post(&settle, &json!({"fixmedins_code": HOSPITAL, "msgid": "S1"})).await;
    assert_eq!((status, error["code"].as_str()), (409, Some("not_filed")));
    h.post("/api/v1/filings", &json!({"psn_no": "P420200001", "insuplc_admdvs": "420200", "mdtrtarea_admvs": "440000", "category": "other_temporary", "begin_date": TODAY})).await;
    // General outpatient (Huangshi employees, default outpatient rules): yearly deductible
    // 20000 fen takes 10000 of 10000, so the pool pays nothing and the patient all 10000.
    let (status, s) = h.post(&settle, &json!({"fixmedins_code": HOSPITAL, "msgid": "S1"})).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (
            s["medfee_sumamt_fen"].as_i64(),
            s["act_pay_dedc_fen"].as_i64(),
            s["hifp_pay_fen"].as_i64(),
            s["psn_cash_pay_fen"].as_i64()
        ),
        (Some(10000), Some(10000), Some(0), Some(10000))
    );
    assert_eq!(s["coverage_basis"], "filing");
    let (_, events) = h.get("/api/v1/settlement-events?after_seq=0").await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
    assert_eq!(events["events"][0]["obligation_fen"], 0, "nothing advanced by the funds");
    let (status, undone) = h
        .post(
            "/api/v1/reversals",
            &json!({"fixmedins_code": HOSPITAL, "msgid": "R1", "omsgid": "S1"}),
        )
        .await;
    assert_eq!((status, undone["kind"].as_str()), (200, Some("cancellation")));
    let (status, error) = h.post(&format!("/api/v1/visits/{id}/fee-lines"), &json!({"fixmedins_code": HOSPITAL, "lines": [{"feedetl_sn": "2", "local_code": "L001", "price_fen": 1, "quantity": "-1", "fee_date": TODAY}]})).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_quantity")));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persons_load_through_the_routing_service() {
    let h = Harness::start(TODAY).await;
    let people = medclear_cli::demo_data::persons::demo_persons(1, 3);
    let mut rows: Vec<_> = people
        .iter()
        .zip(2u64..)
        .map(|(p, line)| (line, medclear_routing::persons::row_of(p)))
        .collect();
    let mut bad = medclear_routing::persons::row_of(&people[0]);
    bad.insert("insutype".into(), "999".into());
    rows.push((500, bad));
    let (accepted, rejections) =
        medclear_cli::persons_cli::import(&h.routing_grpc, rows).await.unwrap();
    assert_eq!(accepted, 96);
    assert_eq!((rejections[0].row_no, rejections[0].reason.as_str()), (500, "unknown_insutype"));
    let (status, p) = h.get(&format!("/api/v1/persons?certno={}", people[7].certno)).await;
    assert_eq!((status, p["psn_no"].as_str()), (200, Some(people[7].psn_no.as_str())));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_go_to_the_instance_that_owns_the_home_province() {
    use medclear_gateway::{AppState, Upstreams, server};
    use medclear_routing::partition::Partition;

    let h = Harness::start(TODAY).await;
    h.seed_drug(&["H11000000001"]).await;

    // Two routing instances: Hubei's (42) and Guangdong's (44).
    let mut instances = Vec::new();
    for (province, tag) in [("42", "a"), ("44", "b")] {
        let schema = format!("routing_test_{tag}{}", uuid::Uuid::new_v4().simple());
        let pool =
            medclear_routing::connect(&DbConfig::new(support::database_url(), schema.clone()))
                .await
                .unwrap();
        let store = Settlements::partitioned(
            pool.clone(),
            Arc::new(h.clock.clone()),
            medclear_routing::publication::load(&pool).await.unwrap(),
            Partition::parse(province).unwrap(),
        );
        let settings = medclear_routing::Settings {
            partition: Partition::parse(province).unwrap(),
            ..medclear_routing::Settings::new(
                DbConfig::new(support::database_url(), schema.clone()),
                Arc::new(h.clock.clone()),
                h.grpc.clone(),
                h.catalog_grpc.clone(),
            )
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(medclear_routing::launch(settings, listener, std::future::pending()));
        instances.push((store, pool, schema, url));
    }
    let cantonese = support::person("P440300001", "440301197001010013", "440300");
    let row = |p: &PersonRow| vec![(2u64, medclear_routing::persons::row_of(p))];
    let (_, refused) = instances[0].0.import_persons(&row(&cantonese)).await.unwrap();
    assert_eq!(
        refused[0].reason, "wrong_partition",
        "Hubei's instance does not take a Guangdong person"
    );
    assert_eq!(instances[1].0.import_persons(&row(&cantonese)).await.unwrap().0, 1);

    let state = AppState::new(&Upstreams {
        filing: h.grpc.clone(),
        catalog: h.catalog_grpc.clone(),
        routing: instances[0].3.clone(),
        routing_partitions: vec![("44".into(), instances[1].3.clone())],
        clearing: h.clearing_grpc.clone(),
        service_token: h.service_token.clone(),
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(
        listener,
        state,
        medclear_cli::up::gateway_routes(),
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    let post = |path: String, body: serde_json::Value| {
        let request = client.post(format!("{base}{path}")).json(&body).send();
        async move {
            let response = request.await.unwrap();
            (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap())
        }
    };
    // An emergency in Beijing for a patient insured in Shenzhen: routed to Guangdong's instance.
    let (status, v) = post("/api/v1/visits".into(), json!({"fixmedins_code": "H11000000001", "msgid": "V1", "psn_no": "P440300001",
        "insuplc_admdvs": "440300", "med_type": 11, "mdtrtarea_admvs": "110000", "hospital_level": "tertiary", "begin_date": TODAY, "emergency": true})).await;
    assert_eq!(status, 200, "{v}");
    let id = v["mdtrt_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("V44"), "{id}");
    let (status, _) = post(format!("/api/v1/visits/{id}/fee-lines"), json!({"fixmedins_code": "H11000000001",
        "lines": [{"feedetl_sn": "1", "local_code": "L001", "price_fen": 30000, "quantity": 1, "fee_date": TODAY}]})).await;
    assert_eq!(status, 200);
    let (status, s) = post(
        format!("/api/v1/visits/{id}/settle"),
        json!({"fixmedins_code": "H11000000001", "msgid": "S1"}),
    )
    .await;
    assert_eq!((status, s["coverage_basis"].as_str()), (200, Some("emergency_unfiled")), "{s}");
    let setl_id = s["setl_id"].as_str().unwrap().to_owned();
    assert!(setl_id.starts_with("S44"));
    let (status, c) = post(
        format!("/api/v1/settlements/{setl_id}/cancel"),
        json!({"fixmedins_code": "H11000000001", "msgid": "C1"}),
    )
    .await;
    assert_eq!((status, c["kind"].as_str()), (200, Some("cancellation")));
    let sql = "SELECT count(*) FROM settlements";
    let in_hubei: i64 = sqlx::query_scalar(sql).fetch_one(&instances[0].1).await.unwrap();
    let in_guangdong: i64 = sqlx::query_scalar(sql).fetch_one(&instances[1].1).await.unwrap();
    assert_eq!((in_hubei, in_guangdong), (0, 2));
    for (_, pool, schema, _) in instances {
        sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE")).execute(&pool).await.unwrap();
    }
    h.finish().await;
}
