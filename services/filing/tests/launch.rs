//! `launch`, as the binary, `medclear up` and the other tests start the service: it migrates its
//! schema, answers health checks and calls, and returns once its shutdown future completes.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::{sync::Arc, time::Duration};

use medclear_common::{clock::SystemClock, config::DbConfig};
use medclear_filing::{SERVICE_NAME, Settings};
use medclear_proto::filing::v1::{ListRegionsRequest, filing_service_client::FilingServiceClient};
use sqlx::{Connection, Executor, PgConnection};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_serves_until_shutdown() {
    let schema = format!("filing_launch_{}", uuid::Uuid::new_v4().simple());
    let settings = Settings::new(DbConfig::new(database_url(), &schema), Arc::new(SystemClock));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    let service = tokio::spawn(medclear_filing::launch(settings, listener, shutdown));

    let channel = tonic::transport::Endpoint::from_shared(url).unwrap().connect().await.unwrap();
    let mut health = HealthClient::new(channel.clone());
    let check = HealthCheckRequest { service: SERVICE_NAME.into() };
    let status = health.check(check).await.unwrap().into_inner().status();
    assert_eq!(status, ServingStatus::Serving);
    // The regions come with the migrations: the schema was created and migrated.
    let mut client = FilingServiceClient::new(channel);
    let regions = client.list_regions(ListRegionsRequest {}).await.unwrap().into_inner().regions;
    assert_eq!(regions.len(), 40);

    stop.send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(30), service).await;
    stopped.expect("launch returns once shutdown completes").unwrap().unwrap();

    let mut admin = PgConnection::connect(&database_url()).await.unwrap();
    admin.execute(format!("DROP SCHEMA \"{schema}\" CASCADE").as_str()).await.unwrap();
}
