//! The clearing service against PostgreSQL: consumption exactly once (also when a batch dies
//! half-way), periods and late items, netting to zero, confirmation / withdrawal / dispute,
//! prepaid funds, reconciliation, and refusals that change nothing.

use std::sync::Arc;

use medclear_common::clock::FixedClock;
use sqlx::PgPool;

use super::*;
use crate::domain::{Discrepancy, ItemKind};

const GD: &str = "440000";
const HB: &str = "420000";
const BJ: &str = "110000";
const HN: &str = "460000";

fn national() -> Operator {
    Operator::new("ops-1", "national operator", "").unwrap()
}

fn operator_of(province: &str) -> Operator {
    Operator::new(&format!("ops-{province}"), "province operator", province).unwrap()
}

fn clock() -> FixedClock {
    FixedClock::new("2026-11-20T04:00:00Z".parse().unwrap())
}

fn service(pool: &PgPool, clock: &FixedClock) -> ClearingService {
    ClearingService::new(pool.clone(), Arc::new(clock.clone()), ClearingConfig::default())
}

/// A settlement of `fund` + `acct` + `cash` fen at `time` (RFC 3339).
fn settlement(seq: i64, home: &str, treating: &str, fund: i64, acct: i64, time: &str) -> Item {
    let setl_time: DateTime<Utc> = time.parse().unwrap();
    Item {
        setl_id: format!("S{}{seq:06}", &home[..2]),
        source: "routing".into(),
        seq,
        kind: ItemKind::Settlement,
        orig_setl_id: None,
        home: home.into(),
        treating: treating.into(),
        fixmedins_code: format!("H{}0100001", &treating[..2]),
        insutype: "310".into(),
        clr_type: "21".into(),
        psn_no: format!("P{}0001", &home[..2]),
        msgid: format!("M{seq}"),
        mdtrt_id: format!("V{seq}"),
        medfee_sumamt: fund + acct + 1000,
        fund_pay_sumamt: fund,
        acct_pay: acct,
        psn_cash_pay: 1000,
        setl_time,
        stmt_date: setl_time.with_timezone(&medclear_common::clock::CHINA).date_naive(),
    }
}

/// The cancellation of `original`, as event `seq`.
fn cancellation(seq: i64, original: &Item, time: &str) -> Item {
    let setl_time: DateTime<Utc> = time.parse().unwrap();
    Item {
        setl_id: format!("{}C", original.setl_id),
        seq,
        kind: ItemKind::Cancellation,
        orig_setl_id: Some(original.setl_id.clone()),
        msgid: format!("M{seq}"),
        medfee_sumamt: -original.medfee_sumamt,
        fund_pay_sumamt: -original.fund_pay_sumamt,
        acct_pay: -original.acct_pay,
        psn_cash_pay: -original.psn_cash_pay,
        setl_time,
        stmt_date: setl_time.with_timezone(&medclear_common::clock::CHINA).date_naive(),
        ..original.clone()
    }
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(pool).await.unwrap()
}

async fn ledger_total(service: &ClearingService) -> i64 {
    service.balances("").await.unwrap().0.iter().map(|(_, b)| b).sum()
}

/// A small month: Hubei and Beijing patients treated in Guangdong and Hainan, one cancelled.
fn month() -> Vec<Item> {
    let a = settlement(1, HB, GD, 80000, 5000, "2026-11-02T02:00:00Z");
    let b = settlement(2, BJ, GD, 120000, 0, "2026-11-03T02:00:00Z");
    let c = settlement(3, GD, HN, 30000, 2000, "2026-11-04T02:00:00Z");
    let d = settlement(4, HB, HN, 10000, 0, "2026-11-05T02:00:00Z");
    let e = cancellation(5, &d, "2026-11-06T02:00:00Z");
    vec![a, b, c, d, e]
}

