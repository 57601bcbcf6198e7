//! `launch`, as the binary, `medclear up` and the other tests start the service: it migrates its
//! schema, settles only for the provinces of its partition, answers health checks, and returns
//! once its shutdown future completes.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::{collections::HashMap, sync::Arc, time::Duration};

use medclear_common::{
    clock::SystemClock,
    config::DbConfig,
    error::status_reason,
    server::{SERVICE_TOKEN_KEY, ServiceToken},
};
use medclear_proto::routing::v1::{
    ImportPersonsRequest, import_persons_request::Row, routing_service_client::RoutingServiceClient,
};
use medclear_routing::{SERVICE_NAME, Settings, partition::Partition};
use sqlx::{Connection, Executor, PgConnection};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn person_row(row_no: u64, psn_no: &str, certno: &str, home: &str) -> Row {
    let fields: HashMap<String, String> = [
        ("psn_no", psn_no),
        ("certno", certno),
        ("psn_name", "张三"),
        ("insutype", "310"),
        ("insuplc_admdvs", home),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Row { row_no, fields }
}

/// The token the test's service takes calls with.
fn token() -> ServiceToken {
    ServiceToken::new("launch-test-service-token-0123456789abcdef").unwrap()
}

/// An interceptor that sends `token` as the service token.
fn sending(
    token: &str,
) -> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone + use<> {
    let value: tonic::metadata::AsciiMetadataValue = token.parse().unwrap();
    move |mut request: tonic::Request<()>| {
        request.metadata_mut().insert(SERVICE_TOKEN_KEY, value.clone());
        Ok(request)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_serves_its_partition_until_shutdown() {
    let schema = format!("routing_launch_{}", uuid::Uuid::new_v4().simple());
    // Nothing here asks the filing or catalogue service; their channels connect lazily.
    let settings = Settings {
        partition: Partition::parse("42").unwrap(),
        service_token: Some(token()),
        ..Settings::new(
            DbConfig::new(database_url(), &schema),
            Arc::new(SystemClock),
            "http://127.0.0.1:50051",
            "http://127.0.0.1:50052",
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    let service = tokio::spawn(medclear_routing::launch(settings, listener, shutdown));

    let channel = tonic::transport::Endpoint::from_shared(url).unwrap().connect().await.unwrap();
    let mut health = HealthClient::new(channel.clone());
    let check = HealthCheckRequest { service: SERVICE_NAME.into() };
    let status = health.check(check).await.unwrap().into_inner().status();
    assert_eq!(status, ServingStatus::Serving);
    // Rewriting a person (their account balance) without the token, or with another: refused,
    // and nobody is written.
    let rich = || {
        let mut row = person_row(2, "P420200001", "420202196001010016", "420200");
        row.fields.insert("account_balance_fen".into(), "100000000".into());
        ImportPersonsRequest { rows: vec![row] }
    };
    let refused = RoutingServiceClient::new(channel.clone()).import_persons(rich()).await;
    let refused = refused.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert_eq!(status_reason(&refused), "service_token_required");
    let mut wrong =
        RoutingServiceClient::with_interceptor(channel.clone(), sending(&"x".repeat(40)));
    let refused = wrong.import_persons(rich()).await.unwrap_err();
    assert_eq!(status_reason(&refused), "invalid_service_token");
    let mut admin = PgConnection::connect(&database_url()).await.unwrap();
    let persons: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{schema}\".persons"))
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(persons, 0, "nothing was written");

    let token = token();
    let mut client = RoutingServiceClient::with_interceptor(channel, sending(token.expose()));
    let rows = vec![
        person_row(2, "P420200001", "420202196001010016", "420200"),
        person_row(3, "P440300001", "440301197001010013", "440300"),
    ];
    let answer = client.import_persons(ImportPersonsRequest { rows }).await.unwrap().into_inner();
    assert_eq!(answer.accepted, 1, "the Hubei person is this instance's");
    let refused: Vec<_> = answer.rejections.iter().map(|r| (r.row_no, r.reason.as_str())).collect();
    assert_eq!(refused, [(3, "wrong_partition")], "the Guangdong person is not");

    stop.send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(30), service).await;
    stopped.expect("launch returns once shutdown completes").unwrap().unwrap();

    admin.execute(format!("DROP SCHEMA \"{schema}\" CASCADE").as_str()).await.unwrap();
}

#[tokio::test]
async fn launch_refuses_a_malformed_endpoint_before_touching_the_database() {
    // No database answers at this URL: the endpoint is checked first.
    let settings = Settings {
        service_token: Some(token()),
        ..Settings::new(
            DbConfig::new("postgres://nobody@127.0.0.1:1/none", "routing"),
            Arc::new(SystemClock),
            "not a url",
            "http://127.0.0.1:50052",
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = medclear_routing::launch(settings, listener, std::future::pending())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("filing endpoint \"not a url\""), "{error}");
}
