//! Hostile gRPC requests (issue 16): the services' own clients — another service, the CLI, a
//! modern HIS — reach routing, filing and clearing without the gateway's checks. A seeded batch
//! of requests, each valid but for one field broken (NUL and other control characters, bidi
//! overrides, values up to 100 KB, out-of-range numbers), is refused with a precise
//! `InvalidArgument` naming that field and a documented reason (or, for an id no record can
//! have, `NotFound`) — never `Internal` or `Unknown`, never a broken stream — and no table
//! changes. The requests name a real visit and filing, so one that got through would show.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use medclear_common::error::{status_field, status_reason};
use medclear_proto::{
    clearing::v1::{self as cpb, clearing_service_client::ClearingServiceClient},
    filing::v1::{self as fpb, filing_service_client::FilingServiceClient},
    routing::v1::{self as rpb, routing_service_client::RoutingServiceClient},
};
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use support::Harness;
use tonic::{Code, Status};

const TODAY: &str = "2026-03-02";
const HOSPITAL: &str = "H44030000001";
const PERSON: &str = "P420200001";
/// Requests in the batch: bounded, so the test stays fast.
const CASES: usize = 128;

/// Every table a refused request could have written or changed, by service.
const TABLES: [(&str, &str); 16] = [
    ("routing", "persons"),
    ("routing", "institutions"),
    ("routing", "visits"),
    ("routing", "fee_lines"),
    ("routing", "settlements"),
    ("routing", "outbox"),
    ("filing", "filings"),
    ("filing", "chronic_filings"),
    ("filing", "audit_log"),
    ("clearing", "deposits"),
    ("clearing", "disputes"),
    ("clearing", "confirmations"),
    ("clearing", "recon_files"),
    ("clearing", "postings"),
    ("clearing", "audit_log"),
    ("catalog", "mappings"),
];

/// Each table's rows and a digest of their contents: a changed row shows, not only a new one.
async fn state(h: &Harness) -> Vec<String> {
    let mut digests = Vec::new();
    for (service, table) in TABLES {
        let pool = match service {
            "routing" => &h.routing_pool,
            "clearing" => &h.clearing_pool,
            "catalog" => &h.catalog_pool,
            _ => &h.pool,
        };
        let sql = format!(
            "SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY \
             t::text)), '') FROM {table} t"
        );
        let digest: String = sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap();
        digests.push(format!("{service}.{table} {digest}"));
    }
    digests
}

struct Clients {
    routing: RoutingServiceClient<medclear_common::telemetry::Traced>,
    filing: FilingServiceClient<medclear_common::telemetry::Traced>,
    clearing: ClearingServiceClient<medclear_common::telemetry::Traced>,
}

/// A request's fields by name (numbers as text), valid until one is broken.
type Fields = BTreeMap<&'static str, String>;

/// A request to break: its call, its text fields with valid values, and its numeric fields
/// with values out of their range.
struct Base {
    rpc: &'static str,
    text: &'static [(&'static str, &'static str)],
    numbers: &'static [(&'static str, &'static [&'static str])],
}

const QUANTITIES: &[&str] = &[
    "0",
    "-1",
    "1e400",
    "NaN",
    "100000000000000",
    "79228162514264337593543950336",
    "99999999999999999999999999.99",
    "-99999999999999999999999999.99",
];
const PRICES: &[&str] = &["0", "-1", "-9223372036854775808"];
const MED_TYPES: &[&str] = &["0", "12", "-1", "2147483647"];
const CATEGORIES: &[&str] = &["0", "7", "-5", "2147483647"];
const CHANNELS: &[&str] = &["0", "9", "-1"];

