//! Settings from the environment. Every variable has a documented default (see the README);
//! a value that is set but does not parse is an error that names the variable, never a silent
//! fallback.
//!
//! Only a binary's `main` (and the `medclear` CLI) reads the environment, through the
//! `from_env` functions; libraries take what they need as values (each service's `Settings`).

use std::{fmt, str::FromStr};

use crate::{Error, Result};

/// The variable's value, or `None` when unset or empty.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The first of `names` that is set.
pub fn first_var(names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| var(name))
}

/// The parsed value of `name`, or `default` when unset.
pub fn parse_or<T>(name: &str, default: T) -> Result<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|e| Error::Internal(format!("environment variable {name}={text:?}: {e}"))),
    }
}

/// A secret string whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where a service keeps its data.
#[derive(Clone)]
pub struct DbConfig {
    /// A `postgres://` URL; it may hold a password, so it is never printed whole.
    pub url: Secret,
    /// The PostgreSQL schema the service owns; its tables and its migration history live there,
    /// so several services can share one database without touching each other's tables.
    pub schema: String,
    pub max_connections: u32,
    /// An embedded (PGlite) database serves one connection and needs no migration lock.
    pub embedded: bool,
}

impl DbConfig {
    /// Settings for `service` from `<SERVICE>_DATABASE_URL` or `DATABASE_URL`,
    /// `<SERVICE>_DB_SCHEMA` (default: the service name) and `DB_MAX_CONNECTIONS` (default 10).
    pub fn from_env(service: &str) -> Result<Self> {
        let upper = service.to_ascii_uppercase();
        let url =
            first_var(&[&format!("{upper}_DATABASE_URL"), "DATABASE_URL"]).ok_or_else(|| {
                Error::Internal(format!(
                    "set {upper}_DATABASE_URL or DATABASE_URL (a postgres:// URL)"
                ))
            })?;
        Ok(Self {
            url: Secret::new(url),
            schema: var(&format!("{upper}_DB_SCHEMA")).unwrap_or_else(|| service.to_owned()),
            max_connections: parse_or("DB_MAX_CONNECTIONS", 10)?,
            embedded: false,
        })
    }

    pub fn new(url: impl Into<String>, schema: impl Into<String>) -> Self {
        Self { url: Secret::new(url), schema: schema.into(), max_connections: 10, embedded: false }
    }
}

impl fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbConfig")
            .field("url", &redact_url(self.url.expose()))
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .field("embedded", &self.embedded)
            .finish()
    }
}

/// `postgres://user:pw@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "***".into() };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        let config = DbConfig::new("postgres://u:secret@h/db", "filing");
        assert!(!format!("{config:?}").contains("secret"));
    }
}
