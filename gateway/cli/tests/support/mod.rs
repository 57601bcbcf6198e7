//! Starts the filing and catalogue services and the gateway in-process on ephemeral ports,
//! against the PostgreSQL of `DATABASE_URL`, each service in a schema of its own, with a clock
//! the test controls. The services take calls with this process's service token
//! (`medclear_cli::up::process_token`), which the gateway and the test's own clients send.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::{collections::HashMap, sync::Arc};

use medclear_common::{
    clock::FixedClock,
    config::DbConfig,
    server::{self as grpc_server, ServiceToken},
};
use medclear_gateway::{AppState, Upstreams, server};
use medclear_proto::catalog::v1::{
    self as catalog_pb, catalog_service_client::CatalogServiceClient,
};
use serde_json::Value;
use sqlx::PgPool;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

pub mod national;

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct Harness {
    pub base: String,
    pub grpc: String,
    pub catalog_grpc: String,
    pub routing_grpc: String,
    pub routing_pool: PgPool,
    pub clearing_grpc: String,
    pub clearing_pool: PgPool,
    pub pool: PgPool,
    pub catalog_pool: PgPool,
    pub clock: FixedClock,
    pub http: reqwest::Client,
    /// What the services take calls with.
    pub service_token: ServiceToken,
    schema: String,
    filing_token: CancellationToken,
    filing_task: Option<JoinHandle<medclear_common::Result<()>>>,
    gateway_token: CancellationToken,
}

pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
}

