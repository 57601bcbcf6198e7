//! `medclear bench preview`: re-adjudication of a past month under a draft policy (issue
//! "policies owned by the bureaus": at least 20,000 settlements a second on 2 cores).
//!
//! Setup (not timed): a fresh routing database (a new database on the server of
//! `DATABASE_URL`, else an embedded one) with its seeded policies; `persons` Huangshi
//! employees, each with settlements spread over January to June 2026 — 10 fee lines each,
//! inpatient, outpatient, chronic and pharmacy visits — computed by the calculator under the
//! published Huangshi policy and stored as the settle path stores them (lines, inputs,
//! breakdown, contribution, the policy id). Timed: `PreviewPolicy`'s work for June under a
//! corrected draft (every inpatient ratio 3 points higher): reading the year's settlements of
//! the region, computing each twice (under the draft and under its recorded version), and the
//! totals. Printed: settlements of the month, settlements re-adjudicated (the year's earlier
//! ones included) and that figure per second, best and median of the runs.

use std::time::Instant;

use chrono::{NaiveDate, TimeZone};
use medclear_common::{Error, Result, clock::CHINA};
use medclear_routing::{
    calc::{self, Accumulators, CoverageClass, FilingKind, Line, MedType, Person, Visit},
    model::{PriceFen, Quantity},
    policy::HospitalLevel,
    preview::{self, Month},
    publication,
    settlement::Inputs,
};
use rust_decimal::Decimal;

use crate::{
    bench_settle::next,
    measure::{bench_db, machine, ms, per_second},
    up::{self, UpOptions},
};

/// `medclear bench preview`.
pub(crate) async fn run(persons: usize, per_person: usize, runs: usize) -> Result<()> {
    let db = bench_db().await?;
    println!("machine:  {}", machine());
    println!("database: {}", db.describe());
    let options = UpOptions::loopback(db.dir.clone(), db.databases.clone());
    let (config, database, _) = up::database("routing", &options).await?;
    let outcome = async {
        let pool = medclear_routing::connect(&config).await?;
        let outcome = measure(&pool, persons, per_person, runs).await;
        pool.close().await;
        outcome
    }
    .await;
    database.stop().await;
    db.drop_all().await?;
    outcome
}

fn line(state: &mut u64) -> Result<Line> {
    let class = match next(state, 10) {
        0..=5 => CoverageClass::A,
        6..=8 => CoverageClass::B,
        _ => CoverageClass::C,
    };
    let price = i64::try_from(500 + next(state, 200_000)).unwrap_or(500);
    Ok(Line {
        price_fen: PriceFen::try_from(price).map_err(|e| Error::Internal(format!("{e:?}")))?,
        quantity: Quantity::try_from(Decimal::from(1 + next(state, 3)))
            .map_err(|e| Error::Internal(format!("{e:?}")))?,
        class,
        selfpay_ratio: if class == CoverageClass::B { Decimal::new(10, 2) } else { Decimal::ZERO },
        price_cap_fen: None,
    })
}

