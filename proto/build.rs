//! Compiles `medclear/*.proto` with the vendored `protoc`, so a fresh machine needs no system
//! protoc.

use std::{fs, io, path::PathBuf};

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
    tonic_prost_build::configure().compile_with_config(config, &protos, &[dir])
}
