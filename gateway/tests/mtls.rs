//! Hospitals over mutual TLS: certificates from `medclear certs`, a gateway serving HTTPS (TLS
//! 1.3) in front of the real services, and reqwest clients with and without certificates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use medclear_gateway::{
    http::{self, AppState, Transport, Upstreams},
    tls::{self, TlsDir},
};
use medclear_routing::{policies::PolicyBook, settlement::Settlements};
use serde_json::{Value, json};
use support::Harness;
use tokio::net::TcpListener;

const TODAY: &str = "2026-03-02";
const HOSPITAL: &str = "H44030000001";
const OTHER: &str = "H44030000002";

fn person_query(fixmedins_code: &str) -> Value {
    json!({
        "infno": "1101", "msgid": "M1", "mdtrtarea_admvs": "440300", "insuplc_admdvs": "420200",
        "recer_sys_code": "YBXT", "infver": "V1.0", "opter_type": "1", "opter": "001",
        "opter_name": "收费员", "inf_time": "2026-03-02 09:00:00", "fixmedins_code": fixmedins_code,
        "fixmedins_name": "深圳市人民医院", "sign_no": "",
        "input": {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "42020219600101001X"}},
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
    let store = Settlements::new(
        h.routing_pool.clone(),
        Arc::new(h.clock.clone()),
        PolicyBook::seeded().unwrap(),
    );
    store
        .upsert_person(&support::person("P420200001", "42020219600101001X", "420200"))
        .await
        .unwrap();

    let base = std::env::temp_dir().join(format!("medclear-mtls-{}", std::process::id()));
    let dir = TlsDir(base.join("ours"));
    tls::issue_ca(&dir).unwrap();
    tls::issue_server(&dir, &["127.0.0.1".into()]).unwrap();
    tls::issue_institution(&dir, HOSPITAL).unwrap();
    // The same code, from a CA the gateway does not trust.
    let rogue = TlsDir(base.join("rogue"));
    tls::issue_ca(&rogue).unwrap();
    tls::issue_institution(&rogue, HOSPITAL).unwrap();

    let upstreams = Upstreams {
        filing: h.grpc.clone(),
        catalog: h.catalog_grpc.clone(),
        routing: h.routing_grpc.clone(),
        routing_partitions: Vec::new(),
        clearing: h.clearing_grpc.clone(),
    };
    let state = AppState::new(&upstreams).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url =
        format!("https://{}/fsi/api/rsfComIfsService/callService", listener.local_addr().unwrap());
    let transport = Transport::choose(Some(&dir), &"0.0.0.0:443".parse().unwrap()).unwrap();
    tokio::spawn(http::serve_over(transport, listener, state, std::future::pending()));

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

    // Its certificate, another institution's code: refused, in the national envelope.
    let (status, answer) =
        call(client(&dir, Some(&dir), HOSPITAL), person_query(OTHER)).await.unwrap();
    assert_eq!((status, answer["infcode"].as_i64()), (403, Some(-1)));
    assert!(answer["err_msg"].as_str().unwrap().starts_with("institution_mismatch:"), "{answer}");

    // No certificate: refused with the reason.
    let (status, answer) =
        call(client(&dir, None, HOSPITAL), person_query(HOSPITAL)).await.unwrap();
    assert_eq!((status, answer["infcode"].as_i64()), (401, Some(-1)));
    assert!(answer["err_msg"].as_str().unwrap().starts_with("no_certificate:"), "{answer}");

    // A certificate the gateway's CA did not sign: no TLS session at all.
    let refused = call(client(&dir, Some(&rogue), HOSPITAL), person_query(HOSPITAL)).await;
    assert!(refused.is_err(), "{refused:?}");

    // Plain HTTP is for loopback only.
    assert!(Transport::choose(None, &"0.0.0.0:8080".parse().unwrap()).is_err());
    assert!(Transport::choose(None, &"127.0.0.1:8080".parse().unwrap()).is_ok());
    std::fs::remove_dir_all(&base).unwrap();
    h.finish().await;
}
