//! The filing service and the gateway, driven over HTTP and gRPC as clients would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_proto::filing::v1::{self as pb, filing_service_client::FilingServiceClient};
use serde_json::{Value, json};
use support::Harness;

const TODAY: &str = "2026-03-02";

fn referral() -> Value {
    json!({
        "psn_no": "P420200001",
        "psn_name": "张三",
        "insuplc_admdvs": "420200",
        "mdtrtarea_admvs": "440000",
        "category": "referral",
        "begin_date": TODAY,
    })
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

#[tokio::test]
async fn a_citizen_files_checks_coverage_and_revokes_over_http() {
    let h = Harness::start(TODAY).await;

    let (status, health) = h.get("/healthz").await;
    assert_eq!((status, health["services"]["filing"].as_str()), (200, Some("serving")));

    let (status, filing) = h.post("/api/v1/filings", &referral()).await;
    assert_eq!(status, 201, "{filing}");
    let id = filing["filing_id"].as_str().unwrap().to_owned();
    assert_eq!(filing["status"], "active");
    assert_eq!(filing["category"], "referral");
    assert_eq!(filing["end_date"], "2026-09-01", "six months by default");
    assert_eq!(filing["filed_by"], json!({"id": "P420200001", "channel": "citizen_online"}));

    let (status, got) = h.get(&format!("/api/v1/filings/{id}")).await;
    assert_eq!((status, &got), (200, &filing));
    let (_, list) = h.get("/api/v1/filings?psn_no=P420200001").await;
    assert_eq!(list["filings"].as_array().unwrap().len(), 1);

    // Covered in Shenzhen (inside Guangdong) on the last day, not the day after.
    let q = "/api/v1/coverage?psn_no=P420200001&insuplc_admdvs=420200&mdtrtarea_admvs=440300";
    let (_, covered) = h.get(&format!("{q}&date=2026-09-01")).await;
    assert_eq!(covered["covered"], true);
    assert_eq!(covered["basis"], "filing");
    assert_eq!(covered["filing_id"], id.as_str());
    let (_, after) = h.get(&format!("{q}&date=2026-09-02")).await;
    assert_eq!(
        (after["covered"].clone(), after["reason"].clone()),
        (json!(false), json!("no_filing"))
    );
    let (_, emergency) = h.get(&format!("{q}&date=2026-09-02&emergency=1")).await;
    assert_eq!(emergency["basis"], "emergency_unfiled");

    // An overlapping filing for the same destination is refused.
    let (status, clash) =
        h.post("/api/v1/filings", &with(referral(), "mdtrtarea_admvs", json!("440300"))).await;
    assert_eq!((status, clash["code"].as_str()), (409, Some("overlapping_filing")));

    let (status, revoked) = h
        .post(
            &format!("/api/v1/filings/{id}/revoke"),
            &json!({"reason": "plans changed", "operator": "P420200001"}),
        )
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    let (status, again) =
        h.post(&format!("/api/v1/filings/{id}/revoke"), &json!({"operator": "P420200001"})).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("already_revoked")));
    let (_, active) = h.get("/api/v1/filings?psn_no=P420200001").await;
    assert_eq!(active["filings"], json!([]));
    let (_, all) = h.get("/api/v1/filings?psn_no=P420200001&include_revoked=true").await;
    assert_eq!(all["filings"].as_array().unwrap().len(), 1);

    // Every change is in the audit trail: who, which channel, what.
    let audit: Vec<(String, String, String)> =
        sqlx::query_as("SELECT actor, channel, action FROM audit_log ORDER BY id")
            .fetch_all(&h.pool)
            .await
            .unwrap();
    assert_eq!(
        audit,
        [
            ("P420200001".into(), "citizen_online".into(), "filing.create".into()),
            ("P420200001".into(), "citizen_online".into(), "filing.revoke".into()),
        ]
    );
    h.finish().await;
}

