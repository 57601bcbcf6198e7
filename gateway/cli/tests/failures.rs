//! Honest failures: a service that is down is a transient reason, never a refusal, and a
//! settlement whose answer was lost after routing committed it is an unknown outcome, never
//! `internal` — and the same msgid then settles, or answers the settlement made.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use medclear_common::config::DbConfig;
use medclear_gateway::{AppState, server};
use medclear_proto::routing::v1::{self as rpb, routing_service_client::RoutingServiceClient};
use serde_json::{Value, json};
use support::Harness;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_util::sync::CancellationToken;

const TODAY: &str = "2026-03-02";
const HOSPITAL: &str = "H44030000001";
const PATH: &str = "/fsi/api/rsfComIfsService/callService";

/// The national msgid of [`HOSPITAL`] numbered `n`: its code, a time, a sequence.
fn msgid(n: u32) -> String {
    format!("{HOSPITAL}20260302090000{n:04}")
}

fn envelope(infno: &str, msgid: &str, input: Value) -> Value {
    json!({
        "infno": infno, "msgid": msgid, "mdtrtarea_admvs": "440300", "insuplc_admdvs": "420200",
        "recer_sys_code": "YBXT", "infver": "V1.0", "opter_type": "1", "opter": "001",
        "opter_name": "收费员", "inf_time": "2026-03-02 09:00:00", "fixmedins_code": HOSPITAL,
        "fixmedins_name": "深圳市人民医院", "sign_no": "", "input": input,
    })
}

/// Sends a transaction to the gateway at `base`; the answer.
async fn call(h: &Harness, base: &str, infno: &str, msgid: &str, input: Value) -> Value {
    let response = h
        .http
        .post(format!("{base}{PATH}"))
        .json(&envelope(infno, msgid, input))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

/// The output of a transaction that must go through.
async fn ok(h: &Harness, infno: &str, msgid: &str, input: Value) -> Value {
    let answer = call(h, &h.base, infno, msgid, input).await;
    assert_eq!(answer["infcode"], 0, "{infno}: {answer}");
    answer["output"].clone()
}

/// The reason and message of a refused answer.
fn refusal(answer: &Value) -> (String, String) {
    assert_eq!(answer["infcode"], -1, "{answer}");
    assert!(answer["output"].is_null(), "{answer}");
    let err = answer["err_msg"].as_str().unwrap();
    let (reason, message) = err.split_once(": ").unwrap();
    (reason.to_owned(), message.to_owned())
}

async fn count(h: &Harness, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&h.routing_pool)
        .await
        .unwrap()
}

/// A Huangshi patient's emergency outpatient visit at a Shenzhen hospital, registered (2201)
/// with one 24.60-yuan line (2204): the visit's id and its settlement input (2207).
async fn visit(h: &Harness) -> (String, Value) {
    h.seed_drug(&[HOSPITAL]).await;
    h.add_person(&support::person("P420200001", "420202196001010016", "420200")).await;
    let channel = medclear_common::server::connect("routing", &h.routing_grpc).await.unwrap();
    let mut routing = RoutingServiceClient::new(channel);
    let institution = rpb::Institution {
        fixmedins_code: HOSPITAL.into(),
        fixmedins_name: "深圳市人民医院".into(),
        admdvs: "440300".into(),
        hospital_level: "tertiary".into(),
    };
    let institutions = rpb::ImportInstitutionsRequest { institutions: vec![institution] };
    routing.import_institutions(institutions).await.unwrap();
    let registration = json!({"data": {"psn_no": "P420200001", "insutype": "310",
        "begntime": "2026-03-02 09:01:00", "mdtrt_cert_type": "02",
        "mdtrt_cert_no": "420202196001010016", "ipt_otp_no": "MZ0001",
        "exp_content": {"er_flag": "1"}}});
    let registered = ok(h, "2201", &msgid(1), registration).await;
    let mdtrt_id = registered["data"]["mdtrt_id"].as_str().unwrap().to_owned();
    let line = json!({"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": "P420200001",
        "fee_ocur_time": "2026-03-02 09:10:00", "med_list_codg": support::DRUG,
        "medins_list_codg": "L001", "det_item_fee_sumamt": "24.60", "cnt": "2",
        "pric": "12.30"});
    ok(h, "2204", &msgid(2), json!({"feedetail": [line]})).await;
    let settle = json!({"data": {"psn_no": "P420200001", "mdtrt_id": mdtrt_id,
        "medfee_sumamt": "24.60", "acct_used_flag": "0", "insutype": "310"}});
    (mdtrt_id, settle)
}

