//! `medclear demo`: the command a newcomer runs first. It starts every service and the gateway
//! (on embedded PostgreSQL unless `DATABASE_URL` is set), lets simulated hospitals settle a
//! scaled-down month through the national interface (`medclear simulate`), then does what the
//! national clearing operator and the provincial bureaus do at the end of the month: close the
//! period, net it, record prepaid deposits, confirm for every province and settle. It prints the
//! net positions of the 32 provincial regions and the netting efficiency, writes an HTML report
//! (SVG charts) and the CSV statements into the data directory, and serves the pages until
//! Ctrl-C (or exits at once with `--exit`).
//!
//! Every step goes over the same gRPC and HTTP APIs an operator would use; nothing is written to
//! a database directly.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use medclear_common::telemetry::Traced;
use medclear_common::{
    Error, Result,
    clock::{Clock, SystemClock},
    money::fen_to_yuan,
    server::channel,
};
use medclear_proto::{
    clearing::v1::{self as pb, clearing_service_client::ClearingServiceClient},
    filing::v1::{ListRegionsRequest, filing_service_client::FilingServiceClient},
};

use crate::{
    clearing_cli::{self, Session},
    report::{self, Report},
    simulate::{self, SimulateOptions},
    up::{self, Databases, UpOptions},
};

/// `medclear demo` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoOptions {
    /// Where the demo keeps its embedded databases, its report and its statements. It is
    /// emptied first (only if an earlier demo made it, or it is empty).
    #[arg(long, env = "MEDCLEAR_DEMO_DIR", default_value = ".medclear/demo")]
    pub data_dir: PathBuf,
    /// The gateway's address, where the pages are served.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Visits to simulate; about 95 % of them end in a settlement.
    #[arg(long, default_value_t = 21_000)]
    pub visits: usize,
    /// Hospitals sending at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Persons per provincial region in the demo population.
    #[arg(long, default_value_t = 100)]
    pub per_province: u32,
    /// With DATABASE_URL: the database the demo (re)creates on that server for itself.
    #[arg(long, default_value = "medclear_demo")]
    pub pg_database: String,
    /// Exit once the report is written, instead of serving the pages until Ctrl-C.
    #[arg(long)]
    pub exit: bool,
}

/// What a finished demo leaves behind.
#[derive(Debug)]
pub struct DemoOutcome {
    pub period_id: String,
    /// (province, net position in fen) of the 32 provincial regions.
    pub positions: Vec<(String, i64)>,
    pub report: PathBuf,
    pub statements: Vec<PathBuf>,
    pub settlements: u64,
    /// The certificate number of a patient settled this month.
    pub a_settled_patient: Option<String>,
}

/// The file that marks a directory as the demo's own, so it may be emptied.
const MARKER: &str = "medclear-demo";

/// Runs the demo; with `exit` unset, serves until Ctrl-C once the report is written.
pub async fn run(options: DemoOptions) -> Result<DemoOutcome> {
    let started = Instant::now();
    prepare_dir(&options.data_dir)?;
    let databases = match Databases::from_env() {
        Databases::Server { url } => {
            Databases::Server { url: up::create_database(&url, &options.pg_database, true).await? }
        }
        Databases::Embedded => Databases::Embedded,
    };
    let up = UpOptions {
        http: options.http,
        grpc_host: options.http.ip(),
        ..UpOptions::loopback(options.data_dir.join("data"), databases)
    };
    println!("starting medclear in {} …", options.data_dir.display());
    let mut system = up::start(&up, Arc::new(SystemClock)).await?;
    let outcome = demonstrate(&options, &system, started).await;
    let outcome = match outcome {
        Ok(outcome) if !options.exit => {
            let base = format!("http://{}", system.http_addr);
            println!("the pages are at {base} (Ctrl-C stops medclear):");
            if let Some(certno) = &outcome.a_settled_patient {
                println!("  {base}/citizen/sign-in   a patient of the month: certno {certno}");
            }
            println!("  {base}/bureau/sign-in    any province's operator, or the national one");
            crate::up::cancel_on_signal(&system.shutdown_token());
            system.run_until_stopped().await.map(|()| outcome)
        }
        other => other,
    };
    let stopped = system.shutdown().await;
    let outcome = outcome?;
    stopped?;
    Ok(outcome)
}

