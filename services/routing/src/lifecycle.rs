//! A hospital's visit from registration to settlement (DESIGN.md §4.3): register (2201/2401),
//! discharge (2402), cancel (2202/2404), upload and cancel fee lines (2204/2205, 2301/2302),
//! pre-settle (2206/2303), settle (2207/2304), cancel a settlement (2208/2305) and reverse by
//! the original msgid (2601).
//!
//! Settling asks the filing service whether the patient is covered in the treating region and
//! the catalogue service what each line is, both over gRPC, then hands the resolved lines to
//! the settlement store. A cross-province patient without a filing (and not an emergency) is
//! refused with the reason — never settled at some lower rate.

use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use medclear_common::{
    Error, Result,
    codes::{Admdvs, FixmedinsCode},
    error::status_reason,
    money,
    telemetry::{TraceContext, Traced},
};
use medclear_proto::{
    catalog::v1::{self as catalog, catalog_service_client::CatalogServiceClient},
    filing::v1::{self as filing, filing_service_client::FilingServiceClient},
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tonic::transport::Channel;

use crate::{
    calc::{CoverageClass, FilingKind, Line, MedType, Visit},
    institutions::Institution,
    partition::new_id,
    policy::HospitalLevel,
    repo::{self, FeeLineRow, VisitRow},
    settlement::{Read, SettleRequest, SettlementAnswer, Settlements},
};

/// A visit to register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVisit {
    pub fixmedins_code: String,
    pub msgid: String,
    pub psn_no: String,
    pub med_type: MedType,
    pub mdtrtarea_admvs: String,
    /// `None`: the level the institution registry has for `fixmedins_code`.
    pub hospital_level: Option<HospitalLevel>,
    pub begin_date: NaiveDate,
    pub diagnosis_code: String,
    pub emergency: bool,
    pub disease_code: String,
}

/// A fee line as the hospital uploads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFeeLine {
    pub feedetl_sn: String,
    pub local_code: String,
    pub national_code: String,
    pub price_fen: i64,
    pub quantity: Decimal,
    pub fee_date: NaiveDate,
}

/// Most lines one ResolveLines call carries: the catalogue's limit (`MAX_LINES` there).
const RESOLVE_BATCH: usize = 1_000;

/// Quantities are stored as `NUMERIC(18, 4)`: below 10¹⁴.
const MAX_QUANTITY: i64 = 100_000_000_000_000;

/// How a visit is covered, as the filing service said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Covered {
    pub basis: String,
    pub filing: FilingKind,
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