/// The filing service stops mid-day (the harness stops it), comes back on its address.
async fn restart_filing(h: &Harness) -> CancellationToken {
    let schema: String =
        sqlx::query_scalar("SELECT current_schema()").fetch_one(&h.pool).await.unwrap();
    let address = h.grpc.trim_start_matches("http://");
    let listener = TcpListener::bind(address).await.unwrap();
    let token = CancellationToken::new();
    tokio::spawn(medclear_filing::launch(
        medclear_filing::Settings::new(
            DbConfig::new(support::database_url(), schema),
            Arc::new(h.clock.clone()),
        ),
        listener,
        token.clone().cancelled_owned(),
    ));
    token
}

/// The filing service down: 2207 is answered with a transient reason that says to send it
/// again (not `upstream_refused`, which reads as final), nothing is kept, and the same msgid
/// settles once the service is back. The JSON API answers 503 with the same reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependency_that_is_down_is_transient_and_the_same_msgid_settles_later() {
    let mut h = Harness::start(TODAY).await;
    let (mdtrt_id, settle) = visit(&h).await;
    h.stop_filing().await;

    let settling = msgid(10);
    let answer = call(&h, &h.base, "2207", &settling, settle.clone()).await;
    let (reason, message) = refusal(&answer);
    assert_eq!(reason, "upstream_unavailable", "{answer}");
    assert!(message.contains("filing") && message.contains("same msgid"), "{message}");
    let (reason, _) = refusal(&call(&h, &h.base, "2206", &msgid(11), settle.clone()).await);
    assert_eq!(reason, "upstream_unavailable", "a pre-settlement alike");
    let (status, error) = h
        .post(
            &format!("/api/v1/visits/{mdtrt_id}/settle"),
            &json!({"fixmedins_code": HOSPITAL, "msgid": msgid(12)}),
        )
        .await;
    assert_eq!((status, error["code"].as_str()), (503, Some("upstream_unavailable")), "{error}");
    assert_eq!(count(&h, "settlements").await, 0, "nothing was kept");

    let filing = restart_filing(&h).await;
    let settled = ok(&h, "2207", &settling, settle).await;
    assert_eq!(settled["setlinfo"]["medins_setl_id"], json!(settling));
    assert!(settled["setlinfo"]["setl_id"].is_string(), "{settled}");
    assert_eq!(count(&h, "settlements").await, 1);
    filing.cancel();
    h.finish().await;
}

/// A TCP proxy in front of `upstream` that passes HTTP/2 both ways until the upstream starts
/// an answer (its first HEADERS frame on a stream), then drops both connections: the request
/// reached the service and was done, the answer is lost.
async fn answer_losing_proxy(upstream: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else { return };
            let server = TcpStream::connect(&upstream).await.unwrap();
            tokio::spawn(lose_the_answer(client, server));
        }
    });
    address
}

async fn lose_the_answer(client: TcpStream, server: TcpStream) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    // Frames from the server: a 9-byte header (length: 3 bytes, type, flags, stream id: 4
    // bytes), then the payload. The server's SETTINGS, PINGs and WINDOW_UPDATEs pass.
    let mut pending = Vec::new();
    let mut buffer = [0_u8; 16 * 1024];
    'read: while let Ok(n) = server_read.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        pending.extend_from_slice(&buffer[..n]);
        while pending.len() >= 9 {
            let length = usize::from(pending[0]) << 16
                | usize::from(pending[1]) << 8
                | usize::from(pending[2]);
            let (kind, stream) =
                (pending[3], u32::from_be_bytes(pending[5..9].try_into().unwrap()));
            if kind == 0x1 && stream & 0x7fff_ffff != 0 {
                break 'read;
            }
            if pending.len() < 9 + length {
                break;
            }
            let frame: Vec<u8> = pending.drain(..9 + length).collect();
            if client_write.write_all(&frame).await.is_err() {
                break 'read;
            }
        }
    }
    requests.abort();
}

