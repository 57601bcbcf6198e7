//! Person designations over the national interface (人员定点): a Shenzhen hospital files a
//! Huangshi patient's designated institution (2505), finds it in the person's designations
//! (5302), revokes it (2506) and no longer finds it; a retried 2505 makes no second row; bad
//! filings and another person's serial are refused and change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_proto::filing::v1::{self as pb, filing_service_client::FilingServiceClient};
use serde_json::{Value, json};
use support::Harness;
use support::national::{HOSPITAL, envelope, ok, refused, signed};

const TODAY: &str = "2026-03-02";
const PERSON: &str = "P420200001";
const CERTNO: &str = "420202196001010016";
const OTHER: &str = "P420200002";
const OTHER_CERTNO: &str = "420202196001010032";

/// A 2505 `data` node as the openhis client sends it: the agent fields and memo null.
fn designation(psn_no: &str, biz: &str, fix_srt_no: &str, begin: &str, end: Value) -> Value {
    json!({"data": {
        "psn_no": psn_no, "tel": "13900000002", "addr": "黄石市示例路1号",
        "biz_appy_type": biz, "begndate": begin, "enddate": end,
        "agnter_name": null, "agnter_cert_type": null, "agnter_certno": null,
        "agnter_tel": null, "agnter_addr": null, "agnter_rlts": null,
        "fix_srt_no": fix_srt_no, "fixmedins_code": HOSPITAL, "fixmedins_name": "深圳市人民医院",
        "memo": null,
    }})
}

async fn reason(h: &Harness, infno: &str, tag: &str, input: Value) -> String {
    refused(h, envelope(infno, tag, input).to_string()).await.1
}

/// The person's designations in force, as 5302 answers them.
async fn in_force(h: &Harness, tag: &str, psn_no: &str, biz: &str) -> Vec<Value> {
    let (output, text) =
        ok(h, "5302", tag, json!({"data": {"psn_no": psn_no, "biz_appy_type": biz}})).await;
    output["psnfixmedin"].as_array().unwrap_or_else(|| panic!("a list: {text}")).clone()
}

