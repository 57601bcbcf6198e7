//! The clearing rules: netting, the ledger, aggregates, items, periods, prepaid funds and
//! reconciliation, by hand-worked examples and by properties.

use proptest::prelude::*;

use super::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const PROVINCES: [&str; 5] = ["110000", "310000", "440000", "460000", "420000"];

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// An item with the given (signed) amounts; a cancellation names an original.
fn item(
    setl_id: &str,
    home: &str,
    treating: &str,
    fund: i64,
    acct: i64,
    cash: i64,
    kind: ItemKind,
) -> Item {
    Item {
        setl_id: setl_id.into(),
        source: "settlement".into(),
        seq: 1,
        kind,
        orig_setl_id: match kind {
            ItemKind::Settlement => None,
            ItemKind::Cancellation => Some(format!("{setl_id}-orig")),
        },
        home: home.into(),
        treating: treating.into(),
        fixmedins_code: hospital_of(treating),
        insutype: "310".into(),
        clr_type: "11".into(),
        psn_no: "P420200001".into(),
        msgid: "H44010100001202602141000000001".into(),
        mdtrt_id: "M0001".into(),
        medfee_sumamt: fund + acct + cash,
        fund_pay_sumamt: fund,
        acct_pay: acct,
        psn_cash_pay: cash,
        setl_time: "2026-02-14T02:00:00Z".parse().unwrap(),
        stmt_date: d("2026-02-14"),
    }
}

/// One hospital per treating province: `H` + 11 digits.
fn hospital_of(treating: &str) -> String {
    format!("H{}010100001", treating.get(..2).unwrap_or("00"))
}

fn settlement(setl_id: &str, home: &str, treating: &str, fund: i64, acct: i64, cash: i64) -> Item {
    item(setl_id, home, treating, fund, acct, cash, ItemKind::Settlement)
}

fn reason<T: std::fmt::Debug>(result: Result<T>) -> String {
    result.unwrap_err().reason().to_owned()
}

/// Balances per account after applying `postings` (debit positive).
fn balances<'a>(postings: impl IntoIterator<Item = &'a Posting>) -> BTreeMap<String, i64> {
    let mut balances = BTreeMap::new();
    for posting in postings {
        for (account, amount) in posting.lines() {
            *balances.entry(account.to_owned()).or_insert(0) += amount;
        }
    }
    balances
}

fn posting_total(posting: &Posting) -> i64 {
    posting.lines().map(|(_, a)| a).sum()
}

fn province() -> impl Strategy<Value = &'static str> {
    prop::sample::select(PROVINCES.to_vec())
}

/// Matrix cells (home, treating, amount), negative amounts from reversals included.
fn cells() -> impl Strategy<Value = Vec<(&'static str, &'static str, i64)>> {
    prop::collection::vec((province(), province(), -1_000_000i64..10_000_000), 0..40)
}

/// A random item (a cancellation carries negated amounts), with its period index, late and
/// carried flags.
/// An item with its period index (into `PERIODS`) and its late and carried flags.
type Entry = (Item, usize, bool, bool);

fn arb_item() -> impl Strategy<Value = Entry> {
    (
        (province(), province(), 0i64..5_000_000, 0i64..1_000_000, 0i64..1_000_000),
        (any::<bool>(), 0usize..3, any::<bool>(), any::<bool>(), 0u32..100_000),
    )
        .prop_map(
            |((home, treating, fund, acct, cash), (cancel, period, late, carried, id))| {
                let setl_id = format!("S{id:06}");
                let it = if cancel {
                    item(&setl_id, home, treating, -fund, -acct, -cash, ItemKind::Cancellation)
                } else {
                    settlement(&setl_id, home, treating, fund, acct, cash)
                };
                (it, period, late, carried)
            },
        )
}

const PERIODS: [&str; 3] = ["2026-01", "2026-02", "2026-03"];

fn aggregate(stream: &[Entry]) -> Aggregates {
    let mut aggregates = Aggregates::default();
    for (it, period, late, carried) in stream {
        aggregates.add(it, PERIODS[*period], *late, *carried, 1);
    }
    aggregates
}

/// The cells of one period of `aggregates`, as `net` takes them.
fn period_cells<'a>(
    aggregates: &'a Aggregates,
    period_id: &'a str,
) -> impl Iterator<Item = (&'a str, &'a str, i64)> + 'a {
    aggregates.cells.iter().filter(move |((p, _, _), _)| p == period_id).map(
        |((_, home, treating), totals)| (home.as_str(), treating.as_str(), totals.obligation()),
    )
}

