//! `medclear persons …`: load the person registry of the routing service from a CSV file (see
//! the README for the columns) or with the deterministic demo population.

use std::path::PathBuf;

use clap::Subcommand;
use medclear_common::{Error, Result};
use medclear_proto::routing::v1::{self as pb, routing_service_client::RoutingServiceClient};
use medclear_routing::persons;

use crate::catalog_cli::{Row, read_csv};

#[derive(Debug, Subcommand)]
pub enum PersonsCommand {
    /// Import persons from a CSV file.
    Import {
        file: PathBuf,
        #[arg(long, env = "ROUTING_ENDPOINT", default_value = "http://127.0.0.1:50053")]
        endpoint: String,
    },
    /// Load the demo population: persons in all 32 provincial regions.
    Demo {
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Persons per province (at most 1000).
        #[arg(long, default_value_t = 200)]
        per_province: u32,
        #[arg(long, env = "ROUTING_ENDPOINT", default_value = "http://127.0.0.1:50053")]
        endpoint: String,
    },
}

/// Sends rows to the routing service in batches; returns (accepted, rejections).
pub async fn import(
    endpoint: &str,
    rows: Vec<Row>,
) -> Result<(u64, Vec<pb::import_persons_response::Rejection>)> {
    let channel = medclear_common::server::connect("routing", endpoint)
        .await
        .map_err(|e| Error::Internal(format!("{e} (is `medclear up` running?)")))?;
    let mut client = RoutingServiceClient::new(channel);
    let (mut accepted, mut rejections) = (0, Vec::new());
    for batch in rows.chunks(10_000) {
        let request = pb::ImportPersonsRequest {
            rows: batch
                .iter()
                .map(|(row_no, fields)| pb::import_persons_request::Row {
                    row_no: *row_no,
                    fields: fields.clone().into_iter().collect(),
                })
                .collect(),
        };
        let answer = client
            .import_persons(request)
            .await
            .map_err(|s| Error::Internal(format!("import refused: {}", s.message())))?
            .into_inner();
        accepted += answer.accepted;
        rejections.extend(answer.rejections);
    }
    Ok((accepted, rejections))
}

pub async fn run(command: PersonsCommand) -> Result<()> {
    let (endpoint, rows) = match command {
        PersonsCommand::Import { file, endpoint } => (endpoint, read_csv(&file)?),
        PersonsCommand::Demo { seed, per_province, endpoint } => {
            let people = crate::demo_data::persons::demo_persons(seed, per_province);
            (
                endpoint,
                people.iter().zip(2u64..).map(|(p, line)| (line, persons::row_of(p))).collect(),
            )
        }
    };
    let (accepted, rejections) = import(&endpoint, rows).await?;
    println!("{accepted} persons imported, {} refused", rejections.len());
    for r in rejections.iter().take(20) {
        println!("  line {}: {} [{}] {}", r.row_no, r.reason, r.field, r.message);
    }
    Ok(())
}
