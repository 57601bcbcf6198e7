//! The clearing rules, pure: which period an item falls into, the period state machine, the
//! aggregates kept at consumption, netting, prepaid fund sizing, the ledger's postings, and the
//! comparisons of reconciliation with hospitals. No I/O; dates and amounts come in.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use medclear_common::{Error, Result, money};
use rust_decimal::Decimal;

/// The national clearing account (全国清算账户): net debtors pay it, it pays net creditors.
pub const NATIONAL: &str = "000000";

/// A settlement, or a cancellation / reversal of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Settlement,
    Cancellation,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Settlement => "settlement",
            Self::Cancellation => "cancellation",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "settlement" => Ok(Self::Settlement),
            "cancellation" => Ok(Self::Cancellation),
            other => Err(Error::invalid("kind", "unknown_kind", format!("unknown kind {other:?}"))),
        }
    }
}

/// One settlement or cancellation as clearing holds it. Amounts in fen, signed: a
/// cancellation carries the negated amounts of what it undoes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub setl_id: String,
    pub source: String,
    pub seq: i64,
    pub kind: ItemKind,
    pub orig_setl_id: Option<String>,
    /// Home province (参保地, the debtor), six digits ending in `0000`.
    pub home: String,
    /// Treating province (就医地, the creditor).
    pub treating: String,
    pub fixmedins_code: String,
    pub insutype: String,
    pub clr_type: String,
    pub psn_no: String,
    pub msgid: String,
    pub mdtrt_id: String,
    pub medfee_sumamt: i64,
    pub fund_pay_sumamt: i64,
    pub acct_pay: i64,
    pub psn_cash_pay: i64,
    pub setl_time: DateTime<Utc>,
    /// The settlement's date in China time: its statement day and its period.
    pub stmt_date: NaiveDate,
}

impl Item {
    /// What the home province owes the treating province for it (DESIGN.md §4.4).
    pub fn obligation(&self) -> i64 {
        self.fund_pay_sumamt + self.acct_pay
    }

    /// Checks the identities of DESIGN.md §5.1 and the signs of its kind.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, message: String| {
            Err(Error::invalid(field, "inconsistent_item", format!("{}: {message}", self.setl_id)))
        };
        if self.setl_id.is_empty() || self.setl_id.len() > 64 {
            return bad("setl_id", "setl_id is required (at most 64 characters)".into());
        }
        for (field, code) in [("home_province", &self.home), ("treating_province", &self.treating)]
        {
            if !is_province(code) {
                return bad(field, format!("{code:?} is not a province admdvs"));
            }
        }
        if self.fixmedins_code.is_empty() {
            return bad("fixmedins_code", "the hospital is missing".into());
        }
        let amounts = [self.medfee_sumamt, self.fund_pay_sumamt, self.acct_pay, self.psn_cash_pay];
        if amounts.iter().any(|a| a.unsigned_abs() > MAX_ITEM_FEN) {
            return bad("medfee_sumamt", format!("an amount beyond {MAX_ITEM_FEN} fen"));
        }
        if self.medfee_sumamt != self.fund_pay_sumamt + self.acct_pay + self.psn_cash_pay {
            return bad(
                "medfee_sumamt",
                "medfee_sumamt is not fund_pay_sumamt + acct_pay + psn_cash_pay".into(),
            );
        }
        match (self.kind, &self.orig_setl_id) {
            (ItemKind::Settlement, None) if amounts.iter().all(|a| *a >= 0) => Ok(()),
            (ItemKind::Cancellation, Some(_)) if amounts.iter().all(|a| *a <= 0) => Ok(()),
            (ItemKind::Settlement, _) => {
                bad("kind", "a settlement has non-negative amounts and no original".into())
            }
            (ItemKind::Cancellation, _) => {
                bad("kind", "a cancellation has non-positive amounts and an original".into())
            }
        }
    }
}

/// The largest amount one item may carry (100 million yuan): sums over any realistic number of
/// items then stay far inside `i64`.
pub const MAX_ITEM_FEN: u64 = 10_000_000_000;

/// A province-level admdvs: six digits, the last four zero.
pub fn is_province(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) && code.ends_with("0000")
}

/// Who acts: a national clearing operator, or a province's operator who acts for it alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub id: String,
    pub name: String,
    /// The operator's province; `None` for the national clearing operator.
    pub province: Option<String>,
}