/// Routing settles and commits, and its answer is lost on the way back (the connection
/// breaks): the gateway answers `outcome_unknown`, telling the HIS to query (5203) or send it
/// again with the same msgid — not `internal` — and the same msgid answers the settlement that
/// was made, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_lost_after_routing_settled_is_an_unknown_outcome_and_the_retry_returns_it() {
    let h = Harness::start(TODAY).await;
    let (mdtrt_id, settle) = visit(&h).await;
    // A second gateway, whose calls to routing lose their answers.
    let mut upstreams = h.upstreams();
    upstreams.routing = answer_losing_proxy(h.routing_grpc.clone()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lossy = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(&upstreams).unwrap();
    let routes = medclear_cli::up::gateway_routes();
    tokio::spawn(server::serve(listener, state, routes, std::future::pending()));

    let settling = msgid(10);
    let answer = call(&h, &lossy, "2207", &settling, settle.clone()).await;
    let (reason, message) = refusal(&answer);
    assert_eq!(reason, "outcome_unknown", "{answer}");
    assert!(message.contains("5203") && message.contains("same msgid"), "{message}");
    assert_eq!(count(&h, "settlements").await, 1, "routing did settle");

    // 5203 tells the HIS it happened: by the visit, and by its own msgid (medins_setl_id).
    let by_visit = ok(&h, "5203", &msgid(12), json!({"data": {"mdtrt_id": mdtrt_id}})).await;
    let by_msgid = ok(&h, "5203", &msgid(13), json!({"data": {"medins_setl_id": settling}})).await;
    assert_eq!(by_visit, by_msgid);
    assert_eq!(by_visit["setlinfo"]["medins_setl_id"], json!(settling), "{by_visit}");
    assert_eq!(by_visit["setlinfo"]["refd_setl_flag"], "0");
    // A visit never settled: not found, so the HIS knows it did not happen.
    let answer =
        call(&h, &h.base, "5203", &msgid(14), json!({"data": {"mdtrt_id": "V42NOSUCHVISIT"}}))
            .await;
    assert_eq!(refusal(&answer).0, "settlement_not_found", "{answer}");

    // The same msgid (through a gateway that works) answers the settlement that was made.
    let settled = ok(&h, "2207", &settling, settle).await;
    assert_eq!(
        settled["setlinfo"],
        by_visit["setlinfo"]
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.remove("refd_setl_flag");
                Value::Object(o)
            })
            .unwrap(),
        "5203 answers what the retried 2207 answers"
    );
    let stored: String = sqlx::query_scalar("SELECT setl_id FROM settlements")
        .fetch_one(&h.routing_pool)
        .await
        .unwrap();
    assert_eq!(settled["setlinfo"]["setl_id"], json!(stored), "{settled}");
    assert_eq!(count(&h, "settlements").await, 1, "settled once");

    // The JSON API: 502 with the same reason; a read that lost its answer is transient.
    let (status, error) = h
        .http
        .post(format!("{lossy}/api/v1/visits/{mdtrt_id}/settle"))
        .json(&json!({"fixmedins_code": HOSPITAL, "msgid": settling}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    let error: Value = error.json().await.unwrap();
    assert_eq!((status, error["code"].as_str()), (502, Some("outcome_unknown")), "{error}");
    let (reason, _) = refusal(
        &call(
            &h,
            &lossy,
            "2206",
            &msgid(11),
            json!({"data": {
        "mdtrt_id": mdtrt_id, "medfee_sumamt": "24.60", "acct_used_flag": "0"}}),
        )
        .await,
    );
    assert_eq!(reason, "service_unavailable", "a pre-settlement only reads");
    h.finish().await;
}
