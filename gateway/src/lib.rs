//! The medclear edge and command line.
//!
//! * [`http`]: the HTTP server — the JSON API in front of the services' gRPC APIs, and
//!   `/healthz`.
//! * [`up`]: the all-in-one runner behind `medclear up`: every service and the gateway in one
//!   process, each on its own port, talking gRPC, on PostgreSQL (`DATABASE_URL`) or on an
//!   embedded PostgreSQL per service.
//! * [`pages`]: the web pages for citizens and bureaus (server-rendered HTML, no JavaScript),
//!   their sessions in [`session`], their charts in [`svg`]; who may see what is in [`access`].
//! * [`cli`]: the `medclear` command; [`catalog_cli`]: its `catalog` subcommands;
//!   [`clearing_cli`]: its `clearing` subcommands; [`bench`]: `medclear bench`;
//!   [`simulate`]: hospitals' traffic through the national interface; [`demo`]: `medclear
//!   demo`, which writes its HTML [`report`] with [`svg`] charts.

pub mod access;
pub mod bench;
mod bench_clearing;
mod bench_settle;
pub mod catalog_cli;
pub mod citizen;
pub mod clearing_cli;
pub mod cli;
pub mod demo;
pub mod http;
pub mod institutions_cli;
pub mod pages;
pub mod persons_cli;
pub mod report;
pub mod session;
pub mod simulate;
pub mod svg;
pub mod tls;
pub mod up;

#[cfg(feature = "embedded-db")]
mod embedded;
