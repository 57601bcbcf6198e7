//! `medclear demo --exit`, scaled down, on a database of its own on the test server: it must
//! settle through the national interface, clear the period, print positions that sum to zero,
//! and leave a report and statements that agree with the clearing service.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_cli::demo::{self, DemoOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_demo_clears_its_month_and_writes_its_report() {
    // With DATABASE_URL set (as the tests run), the demo makes a database of its own on that
    // server instead of starting embedded ones.
    let url = support::database_url();
    assert!(std::env::var("DATABASE_URL").is_ok(), "the tests run with DATABASE_URL set");
    let dir = std::env::temp_dir().join(format!("medclear-demo-test-{}", std::process::id()));
    let database = format!("medclear_demo_test_{}", std::process::id());
    let options = DemoOptions {
        data_dir: dir.clone(),
        http: "127.0.0.1:0".parse().unwrap(),
        visits: 160,
        concurrency: 4,
        seed: 11,
        per_province: 10,
        pg_database: database.clone(),
        exit: true,
    };
    let outcome = demo::run(options).await.unwrap();

    assert!(outcome.settlements > 100, "{} settlements", outcome.settlements);
    assert!(outcome.a_settled_patient.is_some(), "a patient to show the pages with");
    assert!(outcome.positions.len() >= 10, "{} provinces have a position", outcome.positions.len());
    assert_eq!(outcome.positions.iter().map(|(_, net)| net).sum::<i64>(), 0);
    assert!(outcome.positions.iter().any(|(_, net)| *net > 0));
    assert!(outcome.positions.iter().any(|(_, net)| *net < 0));

    // The report: the four charts and the positions table, nothing fetched from elsewhere.
    let report = std::fs::read_to_string(&outcome.report).unwrap();
    assert_eq!(report.matches("<svg").count(), 4, "net positions, matrix, funds, latency");
    assert!(report.contains("Net position by province"));
    assert!(report.contains("consistent"));
    assert_eq!(report.matches("http://").count(), 4, "nothing but the SVG namespace");
    assert!(!report.contains("<script"));
    for (province, _) in &outcome.positions {
        assert!(report.contains(&format!("<th scope=\"row\">{province} ")), "{province} listed");
    }

    // Two statements per province with a position; each province file ends with its totals.
    assert_eq!(outcome.statements.len(), 2 * outcome.positions.len());
    for path in &outcome.statements {
        let text = std::fs::read_to_string(path).unwrap();
        if path.file_name().unwrap().to_string_lossy().starts_with("province-") {
            assert!(text.lines().last().unwrap().starts_with("total,"), "{}", path.display());
        }
    }

    // The period is settled in the demo's own database.
    let demo_url = format!("{}/{database}", url.rsplit_once('/').unwrap().0);
    let pool = sqlx::PgPool::connect(&demo_url).await.unwrap();
    let status: String =
        sqlx::query_scalar("SELECT status FROM clearing.periods WHERE period_id = $1")
            .bind(&outcome.period_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "settled");
    pool.close().await;

    // Every settlement of the month computes again, under the version it recorded and from
    // the accumulators it started from, to exactly its stored breakdown.
    let routing = medclear_routing::connect(&medclear_common::config::DbConfig::new(
        demo_url.clone(),
        "routing",
    ))
    .await
    .unwrap();
    let book = medclear_routing::publication::load(&routing).await.unwrap();
    let month = medclear_routing::preview::Month::parse(&outcome.period_id).unwrap();
    let verified =
        medclear_routing::preview::verify(&routing, &book.current(), month).await.unwrap();
    assert!(verified.checked >= outcome.settlements, "{verified:?}");
    assert_eq!(verified.skipped, 0);
    assert!(verified.mismatched.is_empty(), "{verified:?}");
    routing.close().await;

    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("DROP DATABASE {database} WITH (FORCE)")).execute(&admin).await.unwrap();
    admin.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
