//! Wire types and gRPC stubs of every medclear service, generated from `proto/medclear/*.proto`.
//!
//! This crate is the wire format only: each service converts these messages into validated
//! domain types at its edge (`TryFrom<proto::X>`), and nothing inside a service handles a raw
//! message. [`names`] gives each value of each enum its one word, for the JSON API, the pages,
//! the CLI and the CSV files; [`json`] how a settlement, written as JSON from its message,
//! writes its fields.
// Generated code: the workspace lints are for hand-written code.
#![allow(
    unreachable_pub,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic,
    clippy::as_conversions,
    clippy::unwrap_used,
    clippy::expect_used
)]

pub mod json;
pub mod names;

/// `medclear.filing.v1`: filing registration (备案).
pub mod filing {
    pub mod v1 {
        tonic::include_proto!("medclear.filing.v1");
    }
}

/// `medclear.catalog.v1`: catalogue unification (目录). Draft; its service comes in its own issue.
pub mod catalog {
    pub mod v1 {
        tonic::include_proto!("medclear.catalog.v1");
    }
}

/// `medclear.routing.v1`: claim routing and settlement (结算). Draft.
pub mod routing {
    pub mod v1 {
        tonic::include_proto!("medclear.routing.v1");
    }
}

/// `medclear.clearing.v1`: interregional netting and clearing (清算). Draft.
pub mod clearing {
    pub mod v1 {
        tonic::include_proto!("medclear.clearing.v1");
    }
}
