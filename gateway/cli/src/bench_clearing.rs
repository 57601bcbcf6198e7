//! `medclear bench clearing`: a synthetic month of national volume through the clearing
//! service. A synthetic routing instance serves `StreamSettlementEvents` over gRPC (events made
//! on the fly, deterministically from their sequence number, so a restart from the cursor sees
//! the same stream); the clearing service consumes it exactly as it consumes a real routing
//! instance, then the period is closed and netted (from the aggregates kept at consumption),
//! then audited (the matrix recomputed from the raw items). Source, consumer and database
//! share this machine.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use crate::demo_data::catalog::PROVINCES;
use medclear_clearing::{ClearingConfig, ClearingService, domain::Operator, ingest};
use medclear_common::{Error, Result, clock::SystemClock};
use medclear_proto::routing::v1::{
    self as pb,
    routing_service_server::{RoutingService, RoutingServiceServer},
};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::measure::{bench_db, machine, per_second};

/// Treating provinces' weights: most patients go to Beijing, Shanghai, Guangdong, Hainan,
/// Jiangsu and Zhejiang; every province receives some.
fn treating_weight(province: &str) -> u64 {
    match province {
        "110000" | "310000" => 14,
        "440000" => 12,
        "320000" | "330000" => 10,
        "460000" => 8,
        _ => 1,
    }
}

/// The month the synthetic settlements fall in.
const PERIOD: &str = "2026-10";
const MONTH_START: i64 = 1_790_784_000; // 2026-10-01T00:00:00+08:00
const MONTH_SECONDS: i64 = 31 * 86_400;

/// SplitMix64 of `x`: a well-mixed number from a sequence number.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One routing partition's synthetic stream: `events` settlements and cancellations of the
/// patients of the home provinces it owns (every hundredth event cancels the settlement 37
/// before it).
#[derive(Debug, Clone)]
struct Synthetic {
    partition: usize,
    events: i64,
    hospitals_per_province: u64,
    homes: Vec<&'static str>,
    treating: Vec<&'static str>,
}

impl Synthetic {
    /// Partition `partition` of `partitions`: the home provinces whose index it owns.
    fn new(partition: usize, partitions: usize, events: i64, hospitals: u64) -> Self {
        let treating = PROVINCES
            .iter()
            .flat_map(|p| std::iter::repeat_n(*p, usize::try_from(treating_weight(p)).unwrap_or(1)))
            .collect();
        let homes = PROVINCES
            .iter()
            .enumerate()
            .filter(|(i, _)| i % partitions == partition)
            .map(|(_, p)| *p);
        Self {
            partition,
            events,
            hospitals_per_province: (hospitals / 32).max(1),
            homes: homes.collect(),
            treating,
        }
    }

    fn at(&self, seq: i64) -> String {
        let offset = seq.saturating_mul(MONTH_SECONDS) / self.events.max(1);
        chrono::DateTime::from_timestamp(MONTH_START + offset.min(MONTH_SECONDS - 1), 0)
            .unwrap_or_default()
            .to_rfc3339()
    }

    fn settlement(&self, seq: i64) -> pb::SettlementEvent {
        let r =
            mix(u64::try_from(seq).unwrap_or(0) * 64 + u64::try_from(self.partition).unwrap_or(0));
        let owned = u64::try_from(self.homes.len()).unwrap_or(1);
        let home = self.homes[usize::try_from(r % owned).unwrap_or(0)];
        let picks = u64::try_from(self.treating.len()).unwrap_or(1);
        let mut treating = self.treating[usize::try_from((r >> 8) % picks).unwrap_or(0)];
        if treating == home {
            treating = if home == "110000" { "310000" } else { "110000" };
        }
        let hospital = (r >> 24) % self.hospitals_per_province;
        let medfee = i64::try_from(5_000 + (r >> 32) % 2_000_000).unwrap_or(0);
        let fund = medfee * 6 / 10;
        let acct = i64::try_from((r >> 40) % 5_000).unwrap_or(0).min(medfee - fund);
        pb::SettlementEvent {
            seq,
            setl_id: format!("S{}{}{seq:019}", &home[..2], self.partition),
            kind: "settlement".into(),
            home_province: home.into(),
            treating_province: treating.into(),
            obligation_fen: fund + acct,
            at: self.at(seq),
            orig_setl_id: String::new(),
            fixmedins_code: format!("H{}{:09}", &treating[..2], hospital),
            insutype: if r & 1 == 0 { "310" } else { "390" }.into(),
            clr_type: "21".into(),
            psn_no: format!("P{}{:010}", &home[..2], r % 10_000_000),
            msgid: format!("M{seq}"),
            mdtrt_id: format!("V{seq}"),
            medfee_sumamt_fen: medfee,
            fund_pay_sumamt_fen: fund,
            acct_pay_fen: acct,
            psn_cash_pay_fen: medfee - fund - acct,
        }
    }