async fn rows(h: &Harness, condition: &str) -> i64 {
    h.count(&format!("designations WHERE {condition}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hospital_files_finds_and_revokes_a_designation() {
    let h = Harness::start(TODAY).await;
    h.add_person(&support::person(PERSON, CERTNO, "420200")).await;
    h.add_person(&support::person(OTHER, OTHER_CERTNO, "420200")).await;

    // Nothing filed: an empty list, not a refusal.
    assert!(in_force(&h, "Q0", PERSON, "03").await.is_empty());

    // 2505: the serial in output.result; one row, of the envelope's home region and the
    // person's insutype.
    let input = designation(PERSON, "03", "1", TODAY, Value::Null);
    let (output, _) = ok(&h, "2505", "D1", input.clone()).await;
    let serial = output["result"]["trt_dcla_detl_sn"].as_str().unwrap().to_owned();
    assert!(!serial.is_empty() && serial.len() <= 30, "{serial}");
    assert_eq!(h.count("designations").await, 1);
    assert_eq!(
        rows(&h, &format!("trt_dcla_detl_sn = '{serial}' AND insuplc_admdvs = '420200' AND insutype = '310' AND fix_srt_no = 1 AND end_date IS NULL AND agnter_name = '' AND filed_by = '{HOSPITAL}' AND channel = 'hospital'")).await,
        1
    );

    // The same msgid again: the same serial, still one row.
    let (again, _) = ok(&h, "2505", "D1", input).await;
    assert_eq!(again["result"]["trt_dcla_detl_sn"], serial.as_str());
    assert_eq!(h.count("designations").await, 1);
    // The same msgid with another body is refused.
    let changed = designation(PERSON, "03", "2", TODAY, Value::Null);
    assert_eq!(reason(&h, "2505", "D1", changed).await, "request_id_reused");
    assert_eq!(h.count("designations").await, 1);

    // 5302 lists it with the national fields.
    let listed = in_force(&h, "Q1", PERSON, "03").await;
    assert_eq!(
        listed,
        [json!({
            "psn_no": PERSON, "insutype": "310", "fix_srt_no": "1", "fixmedins_code": HOSPITAL,
            "fixmedins_name": "深圳市人民医院", "begndate": TODAY, "enddate": null, "memo": null,
            "biz_appy_type": "03", "trt_dcla_detl_sn": serial,
        })]
    );
    assert!(in_force(&h, "Q2", PERSON, "01").await.is_empty(), "another business");
    assert!(in_force(&h, "Q3", OTHER, "03").await.is_empty(), "another person");
    assert_eq!(in_force(&h, "Q4", PERSON, "").await.len(), 1, "no business named: every kind");

    // Refused, and nothing changes: a second designation in the same place, an unknown
    // business, dates out of order, an institution code that is not one, an unknown 5302 type.
    let same_place = designation(PERSON, "03", "1", "2026-04-01", json!("2026-12-31"));
    assert_eq!(reason(&h, "2505", "D2", same_place).await, "designation_exists");
    let unknown = designation(PERSON, "77", "2", TODAY, Value::Null);
    assert_eq!(reason(&h, "2505", "D3", unknown).await, "unknown_biz_appy_type");
    let backwards = designation(PERSON, "03", "2", TODAY, json!("2026-03-01"));
    assert_eq!(reason(&h, "2505", "D4", backwards).await, "end_before_begin");
    let mut not_a_code = designation(PERSON, "03", "2", TODAY, Value::Null);
    not_a_code["data"]["fixmedins_code"] = json!("深圳市人民医院");
    assert_eq!(reason(&h, "2505", "D5", not_a_code).await, "invalid_code");
    let q = json!({"data": {"psn_no": PERSON, "biz_appy_type": "77"}});
    assert_eq!(reason(&h, "5302", "Q5", q).await, "unknown_biz_appy_type");
    assert_eq!(h.count("designations").await, 1);

    // Another order of the same business is a second designation; an order left empty (as
    // binzhe12123/Medical's controller sends it) is the next one: 2.
    let second = designation(PERSON, "03", "", TODAY, json!("2099-01-01"));
    let (output, _) = ok(&h, "2505", "D6", second).await;
    let second_serial = output["result"]["trt_dcla_detl_sn"].as_str().unwrap().to_owned();
    let listed = in_force(&h, "Q6", PERSON, "03").await;
    let orders: Vec<_> =
        listed.iter().map(|r| (r["fix_srt_no"].clone(), r["enddate"].clone())).collect();
    assert_eq!(orders, [(json!("1"), Value::Null), (json!("2"), json!("2099-01-01"))]);

    // 2506 naming another person: not found, and the designation stays.
    let theirs = json!({"data": {"psn_no": OTHER, "trt_dcla_detl_sn": serial, "memo": "x"}});
    assert_eq!(reason(&h, "2506", "R1", theirs).await, "designation_not_found");
    let nobodys = json!({"data": {"psn_no": PERSON, "trt_dcla_detl_sn": "D0000", "memo": ""}});
    assert_eq!(reason(&h, "2506", "R2", nobodys).await, "designation_not_found");
    assert_eq!(rows(&h, "revoked_at IS NOT NULL").await, 0);

    // 2506: revoked, with its memo; 5302 no longer lists it.
    let revoke =
        json!({"data": {"trt_dcla_detl_sn": serial, "psn_no": PERSON, "memo": "更换定点医院"}});
    let (output, _) = ok(&h, "2506", "R3", revoke.clone()).await;
    assert!(output.is_null(), "{output}");
    let condition = format!(
        "trt_dcla_detl_sn = '{serial}' AND revoked_on = '{TODAY}' AND revoke_reason = '更换定点医院' AND revoked_by = '{HOSPITAL}'"
    );
    assert_eq!(rows(&h, &condition).await, 1);
    let listed = in_force(&h, "Q7", PERSON, "03").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["trt_dcla_detl_sn"], second_serial.as_str());

    // Revoking it again (a new msgid, or the same) answers the same and changes nothing.
    ok(&h, "2506", "R4", revoke.clone()).await;
    ok(&h, "2506", "R3", revoke).await;
    assert_eq!(rows(&h, &condition).await, 1);
    let audits: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'designation.revoke' AND entity_id = $1",
    )
    .bind(&serial)
    .fetch_one(&h.pool)
    .await
    .unwrap();
    assert_eq!(audits, 1, "one revocation");

    // Over gRPC, the list of all shows the revoked one as revoked and inactive.
    let channel =
        tonic::transport::Endpoint::from_shared(h.grpc.clone()).unwrap().connect().await.unwrap();
    let mut client = FilingServiceClient::new(channel);
    let all = client
        .list_designations(signed(pb::ListDesignationsRequest {
            psn_no: PERSON.into(),
            biz_appy_type: "03".into(),
            include_inactive: true,
        }))
        .await
        .unwrap()
        .into_inner()
        .designations;
    let summary: Vec<_> = all
        .iter()
        .map(|d| (d.trt_dcla_detl_sn.as_str(), d.status(), d.active, d.revoke_reason.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (serial.as_str(), pb::FilingStatus::Revoked, false, "更换定点医院"),
            (second_serial.as_str(), pb::FilingStatus::Active, true, ""),
        ]
    );

    // The place is free again: a new designation of order 1 is accepted.
    let replacement = designation(PERSON, "03", "1", TODAY, Value::Null);
    ok(&h, "2505", "D7", replacement).await;
    assert_eq!(in_force(&h, "Q8", PERSON, "03").await.len(), 2);
    assert_eq!(h.count("designations").await, 3);
    h.finish().await;
}
