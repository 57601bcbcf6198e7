//! The gRPC surface of the routing service: thin. Each request is converted once into its
//! validated [`crate::model`] type (`TryFrom`, refusals answered `InvalidArgument` with the
//! field and reason), handed to the [`Lifecycle`], and its answer converted back, in the
//! national field names with amounts in fen.

use std::{pin::Pin, time::Duration};

use medclear_proto::routing::v1::{self as pb, routing_service_server::RoutingService as Api};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::{
    lifecycle::{Lifecycle, ListedLine, PersonLine, Settled, YearTotals},
    model::{
        AccumulatorQuery, Cancellation, Discharge, FeeLineQuery, InstitutionImport, InstitutionRef,
        LineCancellation, PersonImport, PersonLinesQuery, PersonQuery, PersonSettlements,
        Registration, Reversal, SettleCommand, SettlementListUpload, SettlementLookup, Upload,
        VisitKey, VisitQuery, VisitUpdate,
    },
    model::{
        DocumentRequest, PolicyLookup, PolicyQuery, PolicyRef, PreviewOf, PreviewRequest, Publish,
    },
    policy::{Document, Policy, Problems},
    preview::{self, Month, Preview},
    publication::Publications,
    repo::{PersonRow, SettlementRow, StoredList, VisitRow, policies::PolicyRow},
    settlement::SettlementAnswer,
};

/// [`Lifecycle`] and the bureaus' [`Publications`] behind `medclear.routing.v1.RoutingService`.
#[derive(Debug, Clone)]
pub struct RoutingGrpc(pub Lifecycle, pub Publications);

fn version_to_pb(row: PolicyRow, with_document: bool) -> pb::PolicyVersion {
    let time =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    pb::PolicyVersion {
        policy_id: row.policy_id,
        region: row.region,
        insutype: row.insutype,
        kind: row.kind,
        label: row.label,
        title: row.title,
        status: if row.seq.is_some() { "published" } else { "draft" }.into(),
        begin_date: row.begin_date.to_string(),
        end_date: row.end_date.map(|d| d.to_string()).unwrap_or_default(),
        sha256: row.sha256,
        created_by: row.created_by,
        created_at: row.created_at.to_rfc3339(),
        published_by: row.published_by.unwrap_or_default(),
        published_at: time(row.published_at),
        seq: row.seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
        document_json: if with_document { row.document } else { String::new() },
    }
}

/// An uploaded line as the catalogue classified it, in the national names.
fn classified_to_pb(c: crate::lifecycle::Classified) -> pb::LineClassification {
    let (class, ratio, cap, kind, code) = match &c.resolved {
        Some(r) => (
            match r.line.class {
                crate::calc::CoverageClass::A => "01",
                crate::calc::CoverageClass::B => "02",
                crate::calc::CoverageClass::C => "03",
            },
            r.line.selfpay_ratio.to_string(),
            r.line.price_cap_fen,
            r.kind.clone(),
            r.national_code.clone(),
        ),
        None => ("", String::new(), None, String::new(), String::new()),
    };
    pb::LineClassification {
        feedetl_sn: c.feedetl_sn,
        det_item_fee_sumamt_fen: c.parts.total,
        fulamt_ownpay_amt_fen: c.parts.fulamt,
        overlmt_amt_fen: c.parts.overlmt,
        preselfpay_amt_fen: c.parts.preselfpay,
        inscp_scp_amt_fen: if c.resolved.is_some() { c.parts.inscp() } else { 0 },
        pric_uplmt_amt_fen: cap,
        selfpay_prop: ratio,
        chrgitm_lv: class.to_owned(),
        med_chrgitm_type: kind,
        national_code: code,
        refusal: c.refusal.unwrap_or_default(),
    }
}

/// A stored settlement or cancellation as a hospital or its person sees it.
fn person_settlement_to_pb(
    (answer, row): (SettlementAnswer, SettlementRow),
) -> pb::PersonSettlement {
    pb::PersonSettlement {
        settlement: Some(settlement_to_pb(
            answer,
            row.mdtrt_id.as_deref().unwrap_or_default(),
            String::new(),
        )),
        fixmedins_code: row.sender,
        insuplc_admdvs: row.insuplc_admdvs,
        mdtrtarea_admvs: row.mdtrtarea_admvs,
        cancelled_by: row.cancelled_by.unwrap_or_default(),
        msgid: row.msgid,
    }
}

