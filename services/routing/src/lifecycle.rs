//! A hospital's visit from registration to settlement (DESIGN.md §4.3): register (2201/2401),
//! discharge (2402), cancel (2202/2404), upload and cancel fee lines (2204/2205, 2301/2302),
//! pre-settle (2206/2303), settle (2207/2304), cancel a settlement (2208/2305) and reverse by
//! the original msgid (2601).
//!
//! Each operation takes its request as validated by [`crate::model`] at the gRPC edge; what is
//! checked here is what only the stored state can tell (the visit's owner and state, a fee
//! date before the visit began, a line number uploaded before with other content).
//!
//! Pre-settling and settling read the visit, ask the filing service whether the patient is
//! covered in the treating region and the catalogue service what each line is, both over
//! gRPC, and hand the resolved lines to the settlement store, which computes one settlement:
//! [`Lifecycle::presettle`] answers it, [`Lifecycle::settle`] keeps it, once per msgid. A
//! cross-province patient without a filing (and not an emergency) is refused with the reason
//! — never settled at some lower rate. A filing or catalogue service that refuses is a refusal
//! (`upstream_refused`); one that cannot be reached, fails or does not answer within
//! [`DEPENDENCIES_WITHIN`] is not: nothing is done and the answer is `Unavailable`
//! (`upstream_unavailable`), to be sent again with the same msgid.

use std::{
    str::FromStr,
    time::{Duration, Instant},
};

use chrono::{Datelike, NaiveDate};
use medclear_common::{
    Error, Result,
    error::{UPSTREAM_UNAVAILABLE, status_reason},
    money,
    telemetry::{TraceContext, Traced},
};
use medclear_proto::{
    catalog::v1::{self as catalog, catalog_service_client::CatalogServiceClient},
    filing::v1::{self as filing, filing_service_client::FilingServiceClient},
};
use rust_decimal::Decimal;
use sqlx::PgPool;
use tonic::{Code, transport::Channel};

use crate::{
    calc::{self, CoverageClass, FilingKind, Line, MedType, Visit},
    institutions::Institution,
    model::{
        AccumulatorQuery, Cancellation, Discharge, FeeLineQuery, LineCancellation,
        PersonLinesQuery, Registration, Reversal, SettleCommand, Upload, VisitKey, VisitQuery,
        VisitUpdate, require_disease,
    },
    partition::new_id,
    policy::HospitalLevel,
    repo::{self, FeeLineRow, SettleInputs, VisitRow},
    settlement::{Read, SettleRequest, SettlementAnswer, Settlements},
};

/// A fee line as the catalogue resolved it: the calculator's line, the item's kind and its
/// national code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedLine {
    pub line: Line,
    pub kind: String,
    pub national_code: String,
    /// The catalogue's name of the item.
    pub name: String,
}

/// An uploaded line classified: its parts as the settlement computes them (all of it in
/// `total` when the catalogue refused it, with the refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub feedetl_sn: String,
    pub parts: calc::LineParts,
    pub resolved: Option<ResolvedLine>,
    pub refusal: Option<String>,
}

/// What an upload answers: the visit's active lines, their total, and each uploaded line
/// classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub lines: usize,
    pub total_fen: i64,
    pub classified: Vec<Classified>,
}

/// Most lines one ResolveLines call carries: the catalogue's limit (`MAX_LINES` there).
const RESOLVE_BATCH: usize = 1_000;

/// How long pre-settling or settling waits for the filing and catalogue services, all their
/// calls together: well within the deadline of the gateway's call to routing (15 s), so a
/// hung dependency is answered as `upstream_unavailable` (nothing done) rather than lost in
/// the gateway's timeout.
pub const DEPENDENCIES_WITHIN: Duration = Duration::from_secs(8);

/// How a visit is covered, as the filing service said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Covered {
    pub basis: String,
    pub filing: FilingKind,
}

/// What pre-settling or settling a visit answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub answer: SettlementAnswer,
    /// `filing`, `late_filing`, `emergency_unfiled` or `same_province`; empty when a retry got
    /// the stored answer.
    pub coverage_basis: String,
}

/// A visit read for settling: what it was read with, and the accumulator year it was read for.
struct ReadVisit {
    year: i32,
    inputs: SettleInputs,
}

/// A visit ready for the settlement store: the request to compute, what it computes from,
/// and how the visit is covered.
struct Ready {
    request: SettleRequest,
    read: Read,
    basis: String,
}

/// Most visits one listing answers (5201).
pub const MAX_VISITS: i64 = 1_000;

/// A visit's fee line as 5204 lists it: its amount, and how the settlement that settled it
/// classified and split it (`None`: no settlement has — the visit is not settled, or the line
/// is cancelled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedLine {
    pub row: FeeLineRow,
    pub amount_fen: i64,
    pub settled: Option<(Line, crate::calc::LineParts)>,
}

/// A visit and its fee lines, by line number, cancelled ones too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitLines {
    pub visit: VisitRow,
    pub lines: Vec<ListedLine>,
}

/// Most lines one person's listing answers (5205).
pub const MAX_PERSON_LINES: usize = 5_000;

/// The kinds of catalogue item that are drugs: western, Chinese patent, herbal pieces.
const DRUG_KINDS: [&str; 3] = ["western_drug", "patent_drug", "herbal"];

/// The kind of item a national code names by its form (DESIGN.md §3: `X…` western drugs,
/// `Z…` Chinese patent drugs, `T…` herbal pieces, `C…` consumables, 15 digits a service):
/// what a settled line is when the catalogue no longer resolves it.
fn kind_of_code(code: &str) -> Option<&'static str> {
    match code.as_bytes().first()? {
        b'X' => Some("western_drug"),
        b'Z' => Some("patent_drug"),
        b'T' => Some("herbal"),
        b'C' => Some("consumable"),
        _ if code.len() == 15 && code.bytes().all(|b| b.is_ascii_digit()) => Some("service"),
        _ => None,
    }
}

