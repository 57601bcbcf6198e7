//! What the bureaus do with their policies: validate a document, store it as a draft,
//! publish it, list and read what is stored, and see which version a date uses. Who may act
//! on a document is decided here, for every caller ([`Actor`]): a province's operator for the
//! regions of its province, the national operator for the national default and the floors.
//! Every draft and publication is in the audit trail (who, when, which document, its hash).
//!
//! A document is stored in its canonical form ([`Document::identity`]), which its id and hash
//! name; a document stored twice is the same draft, and a published one is never changed.

use std::sync::Arc;

use chrono::NaiveDate;
use medclear_common::{Error, Result, clock::Clock};
use sqlx::PgPool;

use crate::{
    policies::{PolicyBook, Version},
    policy::{Document, Identity, Problems, is_policy_id},
    repo::policies::{self as repo, PolicyRow},
};

/// Who acts: an operator of a province, or the national operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub operator_id: String,
    /// The province (`xx0000`); `None`: the national operator.
    pub province: Option<String>,
}

impl Actor {
    /// How the audit trail names the actor: `id@province` or `id@national`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.operator_id, self.province.as_deref().unwrap_or("national"))
    }

    /// Refuses an actor who may not draft or publish `document`.
    pub fn check(&self, document: &Document) -> Result<()> {
        let region = document.region();
        match (&self.province, document.is_national()) {
            (None, true) => Ok(()),
            (Some(province), false) if province.get(..2) == region.get(..2) => Ok(()),
            (None, false) => Err(Error::forbidden(
                "forbidden",
                format!(
                    "policies of {region} are published by its province's operator; the \
                     national operator publishes the national default and the floors"
                ),
            )),
            (Some(province), true) => Err(Error::forbidden(
                "forbidden",
                format!(
                    "the national default and the provinces' floors are published by the \
                     national operator, not {province}'s"
                ),
            )),
            (Some(province), false) => Err(Error::forbidden(
                "forbidden",
                format!("{province}'s operator may not publish for {region}"),
            )),
        }
    }
}

/// A document checked: its identity, or every problem found.
#[derive(Debug, Clone)]
pub struct Validation {
    pub document: Option<(Document, Identity)>,
    pub problems: Problems,
}

/// The bureaus' operations on one routing instance's policies.
#[derive(Debug, Clone)]
pub struct Publications {
    pool: PgPool,
    book: PolicyBook,
    clock: Arc<dyn Clock>,
}

/// A stored row as a [`Version`] of the book.
pub fn version_of(row: &PolicyRow) -> Result<Version> {
    let document = Document::parse(&row.document).map_err(|p| {
        Error::Internal(format!("stored policy {} does not parse: {:?}", row.policy_id, p.0))
    })?;
    Ok(Version {
        id: row.policy_id.clone(),
        seq: row.seq.unwrap_or(0),
        document: Arc::new(document),
    })
}

fn not_found(policy_id: &str) -> Error {
    Error::not_found("policy_not_found", format!("no policy {policy_id}"))
}

/// Refuses text that is not a policy id.
pub fn check_id(policy_id: &str) -> Result<()> {
    if is_policy_id(policy_id) {
        Ok(())
    } else {
        Err(Error::invalid(
            "policy_id",
            "invalid_code",
            format!(
                "{} is not a policy id (<region>-<insutype>-<12 hex digits>)",
                medclear_common::codes::shown(policy_id)
            ),
        ))
    }
}

impl Publications {
    pub fn new(pool: PgPool, book: PolicyBook, clock: Arc<dyn Clock>) -> Self {
        Self { pool, book, clock }
    }

    pub fn book(&self) -> &PolicyBook {
        &self.book
    }

    /// Checks a document: on its own, then a policy against its province's floors in force
    /// on its first day.
    pub fn validate(&self, text: &str) -> Validation {
        let document = match Document::parse_valid(text) {
            Ok(document) => document,
            Err(problems) => return Validation { document: None, problems },
        };
        if let Document::Policy(policy) = &document {
            let book = self.book.current();
            if let Some((id, floors)) =
                book.floors_for(&policy.region, &policy.insutype, policy.begin_date)
            {
                let problems = policy.below(floors, id);
                if !problems.is_empty() {
                    return Validation { document: None, problems };
                }
            }
        }
        match document.identity() {
            Ok(identity) => {
                Validation { document: Some((document, identity)), problems: Problems::default() }
            }
            Err(e) => {
                let mut problems = Problems::default();
                problems.0.push(crate::policy::Problem {
                    field: String::new(),
                    reason: "invalid_policy",
                    message: e.to_string(),
                });
                Validation { document: None, problems }
            }
        }
    }