async fn demonstrate(
    options: &DemoOptions,
    system: &up::System,
    started: Instant,
) -> Result<DemoOutcome> {
    let address = |name: &str| {
        system
            .service(name)
            .map(|addr| format!("http://{addr}"))
            .ok_or_else(|| Error::Internal(format!("the {name} service did not start")))
    };
    let (clearing_url, filing_url) = (address("clearing")?, address("filing")?);
    println!(
        "ready in {} ms; simulating {} visits …",
        started.elapsed().as_millis(),
        options.visits
    );

    let simulation = SimulateOptions {
        gateway: format!("http://{}", system.http_addr),
        catalog_endpoint: address("catalog")?,
        routing_endpoint: address("routing")?,
        seed: options.seed,
        visits: options.visits,
        concurrency: options.concurrency,
        rate: 0,
        per_province: options.per_province,
    };
    let traffic = simulate::drive(&simulation).await?;
    simulate::report(&traffic)?;

    let mut clearing = ClearingServiceClient::new(channel("clearing", &clearing_url)?)
        .max_decoding_message_size(64 * 1024 * 1024);
    let phase = Instant::now();
    wait_ingested(&mut clearing, &clearing_url, traffic.tally.events()).await?;
    println!("  (waited {} ms for it)", phase.elapsed().as_millis());
    let period = month_period(&mut clearing, &clearing_url).await?;
    let period_id = period.period_id.clone();
    println!("\nclearing period {period_id}: closing, netting, confirming, settling …");
    let phase = Instant::now();
    let cleared = clear_period(&mut clearing, &clearing_url, &period_id).await?;
    println!("  (cleared in {} ms)", phase.elapsed().as_millis());

    let session = Session::new(clearing.clone(), &clearing_url, Some("demo".into()), None);
    let p = cleared.period.clone();
    print!("{}", clearing_cli::netting_report(&cleared.netting, &p));
    println!("{}", clearing_cli::period_line(&p));
    let positions: Vec<(String, i64)> = cleared
        .netting
        .positions
        .iter()
        .map(|position| (position.province_admdvs.clone(), position.net_fen))
        .collect();
    let sum: i64 = positions.iter().map(|(_, net)| net).sum();
    println!(
        "net positions of {} provincial regions sum to {} yuan; netting efficiency {}",
        positions.len(),
        fen_to_yuan(sum),
        cleared.netting.netting_efficiency
    );
    if sum != 0 {
        return Err(Error::Internal(format!("the net positions sum to {sum} fen, not 0")));
    }

    let phase = Instant::now();
    let statements_dir = options.data_dir.join("statements");
    let mut statements = Vec::new();
    let mut session = session;
    for (province, _) in &positions {
        statements.extend(
            clearing_cli::statement(&mut session, &period_id, province, &statements_dir, None)
                .await?,
        );
    }
    println!(
        "{} CSV statements in {} ({} ms)",
        statements.len(),
        statements_dir.display(),
        phase.elapsed().as_millis()
    );

    let regions = region_names(&filing_url).await?;
    let report = Report {
        period: &cleared.period,
        netting: &cleared.netting,
        funds: &cleared.funds,
        audit: &cleared.audit,
        regions: &regions,
        traffic: &traffic,
        machine: crate::measure::machine(),
        generated_at: SystemClock
            .now()
            .with_timezone(&medclear_common::clock::CHINA)
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        database: databases_of(system),
        took: started.elapsed(),
    };
    let report_path = options.data_dir.join("report.html");
    std::fs::write(&report_path, report::html(&report))
        .map_err(|e| Error::Internal(format!("{}: {e}", report_path.display())))?;
    println!(
        "report: {}   ({} settlements; the demo took {} s)",
        report_path.display(),
        traffic.tally.settlements,
        started.elapsed().as_secs()
    );
    Ok(DemoOutcome {
        period_id,
        positions,
        report: report_path,
        statements,
        settlements: traffic.tally.settlements,
        a_settled_patient: traffic.tally.a_settled_patient.clone(),
    })
}

/// Where the services keep their data, for people: one line for all of them.
fn databases_of(system: &up::System) -> String {
    let places: Vec<String> =
        system.services.iter().map(|s| format!("{}: {}", s.name, s.database)).collect();
    places.join("; ")
}

/// Empties the demo's directory (only if an earlier demo made it, or it is empty) and marks it.
fn prepare_dir(dir: &Path) -> Result<()> {
    let io = |e: std::io::Error| Error::Internal(format!("{}: {e}", dir.display()));
    if dir.exists() {
        let empty = std::fs::read_dir(dir).map_err(io)?.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            return Err(Error::Internal(format!(
                "{} is not a directory an earlier demo made, so the demo will not empty it: \
                 pass another --data-dir",
                dir.display()
            )));
        }
        // A demo still running there holds its lock: stop rather than pull its data away.
        drop(up::lock_data_dir(&dir.join("data"))?);
        std::fs::remove_dir_all(dir).map_err(io)?;
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(dir.join(MARKER), "made by `medclear demo`: emptied by the next one\n")
        .map_err(io)
}

