//! The catalogue through the CLI's CSV import and the gateway's JSON API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_cli::catalog_cli;
use medclear_proto::catalog::v1::{self as pb, catalog_service_client::CatalogServiceClient};
use serde_json::json;
use support::Harness;

fn header(target: pb::ImportTarget) -> pb::ImportHeader {
    pb::ImportHeader {
        target: target.into(),
        source: "test".into(),
        all_or_nothing: false,
        operator: "t".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_files_import_and_the_json_api_answers() {
    let h = Harness::start("2024-06-01").await;
    let dir = std::env::temp_dir().join(format!("medclear-csv-{}", uuid::Uuid::new_v4().simple()));
    let mut client = CatalogServiceClient::connect(h.catalog_grpc.clone()).await.unwrap();

    // The demo catalogue, written as CSV files and read back through the CLI's reader.
    let (demo, _) = catalog_cli::demo_rows(7, medclear_cli::demo_data::catalog::Scale::Small);
    let hospital = demo.hospitals[0].clone();
    let generate = catalog_cli::CatalogCommand::Generate { out: dir.clone(), seed: 7, small: true };
    catalog_cli::run(generate).await.unwrap();
    for (file, target) in [
        ("items.csv", pb::ImportTarget::Items),
        ("coverage.csv", pb::ImportTarget::Coverage),
        ("mappings.csv", pb::ImportTarget::Mappings),
    ] {
        let rows = catalog_cli::read_csv(&dir.join(file)).unwrap();
        let expected = rows.len();
        let report = catalog_cli::import(&mut client, header(target), rows, None).await.unwrap();
        assert!(report.committed, "{file}: {:?}", report.rejections.first());
        assert_eq!(
            (report.rows_accepted, report.rejections.len()),
            (u64::try_from(expected).unwrap(), 0),
            "{file}"
        );
    }
    // A file with a bad line: the refusal names the line in the file.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "code,kind,name,begin_date\n003401000239999,service,OK,2024-01-01\n00340100023999,service,short,2024-01-01\n").unwrap();
    let report = catalog_cli::import(
        &mut client,
        header(pb::ImportTarget::Items),
        catalog_cli::read_csv(&bad).unwrap(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (report.rows_accepted, report.rejections[0].row_no, report.rejections[0].reason.as_str()),
        (1, 3, "invalid_code")
    );

    // JSON: mappings of a demo hospital resolve in its region.
    let (status, mappings) = h
        .get(&format!("/api/v1/catalog/mappings?fixmedins_code={}", hospital.fixmedins_code))
        .await;
    assert_eq!(status, 200);
    let local = mappings["mappings"][0]["local_code"].as_str().unwrap().to_owned();
    let national = mappings["mappings"][0]["national_code"].as_str().unwrap().to_owned();
    let body = json!({
        "fixmedins_code": hospital.fixmedins_code, "mdtrtarea_admvs": hospital.admdvs, "date": "2024-06-01",
        "hospital_level": "tertiary", "patient_age": 40, "diagnosis_code": "E11.900",
        "lines": [{"line_no": "1", "local_code": local}, {"line_no": 2, "local_code": "NOPE"}],
    });
    let (status, resolved) = h.post("/api/v1/catalog/resolve", &body).await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["lines"][0]["national_code"], national.as_str());
    assert!(["A", "B", "C"].contains(&resolved["lines"][0]["class"].as_str().unwrap()));
    assert_eq!(resolved["lines"][1]["line_no"], "2");
    assert_eq!(resolved["lines"][1]["error"]["reason"], "unmapped");
    let (status, item) = h.get(&format!("/api/v1/catalog/items/{national}")).await;
    assert_eq!((status, item["code"].as_str()), (200, Some(national.as_str())));
    let (status, coverage) = h
        .get(&format!(
            "/api/v1/catalog/coverage?code={national}&mdtrtarea_admvs={}&date=2024-06-01",
            hospital.admdvs
        ))
        .await;
    assert_eq!(status, 200);
    assert!(coverage["coverage"]["scope"].is_string());

    // 3301 through JSON, retried; then 3302.
    let upload = json!({"msgid": "H-3301-1", "fixmedins_code": hospital.fixmedins_code,
        "mappings": [{"local_code": "NEW-1", "national_code": national, "begin_date": "2024-01-01", "local_name": "x"}]});
    let (status, first) = h.post("/api/v1/catalog/mappings", &upload).await;
    assert_eq!((status, first["outcomes"][0]["accepted"].as_bool()), (200, Some(true)), "{first}");
    let (_, again) = h.post("/api/v1/catalog/mappings", &upload).await;
    assert_eq!(again, first);
    let (status, revoked) = h.post("/api/v1/catalog/mappings/revoke", &json!({"msgid": "H-3302-1", "fixmedins_code": hospital.fixmedins_code, "local_code": "NEW-1"})).await;
    assert_eq!((status, revoked["revoked"].as_bool()), (200, Some(true)), "{revoked}");
    let since = first["ver"].as_i64().unwrap() - 1;
    let (_, changes) = h
        .get(&format!(
            "/api/v1/catalog/changes?since_ver={since}&fixmedins_code={}",
            hospital.fixmedins_code
        ))
        .await;
    assert_eq!(changes["mappings"].as_array().unwrap().len(), 1, "{changes}");
    assert_eq!(changes["mappings"][0]["revoked"], true);

    // Bad input: the documented error, nothing published.
    let (status, error) = h.post_raw("/api/v1/catalog/resolve", "{\"lines\": [").await;
    assert_eq!((status, error["code"].as_str()), (400, Some("malformed_json")));
    let (status, error) = h
        .post(
            "/api/v1/catalog/resolve",
            &json!({"fixmedins_code": "H1", "mdtrtarea_admvs": "440300", "date": "2024-06-01"}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str(), error["field"].as_str()),
        (400, Some("invalid_code"), Some("fixmedins_code"))
    );
    let (status, error) = h.get("/api/v1/catalog/changes?since_ver=abc").await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_number")));
    let (status, error) = h.get("/api/v1/catalog/items/X0000000000000000000000").await;
    assert_eq!((status, error["code"].as_str()), (404, Some("unknown_code")));
    std::fs::remove_dir_all(&dir).unwrap();
    h.finish().await;
}