/// `{visit}` and `{filing}` stand for the seeded visit's and filing's ids.
fn bases() -> Vec<Base> {
    vec![
        Base {
            rpc: "RegisterVisit",
            text: &[
                ("fixmedins_code", HOSPITAL),
                ("msgid", "H44030000001202603020900000002"),
                ("psn_no", PERSON),
                ("mdtrtarea_admvs", "440300"),
                ("hospital_level", "tertiary"),
                ("begin_date", "2026-03-02 09:00:00"),
                ("diagnosis_code", "I10.x00x002"),
                ("disease_code", ""),
            ],
            numbers: &[("med_type", MED_TYPES)],
        },
        Base {
            rpc: "UploadFeeLines",
            text: &[
                ("fixmedins_code", HOSPITAL),
                ("msgid", "F1"),
                ("mdtrt_id", "{visit}"),
                ("lines.0.feedetl_sn", "1"),
                ("lines.0.local_code", "L001"),
                ("lines.0.national_code", ""),
                ("lines.0.quantity", "2"),
                ("lines.0.fee_date", TODAY),
            ],
            numbers: &[("lines.0.price_fen", PRICES), ("lines.0.quantity", QUANTITIES)],
        },
        Base {
            rpc: "CancelFeeLines",
            text: &[
                ("fixmedins_code", HOSPITAL),
                ("msgid", "C1"),
                ("mdtrt_id", "{visit}"),
                ("feedetl_sn.0", "1"),
            ],
            numbers: &[],
        },
        Base {
            rpc: "CancelVisit",
            text: &[("fixmedins_code", HOSPITAL), ("msgid", "X1"), ("mdtrt_id", "{visit}")],
            numbers: &[],
        },
        Base {
            rpc: "UpdateVisit",
            text: &[
                ("fixmedins_code", HOSPITAL),
                ("msgid", "U1"),
                ("mdtrt_id", "{visit}"),
                ("diagnosis_code", "I10"),
                ("disease_code", ""),
            ],
            numbers: &[("med_type", MED_TYPES)],
        },
        Base {
            rpc: "Settle",
            text: &[("fixmedins_code", HOSPITAL), ("msgid", "S1"), ("mdtrt_id", "{visit}")],
            numbers: &[],
        },
        Base {
            rpc: "ImportInstitutions",
            text: &[
                ("institutions.0.fixmedins_code", "H42020000001"),
                ("institutions.0.fixmedins_name", "黄石市中心医院"),
                ("institutions.0.admdvs", "420200"),
                ("institutions.0.hospital_level", "tertiary"),
            ],
            numbers: &[],
        },
        Base {
            rpc: "CreateFiling",
            text: &[
                ("request_id", "R-2"),
                ("psn_no", PERSON),
                ("psn_name", "张三"),
                ("insuplc_admdvs", "420200"),
                ("mdtrtarea_admvs", "110000"),
                ("begin_date", TODAY),
                ("end_date", ""),
                ("memo", "转诊"),
                ("actor.id", "agent-1"),
            ],
            numbers: &[("category", CATEGORIES), ("actor.channel", CHANNELS)],
        },
        Base {
            rpc: "RevokeFiling",
            text: &[("filing_id", "{filing}"), ("reason", "回参保地就医"), ("actor.id", "agent-1")],
            numbers: &[("actor.channel", CHANNELS)],
        },
        Base {
            rpc: "CheckChronicFiling",
            text: &[("psn_no", PERSON), ("disease_code", "M00100"), ("date", TODAY)],
            numbers: &[],
        },
        Base {
            rpc: "RecordPrepaidDeposit",
            text: &[
                ("request_id", "DEP-1"),
                ("province_admdvs", "420000"),
                ("value_date", TODAY),
                ("bank_reference", "BANK-1"),
                ("actor.id", "ops-1"),
                ("actor.name", "清算员"),
            ],
            numbers: &[("amount_fen", &["0"])],
        },
        Base {
            rpc: "PutFile",
            text: &[
                ("fixmedins_code", HOSPITAL),
                ("filename", "3202.txt"),
                ("kind", "upload"),
                ("msgid", "FILE-1"),
            ],
            numbers: &[],
        },
        Base {
            rpc: "DisputeItems",
            text: &[
                ("request_id", "DSP-1"),
                ("period_id", "2026-03"),
                ("province_admdvs", "420000"),
                ("setl_ids.0", "S42A"),
                ("reason", "金额不符"),
                ("actor.id", "ops-1"),
            ],
            numbers: &[],
        },
    ]
}

fn number<T: std::str::FromStr>(fields: &Fields, name: &str, valid: T) -> T {
    fields.get(name).map_or(valid, |v| v.parse().ok().expect("a number"))
}

fn take(fields: &Fields, name: &str) -> String {
    fields.get(name).cloned().unwrap_or_default()
}

