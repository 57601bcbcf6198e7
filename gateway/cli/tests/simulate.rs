//! `medclear simulate` against a running system: a small deterministic run through the
//! national interface in which every answer must be what it should be — settlements settle
//! (pharmacies' purchases through 2101 / 2102),
//! retries get the same answer, cancellations and reversals go through, unfiled patients and
//! malformed amounts are refused — and the books agree afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_cli::simulate::{self, SimulateOptions};
use medclear_common::clock::CHINA;
use support::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_simulation_meets_no_surprise_and_the_books_agree() {
    // The simulated hospitals date their visits today: so does the system.
    let today = chrono::Utc::now().with_timezone(&CHINA).date_naive().to_string();
    let h = Harness::start(&today).await;
    let options = SimulateOptions {
        gateway: h.base.clone(),
        catalog_endpoint: h.catalog_grpc.clone(),
        routing_endpoint: h.routing_grpc.clone(),
        seed: 7,
        visits: 120,
        concurrency: 4,
        rate: 0,
        per_province: 10,
    };
    let outcome = simulate::drive(&options).await.unwrap();
    simulate::report(&outcome).unwrap();
    // Pharmacies purchase with their own transactions (2101 → 2102), hospitals never with
    // med_type 41 visits; every code sent was answered.
    let sent: Vec<&str> = outcome.tally.latency.keys().map(String::as_str).collect();
    for code in ["2101", "2102", "2201", "2207", "2401", "2304"] {
        assert!(sent.contains(&code), "{code} not among {sent:?}");
    }
    let (purchases, _) = outcome.tally.outcomes["2102"];
    assert!(purchases > 0, "some purchases settled");

    let scalar = |sql: &'static str| {
        let pool = h.routing_pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    let settled = scalar("SELECT count(*) FROM settlements WHERE kind = 'settlement'").await;
    let undone = scalar("SELECT count(*) FROM settlements WHERE kind = 'cancellation'").await;
    assert!(settled > 50, "{settled} settlements");
    assert!(undone >= 1, "some settlements were cancelled or reversed");
    // One event per settlement and cancellation: those clearing has read numbered without
    // gaps, the others still waiting in the outbox.
    // One statement, one snapshot: clearing's reader moves events out of the outbox meanwhile.
    let both = scalar("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM outbox)").await;
    assert_eq!(both, settled + undone);
    let gap_free = scalar(
        "SELECT count(*) FILTER (WHERE seq_max = n) FROM
         (SELECT COALESCE(max(seq), 0) AS seq_max, count(*) AS n FROM events) e",
    )
    .await;
    assert_eq!(gap_free, 1, "the numbered events are 1..=n");
    // Every cancellation undoes its settlement's amounts exactly.
    let unbalanced = scalar(
        "SELECT count(*) FROM settlements c JOIN settlements s ON c.orig_setl_id = s.setl_id
         WHERE c.medfee_sumamt <> -s.medfee_sumamt OR c.fund_pay_sumamt <> -s.fund_pay_sumamt
            OR c.acct_pay <> -s.acct_pay",
    )
    .await;
    assert_eq!(unbalanced, 0);
    h.finish().await;
}
