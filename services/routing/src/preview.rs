//! Re-adjudication: what a draft would have paid ([`preview`]), and whether stored settlements
//! compute again to what they say ([`verify`]). Nothing here writes.
//!
//! A preview takes every settlement of the draft's home region and insutype in a month and
//! computes it twice — under the draft and under the version it was settled with — each from
//! the person's accumulators at the start of the year: the year's earlier settlements are
//! computed again first, in order per person, so the draft's effect on the yearly totals
//! (deductibles paid, ceilings reached, layers' thresholds) carries into the month. Settlements
//! that were cancelled, and their cancellations, are left out of both. The draft applies to the
//! settlements whose version came from its region or a region above it (the province's or the
//! national default for a city's draft); a settlement under a more specific region's own
//! policy keeps it in both computations. The account pays from the balance each settlement
//! read.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Instant,
};

use chrono::{Datelike, NaiveDate, TimeZone};
use medclear_common::{Error, Result, clock::CHINA};
use sqlx::{FromRow, PgPool};

use crate::{
    calc::{self, Accumulators, Breakdown, Line},
    policies::Book,
    policy::{NATIONAL, Policy, lookup_chain},
    settlement::Inputs,
};

/// A month, `yyyy-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub first: NaiveDate,
    /// The first day of the next month.
    pub next: NaiveDate,
}

impl Month {
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = || {
            Error::invalid(
                "period",
                "invalid_period",
                format!("{} is not a month (yyyy-MM)", medclear_common::codes::shown(text)),
            )
        };
        let first = NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d")
            .map_err(|_| invalid())?;
        if !(2000..=2100).contains(&first.year()) {
            return Err(invalid());
        }
        let next = first.checked_add_months(chrono::Months::new(1)).ok_or_else(invalid)?;
        Ok(Self { first, next })
    }

    fn starts(date: NaiveDate) -> chrono::DateTime<chrono::Utc> {
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        CHINA.from_local_datetime(&midnight).single().map(|t| t.to_utc()).unwrap_or_default()
    }
}

/// One stored settlement, as re-adjudication reads it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub setl_id: String,
    pub psn_no: String,
    pub treating_province: String,
    pub policy_id: String,
    pub in_period: bool,
    pub lines: Vec<Line>,
    pub inputs: Inputs,
}

#[derive(FromRow)]
struct StoredRow {
    setl_id: String,
    psn_no: String,
    mdtrtarea_admvs: String,
    policy_version: String,
    in_period: bool,
    lines: String,
    inputs: String,
}

impl StoredRow {
    fn into_stored(self) -> Result<Stored> {
        let broken = |what: &str, e: serde_json::Error| {
            Error::Internal(format!("stored {what} of {}: {e}", self.setl_id))
        };
        let lines = serde_json::from_str(&self.lines).map_err(|e| broken("lines", e))?;
        let inputs = serde_json::from_str(&self.inputs).map_err(|e| broken("inputs", e))?;
        Ok(Stored {
            treating_province: format!("{}0000", self.mdtrtarea_admvs.get(..2).unwrap_or("00")),
            setl_id: self.setl_id,
            psn_no: self.psn_no,
            policy_id: self.policy_version,
            in_period: self.in_period,
            lines,
            inputs,
        })
    }
}

/// The amounts a preview totals, before (as settled) and after (under the draft).
pub const FUNDS: [&str; 7] = [
    "hifp_pay",
    "hifob_pay",
    "hifmi_pay",
    "maf_pay",
    "fund_pay_sumamt",
    "acct_pay",
    "psn_cash_pay",
];

fn amounts(b: &Breakdown) -> [i64; 7] {
    [b.hifp_pay, b.hifob_pay, b.hifmi_pay, b.maf_pay, b.fund_pay_sumamt, b.acct_pay, b.psn_cash_pay]
}

/// Before and after, in fen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Change {
    pub settlements: u64,
    pub before: i64,
    pub after: i64,
}

