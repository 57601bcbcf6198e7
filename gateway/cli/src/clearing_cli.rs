//! `medclear clearing …`: the clearing operator's commands, over the clearing service's gRPC
//! API — close, net, confirm, withdraw, dispute and settle a period, show where periods and
//! positions stand, write statements as CSV files, record prepaid deposits, audit a period.
//!
//! `--operator` names who acts and `--province` the operator's province (omit it for the
//! national clearing operator); the service decides who may do what. Amounts are shown and
//! written in yuan with two decimals, converted exactly from fen.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use medclear_common::telemetry::Traced;
use medclear_common::{
    Error, Result,
    clock::{Clock, SystemClock},
    money::{fen_to_yuan, yuan_to_fen},
    server::channel,
};
use medclear_proto::{
    clearing::v1::{self as pb, clearing_service_client::ClearingServiceClient},
    names::{self, Named},
};

#[derive(Debug, Args)]
pub struct ClearingArgs {
    /// The clearing service's gRPC endpoint.
    #[arg(
        long,
        env = "CLEARING_ENDPOINT",
        default_value = "http://127.0.0.1:50054",
        global = true
    )]
    clearing_endpoint: String,
    /// Who acts (an operator id); required by the actions, not by the reports.
    #[arg(long, env = "MEDCLEAR_OPERATOR", global = true)]
    operator: Option<String>,
    /// The operator's province (e.g. 440000), which is also the province that confirms,
    /// withdraws, disputes or whose statement is written; omit for the national operator.
    #[arg(long, global = true)]
    province: Option<String>,
    #[command(subcommand)]
    command: ClearingCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClearingCommand {
    /// Cut a period off (national operator): OPEN → CLOSED.
    Close {
        #[arg(long)]
        period: String,
    },
    /// Net a closed period (national operator) and show the positions and instructions.
    Net {
        #[arg(long)]
        period: String,
    },
    /// Confirm the period's netting run for --province (that province's operator).
    Confirm {
        #[arg(long)]
        period: String,
        /// The netting run confirmed; default: the period's current run.
        #[arg(long)]
        run: Option<u32>,
    },
    /// Roll back --province's confirmation (until the period is settled).
    Withdraw {
        #[arg(long)]
        period: String,
        #[arg(long)]
        reason: String,
    },
    /// Dispute settlements of the period for --province: they move to the next open period.
    Dispute {
        #[arg(long)]
        period: String,
        /// A disputed settlement (repeatable, or comma-separated).
        #[arg(long = "setl-id", required = true, value_delimiter = ',')]
        setl_ids: Vec<String>,
        #[arg(long)]
        reason: String,
        /// Idempotency key: repeat it to retry safely (default: a new one).
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Settle a confirmed period (national operator): instructions executed, funds drawn.
    Settle {
        #[arg(long)]
        period: String,
    },
    /// The periods; with --period, its positions, netting efficiency and instructions.
    Status {
        #[arg(long)]
        period: Option<String>,
    },
    /// Write --province's statement for the period as CSV files into --out.
    Statement {
        #[arg(long)]
        period: String,
        #[arg(long)]
        out: PathBuf,
        /// Also list every item of this hospital (of --province as treating province).
        #[arg(long)]
        hospital: Option<String>,
    },
    /// Record a payment into (negative: out of) a prepaid fund.
    Deposit {
        /// In yuan, at most two decimals (e.g. 5000000 or 1234.56; -100 takes money back).
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// The fund's province; default --province.
        #[arg(long)]
        fund: Option<String>,
        /// yyyy-MM-dd; default today (China time).
        #[arg(long)]
        value_date: Option<String>,
        /// The bank's reference of the transfer.
        #[arg(long, default_value = "")]
        bank_reference: String,
        /// Idempotency key; default `<fund>-<value date>-<bank reference>`.
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Recompute the period's matrix from its items and compare it with the kept one.
    Audit {
        #[arg(long)]
        period: String,
    },
}

/// What the clearing service said no to, as a command-line error.
pub(crate) fn refused(endpoint: &str) -> impl Fn(tonic::Status) -> Error + '_ {
    crate::cli::refused("clearing", endpoint)
}

/// A command line that lacks something.
fn usage(message: impl Into<String>) -> Error {
    Error::invalid("command line", "usage", message)
}

/// A clearing client acting as `operator` (of `province`; `None`: the national operator).
pub(crate) struct Session {
    client: ClearingServiceClient<Traced>,
    endpoint: String,
    operator: Option<String>,
    province: Option<String>,
}

impl Session {
    pub(crate) fn new(
        client: ClearingServiceClient<Traced>,
        endpoint: &str,
        operator: Option<String>,
        province: Option<String>,
    ) -> Self {
        Self { client, endpoint: endpoint.to_owned(), operator, province }
    }

    /// The acting operator; actions need `--operator`.
    fn actor(&self) -> Result<pb::Operator> {
        let id = self
            .operator
            .clone()
            .filter(|o| !o.trim().is_empty())
            .ok_or_else(|| usage("who acts? give --operator <id> (or MEDCLEAR_OPERATOR)"))?;
        Ok(pb::Operator {
            id,
            name: String::new(),
            admdvs: self.province.clone().unwrap_or_default(),
        })
    }

    /// The province a command is about: --province.
    fn province(&self, command: &str) -> Result<String> {
        self.province
            .clone()
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| usage(format!("`clearing {command}` needs --province")))
    }

    fn refused(&self) -> impl Fn(tonic::Status) -> Error + '_ {
        refused(&self.endpoint)
    }

    async fn period(&mut self, period_id: &str) -> Result<pb::Period> {
        let request = pb::GetPeriodRequest { period_id: period_id.to_owned() };
        Ok(self.client.get_period(request).await.map_err(refused(&self.endpoint))?.into_inner())
    }
}

