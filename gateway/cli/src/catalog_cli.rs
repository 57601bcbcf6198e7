//! `medclear catalog …`: import catalogue files, write or load the demo catalogue. Files go to
//! the catalogue service through its streaming `Import` call, row by row, with a progress bar;
//! the service answers with the rows it refused and why.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    time::Instant,
};

use clap::{Subcommand, ValueEnum, builder::PossibleValue};
use indicatif::{ProgressBar, ProgressStyle};
use medclear_catalog::import::{COVERAGE_COLUMNS, ITEM_COLUMNS, MAPPING_COLUMNS};
use medclear_common::{Error, Result, telemetry::Traced};
use medclear_proto::{
    catalog::v1::{self as pb, catalog_service_client::CatalogServiceClient},
    names,
};
use tokio_stream::wrappers::ReceiverStream;

use crate::demo_data::catalog::{self as demo, Scale};

/// What a catalogue file holds; `--target` takes the words of `pb::ImportTarget`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Items,
    Coverage,
    Mappings,
}

impl ValueEnum for Target {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::Items, Self::Coverage, Self::Mappings]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(names::name(self.to_pb())))
    }
}

impl Target {
    fn to_pb(self) -> pb::ImportTarget {
        match self {
            Self::Items => pb::ImportTarget::Items,
            Self::Coverage => pb::ImportTarget::Coverage,
            Self::Mappings => pb::ImportTarget::Mappings,
        }
    }

    fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Items => &ITEM_COLUMNS,
            Self::Coverage => &COVERAGE_COLUMNS,
            Self::Mappings => &MAPPING_COLUMNS,
        }
    }

    /// `items.csv`, `coverage.csv`, `mappings.csv`.
    fn file_name(self) -> String {
        format!("{}.csv", names::name(self.to_pb()))
    }
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Import a CSV file (columns: see the README) into the catalogue as one version.
    Import {
        #[arg(long, value_enum)]
        target: Target,
        file: PathBuf,
        /// Publish nothing if any row is refused.
        #[arg(long)]
        all_or_nothing: bool,
        /// Write the refused rows with their reasons to this CSV file.
        #[arg(long)]
        rejects: Option<PathBuf>,
        #[arg(long, default_value = "cli")]
        operator: String,
        #[arg(long, env = "CATALOG_ENDPOINT", default_value = "http://127.0.0.1:50052")]
        endpoint: String,
    },
    /// Write the demo catalogue as items.csv, coverage.csv and mappings.csv.
    Generate {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// About 1/100 of the full size.
        #[arg(long)]
        small: bool,
    },
    /// Generate the demo catalogue and import it into a running catalogue service.
    Demo {
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        small: bool,
        #[arg(long, env = "CATALOG_ENDPOINT", default_value = "http://127.0.0.1:50052")]
        endpoint: String,
    },
}

/// One row: line number in its file, and column → value.
pub type Row = (u64, BTreeMap<String, String>);

fn io_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("{}: {e}", path.display()))
}

/// Reads a CSV file with a header line; rows are numbered by their line in the file.
pub fn read_csv(path: &Path) -> Result<Vec<Row>> {
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(|e| io_error(path, e))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| io_error(path, e))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| io_error(path, e))?;
        let line = record.position().map_or(0, csv::Position::line);
        let fields = headers.iter().cloned().zip(record.iter().map(str::to_owned)).collect();
        rows.push((line, fields));
    }
    Ok(rows)
}

