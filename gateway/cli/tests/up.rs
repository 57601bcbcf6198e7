//! `medclear up` as a person runs it: everything in one process, data kept across a restart —
//! on the embedded PostgreSQL, and on a PostgreSQL server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{net::SocketAddr, sync::Arc};

use medclear_cli::up::{self, Databases, UpOptions};
use medclear_common::clock::{Clock, SystemClock};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};

/// Embedded databases of two tests must not start or stop at the same time in one process:
/// pglite-oxide's shutdown then waits forever on a proxy thread still serving a connection
/// (seen here; `medclear up` itself starts and stops them one after the other).
static EMBEDDED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn options(data_dir: std::path::PathBuf, databases: Databases) -> UpOptions {
    UpOptions::loopback(data_dir, databases)
}

async fn create_filing(http: SocketAddr) -> Value {
    let body = json!({
        "psn_no": "P500155000001", "insuplc_admdvs": "500155", "mdtrtarea_admvs": "330400",
        "category": "long_term_resident", "begin_date": SystemClock.today().to_string(), "psn_name": "王五",
    });
    let response = reqwest::Client::new()
        .post(format!("http://{http}/api/v1/filings"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.unwrap()
}

async fn get(http: SocketAddr, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("http://{http}{path}")).await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Starts, files, stops, starts again on the same data and finds the filing exactly as it was
/// answered (on the real clock, so timestamps keep their real precision).
async fn survives_a_restart(options: UpOptions) {
    let clock = Arc::new(SystemClock);
    let system = up::start(&options, clock.clone()).await.unwrap();
    assert_eq!(get(system.http_addr, "/healthz").await.0, 200);
    let filing = create_filing(system.http_addr).await;
    system.shutdown().await.unwrap();

    let system = up::start(&options, clock).await.unwrap();
    let id = filing["filing_id"].as_str().unwrap();
    let (status, again) = get(system.http_addr, &format!("/api/v1/filings/{id}")).await;
    assert_eq!((status, &again), (200, &filing));
    let (_, regions) = get(system.http_addr, "/api/v1/regions").await;
    assert_eq!(regions["regions"].as_array().unwrap().len(), 3220, "seeded once, not twice");
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_database_keeps_filings_across_a_restart() {
    let _one_at_a_time = EMBEDDED.lock().await;
    let dir = std::env::temp_dir().join(format!("medclear-up-{}", uuid::Uuid::new_v4().simple()));
    survives_a_restart(options(dir.clone(), Databases::Embedded)).await;
    assert!(dir.join("filing").is_dir(), "the service's data is in its own folder");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_per_embedded_data_directory() {
    let _one_at_a_time = EMBEDDED.lock().await;
    let dir = std::env::temp_dir().join(format!("medclear-up-{}", uuid::Uuid::new_v4().simple()));
    let clock = Arc::new(SystemClock);
    let first = up::start(&options(dir.clone(), Databases::Embedded), clock.clone()).await.unwrap();
    let second = up::start(&options(dir.clone(), Databases::Embedded), clock.clone()).await;
    let error = second.unwrap_err().to_string();
    assert!(error.contains("another medclear is using the data directory"), "{error}");
    first.shutdown().await.unwrap();
    // Once the first has stopped, the directory is free again.
    up::start(&options(dir.clone(), Databases::Embedded), clock)
        .await
        .unwrap()
        .shutdown()
        .await
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_server_keeps_filings_across_a_restart() {
    let admin_url = support::database_url();
    let name = format!("medclear_up_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
    let url = match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("DATABASE_URL names no database"),
    };
    let dir = std::env::temp_dir().join(&name);
    survives_a_restart(options(dir, Databases::Server { url })).await;
    admin.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str()).await.unwrap();
}