async fn call(c: &mut Clients, rpc: &str, f: &Fields) -> Result<(), Status> {
    let t = |name: &str| take(f, name);
    match rpc {
        "RegisterVisit" => {
            let r = rpb::RegisterVisitRequest {
                fixmedins_code: t("fixmedins_code"),
                msgid: t("msgid"),
                psn_no: t("psn_no"),
                med_type: number(f, "med_type", 11),
                mdtrtarea_admvs: t("mdtrtarea_admvs"),
                hospital_level: t("hospital_level"),
                begin_date: t("begin_date"),
                diagnosis_code: t("diagnosis_code"),
                emergency: false,
                disease_code: t("disease_code"),
            };
            c.routing.register_visit(r).await.map(drop)
        }
        "UploadFeeLines" => {
            let line = rpb::FeeLine {
                chrg_bchno: String::new(),
                feedetl_sn: t("lines.0.feedetl_sn"),
                local_code: t("lines.0.local_code"),
                national_code: t("lines.0.national_code"),
                price_fen: number(f, "lines.0.price_fen", 1230),
                quantity: t("lines.0.quantity"),
                fee_date: t("lines.0.fee_date"),
            };
            let r = rpb::UploadFeeLinesRequest {
                fixmedins_code: t("fixmedins_code"),
                msgid: t("msgid"),
                mdtrt_id: t("mdtrt_id"),
                lines: vec![line],
            };
            c.routing.upload_fee_lines(r).await.map(drop)
        }
        "CancelFeeLines" => {
            let r = rpb::CancelFeeLinesRequest {
                chrg_bchno: String::new(),
                fixmedins_code: t("fixmedins_code"),
                msgid: t("msgid"),
                mdtrt_id: t("mdtrt_id"),
                feedetl_sn: vec![t("feedetl_sn.0")],
            };
            c.routing.cancel_fee_lines(r).await.map(drop)
        }
        "CancelVisit" => {
            let r = rpb::VisitRef {
                fixmedins_code: t("fixmedins_code"),
                msgid: t("msgid"),
                mdtrt_id: t("mdtrt_id"),
                end_date: String::new(),
            };
            c.routing.cancel_visit(r).await.map(drop)
        }
        "UpdateVisit" => {
            let r = rpb::UpdateVisitRequest {
                fixmedins_code: t("fixmedins_code"),
                msgid: t("msgid"),
                mdtrt_id: t("mdtrt_id"),
                med_type: number(f, "med_type", 11),
                diagnosis_code: t("diagnosis_code"),
                disease_code: t("disease_code"),
                begin_date: t("begin_date"),
            };
            c.routing.update_visit(r).await.map(drop)
        }
        "Settle" => {
            let r = rpb::SettleRequest {
                fixmedins_code: t("fixmedins_code"),
                msgid: t("msgid"),
                mdtrt_id: t("mdtrt_id"),
                use_account: false,
                medfee_sumamt_fen: None,
            };
            c.routing.settle(r).await.map(drop)
        }
        "ImportInstitutions" => {
            let institution = rpb::Institution {
                fixmedins_code: t("institutions.0.fixmedins_code"),
                fixmedins_name: t("institutions.0.fixmedins_name"),
                admdvs: t("institutions.0.admdvs"),
                hospital_level: t("institutions.0.hospital_level"),
            };
            let r = rpb::ImportInstitutionsRequest { institutions: vec![institution] };
            c.routing.import_institutions(r).await.map(drop)
        }
        "CreateFiling" => {
            let r = fpb::CreateFilingRequest {
                request_id: t("request_id"),
                psn_no: t("psn_no"),
                psn_name: t("psn_name"),
                insuplc_admdvs: t("insuplc_admdvs"),
                mdtrtarea_admvs: t("mdtrtarea_admvs"),
                category: number(f, "category", fpb::Category::OtherTemporary.into()),
                begin_date: t("begin_date"),
                end_date: t("end_date"),
                actor: Some(filing_actor(f)),
                memo: t("memo"),
            };
            c.filing.create_filing(r).await.map(drop)
        }
        "RevokeFiling" => {
            let r = fpb::RevokeFilingRequest {
                filing_id: t("filing_id"),
                reason: t("reason"),
                actor: Some(filing_actor(f)),
            };
            c.filing.revoke_filing(r).await.map(drop)
        }
        "CheckChronicFiling" => {
            let r = fpb::CheckChronicFilingRequest {
                psn_no: t("psn_no"),
                disease_code: t("disease_code"),
                date: t("date"),
            };
            c.filing.check_chronic_filing(r).await.map(drop)
        }
        "RecordPrepaidDeposit" => {
            let r = cpb::RecordPrepaidDepositRequest {
                request_id: t("request_id"),
                province_admdvs: t("province_admdvs"),
                amount_fen: number(f, "amount_fen", 100_000),
                value_date: t("value_date"),
                bank_reference: t("bank_reference"),
                actor: Some(clearing_actor(f)),
            };
            c.clearing.record_prepaid_deposit(r).await.map(drop)
        }
        "PutFile" => {
            let r = cpb::PutFileRequest {
                fixmedins_code: t("fixmedins_code"),
                filename: t("filename"),
                kind: t("kind"),
                content: b"S42A|1230".to_vec(),
                msgid: t("msgid"),
            };
            c.clearing.put_file(r).await.map(drop)
        }
        "DisputeItems" => {
            let r = cpb::DisputeRequest {
                request_id: t("request_id"),
                period_id: t("period_id"),
                province_admdvs: t("province_admdvs"),
                setl_ids: vec![t("setl_ids.0")],
                reason: t("reason"),
                actor: Some(clearing_actor(f)),
            };
            c.clearing.dispute_items(r).await.map(drop)
        }
        other => panic!("no rpc {other}"),
    }
}