fn visit(state: &mut u64) -> Visit {
    let (med_type, disease) = match next(state, 10) {
        0..=2 => (MedType::Inpatient, None),
        3..=6 => (MedType::GeneralOutpatient, None),
        7 => (MedType::ChronicOutpatient, Some("I10.x00".to_owned())),
        _ => (MedType::Pharmacy, None),
    };
    Visit {
        med_type,
        hospital_level: [HospitalLevel::Tertiary, HospitalLevel::Secondary][next(state, 2)],
        filing: [FilingKind::LongTerm, FilingKind::ReferralOrEmergency][next(state, 2)],
        use_account: next(state, 2) == 0,
        disease,
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

/// Stores the synthetic year; returns how many settlements.
async fn fill(
    pool: &sqlx::PgPool,
    policy_id: &str,
    persons: usize,
    per_person: usize,
) -> Result<usize> {
    let book = publication::load(pool).await?;
    let policy = book.current().policy(policy_id)?.policy;
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let provinces = ["110000", "310000", "440000", "330000", "510000", "120000"];
    let mut stored = 0;
    for chunk in (0..persons).collect::<Vec<_>>().chunks(500) {
        let mut psn = Vec::new();
        let mut cols: [Vec<String>; 10] = Default::default();
        let mut times = Vec::new();
        let mut amounts: [Vec<i64>; 4] = Default::default();
        for &n in chunk {
            let psn_no = format!("P42B{n:08}");
            psn.push(psn_no.clone());
            let person = Person {
                retired: next(&mut state, 4) == 0,
                account_balance_fen: i64::try_from(next(&mut state, 500_000)).unwrap_or(0),
                assistance_category: (next(&mut state, 30) == 0).then(|| "low_income".to_owned()),
            };
            let mut before = Accumulators::default();
            for k in 0..per_person {
                let lines = (0..10).map(|_| line(&mut state)).collect::<Result<Vec<_>>>()?;
                let visit = visit(&mut state);
                let breakdown = calc::settle(&lines, &person, &before, &policy, &visit)?;
                let month = 1 + u32::try_from(k * 6 / per_person.max(1)).unwrap_or(0);
                let day = 1 + u32::try_from(next(&mut state, 27)).unwrap_or(0);
                let date = NaiveDate::from_ymd_opt(2026, month, day)
                    .ok_or_else(|| Error::Internal("date".into()))?;
                let at = CHINA
                    .from_local_datetime(&date.and_hms_opt(10, 0, 0).unwrap_or_default())
                    .single()
                    .map(|t| t.to_utc())
                    .ok_or_else(|| Error::Internal("time".into()))?;
                let setl_id = format!("S42B{n:08}{k:04}");
                let contribution = breakdown.accumulators.minus(&before);
                let row = [
                    setl_id.clone(),
                    psn_no.clone(),
                    provinces[next(&mut state, provinces.len())].to_owned(),
                    json(&lines)?,
                    json(&breakdown)?,
                    json(&contribution)?,
                    json(&Inputs { person: person.clone(), visit: visit.clone() })?,
                    visit.med_type.code().to_string(),
                    format!("M{setl_id}"),
                    policy_id.to_owned(),
                ];
                for (col, value) in cols.iter_mut().zip(row) {
                    col.push(value);
                }
                times.push(at);
                for (col, value) in amounts.iter_mut().zip([
                    breakdown.medfee_sumamt,
                    breakdown.fund_pay_sumamt,
                    breakdown.acct_pay,
                    breakdown.psn_cash_pay,
                ]) {
                    col.push(value);
                }
                before = breakdown.accumulators;
            }
        }
        sqlx::query(
            "INSERT INTO persons (psn_no, certno, psn_name, insutype, retired, insuplc_admdvs,
                 account_balance_fen, updated_at)
             SELECT p, 'C' || p, 'bench', '310', false, '420200', 0, now() FROM UNNEST($1::TEXT[]) p",
        )
        .bind(&psn)
        .execute(pool)
        .await?;
        stored += times.len();
        let [
            setl_id,
            psn_no,
            treating,
            lines,
            breakdown,
            contribution,
            inputs,
            clr_type,
            msgid,
            policy,
        ] = cols;
        let [medfee, fund, acct, cash] = amounts;
        sqlx::query(
            "INSERT INTO settlements (setl_id, sender, msgid, request_body, kind, psn_no,
                 insuplc_admdvs, mdtrtarea_admvs, year, setl_time, medfee_sumamt, fund_pay_sumamt,
                 acct_pay, psn_cash_pay, policy_version, lines, breakdown, contribution, answer,
                 clr_type, insutype, inputs)
             SELECT s, 'H44030000001', m, '', 'settlement', p, '420200', t, 2026, at, mf, f, a, c,
                 pv, l::jsonb, b::jsonb, co::jsonb, '{}', ct, '310', i::jsonb
             FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TIMESTAMPTZ[], $5::INT8[],
                 $6::INT8[], $7::INT8[], $8::INT8[], $9::TEXT[], $10::TEXT[], $11::TEXT[],
                 $12::TEXT[], $13::TEXT[], $14::TEXT[], $15::TEXT[])
                 AS u(s, m, p, at, mf, f, a, c, pv, l, b, co, ct, t, i)",
        )
        .bind(&setl_id)
        .bind(&msgid)
        .bind(&psn_no)
        .bind(&times)
        .bind(&medfee)
        .bind(&fund)
        .bind(&acct)
        .bind(&cash)
        .bind(&policy)
        .bind(&lines)
        .bind(&breakdown)
        .bind(&contribution)
        .bind(&clr_type)
        .bind(&treating)
        .bind(&inputs)
        .execute(pool)
        .await?;
    }
    sqlx::query("ANALYZE settlements").execute(pool).await?;
    Ok(stored)
}

async fn measure(
    pool: &sqlx::PgPool,
    persons: usize,
    per_person: usize,
    runs: usize,
) -> Result<()> {
    let june: NaiveDate = "2026-06-15".parse().map_err(|_| Error::Internal("date".into()))?;
    let book = publication::load(pool).await?;
    let in_force = book.current().policy_for("420200", "310", june)?;
    let started = Instant::now();
    let stored = fill(pool, &in_force.id, persons, per_person).await?;
    println!(
        "stored:   {stored} settlements of {persons} Huangshi employees, January–June 2026, \
         10 lines each ({} s, not timed)",
        started.elapsed().as_secs()
    );
    let mut draft = (*in_force.policy).clone();
    draft.version = "bench-draft".into();
    for band in &mut draft.inpatient.bands {
        for segment in &mut band.segments {
            segment.ratio = (segment.ratio + Decimal::new(3, 2)).min(Decimal::ONE);
        }
    }
    let month = Month::parse("2026-06")?;
    let book = book.current();
    let mut rates = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let (result, _) = preview::preview(pool, &book, &draft, month).await?;
        let elapsed = started.elapsed();
        rates.push(per_second(result.replayed, elapsed));
        println!(
            "run:      {} settlements in June, {} re-adjudicated under both versions in {} ms: \
             {} per second",
            result.settlements,
            result.replayed,
            ms(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)),
            per_second(result.replayed, elapsed)
        );
        last = Some(result);
    }
    rates.sort_unstable();
    let median = rates[rates.len() / 2];
    let best = rates.last().copied().unwrap_or(0);
    if let Some(result) = last {
        let hifp = result.funds.iter().find(|(f, _)| *f == "hifp_pay").map(|(_, c)| c.change());
        println!(
            "preview:  {} persons, {} affected; pooling fund change {} fen",
            result.persons,
            result.persons_affected,
            hifp.unwrap_or(0)
        );
    }
    println!("result:   {median} settlements re-adjudicated per second (median), best {best}");
    Ok(())
}
