//! The policies a routing instance settles with: every published version of its database,
//! held in memory ([`PolicyBook`]) and brought up to date from the database every few seconds
//! and at once after a publication here, so every instance sees a publication without a
//! restart. Nothing is compiled in: the seed regions' documents are the first published
//! versions, written by the migration `0008_policy_seeds.sql`.
//!
//! The version a visit uses ([`Book::policy_for`]): for the person's insurance region, its
//! city, its province, then the national default (`000000`), the first region with a published
//! version of the person's insutype in force on the visit's date; of several, the one
//! published last — a correction is a new version, published after the one it corrects.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use chrono::NaiveDate;
use medclear_common::{Error, Result};

use crate::policy::{Document, Floors, Kind, Policy, lookup_chain};

/// One published version.
#[derive(Debug, Clone)]
pub struct Version {
    pub id: String,
    /// The publication order.
    pub seq: i64,
    pub document: Arc<Document>,
}

impl Version {
    fn in_force(&self, date: NaiveDate) -> bool {
        let (begin, end) = self.document.dates();
        begin <= date && end.is_none_or(|end| date <= end)
    }
}

/// A policy and the id of the version it is.
#[derive(Debug, Clone)]
pub struct InForce {
    pub id: String,
    pub policy: Arc<Policy>,
}

/// The published versions at one moment.
#[derive(Debug, Default)]
pub struct Book {
    /// By (region, insutype, kind), newest publication first.
    versions: HashMap<(String, String, &'static str), Vec<Version>>,
    by_id: HashMap<String, Version>,
    /// Each policy version's policy, shared: a settlement takes it without a copy.
    policies: HashMap<String, Arc<Policy>>,
    last_seq: i64,
}

impl Book {
    /// A book of these versions (in any order).
    pub fn of(versions: impl IntoIterator<Item = Version>) -> Self {
        let mut book = Self::default();
        book.add(versions);
        book
    }

    fn add(&mut self, versions: impl IntoIterator<Item = Version>) {
        for version in versions {
            self.last_seq = self.last_seq.max(version.seq);
            let key = (
                version.document.region().to_owned(),
                version.document.insutype().to_owned(),
                version.document.kind().as_str(),
            );
            let list = self.versions.entry(key).or_default();
            list.push(version.clone());
            list.sort_by_key(|v| std::cmp::Reverse(v.seq));
            if let Document::Policy(policy) = version.document.as_ref() {
                self.policies
                    .entry(version.id.clone())
                    .or_insert_with(|| Arc::new((**policy).clone()));
            }
            self.by_id.insert(version.id.clone(), version);
        }
    }

    /// The publication number of the last version this book holds.
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    fn latest(
        &self,
        region: &str,
        insutype: &str,
        kind: Kind,
        date: NaiveDate,
    ) -> Option<&Version> {
        self.versions
            .get(&(region.to_owned(), insutype.to_owned(), kind.as_str()))?
            .iter()
            .find(|v| v.in_force(date))
    }

    /// The version of `kind` in force on `date` for a person insured in `home`, and the
    /// region it was found for.
    pub fn version_for(&self, home: &str, insutype: &str, date: NaiveDate) -> Result<&Version> {
        lookup_chain(home)
            .iter()
            .find_map(|region| self.latest(region, insutype, Kind::Policy, date))
            .ok_or_else(|| {
                Error::precondition(
                    "no_policy",
                    format!(
                        "no policy for insutype {insutype} is published for {home}, its city, \
                         its province or the national default on {date}"
                    ),
                )
            })
    }

    /// The policy in force on `date` for a person insured in `home` under `insutype`.
    pub fn policy_for(&self, home: &str, insutype: &str, date: NaiveDate) -> Result<InForce> {
        let version = self.version_for(home, insutype, date)?;
        self.in_force(version)
    }

    fn in_force(&self, version: &Version) -> Result<InForce> {
        let policy = self.policies.get(&version.id).ok_or_else(|| {
            Error::Internal(format!("version {} is floors, not a policy", version.id))
        })?;
        Ok(InForce { id: version.id.clone(), policy: policy.clone() })
    }

    /// The floors of `region`'s province in force on `date`, with their id.
    pub fn floors_for(
        &self,
        region: &str,
        insutype: &str,
        date: NaiveDate,
    ) -> Option<(&str, &Floors)> {
        let province = format!("{}0000", region.get(..2)?);
        let version = self.latest(&province, insutype, Kind::Floors, date)?;
        match version.document.as_ref() {
            Document::Floors(floors) => Some((version.id.as_str(), floors.as_ref())),
            Document::Policy(_) => None,
        }
    }

    /// A published version by its id.
    pub fn by_id(&self, id: &str) -> Option<&Version> {
        self.by_id.get(id)
    }

    /// A published policy by its id.
    pub fn policy(&self, id: &str) -> Result<InForce> {
        let version = self.by_id(id).ok_or_else(|| {
            Error::not_found("policy_not_found", format!("no published policy {id}"))
        })?;
        self.in_force(version)
    }
}

/// The book a routing instance settles with, shared by its settlements and its policy
/// service, replaced whole when publications arrive.
#[derive(Debug, Clone, Default)]
pub struct PolicyBook {
    current: Arc<RwLock<Arc<Book>>>,
}

impl PolicyBook {
    /// A book holding these versions.
    pub fn of(versions: impl IntoIterator<Item = Version>) -> Self {
        Self { current: Arc::new(RwLock::new(Arc::new(Book::of(versions)))) }
    }

    /// The book as it is now.
    pub fn current(&self) -> Arc<Book> {
        match self.current.read() {
            Ok(book) => book.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Adds versions published since the book was made (those it holds already are skipped).
    pub fn extend(&self, versions: Vec<Version>) {
        if versions.is_empty() {
            return;
        }
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        // The policies it holds already are shared, not copied again.
        let mut book = Book { policies: guard.policies.clone(), ..Book::default() };
        book.add(guard.by_id.values().cloned());
        book.add(versions.into_iter().filter(|v| !guard.by_id.contains_key(&v.id)));
        *guard = Arc::new(book);
    }
}

#[cfg(test)]
pub(crate) mod tests;
