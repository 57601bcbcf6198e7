//! The visit lifecycle against PostgreSQL, with the filing and catalogue services as fakes on
//! ephemeral ports: what a settlement asks of them, and that the fee upload's answer, the
//! pre-settlement and the settlement agree to the fen.

use std::sync::{Arc, Mutex};

use medclear_common::clock::FixedClock;
use medclear_proto::{
    catalog::v1::catalog_service_server::{CatalogService, CatalogServiceServer},
    filing::v1::filing_service_server::{FilingService, FilingServiceServer},
};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status, Streaming, transport::Endpoint};

use super::*;
use crate::{policies::PolicyBook, repo::PersonRow};

const HOSPITAL: &str = "H44030000001";

#[test]
fn age_from_the_citizen_id() {
    let on = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    assert_eq!(age_on("11010519491231002X", on), Some(76));
    assert_eq!(age_on("110105195003020011", on), Some(76), "birthday today");
    assert_eq!(age_on("110105195003030011", on), Some(75), "birthday tomorrow");
    assert_eq!(age_on("bad", on), None);
}

type Reply<T> = Result<Response<T>, Status>;

fn unused<T>() -> Reply<T> {
    Err(Status::unimplemented("not used by settling"))
}

/// The filing service: everyone is covered by a long-term filing.
#[derive(Debug, Clone)]
struct Filing;

#[tonic::async_trait]
impl FilingService for Filing {
    async fn create_filing(
        &self,
        _: Request<filing::CreateFilingRequest>,
    ) -> Reply<filing::Filing> {
        unused()
    }
    async fn get_filing(&self, _: Request<filing::GetFilingRequest>) -> Reply<filing::Filing> {
        unused()
    }
    async fn list_filings(
        &self,
        _: Request<filing::ListFilingsRequest>,
    ) -> Reply<filing::ListFilingsResponse> {
        unused()
    }
    async fn revoke_filing(
        &self,
        _: Request<filing::RevokeFilingRequest>,
    ) -> Reply<filing::Filing> {
        unused()
    }
    async fn check_coverage(
        &self,
        _: Request<filing::CheckCoverageRequest>,
    ) -> Reply<filing::CheckCoverageResponse> {
        Ok(Response::new(filing::CheckCoverageResponse {
            covered: true,
            basis: filing::CoverageBasis::Filing.into(),
            category: filing::Category::RetireeResettled.into(),
            filing_id: "F1".into(),
            ..Default::default()
        }))
    }
    async fn create_chronic_filing(
        &self,
        _: Request<filing::CreateChronicFilingRequest>,
    ) -> Reply<filing::ChronicFiling> {
        unused()
    }
    async fn get_chronic_filing(
        &self,
        _: Request<filing::GetFilingRequest>,
    ) -> Reply<filing::ChronicFiling> {
        unused()
    }
    async fn list_chronic_filings(
        &self,
        _: Request<filing::ListChronicFilingsRequest>,
    ) -> Reply<filing::ListChronicFilingsResponse> {
        unused()
    }
    async fn revoke_chronic_filing(
        &self,
        _: Request<filing::RevokeChronicFilingRequest>,
    ) -> Reply<filing::ChronicFiling> {
        unused()
    }
    async fn check_chronic_filing(
        &self,
        _: Request<filing::CheckChronicFilingRequest>,
    ) -> Reply<filing::CheckChronicFilingResponse> {
        unused()
    }
    async fn list_chronic_diseases(
        &self,
        _: Request<filing::ListChronicDiseasesRequest>,
    ) -> Reply<filing::ListChronicDiseasesResponse> {
        unused()
    }
    async fn list_regions(
        &self,
        _: Request<filing::ListRegionsRequest>,
    ) -> Reply<filing::ListRegionsResponse> {
        unused()
    }
    async fn get_region_rules(
        &self,
        _: Request<filing::GetRegionRulesRequest>,
    ) -> Reply<filing::RegionRules> {
        unused()
    }
    async fn set_region_rules(
        &self,
        _: Request<filing::SetRegionRulesRequest>,
    ) -> Reply<filing::RegionRules> {
        unused()
    }
}