pub async fn run(args: ClearingArgs) -> Result<()> {
    let client = ClearingServiceClient::new(channel("clearing", &args.clearing_endpoint)?)
        .max_decoding_message_size(64 * 1024 * 1024);
    let mut s = Session::new(client, &args.clearing_endpoint, args.operator, args.province);
    match args.command {
        ClearingCommand::Close { period } => {
            let request = pb::ClosePeriodRequest { period_id: period, actor: Some(s.actor()?) };
            let p = s.client.close_period(request).await.map_err(s.refused())?.into_inner();
            println!("{}", period_line(&p));
        }
        ClearingCommand::Net { period } => {
            let request = pb::NetPeriodRequest { period_id: period, actor: Some(s.actor()?) };
            let n = s.client.net_period(request).await.map_err(s.refused())?.into_inner();
            let p = s.period(&n.period_id).await?;
            println!("{}", period_line(&p));
            print!("{}", netting_report(&n, &p));
        }
        ClearingCommand::Confirm { period, run } => {
            let province = s.province("confirm")?;
            let netting_run = match run {
                Some(run) => run,
                None => s.period(&period).await?.netting_run,
            };
            let request = pb::ConfirmPeriodRequest {
                period_id: period,
                province_admdvs: province.clone(),
                netting_run,
                actor: Some(s.actor()?),
            };
            let p = s.client.confirm_period(request).await.map_err(s.refused())?.into_inner();
            println!("{province} confirmed netting run {netting_run}");
            println!("{}", period_line(&p));
        }
        ClearingCommand::Withdraw { period, reason } => {
            let province = s.province("withdraw")?;
            let request = pb::WithdrawConfirmationRequest {
                period_id: period,
                province_admdvs: province.clone(),
                reason,
                actor: Some(s.actor()?),
            };
            let p =
                s.client.withdraw_confirmation(request).await.map_err(s.refused())?.into_inner();
            println!("{province} withdrew its confirmation");
            println!("{}", period_line(&p));
        }
        ClearingCommand::Dispute { period, setl_ids, reason, request_id } => {
            let province = s.province("dispute")?;
            let request_id = request_id.unwrap_or_else(|| {
                format!("cli-{period}-{province}-{}", SystemClock.now().timestamp_millis())
            });
            let request = pb::DisputeRequest {
                request_id: request_id.clone(),
                period_id: period,
                province_admdvs: province,
                setl_ids,
                reason,
                actor: Some(s.actor()?),
            };
            let d = s.client.dispute_items(request).await.map_err(s.refused())?.into_inner();
            println!(
                "dispute {} (request {request_id}): {} settlements, {} yuan carried to {}; \
                 period {} is closed again and must be netted anew",
                d.dispute_id,
                d.setl_ids.len(),
                fen_to_yuan(d.amount_fen),
                d.carried_to_period_id,
                d.period_id
            );
        }
        ClearingCommand::Settle { period } => {
            let request = pb::SettlePeriodRequest { period_id: period, actor: Some(s.actor()?) };
            let p = s.client.settle_period(request).await.map_err(s.refused())?.into_inner();
            println!("{}", period_line(&p));
        }
        ClearingCommand::Status { period } => status(&mut s, period.as_deref()).await?,
        ClearingCommand::Statement { period, out, hospital } => {
            let province = s.province("statement")?;
            for path in statement(&mut s, &period, &province, &out, hospital.as_deref()).await? {
                println!("wrote {}", path.display());
            }
        }
        ClearingCommand::Deposit { amount, fund, value_date, bank_reference, request_id } => {
            let fund = match fund {
                Some(fund) => fund,
                None => s
                    .province("deposit")
                    .map_err(|_| usage("whose fund? give --fund <admdvs> (or --province)"))?,
            };
            let amount_fen = signed_yuan_to_fen(&amount)?;
            let value_date = value_date.unwrap_or_else(|| SystemClock.today().to_string());
            let request_id = match request_id {
                Some(id) => id,
                None if !bank_reference.trim().is_empty() => {
                    format!("{fund}-{value_date}-{}", bank_reference.trim())
                }
                None => {
                    return Err(usage(
                        "give --bank-reference (or --request-id) so a retry is recognised",
                    ));
                }
            };
            let request = pb::RecordPrepaidDepositRequest {
                request_id,
                province_admdvs: fund,
                amount_fen,
                value_date,
                bank_reference,
                actor: Some(s.actor()?),
            };
            let f =
                s.client.record_prepaid_deposit(request).await.map_err(s.refused())?.into_inner();
            println!(
                "prepaid fund of {}: deposit {} yuan (required {}, alert line {}): {}",
                f.province_admdvs,
                fen_to_yuan(f.deposit_fen),
                fen_to_yuan(f.required_fen),
                fen_to_yuan(f.alert_line_fen),
                fund_state(f.state)
            );
        }
        ClearingCommand::Audit { period } => {
            let request = pb::AuditPeriodRequest { period_id: period };
            let a = s.client.audit_period(request).await.map_err(s.refused())?.into_inner();
            println!(
                "period {}: {} items in {} cells, gross {} yuan: {}",
                a.period_id,
                a.items,
                a.cells,
                fen_to_yuan(a.gross_total_fen),
                if a.consistent { "consistent" } else { "INCONSISTENT" }
            );
            for difference in &a.differences {
                println!("  {difference}");
            }
            if !a.consistent {
                return Err(Error::Internal(format!(
                    "period {}: the kept matrix differs from its items",
                    a.period_id
                )));
            }
        }
    }
    Ok(())
}