fn problems_to_pb(problems: Problems) -> Vec<pb::PolicyProblem> {
    problems
        .0
        .into_iter()
        .map(|p| pb::PolicyProblem { field: p.field, reason: p.reason.into(), message: p.message })
        .collect()
}

fn preview_to_pb(
    preview: Preview,
    draft: &Policy,
    policy_id: String,
    month: Month,
    elapsed_micros: u64,
) -> pb::PolicyPreview {
    pb::PolicyPreview {
        policy_id,
        region: draft.region.clone(),
        insutype: draft.insutype.clone(),
        period: month.first.format("%Y-%m").to_string(),
        settlements: preview.settlements,
        replayed: preview.replayed,
        persons: preview.persons,
        persons_affected: preview.persons_affected,
        funds: preview
            .funds
            .into_iter()
            .map(|(fund, c)| pb::FundChange {
                fund: fund.into(),
                before_fen: c.before,
                after_fen: c.after,
                change_fen: c.change(),
            })
            .collect(),
        provinces: preview
            .provinces
            .into_iter()
            .map(|(province, c)| pb::ProvinceChange {
                treating_province: province,
                settlements: c.settlements,
                before_fen: c.before,
                after_fen: c.after,
                change_fen: c.change(),
            })
            .collect(),
        largest: preview
            .largest
            .into_iter()
            .map(|(psn_no, c)| pb::PersonChange {
                psn_no,
                settlements: c.settlements,
                before_fen: c.before,
                after_fen: c.after,
                change_fen: c.change(),
            })
            .collect(),
        elapsed_micros,
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn person_to_pb(p: PersonRow) -> pb::PersonInfo {
    pb::PersonInfo {
        psn_type: crate::persons::psn_type(&p.insutype, p.retired).to_owned(),
        psn_no: p.psn_no,
        certno: p.certno,
        psn_name: p.psn_name,
        insutype: p.insutype,
        retired: p.retired,
        insuplc_admdvs: p.insuplc_admdvs,
        account_balance_fen: p.account_balance_fen,
        assistance_category: p.assistance_category.unwrap_or_default(),
    }
}

fn visit_to_pb(v: VisitRow) -> pb::Visit {
    pb::Visit {
        mdtrt_id: v.mdtrt_id,
        fixmedins_code: v.fixmedins_code.into(),
        psn_no: v.psn_no,
        med_type: i32::from(v.med_type.code()),
        mdtrtarea_admvs: v.mdtrtarea_admvs.into(),
        hospital_level: v.hospital_level.as_str().to_owned(),
        begin_date: v.begin_date.to_string(),
        end_date: v.end_date.map(|d| d.to_string()).unwrap_or_default(),
        diagnosis_code: v.diagnosis_code,
        emergency: v.emergency,
        status: v.status,
        disease_code: v.disease_code,
    }
}

/// A fee line as 5204 lists it, with how its settlement split it.
fn listed_line_to_pb(l: ListedLine) -> pb::FeeLineRecord {
    let settled = l.settled.map(|(line, parts)| pb::LineSettled {
        coverage_class: match line.class {
            crate::calc::CoverageClass::A => "A",
            crate::calc::CoverageClass::B => "B",
            crate::calc::CoverageClass::C => "C",
        }
        .to_owned(),
        selfpay_ratio: line.selfpay_ratio.to_string(),
        price_cap_fen: line.price_cap_fen,
        fulamt_ownpay_amt_fen: parts.fulamt,
        overlmt_amt_fen: parts.overlmt,
        preselfpay_amt_fen: parts.preselfpay,
        inscp_scp_amt_fen: parts.inscp(),
    });
    let r = l.row;
    pb::FeeLineRecord {
        line: Some(pb::FeeLine {
            feedetl_sn: r.feedetl_sn,
            local_code: r.local_code,
            national_code: r.national_code,
            price_fen: r.price_fen.into(),
            quantity: r.quantity.normalize().to_string(),
            fee_date: r.fee_date.to_string(),
            chrg_bchno: r.chrg_bchno,
        }),
        cancelled: r.cancelled,
        amount_fen: l.amount_fen,
        settled,
    }
}

/// A settlement list as 4101 answers it.
fn settlement_list_to_pb(stored: StoredList) -> pb::SettlementList {
    let l = stored.row;
    pb::SettlementList {
        setl_list_id: l.setl_list_id,
        setl_id: l.setl_id,
        version: u32::try_from(l.version).unwrap_or(0),
        current: stored.current,
        msgid: l.msgid,
        mdtrt_id: l.mdtrt_id,
        psn_no: l.psn_no,
        uploaded_at: l.uploaded_at.to_rfc3339(),
        fund_payamt_fen: l.fund_payamt_fen,
    }
}

/// A person's fee line as 5205 lists it.
fn person_line_to_pb(l: PersonLine) -> pb::PersonFeeLine {
    let (national_code, item_name) =
        l.item.map(|item| (item.national_code, item.name)).unwrap_or_default();
    pb::PersonFeeLine {
        record: Some(listed_line_to_pb(l.line)),
        mdtrt_id: l.visit.mdtrt_id,
        setl_id: l.visit.setl_id.unwrap_or_default(),
        fixmedins_code: l.visit.fixmedins_code.into(),
        fixmedins_name: l.fixmedins_name,
        med_type: i32::from(l.visit.med_type.code()),
        disease_code: l.visit.disease_code,
        national_code,
        item_name,
        item_kind: l.kind.unwrap_or_default(),
    }
}

/// Amounts per kind of care, in the accumulators' order (inpatient, general outpatient,
/// chronic outpatient, pharmacy: `policy::Care::index`).
fn care_to_pb(
    [inpatient_fen, general_outpatient_fen, chronic_outpatient_fen, pharmacy_fen]: [i64; 4],
) -> pb::CareAmounts {
    pb::CareAmounts { inpatient_fen, general_outpatient_fen, chronic_outpatient_fen, pharmacy_fen }
}

fn year_totals_to_pb(t: YearTotals) -> pb::PersonAccumulators {
    let (a, c) = (t.accumulators, t.counters);
    pb::PersonAccumulators {
        psn_no: t.person.psn_no,
        insutype: t.person.insutype,
        insuplc_admdvs: t.person.insuplc_admdvs,
        year: t.year,
        admissions: a.admissions,
        pooling_paid_fen: a.pooling_paid_fen,
        pooling_fund_pay_type: t.pooling_fund_pay_type.to_owned(),
        benefit_paid: Some(care_to_pb(a.benefit_paid_fen)),
        deductible_paid: Some(care_to_pb(a.deductible_paid_fen)),
        inscp_self_burden_fen: a.inscp_self_burden_fen,
        layer_paid_fen: a.layer_paid_fen,
        assistance_paid_fen: a.assistance_paid_fen,
        assistance_deductible_fen: c.assistance_deductible_fen,
        layers: c
            .layers
            .into_iter()
            .map(|(name, l)| pb::LayerTotal {
                fund_pay_type: t.layer_funds.get(&name).copied().unwrap_or_default().to_owned(),
                name,
                base_fen: l.base_fen,
                paid_fen: l.paid_fen,
            })
            .collect(),
        chronic: c
            .chronic
            .into_iter()
            .map(|(disease_code, d)| pb::ChronicTotal {
                disease_code,
                paid_fen: d.paid_fen,
                visits: d.visits,
            })
            .collect(),
        other_counters: c.other.into_iter().collect(),
    }
}

fn settlement_to_pb(a: SettlementAnswer, mdtrt_id: &str, basis: String) -> pb::Settlement {
    let b = a.breakdown;
    let psn_type = if a.settled.certno.is_empty() { "" } else { a.settled.psn_type() };
    pb::Settlement {
        psn_type: psn_type.to_owned(),
        psn_name: a.settled.psn_name,
        certno: a.settled.certno,
        insutype: a.settled.insutype,
        clr_type: a.settled.med_type.clone(),
        med_type: a.settled.med_type,
        balc_fen: a.settled.balance_after_fen,
        clr_optins: a.settled.mdtrtarea_admvs,
        setl_id: a.setl_id,
        kind: a.kind,
        orig_setl_id: a.orig_setl_id.unwrap_or_default(),
        mdtrt_id: mdtrt_id.to_owned(),
        psn_no: a.psn_no,
        policy_version: a.policy_version,
        setl_time: a.setl_time.to_rfc3339(),
        medfee_sumamt_fen: b.medfee_sumamt,
        fulamt_ownpay_amt_fen: b.fulamt_ownpay_amt,
        overlmt_selfpay_fen: b.overlmt_selfpay,
        preselfpay_amt_fen: b.preselfpay_amt,
        inscp_scp_amt_fen: b.inscp_scp_amt,
        act_pay_dedc_fen: b.act_pay_dedc,
        hifp_pay_fen: b.hifp_pay,
        hifob_pay_fen: b.hifob_pay,
        hifmi_pay_fen: b.hifmi_pay,
        maf_pay_fen: b.maf_pay,
        fund_pay_sumamt_fen: b.fund_pay_sumamt,
        psn_part_amt_fen: b.psn_part_amt,
        acct_pay_fen: b.acct_pay,
        psn_cash_pay_fen: b.psn_cash_pay,
        setldetail: b
            .setldetail
            .into_iter()
            .map(|d| pb::SetlDetail {
                fund_pay_type: d.fund_pay_type,
                crt_payb_lmt_amt_fen: d.crt_payb_lmt_amt,
                fund_payamt_fen: d.fund_payamt,
            })
            .collect(),
        coverage_basis: basis,
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::SettlementEvent, Status>> + Send>>;

/// How often a followed stream looks for new events.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);

/// A pre-settlement's or settlement's answer, for the visit `command` named.
fn settled_to_pb(command: &SettleCommand, settled: Settled) -> pb::Settlement {
    settlement_to_pb(settled.answer, command.mdtrt_id(), settled.coverage_basis)
}

#[tonic::async_trait]
impl Api for RoutingGrpc {
    async fn query_person(
        &self,
        request: Request<pb::QueryPersonRequest>,
    ) -> Reply<pb::PersonInfo> {
        let person = match PersonQuery::try_from(request.into_inner())? {
            PersonQuery::PsnNo(psn_no) => self.0.store().person(&psn_no).await?,
            PersonQuery::Certno(certno) => self.0.store().person_by_certno(&certno).await?,
        };
        Ok(Response::new(person_to_pb(person)))
    }

    async fn import_persons(
        &self,
        request: Request<pb::ImportPersonsRequest>,
    ) -> Reply<pb::ImportPersonsResponse> {
        let import = PersonImport::try_from(request.into_inner())?;
        let (accepted, rejections) = self.0.store().import_persons(&import.rows).await?;
        Ok(Response::new(pb::ImportPersonsResponse {
            accepted,
            rejections: rejections
                .into_iter()
                .map(|r| pb::import_persons_response::Rejection {
                    row_no: r.row_no,
                    reason: r.reason,
                    field: r.field.unwrap_or_default(),
                    message: r.message,
                })
                .collect(),
        }))
    }

    async fn import_institutions(
        &self,
        request: Request<pb::ImportInstitutionsRequest>,
    ) -> Reply<pb::ImportInstitutionsResponse> {
        let import = InstitutionImport::try_from(request.into_inner())?;
        let accepted = self.0.import_institutions(&import.institutions).await?;
        Ok(Response::new(pb::ImportInstitutionsResponse { accepted }))
    }

    async fn get_institution(
        &self,
        request: Request<pb::GetInstitutionRequest>,
    ) -> Reply<pb::Institution> {
        let key = InstitutionRef::try_from(request.into_inner())?;
        let i = self.0.institution(key.fixmedins_code.as_str()).await?;
        Ok(Response::new(pb::Institution {
            fixmedins_code: i.fixmedins_code,
            fixmedins_name: i.fixmedins_name,
            admdvs: i.admdvs,
            hospital_level: i.hospital_level,
        }))
    }

    #[tracing::instrument(skip_all, name = "RegisterVisit")]
    async fn register_visit(&self, request: Request<pb::RegisterVisitRequest>) -> Reply<pb::Visit> {
        let visit = Registration::try_from(request.into_inner())?;
        Ok(Response::new(visit_to_pb(self.0.register_visit(visit).await?)))
    }

    async fn update_visit(&self, request: Request<pb::UpdateVisitRequest>) -> Reply<pb::Visit> {
        let update = VisitUpdate::try_from(request.into_inner())?;
        Ok(Response::new(visit_to_pb(self.0.update_visit(&update).await?)))
    }

    async fn discharge_visit(&self, request: Request<pb::VisitRef>) -> Reply<pb::Visit> {
        let discharge = Discharge::try_from(request.into_inner())?;
        Ok(Response::new(visit_to_pb(self.0.discharge(&discharge).await?)))
    }

    async fn cancel_visit(&self, request: Request<pb::VisitRef>) -> Reply<pb::Visit> {
        let key = VisitKey::try_from(request.into_inner())?;
        Ok(Response::new(visit_to_pb(self.0.cancel_visit(&key).await?)))
    }

    async fn cancel_discharge(&self, request: Request<pb::VisitRef>) -> Reply<pb::Visit> {
        let key = VisitKey::try_from(request.into_inner())?;
        Ok(Response::new(visit_to_pb(self.0.cancel_discharge(&key).await?)))
    }

    async fn list_visits(
        &self,
        request: Request<pb::ListVisitsRequest>,
    ) -> Reply<pb::ListVisitsResponse> {
        let query = VisitQuery::try_from(request.into_inner())?;
        let (person, visits) = self.0.visits(&query).await?;
        Ok(Response::new(pb::ListVisitsResponse {
            person: Some(person_to_pb(person)),
            visits: visits.into_iter().map(visit_to_pb).collect(),
        }))
    }

    async fn list_fee_lines(
        &self,
        request: Request<pb::ListFeeLinesRequest>,
    ) -> Reply<pb::ListFeeLinesResponse> {
        let query = FeeLineQuery::try_from(request.into_inner())?;
        let listed = self.0.fee_lines(&query).await?;
        let setl_id = listed.visit.setl_id.clone().unwrap_or_default();
        Ok(Response::new(pb::ListFeeLinesResponse {
            visit: Some(visit_to_pb(listed.visit)),
            setl_id,
            lines: listed.lines.into_iter().map(listed_line_to_pb).collect(),
        }))
    }

    async fn get_accumulators(
        &self,
        request: Request<pb::GetAccumulatorsRequest>,
    ) -> Reply<pb::PersonAccumulators> {
        let query = AccumulatorQuery::try_from(request.into_inner())?;
        Ok(Response::new(year_totals_to_pb(self.0.accumulators(&query).await?)))
    }

    #[tracing::instrument(skip_all, name = "UploadSettlementList")]
    async fn upload_settlement_list(
        &self,
        request: Request<pb::UploadSettlementListRequest>,
    ) -> Reply<pb::SettlementList> {
        let upload = SettlementListUpload::try_from(request.into_inner())?;
        Ok(Response::new(settlement_list_to_pb(self.0.upload_settlement_list(&upload).await?)))
    }

    #[tracing::instrument(skip_all, name = "ListPersonFeeLines")]
    async fn list_person_fee_lines(
        &self,
        request: Request<pb::ListPersonFeeLinesRequest>,
    ) -> Reply<pb::ListPersonFeeLinesResponse> {
        let query = PersonLinesQuery::try_from(request.into_inner())?;
        let lines = self.0.person_fee_lines(&query).await?;
        Ok(Response::new(pb::ListPersonFeeLinesResponse {
            lines: lines.into_iter().map(person_line_to_pb).collect(),
        }))
    }

    #[tracing::instrument(skip_all, name = "UploadFeeLines")]
    async fn upload_fee_lines(
        &self,
        request: Request<pb::UploadFeeLinesRequest>,
    ) -> Reply<pb::UploadFeeLinesResponse> {
        let upload = Upload::try_from(request.into_inner())?;
        let uploaded = self.0.upload_lines(&upload).await?;
        Ok(Response::new(pb::UploadFeeLinesResponse {
            lines: u32::try_from(uploaded.lines).unwrap_or(u32::MAX),
            total_fen: uploaded.total_fen,
            classified: uploaded.classified.into_iter().map(classified_to_pb).collect(),
        }))
    }

    async fn cancel_fee_lines(
        &self,
        request: Request<pb::CancelFeeLinesRequest>,
    ) -> Reply<pb::UploadFeeLinesResponse> {
        let cancellation = LineCancellation::try_from(request.into_inner())?;
        self.0.cancel_lines(&cancellation).await?;
        Ok(Response::new(pb::UploadFeeLinesResponse::default()))
    }

    #[tracing::instrument(skip_all, name = "PreSettle")]
    async fn pre_settle(&self, request: Request<pb::SettleRequest>) -> Reply<pb::Settlement> {
        let command = SettleCommand::try_from(request.into_inner())?;
        let settled = self.0.presettle(&command).await?;
        Ok(Response::new(settled_to_pb(&command, settled)))
    }

    #[tracing::instrument(skip_all, name = "Settle")]
    async fn settle(&self, request: Request<pb::SettleRequest>) -> Reply<pb::Settlement> {
        let command = SettleCommand::try_from(request.into_inner())?;
        let settled = self.0.settle(&command).await?;
        Ok(Response::new(settled_to_pb(&command, settled)))
    }

    #[tracing::instrument(skip_all, name = "CancelSettlement")]
    async fn cancel_settlement(
        &self,
        request: Request<pb::CancelSettlementRequest>,
    ) -> Reply<pb::Settlement> {
        let cancellation = Cancellation::try_from(request.into_inner())?;
        let answer = self.0.cancel_settlement(&cancellation).await?;
        Ok(Response::new(settlement_to_pb(answer, "", String::new())))
    }

    #[tracing::instrument(skip_all, name = "Reverse")]
    async fn reverse(&self, request: Request<pb::ReverseRequest>) -> Reply<pb::Settlement> {
        let reversal = Reversal::try_from(request.into_inner())?;
        let answer = self.0.reverse(&reversal).await?;
        Ok(Response::new(settlement_to_pb(answer, "", String::new())))
    }

    async fn list_person_settlements(
        &self,
        request: Request<pb::ListPersonSettlementsRequest>,
    ) -> Reply<pb::ListPersonSettlementsResponse> {
        let query = PersonSettlements::try_from(request.into_inner())?;
        let found = self.0.store().of_person(&query.psn_no, query.limit).await?;
        Ok(Response::new(pb::ListPersonSettlementsResponse {
            settlements: found.into_iter().map(person_settlement_to_pb).collect(),
        }))
    }

    #[tracing::instrument(skip_all, name = "FindSettlements")]
    async fn find_settlements(
        &self,
        request: Request<pb::FindSettlementsRequest>,
    ) -> Reply<pb::FindSettlementsResponse> {
        let lookup = SettlementLookup::try_from(request.into_inner())?;
        let found = self.0.store().find(&lookup).await?;
        Ok(Response::new(pb::FindSettlementsResponse {
            settlements: found.into_iter().map(person_settlement_to_pb).collect(),
        }))
    }

    #[tracing::instrument(skip_all, name = "ValidatePolicy")]
    async fn validate_policy(
        &self,
        request: Request<pb::PolicyDocumentRequest>,
    ) -> Reply<pb::ValidatePolicyResponse> {
        let request = DocumentRequest::try_from(request.into_inner())?;
        let validation = self.1.validate(&request.text);
        let (policy_id, sha256) = validation
            .document
            .map(|(_, identity)| (identity.id, identity.sha256))
            .unwrap_or_default();
        Ok(Response::new(pb::ValidatePolicyResponse {
            valid: validation.problems.is_empty(),
            problems: problems_to_pb(validation.problems),
            policy_id,
            sha256,
        }))
    }

    #[tracing::instrument(skip_all, name = "PutDraft")]
    async fn put_draft(
        &self,
        request: Request<pb::PolicyDocumentRequest>,
    ) -> Reply<pb::PolicyVersion> {
        let request = DocumentRequest::try_from(request.into_inner())?;
        let row = self.1.put_draft(&request.text, &request.actor).await?;
        Ok(Response::new(version_to_pb(row, false)))
    }

    #[tracing::instrument(skip_all, name = "PublishPolicy")]
    async fn publish_policy(
        &self,
        request: Request<pb::PublishPolicyRequest>,
    ) -> Reply<pb::PolicyVersion> {
        let publish = Publish::try_from(request.into_inner())?;
        let row = self.1.publish(&publish.policy_id, &publish.actor).await?;
        Ok(Response::new(version_to_pb(row, false)))
    }

    async fn list_policies(
        &self,
        request: Request<pb::ListPoliciesRequest>,
    ) -> Reply<pb::ListPoliciesResponse> {
        let query = PolicyQuery::try_from(request.into_inner())?;
        let rows = self.1.list(&query.region_prefix, &query.insutype, query.include_drafts).await?;
        Ok(Response::new(pb::ListPoliciesResponse {
            versions: rows.into_iter().map(|row| version_to_pb(row, false)).collect(),
        }))
    }

    async fn get_policy(&self, request: Request<pb::GetPolicyRequest>) -> Reply<pb::PolicyVersion> {
        let PolicyRef(policy_id) = PolicyRef::try_from(request.into_inner())?;
        Ok(Response::new(version_to_pb(self.1.get(&policy_id).await?, true)))
    }

    async fn resolve_policy(
        &self,
        request: Request<pb::ResolvePolicyRequest>,
    ) -> Reply<pb::PolicyVersion> {
        let lookup = PolicyLookup::try_from(request.into_inner())?;
        let row = self.1.resolve(&lookup.region, &lookup.insutype, lookup.date).await?;
        Ok(Response::new(version_to_pb(row, false)))
    }

    #[tracing::instrument(skip_all, name = "PreviewPolicy")]
    async fn preview_policy(
        &self,
        request: Request<pb::PreviewPolicyRequest>,
    ) -> Reply<pb::PolicyPreview> {
        let request = PreviewRequest::try_from(request.into_inner())?;
        let (text, stored_id) = match request.of {
            PreviewOf::Stored(id) => (self.1.get(&id).await?.document, Some(id)),
            PreviewOf::Sent(text) => (text, None),
        };
        let validation = self.1.validate(&text);
        let Some((document, identity)) = validation.document else {
            return Err(validation.problems.into_error().into());
        };
        request.actor.check(&document)?;
        let Document::Policy(draft) = document else {
            return Err(medclear_common::Error::invalid(
                "kind",
                "invalid_policy",
                "floors are not previewed: preview a policy",
            )
            .into());
        };
        let book = self.1.book().current();
        let (preview, elapsed) =
            preview::preview(self.0.pool(), &book, &draft, request.month).await?;
        let id = stored_id.unwrap_or(identity.id);
        Ok(Response::new(preview_to_pb(preview, &draft, id, request.month, elapsed)))
    }

    async fn verify_settlements(
        &self,
        request: Request<pb::VerifySettlementsRequest>,
    ) -> Reply<pb::VerifySettlementsResponse> {
        let month = Month::try_from(request.into_inner())?;
        let verified = preview::verify(self.0.pool(), &self.1.book().current(), month).await?;
        Ok(Response::new(pb::VerifySettlementsResponse {
            checked: verified.checked,
            skipped: verified.skipped,
            mismatched_setl_ids: verified.mismatched,
        }))
    }

    type StreamSettlementEventsStream = EventStream;

    async fn stream_settlement_events(
        &self,
        request: Request<pb::StreamSettlementEventsRequest>,
    ) -> Reply<Self::StreamSettlementEventsStream> {
        let r = request.into_inner();
        let store = self.0.store().clone();
        let (sender, receiver) = tokio::sync::mpsc::channel(256);
        tokio::spawn(async move {
            let mut after = r.after_seq.max(0);
            // Until the follower goes away: an idle stream sends nothing, so it looks.
            while !sender.is_closed() {
                let batch = match store.events_after(after, 1000).await {
                    Ok(batch) => batch,
                    Err(e) => {
                        let _ = sender.send(Err(Status::from(e))).await;
                        return;
                    }
                };
                let empty = batch.is_empty();
                for streamed in batch {
                    let e = streamed.event;
                    after = e.seq;
                    let event = pb::SettlementEvent {
                        seq: e.seq,
                        setl_id: e.setl_id,
                        kind: e.kind,
                        home_province: e.home_province,
                        treating_province: e.treating_province,
                        obligation_fen: e.obligation_fen,
                        at: e.at.to_rfc3339(),
                        orig_setl_id: streamed.orig_setl_id.unwrap_or_default(),
                        fixmedins_code: streamed.fixmedins_code,
                        insutype: streamed.insutype,
                        clr_type: streamed.clr_type,
                        psn_no: streamed.psn_no,
                        msgid: streamed.msgid,
                        mdtrt_id: streamed.mdtrt_id.unwrap_or_default(),
                        medfee_sumamt_fen: streamed.medfee_sumamt,
                        fund_pay_sumamt_fen: streamed.fund_pay_sumamt,
                        acct_pay_fen: streamed.acct_pay,
                        psn_cash_pay_fen: streamed.psn_cash_pay,
                    };
                    if sender.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
                if empty {
                    if !r.follow {
                        return;
                    }
                    tokio::select! {
                        () = sender.closed() => return,
                        () = tokio::time::sleep(FOLLOW_EVERY) => {}
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))))
    }
}
