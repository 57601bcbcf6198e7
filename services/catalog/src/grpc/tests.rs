//! The resolution edge: one request carries the lines of every day of a visit, and each line
//! is resolved under what was in force on its own day.

use medclear_common::{clock::FixedClock, error::status_reason, rows::Fields};
use sqlx::PgPool;

use super::*;
use crate::service::Publish;

const HOSPITAL: &str = "H44030000001";
const CT: &str = "003401000230600";
const DRUG: &str = "XL02BBA326A001010102180";

fn rows(rows: &[&[(&str, &str)]]) -> Vec<(u64, Fields)> {
    (2..)
        .zip(rows)
        .map(|(n, row)| (n, row.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()))
        .collect()
}

async fn publish(catalog: &Catalog, target: Target, rows: Vec<(u64, Fields)>) {
    let report = catalog
        .publish(Publish {
            target,
            source: "test.csv".into(),
            operator: "test".into(),
            all_or_nothing: true,
            rows,
            idempotency: None,
        })
        .await
        .unwrap();
    assert!(report.committed, "{:?}", report.rejections);
}

/// CT: 乙 at 10 % nationally until 2024-06-14, 甲 from 2024-06-15. The drug: 甲 for patients up
/// to 17. The hospital maps L-CT from 2024-06-01, L-DRUG from 2024-06-12.
async fn catalogue(pool: PgPool) -> CatalogGrpc {
    let clock = FixedClock::at_date("2024-07-01".parse().unwrap());
    let catalog = Catalog::open(pool, Arc::new(clock)).await.unwrap();
    let item = |code, kind| -> Vec<(&str, &str)> {
        vec![("code", code), ("kind", kind), ("name", "x"), ("begin_date", "2024-01-01")]
    };
    publish(&catalog, Target::Items, rows(&[&item(CT, "service"), &item(DRUG, "western_drug")]))
        .await;
    let first = [
        ("scope", "000000"),
        ("code", CT),
        ("class", "B"),
        ("selfpay_ratio", "0.1"),
        ("begin_date", "2024-01-01"),
    ];
    let drug = [("scope", "000000"), ("code", DRUG), ("class", "A"), ("max_age", "17")];
    let drug = [&drug[..], &[("begin_date", "2024-01-01")]].concat();
    publish(&catalog, Target::Coverage, rows(&[&first, &drug])).await;
    let later = [("scope", "000000"), ("code", CT), ("class", "A"), ("begin_date", "2024-06-15")];
    publish(&catalog, Target::Coverage, rows(&[&later])).await;
    let mapping = |local, national, begin| -> Vec<(&str, &str)> {
        vec![
            ("fixmedins_code", HOSPITAL),
            ("local_code", local),
            ("local_name", "本院"),
            ("national_code", national),
            ("begin_date", begin),
        ]
    };
    publish(
        &catalog,
        Target::Mappings,
        rows(&[&mapping("L-CT", CT, "2024-06-01"), &mapping("L-DRUG", DRUG, "2024-06-12")]),
    )
    .await;
    CatalogGrpc(catalog)
}

fn line(no: &str, local: &str, date: &str, age: Option<u32>) -> pb::LineInput {
    pb::LineInput {
        line_no: no.into(),
        local_code: local.into(),
        national_code: String::new(),
        date: date.into(),
        patient_age: age,
    }
}

fn request(date: &str, age: Option<u32>, lines: Vec<pb::LineInput>) -> pb::ResolveLinesRequest {
    pb::ResolveLinesRequest {
        fixmedins_code: HOSPITAL.into(),
        mdtrtarea_admvs: "440300".into(),
        date: date.into(),
        hospital_level: "secondary".into(),
        diagnosis_code: String::new(),
        patient_age: age,
        insutype: "310".into(),
        lines,
    }
}

/// The class and ratio a line resolved to, or its error's reason.
type Outcome = Result<(i32, String), String>;

