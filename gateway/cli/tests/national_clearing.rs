//! Clearing applications over the national interface: a Shenzhen hospital settles admissions
//! in March, reconciles the day (3201), and once March is over applies for its clearing (3203)
//! with the month's totals — accepted only when they are clearing's own, visible in the
//! period's hospital statement and list — revokes it (3204) and applies again; a revocation
//! after the period is netted is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_common::money::fen_to_yuan;
use medclear_proto::clearing::v1::{self as cpb, clearing_service_client::ClearingServiceClient};
use serde_json::{Value, json};
use support::national::{HOSPITAL, call, envelope, msgid, ok, refused, register_hospital, signed};
use support::{Admission, Harness};

const TODAY: &str = "2026-03-02";
const PERIOD: &str = "/api/v1/clearing/periods/2026-03";

/// What the hospital declares for March, inpatient (clr_type 21): visits and amounts in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Month {
    psntime: i64,
    medfee: i64,
    fund: i64,
    acct: i64,
    cash: i64,
}

/// A 3203 envelope with every amount a JSON number with two decimals (`2460.00`) and
/// `psntime` a decimal (`3.0`), as a C# client writes them.
fn application(tag: &str, clr_type: &str, m: Month) -> String {
    let mut e = envelope("3203", tag, Value::Null);
    e["input"] = json!("INPUT");
    let data = format!(
        r#"{{"data": {{"clr_type": "{clr_type}", "clr_way": "1", "setlym": "202603",
        "psntime": {}.0, "medfee_sumamt": {}, "med_sumfee": {}, "fund_appy_sum": {},
        "cash_payamt": {}, "acct_pay": {}, "begndate": "2026-03-01", "enddate": "2026-03-31"}}}}"#,
        m.psntime,
        fen_to_yuan(m.medfee),
        fen_to_yuan(m.medfee - m.cash),
        fen_to_yuan(m.fund),
        fen_to_yuan(m.cash),
        fen_to_yuan(m.acct),
    );
    e.to_string().replace(r#""INPUT""#, &data)
}

fn revocation(tag: &str, id: &str) -> String {
    envelope("3204", tag, json!({"data": {"clr_appy_evt_id": id, "memo": "申报有误"}})).to_string()
}

/// 3203 accepted: the application's id.
async fn applied(h: &Harness, body: String) -> String {
    let (status, answer, text) = call(h, body).await;
    assert_eq!((status, answer["infcode"].as_i64()), (200, Some(0)), "{text}");
    answer["output"]["result"]["clr_appy_evt_id"].as_str().unwrap().to_owned()
}

/// The hospital's statement for March.
async fn statement(h: &Harness) -> Value {
    let path =
        format!("{PERIOD}/statements/hospitals?mdtrtarea_admvs=440000&fixmedins_code={HOSPITAL}");
    let (status, answer) = h.get(&path).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["statements"].as_array().map(Vec::len), Some(1), "{answer}");
    answer["statements"][0].clone()
}

async fn applications(
    h: &Harness,
    period_id: &str,
    fixmedins_code: &str,
) -> Vec<cpb::ClearingApplication> {
    let mut clearing = ClearingServiceClient::connect(h.clearing_grpc.clone()).await.unwrap();
    let request = cpb::ListClearingApplicationsRequest {
        period_id: period_id.into(),
        fixmedins_code: fixmedins_code.into(),
        ..Default::default()
    };
    clearing.list_clearing_applications(signed(request)).await.unwrap().into_inner().applications
}

async fn rows(h: &Harness) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM applications")
        .fetch_one(&h.clearing_pool)
        .await
        .unwrap()
}