impl Operator {
    /// Checks the operator's own fields.
    pub fn new(id: &str, name: &str, admdvs: &str) -> Result<Self> {
        let id = id.trim();
        if id.is_empty() || id.len() > 64 {
            return Err(Error::invalid(
                "actor.id",
                "missing_actor",
                "who acts is required: actor.id (at most 64 characters)",
            ));
        }
        let province = match admdvs.trim() {
            "" | NATIONAL => None,
            code if is_province(code) => Some(code.to_owned()),
            code => {
                return Err(Error::invalid(
                    "actor.admdvs",
                    "invalid_admdvs",
                    format!("{code:?} is not a province admdvs (or empty for a national operator)"),
                ));
            }
        };
        Ok(Self { id: id.to_owned(), name: name.trim().to_owned(), province })
    }

    /// How the audit trail names the operator: `id@province` or `id@national`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.id, self.province.as_deref().unwrap_or("national"))
    }

    /// A province's operator may act for its own province only; the national operator for all.
    pub fn may_act_for(&self, province: &str) -> Result<()> {
        match &self.province {
            Some(own) if own != province => Err(Error::forbidden(
                "not_your_province",
                format!("an operator of {own} cannot act for province {province}"),
            )),
            _ => Ok(()),
        }
    }

    /// Only the province's own operator (not the national one) speaks for it.
    pub fn is_operator_of(&self, province: &str) -> Result<()> {
        match &self.province {
            Some(own) if own == province => Ok(()),
            Some(own) => Err(Error::forbidden(
                "not_your_province",
                format!("an operator of {own} cannot act for province {province}"),
            )),
            None => Err(Error::forbidden(
                "province_operator_required",
                format!("only an operator of {province} can confirm or dispute for it"),
            )),
        }
    }

    /// Closing, netting and settling are the national clearing operator's.
    pub fn require_national(&self, action: PeriodAction) -> Result<()> {
        match &self.province {
            None => Ok(()),
            Some(own) => Err(Error::forbidden(
                "national_operator_required",
                format!(
                    "only the national clearing operator may {} a period (you act for {own})",
                    action.as_str()
                ),
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Periods
// ---------------------------------------------------------------------------------------------

/// How time is cut into clearing periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodScheme {
    /// Calendar months, `2026-11` (the default).
    Monthly,
    /// Runs of `n` days counted from 2000-01-01; a period is named by its first day.
    Days(u32),
}

/// One period's dates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PeriodSpan {
    pub begin: NaiveDate,
    pub end: NaiveDate,
    pub id: String,
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()
}

impl PeriodScheme {
    /// `monthly`, `daily` or `<n>d` (e.g. `7d`).
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let days = match text {
            "" | "monthly" | "month" => return Ok(Self::Monthly),
            "daily" | "day" => Some(1),
            other => other.strip_suffix('d').and_then(|n| n.parse::<u32>().ok()),
        };
        match days {
            Some(n) if (1..=366).contains(&n) => Ok(Self::Days(n)),
            _ => Err(Error::invalid(
                "CLEARING_PERIOD",
                "invalid_period_scheme",
                format!("{text:?}: use monthly, daily or a number of days such as 7d"),
            )),
        }
    }

    /// The period containing `date`.
    pub fn period_of(self, date: NaiveDate) -> PeriodSpan {
        match self {
            Self::Monthly => {
                let begin = date.with_day(1).unwrap_or(date);
                let end = begin
                    .checked_add_months(Months::new(1))
                    .and_then(|d| d.pred_opt())
                    .unwrap_or(begin);
                PeriodSpan { begin, end, id: format!("{:04}-{:02}", begin.year(), begin.month()) }
            }
            Self::Days(n) => {
                let days = (date - epoch()).num_days();
                let length = i64::from(n);
                let offset = days.rem_euclid(length);
                let begin = date - chrono::Duration::days(offset);
                let end = begin + chrono::Duration::days(length - 1);
                PeriodSpan { begin, end, id: begin.format("%Y-%m-%d").to_string() }
            }
        }
    }

    /// The period after `span`.
    pub fn next(self, span: &PeriodSpan) -> PeriodSpan {
        self.period_of(span.end.checked_add_days(Days::new(1)).unwrap_or(span.end))
    }
}

/// open → closed → netted → confirmed → settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PeriodStatus {
    Open,
    Closed,
    Netted,
    Confirmed,
    Settled,
}

