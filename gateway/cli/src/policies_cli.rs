//! `medclear policies …`: the bureaus' home-region benefit policies, over the routing service's
//! gRPC API — check a document, keep it as a draft, list the versions, show one (as a file to
//! edit into the next draft), preview what a draft would change over a month of settlements,
//! publish it, and verify a month's settlements against the versions they recorded.
//!
//! `--operator` names who acts and `--province` the operator's province (omit it for the
//! national operator, who publishes the national default and the provinces' floors); the
//! routing service decides who may do what. This talks to one routing instance (`--endpoint`):
//! with routing partitioned by province, the gateway's `/api/v1/policies` copies national
//! documents to every instance. Amounts are shown in yuan with two decimals, converted exactly
//! from fen.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use medclear_common::{
    Error, Result,
    error::{Problem, ProblemKind},
    money::fen_to_yuan,
    server::channel,
};
use medclear_gateway::api::policies::{pretty, preview_csv};
use medclear_proto::routing::v1::{self as pb, routing_service_client::RoutingServiceClient};

use crate::clearing_cli::table;

#[derive(Debug, Args)]
pub struct PoliciesArgs {
    /// The routing service's gRPC endpoint.
    #[arg(long, env = "ROUTING_ENDPOINT", default_value = "http://127.0.0.1:50053", global = true)]
    endpoint: String,
    /// Who acts (an operator id, kept with the drafts and publications).
    #[arg(long, env = "MEDCLEAR_OPERATOR", default_value = "cli", global = true)]
    operator: String,
    /// The operator's province (e.g. 420000); omit for the national operator. `list` also
    /// lists only this province's regions.
    #[arg(long, global = true)]
    province: Option<String>,
    #[command(subcommand)]
    command: PoliciesCommand,
}

