//! The filing service's use cases: each one a transaction that reads what the rules need
//! through the repository, asks the pure rules, and writes the outcome with its audit line.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use medclear_common::{
    Error, Result,
    clock::Clock,
    codes::{Admdvs, PsnNo},
    telemetry::current_trace_id,
};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::{
    domain::{
        self, Actor, ChronicFiling, Coverage, CoverageQuery, Filing, NewChronicFiling, NewFiling,
        Revocation, RuleOverrides, Rules,
        designation::{self, BizAppyType, Designation, NewDesignation, RevokeDecision},
    },
    repo::{self, AuditEntry, Region},
};

/// A designation with whether it is in force today or later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignationView {
    pub designation: Designation,
    pub active: bool,
}

/// A filing with what its home region's rules say about revoking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilingView {
    pub filing: Filing,
    pub revocable_from: Option<NaiveDate>,
}

/// The filing service: a database pool, a clock, and the region rules recently read.
#[derive(Debug, Clone)]
pub struct FilingService {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    rules: Arc<RulesCache>,
}

/// How long rules read for coverage checks are reused. A change made through this instance
/// applies at once (the cache is emptied); one made through another replica sharing the
/// database applies here within this time.
pub const RULES_TTL: Duration = Duration::from_secs(1);

/// The rules in force per home region, as read at most [`RULES_TTL`] ago. Coverage is asked
/// on every settlement and rules change rarely, so this saves a query per settlement.
#[derive(Debug, Default)]
struct RulesCache {
    entries: RwLock<HashMap<Admdvs, (Rules, Instant)>>,
}

impl RulesCache {
    fn get(&self, home: &Admdvs) -> Option<Rules> {
        let entries = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(home).filter(|(_, at)| at.elapsed() < RULES_TTL).map(|(r, _)| *r)
    }

    fn put(&self, home: Admdvs, rules: Rules) {
        let mut entries = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.insert(home, (rules, Instant::now()));
    }

    fn clear(&self) {
        self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}

/// The longest free text (names, memos, reasons) kept.
const MAX_TEXT: usize = 500;

pub(crate) fn check_text(field: &'static str, text: &str) -> Result<()> {
    if text.chars().count() > MAX_TEXT {
        return Err(Error::invalid(
            field,
            "too_long",
            format!("{field} is longer than {MAX_TEXT} characters"),
        ));
    }
    Ok(())
}

fn new_id(prefix: char) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase();
    format!("{prefix}{}", &hex[..20])
}

fn canonical<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("serialising a request: {e}")))
}

fn reused(request_id: &str) -> Error {
    Error::already_exists(
        "request_id_reused",
        format!(
            "request_id {request_id} was already used by this sender for a different request; \
             use a new request_id"
        ),
    )
}