#[sqlx::test(migrations = "../../migrations/clearing")]
async fn consumption_is_exactly_once_and_the_ledger_balances(pool: PgPool) {
    let clock = clock();
    let service = service(&pool, &clock);
    let mut items = month();
    // Whatever a hospital put in its ids travels intact (the fast path writes CSV).
    items[0].msgid = "M1,\"quoted\"\n, and a comma".into();
    let first = service.ingest("routing", &items[..3]).await.unwrap();
    assert_eq!(first, Ingested { items: 3, duplicates: 0, replayed: 0 });
    // A re-delivery of what was consumed, with the rest: only the rest counts.
    let second = service.ingest("routing", &items).await.unwrap();
    assert_eq!(second, Ingested { items: 2, duplicates: 0, replayed: 3 });
    assert_eq!(service.cursor("routing").await.unwrap(), 5);
    // The same items under another source name (a renamed instance): held, not counted again.
    let renamed: Vec<Item> =
        items.iter().map(|i| Item { source: "north".into(), ..i.clone() }).collect();
    let third = service.ingest("north", &renamed).await.unwrap();
    assert_eq!(third, Ingested { items: 0, duplicates: 5, replayed: 0 });
    assert_eq!(count(&pool, "items").await, 5);
    let msgid: String =
        sqlx::query_scalar("SELECT msgid FROM items WHERE seq = 1").fetch_one(&pool).await.unwrap();
    assert_eq!(msgid, items[0].msgid);
    let period = service.period("2026-11").await.unwrap();
    assert_eq!((period.totals.settlements, period.totals.reversals), (4, 1));
    let expected: i64 = items.iter().map(Item::obligation).sum();
    assert_eq!(period.totals.obligation(), expected);
    assert_eq!(ledger_total(&service).await, 0);
    // A gap (event 7 after 5) is refused and changes nothing.
    let gap = settlement(7, HB, GD, 100, 0, "2026-11-07T02:00:00Z");
    assert!(service.ingest("routing", &[gap]).await.is_err());
    assert_eq!(service.cursor("routing").await.unwrap(), 5);
    assert_eq!(count(&pool, "items").await, 5);
}

