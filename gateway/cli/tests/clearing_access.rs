//! Closed doors. Every clearing read through the JSON API over HTTPS with client certificates,
//! cell by cell: each list (and single-row) endpoint × each kind of caller (a hospital, a
//! province's operator, the national operator, a citizen, nobody, development on plain HTTP)
//! × its own and another province — the status, and that no other province's row (no other
//! institution's, for a hospital) is in the answer. Then the services' gRPC ports: a call
//! without the service token, or with another, is refused and changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_common::{error::status_reason, server::SERVICE_TOKEN_KEY};
use medclear_gateway::{
    AppState,
    server::{self, Transport},
    tls::{self, TlsDir},
};
use medclear_proto::{clearing::v1 as cpb, routing::v1 as rpb};
use serde_json::{Value, json};
use support::{Admission, Harness};
use tokio::net::TcpListener;

const TODAY: &str = "2026-03-02";
const PERIOD: &str = "/api/v1/clearing/periods/2026-03";
const SHENZHEN_HOSPITAL: &str = "H44030000001";
const HUANGSHI_HOSPITAL: &str = "H42020000001";
/// The callers' own province; the other one is Guangdong.
const OWN: &str = "420000";
const OTHER: &str = "440000";

fn actor(province: &str) -> Value {
    json!({"id": "ops1", "name": "清算", "admdvs": province})
}

/// A month between Hubei, Guangdong and Beijing: four emergencies, a deposit into each of two
/// funds, the period closed and netted, a Guangdong dispute (so netted again) and a Guangdong
/// confirmation — rows of every kind for more than one province.
async fn month(h: &Harness) {
    h.seed_drug(&[SHENZHEN_HOSPITAL, HUANGSHI_HOSPITAL]).await;
    for p in [
        support::person("P420200001", "420202196001010016", "420200"),
        support::person("P440300001", "440301197001010013", "440300"),
        support::person("P110101001", "110101197001010011", "110101"),
    ] {
        h.add_person(&p).await;
    }
    let visits = [
        ("1", "P420200001", "420200", SHENZHEN_HOSPITAL, "440300"),
        ("2", "P440300001", "440300", HUANGSHI_HOSPITAL, "420200"),
        ("3", "P110101001", "110101", SHENZHEN_HOSPITAL, "440300"),
        ("4", "P440300001", "440300", HUANGSHI_HOSPITAL, "420200"),
    ];
    let mut settled = Vec::new();
    for (tag, psn_no, home, hospital, treating) in visits {
        let a = Admission { tag, psn_no, home, hospital, treating, price_fen: 100_000 };
        settled.push(h.settle_admission(TODAY, &a).await);
    }
    support::eventually(h, PERIOD, |p| p["settlement_count"] == 4).await;
    for (n, fund) in [OWN, OTHER].into_iter().enumerate() {
        let deposit = json!({"request_id": format!("DEP-{n}"), "amount": "5000.00",
            "value_date": TODAY, "bank_reference": "B", "actor": actor("")});
        let path = format!("/api/v1/clearing/prepaid-funds/{fund}/deposits");
        let (status, answer) = h.post(&path, &deposit).await;
        assert_eq!(status, 200, "{answer}");
    }
    let act = json!({"actor": actor("")});
    for step in ["close", "net"] {
        let (status, answer) = h.post(&format!("{PERIOD}/{step}"), &act).await;
        assert_eq!(status, 200, "{step}: {answer}");
    }
    let dispute = json!({"request_id": "DIS-1", "province_admdvs": OTHER,
        "setl_ids": [settled[3]["setl_id"]], "reason": "重复", "actor": actor(OTHER)});
    let (status, answer) = h.post(&format!("{PERIOD}/disputes"), &dispute).await;
    assert_eq!(status, 201, "{answer}");
    let (status, netting) = h.post(&format!("{PERIOD}/net"), &act).await;
    assert_eq!(status, 200, "{netting}");
    let confirm = json!({"province_admdvs": OTHER, "netting_run": netting["netting_run"],
        "actor": actor(OTHER)});
    let (status, answer) = h.post(&format!("{PERIOD}/confirm"), &confirm).await;
    assert_eq!(status, 200, "{answer}");
}