/// A person's fee line of a settled visit (5205): the visit, the line as 5204 lists it, and
/// the item the catalogue resolves it to now (`None`: it does not; `kind` is then told by the
/// stored national code, if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonLine {
    pub visit: VisitRow,
    pub fixmedins_name: String,
    pub line: ListedLine,
    pub item: Option<ResolvedLine>,
    pub kind: Option<String>,
}

/// A person's accumulators of a year (5206), with the fund codes the policy in force gives
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearTotals {
    pub person: repo::PersonRow,
    pub year: i32,
    pub accumulators: crate::calc::Accumulators,
    /// The counters by what they count.
    pub counters: crate::calc::CounterTotals,
    /// 310100 (employees) or 390100 (residents): the scheme of the policy in force, else of
    /// the insutype.
    pub pooling_fund_pay_type: &'static str,
    /// The fund of each layer the policy in force names.
    pub layer_funds: std::collections::BTreeMap<String, &'static str>,
}

/// The visit lifecycle of one routing instance.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    pool: PgPool,
    store: Settlements,
    filing: FilingServiceClient<Traced>,
    catalog: CatalogServiceClient<Traced>,
}

fn unknown_institution(code: &str) -> Error {
    Error::not_found(
        "unknown_institution",
        format!("{code} is not a registered institution (medclear institutions import)"),
    )
}

/// What a failed call to the filing or catalogue service means for the caller: the service's
/// refusal of the request is a refusal (`upstream_refused`); a service that could not be
/// reached, failed or did not answer in time is transient (`upstream_unavailable`): nothing
/// was done, and the same request may go through later.
fn upstream(service: &str, status: &tonic::Status) -> Error {
    let reason = status_reason(status);
    match status.code() {
        Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::FailedPrecondition
        | Code::PermissionDenied
        | Code::OutOfRange
        | Code::Unauthenticated
        | Code::Unimplemented => Error::precondition(
            "upstream_refused",
            format!("the {service} service refused: {} ({reason})", status.message()),
        ),
        _ => {
            tracing::warn!(service, %status, "a dependency did not answer");
            Error::unavailable(
                UPSTREAM_UNAVAILABLE,
                format!(
                    "the {service} service could not be reached, failed or did not answer in \
                     time ({reason}: {}); nothing was done: send the request again with the \
                     same msgid",
                    status.message()
                ),
            )
        }
    }
}

/// A call to the filing or catalogue service that gives up at `until`.
fn within<T>(message: T, until: Instant) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let left = until.saturating_duration_since(Instant::now());
    request.set_timeout(left.max(Duration::from_millis(1)));
    request
}

/// Age in whole years on `on`, from the birth date inside an 18-character citizen ID.
fn age_on(certno: &str, on: NaiveDate) -> Option<u32> {
    let birth = NaiveDate::parse_from_str(certno.get(6..14)?, "%Y%m%d").ok()?;
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    u32::try_from(age).ok()
}

impl Lifecycle {
    pub fn new(pool: PgPool, store: Settlements, filing: Channel, catalog: Channel) -> Self {
        // Calls to the filing and catalogue services carry the caller's trace context.
        let filing = FilingServiceClient::with_interceptor(filing, TraceContext);
        let catalog = CatalogServiceClient::with_interceptor(catalog, TraceContext);
        Self { pool, store, filing, catalog }
    }

