//! The gRPC surface of the routing service: thin. Requests are validated here, once; answers
//! use the national field names with amounts in fen.

use std::{pin::Pin, str::FromStr, time::Duration};

use medclear_common::{Error, wire::date};
use medclear_proto::routing::v1::{self as pb, routing_service_server::RoutingService as Api};
use rust_decimal::Decimal;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::{
    calc::MedType,
    institutions::Institution,
    lifecycle::{Lifecycle, NewFeeLine, NewVisit},
    policy::HospitalLevel,
    repo::{PersonRow, VisitRow},
    settlement::SettlementAnswer,
};

/// [`Lifecycle`] behind `medclear.routing.v1.RoutingService`.
#[derive(Debug, Clone)]
pub struct RoutingGrpc(pub Lifecycle);

type Reply<T> = Result<Response<T>, Status>;

fn med_type(value: i32) -> Result<MedType, Error> {
    Ok(match pb::MedType::try_from(value) {
        Ok(pb::MedType::GeneralOutpatient) => MedType::GeneralOutpatient,
        Ok(pb::MedType::ChronicOutpatient) => MedType::ChronicOutpatient,
        Ok(pb::MedType::Inpatient) => MedType::Inpatient,
        Ok(pb::MedType::Pharmacy) => MedType::Pharmacy,
        _ => {
            return Err(Error::invalid(
                "med_type",
                "unknown_med_type",
                format!("med_type {value} is not 11, 14, 21 or 41"),
            ));
        }
    })
}

fn level(text: &str) -> Result<HospitalLevel, Error> {
    HospitalLevel::parse(text.trim()).ok_or_else(|| {
        Error::invalid(
            "hospital_level",
            "unknown_level",
            format!("hospital_level {text:?} is not tertiary, secondary, primary or ungraded"),
        )
    })
}

fn person_to_pb(p: PersonRow) -> pb::PersonInfo {
    pb::PersonInfo {
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
        fixmedins_code: v.fixmedins_code,
        psn_no: v.psn_no,
        med_type: i32::from(v.med_type),
        mdtrtarea_admvs: v.mdtrtarea_admvs,
        hospital_level: v.hospital_level,
        begin_date: v.begin_date.to_string(),
        end_date: v.end_date.map(|d| d.to_string()).unwrap_or_default(),
        diagnosis_code: v.diagnosis_code,
        emergency: v.emergency,
        status: v.status,
        disease_code: v.disease_code,
    }
}

