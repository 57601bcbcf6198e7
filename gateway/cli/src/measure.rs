//! What the benchmarks, the simulation and the demo measure with: the machine, rates,
//! percentiles, and a database of their own to run on.

use std::{path::PathBuf, sync::Arc, time::Duration};

use medclear_common::{Error, Result, clock::SystemClock, config};
use sqlx::{Connection, Executor, PgConnection};

use crate::up::{self, Databases, UpOptions};

/// One line describing this machine.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split(':').nth(1)))
        .map_or("unknown CPU", str::trim)
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024 / 1024);
    format!(
        "{cores} cores, {model}, {mem_gib} GiB, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// `value` per second over `elapsed`, in integer arithmetic.
pub(crate) fn per_second(value: u64, elapsed: Duration) -> u64 {
    let micros = elapsed.as_micros().max(1);
    u64::try_from(u128::from(value) * 1_000_000 / micros).unwrap_or(u64::MAX)
}

/// Microseconds as milliseconds with two decimals.
pub(crate) fn ms(micros: u64) -> String {
    format!("{}.{:02}", micros / 1000, (micros % 1000) / 10)
}

pub(crate) fn percentile(sorted: &[u64], pct: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[(sorted.len() * pct / 100).min(sorted.len() - 1)]
}

/// A database to run on, and how to clean it up.
pub(crate) struct BenchDb {
    pub(crate) databases: Databases,
    /// The server URL the bench database was made on, and its name.
    pub(crate) server: Option<(String, String)>,
    pub(crate) dir: PathBuf,
}

pub(crate) async fn bench_db() -> Result<BenchDb> {
    let dir = std::env::temp_dir().join(format!("medclear-bench-{}", std::process::id()));
    let Some(url) = config::var("DATABASE_URL") else {
        return Ok(BenchDb { databases: Databases::Embedded, server: None, dir });
    };
    let name = format!("medclear_bench_{}", std::process::id());
    let bench_url = up::create_database(&url, &name, false).await?;
    Ok(BenchDb { databases: Databases::Server { url: bench_url }, server: Some((url, name)), dir })
}

impl BenchDb {
    pub(crate) fn describe(&self) -> String {
        match &self.server {
            Some((url, _)) => format!("PostgreSQL server {}", config::redact_url(url)),
            None => "embedded PostgreSQL (PGlite)".to_owned(),
        }
    }

    /// Starts every service and the gateway on this database, on free ports.
    pub(crate) async fn start_system(&self) -> Result<up::System> {
        let options = UpOptions::loopback(self.dir.clone(), self.databases.clone());
        up::start(&options, Arc::new(SystemClock)).await
    }

    pub(crate) async fn drop_all(self) -> Result<()> {
        if let Some((url, name)) = self.server {
            let mut admin = PgConnection::connect(&url).await?;
            admin.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str()).await?;
        }
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir)
                .map_err(|e| Error::Internal(format!("{}: {e}", self.dir.display())))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_figures() {
        assert_eq!(per_second(500, Duration::from_millis(250)), 2000);
        assert_eq!(ms(1234), "1.23");
        assert_eq!(ms(50), "0.05");
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 6);
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
        assert_eq!(percentile(&[], 99), 0);
    }
}
