//! `medclear bench …`: benchmarks that print their figures and the machine they ran on.
//!
//! `bench catalog` starts the system on a fresh database (a new database on the server of
//! `DATABASE_URL`, dropped afterwards; else an embedded one in a temporary folder), loads the
//! full demo catalogue, then measures `ResolveLines` over gRPC as the settlement engine calls
//! it: first the throughput with many batches in flight, then the latency of each batch at half
//! that rate, sent on a fixed schedule (open loop). Client and server share this machine.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Subcommand;
use medclear_common::telemetry::Traced;
use medclear_common::{Error, Result};
use medclear_proto::catalog::v1::{self as pb, catalog_service_client::CatalogServiceClient};

use crate::{
    catalog_cli,
    demo_data::catalog::Scale,
    measure::{bench_db, machine, ms, per_second, percentile},
    up,
};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Fee-line resolution through the catalogue service's gRPC API.
    Catalog {
        /// Seconds per phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Batches in flight during the throughput phase.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Lines per batch.
        #[arg(long, default_value_t = 20)]
        batch: usize,
        /// Use the small demo catalogue (about 1/100).
        #[arg(long)]
        small: bool,
    },
    /// The whole settle path: gRPC in → filing + catalogue over gRPC → PostgreSQL commit →
    /// answer; 10 fee lines a visit; then TPC-B pgbench on the same server for comparison.
    Settle {
        /// Seconds of settling (and of pgbench).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Clients settling at once (and pgbench clients).
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Visits prepared beforehand (each settles once).
        #[arg(long, default_value_t = 30_000)]
        visits: usize,
    },
    /// Clearing: consume a synthetic month of settlement events over gRPC, close and net the
    /// period, audit it against the raw items.
    Clearing {
        /// Settlement events in the month (1 % of them cancellations).
        #[arg(long, default_value_t = 20_000_000)]
        events: i64,
        /// Treating institutions across the 32 provinces.
        #[arg(long, default_value_t = 100_000)]
        hospitals: u64,
        /// Routing partitions (each its own stream and cursor, consumed concurrently).
        #[arg(long, default_value_t = 1)]
        partitions: usize,
    },
    /// Re-adjudication of a past month under a draft policy (PreviewPolicy's work): a
    /// synthetic half-year of Huangshi employees' settlements, June previewed.
    Preview {
        /// Persons, each with --per-person settlements from January to June.
        #[arg(long, default_value_t = 10_000)]
        persons: usize,
        #[arg(long, default_value_t = 12)]
        per_person: usize,
        /// Times the preview is run (the median and the best are printed).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// All of the above, one after another, each on a fresh database (embedded, or a new
    /// database on the server of DATABASE_URL): the figures of docs/BENCHMARKS.md.
    All {
        /// Seconds per measured phase of the catalogue and settle benchmarks.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Visits prepared for the settle benchmark (each settles once; on the embedded
        /// database about 120 settle a second).
        #[arg(long, default_value_t = 30_000)]
        visits: usize,
        /// Settlement events of the clearing benchmark.
        #[arg(long, default_value_t = 2_000_000)]
        events: i64,
    },
}

/// Prepared requests: random demo hospitals, `batch` of their mapped local codes each.
async fn requests(
    client: &mut CatalogServiceClient<Traced>,
    hospitals: &[crate::demo_data::catalog::DemoHospital],
    batch: usize,
) -> Result<Vec<pb::ResolveLinesRequest>> {
    let mut requests = Vec::new();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % u64::try_from(bound.max(1)).unwrap_or(1)).unwrap_or(0)
    };
    for hospital in hospitals {
        let answer = client
            .list_mappings(pb::ListMappingsRequest {
                fixmedins_code: hospital.fixmedins_code.clone(),
                include_revoked: false,
            })
            .await
            .map_err(|s| Error::Internal(format!("ListMappings: {s}")))?
            .into_inner();
        if answer.mappings.is_empty() {
            continue;
        }
        for _ in 0..20 {
            let lines = (0..batch)
                .map(|n| pb::LineInput {
                    line_no: n.to_string(),
                    local_code: answer.mappings[next(answer.mappings.len())].local_code.clone(),
                    national_code: String::new(),
                    date: String::new(),
                    patient_age: None,
                })
                .collect();
            requests.push(pb::ResolveLinesRequest {
                fixmedins_code: hospital.fixmedins_code.clone(),
                mdtrtarea_admvs: hospital.admdvs.clone(),
                date: "2024-06-01".into(),
                hospital_level: hospital.level.to_owned(),
                diagnosis_code: "E11.900".into(),
                patient_age: Some(56),
                insutype: "310".into(),
                lines,
            });
        }
    }
    // Interleave hospitals.
    let len = requests.len();
    for i in 0..len {
        requests.swap(i, next(len));
    }
    Ok(requests)
}

pub async fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Catalog { seconds, concurrency, batch, small } => {
            catalog(seconds, concurrency, batch, small).await
        }
        BenchCommand::Settle { seconds, concurrency, visits } => {
            crate::bench_settle::run(seconds, concurrency, visits).await
        }
        BenchCommand::Clearing { events, hospitals, partitions } => {
            crate::bench_clearing::run(events, hospitals, partitions).await
        }
        BenchCommand::Preview { persons, per_person, runs } => {
            crate::bench_preview::run(persons, per_person, runs).await
        }
        BenchCommand::All { seconds, visits, events } => {
            println!("== medclear bench catalog (fee-line resolution) ==");
            catalog(seconds, 64, 20, false).await?;
            println!("\n== medclear bench settle (the whole settle path) ==");
            crate::bench_settle::run(seconds, 32, visits).await?;
            println!("\n== medclear bench clearing (consumption, close + net, audit) ==");
            crate::bench_clearing::run(events, 100_000, 1).await?;
            println!("\n== medclear bench preview (re-adjudication under a draft policy) ==");
            crate::bench_preview::run(10_000, 12, 5).await
        }
    }
}