    fn event(&self, seq: i64) -> pb::SettlementEvent {
        if seq % 100 != 0 {
            return self.settlement(seq);
        }
        let original = self.settlement(seq - 37);
        pb::SettlementEvent {
            seq,
            setl_id: format!("{}C", original.setl_id),
            kind: "cancellation".into(),
            obligation_fen: -original.obligation_fen,
            at: self.at(seq),
            orig_setl_id: original.setl_id.clone(),
            msgid: format!("M{seq}"),
            medfee_sumamt_fen: -original.medfee_sumamt_fen,
            fund_pay_sumamt_fen: -original.fund_pay_sumamt_fen,
            acct_pay_fen: -original.acct_pay_fen,
            psn_cash_pay_fen: -original.psn_cash_pay_fen,
            ..original
        }
    }
}

type Reply<T> = std::result::Result<Response<T>, Status>;

fn not_here<T>() -> Reply<T> {
    Err(Status::unimplemented("the synthetic event source only streams events"))
}

#[tonic::async_trait]
impl RoutingService for Synthetic {
    async fn query_person(&self, _: Request<pb::QueryPersonRequest>) -> Reply<pb::PersonInfo> {
        not_here()
    }
    async fn import_persons(
        &self,
        _: Request<pb::ImportPersonsRequest>,
    ) -> Reply<pb::ImportPersonsResponse> {
        not_here()
    }
    async fn import_institutions(
        &self,
        _: Request<pb::ImportInstitutionsRequest>,
    ) -> Reply<pb::ImportInstitutionsResponse> {
        not_here()
    }
    async fn get_institution(
        &self,
        _: Request<pb::GetInstitutionRequest>,
    ) -> Reply<pb::Institution> {
        not_here()
    }
    async fn register_visit(&self, _: Request<pb::RegisterVisitRequest>) -> Reply<pb::Visit> {
        not_here()
    }
    async fn update_visit(&self, _: Request<pb::UpdateVisitRequest>) -> Reply<pb::Visit> {
        not_here()
    }
    async fn discharge_visit(&self, _: Request<pb::VisitRef>) -> Reply<pb::Visit> {
        not_here()
    }
    async fn cancel_visit(&self, _: Request<pb::VisitRef>) -> Reply<pb::Visit> {
        not_here()
    }
    async fn cancel_discharge(&self, _: Request<pb::VisitRef>) -> Reply<pb::Visit> {
        not_here()
    }
    async fn upload_fee_lines(
        &self,
        _: Request<pb::UploadFeeLinesRequest>,
    ) -> Reply<pb::UploadFeeLinesResponse> {
        not_here()
    }
    async fn cancel_fee_lines(
        &self,
        _: Request<pb::CancelFeeLinesRequest>,
    ) -> Reply<pb::UploadFeeLinesResponse> {
        not_here()
    }
    async fn pre_settle(&self, _: Request<pb::SettleRequest>) -> Reply<pb::Settlement> {
        not_here()
    }
    async fn settle(&self, _: Request<pb::SettleRequest>) -> Reply<pb::Settlement> {
        not_here()
    }
    async fn cancel_settlement(
        &self,
        _: Request<pb::CancelSettlementRequest>,
    ) -> Reply<pb::Settlement> {
        not_here()
    }
    async fn reverse(&self, _: Request<pb::ReverseRequest>) -> Reply<pb::Settlement> {
        not_here()
    }
    async fn list_person_settlements(
        &self,
        _: Request<pb::ListPersonSettlementsRequest>,
    ) -> Reply<pb::ListPersonSettlementsResponse> {
        not_here()
    }

