//! `medclear bench settle`: the whole settle path under load, and `pgbench` beside it.
//!
//! Setup (not timed): the system on a fresh database, the small demo catalogue, demo persons,
//! and `visits` cross-province emergency outpatient visits of 10 fee lines each, registered and
//! uploaded through gRPC. Timed: `concurrency` clients settle them through the routing
//! service's gRPC `Settle` — coverage from the filing service and lines from the catalogue,
//! both over gRPC, then the settlement transaction and its commit. Then TPC-B `pgbench` on the
//! same PostgreSQL server with the same number of clients, so the ratio is known.

use medclear_common::clock::{Clock as _, SystemClock};
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use crate::demo_data::catalog::Scale;
use medclear_common::telemetry::Traced;
use medclear_common::{Error, Result};
use medclear_proto::{
    catalog::v1::{self as catalog, catalog_service_client::CatalogServiceClient},
    routing::v1::{self as pb, routing_service_client::RoutingServiceClient},
};

use crate::{
    catalog_cli,
    measure::{bench_db, machine, ms, per_second, percentile},
    persons_cli, up,
};

const LINES_PER_VISIT: usize = 10;

fn err(what: &str) -> impl Fn(tonic::Status) -> Error + '_ {
    move |s| Error::Internal(format!("{what}: {}", s.message()))
}

/// A tiny deterministic generator for picking lines and patients.
pub(crate) fn next(state: &mut u64, bound: usize) -> usize {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    usize::try_from(*state % u64::try_from(bound.max(1)).unwrap_or(1)).unwrap_or(0)
}

/// Local codes of a hospital that resolve cleanly in its region (restricted items left out).
pub(crate) async fn clean_codes(
    catalog: &mut CatalogServiceClient<Traced>,
    hospital: &crate::demo_data::catalog::DemoHospital,
    today: &str,
) -> Result<Vec<String>> {
    let mappings = catalog
        .list_mappings(catalog::ListMappingsRequest {
            fixmedins_code: hospital.fixmedins_code.clone(),
            include_revoked: false,
        })
        .await
        .map_err(err("ListMappings"))?
        .into_inner()
        .mappings;
    let request = catalog::ResolveLinesRequest {
        fixmedins_code: hospital.fixmedins_code.clone(),
        mdtrtarea_admvs: hospital.admdvs.clone(),
        date: today.to_owned(),
        hospital_level: hospital.level.to_owned(),
        diagnosis_code: String::new(),
        patient_age: None,
        insutype: String::new(),
        lines: mappings
            .iter()
            .take(1000)
            .map(|m| catalog::LineInput {
                line_no: m.local_code.clone(),
                local_code: m.local_code.clone(),
                national_code: String::new(),
                date: String::new(),
                patient_age: None,
            })
            .collect(),
    };
    let answer = catalog.resolve_lines(request).await.map_err(err("ResolveLines"))?.into_inner();
    Ok(answer
        .lines
        .into_iter()
        .filter_map(|l| match l.outcome {
            Some(catalog::line_result::Outcome::Resolved(r))
                if r.restriction() != catalog::RestrictionOutcome::Unchecked =>
            {
                Some(l.line_no)
            }
            _ => None,
        })
        .collect())
}

pub(crate) async fn run(seconds: u64, concurrency: usize, visits: usize) -> Result<()> {
    let db = bench_db().await?;
    println!("machine:  {}", machine());
    println!("database: {}", db.describe());
    let system = db.start_system().await?;
    let outcome = measure(&system, seconds, concurrency, visits).await;
    system.shutdown().await?;
    let pgbench = match (&outcome, &db.server) {
        (Ok(_), Some((url, _))) => Some(pgbench(url, seconds, concurrency)?),
        _ => None,
    };
    db.drop_all().await?;
    let settlements_per_s = outcome?;
    match pgbench {
        Some(tps) => println!(
            "pgbench (TPC-B, same server, {concurrency} clients, {seconds} s): {tps} tps; settlements/s ÷ pgbench tps = {}.{:02}",
            settlements_per_s * 100 / tps.max(1) / 100,
            settlements_per_s * 100 / tps.max(1) % 100
        ),
        None => println!("pgbench: not run (it needs DATABASE_URL: a PostgreSQL server)"),
    }
    Ok(())
}

