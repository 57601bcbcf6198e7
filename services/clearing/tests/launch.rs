//! `launch`, as the binary, `medclear up` and the other tests start the service: it migrates its
//! schema, follows its sources, answers health checks and calls, and returns once its shutdown
//! future completes — its followers stopped with it.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::{sync::Arc, time::Duration};

use medclear_clearing::{SERVICE_NAME, Settings, ingest::Source};
use medclear_common::{
    clock::SystemClock,
    config::DbConfig,
    error::status_reason,
    server::{SERVICE_TOKEN_KEY, ServiceToken},
};
use medclear_proto::clearing::v1::{
    ListPeriodsRequest, ListPrepaidFundsRequest, Operator, RecordPrepaidDepositRequest,
    clearing_service_client::ClearingServiceClient,
};
use sqlx::{Connection, Executor, PgConnection};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
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
async fn launch_serves_until_shutdown_and_stops_its_followers() {
    let schema = format!("clearing_launch_{}", uuid::Uuid::new_v4().simple());
    // A routing instance that is down: its follower keeps retrying until shutdown stops it.
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let source = Source {
        name: "routing".into(),
        endpoint: format!("http://{}", gone.local_addr().unwrap()),
    };
    drop(gone);
    let settings =
        Settings::new(DbConfig::new(database_url(), &schema), Arc::new(SystemClock), vec![source]);
    let settings = Settings { service_token: Some(token()), ..settings };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    let service = tokio::spawn(medclear_clearing::launch(settings, listener, shutdown));

    let channel = tonic::transport::Endpoint::from_shared(url).unwrap().connect().await.unwrap();
    let mut health = HealthClient::new(channel.clone());
    let check = HealthCheckRequest { service: SERVICE_NAME.into() };
    let status = health.check(check).await.unwrap().into_inner().status();
    assert_eq!(status, ServingStatus::Serving);
    // A prepaid "deposit" of −1,000.00 yuan without the token, or with another: refused, and no
    // fund moves.
    let withdrawal = || RecordPrepaidDepositRequest {
        request_id: "D-1".into(),
        province_admdvs: "420000".into(),
        amount_fen: -100_000,
        value_date: "2026-03-02".into(),
        bank_reference: "B-1".into(),
        actor: Some(Operator { id: "ops1".into(), name: "x".into(), admdvs: String::new() }),
    };
    let mut bare = ClearingServiceClient::new(channel.clone());
    let refused = bare.record_prepaid_deposit(withdrawal()).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert_eq!(status_reason(&refused), "service_token_required");
    let mut wrong =
        ClearingServiceClient::with_interceptor(channel.clone(), sending(&"x".repeat(40)));
    let refused = wrong.record_prepaid_deposit(withdrawal()).await.unwrap_err();
    assert_eq!(status_reason(&refused), "invalid_service_token");

    let token = token();
    let mut client = ClearingServiceClient::with_interceptor(channel, sending(token.expose()));
    let funds = client.list_prepaid_funds(ListPrepaidFundsRequest {}).await.unwrap().into_inner();
    assert!(funds.funds.iter().all(|f| f.deposit_fen == 0), "no deposit was recorded: {funds:?}");
    let periods = client.list_periods(ListPeriodsRequest::default()).await.unwrap().into_inner();
    assert_eq!(periods.periods, [], "a fresh schema has no periods");

    stop.send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(30), service).await;
    stopped.expect("launch returns once shutdown completes").unwrap().unwrap();

    let mut admin = PgConnection::connect(&database_url()).await.unwrap();
    admin.execute(format!("DROP SCHEMA \"{schema}\" CASCADE").as_str()).await.unwrap();
}