/// Each line's number and outcome.
fn outcomes(answer: &pb::ResolveLinesResponse) -> Vec<(String, Outcome)> {
    answer
        .lines
        .iter()
        .map(|l| {
            let outcome = match l.outcome.as_ref().unwrap() {
                pb::line_result::Outcome::Resolved(r) => Ok((r.class, r.selfpay_ratio.clone())),
                pb::line_result::Outcome::Error(e) => Err(e.reason.clone()),
            };
            (l.line_no.clone(), outcome)
        })
        .collect()
}

fn class(class: pb::CoverageClass, ratio: &str) -> Outcome {
    Ok((class.into(), ratio.to_owned()))
}

#[sqlx::test(migrations = "../../migrations/catalog")]
async fn one_request_resolves_each_line_on_its_own_day(pool: PgPool) {
    let grpc = catalogue(pool).await;
    // A stay from 2024-06-10 to 2024-06-20, in one request; the patient turns 18 on 06-16.
    let lines = vec![
        line("1", "L-CT", "2024-06-10", Some(17)),
        line("2", "L-DRUG", "2024-06-10", Some(17)),
        line("3", "L-CT", "2024-06-14", Some(17)),
        line("4", "L-CT", "2024-06-15", Some(17)),
        line("5", "L-DRUG", "2024-06-13", Some(17)),
        line("6", "L-DRUG", "2024-06-20", Some(18)),
        // No date or age of its own: the request's (2024-06-10, 17).
        line("7", "L-CT", "", None),
        line("8", "L-DRUG", "2024-06-20", None),
    ];
    let answer =
        grpc.resolve_lines(Request::new(request("2024-06-10", Some(17), lines))).await.unwrap();
    assert_eq!(
        outcomes(answer.get_ref()),
        [
            ("1".into(), class(pb::CoverageClass::B, "0.1")),
            ("2".into(), Err("unmapped".into())),
            ("3".into(), class(pb::CoverageClass::B, "0.1")),
            ("4".into(), class(pb::CoverageClass::A, "0")),
            ("5".into(), class(pb::CoverageClass::A, "0")),
            ("6".into(), Err("restricted".into())),
            ("7".into(), class(pb::CoverageClass::B, "0.1")),
            ("8".into(), class(pb::CoverageClass::A, "0")),
        ]
    );
}

#[sqlx::test(migrations = "../../migrations/catalog")]
async fn a_request_date_is_needed_only_by_lines_without_their_own(pool: PgPool) {
    let grpc = catalogue(pool).await;
    // Every line dated: the request needs no date.
    let dated = vec![line("1", "L-CT", "2024-06-14", None), line("2", "L-CT", "2024-06-15", None)];
    let answer = grpc.resolve_lines(Request::new(request("", None, dated))).await.unwrap();
    assert_eq!(
        outcomes(answer.get_ref()),
        [
            ("1".into(), class(pb::CoverageClass::B, "0.1")),
            ("2".into(), class(pb::CoverageClass::A, "0")),
        ]
    );
    // One line without: the request's date is required.
    let undated = vec![line("1", "L-CT", "2024-06-14", None), line("2", "L-CT", "", None)];
    let refused = grpc.resolve_lines(Request::new(request("", None, undated))).await.unwrap_err();
    assert_eq!(
        (refused.code(), status_reason(&refused).as_str()),
        (tonic::Code::InvalidArgument, "missing_field")
    );
    assert!(refused.message().contains("lines[1]"), "{}", refused.message());
    // A line's date that is not a date is refused, naming the line.
    let bad = vec![line("1", "L-CT", "2024-06-14", None), line("2", "L-CT", "14/06/2024", None)];
    let refused =
        grpc.resolve_lines(Request::new(request("2024-06-14", None, bad))).await.unwrap_err();
    assert_eq!(
        (refused.code(), status_reason(&refused).as_str()),
        (tonic::Code::InvalidArgument, "invalid_date")
    );
    assert!(refused.message().contains("lines[1].date"), "{}", refused.message());
}