fn upstream(service: &str, status: &tonic::Status) -> Error {
    Error::precondition(
        "upstream_refused",
        format!("the {service} service refused: {} ({})", status.message(), status_reason(status)),
    )
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
    pub async fn register_visit(&self, new: NewVisit) -> Result<VisitRow> {
        FixmedinsCode::parse(&new.fixmedins_code)
            .map_err(|e| Error::invalid("fixmedins_code", "invalid_code", e.to_string()))?;
        Admdvs::parse(&new.mdtrtarea_admvs)
            .map_err(|e| Error::invalid("mdtrtarea_admvs", "invalid_code", e.to_string()))?;
        if new.msgid.trim().is_empty() {
            return Err(Error::invalid("msgid", "missing_field", "msgid is required"));
        }
        if new.med_type == MedType::ChronicOutpatient && new.disease_code.trim().is_empty() {
            return Err(Error::invalid(
                "disease_code",
                "missing_field",
                "a chronic-disease visit names its disease_code",
            ));
        }
        let body = serde_json::to_string(&new).map_err(|e| Error::Internal(e.to_string()))?;
        let mut tx = self.pool.begin().await?;
        if let Some(earlier) =
            repo::visit_by_msgid(&mut tx, &new.fixmedins_code, &new.msgid).await?
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
                let institution = repo::institution(&mut tx, &new.fixmedins_code)
                    .await?
                    .ok_or_else(|| unknown_institution(&new.fixmedins_code))?;
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
            med_type: new.med_type.code(),
            mdtrtarea_admvs: new.mdtrtarea_admvs,
            hospital_level: hospital_level.as_str().to_owned(),
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
            .filter(|v| v.fixmedins_code == sender)
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
    pub async fn update_visit(
        &self,
        sender: &str,
        mdtrt_id: &str,
        med_type: Option<MedType>,
        diagnosis_code: &str,
        disease_code: &str,
    ) -> Result<VisitRow> {
        let mut tx = self.pool.begin().await?;
        let visit = self.own_visit(&mut tx, sender, mdtrt_id, &["open", "discharged"]).await?;
        let inpatient = MedType::Inpatient.code();
        let med_type = med_type.map_or(visit.med_type, MedType::code);
        if (med_type == inpatient) != (visit.med_type == inpatient) {
            return Err(Error::invalid(
                "med_type",
                "med_type_change",
                format!(
                    "visit {mdtrt_id} is {}: an admission and an outpatient visit are registered \
                     separately (2401 / 2201)",
                    if visit.med_type == inpatient { "an admission" } else { "outpatient" }
                ),
            ));
        }
        let keep = |new: &str, old: &str| {
            if new.trim().is_empty() { old.to_owned() } else { new.trim().to_owned() }
        };
        let diagnosis = keep(diagnosis_code, &visit.diagnosis_code);
        let disease = keep(disease_code, &visit.disease_code);
        if med_type == MedType::ChronicOutpatient.code() && disease.is_empty() {
            return Err(Error::invalid(
                "disease_code",
                "missing_field",
                "a chronic-disease visit names its disease_code",
            ));
        }
        repo::update_visit_details(&mut tx, mdtrt_id, med_type, &diagnosis, &disease).await?;
        tx.commit().await?;
        Ok(VisitRow { med_type, diagnosis_code: diagnosis, disease_code: disease, ..visit })
    }

    /// Discharge (2402): an inpatient visit gets its end date.
    pub async fn discharge(
        &self,
        sender: &str,
        mdtrt_id: &str,
        end_date: NaiveDate,
    ) -> Result<VisitRow> {
        let mut tx = self.pool.begin().await?;
        let visit = self.own_visit(&mut tx, sender, mdtrt_id, &["open", "discharged"]).await?;
        if visit.med_type != 21 {
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
    pub async fn cancel_visit(&self, sender: &str, mdtrt_id: &str) -> Result<VisitRow> {
        let mut tx = self.pool.begin().await?;
        let visit =
            self.own_visit(&mut tx, sender, mdtrt_id, &["open", "discharged", "cancelled"]).await?;
        repo::update_visit(&mut tx, mdtrt_id, "cancelled", visit.end_date).await?;
        tx.commit().await?;
        Ok(VisitRow { status: "cancelled".into(), ..visit })
    }

    /// Upload fee lines (2204/2301). A line number sent again with the same content changes
    /// nothing (retries are safe); with other content it is refused and nothing is written.
    pub async fn upload_lines(
        &self,
        sender: &str,
        mdtrt_id: &str,
        lines: &[NewFeeLine],
    ) -> Result<(usize, i64)> {
        let mut tx = self.pool.begin().await?;
        let visit = self.own_visit(&mut tx, sender, mdtrt_id, &["open", "discharged"]).await?;
        let existing = repo::fee_lines(&mut tx, mdtrt_id).await?;
        for (i, line) in lines.iter().enumerate() {
            let field = || format!("lines[{i}]");
            if line.feedetl_sn.trim().is_empty() || line.local_code.trim().is_empty() {
                return Err(Error::invalid(
                    field(),
                    "missing_field",
                    format!("{}: feedetl_sn and local_code are required", field()),
                ));
            }
            if line.price_fen <= 0 {
                return Err(Error::invalid(
                    field(),
                    "invalid_price",
                    format!("{}: the price must be above 0", field()),
                ));
            }
            if line.quantity <= Decimal::ZERO {
                return Err(Error::invalid(
                    field(),
                    "invalid_quantity",
                    format!("{}: the quantity must be above 0", field()),
                ));
            }
            if line.quantity >= Decimal::from(MAX_QUANTITY) {
                return Err(Error::invalid(
                    field(),
                    "invalid_quantity",
                    format!("{}: the quantity must be below {MAX_QUANTITY}", field()),
                ));
            }
            // The amount the settlement will bill, refused here when fen cannot hold it.
            money::line_amount_fen(line.price_fen, line.quantity).map_err(|e| {
                Error::invalid(field(), "amount_out_of_range", format!("{}: {e}", field()))
            })?;
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
            let amount = money::line_amount_fen(line.price_fen, line.quantity).map_err(|e| {
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
        Ok((active.len(), total))
    }

    /// Cancel fee lines (2205/2302); none named: all of them.
    pub async fn cancel_lines(
        &self,
        sender: &str,
        mdtrt_id: &str,
        feedetl_sn: &[String],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        self.own_visit(&mut tx, sender, mdtrt_id, &["open", "discharged"]).await?;
        repo::cancel_fee_lines(&mut tx, mdtrt_id, feedetl_sn).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the visit is covered, by the filing service.
    async fn coverage(&self, visit: &VisitRow, home: &str, on: NaiveDate) -> Result<Covered> {
        let request = filing::CheckCoverageRequest {
            psn_no: visit.psn_no.clone(),
            insuplc_admdvs: home.to_owned(),
            mdtrtarea_admvs: visit.mdtrtarea_admvs.clone(),
            date: on.to_string(),
            emergency: visit.emergency,
            admission_date: if visit.med_type == 21 {
                visit.begin_date.to_string()
            } else {
                String::new()
            },
        };
        let answer = self
            .filing
            .clone()
            .check_coverage(request)
            .await
            .map_err(|s| upstream("filing", &s))?
            .into_inner();
        if !answer.covered {
            return Err(Error::precondition("not_filed", answer.message));
        }
        if visit.med_type == 14 {
            let request = filing::CheckChronicFilingRequest {
                psn_no: visit.psn_no.clone(),
                disease_code: visit.disease_code.clone(),
                date: on.to_string(),
            };
            let chronic = self
                .filing
                .clone()
                .check_chronic_filing(request)
                .await
                .map_err(|s| upstream("filing", &s))?
                .into_inner();
            if !chronic.covered {
                return Err(Error::precondition("no_chronic_filing", chronic.message));
            }
        }
        let basis = match filing::CoverageBasis::try_from(answer.basis)
            .unwrap_or(filing::CoverageBasis::Unspecified)
        {
            filing::CoverageBasis::Filing => "filing",
            filing::CoverageBasis::LateFiling => "late_filing",
            filing::CoverageBasis::EmergencyUnfiled => "emergency_unfiled",
            filing::CoverageBasis::SameProvince => "same_province",
            filing::CoverageBasis::Unspecified => "",
        };
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

    /// The visit's active lines, resolved by the catalogue of the treating region, each under
    /// what is in force on its fee date — in one call, however many days the visit spans (one
    /// per [`RESOLVE_BATCH`] lines for the rare visit with more).
    async fn resolve(
        &self,
        visit: &VisitRow,
        person: &repo::PersonRow,
        lines: &[FeeLineRow],
    ) -> Result<Vec<Line>> {
        let Some(first) = lines.iter().map(|l| l.fee_date).min() else {
            return Ok(Vec::new());
        };
        let mut answers = Vec::with_capacity(lines.len());
        for batch in lines.chunks(RESOLVE_BATCH) {
            let request = catalog::ResolveLinesRequest {
                fixmedins_code: visit.fixmedins_code.clone(),
                mdtrtarea_admvs: visit.mdtrtarea_admvs.clone(),
                // Every line carries its own date and age; these are the defaults of lines
                // without.
                date: first.to_string(),
                hospital_level: visit.hospital_level.clone(),
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
                .resolve_lines(request)
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
        let mut resolved = Vec::with_capacity(lines.len());
        let mut refused = Vec::new();
        for (line, result) in lines.iter().zip(answers) {
            match result.outcome {
                Some(catalog::line_result::Outcome::Resolved(r)) => resolved.push(Line {
                    price_fen: line.price_fen,
                    quantity: line.quantity,
                    class: match catalog::CoverageClass::try_from(r.class)
                        .unwrap_or(catalog::CoverageClass::C)
                    {
                        catalog::CoverageClass::A => CoverageClass::A,
                        catalog::CoverageClass::B => CoverageClass::B,
                        _ => CoverageClass::C,
                    },
                    selfpay_ratio: Decimal::from_str(&r.selfpay_ratio)
                        .map_err(|e| Error::Internal(format!("ratio from the catalogue: {e}")))?,
                    price_cap_fen: r.price_cap_fen,
                }),
                Some(catalog::line_result::Outcome::Error(e)) => {
                    refused.push(format!("{}: {} ({})", line.feedetl_sn, e.reason, e.message))
                }
                None => refused.push(format!("{}: no answer", line.feedetl_sn)),
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

    /// Settle (2207/2304) or, with `persist` false, pre-settle (2206/2303) a visit.
    pub async fn settle(
        &self,
        sender: &str,
        msgid: &str,
        mdtrt_id: &str,
        use_account: bool,
        persist: bool,
    ) -> Result<(SettlementAnswer, String)> {
        self.settle_checked(sender, msgid, mdtrt_id, use_account, persist, None).await
    }

    /// [`Self::settle`], refused (`amount_mismatch`, nothing written) when the settlement's
    /// total is not `expected_medfee_fen`, the hospital's own.
    pub async fn settle_checked(
        &self,
        sender: &str,
        msgid: &str,
        mdtrt_id: &str,
        use_account: bool,
        persist: bool,
        expected_medfee_fen: Option<i64>,
    ) -> Result<(SettlementAnswer, String)> {
        let replay_key = format!("settle {mdtrt_id} account={use_account}");
        // One plain read: the settlement's write checks again that the visit is not settled.
        // The person's state is read with the visit, for the settlement to compute from.
        let year = self.store.year();
        let mut conn = self.pool.acquire().await?;
        let inputs = repo::settle_inputs(&mut conn, mdtrt_id, year, sender, msgid).await?;
        drop(conn);
        let repo::SettleInputs { visit, state, lines } =
            inputs.filter(|i| i.visit.fixmedins_code == sender).ok_or_else(|| {
                Error::not_found("visit_not_found", format!("{sender} has no visit {mdtrt_id}"))
            })?;
        match visit.status.as_str() {
            "settled" => {
                // A retry of the settlement that settled it gets that settlement's answer.
                if persist
                    && let Some(answer) = self.store.replay(sender, msgid, &replay_key).await?
                {
                    return Ok((answer, String::new()));
                }
                return Err(Error::precondition(
                    "already_settled",
                    format!(
                        "visit {mdtrt_id} is settled already ({})",
                        visit.setl_id.clone().unwrap_or_default()
                    ),
                ));
            }
            "cancelled" => {
                return Err(Error::precondition(
                    "visit_state",
                    format!("visit {mdtrt_id} is cancelled"),
                ));
            }
            _ => {}
        }
        if visit.med_type == 21 && visit.end_date.is_none() && persist {
            return Err(Error::precondition(
                "not_discharged",
                format!("admission {mdtrt_id} settles at discharge (2402 first)"),
            ));
        }
        if lines.is_empty() {
            return Err(Error::precondition(
                "no_lines",
                format!("visit {mdtrt_id} has no fee lines (2204/2301 first)"),
            ));
        }
        let today = self.store.today();
        let on = visit.end_date.unwrap_or(today).max(visit.begin_date);
        let covered = self.coverage(&visit, &state.person.insuplc_admdvs, on).await?;
        let resolved = self.resolve(&visit, &state.person, &lines).await?;
        let request = SettleRequest {
            sender: sender.to_owned(),
            msgid: msgid.to_owned(),
            psn_no: visit.psn_no.clone(),
            mdtrtarea_admvs: visit.mdtrtarea_admvs.clone(),
            visit: Visit {
                med_type: MedType::from_code(visit.med_type)?,
                hospital_level: HospitalLevel::parse(&visit.hospital_level).ok_or_else(|| {
                    Error::Internal(format!("stored hospital level {}", visit.hospital_level))
                })?,
                filing: covered.filing,
                use_account,
            },
            lines: resolved,
            replay_key,
            mdtrt_id: persist.then(|| mdtrt_id.to_owned()),
            expected_medfee_fen,
        };
        let answer = self.store.settle_read(request, persist, Read { year, state }).await?;
        Ok((answer, covered.basis))
    }

    /// Cancel a settlement (2208/2305); its visit is open for settling again.
    pub async fn cancel_settlement(
        &self,
        sender: &str,
        msgid: &str,
        setl_id: &str,
    ) -> Result<SettlementAnswer> {
        self.store.cancel(sender, msgid, setl_id).await
    }

    /// Reverse (2601): undo the settlement the hospital sent as `omsgid`.
    pub async fn reverse(
        &self,
        sender: &str,
        msgid: &str,
        omsgid: &str,
    ) -> Result<SettlementAnswer> {
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
        self.store.cancel(sender, msgid, &original.setl_id).await
    }
}

#[cfg(test)]
mod tests;