impl PeriodStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Netted => "netted",
            Self::Confirmed => "confirmed",
            Self::Settled => "settled",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "open" => Self::Open,
            "closed" => Self::Closed,
            "netted" => Self::Netted,
            "confirmed" => Self::Confirmed,
            "settled" => Self::Settled,
            other => return Err(Error::Internal(format!("stored period status {other:?}"))),
        })
    }
}

/// What an operator does to a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodAction {
    Close,
    Net,
    Confirm,
    Withdraw,
    Dispute,
    Settle,
}

impl PeriodAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Close => "close",
            Self::Net => "net",
            Self::Confirm => "confirm",
            Self::Withdraw => "withdraw",
            Self::Dispute => "dispute",
            Self::Settle => "settle",
        }
    }
}

/// Whether `action` may be taken on a period in `status`. Repeating the action that led to the
/// current status is not an error for close, net and settle (a retry): the caller answers with
/// the period as it is. Confirmations move the status themselves once every province is in.
pub fn check_action(period_id: &str, status: PeriodStatus, action: PeriodAction) -> Result<()> {
    use PeriodAction as A;
    use PeriodStatus as S;
    let allowed = match action {
        A::Close => status == S::Open,
        A::Net => status == S::Closed,
        A::Confirm => matches!(status, S::Netted | S::Confirmed),
        A::Withdraw => matches!(status, S::Netted | S::Confirmed),
        A::Dispute => matches!(status, S::Closed | S::Netted | S::Confirmed),
        A::Settle => status == S::Confirmed,
    };
    if allowed {
        return Ok(());
    }
    let (reason, needs) = match action {
        A::Close => ("period_not_open", "open"),
        A::Net => ("period_not_closed", "closed"),
        A::Confirm | A::Withdraw => ("period_not_netted", "netted or confirmed"),
        A::Dispute => ("period_not_disputable", "closed, netted or confirmed"),
        A::Settle => ("period_not_confirmed", "confirmed by every province"),
    };
    Err(Error::precondition(
        reason,
        format!(
            "cannot {} period {period_id}: it is {}, and must be {needs}",
            action.as_str(),
            status.as_str()
        ),
    ))
}

/// Where an item goes: its own period if that is open, else the next open period after it
/// (the item is then `late`). Periods not yet known are opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub period: PeriodSpan,
    pub late: bool,
    /// The period must be opened first.
    pub open: bool,
}

/// The period for an item dated `date`, given the known periods and their status.
pub fn assign(
    scheme: PeriodScheme,
    known: &BTreeMap<NaiveDate, PeriodStatus>,
    date: NaiveDate,
) -> Assignment {
    let own = scheme.period_of(date);
    let mut candidate = own.clone();
    loop {
        match known.get(&candidate.begin) {
            None => return Assignment { late: candidate != own, period: candidate, open: true },
            Some(PeriodStatus::Open) => {
                return Assignment { late: candidate != own, period: candidate, open: false };
            }
            Some(_) => candidate = scheme.next(&candidate),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Aggregates kept at consumption
// ---------------------------------------------------------------------------------------------

/// Counts and sums of a set of items (a matrix cell, a hospital's part of one, a statement).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub settlements: i64,
    pub reversals: i64,
    pub medfee_sumamt: i64,
    pub fund_pay_sumamt: i64,
    pub acct_pay: i64,
    pub psn_cash_pay: i64,
    pub late: i64,
    pub carried_in: i64,
}

impl Totals {
    pub fn obligation(&self) -> i64 {
        self.fund_pay_sumamt + self.acct_pay
    }

    /// Adds one item (`sign` −1 takes it out again, as when a dispute carries it away).
    pub fn add(&mut self, item: &Item, sign: i64) {
        match item.kind {
            ItemKind::Settlement => self.settlements += sign,
            ItemKind::Cancellation => self.reversals += sign,
        }
        self.medfee_sumamt += sign * item.medfee_sumamt;
        self.fund_pay_sumamt += sign * item.fund_pay_sumamt;
        self.acct_pay += sign * item.acct_pay;
        self.psn_cash_pay += sign * item.psn_cash_pay;
    }

    pub fn merge(&mut self, other: &Self) {
        self.settlements += other.settlements;
        self.reversals += other.reversals;
        self.medfee_sumamt += other.medfee_sumamt;
        self.fund_pay_sumamt += other.fund_pay_sumamt;
        self.acct_pay += other.acct_pay;
        self.psn_cash_pay += other.psn_cash_pay;
        self.late += other.late;
        self.carried_in += other.carried_in;
    }
}

/// A cell of the gross bilateral matrix: (period, home, treating).
pub type CellKey = (String, String, String);
/// A hospital's part of a period: (period, fixmedins_code), with the treating province.
pub type HospitalKey = (String, String);

/// What a batch of items adds to the kept aggregates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregates {
    pub cells: BTreeMap<CellKey, Totals>,
    pub hospitals: BTreeMap<HospitalKey, (String, Totals)>,
}

impl Aggregates {
    /// Adds `item`, assigned to `period_id` (`late` or `carried` as it arrived there), with
    /// `sign` +1, or −1 to take it out.
    pub fn add(&mut self, item: &Item, period_id: &str, late: bool, carried: bool, sign: i64) {
        let cell = self
            .cells
            .entry((period_id.to_owned(), item.home.clone(), item.treating.clone()))
            .or_default();
        cell.add(item, sign);
        cell.late += sign * i64::from(late);
        cell.carried_in += sign * i64::from(carried);
        let (_, hospital) = self
            .hospitals
            .entry((period_id.to_owned(), item.fixmedins_code.clone()))
            .or_insert_with(|| (item.treating.clone(), Totals::default()));
        hospital.add(item, sign);
    }

    /// The ledger posting of these aggregates: each home province's payable grows by what it
    /// owes, each treating province's receivable by what it is owed.
    pub fn posting(&self) -> Posting {
        let mut posting = Posting::default();
        for ((_, home, treating), totals) in &self.cells {
            posting.add(&account(home, Account::Payable), totals.obligation());
            posting.add(&account(treating, Account::Receivable), -totals.obligation());
        }
        posting
    }
}

// ---------------------------------------------------------------------------------------------
// Netting
// ---------------------------------------------------------------------------------------------

/// A province's multilateral position in a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// Owed to it as treating province.
    pub receivable: i64,
    /// Owed by it as home province.
    pub payable: i64,
}

