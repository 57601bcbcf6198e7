//! The disease-list downloads over real HTTP: 1309 (门诊慢特病种, the filing service's chronic
//! diseases), 1310 (按病种付费病种) and 1311 (日间手术治疗病种, catalogue items of their own kinds),
//! each answered with a file number that 9102 turns into a zip of the national file's columns;
//! and a disease-payment entry is never something a fee line bills.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_gateway::national::unzip_first;
use medclear_proto::{
    catalog::v1::{self as kpb, catalog_service_client::CatalogServiceClient},
    filing::v1::{ListChronicDiseasesRequest, filing_service_client::FilingServiceClient},
};
use serde_json::{Value, json};
use support::Harness;
use support::national::{HOSPITAL, PATH, envelope, ok, refused, register_hospital, signed};

const TODAY: &str = "2026-03-02";
const PERSON: &str = "P420200001";
const CERTNO: &str = "420202196001010016";
/// 按病种付费: 胆囊结石伴慢性胆囊炎, limited to a laparoscopic cholecystectomy.
const PAYMENT: &str = "K80.100";
/// 日间手术: 老年性白内障, by phacoemulsification.
const DAY_SURGERY: &str = "H25.900x001";
/// 按病种付费, published later: 急性阑尾炎, no operation named.
const LATER: &str = "K35.800";

/// A download's answer (infcode 0) and its file, downloaded with 9102 and unzipped: its lines,
/// each split at its TABs.
async fn download(h: &Harness, infno: &str, tag: &str, ver: &str) -> (Value, Vec<Vec<String>>) {
    let (answer, text) = ok(h, infno, tag, json!({"data": {"ver": ver}})).await;
    for field in ["file_qury_no", "filename", "dld_end_time"] {
        assert!(answer[field].is_string(), "{field}: {text}");
    }
    assert!(answer["data_cnt"].is_u64(), "{text}");
    let request = envelope(
        "9102",
        &format!("{tag}-9102"),
        json!({"fsDownloadIn": {"file_qury_no": answer["file_qury_no"],
            "filename": answer["filename"], "fixmedins_code": HOSPITAL}}),
    );
    let response = h.http.post(h.url(PATH)).json(&request).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/zip");
    let zip = response.bytes().await.unwrap();
    let file = String::from_utf8(unzip_first(&zip).unwrap()).unwrap();
    let rows: Vec<Vec<String>> = file
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect();
    assert_eq!(answer["data_cnt"].as_u64(), Some(u64::try_from(rows.len()).unwrap()), "{file}");
    (answer, rows)
}

async fn catalog(h: &Harness) -> CatalogServiceClient<tonic::transport::Channel> {
    CatalogServiceClient::connect(h.catalog_grpc.clone()).await.unwrap()
}