impl Change {
    pub fn change(&self) -> i64 {
        self.after - self.before
    }
}

/// What a draft would have changed in a month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    pub settlements: u64,
    pub replayed: u64,
    pub persons: u64,
    pub persons_affected: u64,
    /// Per fund of [`FUNDS`], in that order.
    pub funds: Vec<(&'static str, Change)>,
    /// `fund_pay_sumamt` per treating province.
    pub provinces: BTreeMap<String, Change>,
    /// The largest changes of `fund_pay_sumamt` per person, largest first (at most 20).
    pub largest: Vec<(String, Change)>,
}

/// How many persons' changes a preview lists.
pub const LARGEST: usize = 20;

/// Re-adjudicates `rows` (ordered by person, then as settled) under the versions they
/// recorded and, where `applies` says so, under `draft`.
pub fn replay(
    rows: &[Stored],
    recorded: &dyn Fn(&str) -> Result<Arc<Policy>>,
    draft: &Policy,
    applies: &dyn Fn(&Policy) -> bool,
) -> Result<Preview> {
    let mut preview = Preview::default();
    let mut funds = [(0i64, 0i64); 7];
    let mut persons: Vec<(String, Change)> = Vec::new();
    let mut policies: HashMap<&str, Arc<Policy>> = HashMap::new();
    let mut at = 0;
    while at < rows.len() {
        let psn_no = &rows[at].psn_no;
        let end =
            rows[at..].iter().position(|r| &r.psn_no != psn_no).map_or(rows.len(), |n| at + n);
        let (mut before, mut after) = (Accumulators::default(), Accumulators::default());
        let mut person = Change::default();
        let mut affected = false;
        for row in &rows[at..end] {
            let policy = match policies.get(row.policy_id.as_str()) {
                Some(policy) => policy.clone(),
                None => {
                    let policy = recorded(&row.policy_id)?;
                    policies.insert(row.policy_id.as_str(), policy.clone());
                    policy
                }
            };
            let under_draft = if applies(&policy) { draft } else { policy.as_ref() };
            let (person_in, visit) = (&row.inputs.person, &row.inputs.visit);
            let old = calc::settle(&row.lines, person_in, &before, &policy, visit)?;
            let new = calc::settle(&row.lines, person_in, &after, under_draft, visit)?;
            preview.replayed += 1;
            if row.in_period {
                preview.settlements += 1;
                let (a, b) = (amounts(&old), amounts(&new));
                for (total, (x, y)) in funds.iter_mut().zip(a.iter().zip(b)) {
                    total.0 += x;
                    total.1 += y;
                }
                affected |= a != b;
                person.settlements += 1;
                person.before += old.fund_pay_sumamt;
                person.after += new.fund_pay_sumamt;
                let province = preview.provinces.entry(row.treating_province.clone()).or_default();
                province.settlements += 1;
                province.before += old.fund_pay_sumamt;
                province.after += new.fund_pay_sumamt;
            }
            before = old.accumulators;
            after = new.accumulators;
        }
        if person.settlements > 0 {
            preview.persons += 1;
            if affected {
                preview.persons_affected += 1;
            }
            if person.change() != 0 {
                persons.push((psn_no.clone(), person));
            }
        }
        at = end;
    }
    persons.sort_by(|a, b| b.1.change().abs().cmp(&a.1.change().abs()).then_with(|| a.0.cmp(&b.0)));
    persons.truncate(LARGEST);
    preview.largest = persons;
    preview.funds = FUNDS
        .iter()
        .zip(funds)
        .map(|(name, (before, after))| {
            (*name, Change { settlements: preview.settlements, before, after })
        })
        .collect();
    Ok(preview)
}