/// What each net debtor draws from its deposit.
fn draws(positions: &BTreeMap<String, Position>, deposits: &[i64]) -> BTreeMap<String, i64> {
    positions
        .iter()
        .filter(|(_, p)| p.net() < 0)
        .map(|(province, p)| {
            let i = PROVINCES.iter().position(|c| c == province).unwrap_or(0);
            (province.clone(), draw(deposits[i], -p.net()))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Netting
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn netting_conserves_money(cells in cells()) {
        let netting = net(cells.iter().copied());
        let nets: Vec<i64> = netting.positions.values().map(Position::net).collect();
        prop_assert_eq!(nets.iter().sum::<i64>(), 0);
        let gross: i64 = cells.iter().map(|c| c.2).sum();
        prop_assert_eq!(netting.gross, gross);
        let receivable: i64 = netting.positions.values().map(|p| p.receivable).sum();
        let payable: i64 = netting.positions.values().map(|p| p.payable).sum();
        prop_assert_eq!(receivable, gross);
        prop_assert_eq!(payable, gross);
        prop_assert_eq!(netting.sum_abs_net, nets.iter().map(|n| n.abs()).sum::<i64>());

        let to_national: i64 =
            netting.instructions.iter().filter(|i| i.payee == NATIONAL).map(|i| i.amount).sum();
        let from_national: i64 =
            netting.instructions.iter().filter(|i| i.payer == NATIONAL).map(|i| i.amount).sum();
        prop_assert_eq!(to_national, from_national);
        prop_assert_eq!(to_national + from_national, netting.sum_abs_net);
        for instruction in &netting.instructions {
            prop_assert!(instruction.amount > 0, "{:?}", instruction);
            prop_assert!((instruction.payer == NATIONAL) != (instruction.payee == NATIONAL));
        }
        for (province, position) in &netting.positions {
            let mine: Vec<&Instruction> = netting
                .instructions
                .iter()
                .filter(|i| &i.payer == province || &i.payee == province)
                .collect();
            let net = position.net();
            if net == 0 {
                prop_assert!(mine.is_empty(), "{} {:?}", province, mine);
            } else {
                prop_assert_eq!(mine.len(), 1);
                prop_assert_eq!(mine[0].amount, net.abs());
                let payer = if net < 0 { province.as_str() } else { NATIONAL };
                prop_assert_eq!(mine[0].payer.as_str(), payer);
            }
        }
    }
}

#[test]
fn netting_three_provinces_by_hand() {
    // 110000 owes 310000 120 − 20 (a reversal) = 100; 310000 owes 110000 50 and 440000 50.
    let netting = net([
        ("110000", "310000", 120),
        ("110000", "310000", -20),
        ("310000", "110000", 50),
        ("310000", "440000", 50),
    ]);
    assert_eq!(netting.gross, 200);
    let expected: BTreeMap<String, Position> = [
        ("110000".to_owned(), Position { receivable: 50, payable: 100 }),
        ("310000".to_owned(), Position { receivable: 100, payable: 100 }),
        ("440000".to_owned(), Position { receivable: 50, payable: 0 }),
    ]
    .into_iter()
    .collect();
    assert_eq!(netting.positions, expected);
    assert_eq!(netting.positions["110000"].net(), -50);
    assert_eq!(netting.positions["310000"].net(), 0);
    assert_eq!(netting.positions["440000"].net(), 50);
    assert_eq!(netting.sum_abs_net, 100);
    assert_eq!(
        netting.instructions,
        vec![
            Instruction { payer: "110000".into(), payee: NATIONAL.into(), amount: 50 },
            Instruction { payer: NATIONAL.into(), payee: "440000".into(), amount: 50 },
        ]
    );
    // What changes hands is Σ|net| / 2 = 50 of 200: 1 − 50 / 200
    assert_eq!(netting.efficiency(), Decimal::new(7500, 4));
    assert_eq!(netting.efficiency().to_string(), "0.7500", "always four places");
}

#[test]
fn netting_efficiency_to_four_places() {
    // 1 − (100 / 2) / 250 = 0.8
    let netting =
        net([("110000", "310000", 100), ("310000", "440000", 100), ("440000", "110000", 50)]);
    assert_eq!(netting.sum_abs_net, 100);
    assert_eq!(netting.efficiency(), Decimal::new(8000, 4));
    // 1 − (4 / 2) / 6 = 0.6666… → 0.6667
    let netting = net([("110000", "310000", 4), ("310000", "110000", 2)]);
    assert_eq!((netting.gross, netting.sum_abs_net), (6, 4));
    assert_eq!(netting.efficiency(), Decimal::new(6667, 4));
    // 1 − (8 / 2) / 80000 = 0.99995: the midpoint rounds away from zero, to 1.0000.
    let netting = net([("110000", "310000", 40_002), ("310000", "110000", 39_998)]);
    assert_eq!((netting.gross, netting.sum_abs_net), (80_000, 8));
    assert_eq!(netting.efficiency().to_string(), "1.0000");
    // 1 − (16 / 2) / 80000 = 0.9999.
    let netting = net([("110000", "310000", 40_004), ("310000", "110000", 39_996)]);
    assert_eq!(netting.efficiency().to_string(), "0.9999");
    // Everything one way: netting spares nothing.
    let netting = net([("110000", "310000", 500)]);
    assert_eq!(netting.efficiency().to_string(), "0.0000");
    // Perfectly offsetting flows: efficiency 1.
    let netting = net([("110000", "310000", 700), ("310000", "110000", 700)]);
    assert_eq!(netting.sum_abs_net, 0);
    assert!(netting.instructions.is_empty());
    assert_eq!(netting.efficiency(), Decimal::ONE);
}

#[test]
fn netting_nothing_flowed() {
    let netting = net(std::iter::empty());
    assert_eq!(netting.gross, 0);
    assert!(netting.positions.is_empty());
    assert!(netting.instructions.is_empty());
    assert_eq!(netting.efficiency(), Decimal::ZERO);
    // A settlement and its reversal in the same period: gross 0.
    let netting = net([("110000", "310000", 500), ("110000", "310000", -500)]);
    assert_eq!(netting.gross, 0);
    assert_eq!(netting.sum_abs_net, 0);
    assert_eq!(netting.efficiency(), Decimal::ZERO);
}

// ---------------------------------------------------------------------------------------------
// 2. The ledger
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn aggregates_posting_is_balanced(stream in prop::collection::vec(arb_item(), 0..40)) {
        let posting = aggregate(&stream).posting();
        prop_assert!(posting.check().is_ok());
        prop_assert_eq!(posting_total(&posting), 0);
        let obligations: i64 = stream.iter().map(|(it, ..)| it.obligation()).sum();
        let payable: i64 = posting
            .lines()
            .filter(|(account, _)| account.ends_with(":payable"))
            .map(|(_, a)| a)
            .sum();
        prop_assert_eq!(payable, obligations);
    }

    #[test]
    fn settlement_posting_is_balanced(
        cells in cells(),
        deposits in prop::collection::vec(-1_000_000i64..20_000_000, 5),
    ) {
        let netting = net(cells.iter().copied());
        let drawn = draws(&netting.positions, &deposits);
        for (province, amount) in &drawn {
            prop_assert!(*amount >= 0);
            prop_assert!(*amount <= -netting.positions[province].net());
        }
        let posting = settlement_posting(&netting.positions, &drawn);
        prop_assert!(posting.check().is_ok());
        prop_assert_eq!(posting_total(&posting), 0);
        // The bank receives what debtors transfer beyond their draws and pays the creditors.
        let bank = posting.lines().find(|(a, _)| *a == "000000:bank").map_or(0, |(_, a)| a);
        // Σ debts − drawn in, Σ credits (= Σ debts) out: the bank is down by what was drawn.
        let drawn_total: i64 = drawn.values().sum();
        prop_assert_eq!(bank, -drawn_total);
    }

    #[test]
    fn deposit_and_hospital_dues_postings_are_balanced(
        province in province(),
        amount in -10_000_000i64..10_000_000,
        dues in prop::collection::vec((province(), -1_000_000i64..10_000_000), 0..20),
    ) {
        let posting = deposit_posting(province, amount);
        prop_assert!(posting.check().is_ok());
        prop_assert_eq!(posting_total(&posting), 0);
        let hospitals: Vec<String> = dues.iter().map(|(p, _)| hospital_of(p)).collect();
        let posting = hospital_dues_posting(
            dues.iter().zip(&hospitals).map(|((p, a), h)| (h.as_str(), *p, *a)),
        );
        prop_assert!(posting.check().is_ok());
        prop_assert_eq!(posting_total(&posting), 0);
    }

    #[test]
    fn ingest_then_settle_clears_payables_and_receivables(
        stream in prop::collection::vec(arb_item(), 0..60),
        deposits in prop::collection::vec(0i64..20_000_000, 5),
    ) {
        let aggregates = aggregate(&stream);
        let mut postings = vec![aggregates.posting()];
        for period_id in PERIODS {
            let netting = net(period_cells(&aggregates, period_id));
            let drawn = draws(&netting.positions, &deposits);
            postings.push(settlement_posting(&netting.positions, &drawn));
        }
        for posting in &postings {
            prop_assert!(posting.check().is_ok());
        }
        let balances = balances(&postings);
        for (account, balance) in &balances {
            if account.ends_with(":payable") || account.ends_with(":receivable") {
                prop_assert_eq!(*balance, 0, "{}", account);
            }
        }
        prop_assert_eq!(balances.values().sum::<i64>(), 0);
    }
}

#[test]
fn settlement_posting_by_hand() {
    let netting =
        net([("110000", "310000", 100), ("310000", "110000", 50), ("310000", "440000", 50)]);
    let drawn: BTreeMap<String, i64> = [("110000".to_owned(), draw(30, 50))].into_iter().collect();
    let posting = settlement_posting(&netting.positions, &drawn);
    let lines: Vec<(&str, i64)> = posting.lines().collect();
    assert_eq!(
        lines,
        vec![
            ("000000:bank", 20 - 50),
            ("110000:payable", -100),
            ("110000:prepaid", 30),
            ("110000:receivable", 50),
            ("310000:payable", -100),
            ("310000:receivable", 100),
            ("440000:receivable", 50),
        ]
    );
    assert!(posting.check().is_ok());
}

#[test]
fn deposit_and_dues_postings_by_hand() {
    let posting = deposit_posting("440000", 1_000);
    let lines: Vec<(&str, i64)> = posting.lines().collect();
    assert_eq!(lines, vec![("000000:bank", 1_000), ("440000:prepaid", -1_000)]);
    let posting =
        hospital_dues_posting([("H44010100001", "440000", 300), ("H44010100002", "440000", 200)]);
    let lines: Vec<(&str, i64)> = posting.lines().collect();
    assert_eq!(
        lines,
        vec![
            ("440000:hospital_advances", 500),
            ("H44010100001:due", -300),
            ("H44010100002:due", -200),
        ]
    );
    assert!(deposit_posting("440000", 0).is_empty());
}

#[test]
fn an_unbalanced_posting_is_refused() {
    let mut posting = Posting::default();
    posting.add("110000:payable", 10);
    posting.add("310000:receivable", -9);
    assert_eq!(reason(posting.check()), "internal");
    posting.add("310000:receivable", -1);
    assert!(posting.check().is_ok());
}

// ---------------------------------------------------------------------------------------------
// 3. Aggregates
// ---------------------------------------------------------------------------------------------

fn sum_totals<'a>(totals: impl IntoIterator<Item = &'a Totals>) -> Totals {
    let mut sum = Totals::default();
    for t in totals {
        sum.merge(t);
    }
    sum
}