fn filing_actor(f: &Fields) -> fpb::Actor {
    fpb::Actor {
        id: take(f, "actor.id"),
        channel: number(f, "actor.channel", fpb::Channel::Agency.into()),
    }
}

fn clearing_actor(f: &Fields) -> cpb::Operator {
    cpb::Operator { id: take(f, "actor.id"), name: take(f, "actor.name"), admdvs: String::new() }
}

/// One way to break a field.
#[derive(Debug, Clone)]
enum Mutation {
    /// A forbidden character (NUL, C0/C1 controls, DEL, bidi overrides) inserted at a place.
    Control(char, usize),
    /// The field holds `n` of a character: beyond the longest field (4000).
    Oversized(&'static str, usize),
    /// A number out of its range (a numeric field's own list, by index).
    OutOfRange(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let controls = vec![
        '\u{0}', '\u{1}', '\u{7}', '\u{8}', '\u{9}', '\u{a}', '\u{d}', '\u{1b}', '\u{7f}',
        '\u{85}', '\u{9f}', '\u{200e}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}',
    ];
    prop_oneof![
        3 => (prop::sample::select(controls), 0usize..40)
            .prop_map(|(c, at)| Mutation::Control(c, at)),
        2 => (prop::sample::select(vec!["9", "V", "名", "🙂"]), 4001usize..=100_000)
            .prop_map(|(unit, n)| Mutation::Oversized(unit, n)),
        1 => any::<prop::sample::Index>().prop_map(Mutation::OutOfRange),
    ]
}

/// The reasons a broken field is refused with.
const REASONS: [&str; 17] = [
    "control_character",
    "too_long",
    "invalid_code",
    "invalid_msgid",
    "missing_field",
    "invalid_date",
    "invalid_quantity",
    "invalid_price",
    "amount_out_of_range",
    "unknown_med_type",
    "unknown_level",
    "unknown_category",
    "unknown_channel",
    "invalid_amount",
    "invalid_kind",
    "invalid_filename",
    "filing_not_found",
];

/// The field a refusal must name for a broken `key` (`lines.0.quantity` → `quantity`, or its
/// line `lines[0]`; `feedetl_sn.0` → `feedetl_sn[0]`; `institutions.0.admdvs` →
/// `institutions[0].admdvs`).
fn names(key: &str, field: &str) -> bool {
    let indexed = key.split('.').fold(String::new(), |out, part| {
        match (part.parse::<usize>(), out.is_empty()) {
            (Ok(i), _) => format!("{out}[{i}]"),
            (Err(_), true) => part.to_owned(),
            (Err(_), false) => format!("{out}.{part}"),
        }
    });
    let last = key.rsplit('.').next().unwrap_or(key);
    field == indexed || field == last || (key.starts_with("lines.") && field == "lines[0]")
}

/// Whether an answer is a precise refusal of `key`: `InvalidArgument` naming it with a
/// documented reason (`NotFound` for a filing id no filing can have), in a short message.
fn precise(key: &str, status: &Status) -> Result<(), String> {
    let reason = status_reason(status);
    let field = status_field(status).unwrap_or_default();
    let ok = match status.code() {
        Code::InvalidArgument => REASONS.contains(&reason.as_str()) && names(key, &field),
        Code::NotFound => key == "filing_id" && reason == "filing_not_found",
        _ => false,
    };
    if ok && status.message().len() < 400 {
        Ok(())
    } else {
        Err(format!(
            "{:?} {reason} field {field:?}: {}",
            status.code(),
            medclear_common::codes::shown(status.message())
        ))
    }
}

/// Seeds a person, the hospital, an open visit and a revocable filing; answers the visit's and
/// the filing's ids.
async fn seed(h: &Harness, c: &mut Clients) -> (String, String) {
    h.add_person(&support::person(PERSON, "420202196001010016", "420200")).await;
    let institution = rpb::Institution {
        fixmedins_code: HOSPITAL.into(),
        fixmedins_name: "深圳市人民医院".into(),
        admdvs: "440300".into(),
        hospital_level: "tertiary".into(),
    };
    c.routing
        .import_institutions(rpb::ImportInstitutionsRequest { institutions: vec![institution] })
        .await
        .unwrap();
    let visit = c
        .routing
        .register_visit(rpb::RegisterVisitRequest {
            fixmedins_code: HOSPITAL.into(),
            msgid: "H44030000001202603020900000001".into(),
            psn_no: PERSON.into(),
            med_type: rpb::MedType::GeneralOutpatient.into(),
            mdtrtarea_admvs: "440300".into(),
            hospital_level: String::new(),
            begin_date: TODAY.into(),
            diagnosis_code: "I10".into(),
            emergency: false,
            disease_code: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let filing = c
        .filing
        .create_filing(fpb::CreateFilingRequest {
            request_id: "R-1".into(),
            psn_no: PERSON.into(),
            psn_name: "张三".into(),
            insuplc_admdvs: "420200".into(),
            mdtrtarea_admvs: "440300".into(),
            category: fpb::Category::OtherTemporary.into(),
            begin_date: TODAY.into(),
            end_date: String::new(),
            actor: Some(fpb::Actor { id: "agent-1".into(), channel: fpb::Channel::Agency.into() }),
            memo: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    (visit.mdtrt_id, filing.filing_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_requests_with_a_field_broken_are_refused_precisely_and_change_nothing() {
    let h = Harness::start(TODAY).await;
    let mut c = Clients {
        routing: RoutingServiceClient::new(
            medclear_common::server::connect("routing", &h.routing_grpc).await.unwrap(),
        ),
        filing: FilingServiceClient::new(
            medclear_common::server::connect("filing", &h.grpc).await.unwrap(),
        ),
        clearing: ClearingServiceClient::new(
            medclear_common::server::connect("clearing", &h.clearing_grpc).await.unwrap(),
        ),
    };
    let (visit, filing) = seed(&h, &mut c).await;
    let bases = bases();
    let valid = |base: &Base| -> Fields {
        base.text
            .iter()
            .map(|(k, v)| (*k, v.replace("{visit}", &visit).replace("{filing}", &filing)))
            .collect()
    };
    // The unbroken requests are well-formed: each is refused, if at all, for the state of
    // things (a settlement that needs lines, a filing the same person has), never by field.
    for base in &bases {
        if let Err(status) = call(&mut c, base.rpc, &valid(base)).await {
            assert_ne!(status.code(), Code::InvalidArgument, "{}: {status:?}", base.rpc);
            assert!(!matches!(status.code(), Code::Internal | Code::Unknown), "{status:?}");
        }
    }
    let before = state(&h).await;

    // A fixed seed: the same cases every run.
    let strategy = (0..bases.len(), any::<prop::sample::Index>(), mutation());
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let mut failures = Vec::new();
    let mut refused = BTreeMap::<String, usize>::new();
    for n in 0..CASES {
        let (b, pick, m) = strategy.new_tree(&mut runner).unwrap().current();
        let base = &bases[b];
        let mut fields = valid(base);
        let key = match &m {
            Mutation::OutOfRange(value) if !base.numbers.is_empty() => {
                let (key, values) = pick.get(base.numbers);
                fields.insert(key, (*value.get(values)).to_owned());
                *key
            }
            Mutation::OutOfRange(_) => continue,
            Mutation::Control(c, at) => {
                let key = pick.get(base.text).0;
                let valid = &fields[key];
                let at = (*at).min(valid.chars().count());
                let mut text: String = valid.chars().take(at).collect();
                text.push(*c);
                text.extend(valid.chars().skip(at));
                fields.insert(key, text);
                key
            }
            Mutation::Oversized(unit, count) => {
                let key = pick.get(base.text).0;
                fields.insert(key, unit.repeat(*count));
                key
            }
        };
        match call(&mut c, base.rpc, &fields).await {
            Ok(()) => failures.push(format!("#{n} {} {key} {m:?}: accepted", base.rpc)),
            Err(status) => match precise(key, &status) {
                Ok(()) => *refused.entry(status_reason(&status)).or_default() += 1,
                Err(why) => failures.push(format!("#{n} {} {key} {m:?}: {why}", base.rpc)),
            },
        }
    }
    assert!(failures.is_empty(), "{} imprecise answers:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(state(&h).await, before, "a refused request changed a table");
    // The batch did exercise what it is about.
    for reason in ["control_character", "too_long"] {
        assert!(refused.get(reason).copied().unwrap_or(0) > 5, "{reason}: {refused:?}");
    }
}