#[sqlx::test(migrations = "../../migrations/clearing")]
async fn a_batch_waits_for_the_one_before_and_falls_with_it(pool: PgPool) {
    let clock = clock();
    let service = service(&pool, &clock);
    let items = month();
    let (first, second) = items.split_at(2);
    // The second batch writes its items before the first arrives, then waits for its commit.
    let (done, committed) = tokio::sync::oneshot::channel::<()>();
    let (svc, later) = (service.clone(), second.to_vec());
    let waiting = tokio::spawn(async move {
        let previous = async move { committed.await.map_err(|_| Error::Internal("gone".into())) };
        svc.ingest_after("routing", &later, previous).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "it waits for the batch before");
    service.ingest("routing", first).await.unwrap();
    done.send(()).unwrap();
    assert_eq!(waiting.await.unwrap().unwrap().items, 3);
    assert_eq!(service.cursor("routing").await.unwrap(), 5);
    assert_eq!(count(&pool, "items").await, 5);
    // When the batch before fails, the one after is rolled back with it.
    let next = [settlement(6, BJ, HN, 7000, 0, "2026-11-07T02:00:00Z")];
    let failed = async { Err(Error::Internal("the batch before failed".into())) };
    assert!(service.ingest_after("routing", &next, failed).await.is_err());
    assert_eq!((service.cursor("routing").await.unwrap(), count(&pool, "items").await), (5, 5));
    // A batch that does not follow the cursor (its predecessor never committed) is refused.
    let ahead = [settlement(7, BJ, HN, 7000, 0, "2026-11-07T02:00:00Z")];
    assert!(service.ingest("routing", &ahead).await.is_err());
    assert_eq!((service.cursor("routing").await.unwrap(), count(&pool, "items").await), (5, 5));
    assert_eq!(service.ingest("routing", &next).await.unwrap().items, 1);
}

#[sqlx::test(migrations = "../../migrations/clearing")]
async fn a_batch_that_dies_half_way_leaves_nothing_and_is_consumed_again(pool: PgPool) {
    let clock = clock();
    let service = service(&pool, &clock);
    let items = month();
    // The last item is malformed: the whole batch is refused, the cursor does not move.
    let mut poisoned = items.clone();
    poisoned[4].acct_pay += 1;
    assert_eq!(
        service.ingest("routing", &poisoned).await.unwrap_err().reason(),
        "inconsistent_item"
    );
    assert_eq!((count(&pool, "items").await, count(&pool, "cells").await), (0, 0));
    assert_eq!(count(&pool, "posting_lines").await, 0);
    // Batches killed at every point of their transaction (the task aborted while it runs, on
    // a pool of its own that is then closed, as a process that dies loses its connections: a
    // connection cut half-way through a query is out of step and is never used again):
    // whatever was cut, reading again from the cursor gives each item exactly once.
    for delay in [0u64, 1, 2, 3, 5, 8] {
        let doomed = sqlx::postgres::PgPoolOptions::new()
            .connect_with((*pool.connect_options()).clone())
            .await
            .unwrap();
        let svc = ClearingService::new(
            doomed.clone(),
            Arc::new(clock.clone()),
            ClearingConfig::default(),
        );
        let batch = items.clone();
        let task = tokio::spawn(async move { svc.ingest("routing", &batch).await });
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        task.abort();
        let _ = task.await;
        doomed.close().await;
        let cursor = service.cursor("routing").await.unwrap();
        let rest: Vec<Item> = items.iter().filter(|i| i.seq > cursor).cloned().collect();
        service.ingest("routing", &rest).await.unwrap();
        assert_eq!(count(&pool, "items").await, 5, "after a kill at {delay} ms");
    }
    let period = service.period("2026-11").await.unwrap();
    assert_eq!(period.totals.obligation(), items.iter().map(Item::obligation).sum::<i64>());
    assert_eq!(service.audit_period("2026-11").await.unwrap().differences, Vec::<String>::new());
}

#[sqlx::test(migrations = "../../migrations/clearing")]
async fn a_period_nets_to_zero_and_settles_through_confirmations(pool: PgPool) {
    let clock = clock();
    let service = service(&pool, &clock);
    service.ingest("routing", &month()).await.unwrap();
    let ops = national();

    // Bad input changes nothing: confirming before netting, a province closing, a province
    // confirming for another, disputing what is not in the period.
    let audit_lines = count(&pool, "audit_log").await;
    let e = service.confirm("2026-11", GD, 1, &operator_of(GD)).await.unwrap_err();
    assert_eq!(e.reason(), "period_not_netted");
    let e = service.close("2026-11", &operator_of(GD)).await.unwrap_err();
    assert_eq!(e.reason(), "national_operator_required");
    assert_eq!(service.period("2026-11").await.unwrap().row.status, "open");
    assert_eq!(count(&pool, "audit_log").await, audit_lines);

    let closed = service.close("2026-11", &ops).await.unwrap();
    assert_eq!(closed.row.status, "closed");
    assert_eq!(service.close("2026-11", &ops).await.unwrap().row.status, "closed", "a retry");
    // A late settlement of November goes to December, visibly.
    let late = settlement(6, BJ, HN, 7000, 0, "2026-11-29T02:00:00Z");
    service.ingest("routing", &[late]).await.unwrap();
    let december = service.period("2026-12").await.unwrap();
    assert_eq!((december.totals.settlements, december.totals.late), (1, 1));

    let netted = service.net("2026-11", &ops).await.unwrap();
    let n = &netted.netting;
    assert_eq!(n.positions.values().map(Position::net).sum::<i64>(), 0, "zero-sum");
    assert_eq!(n.gross, month().iter().map(Item::obligation).sum::<i64>());
    // Hubei owes 85,000 to Guangdong (the Hainan visit was cancelled); Beijing 120,000 to
    // Guangdong; Guangdong 32,000 to Hainan.
    assert_eq!(n.positions[HB].net(), -85000);
    assert_eq!(n.positions[BJ].net(), -120000);
    assert_eq!(n.positions[GD].net(), 85000 + 120000 - 32000);
    assert_eq!(n.positions[HN].net(), 32000);
    // What changes hands: Σ|net| / 2 = 205,000 of 237,000 gross; 1 − 205/237 = 0.1350.
    assert_eq!(n.sum_abs_net, 410000);
    assert_eq!(n.efficiency().to_string(), "0.1350");

    let e = service.confirm("2026-11", GD, 1, &operator_of(HB)).await.unwrap_err();
    assert_eq!(e.reason(), "not_your_province");
    let e = service.confirm("2026-11", GD, 2, &operator_of(GD)).await.unwrap_err();
    assert_eq!(e.reason(), "stale_netting_run");
    let e = service.settle("2026-11", &ops).await.unwrap_err();
    assert_eq!(e.reason(), "period_not_confirmed");
    for province in [BJ, GD, HB] {
        service.confirm("2026-11", province, 1, &operator_of(province)).await.unwrap();
    }
    // Hainan confirms, then withdraws (allowed until settled), then confirms again.
    let all = service.confirm("2026-11", HN, 1, &operator_of(HN)).await.unwrap();
    assert_eq!(all.row.status, "confirmed");
    let back = service.withdraw("2026-11", HN, "amount to check", &operator_of(HN)).await.unwrap();
    assert_eq!(back.row.status, "netted");
    let e = service.withdraw("2026-11", HN, "again", &operator_of(HN)).await.unwrap_err();
    assert_eq!(e.reason(), "not_confirmed");
    service.confirm("2026-11", HN, 1, &operator_of(HN)).await.unwrap();

    // Hubei's fund covers part of its debt; Beijing has none.
    let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    service.deposit("dep-1", HB, 50000, day, "BANK-1", &operator_of(HB)).await.unwrap();
    let settled = service.settle("2026-11", &ops).await.unwrap();
    assert_eq!(settled.row.status, "settled");
    let instructions = service.instructions("2026-11", HB).await.unwrap();
    assert_eq!(
        (
            instructions[0].amount_fen,
            instructions[0].from_prepaid_fen,
            instructions[0].status.as_str()
        ),
        (85000, 50000, "executed")
    );
    let e = service.withdraw("2026-11", HN, "too late", &operator_of(HN)).await.unwrap_err();
    assert_eq!(e.reason(), "period_not_netted");

    // The settled period's receivables and payables are out of the ledger; December's late
    // item is still in; the whole ledger sums to zero.
    let (balances, _) = service.balances(GD).await.unwrap();
    let get = |rows: &[(String, i64)], account: &str| {
        rows.iter().find(|(a, _)| a == account).map_or(0, |(_, b)| *b)
    };
    assert_eq!(get(&balances, "440000:payable"), 0);
    assert_eq!(get(&balances, "440000:receivable"), 0);
    // Settling recognised what Guangdong owes its hospital for November (the two visits).
    let (hospital, _) = service.balances("H440100001").await.unwrap();
    assert_eq!(hospital, [("H440100001:due".to_owned(), -205000)]);
    let (hn, _) = service.balances(HN).await.unwrap();
    assert_eq!(get(&hn, "460000:receivable"), -7000, "December's late item");
    assert_eq!(ledger_total(&service).await, 0);
    // Hubei's deposit is drawn to zero: below its alert line, a top-up is instructed.
    let fund = service.fund(HB).await.unwrap();
    assert_eq!((fund.deposit, fund.state), (0, FundState::BelowAlert));
    let topup = fund.topup.unwrap();
    assert_eq!(topup.amount_fen, fund.level.required);
    assert_eq!(fund.level.required, 2 * 85000, "two months of its outgoing");
    // Paying it in fulfils the top-up.
    let fund = service.deposit("dep-2", HB, 170000, day, "BANK-2", &operator_of(HB)).await.unwrap();
    assert_eq!((fund.deposit, fund.state, fund.topup), (170000, FundState::Sufficient, None));
    // The audit trail has every action.
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        actions,
        [
            "close", "net", "confirm", "confirm", "confirm", "confirm", "withdraw", "confirm",
            "deposit", "settle", "deposit"
        ]
    );
}

