//! Hospitals over mutual TLS: certificates from `medclear certs`, a gateway serving HTTPS (TLS
//! 1.3) in front of the real services, and reqwest clients with and without certificates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_gateway::{
    AppState,
    server::{self, Transport},
    tls::{self, TlsDir},
};
use serde_json::{Value, json};
use support::Harness;
use tokio::net::TcpListener;

const TODAY: &str = "2026-03-02";
const HOSPITAL: &str = "H44030000001";
const OTHER: &str = "H44030000002";

fn person_query(fixmedins_code: &str) -> Value {
    json!({
        "infno": "1101", "msgid": format!("{fixmedins_code}202603020900000001"),
        "mdtrtarea_admvs": "440300", "insuplc_admdvs": "420200",
        "recer_sys_code": "YBXT", "infver": "V1.0", "opter_type": "1", "opter": "001",
        "opter_name": "收费员", "inf_time": "2026-03-02 09:00:00", "fixmedins_code": fixmedins_code,
        "fixmedins_name": "深圳市人民医院", "sign_no": "",
        "input": {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "420202196001010016"}},
    })
}

fn client(dir: &TlsDir, institution: Option<&TlsDir>, code: &str) -> reqwest::Client {
    let ca = std::fs::read(dir.ca_cert()).unwrap();
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
    if let Some(issuer) = institution {
        let (cert, key) = issuer.institution(code);
        let mut pem = std::fs::read(cert).unwrap();
        pem.extend(std::fs::read(key).unwrap());
        builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn only_a_certificate_for_the_sending_institution_gets_through() {
    let h = Harness::start(TODAY).await;
    h.add_person(&support::person("P420200001", "420202196001010016", "420200")).await;

    let base = std::env::temp_dir().join(format!("medclear-mtls-{}", std::process::id()));
    let dir = TlsDir(base.join("ours"));
    tls::issue_ca(&dir).unwrap();
    tls::issue_server(&dir, &["127.0.0.1".into()]).unwrap();
    tls::issue_client(&dir, HOSPITAL).unwrap();
    // The same code, from a CA the gateway does not trust.
    let rogue = TlsDir(base.join("rogue"));
    tls::issue_ca(&rogue).unwrap();
    tls::issue_client(&rogue, HOSPITAL).unwrap();

    let upstreams = h.upstreams();
    let state = AppState::new(&upstreams).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url =
        format!("https://{}/fsi/api/rsfComIfsService/callService", listener.local_addr().unwrap());
    let transport = Transport::choose(Some(&dir), &"0.0.0.0:443".parse().unwrap()).unwrap();
    tokio::spawn(server::serve_over(
        transport,
        listener,
        state.clone(),
        medclear_cli::up::gateway_routes(),
        std::future::pending(),
    ));

    let call = |client: reqwest::Client, body: Value| {
        let url = url.clone();
        async move {
            let response = client.post(url).json(&body).send().await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest::Error>((status, response.json::<Value>().await?))
        }
    };

    // Its own certificate, its own code: through.
    let (status, answer) =
        call(client(&dir, Some(&dir), HOSPITAL), person_query(HOSPITAL)).await.unwrap();
    assert_eq!((status, answer["infcode"].as_i64()), (200, Some(0)), "{answer}");
    assert_eq!(answer["output"]["baseinfo"]["psn_no"], "P420200001");

    // With its certificate, the hospital settles an emergency visit end to end.
    h.seed_drug(&[HOSPITAL]).await;
    // Over a channel of medclear's own, which carries the service token.
    let channel = medclear_common::server::connect("routing", &h.routing_grpc).await.unwrap();
    let mut routing =
        medclear_proto::routing::v1::routing_service_client::RoutingServiceClient::new(channel);
    routing
        .import_institutions(medclear_proto::routing::v1::ImportInstitutionsRequest {
            institutions: vec![medclear_proto::routing::v1::Institution {
                fixmedins_code: HOSPITAL.into(),
                fixmedins_name: "深圳市人民医院".into(),
                admdvs: "440300".into(),
                hospital_level: "tertiary".into(),
            }],
        })
        .await
        .unwrap();
    let transaction = |infno: &str, msgid: &str, input: Value| {
        let mut body = person_query(HOSPITAL);
        body["infno"] = json!(infno);
        body["msgid"] = json!(msgid);
        body["input"] = input;
        body
    };
    let ours = || client(&dir, Some(&dir), HOSPITAL);
    let (_, visit) = call(
        ours(),
        transaction(
            "2201",
            "H44030000001202603020900000002",
            json!({"data": {"psn_no": "P420200001",
            "begntime": format!("{TODAY} 09:00:00"), "ipt_otp_no": "MZ1",
            "exp_content": {"er_flag": "1"}}}),
        ),
    )
    .await
    .unwrap();
    let mdtrt_id = visit["output"]["data"]["mdtrt_id"].as_str().expect("a visit").to_owned();
    let (_, uploaded) = call(
        ours(),
        transaction(
            "2204",
            "H44030000001202603020900000003",
            json!({"feedetail": [{"feedetl_sn": "1", "mdtrt_id": mdtrt_id,
            "fee_ocur_time": format!("{TODAY} 09:10:00"), "medins_list_codg": "L001",
            "pric": "12.30", "cnt": "2", "det_item_fee_sumamt": "24.60"}]}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(uploaded["infcode"], 0, "{uploaded}");
    let (status, settled) = call(
        ours(),
        transaction(
            "2207",
            "H44030000001202603020900000004",
            json!({"data": {"mdtrt_id": mdtrt_id,
            "medfee_sumamt": "24.60", "acct_used_flag": "0"}}),
        ),
    )
    .await
    .unwrap();
    assert_eq!((status, settled["infcode"].as_i64()), (200, Some(0)), "{settled}");
    assert!(settled["output"]["setlinfo"]["setl_id"].is_string());

    // Its certificate, another institution's code: refused, in the national envelope.
    let (status, answer) =
        call(client(&dir, Some(&dir), HOSPITAL), person_query(OTHER)).await.unwrap();
    assert_eq!((status, answer["infcode"].as_i64()), (403, Some(-1)));
    assert!(answer["err_msg"].as_str().unwrap().starts_with("forbidden:"), "{answer}");

    // No certificate: refused with the reason.
    let (status, answer) =
        call(client(&dir, None, HOSPITAL), person_query(HOSPITAL)).await.unwrap();
    assert_eq!((status, answer["infcode"].as_i64()), (401, Some(-1)));
    assert!(answer["err_msg"].as_str().unwrap().starts_with("unauthenticated:"), "{answer}");

    // A certificate the gateway's CA did not sign: no TLS session at all.
    let refused = call(client(&dir, Some(&rogue), HOSPITAL), person_query(HOSPITAL)).await;
    assert!(refused.is_err(), "{refused:?}");

    // The JSON API under the same rules, with operators' certificates too.
    for name in ["OP-420000", "OP-000000", OTHER] {
        tls::issue_client(&dir, name).unwrap();
    }
    let root = url.trim_end_matches("/fsi/api/rsfComIfsService/callService").to_owned();
    let get = |name: Option<&str>, path: &str| {
        let client = client(&dir, name.map(|_| &dir), name.unwrap_or_default());
        let url = format!("{root}{path}");
        async move {
            let response = client.get(url).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let hubei = Some("OP-420000");
    let national = Some("OP-000000");
    let hospital = Some(HOSPITAL);
    let cases: [(Option<&str>, &str, u16); 12] = [
        // A province operator: its own province's fund, not another's.
        (hubei, "/api/v1/clearing/prepaid-funds/420000", 200),
        (hubei, "/api/v1/clearing/prepaid-funds/440000", 403),
        (hubei, "/api/v1/clearing/periods", 200),
        // The national operator: every province, the settlement feed, the registry.
        (national, "/api/v1/clearing/prepaid-funds/440000", 200),
        (national, "/api/v1/settlement-events", 200),
        (national, "/api/v1/persons?certno=420202196001010016", 200),
        // A hospital: its own mappings and the registry, not another's, not clearing.
        (hospital, &format!("/api/v1/catalog/mappings?fixmedins_code={HOSPITAL}"), 200),
        (hospital, &format!("/api/v1/catalog/mappings?fixmedins_code={OTHER}"), 403),
        (hospital, "/api/v1/clearing/periods", 403),
        (hospital, "/api/v1/persons?certno=420202196001010016", 200),
        // Nobody: public reference data only.
        (None, "/api/v1/clearing/periods", 401),
        (None, "/api/v1/regions", 200),
    ];
    for (name, path, expected) in cases {
        let (status, body) = get(name, path).await;
        assert_eq!(status, expected, "{name:?} GET {path}: {body}");
    }
    // A hospital acting for another institution is refused before anything is written.
    let other_visit = client(&dir, Some(&dir), HOSPITAL)
        .post(format!("{root}/api/v1/visits"))
        .json(&json!({"fixmedins_code": OTHER, "msgid": "V1", "psn_no": "P420200001",
            "med_type": 11, "mdtrtarea_admvs": "440300", "hospital_level": "tertiary",
            "begin_date": TODAY}))
        .send()
        .await
        .unwrap();
    assert_eq!(other_visit.status().as_u16(), 403);
    // A province operator's actions are its province's, whatever the body says: it may not
    // close a period (national), and its deposit into another province's fund is refused.
    let deposit = client(&dir, Some(&dir), "OP-420000")
        .post(format!("{root}/api/v1/clearing/prepaid-funds/440000/deposits"))
        .json(&json!({"request_id": "D1", "amount_fen": 100, "value_date": TODAY,
            "actor": {"id": "x", "name": "x", "admdvs": ""}}))
        .send()
        .await
        .unwrap();
    assert_eq!(deposit.status().as_u16(), 403, "{}", deposit.text().await.unwrap());

    // A citizen: no certificate, a one-time code, then a bearer token for their own data.
    let anonymous = client(&dir, None, "");
    let certno = "420202196001010016";
    let signed_in = anonymous
        .post(format!("{root}/api/v1/citizen/sign-in"))
        .json(&json!({"certno": certno}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 202);
    let unknown = anonymous
        .post(format!("{root}/api/v1/citizen/sign-in"))
        .json(&json!({"certno": "110101199001010000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 202, "the same answer for an unknown person");
    let code = state.citizens().pending_code(certno).expect("the code the server printed");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let verify = |code: String| {
        anonymous
            .post(format!("{root}/api/v1/citizen/verify"))
            .json(&json!({"certno": certno, "code": code}))
            .send()
    };
    assert_eq!(verify(wrong.to_owned()).await.unwrap().status().as_u16(), 401);
    let token: Value = verify(code).await.unwrap().json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let as_citizen = |path: &str, token: &str| {
        anonymous.get(format!("{root}{path}")).bearer_auth(token.to_owned()).send()
    };
    let own = as_citizen("/api/v1/filings?psn_no=P420200001", &token).await.unwrap();
    assert_eq!(own.status().as_u16(), 200, "{}", own.text().await.unwrap());
    let other = as_citizen("/api/v1/filings?psn_no=P420200002", &token).await.unwrap();
    assert_eq!(other.status().as_u16(), 403);
    let clearing = as_citizen("/api/v1/clearing/periods", &token).await.unwrap();
    assert_eq!(clearing.status().as_u16(), 403);
    let forged = as_citizen("/api/v1/filings?psn_no=P420200001", &token.replace('P', "Q")).await;
    assert_eq!(forged.unwrap().status().as_u16(), 401);
    let nobody = anonymous.get(format!("{root}/api/v1/filings?psn_no=P420200001")).send().await;
    assert_eq!(nobody.unwrap().status().as_u16(), 401);

    // Plain HTTP is for loopback only.
    assert!(Transport::choose(None, &"0.0.0.0:8080".parse().unwrap()).is_err());
    assert!(Transport::choose(None, &"127.0.0.1:8080".parse().unwrap()).is_ok());
    std::fs::remove_dir_all(&base).unwrap();
    h.finish().await;
}
