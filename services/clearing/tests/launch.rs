//! `launch`, as the binary, `medclear up` and the other tests start the service: it migrates its
//! schema, follows its sources, answers health checks and calls, and returns once its shutdown
//! future completes — its followers stopped with it.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::{sync::Arc, time::Duration};

use medclear_clearing::{SERVICE_NAME, Settings, ingest::Source};
use medclear_common::{clock::SystemClock, config::DbConfig};
use medclear_proto::clearing::v1::{
    ListPeriodsRequest, clearing_service_client::ClearingServiceClient,
};
use sqlx::{Connection, Executor, PgConnection};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
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
    let mut client = ClearingServiceClient::new(channel);
    let periods = client.list_periods(ListPeriodsRequest::default()).await.unwrap().into_inner();
    assert_eq!(periods.periods, [], "a fresh schema has no periods");

    stop.send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(30), service).await;
    stopped.expect("launch returns once shutdown completes").unwrap().unwrap();

    let mut admin = PgConnection::connect(&database_url()).await.unwrap();
    admin.execute(format!("DROP SCHEMA \"{schema}\" CASCADE").as_str()).await.unwrap();
}
