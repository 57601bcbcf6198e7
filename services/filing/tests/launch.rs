//! `launch`, as the binary, `medclear up` and the other tests start the service: it migrates its
//! schema, answers health checks and calls, and returns once its shutdown future completes.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::{sync::Arc, time::Duration};

use medclear_common::{
    clock::SystemClock,
    config::DbConfig,
    error::status_reason,
    server::{SERVICE_TOKEN_KEY, ServiceToken},
};
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
async fn launch_serves_until_shutdown() {
    let schema = format!("filing_launch_{}", uuid::Uuid::new_v4().simple());
    let settings = Settings {
        service_token: Some(token()),
        ..Settings::new(DbConfig::new(database_url(), &schema), Arc::new(SystemClock))
    };
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
    // Without the service token, or with another, a call is refused by name; the health check
    // needs none.
    let refused =
        FilingServiceClient::new(channel.clone()).list_regions(ListRegionsRequest {}).await;
    let refused = refused.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert_eq!(status_reason(&refused), "service_token_required");
    let mut wrong =
        FilingServiceClient::with_interceptor(channel.clone(), sending(&"x".repeat(40)));
    let refused = wrong.list_regions(ListRegionsRequest {}).await.unwrap_err();
    assert_eq!(status_reason(&refused), "invalid_service_token");
    // The regions come with the migrations: the schema was created and migrated.
    let token = token();
    let mut client = FilingServiceClient::with_interceptor(channel, sending(token.expose()));
    let regions = client.list_regions(ListRegionsRequest {}).await.unwrap().into_inner().regions;
    assert_eq!(regions.len(), 3220, "every code of reference/admdvs.csv");

    stop.send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(30), service).await;
    stopped.expect("launch returns once shutdown completes").unwrap().unwrap();

    let mut admin = PgConnection::connect(&database_url()).await.unwrap();
    admin.execute(format!("DROP SCHEMA \"{schema}\" CASCADE").as_str()).await.unwrap();
}