#[sqlx::test(migrations = "../../migrations/clearing")]
async fn disputed_items_move_to_the_next_period_and_the_period_is_netted_again(pool: PgPool) {
    let clock = clock();
    let service = service(&pool, &clock);
    let items = month();
    service.ingest("routing", &items).await.unwrap();
    let ops = national();
    service.close("2026-11", &ops).await.unwrap();
    service.net("2026-11", &ops).await.unwrap();
    service.confirm("2026-11", GD, 1, &operator_of(GD)).await.unwrap();

    // Refusals first: unknown settlement, a province not party to the item, another
    // province's operator. Nothing changes.
    let ids = |i: &[&Item]| i.iter().map(|i| i.setl_id.clone()).collect::<Vec<_>>();
    let e = service
        .dispute("r1", "2026-11", HB, &["S99".to_owned()], "unknown", &operator_of(HB))
        .await
        .unwrap_err();
    assert_eq!(e.reason(), "unknown_settlement");
    let e = service
        .dispute("r1", "2026-11", HB, &ids(&[&items[1]]), "not mine", &operator_of(HB))
        .await
        .unwrap_err();
    assert_eq!(e.reason(), "not_a_party");
    let e = service
        .dispute("r1", "2026-11", HB, &ids(&[&items[0]]), "x", &operator_of(GD))
        .await
        .unwrap_err();
    assert_eq!(e.reason(), "not_your_province");
    assert_eq!(service.period("2026-11").await.unwrap().row.status, "netted");
    assert_eq!(count(&pool, "disputes").await, 0);

    // Hubei disputes its Guangdong settlement: carried to December, November back to closed.
    let dispute = service
        .dispute("r1", "2026-11", HB, &ids(&[&items[0]]), "duplicate bill", &operator_of(HB))
        .await
        .unwrap();
    assert_eq!((dispute.carried_to.as_str(), dispute.amount_fen), ("2026-12", 85000));
    let again = service
        .dispute("r1", "2026-11", HB, &ids(&[&items[0]]), "duplicate bill", &operator_of(HB))
        .await
        .unwrap();
    assert_eq!(again, dispute, "a retry gets the same dispute");
    let november = service.period("2026-11").await.unwrap();
    assert_eq!((november.row.status.as_str(), november.confirmations.len()), ("closed", 0));
    let december = service.period("2026-12").await.unwrap();
    assert_eq!((december.totals.carried_in, december.totals.obligation()), (1, 85000));
    // Netted again: run 2, without the disputed item; every item still in exactly one period.
    let rerun = service.net("2026-11", &ops).await.unwrap();
    assert_eq!(rerun.period.netting_run, 2);
    assert_eq!(rerun.netting.positions[HB].net(), 0);
    let total: i64 = items.iter().map(Item::obligation).sum();
    assert_eq!(rerun.netting.gross + december.totals.obligation(), total);
    for period in ["2026-11", "2026-12"] {
        assert!(service.audit_period(period).await.unwrap().differences.is_empty());
    }
    assert_eq!(ledger_total(&service).await, 0);
    let statement = service.province_statement("2026-11", HB).await.unwrap();
    assert_eq!(statement.disputed, 85000);
}