#[tokio::test]
async fn the_same_request_id_has_one_effect() {
    let h = Harness::start(TODAY).await;
    let body = with(referral(), "request_id", json!("H42020000001202603021200000001"));
    let (first_status, first) = h.post("/api/v1/filings", &body).await;
    let (second_status, second) = h.post("/api/v1/filings", &body).await;
    assert_eq!((first_status, second_status), (201, 201));
    assert_eq!(first, second);
    assert_eq!(h.count("filings").await, 1);
    assert_eq!(h.count("audit_log").await, 1);
    // Same id, different request: refused, nothing written.
    let changed = with(body, "mdtrtarea_admvs", json!("310000"));
    let (status, error) = h.post("/api/v1/filings", &changed).await;
    assert_eq!((status, error["code"].as_str()), (409, Some("request_id_reused")));
    // The Idempotency-Key header works the same way.
    let keyed = |b: &Value| {
        h.http.post(h.url("/api/v1/filings")).header("idempotency-key", "k-1").json(b).send()
    };
    let other = with(referral(), "mdtrtarea_admvs", json!("310000"));
    let a: Value = keyed(&other).await.unwrap().json().await.unwrap();
    let b: Value = keyed(&other).await.unwrap().json().await.unwrap();
    assert_eq!(a["filing_id"], b["filing_id"]);
    assert_eq!(h.count("filings").await, 2);
    h.finish().await;
}