async fn import_items(h: &Harness, rows: &[&[(&str, &str)]]) {
    support::import(&mut catalog(h).await, kpb::ImportTarget::Items, rows).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disease_lists_download_in_their_national_columns_and_bill_nothing() {
    let h = Harness::start(TODAY).await;
    h.seed_drug(&[HOSPITAL]).await;
    h.add_person(&support::person(PERSON, CERTNO, "420200")).await;
    register_hospital(&h).await;

    // 1309: the filing service's chronic diseases, the whole list whatever `ver` says.
    let mut filing = FilingServiceClient::connect(h.grpc.clone()).await.unwrap();
    let diseases = filing
        .list_chronic_diseases(signed(ListChronicDiseasesRequest {}))
        .await
        .unwrap()
        .into_inner()
        .diseases;
    assert!(diseases.iter().any(|d| d.code == "M03900"), "{diseases:?}");
    let (chronic, rows) = download(&h, "1309", "C1", "0").await;
    assert_eq!(chronic["file_qury_no"], "C1309-0-0");
    assert_eq!(chronic["filename"], "1309_0.zip");
    assert_eq!(rows.len(), diseases.len());
    for disease in &diseases {
        let row = rows.iter().find(|r| r[0] == disease.code).unwrap();
        assert_eq!(row.len(), 16, "{row:?}");
        // opsp_dise_code, majcls name, vali_flag, ver, ver_name, opsp_dise_name, majcls code.
        let picked = [&row[0], &row[1], &row[5], &row[9], &row[11], &row[14], &row[15]];
        let name = &disease.name;
        assert_eq!(picked, [&disease.code, name, "1", "0", "0", name, &disease.code]);
    }
    let (again, same) = download(&h, "1309", "C2", "7").await;
    assert_eq!((&again["file_qury_no"], &same), (&json!("C1309-0-0"), &rows));
    let (_, reason) =
        refused(&h, envelope("1309", "C3", json!({"data": {"ver": "v1"}})).to_string()).await;
    assert_eq!(reason, "invalid_input");
    let (_, reason) = refused(
        &h,
        envelope("9102", "C4", json!({"fsDownloadIn": {"file_qury_no": "C1309-0-3"}})).to_string(),
    )
    .await;
    assert_eq!(reason, "unknown_file");

    // 1310 / 1311: nothing yet; then one entry of each, imported as catalogue items.
    let (none, rows) = download(&h, "1310", "D1", "0").await;
    assert_eq!((none["data_cnt"].as_u64(), rows.len()), (Some(0), 0));
    import_items(
        &h,
        &[
            &[
                ("code", PAYMENT),
                ("kind", "disease_payment"),
                ("name", "胆囊结石伴慢性胆囊炎"),
                ("begin_date", "2024-01-01"),
                ("operation_code", "51.2300"),
                ("operation_name", "腹腔镜下胆囊切除术"),
            ],
            &[
                ("code", DAY_SURGERY),
                ("kind", "day_surgery"),
                ("name", "老年性白内障"),
                ("begin_date", "2024-01-01"),
                ("operation_code", "13.4100"),
                ("operation_name", "白内障超声乳化抽吸术"),
            ],
        ],
    )
    .await;
    let (payments, rows) = download(&h, "1310", "D2", "0").await;
    let file_qury_no = payments["file_qury_no"].as_str().unwrap().to_owned();
    let upto = file_qury_no.rsplit('-').next().unwrap().to_owned();
    assert_eq!(file_qury_no, format!("C1310-0-{upto}"));
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.len(), 15, "{row:?}");
    // id, bydise_setl_list_code, name, qua_oprn_oprt_code / _name, vali_flag, ver_name.
    let picked = [&row[0], &row[1], &row[2], &row[3], &row[4], &row[5], &row[12]];
    assert_eq!(
        picked,
        [PAYMENT, PAYMENT, "胆囊结石伴慢性胆囊炎", "51.2300", "腹腔镜下胆囊切除术", "1", &upto]
    );
    assert_eq!(row[6], format!("{PAYMENT}-{}", row[9]), "rid: the code and its version");
    let (_, rows) = download(&h, "1311", "S1", "0").await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.len(), 15, "{row:?}");
    // id, daysrg_dise_list_code, name, vali_flag, ver_name, oprn_oprt_name, oprn_oprt_code.
    let picked = [&row[0], &row[1], &row[2], &row[3], &row[10], &row[13], &row[14]];
    assert_eq!(
        picked,
        [DAY_SURGERY, DAY_SURGERY, "老年性白内障", "1", &upto, "白内障超声乳化抽吸术", "13.4100"]
    );
    // Neither list is in another download: the one drug of 1301, no diagnosis, no operation.
    for (infno, count) in [("1301", 1), ("1307", 0), ("1308", 0)] {
        let (answer, _) = download(&h, infno, &format!("K{infno}"), "0").await;
        assert_eq!(answer["data_cnt"], count, "{infno}");
    }

    // A later version: a download from the one reached brings only what came after it.
    import_items(
        &h,
        &[&[
            ("code", LATER),
            ("kind", "disease_payment"),
            ("name", "急性阑尾炎"),
            ("begin_date", "2024-01-01"),
        ]],
    )
    .await;
    let (newer, rows) = download(&h, "1310", "D3", &upto).await;
    assert_eq!(newer["data_cnt"], 1);
    assert_eq!((rows[0][1].as_str(), rows[0][3].as_str()), (LATER, ""), "{rows:?}");
    assert!(newer["file_qury_no"].as_str().unwrap().starts_with(&format!("C1310-{upto}-")));
    let (all, rows) = download(&h, "1310", "D4", "0").await;
    assert_eq!(all["data_cnt"], 2);
    assert!(rows.iter().any(|r| r[1] == PAYMENT) && rows.iter().any(|r| r[1] == LATER));
    let (_, rows) = download(&h, "1311", "S2", &upto).await;
    assert!(rows.is_empty(), "no newer day surgery: {rows:?}");

    // A disease-payment entry is no billable item: a fee line coded with it does not resolve,
    // a hospital cannot map its codes to it, no region can cover it.
    let resolved = catalog(&h)
        .await
        .resolve_lines(signed(kpb::ResolveLinesRequest {
            fixmedins_code: HOSPITAL.into(),
            mdtrtarea_admvs: "440300".into(),
            date: TODAY.into(),
            lines: vec![kpb::LineInput {
                line_no: "1".into(),
                national_code: PAYMENT.into(),
                ..Default::default()
            }],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    match &resolved.lines[0].outcome {
        Some(kpb::line_result::Outcome::Error(e)) => {
            assert_eq!(e.reason, "bad_line", "{e:?}");
            assert!(e.message.contains("disease_payment"), "{e:?}");
        }
        other => panic!("a disease-payment entry resolved as a fee line: {other:?}"),
    }
    let registration = json!({"data": {"psn_no": PERSON, "insutype": "310",
        "begntime": "2026-03-02 09:01:00", "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO,
        "ipt_otp_no": "MZ0001", "exp_content": {"er_flag": "1"}}});
    let (visit, _) = ok(&h, "2201", "V1", registration).await;
    let mdtrt_id = visit["data"]["mdtrt_id"].as_str().unwrap().to_owned();
    let line = json!({"feedetail": [{"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": PERSON,
        "chrg_bchno": "B1", "fee_ocur_time": "2026-03-02 09:10:00", "med_list_codg": PAYMENT,
        "medins_list_codg": "LS01", "pric": "3000.00", "cnt": "1", "det_item_fee_sumamt": "3000.00",
        "rx_circ_flag": "0"}]});
    // Uploaded, the line stays unclassified (no mapping can lead to the entry), and the
    // visit does not settle.
    let (uploaded, text) = ok(&h, "2204", "V2", line).await;
    let result = &uploaded["result"][0];
    assert!(result["chrgitm_lv"].is_null(), "{text}");
    assert!(result["memo"].as_str().unwrap().starts_with("unmapped"), "{text}");
    let settle = json!({"data": {"psn_no": PERSON, "mdtrt_cert_type": "02", "med_type": "11",
        "medfee_sumamt": "3000.00", "psn_setlway": "01", "mdtrt_id": mdtrt_id,
        "chrg_bchno": "B1", "acct_used_flag": "0", "insutype": "310"}});
    let (_, reason) = refused(&h, envelope("2207", "V3", settle).to_string()).await;
    assert_eq!(reason, "lines_refused");
    assert_eq!(support::national::count(&h, "settlements").await, 0);
    let mapping = json!({"data": {"fixmedins_hilist_id": "LS01",
        "fixmedins_hilist_name": "胆囊切除打包", "med_list_codg": PAYMENT,
        "begndate": "2026-03-02"}});
    let (_, reason) = refused(&h, envelope("3301", "V4", mapping).to_string()).await;
    assert_eq!(reason, "mapping_refused");
    let mut request = tonic::Request::new(tokio_stream::iter([
        kpb::ImportRequest {
            part: Some(kpb::import_request::Part::Header(kpb::ImportHeader {
                target: kpb::ImportTarget::Coverage.into(),
                source: "t".into(),
                all_or_nothing: true,
                operator: "t".into(),
            })),
        },
        kpb::ImportRequest {
            part: Some(kpb::import_request::Part::Row(kpb::ImportRow {
                row_no: 2,
                fields: [
                    ("scope", "000000"),
                    ("code", PAYMENT),
                    ("class", "A"),
                    ("begin_date", "2024-01-01"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            })),
        },
    ]));
    medclear_common::server::insert_service_token(request.metadata_mut());
    let report = catalog(&h).await.import(request).await.unwrap().into_inner();
    assert!(!report.committed);
    assert_eq!(report.rejections[0].reason, "not_chargeable", "{report:?}");

    // A day-surgery entry without its operation is refused at import, naming the column.
    let mut request = tonic::Request::new(tokio_stream::iter([
        kpb::ImportRequest {
            part: Some(kpb::import_request::Part::Header(kpb::ImportHeader {
                target: kpb::ImportTarget::Items.into(),
                source: "t".into(),
                all_or_nothing: true,
                operator: "t".into(),
            })),
        },
        kpb::ImportRequest {
            part: Some(kpb::import_request::Part::Row(kpb::ImportRow {
                row_no: 2,
                fields: [
                    ("code", "N20.000"),
                    ("kind", "day_surgery"),
                    ("name", "肾结石"),
                    ("begin_date", "2024-01-01"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            })),
        },
    ]));
    medclear_common::server::insert_service_token(request.metadata_mut());
    let report = catalog(&h).await.import(request).await.unwrap().into_inner();
    let rejection = &report.rejections[0];
    assert_eq!(
        (rejection.reason.as_str(), rejection.field.as_str()),
        ("missing_field", "operation_code")
    );
    h.finish().await;
}