proptest! {
    #[test]
    fn aggregates_count_and_sum_every_item(stream in prop::collection::vec(arb_item(), 0..60)) {
        let aggregates = aggregate(&stream);
        let cells = sum_totals(aggregates.cells.values());
        let count = |f: &dyn Fn(&Entry) -> bool| {
            i64::try_from(stream.iter().filter(|x| f(x)).count()).unwrap()
        };
        let sum = |f: &dyn Fn(&Item) -> i64| stream.iter().map(|(it, ..)| f(it)).sum::<i64>();
        prop_assert_eq!(cells.obligation(), sum(&Item::obligation));
        prop_assert_eq!(cells.settlements, count(&|x| x.0.kind == ItemKind::Settlement));
        prop_assert_eq!(cells.reversals, count(&|x| x.0.kind == ItemKind::Cancellation));
        prop_assert_eq!(cells.late, count(&|x| x.2));
        prop_assert_eq!(cells.carried_in, count(&|x| x.3));
        prop_assert_eq!(cells.medfee_sumamt, sum(&|it| it.medfee_sumamt));
        prop_assert_eq!(cells.fund_pay_sumamt, sum(&|it| it.fund_pay_sumamt));
        prop_assert_eq!(cells.acct_pay, sum(&|it| it.acct_pay));
        prop_assert_eq!(cells.psn_cash_pay, sum(&|it| it.psn_cash_pay));
        // Per period, the cells hold exactly the period's obligations.
        for (index, period_id) in PERIODS.iter().enumerate() {
            let in_cells: i64 = period_cells(&aggregates, period_id).map(|c| c.2).sum();
            let items: i64 =
                stream.iter().filter(|x| x.1 == index).map(|x| x.0.obligation()).sum();
            prop_assert_eq!(in_cells, items);
        }
        // The hospitals' parts add up to the cells (lateness is kept on cells only).
        let hospitals = sum_totals(aggregates.hospitals.values().map(|(_, t)| t));
        prop_assert_eq!(
            Totals { late: 0, carried_in: 0, ..hospitals },
            Totals { late: 0, carried_in: 0, ..cells }
        );
        for ((_, hospital), (treating, _)) in &aggregates.hospitals {
            prop_assert_eq!(hospital, &hospital_of(treating));
        }
    }

    #[test]
    fn taking_items_out_again_leaves_zero_totals(
        stream in prop::collection::vec(arb_item(), 1..40),
    ) {
        let mut aggregates = aggregate(&stream);
        for (it, period, late, carried) in stream.iter().rev() {
            aggregates.add(it, PERIODS[*period], *late, *carried, -1);
        }
        for totals in aggregates.cells.values() {
            prop_assert_eq!(*totals, Totals::default());
        }
        for (_, totals) in aggregates.hospitals.values() {
            prop_assert_eq!(*totals, Totals::default());
        }
        prop_assert!(aggregates.posting().is_empty());
    }

    #[test]
    fn one_item_in_and_out(entry in arb_item()) {
        let (it, period, late, carried) = entry;
        let mut totals = Totals::default();
        totals.add(&it, 1);
        prop_assert_eq!(totals.obligation(), it.obligation());
        totals.add(&it, -1);
        prop_assert_eq!(totals, Totals::default());
        let mut aggregates = Aggregates::default();
        aggregates.add(&it, PERIODS[period], late, carried, 1);
        aggregates.add(&it, PERIODS[period], late, carried, -1);
        prop_assert!(aggregates.cells.values().all(|t| *t == Totals::default()));
        prop_assert!(aggregates.hospitals.values().all(|(_, t)| *t == Totals::default()));
    }
}