impl Position {
    /// > 0: net creditor; < 0: net debtor.
    pub fn net(&self) -> i64 {
        self.receivable - self.payable
    }
}

/// A payment the netting orders: net debtors pay the national clearing account, which pays net
/// creditors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub payer: String,
    pub payee: String,
    pub amount: i64,
}

/// The outcome of netting a period's matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Netting {
    /// Σ of every cell: Σ obligations of the period.
    pub gross: i64,
    pub positions: BTreeMap<String, Position>,
    pub sum_abs_net: i64,
    pub instructions: Vec<Instruction>,
}

impl Netting {
    /// The share of the gross that netting spares from changing hands, to four places; 0 when
    /// nothing flowed. What still changes hands is Σ|net| / 2 (every fen a net debtor pays in
    /// is paid out to a net creditor), so efficiency = 1 − (Σ|net| / 2) / gross: 0 when every
    /// obligation runs one way, 1 when they all cancel out.
    pub fn efficiency(&self) -> Decimal {
        if self.gross <= 0 {
            return Decimal::new(0, 4);
        }
        let ratio = Decimal::from(self.sum_abs_net) / (Decimal::from(self.gross) * Decimal::TWO);
        money::round_ratio(Decimal::ONE - ratio)
    }
}

/// Nets a matrix given as (home, treating, obligation) cells.
pub fn net<'a>(cells: impl IntoIterator<Item = (&'a str, &'a str, i64)>) -> Netting {
    let mut positions: BTreeMap<String, Position> = BTreeMap::new();
    let mut gross = 0;
    for (home, treating, amount) in cells {
        gross += amount;
        positions.entry(home.to_owned()).or_default().payable += amount;
        positions.entry(treating.to_owned()).or_default().receivable += amount;
    }
    let sum_abs_net = positions.values().map(|p| p.net().abs()).sum();
    let instructions = positions
        .iter()
        .filter(|(_, p)| p.net() != 0)
        .map(|(province, p)| {
            if p.net() < 0 {
                Instruction { payer: province.clone(), payee: NATIONAL.into(), amount: -p.net() }
            } else {
                Instruction { payer: NATIONAL.into(), payee: province.clone(), amount: p.net() }
            }
        })
        .collect();
    Netting { gross, positions, sum_abs_net, instructions }
}

// ---------------------------------------------------------------------------------------------
// Prepaid funds (预付金)
// ---------------------------------------------------------------------------------------------

