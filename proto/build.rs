//! Compiles `medclear/*.proto` with the vendored `protoc`, so a fresh machine needs no system
//! protoc.

use std::{fs, io, path::PathBuf};

/// Messages written as JSON, with their fields whose empty text is written as null.
const JSON_MESSAGES: [(&str, &[&str]); 14] = [
    ("medclear.routing.v1.Settlement", &["orig_setl_id", "mdtrt_id", "coverage_basis"]),
    ("medclear.routing.v1.SetlDetail", &[]),
    ("medclear.clearing.v1.StatementLine", &[]),
    ("medclear.clearing.v1.HospitalStatement", &[]),
    ("medclear.clearing.v1.ClearedItem", &["orig_setl_id", "carried_from_period_id"]),
    ("medclear.clearing.v1.ReconTotals", &[]),
    ("medclear.clearing.v1.ReconDetail", &[]),
    ("medclear.routing.v1.PolicyVersion", &["end_date", "published_by", "published_at"]),
    ("medclear.routing.v1.PolicyProblem", &[]),
    ("medclear.routing.v1.ValidatePolicyResponse", &[]),
    ("medclear.routing.v1.FundChange", &[]),
    ("medclear.routing.v1.ProvinceChange", &[]),
    ("medclear.routing.v1.PersonChange", &[]),
    ("medclear.routing.v1.PolicyPreview", &[]),
];

fn main() -> io::Result<()> {
    let dir = PathBuf::from("medclear");
    let mut protos: Vec<PathBuf> = fs::read_dir(&dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "proto"))
        .collect();
    protos.sort();
    println!("cargo:rerun-if-changed={}", dir.display());

    let protoc = protoc_bin_vendored::protoc_bin_path().map_err(io::Error::other)?;
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    // Settlements and what clearing makes of them are written as JSON from their messages (the
    // JSON API, the national interface's setlinfo), so no other struct restates their fields.
    // Texts a message may lack (ids of what it refers to) are written as null.
    let mut builder = tonic_prost_build::configure();
    for (message, nullable) in JSON_MESSAGES {
        builder = builder.type_attribute(message, "#[derive(serde::Serialize)]");
        for field in nullable {
            builder = builder.field_attribute(
                format!("{message}.{field}"),
                "#[serde(serialize_with = \"crate::json::empty_as_null\")]",
            );
        }
    }
    builder.compile_with_config(config, &protos, &[dir])
}
