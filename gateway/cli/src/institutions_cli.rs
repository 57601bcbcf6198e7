//! `medclear institutions …`: load the registry of designated institutions (region and
//! hospital level, which the national interface does not send with a visit) from a CSV file
//! (`fixmedins_code,fixmedins_name,admdvs,hospital_level`) or from the demo catalogue's
//! hospitals.

use std::path::PathBuf;

use crate::demo_data::catalog::{self as demo, Scale};
use clap::Subcommand;
use medclear_common::{Error, Result};
use medclear_proto::routing::v1::{self as pb, routing_service_client::RoutingServiceClient};

use crate::catalog_cli::read_csv;

#[derive(Debug, Subcommand)]
pub enum InstitutionsCommand {
    /// Import institutions from a CSV file: all of them, or none when one is malformed.
    Import {
        file: PathBuf,
        #[arg(long, env = "ROUTING_ENDPOINT", default_value = "http://127.0.0.1:50053")]
        endpoint: String,
    },
    /// Register the demo catalogue's hospitals (the codes its mappings use).
    Demo {
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The demo catalogue at its full size (else the small one).
        #[arg(long)]
        full: bool,
        #[arg(long, env = "ROUTING_ENDPOINT", default_value = "http://127.0.0.1:50053")]
        endpoint: String,
    },
}

/// The demo catalogue's hospitals as registry entries.
pub fn demo_institutions(seed: u64, scale: Scale) -> Vec<pb::Institution> {
    demo::generate(seed, scale)
        .hospitals
        .into_iter()
        .map(|h| pb::Institution {
            fixmedins_code: h.fixmedins_code,
            fixmedins_name: h.name,
            admdvs: h.admdvs,
            hospital_level: h.level.to_owned(),
        })
        .collect()
}

/// Registers `institutions` with the routing service at `endpoint`; how many it accepted.
pub async fn import(endpoint: &str, institutions: Vec<pb::Institution>) -> Result<u64> {
    let channel = medclear_common::server::connect("routing", endpoint)
        .await
        .map_err(|e| Error::Internal(format!("{e} (is `medclear up` running?)")))?;
    let mut client = RoutingServiceClient::new(channel);
    let answer = client
        .import_institutions(pb::ImportInstitutionsRequest { institutions })
        .await
        .map_err(|s| {
        let field = medclear_common::error::status_field(&s).unwrap_or_default();
        Error::Internal(format!("import refused: {} [{field}]", s.message()))
    })?;
    Ok(answer.into_inner().accepted)
}

pub async fn run(command: InstitutionsCommand) -> Result<()> {
    let (endpoint, institutions) = match command {
        InstitutionsCommand::Import { file, endpoint } => {
            let rows = read_csv(&file)?;
            let field = |fields: &std::collections::BTreeMap<String, String>, name: &str| {
                fields.get(name).cloned().unwrap_or_default()
            };
            let institutions = rows
                .iter()
                .map(|(_, f)| pb::Institution {
                    fixmedins_code: field(f, "fixmedins_code"),
                    fixmedins_name: field(f, "fixmedins_name"),
                    admdvs: field(f, "admdvs"),
                    hospital_level: field(f, "hospital_level"),
                })
                .collect();
            (endpoint, institutions)
        }
        InstitutionsCommand::Demo { seed, full, endpoint } => {
            (endpoint, demo_institutions(seed, if full { Scale::Full } else { Scale::Small }))
        }
    };
    let accepted = import(&endpoint, institutions).await?;
    println!("{accepted} institutions registered");
    Ok(())
}