async fn measure(
    system: &up::System,
    seconds: u64,
    concurrency: usize,
    visits: usize,
) -> Result<u64> {
    let catalog_addr =
        system.service("catalog").ok_or_else(|| Error::Internal("no catalogue".into()))?;
    let routing_addr =
        system.service("routing").ok_or_else(|| Error::Internal("no routing".into()))?;
    let mut catalog = CatalogServiceClient::new(
        medclear_common::server::connect("catalogue", &format!("http://{catalog_addr}")).await?,
    );
    let routing_url = format!("http://{routing_addr}");
    let started = Instant::now();
    let load = catalog_cli::load_demo(&mut catalog, 42, Scale::Small, false).await?;
    let people = crate::demo_data::persons::demo_persons(42, 100);
    let rows = people
        .iter()
        .zip(2u64..)
        .map(|(p, line)| (line, medclear_routing::persons::row_of(p)))
        .collect();
    persons_cli::import(&routing_url, rows).await?;
    let today = SystemClock.today().to_string();
    let mut hospitals = Vec::new();
    for hospital in &load.hospitals {
        let codes = clean_codes(&mut catalog, hospital, &today).await?;
        if codes.len() >= LINES_PER_VISIT {
            hospitals.push((hospital.clone(), codes));
        }
    }
    if hospitals.is_empty() {
        return Err(Error::Internal("no demo hospital has enough cleanly resolving lines".into()));
    }

    // Visits: a patient from another province at each hospital in turn, 10 lines each.
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut plan = Vec::with_capacity(visits);
    for i in 0..visits {
        let (hospital, codes) = &hospitals[i % hospitals.len()];
        let mut person = &people[next(&mut state, people.len())];
        while person.insuplc_admdvs[..2] == hospital.admdvs[..2] {
            person = &people[next(&mut state, people.len())];
        }
        let lines: Vec<pb::FeeLine> = (0..LINES_PER_VISIT)
            .map(|n| pb::FeeLine {
                chrg_bchno: String::new(),
                feedetl_sn: n.to_string(),
                local_code: codes[next(&mut state, codes.len())].clone(),
                national_code: String::new(),
                price_fen: i64::try_from(500 + next(&mut state, 20_000)).unwrap_or(500),
                quantity: (1 + next(&mut state, 3)).to_string(),
                fee_date: today.clone(),
            })
            .collect();
        plan.push((hospital.clone(), person.psn_no.clone(), person.insuplc_admdvs.clone(), lines));
    }
    let plan = Arc::new(plan);
    let routing =
        RoutingServiceClient::new(medclear_common::server::connect("routing", &routing_url).await?);
    let cursor = Arc::new(AtomicUsize::new(0));
    let mut setup = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (plan, cursor, mut routing, today) =
            (plan.clone(), cursor.clone(), routing.clone(), today.clone());
        setup.spawn(async move {
            let mut ids = Vec::new();
            loop {
                let i = cursor.fetch_add(1, Ordering::Relaxed);
                let Some((hospital, psn_no, _, lines)) = plan.get(i) else {
                    return Ok::<_, Error>(ids);
                };
                let visit = routing
                    .register_visit(pb::RegisterVisitRequest {
                        fixmedins_code: hospital.fixmedins_code.clone(),
                        msgid: format!("V{i}"),
                        psn_no: psn_no.clone(),
                        med_type: pb::MedType::GeneralOutpatient.into(),
                        mdtrtarea_admvs: hospital.admdvs.clone(),
                        hospital_level: hospital.level.to_owned(),
                        begin_date: today.clone(),
                        diagnosis_code: String::new(),
                        emergency: true,
                        disease_code: String::new(),
                    })
                    .await
                    .map_err(err("RegisterVisit"))?
                    .into_inner();
                routing
                    .upload_fee_lines(pb::UploadFeeLinesRequest {
                        fixmedins_code: hospital.fixmedins_code.clone(),
                        msgid: format!("F{i}"),
                        mdtrt_id: visit.mdtrt_id.clone(),
                        lines: lines.clone(),
                    })
                    .await
                    .map_err(err("UploadFeeLines"))?;
                ids.push((i, hospital.fixmedins_code.clone(), visit.mdtrt_id));
            }
        });
    }
    let mut prepared = Vec::with_capacity(visits);
    while let Some(joined) = setup.join_next().await {
        prepared.extend(joined.map_err(|e| Error::Internal(e.to_string()))??);
    }
    prepared.sort();
    println!(
        "setup: {} items in the catalogue, {} persons, {} visits of {LINES_PER_VISIT} lines registered and uploaded in {} ms",
        load.rows[0],
        people.len(),
        prepared.len(),
        started.elapsed().as_millis()
    );

    // Settle: `concurrency` clients, each taking the next visit, until time or visits run out.
    let prepared = Arc::new(prepared);
    let cursor = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (prepared, cursor, mut routing) = (prepared.clone(), cursor.clone(), routing.clone());
        workers.spawn(async move {
            let (mut latencies, mut refused) = (Vec::new(), Vec::new());
            while Instant::now() < deadline {
                let Some((i, hospital, mdtrt_id)) =
                    prepared.get(cursor.fetch_add(1, Ordering::Relaxed))
                else {
                    break;
                };
                let at = Instant::now();
                let request = pb::SettleRequest {
                    fixmedins_code: hospital.clone(),
                    msgid: format!("S{i}"),
                    mdtrt_id: mdtrt_id.clone(),
                    use_account: true,
                    medfee_sumamt_fen: None,
                };
                match routing.settle(request).await {
                    Ok(_) => {
                        latencies.push(u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX))
                    }
                    Err(status) => refused.push(medclear_common::error::status_reason(&status)),
                }
            }
            (latencies, refused)
        });
    }
    let (mut latencies, mut refused) = (Vec::new(), Vec::new());
    while let Some(joined) = workers.join_next().await {
        let (l, r) = joined.map_err(|e| Error::Internal(e.to_string()))?;
        latencies.extend(l);
        refused.extend(r);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let settled = u64::try_from(latencies.len()).unwrap_or(0);
    let per_s = per_second(settled, elapsed);
    refused.sort();
    refused.dedup();
    println!(
        "settle: {per_s} settlements/s ({settled} in {} ms, {concurrency} clients); p50 {} ms, p99 {} ms, max {} ms; refusals: {}",
        elapsed.as_millis(),
        ms(percentile(&latencies, 50)),
        ms(percentile(&latencies, 99)),
        ms(latencies.last().copied().unwrap_or(0)),
        if refused.is_empty() { "none".to_owned() } else { refused.join(", ") },
    );
    if cursor.load(Ordering::Relaxed) >= prepared.len() {
        println!(
            "(all prepared visits were settled before the time was up: prepare more with --visits)"
        );
    }
    Ok(per_s)
}

/// TPC-B pgbench on a scratch database of the same server; its transactions per second.
fn pgbench(url: &str, seconds: u64, clients: usize) -> Result<u64> {
    use std::process::Command;
    let name = format!("medclear_pgbench_{}", std::process::id());
    let scratch = crate::up::with_database(url, &name)?;
    let admin = |sql: String| {
        Command::new("psql")
            .args([url, "-qc", &sql])
            .status()
            .map_err(|e| Error::Internal(format!("psql: {e}")))
    };
    admin(format!("CREATE DATABASE {name}"))?;
    let init = Command::new("pgbench").args(["-i", "-q", "-s", "10", &scratch]).output();
    let run = Command::new("pgbench")
        .args(["-n", "-c", &clients.to_string(), "-j", "2", "-T", &seconds.to_string(), &scratch])
        .output();
    admin(format!("DROP DATABASE {name} WITH (FORCE)"))?;
    init.map_err(|e| Error::Internal(format!("pgbench -i: {e}")))?;
    let out = run.map_err(|e| Error::Internal(format!("pgbench: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|rest| rest.split(['.', ' ']).next())
        .and_then(|whole| whole.parse().ok())
        .ok_or_else(|| Error::Internal(format!("pgbench printed no tps: {text}")))
}
