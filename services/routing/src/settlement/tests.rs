//! The settlement store against PostgreSQL: one effect per msgid, exact cancellation,
//! serialised accumulators, gap-free events, and nothing written on a refusal.

use std::sync::Arc;

use medclear_common::clock::FixedClock;
use rust_decimal::Decimal;
use sqlx::PgPool;

use super::*;
use crate::{
    calc::{CoverageClass, FilingKind, MedType},
    model::{PriceFen, Quantity},
    policy::HospitalLevel,
    repo::PersonRow,
};

const HOSPITAL: &str = "H44030000001";

async fn store(pool: &PgPool) -> Settlements {
    let clock = FixedClock::new("2026-03-02T04:00:00Z".parse().unwrap());
    let store = Settlements::new(
        pool.clone(),
        Arc::new(clock),
        crate::publication::load(pool).await.unwrap(),
    );
    store
        .upsert_person(&PersonRow {
            psn_no: "P420200001".into(),
            certno: "420202196001010011".into(),
            psn_name: "张三".into(),
            insutype: "310".into(),
            retired: false,
            insuplc_admdvs: "420200".into(),
            account_balance_fen: 50000,
            assistance_category: None,
        })
        .await
        .unwrap();
    store
}

fn request(msgid: &str, price_fen: i64) -> SettleRequest {
    SettleRequest {
        sender: FixmedinsCode::parse(HOSPITAL).unwrap(),
        msgid: Msgid::parse(msgid).unwrap(),
        psn_no: "P420200001".into(),
        mdtrtarea_admvs: Admdvs::parse("440300").unwrap(),
        visit: Visit {
            med_type: MedType::Inpatient,
            hospital_level: HospitalLevel::Tertiary,
            filing: FilingKind::LongTerm,
            use_account: true,
            disease: None,
        },
        visit_date: None,
        lines: vec![Line {
            price_fen: PriceFen::try_from(price_fen).unwrap(),
            quantity: Quantity::try_from(Decimal::ONE).unwrap(),
            class: CoverageClass::A,
            selfpay_ratio: Decimal::ZERO,
            price_cap_fen: None,
        }],
        replay_key: String::new(),
        mdtrt_id: None,
        expected_medfee_fen: None,
    }
}

/// Cancels `setl_id` as the hospital, sending `msgid`.
async fn cancel_settlement(
    store: &Settlements,
    msgid: &str,
    setl_id: &str,
) -> Result<SettlementAnswer> {
    cancel_as(store, HOSPITAL, msgid, setl_id).await
}

async fn cancel_as(
    store: &Settlements,
    sender: &str,
    msgid: &str,
    setl_id: &str,
) -> Result<SettlementAnswer> {
    let cancellation = Cancellation {
        sender: sender.into(),
        msgid: Msgid::parse(msgid).unwrap(),
        setl_id: setl_id.into(),
    };
    store.cancel(&cancellation).await
}

/// `n` settlements of the one person (msgids M0, M1, …; prices apart), started at once.
fn spawn_settlements(
    store: &Settlements,
    n: i64,
) -> Vec<tokio::task::JoinHandle<SettlementAnswer>> {
    (0..n)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store.settle(&request(&format!("M{i}"), 100000 + i * 1000), None).await.unwrap()
            })
        })
        .collect()
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(pool).await.unwrap()
}

async fn accumulators(pool: &PgPool) -> Accumulators {
    let mut conn = pool.acquire().await.unwrap();
    repo::lock_accumulators(&mut conn, "P420200001", 2026).await.unwrap().accumulators
}