/// Streams `rows` to the catalogue's `Import` call; the report says what was published. The
/// call carries the service token whatever the client's channel (see
/// [`medclear_common::server`]).
pub async fn import<T>(
    client: &mut CatalogServiceClient<T>,
    header: pb::ImportHeader,
    rows: Vec<Row>,
    progress: Option<ProgressBar>,
) -> Result<pb::ImportReport>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    let (sender, receiver) = tokio::sync::mpsc::channel(1024);
    let feeder = tokio::spawn(async move {
        let first = pb::ImportRequest { part: Some(pb::import_request::Part::Header(header)) };
        if sender.send(first).await.is_err() {
            return;
        }
        for (row_no, fields) in rows {
            let fields: HashMap<String, String> = fields.into_iter().collect();
            let part = pb::import_request::Part::Row(pb::ImportRow { row_no, fields });
            if sender.send(pb::ImportRequest { part: Some(part) }).await.is_err() {
                return;
            }
            if let Some(bar) = &progress {
                bar.inc(1);
            }
        }
        if let Some(bar) = progress {
            bar.set_message("publishing…");
        }
    });
    let mut request = tonic::Request::new(ReceiverStream::new(receiver));
    medclear_common::server::insert_service_token(request.metadata_mut());
    let answer = client.import(request).await;
    feeder.abort();
    answer.map(tonic::Response::into_inner).map_err(|status| {
        Error::Internal(format!(
            "import refused: {} ({})",
            status.message(),
            medclear_common::error::status_reason(&status)
        ))
    })
}