impl Harness {
    pub async fn start(today: &str) -> Self {
        let clock = FixedClock::at_date(today.parse().unwrap());
        // The services take calls with the process's token (their settings name none).
        let service_token = medclear_cli::up::process_token();
        let schema = format!("filing_test_{}", uuid::Uuid::new_v4().simple());
        let pool = medclear_filing::connect(&DbConfig::new(database_url(), schema.clone()))
            .await
            .expect("PostgreSQL at DATABASE_URL (see README: .ci/run starts it)");
        // Each service through its own `launch`, as its binary and `medclear up` run it; the
        // test keeps a pool of its own on each schema to look at the rows.
        let db = |schema: &str| DbConfig::new(database_url(), schema.to_owned());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc = format!("http://{}", listener.local_addr().unwrap());
        let filing_token = CancellationToken::new();
        let filing_task = tokio::spawn(medclear_filing::launch(
            medclear_filing::Settings::new(db(&schema), Arc::new(clock.clone())),
            listener,
            filing_token.clone().cancelled_owned(),
        ));
        let catalog_schema = schema.replace("filing", "catalog");
        let catalog_pool = medclear_catalog::connect(&db(&catalog_schema)).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let catalog_grpc = format!("http://{}", listener.local_addr().unwrap());
        let gateway_token = CancellationToken::new();
        tokio::spawn(medclear_catalog::launch(
            medclear_catalog::Settings::new(db(&catalog_schema), Arc::new(clock.clone())),
            listener,
            gateway_token.clone().cancelled_owned(),
        ));
        let routing_schema = schema.replace("filing", "routing");
        let routing_pool = medclear_routing::connect(&db(&routing_schema)).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let routing_grpc = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(medclear_routing::launch(
            medclear_routing::Settings::new(
                db(&routing_schema),
                Arc::new(clock.clone()),
                grpc.clone(),
                catalog_grpc.clone(),
            ),
            listener,
            gateway_token.clone().cancelled_owned(),
        ));
        let clearing_schema = schema.replace("filing", "clearing");
        let clearing_pool = medclear_clearing::connect(&db(&clearing_schema)).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let clearing_grpc = format!("http://{}", listener.local_addr().unwrap());
        let sources = vec![medclear_clearing::ingest::Source {
            name: "routing".into(),
            endpoint: routing_grpc.clone(),
        }];
        tokio::spawn(medclear_clearing::launch(
            medclear_clearing::Settings::new(
                db(&clearing_schema),
                Arc::new(clock.clone()),
                sources,
            ),
            listener,
            gateway_token.clone().cancelled_owned(),
        ));
        let state = AppState::new(&Upstreams {
            filing: grpc.clone(),
            catalog: catalog_grpc.clone(),
            routing: routing_grpc.clone(),
            routing_partitions: Vec::new(),
            clearing: clearing_grpc.clone(),
            service_token: service_token.clone(),
        })
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server::serve(
            listener,
            state,
            medclear_cli::up::gateway_routes(),
            gateway_token.clone().cancelled_owned(),
        ));
        Self {
            base,
            grpc,
            catalog_grpc,
            routing_grpc,
            routing_pool,
            clearing_grpc,
            clearing_pool,
            pool,
            catalog_pool,
            clock,
            http: reqwest::Client::new(),
            service_token,
            schema,
            filing_token,
            filing_task: Some(filing_task),
            gateway_token,
        }
    }

    /// The harness's services, for a second gateway in front of them.
    pub fn upstreams(&self) -> Upstreams {
        Upstreams {
            filing: self.grpc.clone(),
            catalog: self.catalog_grpc.clone(),
            routing: self.routing_grpc.clone(),
            routing_partitions: Vec::new(),
            clearing: self.clearing_grpc.clone(),
            service_token: self.service_token.clone(),
        }
    }

    /// Adds a person to the routing service's registry.
    pub async fn add_person(&self, person: &medclear_routing::repo::PersonRow) {
        medclear_routing::settlement::Settlements::new(
            self.routing_pool.clone(),
            Arc::new(self.clock.clone()),
            medclear_routing::publication::load(&self.routing_pool).await.unwrap(),
        )
        .upsert_person(person)
        .await
        .unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self.http.post(self.url(path)).json(body).send().await.unwrap();
        answer(response).await
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        answer(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    /// Rows in one of the service's tables.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Stops the filing service (the gateway stays up).
    pub async fn stop_filing(&mut self) {
        self.filing_token.cancel();
        if let Some(task) = self.filing_task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// Stops everything and drops the test's schema.
    pub async fn finish(mut self) {
        self.stop_filing().await;
        self.gateway_token.cancel();
        self.routing_pool.close().await;
        self.clearing_pool.close().await;
        let schemas =
            ["filing", "catalog", "routing", "clearing"].map(|s| self.schema.replace("filing", s));
        for schema in schemas {
            sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .execute(&self.pool)
                .await
                .unwrap();
        }
        self.pool.close().await;
        self.catalog_pool.close().await;
    }
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// The national drug every seeded hospital maps as local code `L001`.
pub const DRUG: &str = "XL02BBA326A001010102180";

/// Imports `rows` into the catalogue, all or nothing; the call carries the service token
/// whatever the client's channel.
pub async fn import<T>(
    client: &mut CatalogServiceClient<T>,
    target: catalog_pb::ImportTarget,
    rows: &[&[(&str, &str)]],
) where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    let mut messages = vec![catalog_pb::ImportRequest {
        part: Some(catalog_pb::import_request::Part::Header(catalog_pb::ImportHeader {
            target: target.into(),
            source: "t".into(),
            all_or_nothing: true,
            operator: "t".into(),
        })),
    }];
    for (i, row) in rows.iter().enumerate() {
        let fields: HashMap<String, String> =
            row.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        messages.push(catalog_pb::ImportRequest {
            part: Some(catalog_pb::import_request::Part::Row(catalog_pb::ImportRow {
                row_no: u64::try_from(i).unwrap(),
                fields,
            })),
        });
    }
    let mut request = tonic::Request::new(tokio_stream::iter(messages));
    grpc_server::insert_service_token(request.metadata_mut());
    let report = client.import(request).await.unwrap().into_inner();
    assert!(report.committed, "{report:?}");
}

impl Harness {
    /// One 甲 drug ([`DRUG`]) in the national catalogue, mapped as local code `L001` by each
    /// of `hospitals`.
    pub async fn seed_drug(&self, hospitals: &[&str]) {
        let mut catalog = CatalogServiceClient::new(
            grpc_server::connect("catalog", &self.catalog_grpc).await.unwrap(),
        );
        let items: &[(&str, &str)] = &[
            ("code", DRUG),
            ("kind", "western_drug"),
            ("name", "甲药"),
            ("begin_date", "2024-01-01"),
        ];
        let coverage: &[(&str, &str)] =
            &[("scope", "000000"), ("code", DRUG), ("class", "A"), ("begin_date", "2024-01-01")];
        import(&mut catalog, catalog_pb::ImportTarget::Items, &[items]).await;
        import(&mut catalog, catalog_pb::ImportTarget::Coverage, &[coverage]).await;
        let mappings: Vec<[(&str, &str); 4]> = hospitals
            .iter()
            .map(|hospital| {
                [
                    ("fixmedins_code", *hospital),
                    ("local_code", "L001"),
                    ("national_code", DRUG),
                    ("begin_date", "2024-01-01"),
                ]
            })
            .collect();
        let rows: Vec<&[(&str, &str)]> = mappings.iter().map(|m| &m[..]).collect();
        import(&mut catalog, catalog_pb::ImportTarget::Mappings, &rows).await;
    }
}

/// An employee (310) of `home` with an empty account.
pub fn person(psn_no: &str, certno: &str, home: &str) -> medclear_routing::repo::PersonRow {
    medclear_routing::repo::PersonRow {
        psn_no: psn_no.into(),
        certno: certno.into(),
        psn_name: "张三".into(),
        insutype: "310".into(),
        retired: false,
        insuplc_admdvs: home.into(),
        account_balance_fen: 0,
        assistance_category: None,
    }
}

/// Polls `path` until `done` holds for its answer (clearing follows routing's events within
/// milliseconds); fails after 15 s.
pub async fn eventually(h: &Harness, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (status, answer) = h.get(path).await;
        if status == 200 && done(&answer) {
            return answer;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path} never got there: {answer}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// An emergency admission settled through the JSON API, as the clearing tests need them.
pub struct Admission<'a> {
    /// Makes the admission's msgids unique.
    pub tag: &'a str,
    pub psn_no: &'a str,
    /// The patient's home region.
    pub home: &'a str,
    pub hospital: &'a str,
    pub treating: &'a str,
    /// The one fee line's price.
    pub price_fen: i64,
}

impl Harness {
    /// Registers `a` on `date`, uploads its fee line, discharges and settles it; the
    /// settlement's answer.
    pub async fn settle_admission(&self, date: &str, a: &Admission<'_>) -> Value {
        let (hospital, tag) = (a.hospital, a.tag);
        let visit = serde_json::json!({"fixmedins_code": hospital, "msgid": format!("V{tag}"),
            "psn_no": a.psn_no, "insuplc_admdvs": a.home, "med_type": 21,
            "mdtrtarea_admvs": a.treating, "hospital_level": "tertiary", "begin_date": date,
            "diagnosis_code": "I10.x00x002", "emergency": true});
        let (status, v) = self.post("/api/v1/visits", &visit).await;
        assert_eq!(status, 200, "{v}");
        let id = v["mdtrt_id"].as_str().unwrap().to_owned();
        let lines = serde_json::json!({"fixmedins_code": hospital, "msgid": format!("F{tag}"),
            "lines": [{"feedetl_sn": "1", "local_code": "L001", "price_fen": a.price_fen,
            "quantity": "1", "fee_date": date}]});
        let (status, answer) = self.post(&format!("/api/v1/visits/{id}/fee-lines"), &lines).await;
        assert_eq!(status, 200, "{answer}");
        let discharge = serde_json::json!({"fixmedins_code": hospital, "msgid": format!("D{tag}"),
            "end_date": date});
        let (status, answer) =
            self.post(&format!("/api/v1/visits/{id}/discharge"), &discharge).await;
        assert_eq!(status, 200, "{answer}");
        let settle = serde_json::json!({"fixmedins_code": hospital, "msgid": format!("S{tag}")});
        let (status, s) = self.post(&format!("/api/v1/visits/{id}/settle"), &settle).await;
        assert_eq!(status, 200, "{s}");
        s
    }
}

/// What a settlement's home province owes its treating province: fund plus account.
pub fn obligation(settlement: &Value) -> i64 {
    settlement["fund_pay_sumamt_fen"].as_i64().unwrap()
        + settlement["acct_pay_fen"].as_i64().unwrap()
}