/// `medclear bench catalog`.
async fn catalog(seconds: u64, concurrency: usize, batch: usize, small: bool) -> Result<()> {
    let db = bench_db().await?;
    println!("machine:  {}", machine());
    println!("database: {}", db.describe());
    let system = db.start_system().await?;
    let outcome = measure(&system, seconds, concurrency, batch, small).await;
    system.shutdown().await?;
    db.drop_all().await?;
    outcome
}

async fn measure(
    system: &up::System,
    seconds: u64,
    concurrency: usize,
    batch: usize,
    small: bool,
) -> Result<()> {
    let addr =
        system.service("catalog").ok_or_else(|| Error::Internal("no catalogue service".into()))?;
    let endpoint = format!("http://{addr}");
    let connect = || async {
        medclear_common::server::connect("catalogue", &endpoint)
            .await
            .map(|c| CatalogServiceClient::new(c).max_decoding_message_size(64 * 1024 * 1024))
    };
    let mut client = connect().await?;
    let started = Instant::now();
    let load = catalog_cli::load_demo(
        &mut client,
        42,
        if small { Scale::Small } else { Scale::Full },
        false,
    )
    .await?;
    let [items, rules, mappings] = load.rows;
    println!(
        "catalogue: demo seed 42 ({}): {items} items, {rules} coverage rules, {mappings} mappings of {} hospitals, loaded through gRPC Import in {} ms",
        if small { "small" } else { "full" },
        load.hospitals.len(),
        started.elapsed().as_millis(),
    );
    let hospitals = load.hospitals;
    let requests = Arc::new(requests(&mut client, &hospitals, batch).await?);
    if requests.is_empty() {
        return Err(Error::Internal("no mapped lines to resolve".into()));
    }
    let channels = {
        let mut channels = Vec::new();
        for _ in 0..4 {
            channels.push(connect().await?);
        }
        channels
    };
    let batch_lines = u64::try_from(batch).unwrap_or(0);

    // Throughput: `concurrency` batches always in flight.
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let mut client = channels[worker % channels.len()].clone();
        let requests = requests.clone();
        workers.spawn(async move {
            let (mut batches, mut line_errors, mut failures) = (0u64, 0u64, 0u64);
            let mut i = worker;
            while Instant::now() < deadline {
                match client.resolve_lines(requests[i % requests.len()].clone()).await {
                    Ok(answer) => {
                        batches += 1;
                        line_errors += u64::try_from(
                            answer
                                .get_ref()
                                .lines
                                .iter()
                                .filter(|l| {
                                    matches!(l.outcome, Some(pb::line_result::Outcome::Error(_)))
                                })
                                .count(),
                        )
                        .unwrap_or(0);
                    }
                    Err(_) => failures += 1,
                }
                i += concurrency;
            }
            (batches, line_errors, failures)
        });
    }
    let (mut batches, mut line_errors, mut failures) = (0, 0, 0);
    while let Some(joined) = workers.join_next().await {
        let (b, e, f) = joined.map_err(|e| Error::Internal(e.to_string()))?;
        batches += b;
        line_errors += e;
        failures += f;
    }
    let elapsed = started.elapsed();
    let batches_per_s = per_second(batches, elapsed);
    println!(
        "throughput: {} lines/s ({} batches/s of {batch} lines, {concurrency} in flight, {} s); {} of the lines were refused per line (restricted, …), {failures} calls failed",
        per_second(batches * batch_lines, elapsed),
        batches_per_s,
        elapsed.as_secs(),
        line_errors,
    );

    // Latency at half that rate, open loop: requests leave on schedule whatever the answers do.
    let rate = (batches_per_s / 2).max(1);
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Option<u64>>();
    let started = Instant::now();
    let total = rate * seconds;
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while sent < total {
        tick.tick().await;
        let due = u64::try_from(started.elapsed().as_micros() * u128::from(rate) / 1_000_000)
            .unwrap_or(u64::MAX)
            .min(total);
        while sent < due {
            let index = usize::try_from(sent).unwrap_or(0);
            let mut client = channels[index % channels.len()].clone();
            let request = requests[index % requests.len()].clone();
            let sender = sender.clone();
            tokio::spawn(async move {
                let at = Instant::now();
                let ok = client.resolve_lines(request).await.is_ok();
                let micros = u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX);
                let _ = sender.send(ok.then_some(micros));
            });
            sent += 1;
        }
    }
    drop(sender);
    let mut latencies = Vec::new();
    let mut failed = 0u64;
    while let Some(outcome) = receiver.recv().await {
        match outcome {
            Some(micros) => latencies.push(micros),
            None => failed += 1,
        }
    }
    let achieved = per_second(u64::try_from(latencies.len()).unwrap_or(0), started.elapsed());
    latencies.sort_unstable();
    println!(
        "latency at half rate ({rate} batches/s offered, {achieved} answered/s, {} s): p50 {} ms, p99 {} ms, max {} ms per batch; {failed} failed",
        seconds,
        ms(percentile(&latencies, 50)),
        ms(percentile(&latencies, 99)),
        ms(latencies.last().copied().unwrap_or(0)),
    );
    Ok(())
}