/// How prepaid funds are sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrepaidRules {
    /// The deposit covers this many periods of average outgoing obligations (default 2).
    pub window: u32,
    /// Below this share of the required deposit, a top-up is instructed (default 0.70).
    pub alert_ratio: Decimal,
    /// Days a top-up is due after it is issued.
    pub topup_days: u32,
}

impl Default for PrepaidRules {
    fn default() -> Self {
        Self { window: 2, alert_ratio: Decimal::new(70, 2), topup_days: 15 }
    }
}

/// A prepaid fund's level against what it should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundState {
    Sufficient,
    BelowRequired,
    BelowAlert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundLevel {
    pub required: i64,
    pub alert_line: i64,
    pub basis_outgoing: i64,
    pub basis_periods: u32,
}

impl PrepaidRules {
    /// The required deposit from the outgoing obligations (payable as home province) of the
    /// most recent closed periods, at most `window` of them: their average times `window`,
    /// rounded up to the fen. The alert line is `alert_ratio` of it, rounded up.
    pub fn level(&self, recent_outgoing: &[i64]) -> FundLevel {
        let used = recent_outgoing.iter().take(usize::try_from(self.window).unwrap_or(0));
        let (sum, n) = used.fold((0i128, 0u32), |(s, n), v| (s + i128::from((*v).max(0)), n + 1));
        let required = if n == 0 {
            0
        } else {
            let scaled = sum * i128::from(self.window);
            let d = i128::from(n);
            i64::try_from((scaled + d - 1) / d).unwrap_or(i64::MAX)
        };
        let alert = Decimal::from(required)
            .checked_mul(self.alert_ratio)
            .and_then(|alert| money::ceil_fen(alert).ok())
            .unwrap_or(required);
        FundLevel {
            required,
            alert_line: alert,
            basis_outgoing: i64::try_from(sum).unwrap_or(i64::MAX),
            basis_periods: n,
        }
    }
}

impl FundLevel {
    pub fn state(&self, deposit: i64) -> FundState {
        if deposit >= self.required {
            FundState::Sufficient
        } else if deposit >= self.alert_line {
            FundState::BelowRequired
        } else {
            FundState::BelowAlert
        }
    }
}

/// What a net debtor's payment draws from its deposit: as much as the deposit holds.
pub fn draw(deposit: i64, owed: i64) -> i64 {
    deposit.max(0).min(owed.max(0))
}

// ---------------------------------------------------------------------------------------------
// The ledger
// ---------------------------------------------------------------------------------------------

/// The kinds of ledger account. Balances are from the clearing house's books, debit positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// What the province owes as home province, not yet settled (debit balance).
    Payable,
    /// What the province is owed as treating province, not yet settled (credit balance).
    Receivable,
    /// The province's prepaid deposit held by the clearing house (credit balance).
    Prepaid,
    /// What the treating province has recognised as owed to its hospitals (debit balance).
    HospitalAdvances,
    /// What the treating province owes a hospital for settled periods (credit balance).
    HospitalDue,
    /// The national clearing account's money (debit balance).
    Bank,
}

impl Account {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payable => "payable",
            Self::Receivable => "receivable",
            Self::Prepaid => "prepaid",
            Self::HospitalAdvances => "hospital_advances",
            Self::HospitalDue => "due",
            Self::Bank => "bank",
        }
    }
}

/// `<owner>:<kind>`, e.g. `440000:receivable`, `H44010100001:due`, `000000:bank`.
pub fn account(owner: &str, kind: Account) -> String {
    format!("{owner}:{}", kind.as_str())
}

/// A balanced set of ledger lines (debit positive). Lines of one account are summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Posting {
    lines: BTreeMap<String, i64>,
}

impl Posting {
    pub fn add(&mut self, account: &str, amount: i64) {
        *self.lines.entry(account.to_owned()).or_default() += amount;
    }

    /// The non-zero lines.
    pub fn lines(&self) -> impl Iterator<Item = (&str, i64)> {
        self.lines.iter().filter(|(_, a)| **a != 0).map(|(k, a)| (k.as_str(), *a))
    }

    pub fn is_empty(&self) -> bool {
        self.lines().next().is_none()
    }

    /// Refuses an unbalanced posting (a bug: every builder here balances by construction).
    pub fn check(&self) -> Result<()> {
        let total: i128 = self.lines.values().map(|a| i128::from(*a)).sum();
        if total != 0 {
            return Err(Error::Internal(format!("unbalanced posting: lines sum to {total} fen")));
        }
        Ok(())
    }
}