/// The kinds of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Huangshi's hospital (in the own province).
    Hospital,
    /// Hubei's operator.
    Province,
    National,
    Citizen,
    Anonymous,
    /// Plain HTTP on loopback.
    Development,
}

const EVERYONE: [Who; 6] =
    [Who::Hospital, Who::Province, Who::National, Who::Citizen, Who::Anonymous, Who::Development];

/// An endpoint: its path for the own and for the other province (or institution), what each
/// caller gets for each, and the regions and institution of each row of an answer.
struct Endpoint {
    name: &'static str,
    own: String,
    other: String,
    /// The status for (own, other) of each caller of [`EVERYONE`].
    expected: [(u16, u16); 6],
    rows: fn(&Value) -> Vec<Row>,
}

/// What a row of an answer is about.
#[derive(Debug)]
struct Row {
    regions: Vec<String>,
    institution: Option<String>,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn region_rows(list: &Value, fields: &[&str]) -> Vec<Row> {
    list.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| Row {
                    regions: fields.iter().map(|f| text(&r[*f])).collect(),
                    institution: None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn period_rows(period: &Value) -> Vec<Row> {
    region_rows(&period["confirmations"], &["province_admdvs"])
}

fn netting_rows(v: &Value) -> Vec<Row> {
    let mut rows = region_rows(&v["positions"], &["province_admdvs"]);
    rows.extend(region_rows(&v["matrix"], &["insuplc_admdvs", "mdtrtarea_admvs"]));
    rows.extend(region_rows(&v["instructions"], &["payer_admdvs", "payee_admdvs"]));
    rows
}

fn hospital_rows(list: &Value, fields: &[&str]) -> Vec<Row> {
    list.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| Row {
                    regions: fields.iter().map(|f| text(&r[*f])).collect(),
                    institution: Some(text(&r["fixmedins_code"])),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn endpoints() -> Vec<Endpoint> {
    let both = |path: &str| (path.to_owned(), path.to_owned());
    let with = |template: &str, own: &str, other: &str| {
        (template.replace("{}", own), template.replace("{}", other))
    };
    // Columns: hospital, province operator, national, citizen, anonymous, development.
    let operators = [(403, 403), (200, 200), (200, 200), (403, 403), (401, 401), (200, 200)];
    let own_province = [(403, 403), (200, 403), (200, 200), (403, 403), (401, 401), (200, 200)];
    let national = [(403, 403), (403, 403), (200, 200), (403, 403), (401, 401), (200, 200)];
    let list = |name, (own, other): (String, String), expected, rows| Endpoint {
        name,
        own,
        other,
        expected,
        rows,
    };
    vec![
        list("periods", both("/api/v1/clearing/periods"), operators, |v| {
            v["periods"].as_array().unwrap().iter().flat_map(period_rows).collect()
        }),
        list("period", both(PERIOD), operators, period_rows),
        list("disputes", both(&format!("{PERIOD}/disputes")), operators, |v| {
            region_rows(&v["disputes"], &["province_admdvs"])
        }),
        list(
            "disputes of a province",
            with(&format!("{PERIOD}/disputes?province_admdvs={{}}"), OWN, OTHER),
            own_province,
            |v| region_rows(&v["disputes"], &["province_admdvs"]),
        ),
        list(
            "netting",
            both(&format!("{PERIOD}/netting?include_matrix=true")),
            operators,
            netting_rows,
        ),
        list("instructions", both(&format!("{PERIOD}/instructions")), operators, |v| {
            region_rows(&v["instructions"], &["payer_admdvs", "payee_admdvs"])
        }),
        list(
            "instructions of a province",
            with(&format!("{PERIOD}/instructions?province_admdvs={{}}"), OWN, OTHER),
            own_province,
            |v| region_rows(&v["instructions"], &["payer_admdvs", "payee_admdvs"]),
        ),
        list(
            "province statement",
            with(&format!("{PERIOD}/statements/provinces/{{}}"), OWN, OTHER),
            own_province,
            |v| vec![Row { regions: vec![text(&v["province_admdvs"])], institution: None }],
        ),
        list(
            "hospital statements",
            with(&format!("{PERIOD}/statements/hospitals?mdtrtarea_admvs={{}}"), OWN, OTHER),
            [(200, 200), (200, 403), (200, 200), (403, 403), (401, 401), (200, 200)],
            |v| hospital_rows(&v["statements"], &["mdtrtarea_admvs"]),
        ),
        list(
            "items",
            with(
                &format!("{PERIOD}/items?fixmedins_code={{}}"),
                HUANGSHI_HOSPITAL,
                SHENZHEN_HOSPITAL,
            ),
            [(200, 403), (200, 200), (200, 200), (403, 403), (401, 401), (200, 200)],
            |v| hospital_rows(&v["items"], &["insuplc_admdvs", "mdtrtarea_admvs"]),
        ),
        list("prepaid funds", both("/api/v1/clearing/prepaid-funds"), operators, |v| {
            region_rows(&v["funds"], &["province_admdvs"])
        }),
        list(
            "prepaid fund",
            with("/api/v1/clearing/prepaid-funds/{}", OWN, OTHER),
            own_province,
            |v| vec![Row { regions: vec![text(&v["province_admdvs"])], institution: None }],
        ),
        list("balances", both("/api/v1/clearing/balances"), operators, balance_rows),
        list(
            "balances of an owner",
            with("/api/v1/clearing/balances?owner={}", OWN, OTHER),
            own_province,
            balance_rows,
        ),
        list("ingestion", both("/api/v1/clearing/ingest"), national, |_| Vec::new()),
        list("audit", both(&format!("{PERIOD}/audit")), national, |_| Vec::new()),
    ]
}

fn balance_rows(v: &Value) -> Vec<Row> {
    v["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let account = text(&b["account"]);
            let owner = account.split(':').next().unwrap_or_default().to_owned();
            Row { regions: vec![owner], institution: None }
        })
        .collect()
}

fn client(dir: &TlsDir, name: Option<&str>) -> reqwest::Client {
    let ca = std::fs::read(dir.ca_cert()).unwrap();
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
    if let Some(name) = name {
        let (cert, key) = dir.institution(name);
        let mut pem = std::fs::read(cert).unwrap();
        pem.extend(std::fs::read(key).unwrap());
        builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_clearing_read_shows_each_caller_only_its_own_rows() {
    let h = Harness::start(TODAY).await;
    month(&h).await;

    // The gateway over HTTPS in front of the same services, with certificates for each caller.
    let base = std::env::temp_dir().join(format!("medclear-access-{}", std::process::id()));
    let dir = TlsDir(base.clone());
    tls::issue_ca(&dir).unwrap();
    tls::issue_server(&dir, &["127.0.0.1".into()]).unwrap();
    for name in [HUANGSHI_HOSPITAL, "OP-420000", "OP-000000"] {
        tls::issue_client(&dir, name).unwrap();
    }
    let state = AppState::new(&h.upstreams()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("https://{}", listener.local_addr().unwrap());
    let transport = Transport::choose(Some(&dir), &"0.0.0.0:443".parse().unwrap()).unwrap();
    tokio::spawn(server::serve_over(
        transport,
        listener,
        state.clone(),
        medclear_cli::up::gateway_routes(),
        std::future::pending(),
    ));
    // A citizen signs in with a one-time code.
    let anonymous = client(&dir, None);
    let certno = "420202196001010016";
    let signed_in = anonymous
        .post(format!("{root}/api/v1/citizen/sign-in"))
        .json(&json!({"certno": certno}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 202);
    let code = state.citizens().pending_code(certno).unwrap();
    let verified: Value = anonymous
        .post(format!("{root}/api/v1/citizen/verify"))
        .json(&json!({"certno": certno, "code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let citizen_token = verified["token"].as_str().unwrap().to_owned();

    let get = |who: Who, path: String| {
        let request = match who {
            Who::Hospital => client(&dir, Some(HUANGSHI_HOSPITAL)).get(format!("{root}{path}")),
            Who::Province => client(&dir, Some("OP-420000")).get(format!("{root}{path}")),
            Who::National => client(&dir, Some("OP-000000")).get(format!("{root}{path}")),
            Who::Citizen => anonymous.get(format!("{root}{path}")).bearer_auth(&citizen_token),
            Who::Anonymous => anonymous.get(format!("{root}{path}")),
            Who::Development => h.http.get(h.url(&path)),
        };
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    let mut national_saw_other = Vec::new();
    let mut province_saw_own = Vec::new();
    for endpoint in endpoints() {
        for (who, (own_status, other_status)) in EVERYONE.into_iter().zip(endpoint.expected) {
            for (path, expected) in [(&endpoint.own, own_status), (&endpoint.other, other_status)] {
                let (status, body) = get(who, path.clone()).await;
                let cell = format!("{} × {who:?} × GET {path}", endpoint.name);
                assert_eq!(status, expected, "{cell}: {body}");
                match status {
                    200 => {}
                    401 => {
                        assert_eq!(body["code"], "unauthenticated", "{cell}: {body}");
                        continue;
                    }
                    _ => {
                        assert_eq!(body["code"], "forbidden", "{cell}: {body}");
                        continue;
                    }
                }
                let rows = (endpoint.rows)(&body);
                let in_own = |r: &Row| r.regions.iter().any(|c| c.get(..2) == OWN.get(..2));
                let in_other = |r: &Row| r.regions.iter().any(|c| c.get(..2) == OTHER.get(..2));
                match who {
                    Who::Province => {
                        for row in &rows {
                            assert!(in_own(row), "{cell}: another province's row {row:?}: {body}");
                        }
                        province_saw_own.push((endpoint.name, !rows.is_empty()));
                    }
                    Who::Hospital => {
                        for row in &rows {
                            assert_eq!(
                                row.institution.as_deref(),
                                Some(HUANGSHI_HOSPITAL),
                                "{cell}: another institution's row {row:?}: {body}"
                            );
                        }
                    }
                    Who::National | Who::Development => {
                        national_saw_other.push((endpoint.name, rows.iter().any(in_other)));
                    }
                    Who::Citizen | Who::Anonymous => unreachable!("{cell}"),
                }
            }
        }
    }
    // Not vacuous: the national operator sees Guangdong's rows where Hubei's operator sees only
    // its own, and Hubei's operator does see its own.
    for name in ["periods", "disputes", "netting", "instructions", "prepaid funds", "balances"] {
        assert!(
            national_saw_other.iter().any(|(n, saw)| *n == name && *saw),
            "{name}: the national operator sees Guangdong's rows"
        );
    }
    for name in ["netting", "instructions", "hospital statements", "items", "prepaid funds"] {
        assert!(
            province_saw_own.iter().any(|(n, saw)| *n == name && *saw),
            "{name}: Hubei's operator sees its own rows"
        );
    }
    // The hospital statements and items Hubei's operator reads of a Guangdong hospital are
    // those of its own insured only.
    let (_, items) =
        get(Who::Province, format!("{PERIOD}/items?fixmedins_code={SHENZHEN_HOSPITAL}")).await;
    let homes: Vec<&str> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["insuplc_admdvs"].as_str().unwrap())
        .collect();
    assert_eq!(homes, [OWN], "{items}");

    std::fs::remove_dir_all(&base).unwrap();
    h.finish().await;
}

/// A bare channel to `url`.
async fn raw_channel(url: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(url.to_owned()).unwrap().connect().await.unwrap()
}

/// An interceptor sending `token` as the service token (`None`: no token at all).
fn with_token(
    token: Option<String>,
) -> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone {
    move |mut request: tonic::Request<()>| {
        if let Some(token) = &token {
            request.metadata_mut().insert(SERVICE_TOKEN_KEY, token.parse().unwrap());
        }
        Ok(request)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_refuse_calls_without_the_service_token_and_change_nothing() {
    let h = Harness::start(TODAY).await;
    h.seed_drug(&[SHENZHEN_HOSPITAL]).await;
    h.add_person(&support::person("P420200001", "420202196001010016", "420200")).await;
    let a = Admission {
        tag: "1",
        psn_no: "P420200001",
        home: "420200",
        hospital: SHENZHEN_HOSPITAL,
        treating: "440300",
        price_fen: 100_000,
    };
    h.settle_admission(TODAY, &a).await;
    support::eventually(&h, PERIOD, |p| p["settlement_count"] == 1).await;

    let clearing = raw_channel(&h.clearing_grpc).await;
    let routing = raw_channel(&h.routing_grpc).await;
    let national =
        || Some(cpb::Operator { id: "x".into(), name: "x".into(), admdvs: String::new() });
    let wrong = "w".repeat(48);
    for (token, reason) in
        [(None, "service_token_required"), (Some(wrong.clone()), "invalid_service_token")]
    {
        let mut client = cpb::clearing_service_client::ClearingServiceClient::with_interceptor(
            clearing.clone(),
            with_token(token.clone()),
        );
        let refusals = [
            // Closing, netting, confirming and settling the period.
            client
                .close_period(cpb::ClosePeriodRequest {
                    period_id: "2026-03".into(),
                    actor: national(),
                })
                .await
                .unwrap_err(),
            client
                .net_period(cpb::NetPeriodRequest {
                    period_id: "2026-03".into(),
                    actor: national(),
                })
                .await
                .unwrap_err(),
            client
                .confirm_period(cpb::ConfirmPeriodRequest {
                    period_id: "2026-03".into(),
                    province_admdvs: OWN.into(),
                    netting_run: 1,
                    actor: national(),
                })
                .await
                .unwrap_err(),
            client
                .settle_period(cpb::SettlePeriodRequest {
                    period_id: "2026-03".into(),
                    actor: national(),
                })
                .await
                .unwrap_err(),
            // A prepaid "deposit" of −1,000.00 yuan.
            client
                .record_prepaid_deposit(cpb::RecordPrepaidDepositRequest {
                    request_id: "D-1".into(),
                    province_admdvs: OWN.into(),
                    amount_fen: -100_000,
                    value_date: TODAY.into(),
                    bank_reference: "B".into(),
                    actor: national(),
                })
                .await
                .unwrap_err(),
            // Reading every province's funds.
            client.list_prepaid_funds(cpb::ListPrepaidFundsRequest {}).await.unwrap_err(),
        ];
        // Rewriting a person's account balance.
        let mut routing_client =
            rpb::routing_service_client::RoutingServiceClient::with_interceptor(
                routing.clone(),
                with_token(token),
            );
        let row = rpb::import_persons_request::Row {
            row_no: 2,
            fields: [
                ("psn_no", "P420200001"),
                ("certno", "420202196001010016"),
                ("psn_name", "张三"),
                ("insutype", "310"),
                ("insuplc_admdvs", "420200"),
                ("account_balance_fen", "99999999"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        };
        let rewrite = routing_client
            .import_persons(rpb::ImportPersonsRequest { rows: vec![row] })
            .await
            .unwrap_err();
        for refused in refusals.iter().chain([&rewrite]) {
            assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
            assert_eq!(status_reason(refused), reason);
        }
    }

    // Nothing changed: the period is open, no fund holds anything, the balance is as it was.
    let (_, period) = h.get(PERIOD).await;
    assert_eq!(period["status"], "open", "{period}");
    let (_, funds) = h.get("/api/v1/clearing/prepaid-funds").await;
    let deposits: Vec<i64> = funds["funds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["deposit_fen"].as_i64().unwrap())
        .collect();
    assert!(deposits.iter().all(|d| *d == 0), "{funds}");
    let balance: i64 =
        sqlx::query_scalar("SELECT account_balance_fen FROM persons WHERE psn_no = 'P420200001'")
            .fetch_one(&h.routing_pool)
            .await
            .unwrap();
    assert_eq!(balance, 0);
    // With the token, the same client goes through.
    let mut client = cpb::clearing_service_client::ClearingServiceClient::with_interceptor(
        raw_channel(&h.clearing_grpc).await,
        with_token(Some(h.service_token.expose().to_owned())),
    );
    assert!(client.list_prepaid_funds(cpb::ListPrepaidFundsRequest {}).await.is_ok());
    h.finish().await;
}
