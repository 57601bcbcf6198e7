//! An embedded PostgreSQL 17 (PGlite, in-process) for one service, with its data in a folder
//! of its own, so data survives a restart. It serves one connection at a time; the service's
//! pool is sized to match (`DbConfig::embedded`).

use std::path::{Path, PathBuf};

use medclear_common::{Error, Result};
use pglite_oxide::PgliteServer;

/// A running embedded database.
#[derive(Debug)]
pub(crate) struct EmbeddedDb {
    server: PgliteServer,
    dir: PathBuf,
}

impl EmbeddedDb {
    /// Starts (and on first use, initialises) the database in `dir`.
    pub(crate) async fn start(dir: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Internal(format!("creating {}: {e}", dir.display())))?;
        let root = dir.clone();
        let socket = unix_socket(&dir);
        let server = tokio::task::spawn_blocking(move || {
            let builder = PgliteServer::builder().path(root);
            // A Unix socket where its path fits: over loopback TCP, each answer the embedded
            // server writes in two parts waits out the client's delayed acknowledgement.
            match socket {
                Some(socket) => builder.unix(socket).start(),
                None => builder.start(),
            }
        })
        .await
        .map_err(|e| Error::Internal(format!("embedded database start-up panicked: {e}")))?
        .map_err(|e| Error::Internal(format!("embedded database in {}: {e:#}", dir.display())))?;
        Ok(Self { server, dir })
    }

    pub(crate) fn url(&self) -> String {
        // `postgresql://user@/db?host=/dir…` (a socket) has no host for sqlx's URL parser;
        // with one named, the `host` parameter still decides where to connect.
        self.server.database_url().replacen("@/", "@localhost/", 1)
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the database; close its clients first.
    pub(crate) async fn stop(self) {
        let dir = self.dir;
        let server = self.server;
        match tokio::task::spawn_blocking(move || server.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(dir = %dir.display(), error = %e, "embedded database stop")
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "embedded database stop panicked")
            }
        }
    }
}

/// The server's Unix socket in `dir`, if its absolute path fits in a socket address (108 bytes
/// on Linux, with room for the terminating zero).
fn unix_socket(dir: &Path) -> Option<PathBuf> {
    let path = std::path::absolute(dir).ok()?.join(".s.PGSQL.5432");
    (path.as_os_str().len() < 100).then_some(path)
}
