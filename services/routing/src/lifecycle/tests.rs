//! The visit lifecycle against PostgreSQL, with the filing and catalogue services as fakes on
//! ephemeral ports: what a settlement asks of them, that the fee upload's answer, the
//! pre-settlement and the settlement agree to the fen, and that only settling keeps anything.
//! Requests are built as the gRPC edge builds them, from their protocol messages.

use std::sync::{Arc, Mutex};

use medclear_common::clock::FixedClock;
use medclear_proto::{
    catalog::v1::catalog_service_server::{CatalogService, CatalogServiceServer},
    filing::v1::filing_service_server::{FilingService, FilingServiceServer},
    routing::v1 as pb,
};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status, Streaming, transport::Endpoint};

use super::*;
use crate::{model::ProtocolError, repo::PersonRow};

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
    async fn create_designation(
        &self,
        _: Request<filing::CreateDesignationRequest>,
    ) -> Reply<filing::Designation> {
        unused()
    }
    async fn revoke_designation(
        &self,
        _: Request<filing::RevokeDesignationRequest>,
    ) -> Reply<filing::Designation> {
        unused()
    }
    async fn list_designations(
        &self,
        _: Request<filing::ListDesignationsRequest>,
    ) -> Reply<filing::ListDesignationsResponse> {
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
    let store = Settlements::new(
        pool.clone(),
        Arc::new(clock),
        crate::publication::load(pool).await.unwrap(),
    );
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

fn registration(msgid: &str, med_type: pb::MedType, disease_code: &str) -> Registration {
    Registration::try_from(pb::RegisterVisitRequest {
        fixmedins_code: HOSPITAL.into(),
        msgid: msgid.into(),
        psn_no: "P420200001".into(),
        med_type: med_type.into(),
        mdtrtarea_admvs: "440300".into(),
        hospital_level: "tertiary".into(),
        begin_date: "2026-02-20".into(),
        diagnosis_code: "I10.x00x002".into(),
        emergency: false,
        disease_code: disease_code.into(),
    })
    .unwrap()
}

/// An admission to a tertiary hospital in Shenzhen on 2026-02-20.
async fn admit(life: &Lifecycle) -> String {
    let visit = registration("H440300000012026022008000001", pb::MedType::Inpatient, "");
    life.register_visit(visit).await.unwrap().mdtrt_id
}

fn fee(sn: &str, price_fen: i64, quantity: &str, date: &str) -> pb::FeeLine {
    pb::FeeLine {
        chrg_bchno: String::new(),
        feedetl_sn: sn.into(),
        local_code: format!("L{sn}"),
        national_code: "003401000230600".into(),
        price_fen,
        quantity: quantity.into(),
        fee_date: date.into(),
    }
}

/// An upload of `lines` to `visit`, as the edge converts it.
fn upload(visit: &str, lines: Vec<pb::FeeLine>) -> std::result::Result<Upload, ProtocolError> {
    Upload::try_from(pb::UploadFeeLinesRequest {
        fixmedins_code: HOSPITAL.into(),
        msgid: "F1".into(),
        mdtrt_id: visit.into(),
        lines,
    })
}

/// Uploads `lines` to `visit`: the visit's line count and total.
async fn upload_lines(life: &Lifecycle, visit: &str, lines: Vec<pb::FeeLine>) -> (usize, i64) {
    let uploaded = life.upload_lines(&upload(visit, lines).unwrap()).await.unwrap();
    (uploaded.lines, uploaded.total_fen)
}

async fn discharge(life: &Lifecycle, visit: &str, date: &str) -> Result<VisitRow> {
    let discharge = Discharge::try_from(pb::VisitRef {
        fixmedins_code: HOSPITAL.into(),
        msgid: "D1".into(),
        mdtrt_id: visit.into(),
        end_date: date.into(),
    })
    .unwrap();
    life.discharge(&discharge).await
}

/// A request to pre-settle or settle `visit`, sent as `msgid`.
fn command(msgid: &str, visit: &str, use_account: bool, expected: Option<i64>) -> SettleCommand {
    SettleCommand::try_from(pb::SettleRequest {
        fixmedins_code: HOSPITAL.into(),
        msgid: msgid.into(),
        mdtrt_id: visit.into(),
        use_account,
        medfee_sumamt_fen: expected,
    })
    .unwrap()
}

async fn presettle(life: &Lifecycle, msgid: &str, visit: &str) -> Result<Settled> {
    life.presettle(&command(msgid, visit, false, None)).await
}

async fn settle(life: &Lifecycle, msgid: &str, visit: &str) -> Result<Settled> {
    life.settle(&command(msgid, visit, false, None)).await
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn one_fen_times_two_and_a_half_is_three_fen_on_upload_pre_settlement_and_settlement(
    pool: PgPool,
) {
    let (life, _) = lifecycle(&pool).await;
    let visit = admit(&life).await;
    // 0.01 yuan × 2.5 = 2.5 fen: 3 half away from zero (half to even would say 2).
    let uploaded = upload_lines(&life, &visit, vec![fee("1", 1, "2.5", "2026-02-20")]).await;
    assert_eq!(uploaded, (1, 3), "the fee upload's answer");
    discharge(&life, &visit, "2026-02-22").await.unwrap();
    let pre = presettle(&life, "M-PRE", &visit).await.unwrap().answer;
    assert_eq!(pre.breakdown.medfee_sumamt, 3, "the pre-settlement");
    // The hospital settles with the total the upload answered: it is the settlement's.
    let settled = life.settle(&command("M-SETTLE", &visit, false, Some(uploaded.1))).await.unwrap();
    assert_eq!(settled.answer.breakdown.medfee_sumamt, 3, "the settlement");
    assert_eq!(settled.coverage_basis, "filing");
    let b = &settled.answer.breakdown;
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
    let lines = vec![
        fee("1", 1, "2.5", "2026-02-20"),
        fee("2", 1, "4.5", "2026-02-20"),
        fee("3", 1001, "0.5", "2026-02-21"),
        fee("4", 3, "0.1667", "2026-02-21"),
    ];
    assert_eq!(upload_lines(&life, &visit, lines).await, (4, 510));
    discharge(&life, &visit, "2026-02-22").await.unwrap();
    let pre = presettle(&life, "M-PRE", &visit).await.unwrap().answer;
    let settled = settle(&life, "M-SETTLE", &visit).await.unwrap().answer;
    assert_eq!((pre.breakdown.medfee_sumamt, settled.breakdown.medfee_sumamt), (510, 510));
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn a_stay_of_many_days_asks_the_catalogue_once_per_settlement(pool: PgPool) {
    let (life, catalogue) = lifecycle(&pool).await;
    let visit = admit(&life).await;
    // Three days; the patient turns 66 on the second.
    let lines = vec![
        fee("1", 1000, "1", "2026-02-20"),
        fee("2", 2000, "1", "2026-02-21"),
        fee("3", 3000, "1", "2026-02-21"),
        fee("4", 4000, "1", "2026-02-22"),
    ];
    upload_lines(&life, &visit, lines).await;
    assert_eq!(catalogue.requests().len(), 1, "one call to classify the upload's lines");
    discharge(&life, &visit, "2026-02-22").await.unwrap();
    let pre = presettle(&life, "M-PRE", &visit).await.unwrap().answer;
    assert_eq!(catalogue.requests().len(), 2, "one call for the pre-settlement");
    let settled = settle(&life, "M-SETTLE", &visit).await.unwrap().answer;
    assert_eq!(catalogue.requests().len(), 3, "one call for the settlement");
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
    let lines: Vec<pb::FeeLine> = (0..1001)
        .map(|n| {
            fee(&format!("{n:04}"), 100, "1", if n < 500 { "2026-02-20" } else { "2026-02-21" })
        })
        .collect();
    assert_eq!(upload_lines(&life, &visit, lines).await, (1001, 100100));
    let pre = presettle(&life, "M-PRE", &visit).await.unwrap().answer;
    assert_eq!(pre.breakdown.medfee_sumamt, 100100);
    // The upload's classification, then the pre-settlement: each in batches of 1000.
    let sizes: Vec<usize> = catalogue.requests().iter().map(|r| r.lines.len()).collect();
    assert_eq!(sizes, [1000, 1, 1000, 1]);
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn amounts_beyond_what_fen_can_hold_are_refused_not_overflowed(pool: PgPool) {
    let (life, _) = lifecycle(&pool).await;
    let visit = admit(&life).await;
    // A line alone: refused at the edge, before the visit is looked at.
    let huge = upload(&visit, vec![fee("1", 100, "99999999999999999999999999.99", "2026-02-20")])
        .unwrap_err();
    assert_eq!((huge.reason(), huge.field()), ("invalid_quantity", "lines[0]"), "{huge}");
    let line = upload(&visit, vec![fee("1", i64::MAX / 2, "3", "2026-02-20")]).unwrap_err();
    assert_eq!((line.reason(), line.field()), ("amount_out_of_range", "lines[0]"), "{line}");
    // Each line fits; together they do not.
    let lines = vec![
        fee("1", i64::MAX / 2, "1", "2026-02-20"),
        fee("2", i64::MAX / 2, "1.5", "2026-02-20"),
    ];
    let total = life.upload_lines(&upload(&visit, lines).unwrap()).await.unwrap_err();
    assert_eq!(total.reason(), "amount_out_of_range", "{total}");
    assert_eq!(count(&pool, "fee_lines").await, 0, "a refused upload writes nothing");
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn what_only_the_visit_can_tell_is_refused_by_the_lifecycle(pool: PgPool) {
    let (life, _) = lifecycle(&pool).await;
    let visit = admit(&life).await;
    let early = upload(&visit, vec![fee("1", 100, "1", "2026-02-19")]).unwrap();
    let refused = life.upload_lines(&early).await.unwrap_err();
    assert_eq!(
        (refused.reason(), refused.to_string().contains("lines[0]")),
        ("invalid_date", true)
    );
    upload_lines(&life, &visit, vec![fee("1", 100, "2.5", "2026-02-20")]).await;
    // The same line again, its quantity written otherwise: the same content, kept once.
    assert_eq!(upload_lines(&life, &visit, vec![fee("1", 100, "2.50", "2026-02-20")]).await.0, 1);
    let other = upload(&visit, vec![fee("1", 100, "3", "2026-02-20")]).unwrap();
    assert_eq!(life.upload_lines(&other).await.unwrap_err().reason(), "line_conflict");
    let elsewhere = upload("VNOSUCH", vec![fee("1", 100, "1", "2026-02-20")]).unwrap();
    assert_eq!(life.upload_lines(&elsewhere).await.unwrap_err().reason(), "visit_not_found");

    // An admission stays one; an outpatient visit may become chronic, with its disease.
    let update = |mdtrt_id: &str, med_type: pb::MedType, disease_code: &str| {
        VisitUpdate::try_from(pb::UpdateVisitRequest {
            fixmedins_code: HOSPITAL.into(),
            msgid: "U1".into(),
            mdtrt_id: mdtrt_id.into(),
            med_type: med_type.into(),
            diagnosis_code: String::new(),
            disease_code: disease_code.into(),
            begin_date: String::new(),
        })
        .unwrap()
    };
    let change = life.update_visit(&update(&visit, pb::MedType::GeneralOutpatient, "")).await;
    assert_eq!(change.unwrap_err().reason(), "med_type_change");
    let outpatient =
        life.register_visit(registration("O1", pb::MedType::GeneralOutpatient, "")).await.unwrap();
    let id = outpatient.mdtrt_id.as_str();
    let chronic = life.update_visit(&update(id, pb::MedType::ChronicOutpatient, "")).await;
    assert_eq!(chronic.unwrap_err().reason(), "missing_field");
    let chronic =
        life.update_visit(&update(id, pb::MedType::ChronicOutpatient, "M00100")).await.unwrap();
    assert_eq!(
        (chronic.med_type, chronic.disease_code.as_str()),
        (MedType::ChronicOutpatient, "M00100")
    );
    let kept = life.update_visit(&update(id, pb::MedType::Unspecified, "")).await.unwrap();
    assert_eq!(kept.med_type, MedType::ChronicOutpatient, "unspecified: unchanged");
    let admission = life.update_visit(&update(id, pb::MedType::Inpatient, "")).await;
    assert_eq!(admission.unwrap_err().reason(), "med_type_change");
    assert_eq!(discharge(&life, id, "2026-02-22").await.unwrap_err().reason(), "not_inpatient");
    let before = discharge(&life, &visit, "2026-02-19").await.unwrap_err();
    assert_eq!(before.reason(), "end_before_begin");
}

#[sqlx::test(migrations = "../../migrations/routing")]
async fn pre_settling_keeps_nothing_and_settling_keeps_one_settlement_per_msgid(pool: PgPool) {
    let (life, _) = lifecycle(&pool).await;
    let visit = admit(&life).await;
    assert_eq!(presettle(&life, "M0", &visit).await.unwrap_err().reason(), "no_lines");
    upload_lines(&life, &visit, vec![fee("1", 10000, "3", "2026-02-20")]).await;
    // An admission pre-settles while the patient is in; it settles at discharge.
    let pre = presettle(&life, "M1", &visit).await.unwrap();
    assert_eq!(
        (pre.answer.kind.as_str(), pre.coverage_basis.as_str()),
        ("presettlement", "filing")
    );
    assert_eq!(settle(&life, "M1", &visit).await.unwrap_err().reason(), "not_discharged");
    let mismatch = life.presettle(&command("M1", &visit, false, Some(29999))).await.unwrap_err();
    assert_eq!(mismatch.reason(), "amount_mismatch");
    for table in ["settlements", "outbox", "accumulators"] {
        assert_eq!(count(&pool, table).await, 0, "{table}: pre-settling keeps nothing");
    }
    discharge(&life, &visit, "2026-02-22").await.unwrap();
    let settled = settle(&life, "M1", &visit).await.unwrap();
    assert_eq!(settled.answer.kind, "settlement");
    assert_eq!(settled.answer.breakdown, pre.answer.breakdown, "the same computation");
    let request_body: String =
        sqlx::query_scalar("SELECT request_body FROM settlements").fetch_one(&pool).await.unwrap();
    assert_eq!(request_body, format!("settle {visit} account=false"));

    // The same msgid again: the stored answer; with another body: refused. Another msgid, or
    // a pre-settlement: the visit is settled.
    let again = settle(&life, "M1", &visit).await.unwrap();
    assert_eq!((again.answer, again.coverage_basis.as_str()), (settled.answer.clone(), ""));
    let reused = life.settle(&command("M1", &visit, true, None)).await.unwrap_err();
    assert_eq!(reused.reason(), "msgid_reused");
    assert_eq!(settle(&life, "M2", &visit).await.unwrap_err().reason(), "already_settled");
    assert_eq!(presettle(&life, "M3", &visit).await.unwrap_err().reason(), "already_settled");
    assert_eq!((count(&pool, "settlements").await, count(&pool, "outbox").await), (1, 1));

    // Reversed by its msgid, the visit settles again under a new one.
    let reversal = Reversal::try_from(pb::ReverseRequest {
        fixmedins_code: HOSPITAL.into(),
        msgid: "R1".into(),
        omsgid: "M1".into(),
    })
    .unwrap();
    let undone = life.reverse(&reversal).await.unwrap();
    assert_eq!(undone.orig_setl_id.as_deref(), Some(settled.answer.setl_id.as_str()));
    assert_eq!(life.reverse(&reversal).await.unwrap(), undone, "a retry, the stored answer");
    let unknown = Reversal { omsgid: "M9".into(), ..reversal };
    assert_eq!(life.reverse(&unknown).await.unwrap_err().reason(), "settlement_not_found");
    let anew = settle(&life, "M4", &visit).await.unwrap();
    assert_eq!(anew.answer.breakdown, settled.answer.breakdown);
    assert_eq!(count(&pool, "settlements").await, 3, "settlement, cancellation, settlement");
}