#[tokio::test]
async fn bad_input_gets_the_documented_error_and_writes_nothing() {
    let h = Harness::start(TODAY).await;
    let cases: Vec<(&str, Value, u16, &str, Option<&str>)> = vec![
        (
            "unknown region: not in reference/admdvs.csv",
            with(referral(), "mdtrtarea_admvs", json!("450199")),
            400,
            "unknown_region",
            Some("mdtrtarea_admvs"),
        ),
        (
            "same province",
            with(referral(), "mdtrtarea_admvs", json!("420000")),
            400,
            "same_province",
            Some("mdtrtarea_admvs"),
        ),
        (
            "end before begin",
            with(referral(), "end_date", json!("2026-03-01")),
            400,
            "end_before_begin",
            Some("end_date"),
        ),
        (
            "unknown category",
            with(referral(), "category", json!("holiday")),
            400,
            "unknown_category",
            Some("category"),
        ),
        (
            "missing field",
            with(referral(), "psn_no", json!(null)),
            400,
            "missing_field",
            Some("psn_no"),
        ),
        (
            "bad code",
            with(referral(), "insuplc_admdvs", json!("42020")),
            400,
            "invalid_code",
            Some("insuplc_admdvs"),
        ),
        (
            "bad date",
            with(referral(), "begin_date", json!("2026-02-30")),
            400,
            "invalid_date",
            Some("begin_date"),
        ),
        (
            "too short",
            with(referral(), "end_date", json!("2026-05-01")),
            400,
            "validity_too_short",
            Some("end_date"),
        ),
        (
            "long-term with end",
            with(
                with(referral(), "category", json!("retiree_resettled")),
                "end_date",
                json!("2027-01-01"),
            ),
            400,
            "long_term_is_open_ended",
            Some("end_date"),
        ),
        (
            "backdated",
            with(referral(), "begin_date", json!("2026-03-01")),
            400,
            "begin_too_early",
            Some("begin_date"),
        ),
        (
            "unknown channel",
            with(referral(), "channel", json!("fax")),
            400,
            "unknown_channel",
            Some("channel"),
        ),
        ("wrong shape", json!({"psn_no": ["P1"]}), 400, "invalid_json", None),
        ("not an object", json!([1, 2]), 400, "invalid_json", None),
    ];
    for (name, body, status, code, field) in cases {
        let (got, error) = h.post("/api/v1/filings", &body).await;
        assert_eq!((got, error["code"].as_str()), (status, Some(code)), "{name}: {error}");
        assert_eq!(error["field"].as_str(), field, "{name}: {error}");
        assert!(!error["message"].as_str().unwrap().is_empty(), "{name}");
    }
    let (status, error) = h.post_raw("/api/v1/filings", "{\"psn_no\": \"P1\",").await;
    assert_eq!((status, error["code"].as_str()), (400, Some("malformed_json")));
    let (status, error) = h.post_raw("/api/v1/filings", "").await;
    assert_eq!((status, error["code"].as_str()), (400, Some("malformed_json")));
    let huge = format!("{{\"memo\": \"{}\"}}", "x".repeat(200_000));
    let (status, error) = h.post_raw("/api/v1/filings", huge).await;
    assert_eq!((status, error["code"].as_str()), (413, Some("body_too_large")));
    let (status, error) = h.get("/api/v1/filings/FNOSUCHFILING").await;
    assert_eq!((status, error["code"].as_str()), (404, Some("filing_not_found")));
    let (status, error) = h.get("/api/v1/nothing-here").await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
    let (status, error) = h
        .get(
            "/api/v1/coverage?psn_no=P1&insuplc_admdvs=420200&mdtrtarea_admvs=440300&date=tomorrow",
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str(), error["field"].as_str()),
        (400, Some("invalid_date"), Some("date"))
    );
    let (status, error) = h
        .http
        .delete(h.url("/api/v1/filings"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map(|s| (s, ()))
        .unwrap();
    assert_eq!((status, error), (405, ()));
    assert_eq!(h.count("filings").await, 0, "nothing written");
    assert_eq!(h.count("audit_log").await, 0, "nothing audited");
    h.finish().await;
}

#[tokio::test]
async fn long_term_filings_are_locked_against_revocation_for_six_months() {
    let h = Harness::start(TODAY).await;
    let body =
        with(with(referral(), "category", json!("retiree_resettled")), "channel", json!("agency"));
    let body = with(body, "operator", json!("clerk-7"));
    let (status, filing) = h.post("/api/v1/filings", &body).await;
    assert_eq!(status, 201, "{filing}");
    assert_eq!(
        (filing["end_date"].clone(), filing["revocable_from"].clone()),
        (json!(null), json!("2026-09-02"))
    );
    let id = filing["filing_id"].as_str().unwrap();
    let revoke = format!("/api/v1/filings/{id}/revoke");
    let (status, error) =
        h.post(&revoke, &json!({"channel": "agency", "operator": "clerk-7"})).await;
    assert_eq!((status, error["code"].as_str()), (409, Some("revoke_locked")));
    assert!(error["message"].as_str().unwrap().contains("2026-09-02"));
    h.clock.set("2026-09-01T15:59:59Z".parse().unwrap()); // 23:59:59 on 09-01 in Beijing
    let (status, _) = h.post(&revoke, &json!({"channel": "agency", "operator": "clerk-7"})).await;
    assert_eq!(status, 409);
    h.clock.set("2026-09-01T16:00:00Z".parse().unwrap()); // 00:00 on 09-02 in Beijing
    let (status, revoked) =
        h.post(&revoke, &json!({"channel": "agency", "operator": "clerk-7"})).await;
    assert_eq!((status, revoked["status"].as_str()), (200, Some("revoked")));
    h.finish().await;
}

#[tokio::test]
async fn chronic_disease_filings_over_http() {
    let h = Harness::start(TODAY).await;
    let (_, diseases) = h.get("/api/v1/chronic-diseases").await;
    assert_eq!(diseases["diseases"].as_array().unwrap().len(), 5);
    let body = json!({
        "psn_no": "P420200001", "insuplc_admdvs": "420200", "disease_code": "M03900",
        "diagnosed_by": "H42020000001", "begin_date": TODAY, "channel": "hospital", "operator": "H42020000001",
    });
    let (status, filing) = h.post("/api/v1/chronic-filings", &body).await;
    assert_eq!(status, 201, "{filing}");
    assert_eq!(filing["disease_name"], "高血压 Hypertension");
    let id = filing["filing_id"].as_str().unwrap();
    let (_, got) = h.get(&format!("/api/v1/chronic-filings/{id}")).await;
    assert_eq!(got, filing);
    let check = "/api/v1/chronic-filings/check?psn_no=P420200001&disease_code=M03900";
    let (_, yes) = h.get(&format!("{check}&date={TODAY}")).await;
    assert_eq!((yes["covered"].clone(), yes["filing_id"].clone()), (json!(true), json!(id)));
    let (_, no) = h.get(&format!("{check}&date=2026-03-01")).await;
    assert_eq!(
        (no["covered"].clone(), no["reason"].clone()),
        (json!(false), json!("no_chronic_filing"))
    );
    let (status, error) = h
        .post("/api/v1/chronic-filings", &with(body.clone(), "disease_code", json!("M99999")))
        .await;
    assert_eq!((status, error["code"].as_str()), (400, Some("unknown_disease")));
    let (status, error) =
        h.post("/api/v1/chronic-filings", &with(body.clone(), "diagnosed_by", json!("X1"))).await;
    assert_eq!((status, error["field"].as_str()), (400, Some("diagnosed_by")));
    let (status, error) = h.post("/api/v1/chronic-filings", &body).await;
    assert_eq!((status, error["code"].as_str()), (409, Some("overlapping_filing")));
    let (status, revoked) = h
        .post(
            &format!("/api/v1/chronic-filings/{id}/revoke"),
            &json!({"channel": "hospital", "operator": "H42020000001"}),
        )
        .await;
    assert_eq!((status, revoked["status"].as_str()), (200, Some("revoked")));
    let (_, list) = h.get("/api/v1/chronic-filings?psn_no=P420200001").await;
    assert_eq!(list["filings"], json!([]));
    h.finish().await;
}

#[tokio::test]
async fn region_rules_change_what_is_accepted() {
    let h = Harness::start(TODAY).await;
    let (_, rules) = h.get("/api/v1/region-rules/420200").await;
    assert_eq!(rules["temporary_min_validity_months"], 6);
    let (status, rules) = h
        .http
        .put(h.url("/api/v1/region-rules/420000"))
        .json(&json!({"temporary_min_validity_months": 3, "operator": "hubei-bureau"}))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map(|s| (s, ()))
        .unwrap();
    assert_eq!((status, rules), (200, ()));
    // Inherited by Huangshi from Hubei province.
    let (status, filing) =
        h.post("/api/v1/filings", &with(referral(), "end_date", json!("2026-06-01"))).await;
    assert_eq!(status, 201, "{filing}");
    let bad = h
        .http
        .put(h.url("/api/v1/region-rules/420000"))
        .json(&json!({"temporary_min_validity_months": 0, "operator": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let (status, error) = h.get("/api/v1/region-rules/999999").await;
    assert_eq!((status, error["code"].as_str()), (400, Some("unknown_region")));
    h.finish().await;
}

#[tokio::test]
async fn a_county_is_a_region_and_follows_its_citys_then_its_provinces_rules() {
    let h = Harness::start(TODAY).await;
    let response = h
        .http
        .put(h.url("/api/v1/region-rules/430000"))
        .json(&json!({"temporary_min_validity_months": 12, "operator": "hunan-bureau"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (_, rules) = h.get("/api/v1/region-rules/430102").await;
    assert_eq!(
        rules["temporary_min_validity_months"], 12,
        "Hunan's, for Changsha's Furong district"
    );
    // Insured in Furong district, treated in Shenzhen's Nanshan district: Hunan's twelve months.
    let furong = json!({
        "psn_no": "P430102000001",
        "psn_name": "刘芳",
        "insuplc_admdvs": "430102",
        "mdtrtarea_admvs": "440305",
        "category": "referral",
        "begin_date": TODAY,
    });
    let (status, filing) = h.post("/api/v1/filings", &furong).await;
    assert_eq!(status, 201, "{filing}");
    assert_eq!(filing["end_date"], "2027-03-01");
    let q = "/api/v1/coverage?psn_no=P430102000001&insuplc_admdvs=430102&date=2026-06-01";
    let (_, covered) = h.get(&format!("{q}&mdtrtarea_admvs=440305")).await;
    assert_eq!(
        (covered["covered"].clone(), covered["basis"].clone()),
        (json!(true), json!("filing"))
    );
    let (_, futian) = h.get(&format!("{q}&mdtrtarea_admvs=440304")).await;
    assert_eq!(futian["reason"], "no_filing", "{futian}");
    h.finish().await;
}

#[tokio::test]
async fn a_rule_change_applies_to_the_next_coverage_check_at_once() {
    let h = Harness::start(TODAY).await;
    let q = "/api/v1/coverage?psn_no=P420200001&insuplc_admdvs=420200&mdtrtarea_admvs=440300\
             &emergency=1&date=2026-09-02";
    // The first check reads (and keeps) Huangshi's rules: an unfiled emergency is covered.
    let (_, before) = h.get(q).await;
    assert_eq!(before["basis"], "emergency_unfiled", "{before}");
    let response = h
        .http
        .put(h.url("/api/v1/region-rules/420000"))
        .json(&json!({"emergency_counts_as_filed": false, "operator": "hubei-bureau"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // The province's change reaches its region on the very next check.
    let (_, after) = h.get(q).await;
    assert_eq!(after["covered"], false, "{after}");
    h.finish().await;
}

#[tokio::test]
async fn grpc_clients_see_what_http_clients_do() {
    let h = Harness::start(TODAY).await;
    // The services take calls with this process's service token.
    let channel =
        tonic::transport::Endpoint::from_shared(h.grpc.clone()).unwrap().connect().await.unwrap();
    let mut client = FilingServiceClient::with_interceptor(channel, |mut r: tonic::Request<()>| {
        medclear_common::server::insert_service_token(r.metadata_mut());
        Ok(r)
    });
    let actor =
        Some(pb::Actor { id: "H44030000001".into(), channel: pb::Channel::Hospital.into() });
    let created = client
        .create_filing(pb::CreateFilingRequest {
            psn_no: "P110000007".into(),
            insuplc_admdvs: "110000".into(),
            mdtrtarea_admvs: "460100".into(),
            category: pb::Category::OtherTemporary.into(),
            begin_date: TODAY.into(),
            actor: actor.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let (_, via_http) = h.get(&format!("/api/v1/filings/{}", created.filing_id)).await;
    assert_eq!(via_http["mdtrtarea_admvs"], "460100");
    assert_eq!(via_http["filed_by"]["channel"], "hospital");
    let coverage = client
        .check_coverage(pb::CheckCoverageRequest {
            psn_no: "P110000007".into(),
            insuplc_admdvs: "110000".into(),
            mdtrtarea_admvs: "460100".into(),
            date: "2026-04-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(coverage.covered);
    assert_eq!(coverage.filing_id, created.filing_id);
    assert_eq!(coverage.basis(), pb::CoverageBasis::Filing);
    // A refusal carries its machine-readable reason and field in the status metadata.
    let refused = client
        .create_filing(pb::CreateFilingRequest {
            psn_no: "P110000007".into(),
            insuplc_admdvs: "110000".into(),
            mdtrtarea_admvs: "110000".into(),
            category: pb::Category::Referral.into(),
            begin_date: TODAY.into(),
            actor,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert_eq!(medclear_common::error::status_reason(&refused), "same_province");
    assert_eq!(medclear_common::error::status_field(&refused).as_deref(), Some("mdtrtarea_admvs"));
    let regions =
        client.list_regions(pb::ListRegionsRequest {}).await.unwrap().into_inner().regions;
    assert_eq!(regions.len(), 3220, "every code of reference/admdvs.csv");
    h.finish().await;
}

#[tokio::test]
async fn healthz_is_503_when_the_filing_service_is_down() {
    let mut h = Harness::start(TODAY).await;
    assert_eq!(h.get("/healthz").await.0, 200);
    h.stop_filing().await;
    let (status, body) = h.get("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (503, Some("unavailable")));
    assert!(body["services"]["filing"].as_str().unwrap().starts_with("unreachable"));
    let (status, error) = h.get("/api/v1/filings?psn_no=P1").await;
    assert_eq!((status, error["code"].as_str()), (503, Some("service_unavailable")));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_overlapping_filings_let_exactly_one_through() {
    let h = Harness::start(TODAY).await;
    let attempts = (0..8).map(|i| {
        let body = with(referral(), "request_id", json!(format!("race-{i}")));
        let request = h.http.post(h.url("/api/v1/filings")).json(&body).send();
        async move {
            let response = request.await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body["code"].as_str().map(str::to_owned))
        }
    });
    let outcomes = futures_join_all(attempts).await;
    let created = outcomes.iter().filter(|(s, _)| *s == 201).count();
    let refused = outcomes
        .iter()
        .filter(|(s, c)| *s == 409 && c.as_deref() == Some("overlapping_filing"))
        .count();
    assert_eq!((created, refused), (1, 7), "{outcomes:?}");
    assert_eq!(h.count("filings").await, 1);
    h.finish().await;
}

/// Runs the futures concurrently on the runtime and collects their outputs in order.
async fn futures_join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}