/// The region prefix of a draft's home region: a county itself, a city's four digits, a
/// province's two, the national default's none.
fn region_prefix(region: &str) -> &str {
    if region == NATIONAL {
        ""
    } else if region.ends_with("0000") {
        &region[..2]
    } else if region.ends_with("00") {
        &region[..4]
    } else {
        region
    }
}

/// Re-adjudicates `month` of `draft`'s region and insutype (see the module).
pub async fn preview(
    pool: &PgPool,
    book: &Book,
    draft: &Policy,
    month: Month,
) -> Result<(Preview, u64)> {
    let started = Instant::now();
    let rows: Vec<StoredRow> = sqlx::query_as(
        "SELECT setl_id, psn_no, mdtrtarea_admvs, policy_version, setl_time >= $4 AS in_period,
             lines::text AS lines, inputs::text AS inputs
         FROM settlements
         WHERE year = $1 AND starts_with(insuplc_admdvs, $2) AND insutype = $3
             AND setl_time < $5 AND kind = 'settlement' AND cancelled_by IS NULL
             AND inputs IS NOT NULL
         ORDER BY psn_no, setl_time, setl_id",
    )
    .bind(month.first.year())
    .bind(region_prefix(&draft.region))
    .bind(&draft.insutype)
    .bind(Month::starts(month.first))
    .bind(Month::starts(month.next))
    .fetch_all(pool)
    .await?;
    let rows = rows.into_iter().map(StoredRow::into_stored).collect::<Result<Vec<_>>>()?;
    let chain = lookup_chain(&draft.region);
    let recorded = |id: &str| book.policy(id).map(|p| p.policy);
    let applies = |policy: &Policy| chain.contains(&policy.region);
    let preview = replay(&rows, &recorded, draft, &applies)?;
    Ok((preview, u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)))
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    pub checked: u64,
    pub skipped: u64,
    pub mismatched: Vec<String>,
}

#[derive(FromRow)]
struct VerifyRow {
    setl_id: String,
    policy_version: String,
    lines: String,
    inputs: Option<String>,
    breakdown: String,
    contribution: String,
}

/// Computes every settlement made in `month` again, under the version it recorded, from the
/// accumulators it started from (its own after less its contribution), and compares the whole
/// breakdown with the stored one.
pub async fn verify(pool: &PgPool, book: &Book, month: Month) -> Result<Verified> {
    let rows: Vec<VerifyRow> = sqlx::query_as(
        "SELECT setl_id, policy_version, lines::text AS lines, inputs::text AS inputs,
             breakdown::text AS breakdown, contribution::text AS contribution
         FROM settlements
         WHERE kind = 'settlement' AND setl_time >= $1 AND setl_time < $2
         ORDER BY setl_time, setl_id",
    )
    .bind(Month::starts(month.first))
    .bind(Month::starts(month.next))
    .fetch_all(pool)
    .await?;
    let mut verified = Verified::default();
    for row in rows {
        let Some(inputs) = &row.inputs else {
            verified.skipped += 1;
            continue;
        };
        let broken = |what: &str, e: serde_json::Error| {
            Error::Internal(format!("stored {what} of {}: {e}", row.setl_id))
        };
        let inputs: Inputs = serde_json::from_str(inputs).map_err(|e| broken("inputs", e))?;
        let lines: Vec<Line> = serde_json::from_str(&row.lines).map_err(|e| broken("lines", e))?;
        let stored: Breakdown =
            serde_json::from_str(&row.breakdown).map_err(|e| broken("breakdown", e))?;
        let contribution: Accumulators =
            serde_json::from_str(&row.contribution).map_err(|e| broken("contribution", e))?;
        let before = stored.accumulators.minus(&contribution);
        let policy = book.policy(&row.policy_version)?.policy;
        let again = calc::settle(&lines, &inputs.person, &before, &policy, &inputs.visit)?;
        verified.checked += 1;
        if again != stored {
            verified.mismatched.push(row.setl_id);
        }
    }
    Ok(verified)
}

#[cfg(test)]
mod tests;