#[test]
fn aggregates_by_hand() {
    let mut aggregates = Aggregates::default();
    let a = settlement("S1", "420000", "440000", 800, 100, 100);
    let b = settlement("S2", "420000", "440000", 300, 0, 50);
    let c = item("S3", "420000", "440000", -300, 0, -50, ItemKind::Cancellation);
    aggregates.add(&a, "2026-02", false, false, 1);
    aggregates.add(&b, "2026-02", true, false, 1);
    aggregates.add(&c, "2026-02", false, true, 1);
    let key = ("2026-02".to_owned(), "420000".to_owned(), "440000".to_owned());
    assert_eq!(
        aggregates.cells[&key],
        Totals {
            settlements: 2,
            reversals: 1,
            medfee_sumamt: 1_000,
            fund_pay_sumamt: 800,
            acct_pay: 100,
            psn_cash_pay: 100,
            late: 1,
            carried_in: 1,
        }
    );
    assert_eq!(aggregates.cells[&key].obligation(), 900);
    let hospital_key = ("2026-02".to_owned(), "H44010100001".to_owned());
    let (treating, totals) = &aggregates.hospitals[&hospital_key];
    assert_eq!(treating, "440000");
    assert_eq!(totals.obligation(), 900);
    assert_eq!((totals.late, totals.carried_in), (0, 0));
    let posting = aggregates.posting();
    let lines: Vec<(&str, i64)> = posting.lines().collect();
    assert_eq!(lines, vec![("420000:payable", 900), ("440000:receivable", -900)]);
}

// ---------------------------------------------------------------------------------------------
// 4. Item::validate
// ---------------------------------------------------------------------------------------------

#[test]
fn a_good_settlement_and_a_good_cancellation_pass() {
    let good = settlement("S1", "420000", "440000", 800, 100, 100);
    assert_eq!(good.obligation(), 900);
    good.validate().unwrap();
    let cancel = item("S2", "420000", "440000", -800, -100, -100, ItemKind::Cancellation);
    assert_eq!(cancel.orig_setl_id.as_deref(), Some("S2-orig"));
    assert_eq!(cancel.obligation(), -900);
    cancel.validate().unwrap();
    // All-zero amounts are allowed on either side.
    settlement("S3", "420000", "440000", 0, 0, 0).validate().unwrap();
}

#[test]
fn inconsistent_items_are_refused() {
    let good = settlement("S1", "420000", "440000", 800, 100, 100);
    let mut broken_identity = good.clone();
    broken_identity.medfee_sumamt += 1;
    let negative_settlement = settlement("S1", "420000", "440000", 800, -100, 100);
    let mut settlement_with_orig = good.clone();
    settlement_with_orig.orig_setl_id = Some("S0".into());
    let mut cancel_without_orig =
        item("S2", "420000", "440000", -800, -100, -100, ItemKind::Cancellation);
    cancel_without_orig.orig_setl_id = None;
    let positive_cancel = item("S2", "420000", "440000", 800, 100, 100, ItemKind::Cancellation);
    let mut city_home = good.clone();
    city_home.home = "440100".into();
    let mut city_treating = good.clone();
    city_treating.treating = "440100".into();
    let mut short_code = good.clone();
    short_code.home = "44000".into();
    let mut letters = good.clone();
    letters.treating = "4a0000".into();
    let mut no_hospital = good.clone();
    no_hospital.fixmedins_code = String::new();
    let mut no_setl_id = good.clone();
    no_setl_id.setl_id = String::new();
    let mut long_setl_id = good;
    long_setl_id.setl_id = "S".repeat(65);
    let cases = [
        ("identity broken", broken_identity),
        ("settlement with a negative amount", negative_settlement),
        ("settlement naming an original", settlement_with_orig),
        ("cancellation without original", cancel_without_orig),
        ("cancellation with positive amounts", positive_cancel),
        ("city home", city_home),
        ("city treating", city_treating),
        ("five-digit code", short_code),
        ("non-digit code", letters),
        ("empty fixmedins_code", no_hospital),
        ("empty setl_id", no_setl_id),
        ("setl_id too long", long_setl_id),
    ];
    for (case, it) in cases {
        let result = it.validate();
        assert!(result.is_err(), "{case}: accepted");
        assert_eq!(reason(result), "inconsistent_item", "{case}");
    }
}

#[test]
fn validate_refuses_overflowing_amounts_without_panicking() {
    // DESIGN.md §5.6: no input, however malformed, crashes a service.
    let mut it = settlement("S1", "420000", "440000", 0, 0, 0);
    it.fund_pay_sumamt = i64::MAX;
    it.acct_pay = 1;
    it.medfee_sumamt = i64::MIN;
    let result = std::panic::catch_unwind(|| it.validate().map_err(|e| e.reason().to_owned()));
    assert_eq!(result.ok(), Some(Err("inconsistent_item".to_owned())));
}

#[test]
fn provinces_and_kinds() {
    assert!(is_province("440000"));
    assert!(!is_province("440100"));
    assert!(!is_province("4400000"));
    assert!(!is_province(""));
    for kind in [ItemKind::Settlement, ItemKind::Cancellation] {
        assert_eq!(ItemKind::parse(kind.as_str()).unwrap(), kind);
    }
    assert_eq!(reason(ItemKind::parse("refund")), "unknown_kind");
}

// ---------------------------------------------------------------------------------------------
// 5. Periods
// ---------------------------------------------------------------------------------------------

#[test]
fn period_schemes_parse() {
    assert_eq!(PeriodScheme::parse("monthly").unwrap(), PeriodScheme::Monthly);
    assert_eq!(PeriodScheme::parse("").unwrap(), PeriodScheme::Monthly);
    assert_eq!(PeriodScheme::parse("daily").unwrap(), PeriodScheme::Days(1));
    assert_eq!(PeriodScheme::parse("7d").unwrap(), PeriodScheme::Days(7));
    assert_eq!(PeriodScheme::parse(" 10d ").unwrap(), PeriodScheme::Days(10));
    assert_eq!(PeriodScheme::parse("366d").unwrap(), PeriodScheme::Days(366));
    for bad in ["weekly", "7", "d", "0d", "367d", "-1d", "7days", "1.5d", "Monthly"] {
        assert_eq!(reason(PeriodScheme::parse(bad)), "invalid_period_scheme", "{bad:?}");
    }
}