fn settlement_to_pb(a: SettlementAnswer, mdtrt_id: &str, basis: String) -> pb::Settlement {
    let b = a.breakdown;
    pb::Settlement {
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

impl RoutingGrpc {
    /// PreSettle (`persist` false) and Settle.
    async fn settle_request(&self, r: pb::SettleRequest, persist: bool) -> Reply<pb::Settlement> {
        let mdtrt_id = r.mdtrt_id.trim();
        let (answer, basis) = self
            .0
            .settle_checked(
                r.fixmedins_code.trim(),
                r.msgid.trim(),
                mdtrt_id,
                r.use_account,
                persist,
                r.medfee_sumamt_fen,
            )
            .await?;
        Ok(Response::new(settlement_to_pb(answer, mdtrt_id, basis)))
    }
}

#[tonic::async_trait]
impl Api for RoutingGrpc {
    async fn query_person(
        &self,
        request: Request<pb::QueryPersonRequest>,
    ) -> Reply<pb::PersonInfo> {
        let r = request.into_inner();
        let person = match (r.certno.trim(), r.psn_no.trim()) {
            ("", "") => {
                return Err(Error::invalid(
                    "certno",
                    "missing_field",
                    "certno or psn_no is required",
                )
                .into());
            }
            ("", psn_no) => self.0.store().person(psn_no).await?,
            (certno, _) => self.0.store().person_by_certno(certno).await?,
        };
        Ok(Response::new(person_to_pb(person)))
    }

    async fn import_persons(
        &self,
        request: Request<pb::ImportPersonsRequest>,
    ) -> Reply<pb::ImportPersonsResponse> {
        let rows: Vec<_> = request
            .into_inner()
            .rows
            .into_iter()
            .map(|r| (r.row_no, r.fields.into_iter().collect()))
            .collect();
        if rows.len() > 100_000 {
            return Err(Error::invalid(
                "rows",
                "too_many_rows",
                "send at most 100000 rows at a time",
            )
            .into());
        }
        let (accepted, rejections) = self.0.store().import_persons(&rows).await?;
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
        let institutions: Vec<Institution> = request
            .into_inner()
            .institutions
            .into_iter()
            .map(|i| Institution {
                fixmedins_code: i.fixmedins_code.trim().to_owned(),
                fixmedins_name: i.fixmedins_name,
                admdvs: i.admdvs.trim().to_owned(),
                hospital_level: i.hospital_level.trim().to_owned(),
            })
            .collect();
        let accepted = self.0.import_institutions(&institutions).await?;
        Ok(Response::new(pb::ImportInstitutionsResponse { accepted }))
    }

    async fn get_institution(
        &self,
        request: Request<pb::GetInstitutionRequest>,
    ) -> Reply<pb::Institution> {
        let i = self.0.institution(request.into_inner().fixmedins_code.trim()).await?;
        Ok(Response::new(pb::Institution {
            fixmedins_code: i.fixmedins_code,
            fixmedins_name: i.fixmedins_name,
            admdvs: i.admdvs,
            hospital_level: i.hospital_level,
        }))
    }

    #[tracing::instrument(skip_all, name = "RegisterVisit")]
    async fn register_visit(&self, request: Request<pb::RegisterVisitRequest>) -> Reply<pb::Visit> {
        let r = request.into_inner();
        let visit = NewVisit {
            med_type: med_type(r.med_type)?,
            hospital_level: match r.hospital_level.trim() {
                "" => None,
                text => Some(level(text)?),
            },
            begin_date: date("begin_date", &r.begin_date)?,
            fixmedins_code: r.fixmedins_code.trim().to_owned(),
            msgid: r.msgid.trim().to_owned(),
            psn_no: r.psn_no.trim().to_owned(),
            mdtrtarea_admvs: r.mdtrtarea_admvs.trim().to_owned(),
            diagnosis_code: r.diagnosis_code.trim().to_owned(),
            emergency: r.emergency,
            disease_code: r.disease_code.trim().to_owned(),
        };
        Ok(Response::new(visit_to_pb(self.0.register_visit(visit).await?)))
    }

    async fn update_visit(&self, request: Request<pb::UpdateVisitRequest>) -> Reply<pb::Visit> {
        let r = request.into_inner();
        let kind = match pb::MedType::try_from(r.med_type) {
            Ok(pb::MedType::Unspecified) => None,
            _ => Some(med_type(r.med_type)?),
        };
        let visit = self
            .0
            .update_visit(
                r.fixmedins_code.trim(),
                r.mdtrt_id.trim(),
                kind,
                &r.diagnosis_code,
                &r.disease_code,
            )
            .await?;
        Ok(Response::new(visit_to_pb(visit)))
    }

    async fn discharge_visit(&self, request: Request<pb::VisitRef>) -> Reply<pb::Visit> {
        let r = request.into_inner();
        let end = date("end_date", &r.end_date)?;
        Ok(Response::new(visit_to_pb(
            self.0.discharge(r.fixmedins_code.trim(), r.mdtrt_id.trim(), end).await?,
        )))
    }

    async fn cancel_visit(&self, request: Request<pb::VisitRef>) -> Reply<pb::Visit> {
        let r = request.into_inner();
        Ok(Response::new(visit_to_pb(
            self.0.cancel_visit(r.fixmedins_code.trim(), r.mdtrt_id.trim()).await?,
        )))
    }

    #[tracing::instrument(skip_all, name = "UploadFeeLines")]
    async fn upload_fee_lines(
        &self,
        request: Request<pb::UploadFeeLinesRequest>,
    ) -> Reply<pb::UploadFeeLinesResponse> {
        let r = request.into_inner();
        if r.lines.is_empty() || r.lines.len() > 5_000 {
            return Err(Error::invalid("lines", "bad_batch", "send 1 to 5000 lines").into());
        }
        let mut lines = Vec::with_capacity(r.lines.len());
        for line in r.lines {
            lines.push(NewFeeLine {
                quantity: Decimal::from_str(line.quantity.trim()).map_err(|_| {
                    Error::invalid(
                        "quantity",
                        "invalid_quantity",
                        format!("quantity {:?} is not a decimal number", line.quantity),
                    )
                })?,
                fee_date: date("fee_date", &line.fee_date)?,
                feedetl_sn: line.feedetl_sn.trim().to_owned(),
                local_code: line.local_code.trim().to_owned(),
                national_code: line.national_code.trim().to_owned(),
                price_fen: line.price_fen,
            });
        }
        let (count, total) =
            self.0.upload_lines(r.fixmedins_code.trim(), r.mdtrt_id.trim(), &lines).await?;
        Ok(Response::new(pb::UploadFeeLinesResponse {
            lines: u32::try_from(count).unwrap_or(u32::MAX),
            total_fen: total,
        }))
    }

    async fn cancel_fee_lines(
        &self,
        request: Request<pb::CancelFeeLinesRequest>,
    ) -> Reply<pb::UploadFeeLinesResponse> {
        let r = request.into_inner();
        self.0.cancel_lines(r.fixmedins_code.trim(), r.mdtrt_id.trim(), &r.feedetl_sn).await?;
        Ok(Response::new(pb::UploadFeeLinesResponse::default()))
    }

    #[tracing::instrument(skip_all, name = "PreSettle")]
    async fn pre_settle(&self, request: Request<pb::SettleRequest>) -> Reply<pb::Settlement> {
        self.settle_request(request.into_inner(), false).await
    }

    #[tracing::instrument(skip_all, name = "Settle")]
    async fn settle(&self, request: Request<pb::SettleRequest>) -> Reply<pb::Settlement> {
        self.settle_request(request.into_inner(), true).await
    }

    #[tracing::instrument(skip_all, name = "CancelSettlement")]
    async fn cancel_settlement(
        &self,
        request: Request<pb::CancelSettlementRequest>,
    ) -> Reply<pb::Settlement> {
        let r = request.into_inner();
        let answer = self
            .0
            .cancel_settlement(r.fixmedins_code.trim(), r.msgid.trim(), r.setl_id.trim())
            .await?;
        Ok(Response::new(settlement_to_pb(answer, "", String::new())))
    }

    #[tracing::instrument(skip_all, name = "Reverse")]
    async fn reverse(&self, request: Request<pb::ReverseRequest>) -> Reply<pb::Settlement> {
        let r = request.into_inner();
        let answer =
            self.0.reverse(r.fixmedins_code.trim(), r.msgid.trim(), r.omsgid.trim()).await?;
        Ok(Response::new(settlement_to_pb(answer, "", String::new())))
    }

    async fn list_person_settlements(
        &self,
        request: Request<pb::ListPersonSettlementsRequest>,
    ) -> Reply<pb::ListPersonSettlementsResponse> {
        let r = request.into_inner();
        let psn_no = r.psn_no.trim();
        if psn_no.is_empty() {
            return Err(Error::invalid("psn_no", "missing_field", "psn_no is required").into());
        }
        let limit = if r.limit == 0 { 100 } else { r.limit };
        let settlements = self
            .0
            .store()
            .of_person(psn_no, limit)
            .await?
            .into_iter()
            .map(|(answer, row)| pb::PersonSettlement {
                settlement: Some(settlement_to_pb(
                    answer,
                    row.mdtrt_id.as_deref().unwrap_or_default(),
                    String::new(),
                )),
                fixmedins_code: row.sender,
                insuplc_admdvs: row.insuplc_admdvs,
                mdtrtarea_admvs: row.mdtrtarea_admvs,
                cancelled_by: row.cancelled_by.unwrap_or_default(),
            })
            .collect();
        Ok(Response::new(pb::ListPersonSettlementsResponse { settlements }))
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