#[sqlx::test(migrations = "../../migrations/clearing")]
async fn hospitals_reconcile_their_days(pool: PgPool) {
    let clock = clock();
    let service = service(&pool, &clock);
    let items = month();
    service.ingest("routing", &items).await.unwrap();
    // Guangdong's hospital on 2 November (China time): one Hubei settlement.
    let hospital = &items[0].fixmedins_code;
    let day = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    let right =
        ReconTotals { setl_cnt: 1, medfee_sumamt: 86000, fund_pay_sumamt: 80000, acct_pay: 5000 };
    let (center, difference, as_of) =
        service.reconcile_totals(hospital, day, "", "", &right).await.unwrap();
    assert_eq!((center, difference), (right, None));
    assert!(as_of.is_some());
    let wrong = ReconTotals { fund_pay_sumamt: 79000, ..right };
    let (_, difference, _) = service.reconcile_totals(hospital, day, "", "", &wrong).await.unwrap();
    assert!(difference.unwrap().contains("基金支付总额不符"));
    let (other, _, _) = service.reconcile_totals(hospital, day, "390", "", &right).await.unwrap();
    assert_eq!(other.setl_cnt, 0, "no resident settlements");

    // Details: one matches, one differs, one the center lacks, one the hospital lacks.
    let hainan = &items[3].fixmedins_code;
    let detail = |i: &Item| ReconDetail {
        setl_id: i.setl_id.clone(),
        msgid: i.msgid.clone(),
        mdtrt_id: i.mdtrt_id.clone(),
        psn_no: i.psn_no.clone(),
        medfee_sumamt: i.medfee_sumamt,
        fund_pay_sumamt: i.fund_pay_sumamt,
        acct_pay: i.acct_pay,
        refd_setl_flag: i.kind == ItemKind::Cancellation,
    };
    let day5 = NaiveDate::from_ymd_opt(2026, 11, 5).unwrap();
    let (matched, discrepancies, _) =
        service.reconcile_details(hainan, day5, "", "", vec![detail(&items[3])]).await.unwrap();
    assert_eq!((matched, discrepancies.len()), (1, 0));
    let mut changed = detail(&items[3]);
    changed.acct_pay = 1;
    let mut unknown = detail(&items[3]);
    unknown.setl_id = "S42NOTHERE".into();
    let (matched, discrepancies, _) =
        service.reconcile_details(hainan, day5, "", "", vec![changed, unknown]).await.unwrap();
    assert_eq!(matched, 0);
    assert!(
        matches!(&discrepancies[0], Discrepancy::Differs { fields, .. } if fields == &["acct_pay_fen"])
    );
    assert!(
        matches!(&discrepancies[1], Discrepancy::MissingAtCenter(d) if d.setl_id == "S42NOTHERE")
    );
    let (_, discrepancies, _) =
        service.reconcile_details(hainan, day5, "", "", vec![]).await.unwrap();
    assert!(
        matches!(&discrepancies[0], Discrepancy::MissingAtHospital(d) if d.setl_id == items[3].setl_id)
    );
}

