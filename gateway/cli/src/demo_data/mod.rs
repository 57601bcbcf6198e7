//! Demo data, deterministic from a seed, that goes in through the same import paths as real
//! files: [`catalog`] — a synthetic national catalogue, regional coverage and demo hospitals'
//! mappings; [`persons`] — insured persons in every provincial region.

pub mod catalog;
pub mod persons;