fn span(begin: &str, end: &str, id: &str) -> PeriodSpan {
    PeriodSpan { begin: d(begin), end: d(end), id: id.into() }
}

#[test]
fn monthly_periods() {
    let m = PeriodScheme::Monthly;
    assert_eq!(m.period_of(d("2026-02-14")), span("2026-02-01", "2026-02-28", "2026-02"));
    assert_eq!(m.period_of(d("2024-02-29")), span("2024-02-01", "2024-02-29", "2024-02"));
    assert_eq!(m.period_of(d("2026-01-31")), span("2026-01-01", "2026-01-31", "2026-01"));
    assert_eq!(m.period_of(d("2026-04-01")), span("2026-04-01", "2026-04-30", "2026-04"));
    let december = m.period_of(d("2026-12-31"));
    assert_eq!(december, span("2026-12-01", "2026-12-31", "2026-12"));
    assert_eq!(m.next(&december), span("2027-01-01", "2027-01-31", "2027-01"));
    assert_eq!(m.next(&m.period_of(d("2024-01-10"))).end, d("2024-02-29"));
}

#[test]
fn day_periods_by_hand() {
    // Counted from 2000-01-01 (a Saturday): 7-day periods begin on Saturdays.
    let w = PeriodScheme::Days(7);
    assert_eq!(w.period_of(d("2000-01-01")), span("2000-01-01", "2000-01-07", "2000-01-01"));
    assert_eq!(w.period_of(d("2026-02-14")), span("2026-02-14", "2026-02-20", "2026-02-14"));
    assert_eq!(w.period_of(d("2026-02-13")), span("2026-02-07", "2026-02-13", "2026-02-07"));
    assert_eq!(w.period_of(d("1999-12-31")), span("1999-12-25", "1999-12-31", "1999-12-25"));
    let day = PeriodScheme::Days(1);
    assert_eq!(day.period_of(d("2026-02-14")), span("2026-02-14", "2026-02-14", "2026-02-14"));
}

fn date_in(days_from_1990: u64) -> NaiveDate {
    d("1990-01-01").checked_add_days(Days::new(days_from_1990)).unwrap()
}

proptest! {
    #[test]
    fn day_periods_tile_the_calendar(offset in 0u64..40_000, n in 1u32..=366) {
        let scheme = PeriodScheme::Days(n);
        let length = i64::from(n);
        let date = date_in(offset);
        let own = scheme.period_of(date);
        prop_assert!(own.begin <= date && date <= own.end);
        prop_assert_eq!((own.end - own.begin).num_days() + 1, length);
        prop_assert_eq!(own.id.clone(), own.begin.format("%Y-%m-%d").to_string());
        prop_assert_eq!(scheme.period_of(own.begin), own.clone());
        prop_assert_eq!(scheme.period_of(own.end), own.clone());
        let mut current = own;
        for _ in 0..3 {
            let next = scheme.next(&current);
            prop_assert_eq!(next.begin, current.end.succ_opt().unwrap());
            prop_assert_eq!((next.end - next.begin).num_days() + 1, length);
            current = next;
        }
    }

    #[test]
    fn months_tile_the_calendar(offset in 0u64..40_000) {
        let scheme = PeriodScheme::Monthly;
        let date = date_in(offset);
        let own = scheme.period_of(date);
        prop_assert!(own.begin <= date && date <= own.end);
        prop_assert_eq!(own.begin.day(), 1);
        prop_assert_eq!(own.end.month(), own.begin.month());
        prop_assert_eq!(own.end.succ_opt().unwrap().day(), 1);
        let next = scheme.next(&own);
        prop_assert_eq!(next.begin, own.end.succ_opt().unwrap());
    }
}

fn known(entries: &[(&str, PeriodStatus)]) -> BTreeMap<NaiveDate, PeriodStatus> {
    entries.iter().map(|(begin, status)| (d(begin), *status)).collect()
}

#[test]
fn assign_to_own_open_period() {
    let m = PeriodScheme::Monthly;
    let got = assign(m, &known(&[("2026-02-01", PeriodStatus::Open)]), d("2026-02-14"));
    assert_eq!(
        got,
        Assignment {
            period: span("2026-02-01", "2026-02-28", "2026-02"),
            late: false,
            open: false
        }
    );
}

#[test]
fn assign_to_unknown_own_period_opens_it() {
    let m = PeriodScheme::Monthly;
    let got = assign(m, &known(&[("2026-01-01", PeriodStatus::Closed)]), d("2026-02-14"));
    assert_eq!(got.period.id, "2026-02");
    assert!(!got.late);
    assert!(got.open);
    let got = assign(m, &BTreeMap::new(), d("2026-02-14"));
    assert_eq!((got.period.id.as_str(), got.late, got.open), ("2026-02", false, true));
}

#[test]
fn assign_late_items_to_the_next_period() {
    let m = PeriodScheme::Monthly;
    // Own period closed, next unknown: the next one, to be opened.
    let got = assign(m, &known(&[("2026-02-01", PeriodStatus::Closed)]), d("2026-02-14"));
    assert_eq!((got.period.id.as_str(), got.late, got.open), ("2026-03", true, true));
    // Own period closed, next open.
    let statuses =
        known(&[("2026-02-01", PeriodStatus::Netted), ("2026-03-01", PeriodStatus::Open)]);
    let got = assign(m, &statuses, d("2026-02-14"));
    assert_eq!((got.period.id.as_str(), got.late, got.open), ("2026-03", true, false));
    // A chain of periods past open: skipped to the first open one.
    let statuses = known(&[
        ("2026-11-01", PeriodStatus::Settled),
        ("2026-12-01", PeriodStatus::Confirmed),
        ("2027-01-01", PeriodStatus::Closed),
        ("2027-02-01", PeriodStatus::Open),
        ("2027-03-01", PeriodStatus::Open),
    ]);
    let got = assign(m, &statuses, d("2026-11-30"));
    assert_eq!(got.period, span("2027-02-01", "2027-02-28", "2027-02"));
    assert!(got.late);
    assert!(!got.open);
    // A chain ending in an unknown period.
    let statuses =
        known(&[("2026-11-01", PeriodStatus::Closed), ("2026-12-01", PeriodStatus::Closed)]);
    let got = assign(m, &statuses, d("2026-11-30"));
    assert_eq!((got.period.id.as_str(), got.late, got.open), ("2027-01", true, true));
}

fn status() -> impl Strategy<Value = Option<PeriodStatus>> {
    prop::option::of(prop::sample::select(vec![
        PeriodStatus::Open,
        PeriodStatus::Closed,
        PeriodStatus::Netted,
        PeriodStatus::Confirmed,
        PeriodStatus::Settled,
    ]))
}

