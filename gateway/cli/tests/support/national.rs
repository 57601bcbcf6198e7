//! The national interface as a HIS calls it, for the tests that drive it over real HTTP:
//! envelopes from [`HOSPITAL`] with national msgids, answers read as JSON, refusals by reason,
//! and the registry's hospital.

use medclear_proto::routing::v1::{self as rpb, routing_service_client::RoutingServiceClient};
use serde_json::{Value, json};

use super::Harness;

pub const HOSPITAL: &str = "H44030000001";
pub const PATH: &str = "/fsi/api/rsfComIfsService/callService";

/// The national msgid `code` sends as `tag`: `code` + `yyyyMMddHHmmss` + a 4-digit sequence,
/// one per tag (the same tag, the same msgid: a retry).
pub fn msgid(code: &str, tag: &str) -> String {
    static TAGS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut tags = TAGS.lock().unwrap();
    let n = match tags.iter().position(|t| t == tag) {
        Some(n) => n,
        None => {
            tags.push(tag.to_owned());
            tags.len() - 1
        }
    };
    format!("{code}20260302090000{n:04}")
}

/// An envelope from [`HOSPITAL`], its msgid the one of `tag`.
pub fn envelope(infno: &str, tag: &str, input: Value) -> Value {
    json!({
        "infno": infno, "msgid": msgid(HOSPITAL, tag), "mdtrtarea_admvs": "440300", "insuplc_admdvs": "420200",
        "recer_sys_code": "YBXT", "infver": "V1.0", "opter_type": "1", "opter": "001",
        "opter_name": "收费员", "inf_time": "2026-03-02 09:00:00", "fixmedins_code": HOSPITAL,
        "fixmedins_name": "深圳市人民医院", "sign_no": "", "input": input,
    })
}

/// Sends a body; the HTTP status, the answer as JSON and as text.
pub async fn call(h: &Harness, body: String) -> (u16, Value, String) {
    let response = h
        .http
        .post(h.url(PATH))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap(), text)
}

/// Sends a transaction; its output (infcode 0 asserted) and the answer's text.
pub async fn ok(h: &Harness, infno: &str, tag: &str, input: Value) -> (Value, String) {
    let (status, answer, text) = call(h, envelope(infno, tag, input).to_string()).await;
    assert_eq!((status, answer["infcode"].as_i64()), (200, Some(0)), "{infno}: {text}");
    for field in ["inf_refmsgid", "refmsg_time", "respond_time"] {
        assert!(answer[field].is_string(), "{field} in {text}");
    }
    assert_eq!(answer["inf_refmsgid"].as_str().unwrap().len(), 30);
    (answer["output"].clone(), text)
}

/// Sends a transaction that must be refused; the reason in `err_msg`.
pub async fn refused(h: &Harness, body: String) -> (u16, String) {
    let (status, answer, text) = call(h, body).await;
    assert_eq!(answer["infcode"].as_i64(), Some(-1), "{text}");
    assert!(answer["output"].is_null(), "{text}");
    let err = answer["err_msg"].as_str().unwrap();
    (status, err.split(':').next().unwrap().to_owned())
}

/// A gRPC request carrying this process's service token, as the services require.
pub fn signed<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    medclear_common::server::insert_service_token(request.metadata_mut());
    request
}

/// [`HOSPITAL`] in the registry of institutions, a tertiary hospital of Shenzhen.
pub async fn register_hospital(h: &Harness) {
    let mut routing = RoutingServiceClient::connect(h.routing_grpc.clone()).await.unwrap();
    routing
        .import_institutions(signed(rpb::ImportInstitutionsRequest {
            institutions: vec![rpb::Institution {
                fixmedins_code: HOSPITAL.into(),
                fixmedins_name: "深圳市人民医院".into(),
                admdvs: "440300".into(),
                hospital_level: "tertiary".into(),
            }],
        }))
        .await
        .unwrap();
}

pub async fn count(h: &Harness, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&h.routing_pool)
        .await
        .unwrap()
}