fn national() -> Value {
    json!({"id": "ops1", "name": "国家清算", "admdvs": ""})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hospital_applies_for_the_clearing_of_a_month_and_revokes_it() {
    let h = Harness::start(TODAY).await;
    h.seed_drug(&[HOSPITAL]).await;
    register_hospital(&h).await;
    for p in [
        support::person("P420200001", "420202196001010016", "420200"),
        support::person("P110101001", "110101197001010011", "110101"),
    ] {
        h.add_person(&p).await;
    }

    // Three admissions settled at the hospital on March 2nd.
    let mut month = Month::default();
    for (tag, psn_no, home, price_fen) in [
        ("1", "P420200001", "420200", 200_000),
        ("2", "P110101001", "110101", 150_000),
        ("3", "P420200001", "420200", 80_000),
    ] {
        let admission =
            Admission { tag, psn_no, home, hospital: HOSPITAL, treating: "440300", price_fen };
        let s = h.settle_admission(TODAY, &admission).await;
        let fen = |field: &str| s[field].as_i64().unwrap();
        month.psntime += 1;
        month.medfee += fen("medfee_sumamt_fen");
        month.fund += fen("fund_pay_sumamt_fen");
        month.acct += fen("acct_pay_fen");
        month.cash += fen("psn_cash_pay_fen");
    }
    assert_eq!(month.medfee, month.fund + month.acct + month.cash);
    assert!(month.fund > 0, "{month:?}");
    support::eventually(&h, "/api/v1/clearing/ingest", |a| {
        a["partitions"][0]["events_ingested"].as_u64() >= Some(3)
    })
    .await;

    // 3201: the day's totals agree.
    let totals = json!({"data": {"insutype": "310", "clr_type": "21", "setl_optins": "440300",
        "stmt_begndate": TODAY, "stmt_enddate": TODAY,
        "medfee_sumamt": fen_to_yuan(month.medfee), "fund_pay_sumamt": fen_to_yuan(month.fund),
        "acct_pay": fen_to_yuan(month.acct), "fixmedins_setl_cnt": month.psntime}});
    let (answer, _) = ok(&h, "3201", "M3201", totals).await;
    assert_eq!(answer["stmtinfo"]["stmt_rslt"], "0", "{answer}");

    // March is not over: no application yet.
    let (_, reason) = refused(&h, application("M3203-EARLY", "21", month)).await;
    assert_eq!(reason, "month_not_over");
    h.clock.set("2026-04-01T02:00:00Z".parse().unwrap());

    // Totals that are not clearing's: refused, each differing figure named, nothing written.
    let short = Month { psntime: 2, cash: month.cash - 1, medfee: month.medfee - 1, ..month };
    let (status, answer, text) = call(&h, application("M3203-BAD", "21", short)).await;
    assert_eq!((status, answer["infcode"].as_i64()), (200, Some(-1)), "{text}");
    let err = answer["err_msg"].as_str().unwrap();
    assert!(err.starts_with("totals_mismatch:"), "{err}");
    assert!(err.contains(&format!("psntime declared 2, center {}", month.psntime)), "{err}");
    assert!(
        err.contains(&format!(
            "cash_payamt declared {}, center {}",
            fen_to_yuan(month.cash - 1),
            fen_to_yuan(month.cash)
        )),
        "{err}"
    );
    assert!(!err.contains("fund_appy_sum"), "the fund's part agrees: {err}");
    let (_, reason) = refused(&h, application("M3203-OTP", "11", month)).await;
    assert_eq!(reason, "totals_mismatch", "the outpatient category holds nothing");
    assert_eq!(rows(&h).await, 0, "refusals write nothing");

    // The month's own totals: accepted; the same msgid again, the same application, one row.
    let id = applied(&h, application("M3203", "21", month)).await;
    assert_eq!(applied(&h, application("M3203", "21", month)).await, id);
    assert_eq!(rows(&h).await, 1);
    // The same msgid for other totals: refused.
    let (_, reason) = refused(&h, application("M3203", "21", short)).await;
    assert_eq!(reason, "request_id_reused");

    // The period's hospital statement and the list show it, with what was declared.
    let s = statement(&h).await;
    assert_eq!((s["applied"].as_bool(), s["clr_appy_evt_ids"].clone()), (Some(true), json!([id])));
    assert_eq!(s["applied_psntime"].as_i64(), Some(month.psntime));
    assert_eq!(s["applied_medfee_sumamt_fen"].as_i64(), Some(month.medfee));
    assert_eq!(s["applied_fund_appy_sum_fen"].as_i64(), Some(month.fund));
    assert_eq!(s["applied_acct_pay_fen"].as_i64(), Some(month.acct));
    assert_eq!(s["applied_cash_payamt_fen"].as_i64(), Some(month.cash));
    assert_eq!(s["applied_medfee_sumamt_fen"], s["medfee_sumamt_fen"], "{s}");
    let listed = applications(&h, "2026-03", "").await;
    assert_eq!(listed.len(), 1);
    let a = &listed[0];
    assert_eq!(
        (a.clr_appy_evt_id.as_str(), a.fixmedins_code.as_str(), a.period_id.as_str()),
        (id.as_str(), HOSPITAL, "2026-03")
    );
    assert_eq!(
        (a.setlym.as_str(), a.clr_type.as_str(), a.status.as_str()),
        ("202603", "21", "applied")
    );
    assert_eq!((a.medfee_sumamt_fen, a.med_sumfee_fen), (month.medfee, month.medfee - month.cash));
    assert_eq!(applications(&h, "", HOSPITAL).await, listed);

    // A second application for the month and category: refused, naming the first.
    let (status, answer, text) = call(&h, application("M3203-DUP", "21", month)).await;
    assert_eq!((status, answer["infcode"].as_i64()), (200, Some(-1)), "{text}");
    let err = answer["err_msg"].as_str().unwrap();
    assert!(err.starts_with("already_applied:") && err.contains(&id), "{err}");

    // 3204 by another institution: not found (it learns nothing); by an unknown id: the same.
    let mut other = envelope("3204", "M3204-OTHER", json!({"data": {"clr_appy_evt_id": id}}));
    other["fixmedins_code"] = json!("H44030000002");
    other["msgid"] = json!(msgid("H44030000002", "M3204-OTHER"));
    let (_, reason) = refused(&h, other.to_string()).await;
    assert_eq!(reason, "application_not_found");
    let (_, reason) = refused(&h, revocation("M3204-NONE", "CA0000000000")).await;
    assert_eq!(reason, "application_not_found");

    // Revoked; revoking again answers the same; the statement no longer shows it.
    for tag in ["M3204", "M3204-AGAIN"] {
        let (status, answer, text) = call(&h, revocation(tag, &id)).await;
        assert_eq!((status, answer["infcode"].as_i64()), (200, Some(0)), "{text}");
    }
    let s = statement(&h).await;
    assert_eq!((s["applied"].as_bool(), s["clr_appy_evt_ids"].clone()), (Some(false), json!([])));
    assert_eq!(s["applied_medfee_sumamt_fen"].as_i64(), Some(0));
    let listed = applications(&h, "2026-03", HOSPITAL).await;
    assert_eq!((listed[0].status.as_str(), listed[0].memo.as_str()), ("revoked", "申报有误"));

    // Applied for again: a new application.
    let second = applied(&h, application("M3203-AGAIN", "21", month)).await;
    assert_ne!(second, id);
    assert_eq!(rows(&h).await, 2);

    // Once the period is netted, the application stands: revoking it is refused.
    let (status, p) = h.post(&format!("{PERIOD}/close"), &json!({"actor": national()})).await;
    assert_eq!((status, p["status"].as_str()), (200, Some("closed")), "{p}");
    let (status, n) = h.post(&format!("{PERIOD}/net"), &json!({"actor": national()})).await;
    assert_eq!(status, 200, "{n}");
    let (_, reason) = refused(&h, revocation("M3204-LATE", &second)).await;
    assert_eq!(reason, "period_netted");
    let s = statement(&h).await;
    assert_eq!(s["clr_appy_evt_ids"], json!([second]), "{s}");

    h.finish().await;
}
