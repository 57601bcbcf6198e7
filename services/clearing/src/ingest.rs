//! Consumption of the routing instances' settlement event streams, exactly once: for each
//! configured source, read after the stored cursor, gather a batch, and ingest it with the
//! cursor in one transaction. A crash anywhere loses nothing (the cursor did not move) and
//! counts nothing twice (the cursor moved with the items).

use std::{collections::VecDeque, time::Duration};

use chrono::DateTime;
use medclear_common::{Error, Result, clock::CHINA, server::channel};
use medclear_proto::routing::v1::{
    SettlementEvent, StreamSettlementEventsRequest, routing_service_client::RoutingServiceClient,
};
use tokio::{sync::oneshot, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    domain::{Item, ItemKind},
    service::ClearingService,
};

/// A routing instance to read from: the name its cursor is kept under, and its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub endpoint: String,
}

/// `CLEARING_SOURCES`: `name=url,name=url`, or a single `url` (named `routing`).
pub fn parse_sources(text: &str) -> Result<Vec<Source>> {
    let mut sources: Vec<Source> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, endpoint) = part.split_once('=').unwrap_or(("routing", part));
        let (name, endpoint) = (name.trim(), endpoint.trim());
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name || !endpoint.starts_with("http") {
            return Err(Error::Internal(format!(
                "CLEARING_SOURCES: {part:?} is not name=http://host:port"
            )));
        }
        if sources.iter().any(|s| s.name == name) {
            return Err(Error::Internal(format!("CLEARING_SOURCES names {name} twice")));
        }
        sources.push(Source { name: name.to_owned(), endpoint: endpoint.to_owned() });
    }
    Ok(sources)
}

/// Events per transaction at most.
pub const BATCH: usize = 5000;
/// A batch is ingested once the stream has been quiet this long.
const QUIET: Duration = Duration::from_millis(20);
/// Wait before reconnecting after a failure.
const BACKOFF: Duration = Duration::from_secs(1);

/// Reads a routing event as a clearing item.
pub fn item(source: &str, e: SettlementEvent) -> Result<Item> {
    let setl_time = DateTime::parse_from_rfc3339(&e.at)
        .map_err(|err| {
            Error::invalid("at", "invalid_time", format!("event {}: at {:?}: {err}", e.seq, e.at))
        })?
        .to_utc();
    let item = Item {
        stmt_date: setl_time.with_timezone(&CHINA).date_naive(),
        setl_time,
        kind: ItemKind::parse(&e.kind)?,
        orig_setl_id: Some(e.orig_setl_id).filter(|o| !o.is_empty()),
        source: source.to_owned(),
        seq: e.seq,
        setl_id: e.setl_id,
        home: e.home_province,
        treating: e.treating_province,
        fixmedins_code: e.fixmedins_code,
        insutype: e.insutype,
        clr_type: e.clr_type,
        psn_no: e.psn_no,
        msgid: e.msgid,
        mdtrt_id: e.mdtrt_id,
        medfee_sumamt: e.medfee_sumamt_fen,
        fund_pay_sumamt: e.fund_pay_sumamt_fen,
        acct_pay: e.acct_pay_fen,
        psn_cash_pay: e.psn_cash_pay_fen,
    };
    if item.obligation() != e.obligation_fen {
        return Err(Error::invalid(
            "obligation_fen",
            "inconsistent_item",
            format!("event {}: obligation_fen is not fund_pay_sumamt + acct_pay", e.seq),
        ));
    }
    item.validate()?;
    Ok(item)
}