/// Settling a period recognises what each treating province owes each of its hospitals:
/// (fixmedins_code, treating province, amount).
pub fn hospital_dues_posting<'a>(
    dues: impl IntoIterator<Item = (&'a str, &'a str, i64)>,
) -> Posting {
    let mut posting = Posting::default();
    for (hospital, treating, amount) in dues {
        posting.add(&account(hospital, Account::HospitalDue), -amount);
        posting.add(&account(treating, Account::HospitalAdvances), amount);
    }
    posting
}

/// A province paid `amount` into its prepaid fund (negative: took it back).
pub fn deposit_posting(province: &str, amount: i64) -> Posting {
    let mut posting = Posting::default();
    posting.add(&account(NATIONAL, Account::Bank), amount);
    posting.add(&account(province, Account::Prepaid), -amount);
    posting
}

/// Settling a period: each province's period receivable and payable are cleared; net debtors
/// pay (first from their deposit, `drawn`, the rest by transfer) and net creditors are paid.
pub fn settlement_posting(
    positions: &BTreeMap<String, Position>,
    drawn: &BTreeMap<String, i64>,
) -> Posting {
    let mut posting = Posting::default();
    for (province, p) in positions {
        posting.add(&account(province, Account::Payable), -p.payable);
        posting.add(&account(province, Account::Receivable), p.receivable);
        let net = p.net();
        if net < 0 {
            let from_deposit = drawn.get(province).copied().unwrap_or(0);
            posting.add(&account(province, Account::Prepaid), from_deposit);
            posting.add(&account(NATIONAL, Account::Bank), -net - from_deposit);
        } else {
            posting.add(&account(NATIONAL, Account::Bank), -net);
        }
    }
    posting
}

// ---------------------------------------------------------------------------------------------
// Reconciliation with hospitals (3201 totals, 3202 details)
// ---------------------------------------------------------------------------------------------

/// A day's totals as the hospital and as clearing count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconTotals {
    /// Settlements minus cancellations.
    pub setl_cnt: i64,
    pub medfee_sumamt: i64,
    pub fund_pay_sumamt: i64,
    pub acct_pay: i64,
}

/// Compares a hospital's totals with clearing's: `None` when they match, else what differs
/// (national wording first).
pub fn compare_totals(hospital: &ReconTotals, center: &ReconTotals) -> Option<String> {
    let fields = [
        ("结算笔数不符", "setl_cnt", hospital.setl_cnt, center.setl_cnt),
        ("医疗费总额不符", "medfee_sumamt", hospital.medfee_sumamt, center.medfee_sumamt),
        ("基金支付总额不符", "fund_pay_sumamt", hospital.fund_pay_sumamt, center.fund_pay_sumamt),
        ("个人账户支付总额不符", "acct_pay", hospital.acct_pay, center.acct_pay),
    ];
    let differing: Vec<String> = fields
        .iter()
        .filter(|(_, _, h, c)| h != c)
        .map(|(zh, en, h, c)| format!("{zh} ({en}: hospital {h}, center {c})"))
        .collect();
    (!differing.is_empty()).then(|| differing.join("; "))
}

/// One settlement in a detail reconciliation, on either side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconDetail {
    pub setl_id: String,
    pub msgid: String,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub medfee_sumamt: i64,
    pub fund_pay_sumamt: i64,
    pub acct_pay: i64,
    /// The row is a cancellation / reversal (退费结算标志).
    pub refd_setl_flag: bool,
}

/// How one settlement fails to reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discrepancy {
    MissingAtCenter(ReconDetail),
    MissingAtHospital(ReconDetail),
    Differs { hospital: ReconDetail, center: ReconDetail, fields: Vec<&'static str> },
}

impl Discrepancy {
    pub fn setl_id(&self) -> &str {
        match self {
            Self::MissingAtCenter(d) | Self::MissingAtHospital(d) => &d.setl_id,
            Self::Differs { hospital, .. } => &hospital.setl_id,
        }
    }
}