async fn balance(store: &Settlements) -> i64 {
    store.person_by_certno("420202196001010011").await.unwrap().account_balance_fen
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn a_settlement_is_written_whole_and_once(pool: PgPool) {
    let store = store(&pool).await;
    // Huangshi employee, tertiary: 甲 200000, deductible 80000, (200000 − 80000) × 90 % = 108000;
    // patient 92000, of which the account pays its 50000.
    let first = store.settle(&request("M1", 200000), None).await.unwrap();
    assert_eq!(
        (first.breakdown.hifp_pay, first.breakdown.acct_pay, first.breakdown.psn_cash_pay),
        (108000, 50000, 42000)
    );
    // The version in force: Huangshi's published one, by its id.
    let huangshi = store
        .book()
        .current()
        .version_for("420200", "310", "2026-03-02".parse().unwrap())
        .unwrap()
        .id
        .clone();
    assert!(huangshi.starts_with("420200-310-"));
    assert_eq!(first.policy_version, huangshi);
    let again = store.settle(&request("M1", 200000), None).await.unwrap();
    assert_eq!(again, first, "a retry gets the stored answer");
    // The row keeps the breakdown once; a row written when the answer held it too still
    // answers the same.
    let in_answer: bool = sqlx::query_scalar("SELECT answer ? 'breakdown' FROM settlements")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!in_answer, "the answer is stored without its breakdown");
    sqlx::query(
        "UPDATE settlements SET answer = answer || jsonb_build_object('breakdown', breakdown)",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(store.settle(&request("M1", 200000), None).await.unwrap(), first, "an older row");
    // Its event waits in the outbox, unnumbered, until the stream is read.
    for (table, rows) in [("settlements", 1), ("setldetail", 2), ("outbox", 1), ("events", 0)] {
        assert_eq!(count(&pool, table).await, rows, "{table}");
    }
    assert_eq!(accumulators(&pool).await.pooling_paid_fen, 108000, "counted once");
    assert_eq!(balance(&store).await, 0);
    let events = store.events_after(0, 10).await.unwrap();
    assert_eq!(
        (
            events[0].event.seq,
            events[0].event.obligation_fen,
            events[0].event.home_province.as_str(),
            events[0].event.treating_province.as_str()
        ),
        (1, 158000, "420000", "440000")
    );
    // The stream carries what clearing reconciles with the hospital.
    let e = &events[0];
    assert_eq!(
        (e.fixmedins_code.as_str(), e.msgid.as_str(), e.insutype.as_str(), e.clr_type.as_str()),
        (HOSPITAL, "M1", "310", "21")
    );
    assert_eq!(e.fund_pay_sumamt + e.acct_pay, e.event.obligation_fen);
    assert_eq!(e.medfee_sumamt, first.breakdown.medfee_sumamt);
    // The same msgid with another body: refused, nothing written.
    let conflict = store.settle(&request("M1", 300000), None).await.unwrap_err();
    assert_eq!(conflict.reason(), "msgid_reused");
    assert_eq!(count(&pool, "settlements").await, 1);
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn cancellation_restores_the_accumulators_and_the_account_exactly(pool: PgPool) {
    let store = store(&pool).await;
    let before = accumulators(&pool).await;
    let settled = store.settle(&request("M1", 200000), None).await.unwrap();
    let second = store.settle(&request("M2", 50000), None).await.unwrap();
    let cancel = cancel_settlement(&store, "C1", &settled.setl_id).await.unwrap();
    assert_eq!(
        (cancel.kind.as_str(), cancel.orig_setl_id.as_deref()),
        ("cancellation", Some(settled.setl_id.as_str()))
    );
    // What is left is exactly the second settlement's contribution.
    let after = accumulators(&pool).await;
    assert_eq!(after.minus(&before).pooling_paid_fen, second.breakdown.hifp_pay);
    assert_eq!(after.admissions, 1);
    assert_eq!(balance(&store).await, 50000 - second.breakdown.acct_pay);
    let events = store.events_after(0, 10).await.unwrap();
    assert_eq!(events.iter().map(|e| e.event.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(events[2].event.obligation_fen, -events[0].event.obligation_fen);
    assert_eq!(events[2].orig_setl_id.as_deref(), Some(settled.setl_id.as_str()));
    assert_eq!(
        (events[2].medfee_sumamt, events[2].clr_type.as_str()),
        (-events[0].medfee_sumamt, events[0].clr_type.as_str())
    );
    // Once only; by msgid replay; unknown or someone else's settlements are not found.
    assert_eq!(cancel_settlement(&store, "C1", &settled.setl_id).await.unwrap(), cancel);
    assert_eq!(
        cancel_settlement(&store, "C2", &settled.setl_id).await.unwrap_err().reason(),
        "already_cancelled"
    );
    assert_eq!(
        cancel_settlement(&store, "C3", "SNOSUCH").await.unwrap_err().reason(),
        "settlement_not_found"
    );
    assert_eq!(
        cancel_as(&store, "H11000000001", "C4", &second.setl_id).await.unwrap_err().reason(),
        "settlement_not_found"
    );
    // Cancel the second too: back to nothing at all.
    cancel_settlement(&store, "C5", &second.setl_id).await.unwrap();
    assert_eq!(accumulators(&pool).await.minus(&before), Accumulators::default());
    assert_eq!(balance(&store).await, 50000);
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn concurrent_settlements_of_one_person_lose_no_update(pool: PgPool) {
    let store = store(&pool).await;
    // Enough at once that many lose the optimistic race, some more than three times and take
    // the person's lock while others are still writing optimistically.
    const N: i64 = 24;
    let tasks = spawn_settlements(&store, N);
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    let acc = accumulators(&pool).await;
    assert_eq!(i64::from(acc.admissions), N);
    assert_eq!(acc.pooling_paid_fen, answers.iter().map(|a| a.breakdown.hifp_pay).sum::<i64>());
    assert_eq!(
        balance(&store).await,
        50000 - answers.iter().map(|a| a.breakdown.acct_pay).sum::<i64>()
    );
    let seqs: Vec<i64> =
        store.events_after(0, 100).await.unwrap().iter().map(|e| e.event.seq).collect();
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>(), "gap-free");
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn readers_numbering_while_settlements_are_written_give_each_event_one_number(pool: PgPool) {
    let store = store(&pool).await;
    // Settlements are written while three readers number and read in small batches: every
    // event gets exactly one number, the numbers run 1..=N without a gap, and each reader sees
    // them in order.
    const N: i64 = 40;
    let writers = spawn_settlements(&store, N);
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while i64::try_from(seen.len()).unwrap() < N {
                    let after = seen.last().copied().unwrap_or(0);
                    let batch = store.events_after(after, 3).await.unwrap();
                    seen.extend(batch.iter().map(|e| e.event.seq));
                    tokio::task::yield_now().await;
                }
                seen
            })
        })
        .collect();
    let mut settled = Vec::new();
    for writer in writers {
        settled.push(writer.await.unwrap().setl_id);
    }
    for reader in readers {
        assert_eq!(reader.await.unwrap(), (1..=N).collect::<Vec<_>>(), "gap-free, in order");
    }
    assert_eq!(count(&pool, "outbox").await, 0, "nothing left waiting");
    let mut numbered: Vec<String> =
        store.events_after(0, 100).await.unwrap().into_iter().map(|e| e.event.setl_id).collect();
    numbered.sort();
    settled.sort();
    assert_eq!(numbered, settled, "one event per settlement");
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn concurrent_twins_of_one_msgid_get_one_answer_and_one_effect(pool: PgPool) {
    let store = store(&pool).await;
    // Twins race for the person's lock: some find the msgid at once, the others only when
    // their insert meets the unique key after the first committed. All get its answer.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.settle(&request("TWIN", 120000), None).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap().unwrap());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "one answer for every twin");
    assert_eq!(count(&pool, "settlements").await, 1);
    assert_eq!(count(&pool, "outbox").await, 1);
    assert_eq!(accumulators(&pool).await.admissions, 1);
    assert_eq!(balance(&store).await, 50000 - answers[0].breakdown.acct_pay);
    // A twin with another body is refused, still with no effect.
    let other = store.settle(&request("TWIN", 130000), None).await.unwrap_err();
    assert_eq!(other.reason(), "msgid_reused");
    assert_eq!(count(&pool, "settlements").await, 1);
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn refusals_write_nothing(pool: PgPool) {
    let store = store(&pool).await;
    // (A malformed price, quantity, sender or msgid cannot be put in a request: `model`.)
    let mut bad_ratio = request("M1", 100000);
    bad_ratio.lines[0].class = CoverageClass::B;
    bad_ratio.lines[0].selfpay_ratio = Decimal::TWO;
    assert_eq!(store.settle(&bad_ratio, None).await.unwrap_err().reason(), "invalid_ratio");
    let no_lines = SettleRequest { lines: Vec::new(), ..request("M2", 100) };
    assert_eq!(store.settle(&no_lines, None).await.unwrap_err().reason(), "no_lines");
    let unknown = SettleRequest { psn_no: "P999".into(), ..request("M3", 100) };
    assert_eq!(store.settle(&unknown, None).await.unwrap_err().reason(), "person_not_found");
    let other_total = SettleRequest { expected_medfee_fen: Some(99), ..request("M6", 100) };
    assert_eq!(store.settle(&other_total, None).await.unwrap_err().reason(), "amount_mismatch");
    let same_total = SettleRequest { expected_medfee_fen: Some(100), ..request("M7", 100) };
    assert_eq!(store.presettle(&same_total, None).await.unwrap().breakdown.medfee_sumamt, 100);
    for table in ["settlements", "setldetail", "outbox", "events"] {
        assert_eq!(count(&pool, table).await, 0, "{table}");
    }
    assert_eq!(accumulators(&pool).await, Accumulators::default());
    // The failed attempts used no event number.
    store.settle(&request("M5", 100000), None).await.unwrap();
    assert_eq!(store.events_after(0, 10).await.unwrap()[0].event.seq, 1);
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn persons_import_with_a_reason_for_each_bad_row(pool: PgPool) {
    let store = store(&pool).await;
    let people = crate::persons::fixture(10);
    let mut rows: Vec<(u64, medclear_common::rows::Fields)> =
        people.iter().zip(2u64..).map(|(p, line)| (line, crate::persons::row_of(p))).collect();
    let mut bad = crate::persons::row_of(&people[0]);
    bad.insert("psn_no".into(), "PBAD".into());
    bad.insert("certno".into(), "110105194912310021".into());
    rows.push((100, bad));
    rows.push((101, crate::persons::row_of(&people[1])));
    let (accepted, rejections) = store.import_persons(&rows).await.unwrap();
    assert_eq!(accepted, 10);
    let reasons: Vec<(u64, &str)> =
        rejections.iter().map(|r| (r.row_no, r.reason.as_str())).collect();
    assert_eq!(reasons, [(100, "invalid_certno"), (101, "duplicate_row")]);
    assert_eq!(count(&pool, "persons").await, 11, "10 imported, plus the one the test set up");
    let found = store.person_by_certno(&people[5].certno).await.unwrap();
    assert_eq!(found, people[5]);
    assert_eq!(
        store.person_by_certno("11010519491231002X").await.unwrap_err().reason(),
        "person_not_found"
    );
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn a_presettlement_computes_the_same_and_keeps_nothing(pool: PgPool) {
    let store = store(&pool).await;
    let pre = store.presettle(&request("P1", 200000), None).await.unwrap();
    assert_eq!(pre.kind, "presettlement");
    for table in ["settlements", "outbox", "events", "accumulators"] {
        assert_eq!(count(&pool, table).await, 0, "{table}");
    }
    let settled = store.settle(&request("M1", 200000), None).await.unwrap();
    assert_eq!(settled.breakdown, pre.breakdown);
    assert_eq!(balance(&store).await, 0, "the presettlement did not touch the account");
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn a_person_sees_their_own_settlements_newest_first_with_the_breakdown(pool: PgPool) {
    let store = store(&pool).await;
    let other = PersonRow {
        psn_no: "P420200002".into(),
        certno: "420202196001010038".into(),
        ..store.person("P420200001").await.unwrap()
    };
    store.upsert_person(&other).await.unwrap();
    let first = store.settle(&request("M1", 200000), None).await.unwrap();
    let second = store.settle(&request("M2", 50000), None).await.unwrap();
    let cancel = cancel_settlement(&store, "C1", &first.setl_id).await.unwrap();
    let mut theirs = request("M3", 10000);
    theirs.psn_no = other.psn_no.clone();
    store.settle(&theirs, None).await.unwrap();

    let listed = store.of_person("P420200001", 100).await.unwrap();
    // The clock stands still: newest first means by time, then by id, so compare as sets of
    // ids and check each one's amounts and its cancellation mark.
    let mut ids: Vec<&str> = listed.iter().map(|(a, _)| a.setl_id.as_str()).collect();
    ids.sort_unstable();
    let mut expected =
        vec![first.setl_id.as_str(), second.setl_id.as_str(), cancel.setl_id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected, "only this person's, the cancellation included");
    for (answer, row) in &listed {
        let original = [&first, &second, &cancel].into_iter().find(|a| a.setl_id == answer.setl_id);
        assert_eq!(Some(answer), original, "as answered to the hospital");
        let b = &answer.breakdown;
        assert_eq!(b.medfee_sumamt, b.fund_pay_sumamt + b.psn_part_amt);
        assert_eq!((row.sender.as_str(), row.mdtrtarea_admvs.as_str()), (HOSPITAL, "440300"));
        let cancelled = (answer.setl_id == first.setl_id).then(|| cancel.setl_id.clone());
        assert_eq!(row.cancelled_by, cancelled, "{}", answer.setl_id);
    }
    let (one, _) = &store.of_person("P420200001", 1).await.unwrap()[0];
    assert_eq!(one.setl_id, listed[0].0.setl_id, "limited, in the same order");
    assert!(store.of_person("P999", 100).await.unwrap().is_empty());
    assert_eq!(store.person("P420200002").await.unwrap().certno, "420202196001010038");
    assert_eq!(store.person("P999").await.unwrap_err().reason(), "person_not_found");
}

// ---- Published policies: the version in force on the visit's date, recorded by id.

fn hubei() -> crate::publication::Actor {
    crate::publication::Actor { operator_id: "op-1".into(), province: Some("420000".into()) }
}

/// Huangshi's published employees' policy, corrected: every inpatient ratio 3 points higher,
/// in force from `from`.
async fn corrected(publications: &crate::publication::Publications, from: &str) -> String {
    let in_force = publications
        .book()
        .current()
        .policy_for("420200", "310", "2026-03-01".parse().unwrap())
        .unwrap();
    let mut policy = (*in_force.policy).clone();
    policy.version = format!("corrected-{from}");
    policy.begin_date = from.parse().unwrap();
    for band in &mut policy.inpatient.bands {
        for segment in &mut band.segments {
            segment.ratio = (segment.ratio + Decimal::new(3, 2)).min(Decimal::ONE);
        }
    }
    crate::policy::Document::Policy(Box::new(policy)).canonical().unwrap()
}

fn publications(pool: &PgPool, store: &Settlements) -> crate::publication::Publications {
    let clock = FixedClock::new("2026-03-02T04:00:00Z".parse().unwrap());
    crate::publication::Publications::new(pool.clone(), store.book().clone(), Arc::new(clock))
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn a_publication_applies_from_its_date_and_each_settlement_names_its_version(pool: PgPool) {
    let store = store(&pool).await;
    let publications = publications(&pool, &store);
    let old = store.settle(&request("M1", 200000), None).await.unwrap();
    let draft = publications
        .put_draft(&corrected(&publications, "2026-03-01").await, &hubei())
        .await
        .unwrap();
    assert_eq!(draft.seq, None, "a draft is not in force");
    let same = store.settle(&request("M2", 200000), None).await.unwrap();
    assert_eq!(same.policy_version, old.policy_version, "a draft changes nothing");
    let published = publications.publish(&draft.policy_id, &hubei()).await.unwrap();
    assert!(published.seq.is_some());
    // No restart: the store's book is the one the publication refreshed.
    let new = store.settle(&request("M3", 200000), None).await.unwrap();
    assert_eq!(new.policy_version, draft.policy_id);
    assert!(new.breakdown.hifp_pay > old.breakdown.hifp_pay, "{new:?}");
    let earlier =
        SettleRequest { visit_date: Some("2026-02-20".parse().unwrap()), ..request("M4", 200000) };
    let earlier = store.settle(&earlier, None).await.unwrap();
    assert_eq!(earlier.policy_version, old.policy_version, "a visit before it keeps the old one");
    // Each id resolves to the document it was computed under, by its hash.
    for id in [&old.policy_version, &new.policy_version] {
        let row = publications.get(id).await.unwrap();
        let document = crate::policy::Document::parse(&row.document).unwrap();
        let sha = {
            use sha2::Digest as _;
            sha2::Sha256::digest(row.document.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        assert_eq!(row.sha256, sha);
        assert!(id.starts_with("420200-310-") && id.ends_with(&sha[..12]), "{id}");
        assert_eq!(document.region(), "420200");
    }
    // Published is final: the table refuses a change.
    let changed = sqlx::query("UPDATE policy_documents SET label = 'x' WHERE policy_id = $1")
        .bind(&draft.policy_id)
        .execute(&pool)
        .await;
    assert!(changed.is_err());
    // Every settlement computes again to its stored breakdown, to the fen.
    let month = crate::preview::Month::parse("2026-03").unwrap();
    let verified = crate::preview::verify(&pool, &store.book().current(), month).await.unwrap();
    assert_eq!((verified.checked, verified.skipped), (4, 0));
    assert!(verified.mismatched.is_empty(), "{verified:?}");
    // The audit trail has the draft and the publication, with who and the hash.
    let audit: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT actor, action, sha256 FROM policy_audit WHERE policy_id = $1 ORDER BY id",
    )
    .bind(&draft.policy_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    let actions: Vec<&str> = audit.iter().map(|(_, a, _)| a.as_str()).collect();
    assert_eq!(actions, ["draft", "publish"]);
    assert!(audit.iter().all(|(who, _, sha)| who == "op-1@420000" && *sha == draft.sha256));
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn only_the_regions_own_province_publishes_and_floors_are_enforced(pool: PgPool) {
    let store = store(&pool).await;
    let publications = publications(&pool, &store);
    let text = corrected(&publications, "2026-04-01").await;
    let guangdong =
        crate::publication::Actor { operator_id: "op-9".into(), province: Some("440000".into()) };
    let national = crate::publication::Actor { operator_id: "op-0".into(), province: None };
    for actor in [&guangdong, &national] {
        let refused = publications.put_draft(&text, actor).await.unwrap_err();
        assert_eq!(refused.reason(), "forbidden", "{refused}");
    }
    // A Guangdong city below its province's floors (employees ≥ 80 %): refused at validation,
    // naming the field and the floor.
    let mut city = (*store
        .book()
        .current()
        .policy_for("440300", "310", "2026-03-01".parse().unwrap())
        .unwrap()
        .policy)
        .clone();
    city.region = "440300".into();
    city.inpatient.bands[0].segments[0].ratio = Decimal::new(75, 2);
    let text = crate::policy::Document::Policy(Box::new(city)).canonical().unwrap();
    let validation = publications.validate(&text);
    assert!(validation.document.is_none());
    let problem = &validation.problems.0[0];
    assert_eq!(
        (problem.field.as_str(), problem.reason),
        ("inpatient.bands[0].segments[0].ratio", "below_floor")
    );
    assert!(problem.message.contains("0.80"), "{}", problem.message);
    let refused = publications.put_draft(&text, &guangdong).await.unwrap_err();
    assert_eq!(refused.reason(), "below_floor");
    assert_eq!(count(&pool, "policy_documents WHERE created_by <> 'seed'").await, 0);
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn a_preview_shows_the_difference_and_writes_nothing(pool: PgPool) {
    let store = store(&pool).await;
    let publications = publications(&pool, &store);
    for i in 0..3 {
        store.settle(&request(&format!("M{i}"), 200000 + i * 1000), None).await.unwrap();
    }
    let draft = publications
        .put_draft(&corrected(&publications, "2026-04-01").await, &hubei())
        .await
        .unwrap();
    let document = crate::policy::Document::parse(&draft.document).unwrap();
    let crate::policy::Document::Policy(policy) = document else { panic!("a policy") };
    let tables = "settlements, accumulators, persons, events, outbox, setldetail";
    let digest = |pool: PgPool| async move {
        let mut digest = Vec::new();
        for table in tables.split(", ") {
            let text: Option<String> = sqlx::query_scalar(&format!(
                "SELECT string_agg(t::text, '|' ORDER BY t::text) FROM {table} t"
            ))
            .fetch_one(&pool)
            .await
            .unwrap();
            digest.push(text.unwrap_or_default());
        }
        digest
    };
    let before = digest(pool.clone()).await;
    let month = crate::preview::Month::parse("2026-03").unwrap();
    let (preview, _) =
        crate::preview::preview(&pool, &store.book().current(), &policy, month).await.unwrap();
    assert_eq!(digest(pool.clone()).await, before, "a preview writes nothing");
    assert_eq!((preview.settlements, preview.persons, preview.persons_affected), (3, 1, 1));
    let hifp = preview.funds.iter().find(|(f, _)| *f == "hifp_pay").unwrap().1;
    assert!(hifp.after > hifp.before, "{preview:?}");
    assert_eq!(preview.largest.len(), 1);
    assert_eq!(preview.provinces.keys().collect::<Vec<_>>(), ["440000"]);
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn another_instance_on_the_database_sees_a_publication_at_its_next_look(pool: PgPool) {
    let here = store(&pool).await;
    let there = store(&pool).await; // another routing instance: a book of its own
    let publications = publications(&pool, &here);
    let draft = publications
        .put_draft(&corrected(&publications, "2026-03-01").await, &hubei())
        .await
        .unwrap();
    publications.publish(&draft.policy_id, &hubei()).await.unwrap();
    let date = "2026-03-02".parse().unwrap();
    let seen =
        |store: &Settlements| store.book().current().policy_for("420200", "310", date).unwrap().id;
    assert_eq!(seen(&here), draft.policy_id, "the publishing instance at once");
    assert_ne!(seen(&there), draft.policy_id, "the other one at its next look…");
    crate::publication::refresh(&pool, there.book()).await.unwrap();
    assert_eq!(seen(&there), draft.policy_id, "…which finds it (every POLICY_REFRESH)");
    let settled = there.settle(&request("M1", 200000), None).await.unwrap();
    assert_eq!(settled.policy_version, draft.policy_id);
}