impl FilingService {
    pub fn new(pool: PgPool, clock: Arc<dyn Clock>) -> Self {
        Self { pool, clock, rules: Arc::default() }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Now, at the precision PostgreSQL stores (microseconds), so that what a call answers is
    /// exactly what a later read returns.
    fn now(&self) -> DateTime<Utc> {
        self.clock.now().trunc_subsecs(6)
    }

    async fn view(&self, conn: &mut PgConnection, filing: Filing) -> Result<FilingView> {
        let rules = repo::rules_for(conn, &filing.home).await?;
        Ok(FilingView { revocable_from: filing.revocable_from(&rules), filing })
    }

    async fn audit(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        action: &str,
        entity_type: &str,
        entity_id: &str,
        details: &impl Serialize,
    ) -> Result<()> {
        let details = serde_json::to_value(details)
            .map_err(|e| Error::Internal(format!("serialising an audit entry: {e}")))?;
        repo::append_audit(
            conn,
            AuditEntry {
                at: self.now(),
                actor,
                action,
                entity_type,
                entity_id,
                details,
                trace_id: current_trace_id(),
            },
        )
        .await
    }

    /// Files `new` for `actor`. With a `request_id`, a retry of the same request returns the
    /// filing made the first time, and a different request under the same id is refused.
    pub async fn create_filing(
        &self,
        new: NewFiling,
        actor: Actor,
        request_id: Option<String>,
    ) -> Result<FilingView> {
        check_text("psn_name", &new.psn_name)?;
        check_text("memo", &new.memo)?;
        let body = canonical(&new)?;
        let mut tx = self.pool.begin().await?;
        repo::lock_person(&mut tx, &new.psn_no).await?;
        if let Some(request_id) = &request_id
            && let Some((earlier, earlier_body)) =
                repo::filing_by_request(&mut tx, &actor.id, request_id).await?
        {
            if earlier_body != body {
                return Err(reused(request_id));
            }
            return self.view(&mut tx, earlier).await;
        }
        let known = repo::known_regions(&mut tx, &[new.home, new.destination]).await?;
        let rules = repo::rules_for(&mut tx, &new.home).await?;
        let existing = repo::filings_of(&mut tx, &new.psn_no).await?;
        let now = self.now();
        let validity = domain::validate_new_filing(
            &new,
            |code| known.contains(code),
            &rules,
            self.clock.today(),
            &existing,
        )?;
        let filing = Filing {
            id: new_id('F'),
            psn_no: new.psn_no,
            psn_name: new.psn_name,
            home: new.home,
            destination: new.destination,
            category: new.category,
            begin: validity.begin,
            end: validity.end,
            memo: new.memo,
            filed_by: actor,
            filed_at: now,
            revocation: None,
        };
        let request = request_id.as_deref().map(|id| (id, body.as_str()));
        repo::insert_filing(&mut tx, &filing, request).await?;
        self.audit(&mut tx, &filing.filed_by, "filing.create", "filing", &filing.id, &filing)
            .await?;
        tx.commit().await?;
        tracing::info!(filing_id = %filing.id, psn_no = %filing.psn_no, "filing created");
        Ok(FilingView { revocable_from: filing.revocable_from(&rules), filing })
    }

    async fn load_filing(&self, conn: &mut PgConnection, id: &str) -> Result<Filing> {
        repo::get_filing(conn, id)
            .await?
            .ok_or_else(|| Error::not_found("filing_not_found", format!("no filing {id}")))
    }

    pub async fn get_filing(&self, id: &str) -> Result<FilingView> {
        let mut conn = self.pool.acquire().await?;
        let filing = self.load_filing(&mut conn, id).await?;
        self.view(&mut conn, filing).await
    }

    pub async fn list_filings(
        &self,
        psn_no: &PsnNo,
        include_revoked: bool,
    ) -> Result<Vec<FilingView>> {
        let mut conn = self.pool.acquire().await?;
        let filings = repo::filings_of(&mut conn, psn_no).await?;
        // A person's filings nearly always share one home region: load its rules once.
        let mut rules: Vec<(Admdvs, Rules)> = Vec::new();
        let mut views = Vec::with_capacity(filings.len());
        for filing in filings.into_iter().filter(|f| include_revoked || !f.is_revoked()) {
            let home_rules = match rules.iter().find(|(home, _)| *home == filing.home) {
                Some((_, r)) => *r,
                None => {
                    let r = repo::rules_for(&mut conn, &filing.home).await?;
                    rules.push((filing.home, r));
                    r
                }
            };
            views.push(FilingView { revocable_from: filing.revocable_from(&home_rules), filing });
        }
        Ok(views)
    }

    pub async fn revoke_filing(
        &self,
        id: &str,
        reason: String,
        actor: Actor,
    ) -> Result<FilingView> {
        check_text("reason", &reason)?;
        let mut tx = self.pool.begin().await?;
        let filing = self.load_filing(&mut tx, id).await?;
        repo::lock_person(&mut tx, &filing.psn_no).await?;
        let rules = repo::rules_for(&mut tx, &filing.home).await?;
        domain::check_revocable(&filing, &rules, self.clock.today())?;
        let revocation = Revocation { at: self.now(), on: self.clock.today(), by: actor, reason };
        repo::revoke_filing(&mut tx, id, &revocation).await?;
        self.audit(&mut tx, &revocation.by, "filing.revoke", "filing", id, &revocation).await?;
        let revoked = Filing { revocation: Some(revocation), ..filing };
        tx.commit().await?;
        Ok(FilingView { revocable_from: revoked.revocable_from(&rules), filing: revoked })
    }

    pub async fn check_coverage(&self, query: &CoverageQuery) -> Result<Coverage> {
        let mut conn = self.pool.acquire().await?;
        let rules = match self.rules.get(&query.home) {
            Some(rules) => rules,
            None => {
                let rules = repo::rules_for(&mut conn, &query.home).await?;
                self.rules.put(query.home, rules);
                rules
            }
        };
        let filings = repo::filings_of(&mut conn, &query.psn_no).await?;
        domain::check_coverage(query, &rules, &filings, self.now())
    }

    pub async fn create_chronic_filing(
        &self,
        new: NewChronicFiling,
        actor: Actor,
        request_id: Option<String>,
    ) -> Result<ChronicFiling> {
        let body = canonical(&new)?;
        let mut tx = self.pool.begin().await?;
        repo::lock_person(&mut tx, &new.psn_no).await?;
        if let Some(request_id) = &request_id
            && let Some((earlier, earlier_body)) =
                repo::chronic_filing_by_request(&mut tx, &actor.id, request_id).await?
        {
            return if earlier_body == body { Ok(earlier) } else { Err(reused(request_id)) };
        }
        let region_known = !repo::known_regions(&mut tx, &[new.home]).await?.is_empty();
        let disease_name = repo::chronic_disease_name(&mut tx, &new.disease_code).await?;
        let rules = repo::rules_for(&mut tx, &new.home).await?;
        let existing = repo::chronic_filings_of(&mut tx, &new.psn_no).await?;
        let validity = domain::validate_new_chronic_filing(
            &new,
            region_known,
            disease_name.is_some(),
            &rules,
            self.clock.today(),
            &existing,
        )?;
        let filing = ChronicFiling {
            id: new_id('C'),
            psn_no: new.psn_no,
            home: new.home,
            disease_code: new.disease_code,
            disease_name: disease_name.unwrap_or_default(),
            diagnosed_by: new.diagnosed_by,
            begin: validity.begin,
            end: validity.end,
            filed_by: actor,
            filed_at: self.now(),
            revocation: None,
        };
        let request = request_id.as_deref().map(|id| (id, body.as_str()));
        repo::insert_chronic_filing(&mut tx, &filing, request).await?;
        self.audit(
            &mut tx,
            &filing.filed_by,
            "chronic_filing.create",
            "chronic_filing",
            &filing.id,
            &filing,
        )
        .await?;
        tx.commit().await?;
        Ok(filing)
    }

    pub async fn get_chronic_filing(&self, id: &str) -> Result<ChronicFiling> {
        let mut conn = self.pool.acquire().await?;
        repo::get_chronic_filing(&mut conn, id)
            .await?
            .ok_or_else(|| Error::not_found("filing_not_found", format!("no chronic filing {id}")))
    }

    pub async fn list_chronic_filings(
        &self,
        psn_no: &PsnNo,
        include_revoked: bool,
    ) -> Result<Vec<ChronicFiling>> {
        let mut conn = self.pool.acquire().await?;
        let filings = repo::chronic_filings_of(&mut conn, psn_no).await?;
        Ok(filings.into_iter().filter(|f| include_revoked || f.revocation.is_none()).collect())
    }

    pub async fn revoke_chronic_filing(
        &self,
        id: &str,
        reason: String,
        actor: Actor,
    ) -> Result<ChronicFiling> {
        check_text("reason", &reason)?;
        let mut tx = self.pool.begin().await?;
        let filing = repo::get_chronic_filing(&mut tx, id).await?.ok_or_else(|| {
            Error::not_found("filing_not_found", format!("no chronic filing {id}"))
        })?;
        repo::lock_person(&mut tx, &filing.psn_no).await?;
        domain::check_chronic_revocable(&filing, self.clock.today())?;
        let revocation = Revocation { at: self.now(), on: self.clock.today(), by: actor, reason };
        repo::revoke_chronic_filing(&mut tx, id, &revocation).await?;
        self.audit(
            &mut tx,
            &revocation.by,
            "chronic_filing.revoke",
            "chronic_filing",
            id,
            &revocation,
        )
        .await?;
        tx.commit().await?;
        Ok(ChronicFiling { revocation: Some(revocation), ..filing })
    }

    /// The chronic filing for `disease_code` in force on `date`, if any.
    pub async fn check_chronic_filing(
        &self,
        psn_no: &PsnNo,
        disease_code: &str,
        date: NaiveDate,
    ) -> Result<Option<ChronicFiling>> {
        let filings = self.list_chronic_filings(psn_no, true).await?;
        Ok(domain::chronic_filing_on(&filings, disease_code, date).cloned())
    }

    pub async fn list_chronic_diseases(&self) -> Result<Vec<(String, String)>> {
        let mut conn = self.pool.acquire().await?;
        repo::list_chronic_diseases(&mut conn).await
    }

    fn designation_view(&self, designation: Designation) -> DesignationView {
        DesignationView { active: designation.is_active(self.clock.today()), designation }
    }

    /// Files a person's designation for `actor`. With a `request_id`, a retry of the same
    /// request returns the designation made the first time, and a different request under the
    /// same id is refused.
    pub async fn create_designation(
        &self,
        new: NewDesignation,
        actor: Actor,
        request_id: Option<String>,
    ) -> Result<DesignationView> {
        let body = canonical(&new)?;
        let mut tx = self.pool.begin().await?;
        repo::lock_person(&mut tx, &new.psn_no).await?;
        if let Some(request_id) = &request_id
            && let Some((earlier, earlier_body)) =
                repo::designations::by_request(&mut tx, &actor.id, request_id).await?
        {
            return if earlier_body == body {
                Ok(self.designation_view(earlier))
            } else {
                Err(reused(request_id))
            };
        }
        let region_known = !repo::known_regions(&mut tx, &[new.home]).await?.is_empty();
        let existing = repo::designations::of_person(&mut tx, &new.psn_no).await?;
        let (validity, fix_srt_no) = designation::validate_new_designation(
            &new,
            region_known,
            self.clock.today(),
            &existing,
        )?;
        let designation = Designation {
            id: new_id('D'),
            psn_no: new.psn_no,
            home: new.home,
            insutype: new.insutype,
            biz_appy_type: new.biz_appy_type,
            fixmedins_code: new.fixmedins_code,
            fixmedins_name: new.fixmedins_name,
            fix_srt_no,
            begin: validity.begin,
            end: validity.end,
            tel: new.tel,
            addr: new.addr,
            agent: new.agent,
            memo: new.memo,
            filed_by: actor,
            filed_at: self.now(),
            revocation: None,
        };
        let request = request_id.as_deref().map(|id| (id, body.as_str()));
        repo::designations::insert(&mut tx, &designation, request).await?;
        self.audit(
            &mut tx,
            &designation.filed_by,
            "designation.create",
            "designation",
            &designation.id,
            &designation,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            trt_dcla_detl_sn = %designation.id,
            psn_no = %designation.psn_no,
            "designation created"
        );
        Ok(self.designation_view(designation))
    }

    /// Revokes person `psn_no`'s designation `id`; one revoked already is answered as it is.
    pub async fn revoke_designation(
        &self,
        psn_no: &PsnNo,
        id: &str,
        reason: String,
        actor: Actor,
    ) -> Result<DesignationView> {
        check_text("reason", &reason)?;
        let mut tx = self.pool.begin().await?;
        repo::lock_person(&mut tx, psn_no).await?;
        let found = repo::designations::get(&mut tx, id)
            .await?
            .ok_or_else(|| designation::not_found(psn_no, id))?;
        if designation::check_designation_revocable(&found, psn_no)?
            == RevokeDecision::AlreadyRevoked
        {
            return Ok(self.designation_view(found));
        }
        let revocation = Revocation { at: self.now(), on: self.clock.today(), by: actor, reason };
        repo::designations::revoke(&mut tx, id, &revocation).await?;
        self.audit(&mut tx, &revocation.by, "designation.revoke", "designation", id, &revocation)
            .await?;
        tx.commit().await?;
        Ok(self.designation_view(Designation { revocation: Some(revocation), ..found }))
    }

    /// A person's designations: of one kind of business or all, the active ones or all.
    pub async fn list_designations(
        &self,
        psn_no: &PsnNo,
        biz_appy_type: Option<BizAppyType>,
        include_inactive: bool,
    ) -> Result<Vec<DesignationView>> {
        let mut conn = self.pool.acquire().await?;
        let all = repo::designations::of_person(&mut conn, psn_no).await?;
        let today = self.clock.today();
        let chosen = designation::select_designations(all, biz_appy_type, include_inactive, today);
        Ok(chosen.into_iter().map(|d| self.designation_view(d)).collect())
    }

    pub async fn list_regions(&self) -> Result<Vec<Region>> {
        let mut conn = self.pool.acquire().await?;
        repo::list_regions(&mut conn).await
    }

    async fn known_home(&self, conn: &mut PgConnection, home: &Admdvs) -> Result<()> {
        if repo::known_regions(conn, &[*home]).await?.is_empty() {
            return Err(Error::invalid(
                "insuplc_admdvs",
                "unknown_region",
                format!("insuplc_admdvs {home} is not a known medical-insurance region"),
            ));
        }
        Ok(())
    }

    pub async fn region_rules(&self, home: &Admdvs) -> Result<Rules> {
        let mut conn = self.pool.acquire().await?;
        self.known_home(&mut conn, home).await?;
        repo::rules_for(&mut conn, home).await
    }

    /// Replaces the overrides of one home region; returns the rules now in force there.
    pub async fn set_region_rules(
        &self,
        home: &Admdvs,
        overrides: RuleOverrides,
        actor: Actor,
    ) -> Result<Rules> {
        overrides.validate()?;
        let mut tx = self.pool.begin().await?;
        self.known_home(&mut tx, home).await?;
        repo::upsert_overrides(&mut tx, home, &overrides, self.now(), &actor.id).await?;
        self.audit(&mut tx, &actor, "region_rules.set", "region_rules", home.as_str(), &overrides)
            .await?;
        let rules = repo::rules_for(&mut tx, home).await?;
        tx.commit().await?;
        // A province's overrides reach its regions too: forget every region's rules.
        self.rules.clear();
        Ok(rules)
    }
}