/// A signed amount in yuan (at most two decimals) in fen, exactly.
fn signed_yuan_to_fen(text: &str) -> Result<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let fen = yuan_to_fen(digits).map_err(|e| usage(format!("--amount: {e}")))?;
    Ok(if negative { -fen } else { fen })
}

/// A value's word (`medclear_proto::names`), `?` when the answer left it out.
fn word<E: Named>(value: i32) -> &'static str {
    Some(names::name_of_i32::<E>(value)).filter(|w| !w.is_empty()).unwrap_or("?")
}

/// A fund's state for people: its word spelled with spaces, and the alert line spelled out with
/// what crossing it set off.
pub(crate) fn fund_state(value: i32) -> String {
    match pb::PrepaidFundState::try_from(value) {
        Ok(pb::PrepaidFundState::BelowAlert) => "BELOW THE ALERT LINE (top-up instructed)".into(),
        _ => word::<pb::PrepaidFundState>(value).replace('_', " "),
    }
}

pub(crate) fn period_line(p: &pb::Period) -> String {
    format!(
        "period {} ({} – {}): {}, netting run {}, {} settlements, {} reversals, gross {} yuan",
        p.period_id,
        p.begin_date,
        p.end_date,
        word::<pb::PeriodStatus>(p.status),
        p.netting_run,
        p.settlement_count,
        p.reversal_count,
        fen_to_yuan(p.gross_total_fen)
    )
}

