//! The PostgreSQL pool of a service, in the service's own schema, migrated at start-up.

use std::{str::FromStr, time::Duration};

use sqlx::{
    Connection, Executor, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::{Error, Result, config::DbConfig};

/// How long a pooled connection may sit idle before it is pinged on being taken out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// Connects, creates the service's schema if needed, and runs its migrations.
pub async fn connect(config: &DbConfig, mut migrator: Migrator) -> Result<PgPool> {
    let schema = checked_identifier(&config.schema)?;
    let options = PgConnectOptions::from_str(config.url.expose())?;
    let max_connections = if config.embedded { 1 } else { config.max_connections.max(1) };
    let search_path = format!("SET search_path TO \"{schema}\"");
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(15))
        // sqlx pings a connection when it goes back to the pool, and by default again when it
        // is taken out: a round trip to the server each time. A connection used a moment ago
        // is known to be alive, so only one idle for a while is pinged before it is handed out
        // (a server that went away meanwhile is then found before the query, not by it).
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_BEFORE_PING {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |conn, _meta| {
            let search_path = search_path.clone();
            Box::pin(async move {
                conn.execute(search_path.as_str()).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    // The identifier was checked above; schema names cannot be bound as parameters.
    pool.execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str()).await?;
    if config.embedded {
        // PGlite serves a single connection; the advisory lock would only wait on itself.
        migrator.set_locking(false);
    }
    migrator.run(&pool).await?;
    Ok(pool)
}

/// A schema name we are willing to splice into SQL: lowercase letters, digits, underscores.
fn checked_identifier(name: &str) -> Result<&str> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(name)
    } else {
        Err(Error::Internal(format!(
            "schema name {name:?}: use lowercase letters, digits and underscores"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_identifiers_are_schema_names() {
        assert!(checked_identifier("filing").is_ok());
        assert!(checked_identifier("filing_test_42").is_ok());
        for bad in ["", "Filing", "a\"b", "x; drop table y", "9abc"] {
            assert!(checked_identifier(bad).is_err(), "{bad}");
        }
    }
}