/// Waits until clearing has consumed `events` settlement events.
async fn wait_ingested(
    clearing: &mut ClearingServiceClient<Traced>,
    endpoint: &str,
    events: u64,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let status = clearing
            .get_ingest_status(pb::GetIngestStatusRequest {})
            .await
            .map_err(clearing_cli::refused(endpoint))?
            .into_inner();
        let ingested: u64 = status.partitions.iter().map(|p| p.events_ingested).sum();
        if ingested >= events {
            println!("clearing consumed {ingested} settlement events");
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Internal(format!(
                "clearing consumed {ingested} of {events} settlement events in 10 minutes"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The open period the month's settlements went to (the one with the most, should the run
/// have crossed a month's end).
async fn month_period(
    clearing: &mut ClearingServiceClient<Traced>,
    endpoint: &str,
) -> Result<pb::Period> {
    let request = pb::ListPeriodsRequest { status: pb::PeriodStatus::Open.into() };
    let periods = clearing
        .list_periods(request)
        .await
        .map_err(clearing_cli::refused(endpoint))?
        .into_inner()
        .periods;
    periods
        .into_iter()
        .max_by_key(|p| p.settlement_count)
        .ok_or_else(|| Error::Internal("no open clearing period: nothing was settled".into()))
}

/// A period after settlement, with what the report shows of it.
#[derive(Debug)]
struct Cleared {
    period: pb::Period,
    netting: pb::NettingResult,
    funds: Vec<pb::PrepaidFund>,
    audit: pb::AuditPeriodResponse,
}

fn national() -> pb::Operator {
    pb::Operator {
        id: "demo-national".into(),
        name: "demo: national clearing".into(),
        admdvs: String::new(),
    }
}

/// Close → net → prepaid deposits → every province confirms → settle → audit.
async fn clear_period(
    clearing: &mut ClearingServiceClient<Traced>,
    endpoint: &str,
    period_id: &str,
) -> Result<Cleared> {
    let refused = clearing_cli::refused(endpoint);
    let period_id = period_id.to_owned();
    clearing
        .close_period(pb::ClosePeriodRequest {
            period_id: period_id.clone(),
            actor: Some(national()),
        })
        .await
        .map_err(&refused)?;
    let netted = clearing
        .net_period(pb::NetPeriodRequest { period_id: period_id.clone(), actor: Some(national()) })
        .await
        .map_err(&refused)?
        .into_inner();
    // Each bureau has paid into its prepaid fund, some generously, some not: between half and
    // twice what it owes this period, so the report shows funds above and below the alert line.
    let today = SystemClock.today().to_string();
    for (n, position) in netted.positions.iter().enumerate() {
        let share = i64::try_from(n % 4).unwrap_or(0) + 1; // 1..=4 halves
        let amount_fen = position.payable_fen * share / 2;
        if amount_fen <= 0 {
            continue;
        }
        let request = pb::RecordPrepaidDepositRequest {
            request_id: format!("demo-{period_id}-{}", position.province_admdvs),
            province_admdvs: position.province_admdvs.clone(),
            amount_fen,
            value_date: today.clone(),
            bank_reference: format!("DEMO-{}", position.province_admdvs),
            actor: Some(national()),
        };
        clearing.record_prepaid_deposit(request).await.map_err(&refused)?;
    }
    for position in &netted.positions {
        let province = position.province_admdvs.clone();
        let request = pb::ConfirmPeriodRequest {
            period_id: period_id.clone(),
            province_admdvs: province.clone(),
            netting_run: netted.netting_run,
            actor: Some(pb::Operator {
                id: format!("demo-{province}"),
                name: format!("demo: bureau {province}"),
                admdvs: province,
            }),
        };
        clearing.confirm_period(request).await.map_err(&refused)?;
    }
    let period = clearing
        .settle_period(pb::SettlePeriodRequest {
            period_id: period_id.clone(),
            actor: Some(national()),
        })
        .await
        .map_err(&refused)?
        .into_inner();
    let netting = clearing
        .get_netting_result(pb::GetNettingResultRequest {
            period_id: period_id.clone(),
            include_matrix: true,
        })
        .await
        .map_err(&refused)?
        .into_inner();
    let funds = clearing
        .list_prepaid_funds(pb::ListPrepaidFundsRequest {})
        .await
        .map_err(&refused)?
        .into_inner()
        .funds;
    let audit = clearing
        .audit_period(pb::AuditPeriodRequest { period_id })
        .await
        .map_err(&refused)?
        .into_inner();
    if !audit.consistent {
        return Err(Error::Internal(format!(
            "the audit of period {} found the kept matrix differs from its items: {}",
            audit.period_id,
            audit.differences.join("; ")
        )));
    }
    Ok(Cleared { period, netting, funds, audit })
}

/// Province code → (Chinese name, English name), from the filing service's region list.
async fn region_names(filing_url: &str) -> Result<BTreeMap<String, (String, String)>> {
    let mut filing = FilingServiceClient::new(channel("filing", filing_url)?);
    let regions = filing
        .list_regions(ListRegionsRequest {})
        .await
        .map_err(|e| Error::Internal(format!("filing: {}", e.message())))?
        .into_inner()
        .regions;
    Ok(regions
        .into_iter()
        .filter(|r| r.level == "province")
        .map(|r| (r.admdvs, (r.name_zh, r.name_en)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_the_demo_did_not_make_is_left_alone()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let root = std::env::temp_dir().join(format!("medclear-demo-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root)?;
        std::fs::write(root.join("precious.txt"), "keep me")?;
        assert!(prepare_dir(&root).is_err());
        assert!(root.join("precious.txt").exists());

        let demo = root.join("demo");
        prepare_dir(&demo)?;
        std::fs::write(demo.join("report.html"), "old")?;
        prepare_dir(&demo)?; // made by a demo: emptied
        assert!(!demo.join("report.html").exists());
        assert!(demo.join(MARKER).exists());
        std::fs::remove_dir_all(&root)?;
        Ok(())
    }
}