/// Columns padded to their widest cell; `right[i]` right-aligns column `i`.
pub(crate) fn table(header: &[&str], right: &[bool], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::from(" ");
        for (i, (cell, width)) in cells.zip(&widths).enumerate() {
            let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
            if right.get(i).copied().unwrap_or(false) {
                out.push_str(&format!(" {pad}{cell} "));
            } else {
                out.push_str(&format!(" {cell}{pad} "));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

async fn status(s: &mut Session, period: Option<&str>) -> Result<()> {
    let request = pb::ListPeriodsRequest { status: pb::PeriodStatus::Unspecified.into() };
    let periods = s.client.list_periods(request).await.map_err(s.refused())?.into_inner().periods;
    if periods.is_empty() {
        println!("no periods yet: one opens with the first settlement clearing receives");
    } else {
        let rows: Vec<Vec<String>> = periods
            .iter()
            .map(|p| {
                vec![
                    p.period_id.clone(),
                    word::<pb::PeriodStatus>(p.status).to_owned(),
                    p.netting_run.to_string(),
                    p.settlement_count.to_string(),
                    p.reversal_count.to_string(),
                    fen_to_yuan(p.gross_total_fen),
                ]
            })
            .collect();
        print!(
            "{}",
            table(
                &["period", "status", "run", "settlements", "reversals", "gross (yuan)"],
                &[false, false, true, true, true, true],
                &rows
            )
        );
    }
    let Some(period_id) = period else { return Ok(()) };
    let p = s.period(period_id).await?;
    println!();
    println!("{}", period_line(&p));
    if p.netting_run == 0 {
        println!("not netted yet");
        return Ok(());
    }
    let request =
        pb::GetNettingResultRequest { period_id: period_id.to_owned(), include_matrix: false };
    let n = s.client.get_netting_result(request).await.map_err(s.refused())?.into_inner();
    print!("{}", netting_report(&n, &p));
    Ok(())
}

/// The positions of a netting run (with each province's confirmation), its efficiency and its
/// instructions.
pub(crate) fn netting_report(n: &pb::NettingResult, p: &pb::Period) -> String {
    let confirmed = |province: &str| {
        p.confirmations
            .iter()
            .find(|c| c.province_admdvs == province && c.netting_run == n.netting_run)
            .map_or("", |c| match pb::ConfirmationState::try_from(c.state) {
                // A pending confirmation is no confirmation yet: the column stays blank.
                Ok(pb::ConfirmationState::Pending) => "",
                _ => names::name_of_i32::<pb::ConfirmationState>(c.state),
            })
    };
    let rows: Vec<Vec<String>> = n
        .positions
        .iter()
        .map(|pos| {
            vec![
                pos.province_admdvs.clone(),
                fen_to_yuan(pos.receivable_fen),
                fen_to_yuan(pos.payable_fen),
                fen_to_yuan(pos.net_fen),
                confirmed(&pos.province_admdvs).to_owned(),
            ]
        })
        .collect();
    let mut out = format!("\nnet positions of run {} (yuan):\n", n.netting_run);
    out.push_str(&table(
        &["province", "receivable", "payable", "net", "confirmation"],
        &[false, true, true, true, false],
        &rows,
    ));
    out.push_str(&format!(
        "netting efficiency {} (gross {} yuan, Σ|net| {} yuan)\n",
        n.netting_efficiency,
        fen_to_yuan(n.gross_total_fen),
        fen_to_yuan(n.sum_abs_net_fen)
    ));
    if n.instructions.is_empty() {
        out.push_str("no instructions: nothing to pay\n");
        return out;
    }
    let rows: Vec<Vec<String>> = n
        .instructions
        .iter()
        .map(|i| {
            vec![
                i.instruction_id.clone(),
                i.payer_admdvs.clone(),
                i.payee_admdvs.clone(),
                fen_to_yuan(i.amount_fen),
                fen_to_yuan(i.from_prepaid_fen),
                word::<pb::InstructionStatus>(i.status).to_owned(),
            ]
        })
        .collect();
    out.push_str("\ninstructions (yuan):\n");
    out.push_str(&table(
        &["instruction", "payer", "payee", "amount", "from prepaid", "status"],
        &[false, false, false, true, true, false],
        &rows,
    ));
    out
}

// ---------------------------------------------------------------------------------------------
// Statements as CSV
// ---------------------------------------------------------------------------------------------

const PROVINCE_COLUMNS: [&str; 10] = [
    "side",
    "counterparty_admdvs",
    "settlement_count",
    "reversal_count",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
    "payable",
    "receivable",
    "net",
];

const HOSPITAL_COLUMNS: [&str; 9] = [
    "fixmedins_code",
    "settlement_count",
    "reversal_count",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
    "psn_cash_pay",
    "payable_to_hospital",
    "by_home_province",
];

const ITEM_COLUMNS: [&str; 18] = [
    "setl_id",
    "kind",
    "orig_setl_id",
    "insuplc_admdvs",
    "psn_no",
    "mdtrt_id",
    "msgid",
    "insutype",
    "clr_type",
    "setl_time",
    "stmt_date",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
    "psn_cash_pay",
    "payable_to_hospital",
    "late",
    "carried_from_period_id",
];

/// Counts and sums of statement lines, hospitals or items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sums {
    settlements: u64,
    reversals: u64,
    medfee: i64,
    fund_pay: i64,
    acct_pay: i64,
    cash: i64,
}

impl Sums {
    fn obligation(&self) -> i64 {
        self.fund_pay + self.acct_pay
    }

    fn add_line(&mut self, l: &pb::StatementLine) {
        self.settlements += l.settlement_count;
        self.reversals += l.reversal_count;
        self.medfee += l.medfee_sumamt_fen;
        self.fund_pay += l.fund_pay_sumamt_fen;
        self.acct_pay += l.acct_pay_fen;
    }

    fn of_hospital(h: &pb::HospitalStatement) -> Self {
        Self {
            settlements: h.settlement_count,
            reversals: h.reversal_count,
            medfee: h.medfee_sumamt_fen,
            fund_pay: h.fund_pay_sumamt_fen,
            acct_pay: h.acct_pay_fen,
            cash: h.psn_cash_pay_fen,
        }
    }

    fn merge(&mut self, other: &Self) {
        self.settlements += other.settlements;
        self.reversals += other.reversals;
        self.medfee += other.medfee;
        self.fund_pay += other.fund_pay;
        self.acct_pay += other.acct_pay;
        self.cash += other.cash;
    }
}

/// The province file's lines: one per counterparty as home (what it owes) and as treating
/// province (what it is owed), then the totals, which must be the statement's.
fn province_rows(s: &pb::ProvinceStatement) -> Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    let mut total = Sums::default();
    let (mut payable, mut receivable) = (0, 0);
    for (side, lines) in [("as_home", &s.as_home), ("as_treating", &s.as_treating)] {
        for l in lines {
            total.add_line(l);
            let (owes, owed) =
                if side == "as_home" { (l.obligation_fen, 0) } else { (0, l.obligation_fen) };
            payable += owes;
            receivable += owed;
            rows.push(vec![
                side.to_owned(),
                l.counterparty_admdvs.clone(),
                l.settlement_count.to_string(),
                l.reversal_count.to_string(),
                fen_to_yuan(l.medfee_sumamt_fen),
                fen_to_yuan(l.fund_pay_sumamt_fen),
                fen_to_yuan(l.acct_pay_fen),
                fen_to_yuan(owes),
                fen_to_yuan(owed),
                fen_to_yuan(owed - owes),
            ]);
        }
    }
    if (payable, receivable) != (s.payable_fen, s.receivable_fen) {
        return Err(Error::Internal(format!(
            "the statement of {} for {} does not add up: its lines owe {payable} and are owed \
             {receivable} fen, its totals say {} and {}",
            s.province_admdvs, s.period_id, s.payable_fen, s.receivable_fen
        )));
    }
    rows.push(vec![
        "total".to_owned(),
        String::new(),
        total.settlements.to_string(),
        total.reversals.to_string(),
        fen_to_yuan(total.medfee),
        fen_to_yuan(total.fund_pay),
        fen_to_yuan(total.acct_pay),
        fen_to_yuan(s.payable_fen),
        fen_to_yuan(s.receivable_fen),
        fen_to_yuan(s.net_fen),
    ]);
    Ok(rows)
}

fn hospital_row(code: &str, t: &Sums, by_home: String) -> Vec<String> {
    vec![
        code.to_owned(),
        t.settlements.to_string(),
        t.reversals.to_string(),
        fen_to_yuan(t.medfee),
        fen_to_yuan(t.fund_pay),
        fen_to_yuan(t.acct_pay),
        fen_to_yuan(t.cash),
        fen_to_yuan(t.obligation()),
        by_home,
    ]
}

/// The hospitals file's lines, one per hospital, then the totals; and those totals.
fn hospital_rows(statements: &[pb::HospitalStatement]) -> (Vec<Vec<String>>, Sums) {
    let mut rows = Vec::new();
    let mut total = Sums::default();
    for h in statements {
        let sums = Sums::of_hospital(h);
        total.merge(&sums);
        let by_home: Vec<String> = h
            .by_home_province
            .iter()
            .map(|l| format!("{}:{}", l.counterparty_admdvs, fen_to_yuan(l.obligation_fen)))
            .collect();
        rows.push(hospital_row(&h.fixmedins_code, &sums, by_home.join(" ")));
    }
    rows.push(hospital_row("total", &total, String::new()));
    (rows, total)
}

/// A hospital's items, then their totals, which must be its statement's.
fn item_rows(
    items: &[pb::ClearedItem],
    statement: &pb::HospitalStatement,
) -> Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    let mut total = Sums::default();
    for i in items {
        if i.kind == "cancellation" {
            total.reversals += 1;
        } else {
            total.settlements += 1;
        }
        total.medfee += i.medfee_sumamt_fen;
        total.fund_pay += i.fund_pay_sumamt_fen;
        total.acct_pay += i.acct_pay_fen;
        total.cash += i.psn_cash_pay_fen;
        rows.push(vec![
            i.setl_id.clone(),
            i.kind.clone(),
            i.orig_setl_id.clone(),
            i.insuplc_admdvs.clone(),
            i.psn_no.clone(),
            i.mdtrt_id.clone(),
            i.msgid.clone(),
            i.insutype.clone(),
            i.clr_type.clone(),
            i.setl_time.clone(),
            i.stmt_date.clone(),
            fen_to_yuan(i.medfee_sumamt_fen),
            fen_to_yuan(i.fund_pay_sumamt_fen),
            fen_to_yuan(i.acct_pay_fen),
            fen_to_yuan(i.psn_cash_pay_fen),
            fen_to_yuan(i.obligation_fen),
            i.late.to_string(),
            i.carried_from_period_id.clone(),
        ]);
    }
    let expected = Sums::of_hospital(statement);
    if total != expected {
        return Err(Error::Internal(format!(
            "the items of {} in {} do not add up to its statement: items {total:?}, \
             statement {expected:?}",
            statement.fixmedins_code, statement.period_id
        )));
    }
    let mut last = vec![String::new(); ITEM_COLUMNS.len()];
    last[0] = "total".to_owned();
    last[1] = format!("{} settlements, {} reversals", total.settlements, total.reversals);
    last[11] = fen_to_yuan(total.medfee);
    last[12] = fen_to_yuan(total.fund_pay);
    last[13] = fen_to_yuan(total.acct_pay);
    last[14] = fen_to_yuan(total.cash);
    last[15] = fen_to_yuan(total.obligation());
    rows.push(last);
    Ok(rows)
}

fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let fail = |e: csv::Error| Error::Internal(format!("{}: {e}", path.display()));
    let mut writer = csv::Writer::from_path(path).map_err(fail)?;
    writer.write_record(header).map_err(fail)?;
    for row in rows {
        writer.write_record(row).map_err(fail)?;
    }
    writer.flush().map_err(|e| Error::Internal(format!("{}: {e}", path.display())))
}

/// Writes the statement files; returns their paths.
pub(crate) async fn statement(
    s: &mut Session,
    period_id: &str,
    province: &str,
    out: &Path,
    hospital: Option<&str>,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(|e| Error::Internal(format!("{}: {e}", out.display())))?;
    let mut written = Vec::new();

    let request = pb::GetProvinceStatementRequest {
        period_id: period_id.to_owned(),
        province_admdvs: province.to_owned(),
    };
    let statement =
        s.client.get_province_statement(request).await.map_err(s.refused())?.into_inner();
    let path = out.join(format!("province-{province}-{period_id}.csv"));
    write_csv(&path, &PROVINCE_COLUMNS, &province_rows(&statement)?)?;
    written.push(path);

    let mut hospitals = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListHospitalStatementsRequest {
            period_id: period_id.to_owned(),
            mdtrtarea_admvs: province.to_owned(),
            fixmedins_code: String::new(),
            page_size: 1000,
            page_token,
        };
        let page =
            s.client.list_hospital_statements(request).await.map_err(s.refused())?.into_inner();
        hospitals.extend(page.statements);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let (rows, total) = hospital_rows(&hospitals);
    if total.obligation() != statement.receivable_fen {
        return Err(Error::Internal(format!(
            "what {province} owes its hospitals ({} fen) is not what it is owed as treating \
             province ({} fen): hospitals file not written",
            total.obligation(),
            statement.receivable_fen
        )));
    }
    let path = out.join(format!("hospitals-{province}-{period_id}.csv"));
    write_csv(&path, &HOSPITAL_COLUMNS, &rows)?;
    written.push(path);

    if let Some(code) = hospital {
        let h = hospitals.iter().find(|h| h.fixmedins_code == code).ok_or_else(|| {
            Error::not_found(
                "no_hospital_statement",
                format!("hospital {code} has nothing in {period_id} as a hospital of {province}"),
            )
        })?;
        let mut items = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = pb::ListPeriodItemsRequest {
                period_id: period_id.to_owned(),
                fixmedins_code: code.to_owned(),
                page_size: 10_000,
                page_token,
            };
            let page = s.client.list_period_items(request).await.map_err(s.refused())?.into_inner();
            items.extend(page.items);
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        let path = out.join(format!("hospital-{code}-{period_id}.csv"));
        write_csv(&path, &ITEM_COLUMNS, &item_rows(&items, h)?)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn line(counterparty: &str, count: u64, fund: i64, acct: i64, cash: i64) -> pb::StatementLine {
        pb::StatementLine {
            counterparty_admdvs: counterparty.into(),
            settlement_count: count,
            reversal_count: 0,
            medfee_sumamt_fen: fund + acct + cash,
            fund_pay_sumamt_fen: fund,
            acct_pay_fen: acct,
            obligation_fen: fund + acct,
        }
    }

    #[test]
    fn the_province_file_totals_are_the_statement() {
        let mut s = pb::ProvinceStatement {
            period_id: "2026-03".into(),
            province_admdvs: "440000".into(),
            as_home: vec![line("420000", 1, 10_000, 505, 1)],
            as_treating: vec![line("420000", 2, 30_000, 0, 7), line("110000", 1, 1, 0, 0)],
            payable_fen: 10_505,
            receivable_fen: 30_001,
            net_fen: 19_496,
            ..pb::ProvinceStatement::default()
        };
        let rows = province_rows(&s).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0][..3], ["as_home", "420000", "1"]);
        assert_eq!(rows[0][7..], ["105.05", "0.00", "-105.05"]);
        assert_eq!(rows[2][7..], ["0.00", "0.01", "0.01"]);
        assert_eq!(
            rows[3],
            ["total", "", "4", "0", "405.14", "400.01", "5.05", "105.05", "300.01", "194.96"]
        );
        s.payable_fen += 1;
        assert!(province_rows(&s).is_err(), "lines that do not add up are not written");
    }

    #[test]
    fn the_item_file_totals_are_the_hospital_statement() {
        let item = |id: &str, kind: &str, fund: i64| pb::ClearedItem {
            setl_id: id.into(),
            kind: kind.into(),
            medfee_sumamt_fen: fund * 2,
            fund_pay_sumamt_fen: fund,
            psn_cash_pay_fen: fund,
            obligation_fen: fund,
            ..pb::ClearedItem::default()
        };
        let items = [item("S1", "settlement", 1000), item("S2", "cancellation", -400)];
        let statement = pb::HospitalStatement {
            fixmedins_code: "H44030000001".into(),
            settlement_count: 1,
            reversal_count: 1,
            medfee_sumamt_fen: 1200,
            fund_pay_sumamt_fen: 600,
            psn_cash_pay_fen: 600,
            payable_to_hospital_fen: 600,
            ..pb::HospitalStatement::default()
        };
        let rows = item_rows(&items, &statement).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1][12], "-4.00");
        assert_eq!(rows[2][0], "total");
        assert_eq!(rows[2][11..16], ["12.00", "6.00", "0.00", "6.00", "6.00"]);
        let (hospitals, total) = hospital_rows(std::slice::from_ref(&statement));
        assert_eq!(total.obligation(), 600);
        assert_eq!(hospitals[1][7], "6.00");
        assert!(item_rows(&items[..1], &statement).is_err());
    }

    #[test]
    fn amounts_in_yuan_convert_exactly_with_a_sign() {
        assert_eq!(signed_yuan_to_fen("1234.56").unwrap(), 123456);
        assert_eq!(signed_yuan_to_fen("-0.1").unwrap(), -10);
        assert!(signed_yuan_to_fen("1.234").is_err());
        assert!(signed_yuan_to_fen("--1").is_err());
    }

    #[test]
    fn states_read_as_words_and_phrases() {
        assert_eq!(word::<pb::PeriodStatus>(pb::PeriodStatus::Netted.into()), "netted");
        assert_eq!(word::<pb::PeriodStatus>(0), "?");
        assert_eq!(word::<pb::InstructionStatus>(99), "?");
        let fund = |state: pb::PrepaidFundState| fund_state(state.into());
        assert_eq!(fund(pb::PrepaidFundState::Sufficient), "sufficient");
        assert_eq!(fund(pb::PrepaidFundState::BelowRequired), "below required");
        assert_eq!(
            fund(pb::PrepaidFundState::BelowAlert),
            "BELOW THE ALERT LINE (top-up instructed)"
        );
        assert_eq!(fund(pb::PrepaidFundState::Unspecified), "?");
    }

    #[test]
    fn the_netting_report_shows_confirmations_and_instruction_states() {
        let position = |province: &str| pb::NetPosition {
            province_admdvs: province.into(),
            ..pb::NetPosition::default()
        };
        let confirmation =
            |province: &str, state: pb::ConfirmationState| pb::ProvinceConfirmation {
                province_admdvs: province.into(),
                state: state.into(),
                netting_run: 1,
                ..pb::ProvinceConfirmation::default()
            };
        let n = pb::NettingResult {
            netting_run: 1,
            positions: vec![position("110000"), position("420000"), position("440000")],
            instructions: vec![pb::SettlementInstruction {
                instruction_id: "I1".into(),
                status: pb::InstructionStatus::Issued.into(),
                ..pb::SettlementInstruction::default()
            }],
            ..pb::NettingResult::default()
        };
        let p = pb::Period {
            confirmations: vec![
                confirmation("420000", pb::ConfirmationState::Confirmed),
                confirmation("440000", pb::ConfirmationState::Pending),
                confirmation("110000", pb::ConfirmationState::Withdrawn),
            ],
            ..pb::Period::default()
        };
        let report = netting_report(&n, &p);
        let line = |start: &str| {
            report.lines().find(|l| l.trim_start().starts_with(start)).unwrap().trim_end()
        };
        assert!(line("420000").ends_with("confirmed"), "{report}");
        assert!(line("110000").ends_with("withdrawn"), "{report}");
        assert!(line("440000").ends_with("0.00"), "{report}");
        assert!(line("I1").ends_with("issued"), "{report}");
    }

    #[test]
    fn tables_align() {
        let t = table(&["a", "bb"], &[false, true], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "  a    bb\n  xyz   1\n");
    }
}