/// Compares a hospital's list with clearing's for the same day: the number that match, and
/// every discrepancy in setl_id order. A list naming one settlement twice is refused.
pub fn compare_details(
    hospital: Vec<ReconDetail>,
    center: Vec<ReconDetail>,
) -> Result<(u64, Vec<Discrepancy>)> {
    let mut theirs: BTreeMap<String, ReconDetail> = BTreeMap::new();
    for detail in hospital {
        if detail.setl_id.is_empty() {
            return Err(Error::invalid("details.setl_id", "missing_field", "setl_id is required"));
        }
        if let Some(twice) = theirs.insert(detail.setl_id.clone(), detail) {
            return Err(Error::invalid(
                "details.setl_id",
                "duplicate_setl_id",
                format!("settlement {} is listed twice", twice.setl_id),
            ));
        }
    }
    let mut matched = 0;
    let mut discrepancies = Vec::new();
    for ours in center {
        match theirs.remove(&ours.setl_id) {
            None => discrepancies.push(Discrepancy::MissingAtHospital(ours)),
            Some(h) => {
                let fields: Vec<&'static str> = [
                    // The national detail file (3202) has no msgid column: compared when sent.
                    ("msgid", !h.msgid.is_empty() && h.msgid != ours.msgid),
                    ("mdtrt_id", h.mdtrt_id != ours.mdtrt_id),
                    ("psn_no", h.psn_no != ours.psn_no),
                    ("medfee_sumamt_fen", h.medfee_sumamt != ours.medfee_sumamt),
                    ("fund_pay_sumamt_fen", h.fund_pay_sumamt != ours.fund_pay_sumamt),
                    ("acct_pay_fen", h.acct_pay != ours.acct_pay),
                    ("refd_setl_flag", h.refd_setl_flag != ours.refd_setl_flag),
                ]
                .into_iter()
                .filter(|(_, differs)| *differs)
                .map(|(name, _)| name)
                .collect();
                if fields.is_empty() {
                    matched += 1;
                } else {
                    discrepancies.push(Discrepancy::Differs { hospital: h, center: ours, fields });
                }
            }
        }
    }
    discrepancies.extend(theirs.into_values().map(Discrepancy::MissingAtCenter));
    discrepancies.sort_by(|a, b| a.setl_id().cmp(b.setl_id()));
    Ok((matched, discrepancies))
}

// ---------------------------------------------------------------------------------------------
// Clearing applications of institutions (3203 apply, 3204 revoke)
// ---------------------------------------------------------------------------------------------

/// An institution's application for the clearing of a month in one clearing category (national
/// 3203 清算申请): the totals it declares for the month's settlements. Amounts in fen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub fixmedins_code: String,
    /// 清算类别, compared with the items' `clr_type` as 3201 compares it.
    pub clr_type: String,
    /// 清算方式, kept as sent.
    pub clr_way: String,
    /// 清算年月, by its first day.
    pub month: NaiveDate,
    pub begndate: NaiveDate,
    pub enddate: NaiveDate,
    /// 清算人次: settlements minus cancellations (3201's `setl_cnt`).
    pub psntime: i64,
    pub medfee_sumamt: i64,
    /// 医保认可费用总额: clearing holds no in-scope total to check it against; kept as declared.
    pub med_sumfee: i64,
    /// 基金申报总额: the fund's part (Σ `fund_pay_sumamt`).
    pub fund_appy_sum: i64,
    /// 现金支付金额 (Σ `psn_cash_pay`).
    pub cash_payamt: i64,
    pub acct_pay: i64,
}

/// `yyyyMM` → the month's first day.
pub fn parse_setlym(text: &str) -> Result<NaiveDate> {
    let text = text.trim();
    let month = (text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| NaiveDate::parse_from_str(&format!("{text}01"), "%Y%m%d").ok())
        .flatten();
    month.ok_or_else(|| {
        Error::invalid("setlym", "invalid_setlym", format!("setlym {text:?} is not a yyyyMM month"))
    })
}

/// The month's last day.
pub fn month_end(month: NaiveDate) -> NaiveDate {
    PeriodScheme::Monthly.period_of(month).end
}

impl Application {
    /// `yyyyMM`.
    pub fn setlym(&self) -> String {
        self.month.format("%Y%m").to_string()
    }