/// A tiny deterministic generator for the randomised streams below.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// Random streams of settlements and cancellations over three months, consumed in random
/// batches while periods are closed and netted at random moments (so items arrive late):
/// every item is in exactly one period, every period's positions sum to zero and its gross
/// equals the obligations of its items, the kept matrix equals the recomputed one, and the
/// ledger sums to zero.
async fn random_stream(pool: PgPool, seed: u64) {
    let clock = clock();
    let service = service(&pool, &clock);
    let provinces = [GD, HB, BJ, HN, "310000", "320000"];
    let mut rng = Rng(seed);
    let mut items: Vec<Item> = Vec::new();
    let ops = national();
    for seq in 1..=400 {
        let month = 9 + rng.next(3);
        let time = format!("2026-{month:02}-{:02}T0{}:00:00Z", 1 + rng.next(28), rng.next(9));
        let cancel = rng.next(10) == 0 && !items.is_empty();
        let item = if cancel {
            let original = items
                [usize::try_from(rng.next(u64::try_from(items.len()).unwrap())).unwrap()]
            .clone();
            if original.kind == ItemKind::Cancellation
                || items.iter().any(|i| i.orig_setl_id.as_ref() == Some(&original.setl_id))
            {
                settlement(seq, GD, HB, 100, 0, &time)
            } else {
                cancellation(seq, &original, &time)
            }
        } else {
            let home = provinces[usize::try_from(rng.next(6)).unwrap()];
            let treating = provinces[usize::try_from(rng.next(6)).unwrap()];
            settlement(
                seq,
                home,
                treating,
                i64::try_from(rng.next(500_000)).unwrap(),
                i64::try_from(rng.next(3000)).unwrap(),
                &time,
            )
        };
        // Settlement ids carry the seed; a cancellation's id derives from its original's.
        let setl_id = if cancel && item.kind == ItemKind::Cancellation {
            item.setl_id.clone()
        } else {
            format!("{}-{seed}", item.setl_id)
        };
        items.push(Item { setl_id, ..item });
    }
    let mut at = 0;
    while at < items.len() {
        let size = 1 + usize::try_from(rng.next(60)).unwrap();
        let end = (at + size).min(items.len());
        service.ingest("routing", &items[at..end]).await.unwrap();
        at = end;
        if rng.next(4) == 0 {
            for period in
                service.periods(Some(PeriodStatus::Open)).await.unwrap().iter().rev().take(1)
            {
                let id = period.row.period_id.clone();
                service.close(&id, &ops).await.unwrap();
                service.net(&id, &ops).await.unwrap();
            }
        }
    }
    let mut counted = 0;
    let mut gross = 0;
    for period in service.periods(None).await.unwrap() {
        let id = &period.row.period_id;
        let audit = service.audit_period(id).await.unwrap();
        assert!(audit.differences.is_empty(), "{id}: {:?}", audit.differences);
        counted += audit.items;
        gross += audit.gross;
        if period.row.netting_run > 0 {
            let netting = service.netting(id, false).await.unwrap().netting;
            assert_eq!(netting.positions.values().map(Position::net).sum::<i64>(), 0);
            assert_eq!(netting.gross, period.totals.obligation());
        }
    }
    assert_eq!(counted, 400, "each item in exactly one period");
    assert_eq!(gross, items.iter().map(Item::obligation).sum::<i64>());
    assert_eq!(ledger_total(&service).await, 0);
}