#[derive(Debug, Subcommand)]
pub enum PoliciesCommand {
    /// Check a policy document (a JSON file): prints OK with the id it would have, or each
    /// problem as `field: message` (and fails).
    Validate { file: PathBuf },
    /// Keep a policy document as a draft; prints its id.
    Draft { file: PathBuf },
    /// Publish a draft: from its begin date, visits of its region use it.
    Publish { policy_id: String },
    /// The versions in force and past (and the drafts, with --drafts).
    List {
        /// One region (000000: the national default).
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        insutype: Option<String>,
        /// Drafts too.
        #[arg(long)]
        drafts: bool,
    },
    /// Print a stored document as JSON (`… show ID > draft.json` gives a file to edit).
    Show { policy_id: String },
    /// What a draft would change over a month: every settlement of persons insured in its
    /// region settled again under it; totals per fund and per treating province, the persons
    /// affected and the 20 largest changes. Writes nothing.
    Preview {
        policy_id: String,
        /// yyyy-MM.
        #[arg(long)]
        period: String,
        /// Also write the preview as a CSV file.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
    /// Settle every settlement of a month again under the version it recorded and compare with
    /// what was stored, to the fen (fails when any differs).
    Verify {
        /// yyyy-MM.
        #[arg(long)]
        period: String,
    },
}

fn read(file: &Path) -> Result<String> {
    std::fs::read_to_string(file).map_err(|e| Error::Internal(format!("{}: {e}", file.display())))
}

pub async fn run(args: PoliciesArgs) -> Result<()> {
    let mut client = RoutingServiceClient::new(channel("routing", &args.endpoint)?);
    let refused = crate::cli::refused("routing", &args.endpoint);
    let actor = pb::PolicyActor {
        operator_id: args.operator.clone(),
        province: args.province.clone().unwrap_or_default(),
    };
    match args.command {
        PoliciesCommand::Validate { file } => {
            let request =
                pb::PolicyDocumentRequest { document_json: read(&file)?, actor: Some(actor) };
            let answer = client.validate_policy(request).await.map_err(&refused)?.into_inner();
            print!("{}", validation_report(&answer));
            if !answer.valid {
                return Err(Error::Problem(Problem {
                    kind: ProblemKind::InvalidArgument,
                    reason: "invalid_policy".into(),
                    field: None,
                    message: format!(
                        "{} is not a valid policy document ({} problems)",
                        file.display(),
                        answer.problems.len()
                    ),
                }));
            }
        }
        PoliciesCommand::Draft { file } => {
            let request =
                pb::PolicyDocumentRequest { document_json: read(&file)?, actor: Some(actor) };
            let v = client.put_draft(request).await.map_err(&refused)?.into_inner();
            // The id alone on standard output, for scripts; what it is on standard error.
            eprintln!("draft {}", version_line(&v));
            println!("{}", v.policy_id);
        }
        PoliciesCommand::Publish { policy_id } => {
            let request = pb::PublishPolicyRequest { policy_id, actor: Some(actor) };
            let v = client.publish_policy(request).await.map_err(&refused)?.into_inner();
            println!("published {}", version_line(&v));
        }
        PoliciesCommand::List { region, insutype, drafts } => {
            let request = pb::ListPoliciesRequest {
                region: region.unwrap_or_default(),
                insutype: insutype.unwrap_or_default(),
                include_drafts: drafts,
                province: args.province.unwrap_or_default(),
            };
            let list = client.list_policies(request).await.map_err(&refused)?.into_inner();
            if list.versions.is_empty() {
                println!("no policy documents");
            } else {
                print!("{}", versions_table(&list.versions));
            }
        }
        PoliciesCommand::Show { policy_id } => {
            let request = pb::GetPolicyRequest { policy_id };
            let v = client.get_policy(request).await.map_err(&refused)?.into_inner();
            print!("{}", pretty(&v.document_json));
        }
        PoliciesCommand::Preview { policy_id, period, csv } => {
            let request = pb::PreviewPolicyRequest {
                policy_id,
                document_json: String::new(),
                period,
                actor: Some(actor),
            };
            let preview = client.preview_policy(request).await.map_err(&refused)?.into_inner();
            print!("{}", preview_report(&preview));
            if let Some(path) = csv {
                std::fs::write(&path, preview_csv(&preview))
                    .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
                println!("wrote {}", path.display());
            }
        }
        PoliciesCommand::Verify { period } => {
            let request = pb::VerifySettlementsRequest { period: period.clone() };
            let answer = client.verify_settlements(request).await.map_err(&refused)?.into_inner();
            println!(
                "{period}: {} settlements checked, {} skipped (stored before their inputs were \
                 recorded), {} mismatched",
                answer.checked,
                answer.skipped,
                answer.mismatched_setl_ids.len()
            );
            for setl_id in &answer.mismatched_setl_ids {
                println!("  {setl_id}");
            }
            if !answer.mismatched_setl_ids.is_empty() {
                return Err(Error::Problem(Problem {
                    kind: ProblemKind::FailedPrecondition,
                    reason: "settlements_mismatched".into(),
                    field: None,
                    message: format!(
                        "{} settlements of {period} do not come out as stored",
                        answer.mismatched_setl_ids.len()
                    ),
                }));
            }
        }
    }
    Ok(())
}

/// `OK <id> sha256 <hex>`, or each problem as `field: message`.
fn validation_report(answer: &pb::ValidatePolicyResponse) -> String {
    if answer.valid {
        return format!("OK {} sha256 {}\n", answer.policy_id, answer.sha256);
    }
    answer
        .problems
        .iter()
        .map(|p| {
            let field = if p.field.is_empty() { "(document)" } else { p.field.as_str() };
            format!("{field}: {}\n", p.message)
        })
        .collect()
}

fn or_dash(text: &str) -> String {
    if text.is_empty() { "–".to_owned() } else { text.to_owned() }
}

/// One version in a line: id, what it is, when it is in force.
fn version_line(v: &pb::PolicyVersion) -> String {
    format!(
        "{} ({} {} {}, version {}, {}): in force from {}{}",
        v.policy_id,
        v.kind,
        v.region,
        v.insutype,
        or_dash(&v.label),
        v.status,
        v.begin_date,
        if v.end_date.is_empty() { String::new() } else { format!(" to {}", v.end_date) }
    )
}

fn versions_table(versions: &[pb::PolicyVersion]) -> String {
    let rows: Vec<Vec<String>> = versions
        .iter()
        .map(|v| {
            vec![
                v.policy_id.clone(),
                v.region.clone(),
                v.insutype.clone(),
                v.kind.clone(),
                or_dash(&v.label),
                v.status.clone(),
                v.begin_date.clone(),
                or_dash(&v.end_date),
                or_dash(&v.published_at),
            ]
        })
        .collect();
    let header =
        ["id", "region", "insutype", "kind", "label", "status", "begin", "end", "published_at"];
    table(&header, &[false; 9], &rows)
}

fn preview_report(p: &pb::PolicyPreview) -> String {
    let mut out = format!(
        "preview of {} ({} {}) over {}: {} settlements ({} settled again with the year's \
         earlier ones), {} persons, {} of them affected ({} ms)\n",
        p.policy_id,
        p.region,
        p.insutype,
        p.period,
        p.settlements,
        p.replayed,
        p.persons,
        p.persons_affected,
        p.elapsed_micros / 1000
    );
    let right = [false, true, true, true];
    out.push_str("\nby fund (yuan)\n");
    let funds: Vec<Vec<String>> = p
        .funds
        .iter()
        .map(|f| {
            vec![
                f.fund.clone(),
                fen_to_yuan(f.before_fen),
                fen_to_yuan(f.after_fen),
                fen_to_yuan(f.change_fen),
            ]
        })
        .collect();
    out.push_str(&table(&["fund", "before", "after", "change"], &right, &funds));
    out.push_str("\nby treating province (funds in all, yuan)\n");
    let provinces: Vec<Vec<String>> = p
        .provinces
        .iter()
        .map(|c| {
            change_row(
                &c.treating_province,
                c.settlements,
                [c.before_fen, c.after_fen, c.change_fen],
            )
        })
        .collect();
    let header = ["treating province", "settlements", "before", "after", "change"];
    out.push_str(&table(&header, &[false, true, true, true, true], &provinces));
    out.push_str(&format!(
        "\n{} persons affected; the {} largest changes (funds in all, yuan)\n",
        p.persons_affected,
        p.largest.len()
    ));
    let persons: Vec<Vec<String>> = p
        .largest
        .iter()
        .map(|c| change_row(&c.psn_no, c.settlements, [c.before_fen, c.after_fen, c.change_fen]))
        .collect();
    let header = ["psn_no", "settlements", "before", "after", "change"];
    out.push_str(&table(&header, &[false, true, true, true, true], &persons));
    out
}

/// A row of who (a province, a person), its settlements, and the funds before, after and the
/// change, in yuan.
fn change_row(who: &str, settlements: u64, [before, after, change]: [i64; 3]) -> Vec<String> {
    let mut row = vec![who.to_owned(), settlements.to_string()];
    row.extend([before, after, change].map(fen_to_yuan));
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_says_ok_or_each_problem_by_field() {
        let ok = pb::ValidatePolicyResponse {
            valid: true,
            problems: Vec::new(),
            policy_id: "420200-310-0123456789ab".into(),
            sha256: "ab".into(),
        };
        assert_eq!(validation_report(&ok), "OK 420200-310-0123456789ab sha256 ab\n");
        let bad = pb::ValidatePolicyResponse {
            valid: false,
            problems: vec![
                pb::PolicyProblem {
                    field: "inpatient.bands[0].segments[1].ratio".into(),
                    reason: "invalid_ratio".into(),
                    message: "ratio 1.50 is above 1".into(),
                },
                pb::PolicyProblem {
                    field: String::new(),
                    reason: "malformed_json".into(),
                    message: "not JSON".into(),
                },
            ],
            ..ok
        };
        assert_eq!(
            validation_report(&bad),
            "inpatient.bands[0].segments[1].ratio: ratio 1.50 is above 1\n(document): not JSON\n"
        );
    }

    #[test]
    fn a_preview_is_shown_in_yuan() {
        let p = pb::PolicyPreview {
            policy_id: "420200-310-0123456789ab".into(),
            period: "2026-11".into(),
            funds: vec![pb::FundChange {
                fund: "hifp_pay".into(),
                before_fen: 100_000,
                after_fen: 99_999,
                change_fen: -1,
            }],
            largest: vec![pb::PersonChange {
                psn_no: "P420200001".into(),
                settlements: 2,
                before_fen: 5,
                after_fen: 4,
                change_fen: -1,
            }],
            ..Default::default()
        };
        let report = preview_report(&p);
        assert!(report.contains(" hifp_pay  1000.00  999.99   -0.01\n"), "{report}");
        assert!(report.contains(" P420200001            2    0.05   0.04   -0.01\n"), "{report}");
    }
}