    async fn find_settlements(
        &self,
        _: Request<pb::FindSettlementsRequest>,
    ) -> Reply<pb::FindSettlementsResponse> {
        not_here()
    }
    async fn list_visits(
        &self,
        _: Request<pb::ListVisitsRequest>,
    ) -> Reply<pb::ListVisitsResponse> {
        not_here()
    }
    async fn list_fee_lines(
        &self,
        _: Request<pb::ListFeeLinesRequest>,
    ) -> Reply<pb::ListFeeLinesResponse> {
        not_here()
    }
    async fn get_accumulators(
        &self,
        _: Request<pb::GetAccumulatorsRequest>,
    ) -> Reply<pb::PersonAccumulators> {
        not_here()
    }
    async fn upload_settlement_list(
        &self,
        _: Request<pb::UploadSettlementListRequest>,
    ) -> Reply<pb::SettlementList> {
        not_here()
    }
    async fn list_person_fee_lines(
        &self,
        _: Request<pb::ListPersonFeeLinesRequest>,
    ) -> Reply<pb::ListPersonFeeLinesResponse> {
        not_here()
    }
    async fn validate_policy(
        &self,
        _: Request<pb::PolicyDocumentRequest>,
    ) -> Reply<pb::ValidatePolicyResponse> {
        not_here()
    }
    async fn put_draft(&self, _: Request<pb::PolicyDocumentRequest>) -> Reply<pb::PolicyVersion> {
        not_here()
    }
    async fn publish_policy(
        &self,
        _: Request<pb::PublishPolicyRequest>,
    ) -> Reply<pb::PolicyVersion> {
        not_here()
    }
    async fn list_policies(
        &self,
        _: Request<pb::ListPoliciesRequest>,
    ) -> Reply<pb::ListPoliciesResponse> {
        not_here()
    }
    async fn get_policy(&self, _: Request<pb::GetPolicyRequest>) -> Reply<pb::PolicyVersion> {
        not_here()
    }
    async fn resolve_policy(
        &self,
        _: Request<pb::ResolvePolicyRequest>,
    ) -> Reply<pb::PolicyVersion> {
        not_here()
    }
    async fn preview_policy(
        &self,
        _: Request<pb::PreviewPolicyRequest>,
    ) -> Reply<pb::PolicyPreview> {
        not_here()
    }
    async fn verify_settlements(
        &self,
        _: Request<pb::VerifySettlementsRequest>,
    ) -> Reply<pb::VerifySettlementsResponse> {
        not_here()
    }

    type StreamSettlementEventsStream = std::pin::Pin<
        Box<
            dyn tokio_stream::Stream<Item = std::result::Result<pb::SettlementEvent, Status>>
                + Send,
        >,
    >;

    async fn stream_settlement_events(
        &self,
        request: Request<pb::StreamSettlementEventsRequest>,
    ) -> Reply<Self::StreamSettlementEventsStream> {
        let after = request.into_inner().after_seq.max(0);
        let (sender, receiver) = tokio::sync::mpsc::channel(8192);
        let source = self.clone();
        tokio::spawn(async move {
            for seq in after + 1..=source.events {
                if sender.send(Ok(source.event(seq))).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))))
    }
}

pub(crate) async fn run(events: i64, hospitals: u64, partitions: usize) -> Result<()> {
    let db = bench_db().await?;
    println!("machine:  {}", machine());
    println!("database: {}", db.describe());
    let options = crate::up::UpOptions::loopback(db.dir.clone(), db.databases.clone());
    let (config, database, _) = crate::up::database("clearing", &options).await?;
    let pool = medclear_clearing::connect(&config).await?;
    let service =
        ClearingService::new(pool.clone(), Arc::new(SystemClock), ClearingConfig::default());
    let outcome = measure(&service, events, hospitals, partitions.clamp(1, 32)).await;
    pool.close().await;
    database.stop().await;
    db.drop_all().await?;
    outcome
}