/// The catalogue: every line is 甲; every ResolveLines request is kept.
#[derive(Debug, Clone, Default)]
struct Catalogue {
    requests: Arc<Mutex<Vec<catalog::ResolveLinesRequest>>>,
}

impl Catalogue {
    fn requests(&self) -> Vec<catalog::ResolveLinesRequest> {
        self.requests.lock().unwrap().clone()
    }
}

#[tonic::async_trait]
impl CatalogService for Catalogue {
    async fn get_item(&self, _: Request<catalog::GetItemRequest>) -> Reply<catalog::Item> {
        unused()
    }
    async fn get_coverage(
        &self,
        _: Request<catalog::GetCoverageRequest>,
    ) -> Reply<catalog::GetCoverageResponse> {
        unused()
    }
    async fn upload_mappings(
        &self,
        _: Request<catalog::UploadMappingsRequest>,
    ) -> Reply<catalog::UploadMappingsResponse> {
        unused()
    }
    async fn revoke_mapping(
        &self,
        _: Request<catalog::RevokeMappingRequest>,
    ) -> Reply<catalog::RevokeMappingResponse> {
        unused()
    }
    async fn list_mappings(
        &self,
        _: Request<catalog::ListMappingsRequest>,
    ) -> Reply<catalog::ListMappingsResponse> {
        unused()
    }
    async fn list_changes(
        &self,
        _: Request<catalog::ListChangesRequest>,
    ) -> Reply<catalog::ListChangesResponse> {
        unused()
    }
    async fn import(
        &self,
        _: Request<Streaming<catalog::ImportRequest>>,
    ) -> Reply<catalog::ImportReport> {
        unused()
    }
    async fn resolve_lines(
        &self,
        request: Request<catalog::ResolveLinesRequest>,
    ) -> Reply<catalog::ResolveLinesResponse> {
        let request = request.into_inner();
        self.requests.lock().unwrap().push(request.clone());
        let lines = request
            .lines
            .into_iter()
            .map(|l| catalog::LineResult {
                line_no: l.line_no,
                outcome: Some(catalog::line_result::Outcome::Resolved(catalog::ResolvedLine {
                    national_code: l.national_code,
                    class: catalog::CoverageClass::A.into(),
                    selfpay_ratio: "0".into(),
                    coverage_scope: "000000".into(),
                    ..Default::default()
                })),
            })
            .collect();
        Ok(Response::new(catalog::ResolveLinesResponse { ver: 1, lines }))
    }
}

/// Serves `routes` on an ephemeral port for the rest of the test; a channel to it.
async fn serve(routes: tonic::service::Routes) -> Channel {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_routes(routes)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
}