    /// The routing database's pool (re-adjudication reads settlements from it).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn store(&self) -> &Settlements {
        &self.store
    }

    /// Adds institutions to the registry (or replaces them by code): all of them, or none
    /// when one is malformed (named by its index).
    pub async fn import_institutions(&self, institutions: &[Institution]) -> Result<u64> {
        let mut seen = std::collections::HashSet::new();
        for (i, institution) in institutions.iter().enumerate() {
            let at = format!("institutions[{i}]");
            institution.validate(&at)?;
            if !seen.insert(institution.fixmedins_code.as_str()) {
                return Err(Error::invalid(
                    format!("{at}.fixmedins_code"),
                    "duplicate_row",
                    format!("{} appears twice", institution.fixmedins_code),
                ));
            }
        }
        let mut conn = self.pool.acquire().await?;
        repo::upsert_institutions(&mut conn, institutions, self.store.now()).await?;
        Ok(u64::try_from(institutions.len()).unwrap_or(u64::MAX))
    }

    /// The registered institution with this code.
    pub async fn institution(&self, code: &str) -> Result<Institution> {
        let mut conn = self.pool.acquire().await?;
        repo::institution(&mut conn, code).await?.ok_or_else(|| unknown_institution(code))
    }

    /// Registers a visit (2201/2401); the same msgid again returns the same visit.
    pub async fn register_visit(&self, new: Registration) -> Result<VisitRow> {
        let body = serde_json::to_string(&new).map_err(|e| Error::Internal(e.to_string()))?;
        let mut tx = self.pool.begin().await?;
        if let Some(earlier) =
            repo::visit_by_msgid(&mut tx, new.fixmedins_code.as_str(), &new.msgid).await?
        {
            if earlier.request_body != body {
                return Err(Error::already_exists(
                    "msgid_reused",
                    format!("msgid {} was used for another visit", new.msgid),
                ));
            }
            return Ok(earlier);
        }
        let person = repo::person(&mut tx, &new.psn_no).await?.ok_or_else(|| {
            Error::not_found("person_not_found", format!("no insured person {}", new.psn_no))
        })?;
        self.store.check_owned(&person.insuplc_admdvs)?;
        let hospital_level = match new.hospital_level {
            Some(level) => level,
            None => {
                let institution = repo::institution(&mut tx, new.fixmedins_code.as_str())
                    .await?
                    .ok_or_else(|| unknown_institution(new.fixmedins_code.as_str()))?;
                HospitalLevel::parse(&institution.hospital_level).ok_or_else(|| {
                    Error::Internal(format!("stored level {}", institution.hospital_level))
                })?
            }
        };
        let visit = VisitRow {
            mdtrt_id: new_id('V', &person.insuplc_admdvs),
            fixmedins_code: new.fixmedins_code,
            msgid: new.msgid,
            request_body: body,
            psn_no: new.psn_no,
            med_type: new.med_type,
            mdtrtarea_admvs: new.mdtrtarea_admvs,
            hospital_level,
            begin_date: new.begin_date,
            end_date: None,
            diagnosis_code: new.diagnosis_code,
            disease_code: new.disease_code,
            emergency: new.emergency,
            status: "open".into(),
            setl_id: None,
        };
        repo::insert_visit(&mut tx, &visit).await?;
        tx.commit().await?;
        Ok(visit)
    }

    /// The hospital's own visit, locked, in one of the `allowed` states.
    async fn own_visit(
        &self,
        conn: &mut sqlx::PgConnection,
        sender: &str,
        mdtrt_id: &str,
        allowed: &[&str],
    ) -> Result<VisitRow> {
        let visit = repo::lock_visit(conn, mdtrt_id)
            .await?
            .filter(|v| v.fixmedins_code.as_str() == sender)
            .ok_or_else(|| {
                Error::not_found("visit_not_found", format!("{sender} has no visit {mdtrt_id}"))
            })?;
        if !allowed.contains(&visit.status.as_str()) {
            return Err(Error::precondition(
                "visit_state",
                format!("visit {mdtrt_id} is {}", visit.status),
            ));
        }
        Ok(visit)
    }

    /// The visit's details after registration (2203): its medical type (outpatient types
    /// only change among themselves; an admission stays one), main diagnosis and disease.
    /// `None` or empty leaves a detail as it is.
    pub async fn update_visit(&self, update: &VisitUpdate) -> Result<VisitRow> {
        let mdtrt_id = update.mdtrt_id.as_str();
        let mut tx = self.pool.begin().await?;
        let visit =
            self.own_visit(&mut tx, &update.sender, mdtrt_id, &["open", "discharged"]).await?;
        let admission = visit.med_type == MedType::Inpatient;
        let med_type = update.med_type.unwrap_or(visit.med_type);
        if (med_type == MedType::Inpatient) != admission {
            return Err(Error::invalid(
                "med_type",
                "med_type_change",
                format!(
                    "visit {mdtrt_id} is {}: an admission and an outpatient visit are registered \
                     separately (2401 / 2201)",
                    if admission { "an admission" } else { "outpatient" }
                ),
            ));
        }
        let keep = |new: &str, old: &str| {
            if new.is_empty() { old.to_owned() } else { new.to_owned() }
        };
        let diagnosis = keep(&update.diagnosis_code, &visit.diagnosis_code);
        let disease = keep(&update.disease_code, &visit.disease_code);
        require_disease(med_type, &disease)?;
        let begin_date = update.begin_date.unwrap_or(visit.begin_date);
        if begin_date != visit.begin_date {
            Self::check_begin(&mut tx, &visit, begin_date).await?;
        }
        repo::update_visit_details(&mut tx, mdtrt_id, med_type, &diagnosis, &disease, begin_date)
            .await?;
        tx.commit().await?;
        Ok(VisitRow {
            med_type,
            diagnosis_code: diagnosis,
            disease_code: disease,
            begin_date,
            ..visit
        })
    }

    /// A visit may begin on `begin_date` (2403): not after its discharge, nor after a fee line
    /// it has.
    async fn check_begin(
        conn: &mut sqlx::PgConnection,
        visit: &VisitRow,
        begin_date: NaiveDate,
    ) -> Result<()> {
        let mdtrt_id = &visit.mdtrt_id;
        if let Some(end) = visit.end_date
            && end < begin_date
        {
            return Err(Error::invalid(
                "begin_date",
                "end_before_begin",
                format!("visit {mdtrt_id} was discharged on {end}, before {begin_date}"),
            ));
        }
        let lines = repo::fee_lines(conn, mdtrt_id).await?;
        if let Some(line) = lines.iter().filter(|l| !l.cancelled).find(|l| l.fee_date < begin_date)
        {
            return Err(Error::invalid(
                "begin_date",
                "invalid_date",
                format!(
                    "visit {mdtrt_id} has line {} of {}, before {begin_date}: cancel it first",
                    line.feedetl_sn, line.fee_date
                ),
            ));
        }
        Ok(())
    }

    /// Discharge (2402): an inpatient visit gets its end date.
    pub async fn discharge(&self, discharge: &Discharge) -> Result<VisitRow> {
        let Discharge { visit: VisitKey { sender, mdtrt_id }, end_date } = discharge;
        let end_date = *end_date;
        let mut tx = self.pool.begin().await?;
        let visit = self.own_visit(&mut tx, sender, mdtrt_id, &["open", "discharged"]).await?;
        if visit.med_type != MedType::Inpatient {
            return Err(Error::precondition(
                "not_inpatient",
                format!("visit {mdtrt_id} is not an admission"),
            ));
        }
        if end_date < visit.begin_date {
            return Err(Error::invalid(
                "end_date",
                "end_before_begin",
                format!("discharge {end_date} is before admission {}", visit.begin_date),
            ));
        }
        repo::update_visit(&mut tx, mdtrt_id, "discharged", Some(end_date)).await?;
        tx.commit().await?;
        Ok(VisitRow { status: "discharged".into(), end_date: Some(end_date), ..visit })
    }

    /// Cancel a visit that is not settled (2202/2404).
    pub async fn cancel_visit(&self, key: &VisitKey) -> Result<VisitRow> {
        let VisitKey { sender, mdtrt_id } = key;
        let mut tx = self.pool.begin().await?;
        let visit =
            self.own_visit(&mut tx, sender, mdtrt_id, &["open", "discharged", "cancelled"]).await?;
        repo::update_visit(&mut tx, mdtrt_id, "cancelled", visit.end_date).await?;
        tx.commit().await?;
        Ok(VisitRow { status: "cancelled".into(), ..visit })
    }

    /// Cancel a discharge (2405): the admission is open again, without its end date. A settled
    /// admission is refused (`already_settled`: cancel its settlement first, 2305); one that
    /// is open already is answered as it is (a retry).
    pub async fn cancel_discharge(&self, key: &VisitKey) -> Result<VisitRow> {
        let VisitKey { sender, mdtrt_id } = key;
        let mut tx = self.pool.begin().await?;
        let visit = self
            .own_visit(&mut tx, sender, mdtrt_id, &["open", "discharged", "settled", "cancelled"])
            .await?;
        Self::refuse_closed(&visit)?;
        if visit.med_type != MedType::Inpatient {
            return Err(Error::precondition(
                "not_inpatient",
                format!("visit {mdtrt_id} is not an admission"),
            ));
        }
        if visit.status == "open" {
            return Ok(visit);
        }
        repo::update_visit(&mut tx, mdtrt_id, "open", None).await?;
        tx.commit().await?;
        Ok(VisitRow { status: "open".into(), end_date: None, ..visit })
    }

    /// A hospital's visits of a person (5201), oldest first, at most [`MAX_VISITS`], with the
    /// person.
    pub async fn visits(&self, query: &VisitQuery) -> Result<(repo::PersonRow, Vec<VisitRow>)> {
        let mut conn = self.pool.acquire().await?;
        let person = repo::person(&mut conn, &query.psn_no).await?.ok_or_else(|| {
            Error::not_found("person_not_found", format!("no insured person {}", query.psn_no))
        })?;
        let filter = repo::VisitFilter {
            sender: &query.sender,
            psn_no: &query.psn_no,
            from: query.from,
            to: query.to,
            mdtrt_id: query.mdtrt_id.as_deref(),
            med_type: query.med_type,
            limit: MAX_VISITS,
        };
        let visits = repo::visits_of_person(&mut conn, &filter).await?;
        Ok((person, visits))
    }

    /// A hospital's visit's fee lines (5204), by line number, cancelled ones too; a settled
    /// visit's active lines each with the split its settlement computed (the settlement kept
    /// the lines it resolved in that order, and a settled visit's lines cannot change).
    pub async fn fee_lines(&self, query: &FeeLineQuery) -> Result<VisitLines> {
        let FeeLineQuery { visit: VisitKey { sender, mdtrt_id }, setl_id, psn_no } = query;
        let mut conn = self.pool.acquire().await?;
        let visit = repo::visit(&mut conn, mdtrt_id)
            .await?
            .filter(|v| v.fixmedins_code.as_str() == sender)
            .filter(|v| psn_no.as_ref().is_none_or(|p| *p == v.psn_no))
            .ok_or_else(|| {
                let of = psn_no.as_ref().map(|p| format!(" of {p}")).unwrap_or_default();
                Error::not_found("visit_not_found", format!("{sender} has no visit {mdtrt_id}{of}"))
            })?;
        if let Some(setl_id) = setl_id
            && visit.setl_id.as_ref() != Some(setl_id)
        {
            return Err(Error::not_found(
                "settlement_not_found",
                format!(
                    "{setl_id} is not the settlement of visit {mdtrt_id} now (cancelled since, or \
                     another visit's)"
                ),
            ));
        }
        let rows = repo::fee_lines(&mut conn, mdtrt_id).await?;
        let settled_by = visit.setl_id.as_deref().filter(|_| visit.status == "settled");
        let resolved: Vec<Line> = match settled_by {
            Some(setl_id) => {
                let lines = repo::settlement_lines(&mut conn, setl_id).await?.ok_or_else(|| {
                    Error::Internal(format!("visit {mdtrt_id} names no settlement {setl_id}"))
                })?;
                serde_json::from_value(lines).map_err(|e| {
                    Error::Internal(format!("stored lines of settlement {setl_id}: {e}"))
                })?
            }
            None => Vec::new(),
        };
        drop(conn);
        let active = rows.iter().filter(|r| !r.cancelled).count();
        if settled_by.is_some() && resolved.len() != active {
            return Err(Error::Internal(format!(
                "visit {mdtrt_id} has {active} lines, its settlement {}",
                resolved.len()
            )));
        }
        let mut resolved = resolved.into_iter();
        let lines = rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let amount_fen = money::line_amount_fen(row.price_fen.into(), row.quantity.into())
                    .map_err(|e| Error::Internal(format!("stored line {}: {e}", row.feedetl_sn)))?;
                // A cancelled line was not settled: it takes none of the settlement's lines.
                let line = if row.cancelled { None } else { resolved.next() };
                let settled = match line {
                    Some(line) => Some((line.clone(), crate::calc::line_parts(i, &line)?)),
                    None => None,
                };
                Ok(ListedLine { row, amount_fen, settled })
            })
            .collect::<Result<_>>()?;
        Ok(VisitLines { visit, lines })
    }

    /// A person's fee lines of settled visits of one medical type at any institution, with
    /// fee dates in the range (5205), by fee date, at most [`MAX_PERSON_LINES`]: only standing
    /// lines of settlements that stand, each with its settlement's split and the item the
    /// catalogue of the treating region resolves it to for its date; with `drugs_only`, only
    /// drugs. A person with none: no lines.
    pub async fn person_fee_lines(&self, query: &PersonLinesQuery) -> Result<Vec<PersonLine>> {
        let mut conn = self.pool.acquire().await?;
        let person = repo::person(&mut conn, &query.psn_no).await?.ok_or_else(|| {
            Error::not_found("person_not_found", format!("no insured person {}", query.psn_no))
        })?;
        self.store.check_owned(&person.insuplc_admdvs)?;
        let filter = repo::SettledVisitFilter {
            psn_no: &query.psn_no,
            med_type: query.med_type,
            from: query.from,
            to: query.to,
            limit: MAX_VISITS,
        };
        let visits = repo::settled_visits_of_person(&mut conn, &filter).await?;
        drop(conn);
        let in_range = |date: NaiveDate| {
            query.from.is_none_or(|from| date >= from) && query.to.is_none_or(|to| date <= to)
        };
        let until = Instant::now() + DEPENDENCIES_WITHIN;
        let mut found = Vec::new();
        for repo::VisitAt { visit, fixmedins_name } in visits {
            let key = VisitKey {
                sender: visit.fixmedins_code.to_string(),
                mdtrt_id: visit.mdtrt_id.clone(),
            };
            let query_lines = FeeLineQuery { visit: key, setl_id: None, psn_no: None };
            let VisitLines { visit: now, lines } = self.fee_lines(&query_lines).await?;
            // Cancelled since it was read: its settlement no longer stands.
            if now.status != "settled" || now.setl_id != visit.setl_id {
                continue;
            }
            let lines: Vec<ListedLine> = lines
                .into_iter()
                .filter(|l| !l.row.cancelled && l.settled.is_some() && in_range(l.row.fee_date))
                .collect();
            let rows: Vec<FeeLineRow> = lines.iter().map(|l| l.row.clone()).collect();
            let resolved = self.resolve_each(&now, &person, &rows, until).await?;
            for (line, item) in lines.into_iter().zip(resolved) {
                let item = item.ok();
                let kind = match &item {
                    Some(item) => Some(item.kind.clone()),
                    None => kind_of_code(&line.row.national_code).map(str::to_owned),
                };
                if query.drugs_only && !kind.as_deref().is_some_and(|k| DRUG_KINDS.contains(&k)) {
                    continue;
                }
                found.push(PersonLine {
                    visit: now.clone(),
                    fixmedins_name: fixmedins_name.clone().unwrap_or_default(),
                    line,
                    item,
                    kind,
                });
            }
            if found.len() >= MAX_PERSON_LINES {
                break;
            }
        }
        // Visits come by begin date and their lines by number: by fee date, stably.
        found.sort_by_key(|l| l.line.row.fee_date);
        found.truncate(MAX_PERSON_LINES);
        Ok(found)
    }

    /// A person's accumulators of a year (5206; this year when none is named), for a person
    /// this instance settles, with the fund codes of the policy in force that year (today,
    /// for this year).
    pub async fn accumulators(&self, query: &AccumulatorQuery) -> Result<YearTotals> {
        let today = self.store.today();
        let year = query.year.unwrap_or(today.year());
        let mut conn = self.pool.acquire().await?;
        let (person, accumulators) =
            repo::person_accumulators(&mut conn, &query.psn_no, year).await?.ok_or_else(|| {
                Error::not_found("person_not_found", format!("no insured person {}", query.psn_no))
            })?;
        drop(conn);
        self.store.check_owned(&person.insuplc_admdvs)?;
        let on = match year.cmp(&today.year()) {
            std::cmp::Ordering::Equal => Some(today),
            std::cmp::Ordering::Less => NaiveDate::from_ymd_opt(year, 12, 31),
            std::cmp::Ordering::Greater => NaiveDate::from_ymd_opt(year, 1, 1),
        };
        let book = self.store.book().current();
        let policy =
            on.and_then(|on| book.policy_for(&person.insuplc_admdvs, &person.insutype, on).ok());
        let pooling_fund_pay_type = match &policy {
            Some(p) => crate::calc::pooling_fund_pay_type(p.policy.scheme),
            None if person.insutype.starts_with("39") => "390100",
            None => "310100",
        };
        let layer_funds = policy
            .iter()
            .flat_map(|p| p.policy.layers.iter())
            .map(|l| (l.name.clone(), crate::calc::layer_fund_pay_type(l.fund)))
            .collect();
        Ok(YearTotals {
            counters: accumulators.counter_totals(),
            person,
            year,
            accumulators,
            pooling_fund_pay_type,
            layer_funds,
        })
    }

    /// Upload fee lines (2204/2301), each valid already ([`crate::model::FeeLine`]). A line
    /// number sent again with the same content changes nothing (retries are safe); with other
    /// content it is refused and nothing is written. Answers how many lines the visit has now
    /// and their total in fen, as the settlement will compute it.
    pub async fn upload_lines(&self, upload: &Upload) -> Result<Uploaded> {
        let mdtrt_id = upload.mdtrt_id.as_str();
        let mut tx = self.pool.begin().await?;
        let visit = self
            .own_visit(&mut tx, &upload.sender, mdtrt_id, &["open", "discharged", "settled"])
            .await?;
        let existing = repo::fee_lines(&mut tx, mdtrt_id).await?;
        // A settled visit takes no new line; the same lines sent again (a retry of a
        // pharmacy's 2102) change nothing and are answered again.
        if visit.status == "settled"
            && !upload.lines.iter().all(|line| {
                existing.iter().any(|old| {
                    !old.cancelled
                        && old.feedetl_sn == line.feedetl_sn
                        && old.local_code == line.local_code
                        && old.national_code == line.national_code
                        && old.price_fen == line.price_fen
                        && old.quantity.normalize() == line.quantity.normalize()
                        && old.fee_date == line.fee_date
                })
            })
        {
            return Err(Error::precondition(
                "visit_state",
                format!("visit {mdtrt_id} is settled: it takes no new fee lines"),
            ));
        }
        for (i, line) in upload.lines.iter().enumerate() {
            let field = || format!("lines[{i}]");
            if line.fee_date < visit.begin_date {
                return Err(Error::invalid(
                    field(),
                    "invalid_date",
                    format!("{}: fee date {} is before the visit began", field(), line.fee_date),
                ));
            }
            let row = FeeLineRow {
                feedetl_sn: line.feedetl_sn.clone(),
                local_code: line.local_code.clone(),
                national_code: line.national_code.clone(),
                price_fen: line.price_fen,
                quantity: line.quantity.normalize(),
                fee_date: line.fee_date,
                cancelled: false,
                chrg_bchno: line.chrg_bchno.clone(),
            };
            match existing.iter().find(|l| l.feedetl_sn == row.feedetl_sn) {
                Some(old)
                    if FeeLineRow { quantity: old.quantity.normalize(), ..old.clone() } == row => {}
                Some(_) => {
                    return Err(Error::already_exists(
                        "line_conflict",
                        format!("line {} was uploaded with other content", row.feedetl_sn),
                    ));
                }
                None => repo::insert_fee_line(&mut tx, mdtrt_id, &row).await?,
            }
        }
        let active: Vec<FeeLineRow> = repo::fee_lines(&mut tx, mdtrt_id)
            .await?
            .into_iter()
            .filter(|l| !l.cancelled)
            .collect();
        // The total as the settlement will compute it: each line rounded once by the one
        // money rule, then summed.
        let mut total: i64 = 0;
        for line in &active {
            let amount = money::line_amount_fen(line.price_fen.into(), line.quantity.into())
                .map_err(|e| {
                    Error::invalid(
                        "lines",
                        "amount_out_of_range",
                        format!("line {}: {e}", line.feedetl_sn),
                    )
                })?;
            total = total.checked_add(amount).ok_or_else(|| {
                Error::invalid(
                    "lines",
                    "amount_out_of_range",
                    format!("the lines of visit {mdtrt_id} total more than fen can hold"),
                )
            })?;
        }
        tx.commit().await?;
        // Each uploaded line as the catalogue classifies it now, with its parts as the
        // settlement will compute them. The lines are kept already: a catalogue out of reach
        // is transient, and the same upload sent again changes nothing.
        let uploaded: Vec<FeeLineRow> = upload
            .lines
            .iter()
            .filter_map(|u| active.iter().find(|a| a.feedetl_sn == u.feedetl_sn).cloned())
            .collect();
        let mut conn = self.pool.acquire().await?;
        let person = repo::person(&mut conn, &visit.psn_no)
            .await?
            .ok_or_else(|| Error::Internal(format!("visit {mdtrt_id} names no person")))?;
        drop(conn);
        let until = Instant::now() + DEPENDENCIES_WITHIN;
        let resolved = self.resolve_each(&visit, &person, &uploaded, until).await?;
        let mut classified = Vec::with_capacity(uploaded.len());
        for (i, (row, result)) in uploaded.iter().zip(resolved).enumerate() {
            let total = money::line_amount_fen(row.price_fen.into(), row.quantity.into())
                .map_err(|e| Error::invalid("lines", "amount_out_of_range", e.to_string()))?;
            classified.push(match result {
                Ok(r) => Classified {
                    feedetl_sn: row.feedetl_sn.clone(),
                    parts: calc::line_parts(i, &r.line)?,
                    resolved: Some(r),
                    refusal: None,
                },
                Err(why) => Classified {
                    feedetl_sn: row.feedetl_sn.clone(),
                    parts: calc::LineParts { total, ..calc::LineParts::default() },
                    resolved: None,
                    refusal: Some(why),
                },
            });
        }
        Ok(Uploaded { lines: active.len(), total_fen: total, classified })
    }

    /// Cancel fee lines (2205/2302): those named, or those of a charge batch, or (neither)
    /// all of them. A batch with no standing line is refused (`batch_not_found`): nothing of
    /// it was uploaded, or it was withdrawn already.
    pub async fn cancel_lines(&self, cancellation: &LineCancellation) -> Result<()> {
        let LineCancellation { visit: VisitKey { sender, mdtrt_id }, feedetl_sn, chrg_bchno } =
            cancellation;
        let mut tx = self.pool.begin().await?;
        self.own_visit(&mut tx, sender, mdtrt_id, &["open", "discharged"]).await?;
        let batch = chrg_bchno.as_deref().filter(|_| feedetl_sn.is_empty());
        let cancelled = repo::cancel_fee_lines(&mut tx, mdtrt_id, feedetl_sn, batch).await?;
        if let Some(batch) = batch
            && cancelled == 0
        {
            return Err(Error::not_found(
                "batch_not_found",
                format!("visit {mdtrt_id} has no standing lines of charge batch {batch}"),
            ));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether the visit is covered, by the filing service.
    async fn coverage(
        &self,
        visit: &VisitRow,
        home: &str,
        on: NaiveDate,
        until: Instant,
    ) -> Result<Covered> {
        let request = filing::CheckCoverageRequest {
            psn_no: visit.psn_no.clone(),
            insuplc_admdvs: home.to_owned(),
            mdtrtarea_admvs: visit.mdtrtarea_admvs.to_string(),
            date: on.to_string(),
            emergency: visit.emergency,
            admission_date: if visit.med_type == MedType::Inpatient {
                visit.begin_date.to_string()
            } else {
                String::new()
            },
        };
        let answer = self
            .filing
            .clone()
            .check_coverage(within(request, until))
            .await
            .map_err(|s| upstream("filing", &s))?
            .into_inner();
        if !answer.covered {
            return Err(Error::precondition("not_filed", answer.message));
        }
        if visit.med_type == MedType::ChronicOutpatient {
            let request = filing::CheckChronicFilingRequest {
                psn_no: visit.psn_no.clone(),
                disease_code: visit.disease_code.clone(),
                date: on.to_string(),
            };
            let chronic = self
                .filing
                .clone()
                .check_chronic_filing(within(request, until))
                .await
                .map_err(|s| upstream("filing", &s))?
                .into_inner();
            if !chronic.covered {
                return Err(Error::precondition("no_chronic_filing", chronic.message));
            }
        }
        let basis = medclear_proto::names::name_of_i32::<filing::CoverageBasis>(answer.basis);
        let kind = match filing::Category::try_from(answer.category)
            .unwrap_or(filing::Category::Unspecified)
        {
            filing::Category::Referral | filing::Category::Emergency => {
                FilingKind::ReferralOrEmergency
            }
            filing::Category::OtherTemporary => FilingKind::OtherTemporary,
            _ => FilingKind::LongTerm,
        };
        Ok(Covered { basis: basis.to_owned(), filing: kind })
    }

    /// Each line as the catalogue of the treating region resolves it — the calculator's line,
    /// and the item's kind and national code — or why it refused it.
    async fn resolve_each(
        &self,
        visit: &VisitRow,
        person: &repo::PersonRow,
        lines: &[FeeLineRow],
        until: Instant,
    ) -> Result<Vec<std::result::Result<ResolvedLine, String>>> {
        let Some(first) = lines.iter().map(|l| l.fee_date).min() else {
            return Ok(Vec::new());
        };
        let mut answers = Vec::with_capacity(lines.len());
        for batch in lines.chunks(RESOLVE_BATCH) {
            let request = catalog::ResolveLinesRequest {
                fixmedins_code: visit.fixmedins_code.to_string(),
                mdtrtarea_admvs: visit.mdtrtarea_admvs.to_string(),
                // Every line carries its own date and age; these are the defaults of lines
                // without.
                date: first.to_string(),
                hospital_level: visit.hospital_level.as_str().to_owned(),
                diagnosis_code: visit.diagnosis_code.clone(),
                patient_age: age_on(&person.certno, first),
                insutype: person.insutype.clone(),
                lines: batch
                    .iter()
                    .map(|l| catalog::LineInput {
                        line_no: l.feedetl_sn.clone(),
                        local_code: l.local_code.clone(),
                        national_code: l.national_code.clone(),
                        date: l.fee_date.to_string(),
                        patient_age: age_on(&person.certno, l.fee_date),
                    })
                    .collect(),
            };
            let answer = self
                .catalog
                .clone()
                .resolve_lines(within(request, until))
                .await
                .map_err(|s| upstream("catalogue", &s))?
                .into_inner();
            if answer.lines.len() != batch.len() {
                return Err(Error::Internal(format!(
                    "the catalogue answered {} lines for {}",
                    answer.lines.len(),
                    batch.len()
                )));
            }
            answers.extend(answer.lines);
        }
        lines
            .iter()
            .zip(answers)
            .map(|(line, result)| match result.outcome {
                Some(catalog::line_result::Outcome::Resolved(r)) => Ok(Ok(ResolvedLine {
                    line: Line {
                        price_fen: line.price_fen,
                        quantity: line.quantity,
                        class: match catalog::CoverageClass::try_from(r.class)
                            .unwrap_or(catalog::CoverageClass::C)
                        {
                            catalog::CoverageClass::A => CoverageClass::A,
                            catalog::CoverageClass::B => CoverageClass::B,
                            _ => CoverageClass::C,
                        },
                        selfpay_ratio: Decimal::from_str(&r.selfpay_ratio).map_err(|e| {
                            Error::Internal(format!("ratio from the catalogue: {e}"))
                        })?,
                        price_cap_fen: r.price_cap_fen,
                    },
                    kind: medclear_proto::names::name_of_i32::<catalog::ItemKind>(r.kind)
                        .to_owned(),
                    national_code: r.national_code,
                    name: r.name,
                })),
                Some(catalog::line_result::Outcome::Error(e)) => {
                    Ok(Err(format!("{} ({})", e.reason, e.message)))
                }
                None => Ok(Err("no answer".to_owned())),
            })
            .collect()
    }

    /// The visit's active lines, resolved by the catalogue of the treating region, each under
    /// what is in force on its fee date — in one call, however many days the visit spans (one
    /// per [`RESOLVE_BATCH`] lines for the rare visit with more).
    async fn resolve(
        &self,
        visit: &VisitRow,
        person: &repo::PersonRow,
        lines: &[FeeLineRow],
        until: Instant,
    ) -> Result<Vec<Line>> {
        let mut resolved = Vec::with_capacity(lines.len());
        let mut refused = Vec::new();
        for (line, result) in
            lines.iter().zip(self.resolve_each(visit, person, lines, until).await?)
        {
            match result {
                Ok(r) => resolved.push(r.line),
                Err(why) => refused.push(format!("{}: {why}", line.feedetl_sn)),
            }
        }
        if !refused.is_empty() {
            return Err(Error::precondition(
                "lines_refused",
                format!("the catalogue refused lines — {}", refused.join("; ")),
            ));
        }
        Ok(resolved)
    }

    /// The visit `command` names, the sender's own, read with its active lines and its
    /// person's state in one plain read (the settlement's write checks again that the visit
    /// is not settled).
    async fn read_visit(&self, command: &SettleCommand) -> Result<ReadVisit> {
        let SettleCommand { sender, msgid, mdtrt_id, .. } = command;
        let year = self.store.year();
        let mut conn = self.pool.acquire().await?;
        let inputs = repo::settle_inputs(&mut conn, mdtrt_id, year, sender, msgid.as_str()).await?;
        drop(conn);
        let inputs =
            inputs.filter(|i| i.visit.fixmedins_code.as_str() == sender).ok_or_else(|| {
                Error::not_found("visit_not_found", format!("{sender} has no visit {mdtrt_id}"))
            })?;
        Ok(ReadVisit { year, inputs })
    }

    /// Refuses a visit that is settled or cancelled.
    fn refuse_closed(visit: &VisitRow) -> Result<()> {
        let mdtrt_id = &visit.mdtrt_id;
        match visit.status.as_str() {
            "settled" => Err(Error::precondition(
                "already_settled",
                format!(
                    "visit {mdtrt_id} is settled already ({})",
                    visit.setl_id.clone().unwrap_or_default()
                ),
            )),
            "cancelled" => {
                Err(Error::precondition("visit_state", format!("visit {mdtrt_id} is cancelled")))
            }
            _ => Ok(()),
        }
    }

    /// What the settlement store computes a visit's settlement from: its lines resolved by
    /// the catalogue, its coverage by the filing service, and the person's state as read.
    async fn ready(&self, command: &SettleCommand, read: ReadVisit) -> Result<Ready> {
        let ReadVisit { year, inputs: SettleInputs { visit, state, lines } } = read;
        if lines.is_empty() {
            return Err(Error::precondition(
                "no_lines",
                format!("visit {} has no fee lines (2204/2301 first)", visit.mdtrt_id),
            ));
        }
        let today = self.store.today();
        let on = visit.end_date.unwrap_or(today).max(visit.begin_date);
        let until = Instant::now() + DEPENDENCIES_WITHIN;
        let covered = self.coverage(&visit, &state.person.insuplc_admdvs, on, until).await?;
        let resolved = self.resolve(&visit, &state.person, &lines, until).await?;
        let request = SettleRequest {
            sender: visit.fixmedins_code,
            msgid: command.msgid.clone(),
            psn_no: visit.psn_no,
            mdtrtarea_admvs: visit.mdtrtarea_admvs,
            visit: Visit {
                med_type: visit.med_type,
                hospital_level: visit.hospital_level,
                filing: covered.filing,
                use_account: command.use_account,
                disease: Some(visit.disease_code.clone())
                    .filter(|d| visit.med_type == MedType::ChronicOutpatient && !d.is_empty()),
            },
            visit_date: Some(visit.begin_date),
            lines: resolved,
            replay_key: command.replay_key(),
            mdtrt_id: Some(visit.mdtrt_id),
            expected_medfee_fen: command.expected_medfee_fen,
        };
        Ok(Ready { request, read: Read { year, state }, basis: covered.basis })
    }

    /// Pre-settle a visit (2206/2303): the settlement [`Self::settle`] would make now, kept
    /// nowhere; refused (`amount_mismatch`) when its total is not the hospital's own.
    pub async fn presettle(&self, command: &SettleCommand) -> Result<Settled> {
        let read = self.read_visit(command).await?;
        Self::refuse_closed(&read.inputs.visit)?;
        let Ready { request, read, basis } = self.ready(command, read).await?;
        let answer = self.store.presettle(&request, Some(read)).await?;
        Ok(Settled { answer, coverage_basis: basis })
    }

    /// Settle a visit (2207/2304), once per msgid: a retry gets the stored answer, the same
    /// msgid for another request is refused. An admission settles once discharged. Refused
    /// (`amount_mismatch`, nothing written) when the total is not the hospital's own.
    pub async fn settle(&self, command: &SettleCommand) -> Result<Settled> {
        let read = self.read_visit(command).await?;
        let visit = &read.inputs.visit;
        // A retry of the settlement that settled it gets that settlement's answer.
        if visit.status == "settled"
            && let Some(answer) = self
                .store
                .replay(&command.sender, command.msgid.as_str(), &command.replay_key())
                .await?
        {
            return Ok(Settled { answer, coverage_basis: String::new() });
        }
        Self::refuse_closed(visit)?;
        if visit.med_type == MedType::Inpatient && visit.end_date.is_none() {
            return Err(Error::precondition(
                "not_discharged",
                format!("admission {} settles at discharge (2402 first)", visit.mdtrt_id),
            ));
        }
        let Ready { request, read, basis } = self.ready(command, read).await?;
        let answer = self.store.settle(&request, Some(read)).await?;
        Ok(Settled { answer, coverage_basis: basis })
    }

    /// Cancel a settlement (2208/2305); its visit is open for settling again.
    pub async fn cancel_settlement(&self, cancellation: &Cancellation) -> Result<SettlementAnswer> {
        self.store.cancel(cancellation).await
    }

    /// Reverse (2601): undo the settlement the hospital sent as `omsgid`.
    pub async fn reverse(&self, reversal: &Reversal) -> Result<SettlementAnswer> {
        let Reversal { sender, msgid, omsgid } = reversal;
        let mut conn = self.pool.acquire().await?;
        let original = repo::settlement_by_msgid(&mut conn, sender, omsgid)
            .await?
            .filter(|s| s.kind == "settlement")
            .ok_or_else(|| {
                Error::not_found(
                    "settlement_not_found",
                    format!("{sender} sent no settlement as {omsgid}"),
                )
            })?;
        drop(conn);
        let cancellation = Cancellation {
            sender: sender.clone(),
            msgid: msgid.clone(),
            setl_id: original.setl_id,
        };
        self.store.cancel(&cancellation).await
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod failures {
    use super::*;
    use medclear_common::error::status_reason;

    #[test]
    fn a_dependency_down_is_transient_and_its_refusal_is_a_refusal() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let down = tonic::Status::from_error(Box::new(tonic::ConnectError(Box::new(refused))));
        let late = tonic::Status::from_error(Box::new(tonic::TimeoutExpired(())));
        let failed = tonic::Status::from(Error::Internal("its database is down".into()));
        for status in [down, late, failed] {
            let answered = tonic::Status::from(upstream("filing", &status));
            assert_eq!(answered.code(), Code::Unavailable, "{status:?}");
            assert_eq!(status_reason(&answered), UPSTREAM_UNAVAILABLE);
            assert!(answered.message().contains("same msgid"), "{}", answered.message());
        }
        let refusal = tonic::Status::from(Error::invalid("date", "invalid_date", "not a date"));
        let answered = tonic::Status::from(upstream("filing", &refusal));
        assert_eq!(answered.code(), Code::FailedPrecondition);
        assert_eq!(status_reason(&answered), "upstream_refused");
    }
}

#[cfg(test)]
mod kinds {
    use super::*;

    #[test]
    fn a_national_code_tells_its_kind_by_its_form() {
        assert_eq!(kind_of_code("XL02BBA326A001010102180"), Some("western_drug"));
        assert_eq!(kind_of_code("ZA01AAA0001010100000001"), Some("patent_drug"));
        assert_eq!(kind_of_code("T000100001"), Some("herbal"));
        assert_eq!(kind_of_code("C0101010011303807555"), Some("consumable"));
        assert_eq!(kind_of_code("003401000230600"), Some("service"));
        assert_eq!(kind_of_code(""), None);
        assert_eq!(kind_of_code("L001"), None);
    }
}
