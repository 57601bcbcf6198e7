//! Clearing through its operator API: real settlements from the routing service reach
//! clearing's period, which is closed, netted, confirmed by every province and settled; the
//! statements, the ledger and the audit agree with the netting; deposits are counted once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::{Admission, Harness, obligation};

const TODAY: &str = "2026-03-02";
const PERIOD: &str = "/api/v1/clearing/periods/2026-03";
const SHENZHEN_HOSPITAL: &str = "H44030000001";
const HUANGSHI_HOSPITAL: &str = "H42020000001";

fn national() -> Value {
    json!({"id": "ops1", "name": "国家清算", "admdvs": ""})
}

fn operator_of(province: &str) -> Value {
    json!({"id": format!("op{province}"), "name": "省级经办", "admdvs": province})
}

fn sum(values: &[Value], field: &str) -> i64 {
    values.iter().map(|v| v[field].as_i64().unwrap()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_is_closed_netted_confirmed_and_settled_over_the_json_api() {
    let h = Harness::start(TODAY).await;
    h.seed_drug(&[SHENZHEN_HOSPITAL, HUANGSHI_HOSPITAL]).await;
    for p in [
        support::person("P420200001", "420202196001010016", "420200"),
        support::person("P440300001", "440301197001010013", "440300"),
        support::person("P110101001", "110101197001010011", "110101"),
    ] {
        h.add_person(&p).await;
    }

    // A deposit into Hubei's prepaid fund, by the national operator, in yuan: counted once.
    let deposits = "/api/v1/clearing/prepaid-funds/420000/deposits";
    let deposit = json!({"request_id": "DEP-1", "amount": "1000.50", "value_date": TODAY,
        "bank_reference": "BANK-1", "actor": national()});
    let (status, fund) = h.post(deposits, &deposit).await;
    assert_eq!((status, fund["deposit_fen"].as_i64()), (200, Some(100_050)), "{fund}");
    let (status, again) = h.post(deposits, &deposit).await;
    assert_eq!((status, &again), (200, &fund), "a retry gets the same answer");
    let (status, fund) = h.get("/api/v1/clearing/prepaid-funds/420000").await;
    assert_eq!((status, fund["deposit_fen"].as_i64()), (200, Some(100_050)), "counted once");
    assert!(fund["state"].is_string(), "{fund}");
    let (status, funds) = h.get("/api/v1/clearing/prepaid-funds").await;
    assert_eq!(status, 200);
    assert_eq!(funds["funds"][0]["province_admdvs"], "420000", "{funds}");
    let (status, reused) = h
        .post(
            deposits,
            &json!({"request_id": "DEP-1", "amount_fen": 1, "value_date": TODAY,
                "actor": national()}),
        )
        .await;
    assert_eq!((status, reused["code"].as_str()), (409, Some("request_id_reused")));
    let (status, error) = h.post_raw(deposits, r#"{"amount_fen": "#).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("malformed_json")));
    let (status, error) = h
        .post(deposits, &json!({"request_id": "DEP-2", "value_date": TODAY, "actor": national()}))
        .await;
    assert_eq!((status, error["field"].as_str()), (400, Some("amount_fen")), "{error}");
    let (status, error) = h
        .post(deposits, &json!({"request_id": "DEP-2", "amount": "1.005", "value_date": TODAY}))
        .await;
    assert_eq!((status, error["field"].as_str()), (400, Some("amount")), "{error}");
    // A JSON number with a fraction has lost its exact decimal form: refused, never rounded.
    let (status, error) = h
        .post_raw(
            deposits,
            r#"{"request_id": "DEP-2", "amount": 1000.5, "value_date": "2026-03-02"}"#,
        )
        .await;
    assert_eq!((status, error["field"].as_str()), (400, Some("amount")), "{error}");
    assert!(error["message"].as_str().unwrap().contains("as a string"), "{error}");
    let (status, error) = h
        .post(deposits, &json!({"request_id": "DEP-2", "amount_fen": 5, "value_date": TODAY}))
        .await;
    assert_eq!((status, error["field"].as_str()), (400, Some("actor.id")), "{error}");
    let (status, error) = h
        .post(
            deposits,
            &json!({"request_id": "DEP-3", "amount_fen": 5, "value_date": TODAY,
                "actor": operator_of("440000")}),
        )
        .await;
    assert_eq!((status, error["code"].as_str()), (403, Some("not_your_province")), "{error}");

    // Three emergencies across provinces: Hubei → Guangdong, Guangdong → Hubei, Beijing →
    // Guangdong.
    let settled = [
        h.settle_admission(
            TODAY,
            &Admission {
                tag: "1",
                psn_no: "P420200001",
                home: "420200",
                hospital: SHENZHEN_HOSPITAL,
                treating: "440300",
                price_fen: 200_000,
            },
        )
        .await,
        h.settle_admission(
            TODAY,
            &Admission {
                tag: "2",
                psn_no: "P440300001",
                home: "440300",
                hospital: HUANGSHI_HOSPITAL,
                treating: "420200",
                price_fen: 300_000,
            },
        )
        .await,
        h.settle_admission(
            TODAY,
            &Admission {
                tag: "3",
                psn_no: "P110101001",
                home: "110101",
                hospital: SHENZHEN_HOSPITAL,
                treating: "440300",
                price_fen: 150_000,
            },
        )
        .await,
    ];
    for s in &settled {
        assert!(obligation(s) > 0, "the funds paid something: {s}");
    }
    let gross: i64 = settled.iter().map(obligation).sum();

    // Clearing picks the events up: the period is open with the counts.
    let periods = support::eventually(&h, "/api/v1/clearing/periods?status=open", |a| {
        a["periods"][0]["settlement_count"] == 3
    })
    .await;
    let period = &periods["periods"][0];
    assert_eq!(period["period_id"], "2026-03");
    assert_eq!(
        (period["status"].as_str(), period["reversal_count"].as_u64()),
        (Some("open"), Some(0))
    );
    assert_eq!(period["gross_total_fen"].as_i64(), Some(gross));
    assert_eq!(period["netting_run"], 0);
    let (_, ingest) = h.get("/api/v1/clearing/ingest").await;
    assert_eq!(ingest["partitions"][0]["partition"], "routing", "{ingest}");
    assert_eq!(ingest["partitions"][0]["events_ingested"], 3, "{ingest}");
    let (status, none) = h.get("/api/v1/clearing/periods?status=settled").await;
    assert_eq!((status, none["periods"].as_array().map(Vec::len)), (200, Some(0)));
    let (status, error) = h.get("/api/v1/clearing/periods?status=done").await;
    assert_eq!((status, error["field"].as_str()), (400, Some("status")));
    let (status, error) = h.get("/api/v1/clearing/periods/2025-01").await;
    assert_eq!(status, 404, "{error}");

    // Only the national operator closes.
    let (status, error) =
        h.post(&format!("{PERIOD}/close"), &json!({"actor": operator_of("440000")})).await;
    assert_eq!((status, error["code"].as_str()), (403, Some("national_operator_required")));
    let (_, p) = h.get(PERIOD).await;
    assert_eq!(p["status"], "open", "nothing changed");
    let (status, error) = h.post(&format!("{PERIOD}/close"), &json!({})).await;
    assert_eq!((status, error["field"].as_str()), (400, Some("actor.id")));
    let (status, p) = h.post(&format!("{PERIOD}/close"), &json!({"actor": national()})).await;
    assert_eq!((status, p["status"].as_str()), (200, Some("closed")), "{p}");
    assert!(p["closed_at"].is_string());

    // Confirming before netting: refused.
    let (status, error) = h
        .post(
            &format!("{PERIOD}/confirm"),
            &json!({"province_admdvs": "420000", "netting_run": 1,
                "actor": operator_of("420000")}),
        )
        .await;
    assert_eq!((status, error["code"].as_str()), (409, Some("period_not_netted")), "{error}");
    let (status, error) = h.get(&format!("{PERIOD}/netting")).await;
    assert_eq!((status, error["code"].as_str()), (409, Some("period_not_netted")));

    // Netting: positions sum to zero, gross is the sum of the obligations.
    let (status, netting) = h.post(&format!("{PERIOD}/net"), &json!({"actor": national()})).await;
    assert_eq!(status, 200, "{netting}");
    assert_eq!(netting["netting_run"], 1);
    assert_eq!(netting["gross_total_fen"].as_i64(), Some(gross));
    let positions = netting["positions"].as_array().unwrap().clone();
    assert_eq!(sum(&positions, "net_fen"), 0, "{netting}");
    assert_eq!(sum(&positions, "payable_fen"), gross);
    assert_eq!(sum(&positions, "receivable_fen"), gross);
    let sum_abs: i64 = positions.iter().map(|p| p["net_fen"].as_i64().unwrap().abs()).sum();
    assert_eq!(netting["sum_abs_net_fen"].as_i64(), Some(sum_abs));
    assert!(netting["netting_efficiency"].is_string());
    let provinces: Vec<String> =
        positions.iter().map(|p| p["province_admdvs"].as_str().unwrap().to_owned()).collect();
    assert_eq!(provinces, ["110000", "420000", "440000"]);
    let instructions = netting["instructions"].as_array().unwrap().clone();
    let paid: i64 = instructions
        .iter()
        .filter(|i| i["payee_admdvs"] == "000000")
        .map(|i| i["amount_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(paid * 2, sum_abs, "debtors pay in what creditors are paid");
    let (status, read) = h.get(&format!("{PERIOD}/netting?include_matrix=true")).await;
    assert_eq!(status, 200);
    let matrix = read["matrix"].as_array().unwrap().clone();
    assert_eq!(matrix.len(), 3, "{read}");
    assert_eq!(sum(&matrix, "gross_fen"), gross);
    assert_eq!(read["positions"], netting["positions"]);
    let (_, read) = h.get(&format!("{PERIOD}/netting")).await;
    assert_eq!(read["matrix"].as_array().map(Vec::len), Some(0), "no matrix unless asked");
    let (status, listed) = h.get(&format!("{PERIOD}/instructions?province_admdvs=420000")).await;
    assert_eq!(status, 200);
    assert!(
        listed["instructions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["payer_admdvs"] == "420000" || i["payee_admdvs"] == "420000"),
        "{listed}"
    );

    // A province operator cannot confirm for another province; nothing changes.
    let confirm = |province: &str, actor: Value| json!({"province_admdvs": province, "netting_run": 1, "actor": actor});
    let (status, error) =
        h.post(&format!("{PERIOD}/confirm"), &confirm("440000", operator_of("420000"))).await;
    assert_eq!((status, error["code"].as_str()), (403, Some("not_your_province")), "{error}");
    let (status, error) =
        h.post(&format!("{PERIOD}/confirm"), &confirm("440000", national())).await;
    assert_eq!(status, 403, "the national operator does not speak for a province: {error}");
    let (_, p) = h.get(PERIOD).await;
    assert_eq!(
        (p["status"].as_str(), p["confirmations"].as_array().map(Vec::len)),
        (Some("netted"), Some(0))
    );
    let (status, error) = h
        .post(
            &format!("{PERIOD}/confirm"),
            &json!({"province_admdvs": "440000", "actor": operator_of("440000")}),
        )
        .await;
    assert_eq!((status, error["field"].as_str()), (400, Some("netting_run")));
    let (status, error) = h
        .post(
            &format!("{PERIOD}/confirm"),
            &json!({"province_admdvs": "440000", "netting_run": 2,
            "actor": operator_of("440000")}),
        )
        .await;
    assert_eq!((status, error["code"].as_str()), (409, Some("stale_netting_run")));

    // Every province with a position confirms; the last one makes the period confirmed.
    for (n, province) in provinces.iter().enumerate() {
        let (status, p) =
            h.post(&format!("{PERIOD}/confirm"), &confirm(province, operator_of(province))).await;
        assert_eq!(status, 200, "{p}");
        let expected = if n + 1 == provinces.len() { "confirmed" } else { "netted" };
        assert_eq!(p["status"], expected, "{p}");
    }
    // A withdrawal sends it back to netted; confirming again brings it back.
    let (status, p) = h
        .post(
            &format!("{PERIOD}/withdraw"),
            &json!({"province_admdvs": "110000", "reason": "复核", "actor": operator_of("110000")}),
        )
        .await;
    assert_eq!((status, p["status"].as_str()), (200, Some("netted")), "{p}");
    let (status, p) =
        h.post(&format!("{PERIOD}/confirm"), &confirm("110000", operator_of("110000"))).await;
    assert_eq!((status, p["status"].as_str()), (200, Some("confirmed")), "{p}");
    let states: Vec<&str> = p["confirmations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["confirmed"; 3]);

    // Settling: only the national operator, then settled.
    let (status, _) =
        h.post(&format!("{PERIOD}/settle"), &json!({"actor": operator_of("420000")})).await;
    assert_eq!(status, 403);
    let (status, p) = h.post(&format!("{PERIOD}/settle"), &json!({"actor": national()})).await;
    assert_eq!((status, p["status"].as_str()), (200, Some("settled")), "{p}");
    assert!(p["settled_at"].is_string());
    let (status, error) = h
        .post(
            &format!("{PERIOD}/disputes"),
            &json!({"request_id": "DSP-1", "province_admdvs": "420000",
                "setl_ids": [settled[0]["setl_id"]], "reason": "too late",
                "actor": operator_of("420000")}),
        )
        .await;
    assert_eq!((status, error["code"].as_str()), (409, Some("period_not_disputable")), "{error}");
    let (status, disputes) = h.get(&format!("{PERIOD}/disputes?province_admdvs=420000")).await;
    assert_eq!((status, disputes["disputes"].as_array().map(Vec::len)), (200, Some(0)));
    let (_, executed) = h.get(&format!("{PERIOD}/instructions")).await;
    let current: Vec<&Value> = executed["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["netting_run"] == 1)
        .collect();
    assert!(current.iter().all(|i| i["status"] == "executed"), "{executed}");

    // Each province's statement is its position.
    for position in &positions {
        let province = position["province_admdvs"].as_str().unwrap();
        let (status, s) = h.get(&format!("{PERIOD}/statements/provinces/{province}")).await;
        assert_eq!(status, 200, "{s}");
        for field in ["payable_fen", "receivable_fen", "net_fen"] {
            assert_eq!(s[field], position[field], "{province} {field}: {s}");
        }
        assert_eq!(
            sum(s["as_home"].as_array().unwrap(), "obligation_fen"),
            s["payable_fen"].as_i64().unwrap()
        );
        assert_eq!(
            sum(s["as_treating"].as_array().unwrap(), "obligation_fen"),
            s["receivable_fen"].as_i64().unwrap()
        );
        if province == "420000" {
            let drawn = s["prepaid_drawn_fen"].as_i64().unwrap();
            assert!((0..=100_050).contains(&drawn), "{s}");
        }
    }

    // Guangdong owes its hospital for two settlements; the items add up to the statement.
    let (status, hospitals) =
        h.get(&format!("{PERIOD}/statements/hospitals?mdtrtarea_admvs=440000")).await;
    assert_eq!(status, 200, "{hospitals}");
    let statement = &hospitals["statements"][0];
    assert_eq!(hospitals["statements"].as_array().map(Vec::len), Some(1));
    assert_eq!(statement["fixmedins_code"], SHENZHEN_HOSPITAL);
    assert_eq!(statement["settlement_count"], 2);
    assert_eq!(
        statement["payable_to_hospital_fen"].as_i64(),
        Some(obligation(&settled[0]) + obligation(&settled[2]))
    );
    let (status, items) =
        h.get(&format!("{PERIOD}/items?fixmedins_code={SHENZHEN_HOSPITAL}&page_size=1")).await;
    assert_eq!(status, 200, "{items}");
    assert_eq!(items["items"].as_array().map(Vec::len), Some(1));
    let token = items["next_page_token"].as_str().unwrap().to_owned();
    let (_, rest) = h
        .get(&format!("{PERIOD}/items?fixmedins_code={SHENZHEN_HOSPITAL}&page_token={token}"))
        .await;
    let all: Vec<Value> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["items"].as_array().unwrap())
        .cloned()
        .collect();
    assert_eq!(all.len(), 2, "{rest}");
    assert_eq!(sum(&all, "obligation_fen"), statement["payable_to_hospital_fen"].as_i64().unwrap());
    let (status, error) = h.get(&format!("{PERIOD}/items?page_size=x")).await;
    assert_eq!((status, error["field"].as_str()), (400, Some("page_size")));

    // The hospital reconciles its day: 3201 totals, 3202 details.
    let totals = json!({"fixmedins_code": SHENZHEN_HOSPITAL, "stmt_date": TODAY, "setl_cnt": 2,
        "medfee_sumamt_fen": sum(&all, "medfee_sumamt_fen"),
        "fund_pay_sumamt_fen": sum(&all, "fund_pay_sumamt_fen"),
        "acct_pay_fen": sum(&all, "acct_pay_fen")});
    let (status, r) = h.post("/api/v1/clearing/reconcile/totals", &totals).await;
    assert_eq!((status, r["stmt_rslt"].as_str()), (200, Some("match")), "{r}");
    let mut off = totals.clone();
    off["fund_pay_sumamt_fen"] = json!(sum(&all, "fund_pay_sumamt_fen") + 1);
    let (status, r) = h.post("/api/v1/clearing/reconcile/totals", &off).await;
    assert_eq!((status, r["stmt_rslt"].as_str()), (200, Some("mismatch")), "{r}");
    let mut missing = totals.clone();
    missing.as_object_mut().unwrap().remove("setl_cnt");
    let (status, r) = h.post("/api/v1/clearing/reconcile/totals", &missing).await;
    assert_eq!((status, r["field"].as_str()), (400, Some("setl_cnt")), "{r}");
    let detail = |i: &Value| {
        json!({"setl_id": i["setl_id"], "msgid": i["msgid"], "mdtrt_id": i["mdtrt_id"],
            "psn_no": i["psn_no"], "medfee_sumamt_fen": i["medfee_sumamt_fen"],
            "fund_pay_sumamt_fen": i["fund_pay_sumamt_fen"], "acct_pay_fen": i["acct_pay_fen"],
            "refd_setl_flag": false})
    };
    let (status, r) = h
        .post(
            "/api/v1/clearing/reconcile/details",
            &json!({"fixmedins_code": SHENZHEN_HOSPITAL, "stmt_date": TODAY,
                "details": [detail(&all[0])]}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!((r["stmt_rslt"].as_str(), r["matched_count"].as_u64()), (Some("mismatch"), Some(1)));
    assert_eq!(r["discrepancies"][0]["kind"], "missing_at_hospital", "{r}");
    assert_eq!(r["discrepancies"][0]["setl_id"], all[1]["setl_id"]);

    // The ledger balances, and the audit finds the kept matrix equal to the items.
    let (status, balances) = h.get("/api/v1/clearing/balances").await;
    assert_eq!((status, balances["total_fen"].as_i64()), (200, Some(0)), "{balances}");
    assert!(balances["postings"].as_u64().unwrap() > 0);
    let (status, owned) = h.get("/api/v1/clearing/balances?owner=420000").await;
    assert_eq!(status, 200);
    assert!(
        owned["balances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["account"].as_str().unwrap().starts_with("420000:")),
        "{owned}"
    );
    let (status, audit) = h.get(&format!("{PERIOD}/audit")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (audit["consistent"].as_bool(), audit["items"].as_u64(), audit["cells"].as_u64()),
        (Some(true), Some(3), Some(3)),
        "{audit}"
    );
    assert_eq!(audit["gross_total_fen"].as_i64(), Some(gross));

    // The command line: status, statements as CSV files, a deposit, the audit.
    let endpoint = h.clearing_grpc.as_str();
    cli(&["status", "--period", "2026-03", "--clearing-endpoint", endpoint]).await.unwrap();
    let out = std::env::temp_dir().join(format!("clearing-{}", uuid::Uuid::new_v4().simple()));
    let dir = out.to_str().unwrap();
    cli(&[
        "statement",
        "--period",
        "2026-03",
        "--province",
        "440000",
        "--out",
        dir,
        "--hospital",
        SHENZHEN_HOSPITAL,
        "--clearing-endpoint",
        endpoint,
    ])
    .await
    .unwrap();
    let (_, guangdong) = h.get(&format!("{PERIOD}/statements/provinces/440000")).await;
    let yuan = |fen: &Value| medclear_common::money::fen_to_yuan(fen.as_i64().unwrap());
    let province = read_csv(&out.join("province-440000-2026-03.csv"));
    let total = province.last().unwrap();
    assert_eq!(total[0], "total");
    assert_eq!(
        total[7..],
        [
            yuan(&guangdong["payable_fen"]),
            yuan(&guangdong["receivable_fen"]),
            yuan(&guangdong["net_fen"])
        ]
    );
    assert_eq!(province.len(), 1 + 1 + 2 + 1, "header, as home, as treating, total");
    let hospitals = read_csv(&out.join("hospitals-440000-2026-03.csv"));
    assert_eq!(hospitals.len(), 3);
    assert_eq!(hospitals[2][7], yuan(&statement["payable_to_hospital_fen"]));
    let lines = read_csv(&out.join(format!("hospital-{SHENZHEN_HOSPITAL}-2026-03.csv")));
    assert_eq!(lines.len(), 1 + 2 + 1);
    assert_eq!(lines[3][15], yuan(&statement["payable_to_hospital_fen"]));
    let refused =
        cli(&["statement", "--period", "2026-03", "--out", dir, "--clearing-endpoint", endpoint])
            .await;
    assert!(refused.unwrap_err().to_string().contains("--province"));
    std::fs::remove_dir_all(&out).unwrap();
    let (_, before) = h.get("/api/v1/clearing/prepaid-funds/440000").await;
    let deposit = [
        "deposit",
        "--fund",
        "440000",
        "--amount",
        "12.34",
        "--value-date",
        TODAY,
        "--bank-reference",
        "BANK-9",
        "--operator",
        "ops1",
        "--clearing-endpoint",
        endpoint,
    ];
    cli(&deposit).await.unwrap();
    cli(&deposit).await.unwrap();
    let (_, after) = h.get("/api/v1/clearing/prepaid-funds/440000").await;
    assert_eq!(
        after["deposit_fen"].as_i64().unwrap() - before["deposit_fen"].as_i64().unwrap(),
        1234,
        "a retried command is counted once"
    );
    let error = cli(&[
        "close",
        "--period",
        "2026-03",
        "--province",
        "420000",
        "--operator",
        "op",
        "--clearing-endpoint",
        endpoint,
    ])
    .await
    .unwrap_err();
    assert!(error.to_string().starts_with("national_operator_required"), "{error}");
    cli(&["audit", "--period", "2026-03", "--clearing-endpoint", endpoint]).await.unwrap();

    h.finish().await;
}

/// `medclear clearing <args>`.
async fn cli(args: &[&str]) -> medclear_common::Result<()> {
    #[derive(Debug, clap::Parser)]
    struct Command {
        #[command(flatten)]
        args: medclear_cli::clearing_cli::ClearingArgs,
    }
    let parsed = <Command as clap::Parser>::try_parse_from(
        std::iter::once("clearing").chain(args.iter().copied()),
    )
    .unwrap();
    medclear_cli::clearing_cli::run(parsed.args).await
}

fn read_csv(path: &std::path::Path) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}