/// Reads `source` from its cursor until the stream ends (`follow` false: once caught up) or
/// `stop` is cancelled; returns the number of items ingested. Reading and decoding the next
/// batch overlaps with ingesting the previous one; batches are ingested in order, one
/// transaction each.
pub async fn read(
    service: &ClearingService,
    source: &Source,
    follow: bool,
    stop: &CancellationToken,
) -> Result<u64> {
    let mut client = RoutingServiceClient::new(channel(&source.name, &source.endpoint)?)
        .max_decoding_message_size(16 * 1024 * 1024);
    let after_seq = service.cursor(&source.name).await?;
    let stream = client
        .stream_settlement_events(StreamSettlementEventsRequest { after_seq, follow })
        .await
        .map_err(|s| Error::Internal(format!("{}: {}", source.name, s.message())))?
        .into_inner();
    let (batches, mut received) = tokio::sync::mpsc::channel(2);
    let reader = tokio::spawn(gather(source.name.clone(), stream, batches, stop.clone()));
    // Two batches in flight: the next one's items are written while the one before commits.
    let depth = service.ingest_depth();
    let mut in_flight: VecDeque<JoinHandle<Result<u64>>> = VecDeque::new();
    let mut committed: Option<oneshot::Receiver<()>> = None;
    let mut total = 0;
    let mut failure = None;
    while let Some(batch) = received.recv().await {
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        if in_flight.len() >= depth
            && let Some(oldest) = in_flight.pop_front()
        {
            match finished(oldest).await {
                Ok(items) => total += items,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let (done, next) = oneshot::channel();
        let previous = committed.replace(next);
        let (service, name, label) = (service.clone(), source.name.clone(), source.name.clone());
        in_flight.push_back(tokio::spawn(async move {
            let previous = async move {
                match previous {
                    None => Ok(()),
                    Some(committed) => committed.await.map_err(|_| {
                        Error::Internal(format!("{name}: the batch before was not ingested"))
                    }),
                }
            };
            let ingested = service.ingest_after(&label, &batch, previous).await?;
            let _ = done.send(());
            Ok(ingested.items)
        }));
    }
    for task in in_flight {
        match finished(task).await {
            Ok(items) => total += items,
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    reader.abort();
    failure.map_or(Ok(total), Err)
}

async fn finished(task: JoinHandle<Result<u64>>) -> Result<u64> {
    task.await.map_err(|e| Error::Internal(format!("ingesting a batch: {e}")))?
}

/// Reads events into batches: full ones at once, partial ones when the stream goes quiet, the
/// last when it ends or `stop` is cancelled. A stream error is sent after what came before it.
async fn gather(
    name: String,
    mut stream: tonic::Streaming<SettlementEvent>,
    batches: tokio::sync::mpsc::Sender<Result<Vec<Item>>>,
    stop: CancellationToken,
) {
    let mut batch: Vec<Item> = Vec::with_capacity(BATCH);
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => break,
            next = tokio::time::timeout(QUIET, stream.message()) => next,
        };
        let end = match next {
            Ok(Ok(Some(event))) => match item(&name, event) {
                Ok(item) => {
                    batch.push(item);
                    if batch.len() < BATCH {
                        continue;
                    }
                    None
                }
                Err(e) => Some(Err(e)),
            },
            Ok(Ok(None)) => Some(Ok(())),
            Ok(Err(status)) => Some(Err(Error::Internal(format!("{name}: {}", status.message())))),
            Err(_quiet) => None,
        };
        if !batch.is_empty() {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if batches.send(Ok(full)).await.is_err() {
                return;
            }
        }
        match end {
            None => {}
            Some(Ok(())) => return,
            Some(Err(e)) => {
                let _ = batches.send(Err(e)).await;
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = batches.send(Ok(batch)).await;
    }
}

/// Follows `source` until `stop` is cancelled, reconnecting after failures.
pub async fn follow(service: ClearingService, source: Source, stop: CancellationToken) {
    while !stop.is_cancelled() {
        match read(&service, &source, true, &stop).await {
            Ok(_) => {}
            Err(e) => tracing::warn!(source = %source.name, error = %e, "event stream; retrying"),
        }
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(BACKOFF) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_named_addresses() {
        let sources =
            parse_sources("north=http://10.0.0.1:50053, south=http://10.0.0.2:50053").unwrap();
        assert_eq!(
            sources[1],
            Source { name: "south".into(), endpoint: "http://10.0.0.2:50053".into() }
        );
        assert_eq!(parse_sources("http://127.0.0.1:50053").unwrap()[0].name, "routing");
        assert!(parse_sources("a=http://x,a=http://y").is_err());
        assert!(parse_sources("bad name=http://x").is_err());
        assert!(parse_sources("a=ftp://x").is_err());
        assert!(parse_sources("").unwrap().is_empty());
    }

    #[test]
    fn an_event_whose_obligation_does_not_add_up_is_refused() {
        let event = SettlementEvent {
            seq: 1,
            setl_id: "S42X".into(),
            kind: "settlement".into(),
            home_province: "420000".into(),
            treating_province: "440000".into(),
            obligation_fen: 1000,
            at: "2026-11-01T00:30:00+08:00".into(),
            fixmedins_code: "H44010100001".into(),
            medfee_sumamt_fen: 1500,
            fund_pay_sumamt_fen: 800,
            acct_pay_fen: 200,
            psn_cash_pay_fen: 500,
            ..SettlementEvent::default()
        };
        let good = item("routing", event.clone()).unwrap();
        // 00:30 in China is still the previous day in UTC: the statement day is China's.
        assert_eq!(good.stmt_date.to_string(), "2026-11-01");
        let bad = item("routing", SettlementEvent { obligation_fen: 999, ..event.clone() });
        assert_eq!(bad.unwrap_err().reason(), "inconsistent_item");
        let bad = item("routing", SettlementEvent { at: "yesterday".into(), ..event });
        assert_eq!(bad.unwrap_err().reason(), "invalid_time");
    }
}
