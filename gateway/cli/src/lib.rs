//! The `medclear` command: the composition root of medclear, and the only crate that links the
//! services and the embedded database.
//!
//! * [`cli`]: the command line; [`up`]: the all-in-one runner behind `medclear up` — every
//!   service (each through its own `launch`) and the gateway (the edge's routes and the pages)
//!   in one process, each on its own port, talking gRPC, on PostgreSQL (`DATABASE_URL`) or on
//!   an embedded PostgreSQL per service.
//! * Admin commands: [`catalog_cli`] (`catalog`), [`persons_cli`] (`persons`),
//!   [`institutions_cli`] (`institutions`), [`clearing_cli`] (`clearing`), [`policies_cli`]
//!   (`policies`).
//! * [`demo_data`]: the deterministic demo catalogue, hospitals and persons.
//! * [`simulate`]: hospitals' traffic through the national interface; [`demo`]: `medclear
//!   demo`, which writes its HTML [`report`] with the pages' SVG charts; [`bench`]: `medclear
//!   bench`; [`measure`]: what they measure with.

pub mod bench;
mod bench_clearing;
mod bench_preview;
mod bench_settle;
pub mod catalog_cli;
pub mod clearing_cli;
pub mod cli;
pub mod demo;
pub mod demo_data;
pub mod institutions_cli;
pub mod measure;
pub mod persons_cli;
pub mod policies_cli;
pub mod report;
pub mod simulate;
pub mod up;

#[cfg(feature = "embedded-db")]
mod embedded;