async fn measure(
    service: &ClearingService,
    events: i64,
    hospitals: u64,
    partitions: usize,
) -> Result<()> {
    let stop = CancellationToken::new();
    let per_partition = events / i64::try_from(partitions).unwrap_or(1);
    let mut servers = Vec::new();
    let mut sources = Vec::new();
    for partition in 0..partitions {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::Internal(format!("binding the synthetic source: {e}")))?;
        let addr = listener.local_addr().map_err(|e| Error::Internal(e.to_string()))?;
        let source = Synthetic::new(partition, partitions, per_partition, hospitals);
        let routes = tonic::service::Routes::new(RoutingServiceServer::new(source));
        servers.push(tokio::spawn(medclear_common::server::serve(
            listener,
            routes,
            &[medclear_routing::SERVICE_NAME],
            // The readers below send this process's token.
            crate::up::process_token(),
            stop.clone().cancelled_owned(),
        )));
        sources.push(ingest::Source {
            name: format!("synthetic-{partition}"),
            endpoint: format!("http://{addr}"),
        });
    }
    let events = per_partition * i64::try_from(partitions).unwrap_or(1);
    println!(
        "consuming {events} synthetic settlement events from {partitions} routing partition(s) \
         ({hospitals} hospitals, 1 % cancellations) …"
    );
    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let progress = tokio::spawn(report_progress(service.clone(), events, started, done.clone()));
    let readers: Vec<_> = sources
        .into_iter()
        .map(|source| {
            let (service, stop) = (service.clone(), stop.clone());
            tokio::spawn(async move { ingest::read(&service, &source, false, &stop).await })
        })
        .collect();
    let mut consumed = 0;
    let mut failure = None;
    for reader in readers {
        match reader.await {
            Ok(Ok(n)) => consumed += n,
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(Error::Internal(format!("reader: {e}"))),
        }
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    progress.abort();
    if let Some(e) = failure {
        return Err(e);
    }
    println!(
        "consumption: {consumed} items in {:.1} s = {} events/s",
        elapsed.as_secs_f32(), // float-ok: a duration shown to people
        per_second(consumed, elapsed)
    );
    stop.cancel();
    for server in servers {
        let _ = server.await;
    }

    let national = Operator::new("bench", "benchmark", "")?;
    let started = Instant::now();
    service.close(PERIOD, &national).await?;
    let closed = started.elapsed();
    let netting = service.net(PERIOD, &national).await?;
    let both = started.elapsed();
    let sum: i64 = netting.netting.positions.values().map(|p| p.net()).sum();
    println!(
        "close + net: {} ms (close {} ms, net {} ms)",
        both.as_millis(),
        closed.as_millis(),
        (both - closed).as_millis()
    );
    println!(
        "  {} provinces, gross {} fen, Σ net {sum} fen, Σ|net| {} fen, netting efficiency {}",
        netting.netting.positions.len(),
        netting.netting.gross,
        netting.netting.sum_abs_net,
        netting.netting.efficiency()
    );
    let started = Instant::now();
    let audit = service.audit_period(PERIOD).await?;
    println!(
        "full audit (matrix recomputed from {} raw items): {:.1} s, {}",
        audit.items,
        started.elapsed().as_secs_f32(), // float-ok: a duration shown to people
        if audit.differences.is_empty() { "consistent" } else { "DIFFERENCES FOUND" }
    );
    for difference in &audit.differences {
        println!("  {difference}");
    }
    if !audit.differences.is_empty() || sum != 0 {
        return Err(Error::Internal("the audit or the zero-sum check failed".into()));
    }
    Ok(())
}

async fn report_progress(
    service: ClearingService,
    events: i64,
    started: Instant,
    done: Arc<AtomicBool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(15));
    tick.tick().await;
    while !done.load(Ordering::Relaxed) {
        tick.tick().await;
        if let Ok(cursors) = service.ingest_status().await {
            let seq: i64 = cursors.iter().map(|c| c.last_seq).sum();
            let rate = per_second(u64::try_from(seq).unwrap_or(0), started.elapsed());
            eprintln!("  … {seq} / {events} events, {rate} events/s so far");
        }
    }
}