proptest! {
    #[test]
    fn assign_never_picks_a_period_past_open(
        monthly in any::<bool>(),
        n in 1u32..15,
        statuses in prop::collection::vec(status(), 40),
        which in 0usize..30,
        day in 0u64..31,
    ) {
        let scheme = if monthly { PeriodScheme::Monthly } else { PeriodScheme::Days(n) };
        let mut spans = vec![scheme.period_of(d("2025-06-15"))];
        for _ in 1..statuses.len() {
            let next = scheme.next(spans.last().unwrap());
            spans.push(next);
        }
        let known: BTreeMap<NaiveDate, PeriodStatus> = spans
            .iter()
            .zip(&statuses)
            .filter_map(|(s, status)| status.map(|st| (s.begin, st)))
            .collect();
        let target = &spans[which];
        let date = target.begin.checked_add_days(Days::new(day)).unwrap().min(target.end);
        let own = scheme.period_of(date);
        prop_assert_eq!(&own, target);

        let got = assign(scheme, &known, date);
        let status = known.get(&got.period.begin).copied();
        prop_assert!(matches!(status, None | Some(PeriodStatus::Open)), "{:?}", status);
        prop_assert!(got.period.begin >= own.begin);
        prop_assert_eq!(got.open, status.is_none());
        prop_assert_eq!(got.late, got.period != own);
        prop_assert_eq!(scheme.period_of(got.period.begin), got.period.clone());
        // Every period skipped on the way is known and past open.
        let mut walk = own;
        while walk != got.period {
            let skipped = known.get(&walk.begin).copied();
            prop_assert!(skipped.is_some_and(|s| s != PeriodStatus::Open), "{:?}", skipped);
            walk = scheme.next(&walk);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 6. The period state machine
// ---------------------------------------------------------------------------------------------

#[test]
fn check_action_table() {
    use PeriodAction as A;
    use PeriodStatus as S;
    let statuses = [S::Open, S::Closed, S::Netted, S::Confirmed, S::Settled];
    let table: [(A, &[S], &str); 6] = [
        (A::Close, &[S::Open], "period_not_open"),
        (A::Net, &[S::Closed], "period_not_closed"),
        (A::Confirm, &[S::Netted, S::Confirmed], "period_not_netted"),
        (A::Withdraw, &[S::Netted, S::Confirmed], "period_not_netted"),
        (A::Dispute, &[S::Closed, S::Netted, S::Confirmed], "period_not_disputable"),
        (A::Settle, &[S::Confirmed], "period_not_confirmed"),
    ];
    for (action, allowed, refusal) in table {
        for status in statuses {
            let result = check_action("2026-02", status, action);
            if allowed.contains(&status) {
                assert!(result.is_ok(), "{action:?} on {status:?}: {result:?}");
            } else {
                let err = result.unwrap_err();
                assert_eq!(err.reason(), refusal, "{action:?} on {status:?}");
                let text = err.to_string();
                assert!(text.contains("2026-02"), "{text}");
                assert!(text.contains(status.as_str()), "{text}");
            }
        }
    }
}

#[test]
fn period_status_round_trips() {
    use PeriodStatus as S;
    for status in [S::Open, S::Closed, S::Netted, S::Confirmed, S::Settled] {
        assert_eq!(PeriodStatus::parse(status.as_str()).unwrap(), status);
    }
    assert_eq!(reason(PeriodStatus::parse("reopened")), "internal");
    assert!(S::Open < S::Closed && S::Closed < S::Netted);
    assert!(S::Netted < S::Confirmed && S::Confirmed < S::Settled);
}

// ---------------------------------------------------------------------------------------------
// 7. Prepaid funds
// ---------------------------------------------------------------------------------------------

#[test]
fn prepaid_level_by_hand() {
    let rules = PrepaidRules::default();
    assert_eq!(rules.window, 2);
    // Average of 2 periods × 2 = their sum; 70 % of 1_001 = 700.7 → 701.
    let level = rules.level(&[600, 401]);
    assert_eq!(
        level,
        FundLevel { required: 1_001, alert_line: 701, basis_outgoing: 1_001, basis_periods: 2 }
    );
    // 70 % of 1_000 is exact.
    assert_eq!(rules.level(&[500, 500]).alert_line, 700);
    // 70 % of 3 = 2.1 → 3; of 1 = 0.7 → 1.
    assert_eq!(rules.level(&[2, 1]).alert_line, 3);
    assert_eq!(rules.level(&[1, 0]).alert_line, 1);
    // Only the most recent `window` periods count.
    assert_eq!(rules.level(&[600, 401, 1_000_000]).required, 1_001);
    // One period: twice it.
    let level = rules.level(&[333]);
    assert_eq!(
        level,
        FundLevel { required: 666, alert_line: 467, basis_outgoing: 333, basis_periods: 1 }
    );
    // None: nothing required.
    assert_eq!(
        rules.level(&[]),
        FundLevel { required: 0, alert_line: 0, basis_outgoing: 0, basis_periods: 0 }
    );
    // A net-negative period counts as nothing.
    assert_eq!(rules.level(&[-500, 300]).required, 300);
    // The average rounds up to the fen: window 3 over 2 periods, (1 + 0) / 2 × 3 = 1.5 → 2.
    let three = PrepaidRules { window: 3, ..PrepaidRules::default() };
    assert_eq!(three.level(&[1, 0]).required, 2);
    assert_eq!(three.level(&[1, 0]).alert_line, 2);
}

#[test]
fn prepaid_state_thresholds() {
    let level = PrepaidRules::default().level(&[600, 401]);
    assert_eq!(level.state(2_000), FundState::Sufficient);
    assert_eq!(level.state(1_001), FundState::Sufficient);
    assert_eq!(level.state(1_000), FundState::BelowRequired);
    assert_eq!(level.state(701), FundState::BelowRequired);
    assert_eq!(level.state(700), FundState::BelowAlert);
    assert_eq!(level.state(0), FundState::BelowAlert);
    assert_eq!(level.state(-1), FundState::BelowAlert);
    assert_eq!(PrepaidRules::default().level(&[]).state(0), FundState::Sufficient);
}

#[test]
fn draw_by_hand() {
    assert_eq!(draw(30, 50), 30);
    assert_eq!(draw(80, 50), 50);
    assert_eq!(draw(50, 50), 50);
    assert_eq!(draw(0, 50), 0);
    assert_eq!(draw(-10, 50), 0);
    assert_eq!(draw(100, 0), 0);
    assert_eq!(draw(100, -20), 0);
}

proptest! {
    #[test]
    fn draw_is_bounded(deposit in -1_000_000i64..1_000_000, owed in -1_000_000i64..1_000_000) {
        let drawn = draw(deposit, owed);
        prop_assert!(drawn >= 0);
        prop_assert!(drawn <= deposit.max(0));
        prop_assert!(drawn <= owed.max(0));
        prop_assert!(drawn == deposit.max(0) || drawn == owed.max(0));
    }

    #[test]
    fn prepaid_level_rounds_up(
        recent in prop::collection::vec(0i64..100_000_000, 0..5),
        window in 1u32..6,
    ) {
        let rules = PrepaidRules { window, ..PrepaidRules::default() };
        let level = rules.level(&recent);
        let used = &recent[..recent.len().min(usize::try_from(window).unwrap())];
        let n = i64::try_from(used.len()).unwrap();
        let sum: i64 = used.iter().sum();
        prop_assert_eq!(level.basis_outgoing, sum);
        prop_assert_eq!(i64::from(level.basis_periods), n);
        if n == 0 {
            prop_assert_eq!(level.required, 0);
        } else {
            // The smallest r with r × n ≥ sum × window.
            let scaled = sum * i64::from(window);
            prop_assert!(level.required * n >= scaled);
            prop_assert!((level.required - 1) * n < scaled);
        }
        // The smallest a with a × 100 ≥ required × 70.
        prop_assert!(level.alert_line * 100 >= level.required * 70);
        prop_assert!(level.alert_line == 0 || (level.alert_line - 1) * 100 < level.required * 70);
        prop_assert!(level.alert_line <= level.required);
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Reconciliation
// ---------------------------------------------------------------------------------------------

#[test]
fn compare_totals_names_what_differs() {
    let center =
        ReconTotals { setl_cnt: 3, medfee_sumamt: 1_000, fund_pay_sumamt: 700, acct_pay: 100 };
    assert_eq!(compare_totals(&center, &center), None);
    let hospital = ReconTotals { fund_pay_sumamt: 699, ..center };
    let text = compare_totals(&hospital, &center).unwrap();
    assert!(text.contains("基金支付总额不符"), "{text}");
    assert!(text.contains("fund_pay_sumamt: hospital 699, center 700"), "{text}");
    assert!(!text.contains("结算笔数不符"), "{text}");
    assert!(!text.contains("医疗费总额不符"), "{text}");
    assert!(!text.contains("个人账户支付总额不符"), "{text}");
    let hospital = ReconTotals { setl_cnt: 4, acct_pay: 0, ..center };
    let text = compare_totals(&hospital, &center).unwrap();
    assert!(text.starts_with("结算笔数不符"), "{text}");
    assert!(text.contains("个人账户支付总额不符"), "{text}");
    assert!(!text.contains("基金支付总额不符"), "{text}");
}

fn detail(setl_id: &str, medfee: i64, fund: i64, acct: i64) -> ReconDetail {
    ReconDetail {
        setl_id: setl_id.into(),
        msgid: format!("MSG-{setl_id}"),
        mdtrt_id: format!("M-{setl_id}"),
        psn_no: "P420200001".into(),
        medfee_sumamt: medfee,
        fund_pay_sumamt: fund,
        acct_pay: acct,
        refd_setl_flag: false,
    }
}

#[test]
fn compare_details_sorts_every_kind_of_discrepancy() {
    let same = detail("S3", 1_000, 700, 100);
    let theirs_differs = ReconDetail { refd_setl_flag: true, ..detail("S1", 1_000, 699, 100) };
    let ours_differs = detail("S1", 1_000, 700, 100);
    let only_theirs = detail("S4", 50, 40, 0);
    let only_ours = detail("S2", 60, 30, 0);
    let hospital = vec![only_theirs.clone(), same.clone(), theirs_differs.clone()];
    let center = vec![same, only_ours.clone(), ours_differs.clone()];
    let (matched, discrepancies) = compare_details(hospital, center).unwrap();
    assert_eq!(matched, 1);
    assert_eq!(
        discrepancies,
        vec![
            Discrepancy::Differs {
                hospital: theirs_differs,
                center: ours_differs,
                fields: vec!["fund_pay_sumamt_fen", "refd_setl_flag"],
            },
            Discrepancy::MissingAtHospital(only_ours),
            Discrepancy::MissingAtCenter(only_theirs),
        ]
    );
    let ids: Vec<&str> = discrepancies.iter().map(Discrepancy::setl_id).collect();
    assert_eq!(ids, vec!["S1", "S2", "S4"]);
}

#[test]
fn compare_details_names_each_differing_field() {
    let ours = detail("S1", 1_000, 700, 100);
    let theirs = ReconDetail {
        msgid: "other".into(),
        mdtrt_id: "other".into(),
        psn_no: "other".into(),
        ..detail("S1", 999, 700, 99)
    };
    let (matched, discrepancies) = compare_details(vec![theirs], vec![ours]).unwrap();
    assert_eq!(matched, 0);
    let [Discrepancy::Differs { fields, .. }] = discrepancies.as_slice() else {
        panic!("{discrepancies:?}");
    };
    assert_eq!(fields, &vec!["msgid", "mdtrt_id", "psn_no", "medfee_sumamt_fen", "acct_pay_fen"]);
}

#[test]
fn a_hospital_list_without_msgids_is_compared_without_them() {
    // The national detail file (3202) has no msgid column.
    let ours = ReconDetail { msgid: "M1".into(), ..detail("S1", 1_000, 700, 100) };
    let theirs = ReconDetail { msgid: String::new(), ..detail("S1", 1_000, 700, 100) };
    assert_eq!(compare_details(vec![theirs], vec![ours]).unwrap(), (1, Vec::new()));
}

#[test]
fn compare_details_all_match_or_empty() {
    let list = vec![detail("S2", 10, 5, 0), detail("S1", 20, 10, 5)];
    let (matched, discrepancies) =
        compare_details(list.clone(), list.into_iter().rev().collect()).unwrap();
    assert_eq!((matched, discrepancies.len()), (2, 0));
    assert_eq!(compare_details(Vec::new(), Vec::new()).unwrap(), (0, Vec::new()));
}

#[test]
fn compare_details_refuses_bad_hospital_lists() {
    let twice = vec![detail("S1", 10, 5, 0), detail("S2", 10, 5, 0), detail("S1", 10, 5, 0)];
    let result = compare_details(twice, vec![detail("S1", 10, 5, 0)]);
    assert_eq!(reason(result), "duplicate_setl_id");
    let unnamed = vec![detail("", 10, 5, 0)];
    assert_eq!(reason(compare_details(unnamed, Vec::new())), "missing_field");
}

proptest! {
    #[test]
    fn compare_details_accounts_for_every_settlement(
        hospital_ids in prop::collection::btree_set(0u32..40, 0..20),
        center_ids in prop::collection::btree_set(0u32..40, 0..20),
        tweak in 0u32..40,
    ) {
        let make = |id: &u32| {
            let fund = if *id == tweak { 1 } else { 0 };
            detail(&format!("S{id:03}"), 10, 5 + fund, 0)
        };
        let hospital: Vec<ReconDetail> = hospital_ids.iter().rev().map(make).collect();
        let plain = |id: &u32| detail(&format!("S{id:03}"), 10, 5, 0);
        let center: Vec<ReconDetail> = center_ids.iter().map(plain).collect();
        let (matched, discrepancies) = compare_details(hospital, center).unwrap();
        let ids: Vec<&str> = discrepancies.iter().map(Discrepancy::setl_id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        prop_assert_eq!(&ids, &sorted);
        let both = hospital_ids.intersection(&center_ids).count();
        let differs = usize::from(hospital_ids.contains(&tweak) && center_ids.contains(&tweak));
        prop_assert_eq!(usize::try_from(matched).unwrap(), both - differs);
        let union = hospital_ids.union(&center_ids).count();
        prop_assert_eq!(discrepancies.len(), union - both + differs);
    }
}

// ---------------------------------------------------------------------------------------------
// Clearing applications (3203, 3204)
// ---------------------------------------------------------------------------------------------

/// February 2026 of one hospital's outpatient care: 12 visits, 2460.00 of which the fund paid
/// 1500.00, the accounts 360.00 and the patients 600.00 in cash.
fn february() -> Application {
    Application {
        fixmedins_code: "H50015500011".into(),
        clr_type: "11".into(),
        clr_way: "1".into(),
        month: d("2026-02-01"),
        begndate: d("2026-02-01"),
        enddate: d("2026-02-28"),
        psntime: 12,
        medfee_sumamt: 246_000,
        med_sumfee: 246_000,
        fund_appy_sum: 150_000,
        cash_payamt: 60_000,
        acct_pay: 36_000,
    }
}

fn held(setl_cnt: i64, medfee: i64, fund: i64, acct: i64) -> ReconTotals {
    ReconTotals { setl_cnt, medfee_sumamt: medfee, fund_pay_sumamt: fund, acct_pay: acct }
}

#[test]
fn setlym_is_a_month() {
    assert_eq!(parse_setlym("202602").unwrap(), d("2026-02-01"));
    assert_eq!(parse_setlym(" 202412 ").unwrap(), d("2024-12-01"));
    for bad in ["202613", "2026-02", "20262", "2026021", "", "abcdef", "202600"] {
        assert_eq!(reason(parse_setlym(bad)), "invalid_setlym", "{bad:?}");
    }
    assert_eq!(month_end(d("2024-02-01")), d("2024-02-29"));
    assert_eq!(february().setlym(), "202602");
}

#[test]
fn an_application_is_for_a_whole_month_that_is_over() {
    let a = february();
    assert!(a.check(d("2026-03-01")).is_ok());
    assert_eq!(reason(a.check(d("2026-02-28"))), "month_not_over", "its last day is not over");
    let half = Application { enddate: d("2026-02-14"), ..february() };
    assert_eq!(reason(half.check(d("2026-03-02"))), "range_not_month");
    let other = Application { begndate: d("2026-01-01"), ..february() };
    assert_eq!(reason(other.check(d("2026-03-02"))), "range_not_month");
    let negative = Application { acct_pay: -1, ..february() };
    assert_eq!(reason(negative.check(d("2026-03-02"))), "invalid_amount");
    let too_much = Application { psntime: MAX_DECLARED + 1, ..february() };
    assert_eq!(reason(too_much.check(d("2026-03-02"))), "invalid_amount");
    let accepted_above_total = Application { med_sumfee: 246_001, ..february() };
    match accepted_above_total.check(d("2026-03-02")) {
        Err(Error::Problem(p)) => {
            assert_eq!((&*p.reason, p.field.as_deref()), ("invalid_amount", Some("med_sumfee")));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn declared_totals_are_compared_figure_by_figure_with_both_values() {
    let a = february();
    assert_eq!(a.compare(&held(12, 246_000, 150_000, 36_000)), None);
    // One visit fewer at the center, and its 10.00 of cash: two figures differ, named.
    let message = a.compare(&held(11, 245_000, 150_000, 36_000)).unwrap();
    assert_eq!(
        message,
        "the totals declared for 202602 clr_type 11 are not clearing's: psntime declared 12, \
         center 11; medfee_sumamt declared 2460.00, center 2450.00; cash_payamt declared \
         600.00, center 590.00"
    );
    // Money moved between the fund and the account: the total agrees, the parts do not.
    let message = a.compare(&held(12, 246_000, 150_100, 35_900)).unwrap();
    assert!(message.contains("fund_appy_sum declared 1500.00, center 1501.00"), "{message}");
    assert!(message.contains("acct_pay declared 360.00, center 359.00"), "{message}");
    assert!(!message.contains("cash_payamt"), "{message}");
    // Nothing held: every non-zero figure differs.
    let message = a.compare(&ReconTotals::default()).unwrap();
    assert_eq!(message.matches("center 0").count(), 5, "{message}");
}

#[test]
fn an_application_belongs_to_the_period_holding_its_month() {
    let a = february();
    assert_eq!(a.period(PeriodScheme::Monthly).unwrap().id, "2026-02");
    assert_eq!(reason(a.period(PeriodScheme::Days(7))), "month_spans_periods");
    let year = a.period(PeriodScheme::Days(366)).unwrap();
    assert!(year.begin <= a.begndate && a.enddate <= year.end, "{year:?}");
}

#[test]
fn applications_are_made_and_revoked_until_the_period_is_netted() {
    for status in [PeriodStatus::Open, PeriodStatus::Closed] {
        assert!(check_application_window("2026-02", status).is_ok(), "{status:?}");
    }
    for status in [PeriodStatus::Netted, PeriodStatus::Confirmed, PeriodStatus::Settled] {
        let e = check_application_window("2026-02", status).unwrap_err();
        assert_eq!(e.reason(), "period_netted", "{status:?}");
        assert!(e.to_string().contains(status.as_str()), "{e}");
    }
}