fn progress_bar(len: usize, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(u64::try_from(len).unwrap_or(u64::MAX));
    let style =
        ProgressStyle::with_template("{prefix:>9} [{bar:40}] {pos}/{len} rows {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label.to_owned());
    bar
}

async fn connect(endpoint: &str) -> Result<CatalogServiceClient<Traced>> {
    let channel = medclear_common::server::connect("catalogue", endpoint)
        .await
        .map_err(|e| Error::Internal(format!("{e} (is `medclear up` running?)")))?;
    let client = CatalogServiceClient::new(channel);
    Ok(client.max_decoding_message_size(64 * 1024 * 1024))
}

fn print_report(label: &str, report: &pb::ImportReport, elapsed: std::time::Duration) {
    println!(
        "{label}: {} rows read, {} accepted, {} refused; {} in {} ms",
        report.rows_received,
        report.rows_accepted,
        report.rejections.len(),
        if report.committed {
            format!("published as version {}", report.ver)
        } else {
            "nothing published".to_owned()
        },
        elapsed.as_millis()
    );
    for r in report.rejections.iter().take(20) {
        println!("  line {}: {} [{}] {}", r.row_no, r.reason, r.field, r.message);
    }
    if report.rejections.len() > 20 {
        println!("  … and {} more", report.rejections.len() - 20);
    }
}

fn write_rejects(path: &Path, report: &pb::ImportReport) -> Result<()> {
    let mut writer = csv::Writer::from_path(path).map_err(|e| io_error(path, e))?;
    writer.write_record(["line", "reason", "field", "message"]).map_err(|e| io_error(path, e))?;
    for r in &report.rejections {
        writer
            .write_record([r.row_no.to_string().as_str(), &r.reason, &r.field, &r.message])
            .map_err(|e| io_error(path, e))?;
    }
    writer.flush().map_err(|e| io_error(path, e))
}

/// The demo catalogue as rows per target.
pub fn demo_rows(seed: u64, scale: Scale) -> (demo::DemoCatalog, [(Target, Vec<Row>); 3]) {
    let catalog = demo::generate(seed, scale);
    let rows = |rows: &[demo::Row]| -> Vec<Row> {
        rows.iter()
            .zip(2u64..)
            .map(|(row, line)| {
                (line, row.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
            })
            .collect()
    };
    let targets = [
        (Target::Items, rows(&catalog.items)),
        (Target::Coverage, rows(&catalog.coverage)),
        (Target::Mappings, rows(&catalog.mappings)),
    ];
    (catalog, targets)
}

/// What loading the demo catalogue did.
#[derive(Debug)]
pub struct DemoLoad {
    pub hospitals: Vec<demo::DemoHospital>,
    /// Rows published per file (items, coverage, mappings).
    pub rows: [u64; 3],
    /// The catalogue version after the load.
    pub ver: i64,
}

/// Imports the demo catalogue.
pub async fn load_demo(
    client: &mut CatalogServiceClient<Traced>,
    seed: u64,
    scale: Scale,
    show_progress: bool,
) -> Result<DemoLoad> {
    let (catalog, targets) = demo_rows(seed, scale);
    let mut load = DemoLoad { hospitals: catalog.hospitals, rows: [0; 3], ver: 0 };
    for (n, (target, rows)) in targets.into_iter().enumerate() {
        let started = Instant::now();
        let bar = show_progress.then(|| progress_bar(rows.len(), names::name(target.to_pb())));
        let header = pb::ImportHeader {
            target: target.to_pb().into(),
            source: format!("demo seed {seed}: {}", target.file_name()),
            all_or_nothing: true,
            operator: "demo".into(),
        };
        let report = import(client, header, rows, bar.clone()).await?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if show_progress {
            print_report(&target.file_name(), &report, started.elapsed());
        }
        if !report.committed {
            return Err(Error::Internal(format!("the demo {} were refused", target.file_name())));
        }
        load.rows[n] = report.rows_accepted;
        load.ver = report.ver;
    }
    Ok(load)
}

pub async fn run(command: CatalogCommand) -> Result<()> {
    match command {
        CatalogCommand::Import { target, file, all_or_nothing, rejects, operator, endpoint } => {
            let rows = read_csv(&file)?;
            let mut client = connect(&endpoint).await?;
            let started = Instant::now();
            let header = pb::ImportHeader {
                target: target.to_pb().into(),
                source: file.display().to_string(),
                all_or_nothing,
                operator,
            };
            let bar = progress_bar(rows.len(), "import");
            let report = import(&mut client, header, rows, Some(bar.clone())).await?;
            bar.finish_and_clear();
            print_report(&file.display().to_string(), &report, started.elapsed());
            if let Some(path) = rejects {
                write_rejects(&path, &report)?;
                println!("refused rows written to {}", path.display());
            }
            Ok(())
        }
        CatalogCommand::Generate { out, seed, small } => {
            std::fs::create_dir_all(&out).map_err(|e| io_error(&out, e))?;
            let (_, targets) = demo_rows(seed, if small { Scale::Small } else { Scale::Full });
            for (target, rows) in targets {
                let path = out.join(target.file_name());
                let mut writer = csv::Writer::from_path(&path).map_err(|e| io_error(&path, e))?;
                writer.write_record(target.columns()).map_err(|e| io_error(&path, e))?;
                for (_, fields) in &rows {
                    let record =
                        target.columns().iter().map(|c| fields.get(*c).map_or("", String::as_str));
                    writer.write_record(record).map_err(|e| io_error(&path, e))?;
                }
                writer.flush().map_err(|e| io_error(&path, e))?;
                println!("{}: {} rows", path.display(), rows.len());
            }
            Ok(())
        }
        CatalogCommand::Demo { seed, small, endpoint } => {
            let mut client = connect(&endpoint).await?;
            let scale = if small { Scale::Small } else { Scale::Full };
            let load = load_demo(&mut client, seed, scale, true).await?;
            println!(
                "demo catalogue loaded as version {}: {} hospitals have mappings, e.g. {}",
                load.ver,
                load.hospitals.len(),
                load.hospitals.first().map_or("-", |h| h.fixmedins_code.as_str())
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_the_words_of_the_proto() {
        let words: Vec<String> = Target::value_variants()
            .iter()
            .filter_map(ValueEnum::to_possible_value)
            .map(|v| v.get_name().to_owned())
            .collect();
        assert_eq!(words, ["items", "coverage", "mappings"]);
        assert_eq!(<Target as ValueEnum>::from_str("coverage", false), Ok(Target::Coverage));
        assert!(<Target as ValueEnum>::from_str("Coverage", false).is_err());
        assert_eq!(Target::Mappings.file_name(), "mappings.csv");
        assert_eq!(Target::Items.to_pb(), pb::ImportTarget::Items);
    }
}
