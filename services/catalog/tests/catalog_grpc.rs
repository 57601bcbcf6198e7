//! The catalogue service driven over gRPC as a HIS or an operator would, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::{collections::HashMap, sync::Arc};

use medclear_catalog::{Catalog, Settings};
use medclear_common::{
    clock::FixedClock,
    config::DbConfig,
    error::status_reason,
    server::{self, ServiceToken},
    telemetry::Traced,
};
use medclear_proto::catalog::v1::{self as pb, catalog_service_client::CatalogServiceClient};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

struct Harness {
    client: CatalogServiceClient<Traced>,
    /// The service's database, for looking at its tables.
    pool: PgPool,
    schema: String,
    token: CancellationToken,
    service: JoinHandle<medclear_common::Result<()>>,
    clock: FixedClock,
}

impl Harness {
    async fn start() -> Self {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let schema = format!("catalog_test_{}", uuid_like());
        let db = DbConfig::new(url, schema.clone());
        let pool = medclear_catalog::connect(&db).await.unwrap();
        let clock = FixedClock::at_date("2024-06-01".parse().unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let token = CancellationToken::new();
        // The service and the test's client share the process's token.
        let service_token =
            ServiceToken::new("catalog-test-service-token-0123456789abcdef").unwrap();
        server::use_service_token(service_token.clone()).unwrap();
        let settings = Settings {
            service_token: Some(service_token),
            ..Settings::new(db, Arc::new(clock.clone()))
        };
        let service = tokio::spawn(medclear_catalog::launch(
            settings,
            listener,
            token.clone().cancelled_owned(),
        ));
        let client = CatalogServiceClient::new(
            server::connect("catalog", &format!("http://{addr}")).await.unwrap(),
        );
        Self { client, pool, schema, token, service, clock }
    }

    async fn import(
        &self,
        target: pb::ImportTarget,
        rows: Vec<Vec<(&str, &str)>>,
        all_or_nothing: bool,
    ) -> pb::ImportReport {
        let mut messages = vec![pb::ImportRequest {
            part: Some(pb::import_request::Part::Header(pb::ImportHeader {
                target: target.into(),
                source: "test.csv".into(),
                all_or_nothing,
                operator: "nhsa-op".into(),
            })),
        }];
        for (i, row) in rows.into_iter().enumerate() {
            let fields: HashMap<String, String> =
                row.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
            messages.push(pb::ImportRequest {
                part: Some(pb::import_request::Part::Row(pb::ImportRow {
                    row_no: u64::try_from(i).unwrap() + 2,
                    fields,
                })),
            });
        }
        self.client.clone().import(tokio_stream::iter(messages)).await.unwrap().into_inner()
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Stops the service — it drains, stops following and closes its pool — then drops the
    /// schema.
    async fn finish(self) {
        self.token.cancel();
        self.service.await.unwrap().unwrap();
        sqlx::query(&format!("DROP SCHEMA \"{}\" CASCADE", self.schema))
            .execute(&self.pool)
            .await
            .unwrap();
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{nanos:x}{:x}", std::process::id())
}

const DRUG: &str = "XL02BBA326A001010102180";
const CT: &str = "003401000230600";
const STENT: &str = "C0101010011303807555";
const HOSPITAL: &str = "H44030000001";

fn items() -> Vec<Vec<(&'static str, &'static str)>> {
    vec![
        vec![
            ("code", DRUG),
            ("kind", "western_drug"),
            ("name", "阿莫西林胶囊"),
            ("spec", "0.25g*24"),
            ("unit", "盒"),
            ("begin_date", "2024-01-01"),
        ],
        vec![
            ("code", CT),
            ("kind", "service"),
            ("name", "CT平扫"),
            ("unit", "次"),
            ("begin_date", "2024-01-01"),
        ],
        vec![
            ("code", STENT),
            ("kind", "consumable"),
            ("name", "冠脉支架"),
            ("begin_date", "2024-01-01"),
            ("end_date", "2024-12-31"),
        ],
        vec![
            ("code", "E11.900"),
            ("kind", "diagnosis"),
            ("name", "2型糖尿病"),
            ("begin_date", "2024-01-01"),
        ],
        // Bad rows: wrong format, unknown kind, bad date, duplicate.
        vec![
            ("code", "XL02"),
            ("kind", "western_drug"),
            ("name", "bad"),
            ("begin_date", "2024-01-01"),
        ],
        vec![
            ("code", "003401000230601"),
            ("kind", "lab"),
            ("name", "bad"),
            ("begin_date", "2024-01-01"),
        ],
        vec![
            ("code", "003401000230602"),
            ("kind", "service"),
            ("name", "bad"),
            ("begin_date", "01/01/2024"),
        ],
        vec![("code", CT), ("kind", "service"), ("name", "again"), ("begin_date", "2024-01-01")],
    ]
}

fn coverage() -> Vec<Vec<(&'static str, &'static str)>> {
    vec![
        vec![
            ("scope", "000000"),
            ("code", DRUG),
            ("class", "B"),
            ("selfpay_ratio", "0.10"),
            ("selfpay_ratio_by_insutype", "390:0.20"),
            ("begin_date", "2024-01-01"),
        ],
        vec![
            ("scope", "000000"),
            ("code", CT),
            ("class", "A"),
            ("price_cap", "120.00"),
            ("begin_date", "2024-01-01"),
        ],
        vec![
            ("scope", "440000"),
            ("code", CT),
            ("class", "A"),
            ("price_cap", "98.50"),
            ("begin_date", "2024-01-01"),
        ],
        vec![
            ("scope", "000000"),
            ("code", STENT),
            ("class", "B"),
            ("selfpay_ratio", "0.3"),
            ("price_cap", "5000"),
            ("hospital_levels", "tertiary"),
            ("begin_date", "2024-01-01"),
        ],
        // Bad rows.
        vec![
            ("scope", "000000"),
            ("code", "E11.900"),
            ("class", "A"),
            ("begin_date", "2024-01-01"),
        ],
        vec![
            ("scope", "000000"),
            ("code", "X0000000000000000000000"),
            ("class", "A"),
            ("begin_date", "2024-01-01"),
        ],
        vec![
            ("scope", "000000"),
            ("code", CT),
            ("class", "A"),
            ("selfpay_ratio", "0.1"),
            ("begin_date", "2024-01-01"),
        ],
    ]
}

fn reasons(report: &pb::ImportReport) -> Vec<(u64, &str)> {
    report.rejections.iter().map(|r| (r.row_no, r.reason.as_str())).collect()
}

fn mapping(local: &str, national: &str) -> pb::Mapping {
    pb::Mapping {
        local_code: local.into(),
        national_code: national.into(),
        begin_date: "2024-01-01".into(),
        local_name: "本院".into(),
        ..Default::default()
    }
}

fn resolve_request(lines: &[(&str, &str)]) -> pb::ResolveLinesRequest {
    pb::ResolveLinesRequest {
        fixmedins_code: HOSPITAL.into(),
        mdtrtarea_admvs: "440300".into(),
        date: "2024-06-01".into(),
        hospital_level: "secondary".into(),
        insutype: "390".into(),
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, (local, national))| pb::LineInput {
                line_no: i.to_string(),
                local_code: (*local).into(),
                national_code: (*national).into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn outcome(line: &pb::LineResult) -> Result<&pb::ResolvedLine, &str> {
    match line.outcome.as_ref().unwrap() {
        pb::line_result::Outcome::Resolved(r) => Ok(r),
        pb::line_result::Outcome::Error(e) => Err(e.reason.as_str()),
    }
}

#[tokio::test]
async fn import_map_resolve_revoke_and_sync() {
    let h = Harness::start().await;
    let mut client = h.client.clone();

    // Items: good rows land, bad rows come back with their reason; none aborts the others.
    let report = h.import(pb::ImportTarget::Items, items(), false).await;
    assert_eq!((report.rows_received, report.rows_accepted, report.committed), (8, 4, true));
    assert_eq!(
        reasons(&report),
        [(6, "invalid_code"), (7, "unknown_kind"), (8, "invalid_date"), (9, "duplicate_row")]
    );
    let items_ver = report.ver;
    assert_eq!(h.count("items").await, 4);

    // All-or-nothing with a bad row: nothing lands.
    let report = h.import(pb::ImportTarget::Coverage, coverage(), true).await;
    assert_eq!((report.committed, report.rows_accepted, report.ver), (false, 0, 0));
    assert_eq!(
        reasons(&report),
        [(6, "not_chargeable"), (7, "unknown_code"), (8, "ratio_not_allowed")]
    );
    assert_eq!(h.count("coverage").await, 0);
    let report = h.import(pb::ImportTarget::Coverage, coverage(), false).await;
    assert_eq!((report.committed, report.rows_accepted), (true, 4));

    // 3301: map local codes; a retry of the same msgid has one effect.
    let upload = pb::UploadMappingsRequest {
        msgid: "H44030000001202406010900000001".into(),
        fixmedins_code: HOSPITAL.into(),
        mappings: vec![
            mapping("L001", DRUG),
            mapping("L002", CT),
            mapping("L003", STENT),
            mapping("L004", "E11.900"),
            mapping("L005", "X9999999999999999999999"),
        ],
    };
    let first = client.upload_mappings(upload.clone()).await.unwrap().into_inner();
    let accepted: Vec<bool> = first.outcomes.iter().map(|o| o.accepted).collect();
    assert_eq!(accepted, [true, true, true, false, false]);
    assert_eq!(
        (first.outcomes[3].reason.as_str(), first.outcomes[4].reason.as_str()),
        ("not_chargeable", "unknown_code")
    );
    let again = client.upload_mappings(upload.clone()).await.unwrap().into_inner();
    assert_eq!(again, first);
    assert_eq!(h.count("mappings").await, 3);
    let mut changed = upload.clone();
    changed.mappings.truncate(1);
    let refused = client.upload_mappings(changed).await.unwrap_err();
    assert_eq!(status_reason(&refused), "msgid_reused");
    // Mapping a mapped local code to something else needs a revocation first.
    let remap = pb::UploadMappingsRequest {
        msgid: "m-2".into(),
        fixmedins_code: HOSPITAL.into(),
        mappings: vec![mapping("L001", CT)],
    };
    assert_eq!(
        client.upload_mappings(remap).await.unwrap().into_inner().outcomes[0].reason,
        "already_mapped"
    );

    // Resolution: one bad line does not fail the others.
    let request = resolve_request(&[
        ("L001", ""),
        ("L002", ""),
        ("L003", ""),
        ("L999", ""),
        ("", "X0000000000000000000000"),
        ("L001", CT),
        ("", ""),
    ]);
    let resolved = client.resolve_lines(request).await.unwrap().into_inner();
    let lines: Vec<_> = resolved.lines.iter().map(outcome).collect();
    let drug = lines[0].unwrap();
    assert_eq!(
        (drug.class(), drug.selfpay_ratio.as_str(), drug.coverage_scope.as_str()),
        (pb::CoverageClass::B, "0.2", "000000"),
        "乙 ratio of insutype 390"
    );
    let ct = lines[1].unwrap();
    assert_eq!(
        (ct.class(), ct.price_cap_fen, ct.coverage_scope.as_str()),
        (pb::CoverageClass::A, Some(9850), "440000"),
        "Guangdong's cap"
    );
    assert_eq!(lines[2], Err("restricted"), "stents are paid in tertiary hospitals only");
    assert_eq!(lines[3], Err("unmapped"));
    assert_eq!(lines[4], Err("unknown_code"));
    assert_eq!(lines[5], Err("mapping_mismatch"));
    assert_eq!(lines[6], Err("bad_line"));
    let mut late = resolve_request(&[("L003", "")]);
    late.date = "2025-01-01".into();
    late.hospital_level = "tertiary".into();
    let late = client.resolve_lines(late).await.unwrap().into_inner();
    assert_eq!(
        outcome(&late.lines[0]),
        Err("not_in_force"),
        "the stent left the catalogue at the end of 2024"
    );

    // 3302: revoked today, the mapping still resolves yesterday's lines.
    let revoked = client
        .revoke_mapping(pb::RevokeMappingRequest {
            msgid: "r-1".into(),
            fixmedins_code: HOSPITAL.into(),
            local_code: "L001".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .mapping
        .unwrap();
    assert_eq!((revoked.revoked, revoked.end_date.as_str()), (true, "2024-05-31"));
    let today = client.resolve_lines(resolve_request(&[("L001", "")])).await.unwrap().into_inner();
    assert_eq!(outcome(&today.lines[0]), Err("unmapped"));
    let mut yesterday = resolve_request(&[("L001", "")]);
    yesterday.date = "2024-05-31".into();
    let yesterday = client.resolve_lines(yesterday).await.unwrap().into_inner();
    assert!(outcome(&yesterday.lines[0]).is_ok());
    let twice = client
        .revoke_mapping(pb::RevokeMappingRequest {
            msgid: "r-2".into(),
            fixmedins_code: HOSPITAL.into(),
            local_code: "L001".into(),
        })
        .await;
    assert_eq!(status_reason(&twice.unwrap_err()), "mapping_not_found");

    // Incremental download: exactly what changed after the items version.
    let changes = client
        .list_changes(pb::ListChangesRequest {
            since_ver: items_ver,
            limit: 1000,
            fixmedins_code: HOSPITAL.into(),
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(changes.items.is_empty());
    assert_eq!(changes.coverage.len(), 4);
    assert_eq!(
        changes.mappings.len(),
        3,
        "three uploaded; the revoked one once, in its last revision"
    );
    assert!(changes.mappings.iter().any(|m| m.local_code == "L001" && m.revoked));
    assert_eq!((changes.has_more, changes.next_since_ver), (false, changes.current_ver));
    let nothing = client
        .list_changes(pb::ListChangesRequest {
            since_ver: changes.current_ver,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(nothing.items.is_empty() && nothing.coverage.is_empty() && nothing.mappings.is_empty());
    // Page by page, 2 rows at a time, everything since 0 arrives exactly once.
    let (mut items, mut rules, mut maps, mut token, mut pages) =
        (Vec::new(), 0, 0, String::new(), 0);
    loop {
        let request = pb::ListChangesRequest {
            since_ver: 0,
            limit: 2,
            fixmedins_code: HOSPITAL.into(),
            page_token: token.clone(),
        };
        let page = client.list_changes(request).await.unwrap().into_inner();
        pages += 1;
        assert!(page.items.len() + page.coverage.len() + page.mappings.len() <= 2);
        items.extend(page.items.into_iter().map(|i| i.code));
        rules += page.coverage.len();
        maps += page.mappings.len();
        if !page.has_more {
            assert_eq!(
                (page.next_since_ver, page.next_page_token.as_str()),
                (changes.current_ver, "")
            );
            break;
        }
        assert_eq!(page.next_since_ver, 0, "until its last page a sync keeps its since_ver");
        token = page.next_page_token;
    }
    items.sort();
    items.dedup();
    assert_eq!((items.len(), rules, maps), (4, 4, 3));
    assert!(pages >= 6, "11 rows, 2 a page");
    let bad =
        pb::ListChangesRequest { since_ver: 0, page_token: "999-0-x".into(), ..Default::default() };
    assert_eq!(status_reason(&client.list_changes(bad).await.unwrap_err()), "invalid_page_token");

    // Publication is audited.
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(&h.pool).await.unwrap();
    assert_eq!(
        audited, 4,
        "items, coverage, one 3301 upload, one 3302 revocation; nothing for refused or no-op batches"
    );
    h.finish().await;
}

#[tokio::test]
async fn a_later_rule_supersedes_an_earlier_one_from_its_first_day() {
    let h = Harness::start().await;
    h.import(pb::ImportTarget::Items, items(), false).await;
    h.import(pb::ImportTarget::Coverage, coverage(), false).await;
    let newer = vec![vec![
        ("scope", "440000"),
        ("code", CT),
        ("class", "B"),
        ("selfpay_ratio", "0.05"),
        ("price_cap", "90"),
        ("begin_date", "2024-07-01"),
    ]];
    let report = h.import(pb::ImportTarget::Coverage, newer, false).await;
    assert!(report.committed, "{report:?}");
    let mut client = h.client.clone();
    let at = |date: &str| pb::GetCoverageRequest {
        code: CT.into(),
        mdtrtarea_admvs: "440300".into(),
        date: date.into(),
    };
    let june = client.get_coverage(at("2024-06-30")).await.unwrap().into_inner().coverage.unwrap();
    assert_eq!((june.price_cap_fen, june.end_date.as_str()), (Some(9850), "2024-06-30"));
    let july = client.get_coverage(at("2024-07-01")).await.unwrap().into_inner().coverage.unwrap();
    assert_eq!((july.price_cap_fen, july.class()), (Some(9000), pb::CoverageClass::B));
    // Not before an existing rule's start.
    let earlier =
        vec![vec![("scope", "440000"), ("code", CT), ("class", "A"), ("begin_date", "2023-01-01")]];
    let report = h.import(pb::ImportTarget::Coverage, earlier, false).await;
    assert_eq!(reasons(&report), [(2, "overlapping_rule")]);
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_resolution_sees_one_whole_version_while_another_is_published() {
    let h = Harness::start().await;
    h.clock.set("2024-06-01T04:00:00Z".parse().unwrap());
    // 400 service items, all class A nationally, mapped by the hospital.
    let codes: Vec<String> = (0..400).map(|i| format!("00340100{i:07}")).collect();
    let item_rows = codes
        .iter()
        .map(|c| {
            vec![
                ("code", c.as_str()),
                ("kind", "service"),
                ("name", "项目"),
                ("begin_date", "2024-01-01"),
            ]
        })
        .collect();
    h.import(pb::ImportTarget::Items, item_rows, false).await;
    let rows = codes
        .iter()
        .map(|c| {
            vec![
                ("scope", "000000"),
                ("code", c.as_str()),
                ("class", "A"),
                ("begin_date", "2024-01-01"),
            ]
        })
        .collect();
    h.import(pb::ImportTarget::Coverage, rows, false).await;
    let locals: Vec<String> = (0..400).map(|i| format!("L{i:04}")).collect();
    let mut client = h.client.clone();
    let mappings = locals.iter().zip(&codes).map(|(l, c)| mapping(l, c)).collect();
    client
        .upload_mappings(pb::UploadMappingsRequest {
            msgid: "m".into(),
            fixmedins_code: HOSPITAL.into(),
            mappings,
        })
        .await
        .unwrap();

    // Readers resolve all 400 lines over and over while Guangdong publishes class B for all.
    let stop = CancellationToken::new();
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let mut client = h.client.clone();
            let stop = stop.clone();
            let lines: Vec<(String, String)> =
                locals.iter().map(|l| (l.clone(), String::new())).collect();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !stop.is_cancelled() {
                    let pairs: Vec<(&str, &str)> =
                        lines.iter().map(|(l, n)| (l.as_str(), n.as_str())).collect();
                    let answer =
                        client.resolve_lines(resolve_request(&pairs)).await.unwrap().into_inner();
                    let classes: Vec<pb::CoverageClass> =
                        answer.lines.iter().map(|l| outcome(l).unwrap().class()).collect();
                    seen.push((answer.ver, classes));
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let rows = codes
        .iter()
        .map(|c| {
            vec![
                ("scope", "440000"),
                ("code", c.as_str()),
                ("class", "B"),
                ("selfpay_ratio", "0.1"),
                ("begin_date", "2024-01-01"),
            ]
        })
        .collect();
    let published = h.import(pb::ImportTarget::Coverage, rows, false).await.ver;
    // The next resolution after the publication sees it.
    let after = client.resolve_lines(resolve_request(&[("L0000", "")])).await.unwrap().into_inner();
    assert_eq!(
        (after.ver, outcome(&after.lines[0]).unwrap().class()),
        (published, pb::CoverageClass::B)
    );
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    stop.cancel();
    let mut versions = std::collections::BTreeSet::new();
    for reader in readers {
        for (ver, classes) in reader.await.unwrap() {
            let expected =
                if ver >= published { pb::CoverageClass::B } else { pb::CoverageClass::A };
            assert!(
                classes.iter().all(|c| *c == expected),
                "a batch under version {ver} mixed classes"
            );
            versions.insert(ver);
        }
    }
    assert!(versions.contains(&published), "readers saw the new version");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_follows_versions_another_instance_publishes() {
    let h = Harness::start().await;
    // A second instance on the same database, as a replica behind a load balancer would be.
    let replica = Catalog::open(h.pool.clone(), Arc::new(h.clock.clone())).await.unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(replica.clone().follow(std::time::Duration::from_millis(20), stop.clone()));
    let report = h.import(pb::ImportTarget::Items, items(), false).await;
    assert!(report.committed);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while replica.index().ver() < report.ver {
        assert!(std::time::Instant::now() < deadline, "the replica never caught up");
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(replica.item(CT).unwrap().name, "CT平扫");
    stop.cancel();
    h.finish().await;
}

#[tokio::test]
async fn a_county_takes_its_citys_then_its_provinces_then_the_national_rule() {
    let h = Harness::start().await;
    h.import(pb::ImportTarget::Items, items(), false).await;
    h.import(pb::ImportTarget::Coverage, coverage(), false).await;
    let local = vec![
        vec![
            ("scope", "430100"),
            ("code", CT),
            ("class", "A"),
            ("price_cap", "90.00"),
            ("begin_date", "2024-01-01"),
        ],
        vec![
            ("scope", "430000"),
            ("code", CT),
            ("class", "A"),
            ("price_cap", "95.00"),
            ("begin_date", "2024-01-01"),
        ],
        vec![("scope", "430102"), ("code", DRUG), ("class", "A"), ("begin_date", "2024-01-01")],
    ];
    let report = h.import(pb::ImportTarget::Coverage, local, false).await;
    assert_eq!((report.committed, report.rows_accepted), (true, 3), "{report:?}");
    let mut client = h.client.clone();
    let mut rule = async |code: &str, region: &str| {
        let request = pb::GetCoverageRequest {
            code: code.into(),
            mdtrtarea_admvs: region.into(),
            date: "2024-06-01".into(),
        };
        let rule = client.get_coverage(request).await.unwrap().into_inner().coverage.unwrap();
        (rule.scope.clone(), rule.class(), rule.price_cap_fen)
    };
    let a = pb::CoverageClass::A;
    // Changsha's Furong district: Changsha's cap; a Zhuzhou district: Hunan's; Shenzhen's
    // Nanshan district: Guangdong's; Xiantao (directly under Hubei, which has no rule): the
    // national one.
    assert_eq!(rule(CT, "430102").await, ("430100".into(), a, Some(9000)));
    assert_eq!(rule(CT, "430211").await, ("430000".into(), a, Some(9500)));
    assert_eq!(rule(CT, "440305").await, ("440000".into(), a, Some(9850)));
    assert_eq!(rule(CT, "429004").await, ("000000".into(), a, Some(12000)));
    // A county's own rule comes first, and is its own: the next district has the national one.
    assert_eq!(rule(DRUG, "430102").await, ("430102".into(), a, None));
    assert_eq!(rule(DRUG, "430103").await, ("000000".into(), pb::CoverageClass::B, None));

    // The routing service's question, for fee lines in Furong district.
    let mut request = resolve_request(&[("", CT), ("", DRUG)]);
    request.mdtrtarea_admvs = "430102".into();
    let resolved = client.resolve_lines(request).await.unwrap().into_inner();
    let lines: Vec<_> = resolved.lines.iter().map(|l| outcome(l).unwrap()).collect();
    assert_eq!((lines[0].coverage_scope.as_str(), lines[0].price_cap_fen), ("430100", Some(9000)));
    assert_eq!((lines[1].coverage_scope.as_str(), lines[1].class()), ("430102", a));
    h.finish().await;
}