/// A lifecycle on `pool` with the fakes, and the catalogue fake to look at. The patient, born
/// 1960-02-21, is insured in Huangshi.
async fn lifecycle(pool: &PgPool) -> (Lifecycle, Catalogue) {
    let clock = FixedClock::new("2026-03-02T04:00:00Z".parse().unwrap());
    let store = Settlements::new(pool.clone(), Arc::new(clock), PolicyBook::seeded().unwrap());
    store
        .upsert_person(&PersonRow {
            psn_no: "P420200001".into(),
            certno: "420202196002210011".into(),
            psn_name: "张三".into(),
            insutype: "310".into(),
            retired: true,
            insuplc_admdvs: "420200".into(),
            account_balance_fen: 0,
            assistance_category: None,
        })
        .await
        .unwrap();
    let catalogue = Catalogue::default();
    let filing = serve(tonic::service::Routes::new(FilingServiceServer::new(Filing))).await;
    let catalog =
        serve(tonic::service::Routes::new(CatalogServiceServer::new(catalogue.clone()))).await;
    (Lifecycle::new(pool.clone(), store, filing, catalog), catalogue)
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// An admission to a tertiary hospital in Shenzhen on 2026-02-20.
async fn admit(life: &Lifecycle) -> String {
    let visit = NewVisit {
        fixmedins_code: HOSPITAL.into(),
        msgid: "H440300000012026022008000001".into(),
        psn_no: "P420200001".into(),
        med_type: MedType::Inpatient,
        mdtrtarea_admvs: "440300".into(),
        hospital_level: Some(HospitalLevel::Tertiary),
        begin_date: day("2026-02-20"),
        diagnosis_code: "I10.x00x002".into(),
        emergency: false,
        disease_code: String::new(),
    };
    life.register_visit(visit).await.unwrap().mdtrt_id
}

fn fee(sn: &str, price_fen: i64, quantity: &str, date: &str) -> NewFeeLine {
    NewFeeLine {
        feedetl_sn: sn.into(),
        local_code: format!("L{sn}"),
        national_code: "003401000230600".into(),
        price_fen,
        quantity: quantity.parse().unwrap(),
        fee_date: day(date),
    }
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn one_fen_times_two_and_a_half_is_three_fen_on_upload_pre_settlement_and_settlement(
    pool: PgPool,
) {
    let (life, _) = lifecycle(&pool).await;
    let visit = admit(&life).await;
    // 0.01 yuan × 2.5 = 2.5 fen: 3 half away from zero (half to even would say 2).
    let uploaded =
        life.upload_lines(HOSPITAL, &visit, &[fee("1", 1, "2.5", "2026-02-20")]).await.unwrap();
    assert_eq!(uploaded, (1, 3), "the fee upload's answer");
    life.discharge(HOSPITAL, &visit, day("2026-02-22")).await.unwrap();
    let (pre, _) = life.settle(HOSPITAL, "M-PRE", &visit, false, false).await.unwrap();
    assert_eq!(pre.breakdown.medfee_sumamt, 3, "the pre-settlement");
    // The hospital settles with the total the upload answered: it is the settlement's.
    let (settled, basis) = life
        .settle_checked(HOSPITAL, "M-SETTLE", &visit, false, true, Some(uploaded.1))
        .await
        .unwrap();
    assert_eq!(settled.breakdown.medfee_sumamt, 3, "the settlement");
    assert_eq!(basis, "filing");
    let b = &settled.breakdown;
    assert_eq!(b.medfee_sumamt, b.fund_pay_sumamt + b.psn_part_amt);
    let stored: i64 =
        sqlx::query_scalar("SELECT medfee_sumamt FROM settlements").fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 3, "the stored settlement");
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn each_line_rounds_once_and_the_total_is_their_sum(pool: PgPool) {
    let (life, _) = lifecycle(&pool).await;
    let visit = admit(&life).await;
    // 2.5 → 3, 4.5 → 5, 1001 × 0.5 = 500.5 → 501, 3 × 0.1667 = 0.5001 → 1: 510 (rounding the
    // sum instead would give 509).
    let lines = [
        fee("1", 1, "2.5", "2026-02-20"),
        fee("2", 1, "4.5", "2026-02-20"),
        fee("3", 1001, "0.5", "2026-02-21"),
        fee("4", 3, "0.1667", "2026-02-21"),
    ];
    assert_eq!(life.upload_lines(HOSPITAL, &visit, &lines).await.unwrap(), (4, 510));
    life.discharge(HOSPITAL, &visit, day("2026-02-22")).await.unwrap();
    let (pre, _) = life.settle(HOSPITAL, "M-PRE", &visit, false, false).await.unwrap();
    let (settled, _) = life.settle(HOSPITAL, "M-SETTLE", &visit, false, true).await.unwrap();
    assert_eq!((pre.breakdown.medfee_sumamt, settled.breakdown.medfee_sumamt), (510, 510));
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn a_stay_of_many_days_asks_the_catalogue_once_per_settlement(pool: PgPool) {
    let (life, catalogue) = lifecycle(&pool).await;
    let visit = admit(&life).await;
    // Three days; the patient turns 66 on the second.
    let lines = [
        fee("1", 1000, "1", "2026-02-20"),
        fee("2", 2000, "1", "2026-02-21"),
        fee("3", 3000, "1", "2026-02-21"),
        fee("4", 4000, "1", "2026-02-22"),
    ];
    life.upload_lines(HOSPITAL, &visit, &lines).await.unwrap();
    life.discharge(HOSPITAL, &visit, day("2026-02-22")).await.unwrap();
    let (pre, _) = life.settle(HOSPITAL, "M-PRE", &visit, false, false).await.unwrap();
    assert_eq!(catalogue.requests().len(), 1, "one call for the pre-settlement");
    let (settled, _) = life.settle(HOSPITAL, "M-SETTLE", &visit, false, true).await.unwrap();
    assert_eq!(catalogue.requests().len(), 2, "one call for the settlement");
    assert_eq!((pre.breakdown.medfee_sumamt, settled.breakdown.medfee_sumamt), (10000, 10000));
    for request in catalogue.requests() {
        let lines: Vec<_> = request
            .lines
            .iter()
            .map(|l| (l.line_no.as_str(), l.date.as_str(), l.patient_age))
            .collect();
        assert_eq!(
            lines,
            [
                ("1", "2026-02-20", Some(65)),
                ("2", "2026-02-21", Some(66)),
                ("3", "2026-02-21", Some(66)),
                ("4", "2026-02-22", Some(66)),
            ]
        );
        assert_eq!((request.date.as_str(), request.patient_age), ("2026-02-20", Some(65)));
    }
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn a_visit_of_more_lines_than_the_catalogue_takes_at_once_is_sent_in_batches(pool: PgPool) {
    let (life, catalogue) = lifecycle(&pool).await;
    let visit = admit(&life).await;
    let lines: Vec<NewFeeLine> = (0..1001)
        .map(|n| {
            fee(&format!("{n:04}"), 100, "1", if n < 500 { "2026-02-20" } else { "2026-02-21" })
        })
        .collect();
    assert_eq!(life.upload_lines(HOSPITAL, &visit, &lines).await.unwrap(), (1001, 100100));
    let (pre, _) = life.settle(HOSPITAL, "M-PRE", &visit, false, false).await.unwrap();
    assert_eq!(pre.breakdown.medfee_sumamt, 100100);
    let sizes: Vec<usize> = catalogue.requests().iter().map(|r| r.lines.len()).collect();
    assert_eq!(sizes, [1000, 1]);
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn amounts_beyond_what_fen_can_hold_are_refused_not_overflowed(pool: PgPool) {
    let (life, _) = lifecycle(&pool).await;
    let visit = admit(&life).await;
    let huge = life
        .upload_lines(
            HOSPITAL,
            &visit,
            &[fee("1", 100, "99999999999999999999999999.99", "2026-02-20")],
        )
        .await
        .unwrap_err();
    assert_eq!(huge.reason(), "invalid_quantity", "{huge}");
    let line = life
        .upload_lines(HOSPITAL, &visit, &[fee("1", i64::MAX / 2, "3", "2026-02-20")])
        .await
        .unwrap_err();
    assert_eq!(line.reason(), "amount_out_of_range", "{line}");
    // Each line fits; together they do not.
    let lines =
        [fee("1", i64::MAX / 2, "1", "2026-02-20"), fee("2", i64::MAX / 2, "1.5", "2026-02-20")];
    let total = life.upload_lines(HOSPITAL, &visit, &lines).await.unwrap_err();
    assert_eq!(total.reason(), "amount_out_of_range", "{total}");
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM fee_lines").fetch_one(&pool).await.unwrap();
    assert_eq!(rows, 0, "a refused upload writes nothing");
}
