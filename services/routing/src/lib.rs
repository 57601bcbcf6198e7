//! Claim routing and settlement (结算), DESIGN.md §4.3 — so far its pure core:
//!
//! * [`policy`]: the home-region benefit policy format and its validation.
//! * [`policies`]: the seed regions' policy files and a generated default for other regions.
//! * [`calc`]: the settlement calculator — resolved lines, person, accumulators, policy,
//!   filing and visit in; the breakdown in the national field names out.
//!
//! Persons, the visit lifecycle over gRPC, exactly-once persistence, routing by home province
//! and the settlement event stream build on these (see the notes).

pub mod calc;
pub mod policies;
pub mod policy;