    /// What the declaration must be by itself, on `today` (China date): for the whole month
    /// named, a month that is over, amounts that are not negative and an accepted total
    /// (`med_sumfee`) within the medical total.
    pub fn check(&self, today: NaiveDate) -> Result<()> {
        let (first, last) = (self.month, month_end(self.month));
        if self.month.day() != 1 {
            return Err(Error::Internal(format!("month {} is not a first day", self.month)));
        }
        if (self.begndate, self.enddate) != (first, last) {
            return Err(Error::invalid(
                "begndate",
                "range_not_month",
                format!(
                    "an application clears the whole month {}: begndate {first} and enddate                      {last}, not {} to {}",
                    self.setlym(),
                    self.begndate,
                    self.enddate
                ),
            ));
        }
        if last >= today {
            return Err(Error::precondition(
                "month_not_over",
                format!(
                    "the clearing of {} can be applied for from {}: the month is not over",
                    self.setlym(),
                    last.succ_opt().unwrap_or(last)
                ),
            ));
        }
        let amounts = [
            ("psntime", self.psntime),
            ("medfee_sumamt", self.medfee_sumamt),
            ("med_sumfee", self.med_sumfee),
            ("fund_appy_sum", self.fund_appy_sum),
            ("cash_payamt", self.cash_payamt),
            ("acct_pay", self.acct_pay),
        ];
        for (field, amount) in amounts {
            if !(0..=MAX_DECLARED).contains(&amount) {
                return Err(Error::invalid(
                    field,
                    "invalid_amount",
                    format!("{field} must be between 0 and {MAX_DECLARED}"),
                ));
            }
        }
        if self.med_sumfee > self.medfee_sumamt {
            return Err(Error::invalid(
                "med_sumfee",
                "invalid_amount",
                format!(
                    "med_sumfee {} is more than medfee_sumamt {}",
                    money::fen_to_yuan(self.med_sumfee),
                    money::fen_to_yuan(self.medfee_sumamt)
                ),
            ));
        }
        Ok(())
    }

    /// The clearing period holding the month: the month's own with monthly periods. A month
    /// split between periods (periods of a few days) cannot be applied for as one.
    pub fn period(&self, scheme: PeriodScheme) -> Result<PeriodSpan> {
        let span = scheme.period_of(self.month);
        if span.end < month_end(self.month) {
            return Err(Error::precondition(
                "month_spans_periods",
                format!(
                    "{} is cleared in several periods (from {}): apply per period is not                      supported",
                    self.setlym(),
                    span.id
                ),
            ));
        }
        Ok(span)
    }

    /// Where the declared totals are not clearing's (`center`: the institution's items of the
    /// month and clearing category, as 3201 sums them): `None` when they all are, else each
    /// differing figure with both values.
    pub fn compare(&self, center: &ReconTotals) -> Option<String> {
        // Every item has medfee = fund + acct + cash, so the center's cash is what is left.
        let center_cash = center.medfee_sumamt - center.fund_pay_sumamt - center.acct_pay;
        // (name, declared, held, an amount in fen rather than a count)
        let figures = [
            ("psntime", self.psntime, center.setl_cnt, false),
            ("medfee_sumamt", self.medfee_sumamt, center.medfee_sumamt, true),
            ("fund_appy_sum", self.fund_appy_sum, center.fund_pay_sumamt, true),
            ("acct_pay", self.acct_pay, center.acct_pay, true),
            ("cash_payamt", self.cash_payamt, center_cash, true),
        ];
        let show = |n: i64, fen: bool| if fen { money::fen_to_yuan(n) } else { n.to_string() };
        let differing: Vec<String> = figures
            .iter()
            .filter(|(_, declared, held, _)| declared != held)
            .map(|(name, declared, held, fen)| {
                format!("{name} declared {}, center {}", show(*declared, *fen), show(*held, *fen))
            })
            .collect();
        (!differing.is_empty()).then(|| {
            format!(
                "the totals declared for {} clr_type {} are not clearing's: {}",
                self.setlym(),
                self.clr_type,
                differing.join("; ")
            )
        })
    }
}

/// The largest total one application may declare (10 billion yuan).
pub const MAX_DECLARED: i64 = 1_000_000_000_000;

/// Whether a clearing application may be made or revoked in a period in `status`: while it is
/// open or closed, not once netted (its figures are then being confirmed and settled).
pub fn check_application_window(period_id: &str, status: PeriodStatus) -> Result<()> {
    if status <= PeriodStatus::Closed {
        return Ok(());
    }
    Err(Error::precondition(
        "period_netted",
        format!(
            "period {period_id} is {}: clearing applications are made and revoked only while it \
             is open or closed (before netting)",
            status.as_str()
        ),
    ))
}

#[cfg(test)]
mod tests;
