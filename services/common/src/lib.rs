//! What every medclear service shares.
//!
//! * [`config`]: settings read from the environment (by binaries and the CLI only), with
//!   documented defaults.
//! * [`telemetry`]: `tracing` logs, plus OpenTelemetry OTLP export when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set, owned by a guard that flushes on drop.
//! * [`db`]: the PostgreSQL pool of a service, in the service's own schema, with its embedded
//!   migrations run at start-up.
//! * [`error`]: the one error type a service returns, and its mapping to `tonic::Status` with a
//!   stable machine-readable reason.
//! * [`codes`]: validated national codes (admdvs, …); [`money`]: yuan text ↔ integer fen;
//!   [`rows`]: refusals of imported rows; [`wire`]: lenient reading of HIS values.
//! * [`clock`]: time as a parameter, so rules can be tested on any day.
//! * [`server`]: `serve(listener, …, shutdown)` with gRPC health checking and graceful shutdown,
//!   under every service's `launch`, refusing calls without the shared service token; and, for
//!   the binaries, the listen address (loopback unless configured), signals, grace.

pub mod clock;
pub mod codes;
pub mod config;
pub mod db;
pub mod error;
pub mod money;
pub mod rows;
pub mod server;
pub mod telemetry;
pub mod wire;

pub use error::{Error, Result};