    /// Stores a valid document as a draft (the same document again: the draft stored).
    pub async fn put_draft(&self, text: &str, actor: &Actor) -> Result<PolicyRow> {
        let validation = self.validate(text);
        let Some((document, identity)) = validation.document else {
            return Err(validation.problems.into_error());
        };
        actor.check(&document)?;
        let (begin_date, end_date) = document.dates();
        let row = PolicyRow {
            policy_id: identity.id,
            region: document.region().to_owned(),
            insutype: document.insutype().to_owned(),
            kind: document.kind().as_str().to_owned(),
            label: document.label().to_owned(),
            title: document.title().to_owned(),
            begin_date,
            end_date,
            sha256: identity.sha256,
            document: identity.canonical,
            created_by: actor.label(),
            created_at: self.clock.now(),
            seq: None,
            published_by: None,
            published_at: None,
        };
        let mut conn = self.pool.acquire().await?;
        repo::insert_draft(&mut conn, &row).await
    }

    /// Publishes a stored draft: from now on the latest version in force from its first day.
    /// Publishing a version published already answers it again. The floors are checked again
    /// (they may have been published since the draft was stored).
    pub async fn publish(&self, policy_id: &str, actor: &Actor) -> Result<PolicyRow> {
        check_id(policy_id)?;
        let mut conn = self.pool.acquire().await?;
        let row = repo::get(&mut conn, policy_id).await?.ok_or_else(|| not_found(policy_id))?;
        let version = version_of(&row)?;
        actor.check(&version.document)?;
        if row.seq.is_some() {
            return Ok(row);
        }
        let validation = self.validate(&row.document);
        if validation.document.is_none() {
            return Err(validation.problems.into_error());
        }
        let published = match repo::publish(&mut conn, policy_id, &actor.label(), self.clock.now())
            .await?
        {
            Some(row) => row,
            // Published meanwhile by someone else: that publication stands.
            None => repo::get(&mut conn, policy_id).await?.ok_or_else(|| not_found(policy_id))?,
        };
        drop(conn);
        self.refresh().await?;
        Ok(published)
    }

    /// Brings the book up to date with what is published in the database.
    pub async fn refresh(&self) -> Result<()> {
        refresh(&self.pool, &self.book).await
    }

    pub async fn get(&self, policy_id: &str) -> Result<PolicyRow> {
        check_id(policy_id)?;
        let mut conn = self.pool.acquire().await?;
        repo::get(&mut conn, policy_id).await?.ok_or_else(|| not_found(policy_id))
    }

    /// Stored documents of regions starting with `region_prefix`.
    pub async fn list(
        &self,
        region_prefix: &str,
        insutype: &str,
        include_drafts: bool,
    ) -> Result<Vec<PolicyRow>> {
        let mut conn = self.pool.acquire().await?;
        repo::list(&mut conn, region_prefix, insutype, include_drafts).await
    }

    /// The version a visit on `date` uses for a person insured in `region`.
    pub async fn resolve(
        &self,
        region: &str,
        insutype: &str,
        date: NaiveDate,
    ) -> Result<PolicyRow> {
        let id = self.book.current().version_for(region, insutype, date)?.id.clone();
        self.get(&id).await
    }
}

/// Adds to `book` the versions published in the database since its last one.
pub async fn refresh(pool: &PgPool, book: &PolicyBook) -> Result<()> {
    let mut conn = pool.acquire().await?;
    let rows = repo::published_after(&mut conn, book.current().last_seq()).await?;
    drop(conn);
    let versions = rows.iter().map(version_of).collect::<Result<Vec<_>>>()?;
    book.extend(versions);
    Ok(())
}

/// The book of every version published in the database.
pub async fn load(pool: &PgPool) -> Result<PolicyBook> {
    let book = PolicyBook::default();
    refresh(pool, &book).await?;
    Ok(book)
}