#[sqlx::test(migrations = "../../migrations/clearing")]
async fn random_stream_1(pool: PgPool) {
    random_stream(pool, 0x9E37_79B9_7F4A_7C15).await;
}

#[sqlx::test(migrations = "../../migrations/clearing")]
async fn random_stream_2(pool: PgPool) {
    random_stream(pool, 0xD1B5_4A32_D192_ED03).await;
}

#[sqlx::test(migrations = "../../migrations/clearing")]
async fn random_stream_3(pool: PgPool) {
    random_stream(pool, 12345).await;
}

/// What a hospital declares for November 2026, inpatient care (clr_type 21).
fn november(hospital: &str, psntime: i64, fund: i64, acct: i64, cash: i64) -> Application {
    let d = |text: &str| text.parse::<NaiveDate>().unwrap();
    Application {
        fixmedins_code: hospital.into(),
        clr_type: "21".into(),
        clr_way: "1".into(),
        month: d("2026-11-01"),
        begndate: d("2026-11-01"),
        enddate: d("2026-11-30"),
        psntime,
        medfee_sumamt: fund + acct + cash,
        med_sumfee: fund + acct,
        fund_appy_sum: fund,
        cash_payamt: cash,
        acct_pay: acct,
    }
}

#[sqlx::test(migrations = "../../migrations/clearing")]
async fn clearing_applications_are_checked_against_the_ledger_and_feed_the_period(pool: PgPool) {
    let clock = clock();
    let service = service(&pool, &clock);
    service.ingest("routing", &month()).await.unwrap();
    // Guangdong's hospital: two settlements (85000 + 120000 from the funds and accounts, 1000
    // cash each); Hainan's: one settlement, one settled and cancelled.
    let (gd, hn) = ("H440100001", "H460100001");
    let gd_month = november(gd, 2, 200_000, 5_000, 2_000);
    let hn_month = november(hn, 1, 30_000, 2_000, 1_000);

    // Before the month is over: refused.
    let e = service.apply("R0", &gd_month).await.unwrap_err();
    assert_eq!(e.reason(), "month_not_over");
    clock.set("2026-12-02T02:00:00Z".parse().unwrap());

    // The center's own totals: accepted, in the period of November.
    let applied = service.apply("R1", &gd_month).await.unwrap();
    assert_eq!((applied.period_id.as_str(), applied.status()), ("2026-11", "applied"));
    assert_eq!((applied.setlym.as_str(), applied.psntime), ("202611", 2));
    // The same msgid again: the same application, one row; with another body: refused.
    assert_eq!(service.apply("R1", &gd_month).await.unwrap(), applied);
    assert_eq!(count(&pool, "applications").await, 1);
    let other_body = november(gd, 2, 200_000, 5_000, 2_001);
    let e = service.apply("R1", &other_body).await.unwrap_err();
    assert_eq!(e.reason(), "request_id_reused");
    // A second standing application for the month and category: refused, naming the first.
    let e = service.apply("R2", &gd_month).await.unwrap_err();
    assert_eq!(e.reason(), "already_applied");
    assert!(e.to_string().contains(&applied.clr_appy_evt_id), "{e}");

    // Hainan counts the cancelled settlement as a visit: refused, each figure with both values,
    // nothing written.
    let wrong = november(hn, 2, 40_000, 2_000, 2_000);
    let e = service.apply("R3", &wrong).await.unwrap_err();
    assert_eq!(e.reason(), "totals_mismatch");
    let message = e.to_string();
    for figure in [
        "psntime declared 2, center 1",
        "medfee_sumamt declared 440.00, center 330.00",
        "fund_appy_sum declared 400.00, center 300.00",
        "cash_payamt declared 20.00, center 10.00",
    ] {
        assert!(message.contains(figure), "{figure}: {message}");
    }
    assert!(!message.contains("acct_pay"), "{message}");
    assert_eq!(count(&pool, "applications").await, 1, "a refusal writes nothing");
    // Another category, or a month without items: not what clearing holds.
    let outpatient = Application { clr_type: "11".into(), ..hn_month.clone() };
    assert_eq!(service.apply("R4", &outpatient).await.unwrap_err().reason(), "totals_mismatch");
    let october = Application {
        month: "2026-10-01".parse().unwrap(),
        begndate: "2026-10-01".parse().unwrap(),
        enddate: "2026-10-31".parse().unwrap(),
        ..november(hn, 0, 0, 0, 0)
    };
    assert_eq!(service.apply("R5", &october).await.unwrap_err().reason(), "nothing_to_clear");
    let hn_applied = service.apply("R6", &hn_month).await.unwrap();
    assert_eq!(count(&pool, "applications").await, 2);

    // The hospital statements of the period show them.
    let (statements, _) = service.hospital_statements("2026-11", GD, "", "", 10).await.unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0].applications, std::slice::from_ref(&applied));
    let (statements, _) = service.hospital_statements("2026-11", HN, "", "", 10).await.unwrap();
    assert_eq!(statements[0].applications, std::slice::from_ref(&hn_applied));

    // Listed by period, by institution, by status.
    let (all, next) = service.applications("2026-11", "", "", "", 0).await.unwrap();
    assert_eq!((all.len(), next.as_str()), (2, ""));
    let (one, next) = service.applications("2026-11", "", "", "", 1).await.unwrap();
    assert_eq!(one.len(), 1);
    let (rest, _) = service.applications("2026-11", "", "", &next, 1).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_ne!(one[0].clr_appy_evt_id, rest[0].clr_appy_evt_id);
    let (mine, _) = service.applications("", hn, "", "", 0).await.unwrap();
    assert_eq!(mine, std::slice::from_ref(&hn_applied));
    let e = service.applications("", "", "", "", 0).await.unwrap_err();
    assert_eq!(e.reason(), "missing_field");

    // Another institution cannot revoke it, nor learn that it exists.
    let e = service.revoke_application("V0", hn, &applied.clr_appy_evt_id, "").await.unwrap_err();
    assert_eq!(e.reason(), "application_not_found");
    let e = service.revoke_application("V0", gd, "CA0000", "").await.unwrap_err();
    assert_eq!(e.reason(), "application_not_found");
    // Revoked by its own; again, the same answer; the statement no longer shows it.
    let revoked =
        service.revoke_application("V1", gd, &applied.clr_appy_evt_id, " wrong month ").await;
    let revoked = revoked.unwrap();
    assert_eq!((revoked.status(), revoked.memo.as_str()), ("revoked", "wrong month"));
    assert!(revoked.revoked_at.is_some());
    let again = service.revoke_application("V2", gd, &applied.clr_appy_evt_id, "").await;
    assert_eq!(again.unwrap(), revoked);
    let (statements, _) = service.hospital_statements("2026-11", GD, "", "", 10).await.unwrap();
    assert!(statements[0].applications.is_empty());
    let (revoked_only, _) = service.applications("2026-11", "", "revoked", "", 0).await.unwrap();
    assert_eq!(revoked_only, [revoked]);
    // And applied for again: a new application.
    let reapplied = service.apply("R7", &gd_month).await.unwrap();
    assert_ne!(reapplied.clr_appy_evt_id, applied.clr_appy_evt_id);

    // Closed: still open to applications. Netted: neither applied for nor revoked.
    service.close("2026-11", &national()).await.unwrap();
    service.revoke_application("V3", gd, &reapplied.clr_appy_evt_id, "").await.unwrap();
    service.net("2026-11", &national()).await.unwrap();
    let e = service.revoke_application("V4", hn, &hn_applied.clr_appy_evt_id, "").await;
    assert_eq!(e.unwrap_err().reason(), "period_netted");
    assert_eq!(service.apply("R8", &gd_month).await.unwrap_err().reason(), "period_netted");
    let (standing, _) = service.applications("2026-11", "", "applied", "", 0).await.unwrap();
    assert_eq!(standing, [hn_applied]);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'clearing_application'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(audited, 5, "three applications, two revocations");
}
