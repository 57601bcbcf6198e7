//! The gRPC surface: thin. Each call converts its request at the edge, runs the use case, and
//! converts the answer back.

use medclear_proto::filing::v1::{self as pb, filing_service_server::FilingService as Api};
use tonic::{Request, Response, Status};

use crate::{
    convert::{self, ChronicQuery, Create, ListDesignations, Revoke, RevokeDesignation},
    service::FilingService,
};

/// [`FilingService`] behind `medclear.filing.v1.FilingService`.
#[derive(Debug, Clone)]
pub struct FilingGrpc(pub FilingService);

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Api for FilingGrpc {
    #[tracing::instrument(skip_all, name = "CreateFiling")]
    async fn create_filing(&self, request: Request<pb::CreateFilingRequest>) -> Reply<pb::Filing> {
        let Create { new, actor, request_id } = Create::try_from(request.into_inner())?;
        let view = self.0.create_filing(new, actor, request_id).await?;
        Ok(Response::new(view.into()))
    }

    #[tracing::instrument(skip_all, name = "GetFiling")]
    async fn get_filing(&self, request: Request<pb::GetFilingRequest>) -> Reply<pb::Filing> {
        let id = convert::required_id("filing_id", &request.into_inner().filing_id)?;
        Ok(Response::new(self.0.get_filing(&id).await?.into()))
    }

    #[tracing::instrument(skip_all, name = "ListFilings")]
    async fn list_filings(
        &self,
        request: Request<pb::ListFilingsRequest>,
    ) -> Reply<pb::ListFilingsResponse> {
        let r = request.into_inner();
        let psn_no = convert::psn_no("psn_no", &r.psn_no)?;
        let filings = self.0.list_filings(&psn_no, r.include_revoked).await?;
        Ok(Response::new(pb::ListFilingsResponse {
            filings: filings.into_iter().map(Into::into).collect(),
        }))
    }

    #[tracing::instrument(skip_all, name = "RevokeFiling")]
    async fn revoke_filing(&self, request: Request<pb::RevokeFilingRequest>) -> Reply<pb::Filing> {
        let Revoke { id, actor, reason } = Revoke::try_from(request.into_inner())?;
        let view = self.0.revoke_filing(&id, reason, actor).await?;
        Ok(Response::new(view.into()))
    }

    #[tracing::instrument(skip_all, name = "CheckCoverage")]
    async fn check_coverage(
        &self,
        request: Request<pb::CheckCoverageRequest>,
    ) -> Reply<pb::CheckCoverageResponse> {
        let query = request.into_inner().try_into()?;
        Ok(Response::new(self.0.check_coverage(&query).await?.into()))
    }

    #[tracing::instrument(skip_all, name = "CreateChronicFiling")]
    async fn create_chronic_filing(
        &self,
        request: Request<pb::CreateChronicFilingRequest>,
    ) -> Reply<pb::ChronicFiling> {
        let Create { new, actor, request_id } = Create::try_from(request.into_inner())?;
        let filing = self.0.create_chronic_filing(new, actor, request_id).await?;
        Ok(Response::new(filing.into()))
    }

    #[tracing::instrument(skip_all, name = "GetChronicFiling")]
    async fn get_chronic_filing(
        &self,
        request: Request<pb::GetFilingRequest>,
    ) -> Reply<pb::ChronicFiling> {
        let id = convert::required_id("filing_id", &request.into_inner().filing_id)?;
        Ok(Response::new(self.0.get_chronic_filing(&id).await?.into()))
    }

    #[tracing::instrument(skip_all, name = "ListChronicFilings")]
    async fn list_chronic_filings(
        &self,
        request: Request<pb::ListChronicFilingsRequest>,
    ) -> Reply<pb::ListChronicFilingsResponse> {
        let r = request.into_inner();
        let psn_no = convert::psn_no("psn_no", &r.psn_no)?;
        let filings = self.0.list_chronic_filings(&psn_no, r.include_revoked).await?;
        Ok(Response::new(pb::ListChronicFilingsResponse {
            filings: filings.into_iter().map(Into::into).collect(),
        }))
    }

    #[tracing::instrument(skip_all, name = "RevokeChronicFiling")]
    async fn revoke_chronic_filing(
        &self,
        request: Request<pb::RevokeChronicFilingRequest>,
    ) -> Reply<pb::ChronicFiling> {
        let Revoke { id, actor, reason } = Revoke::try_from(request.into_inner())?;
        let filing = self.0.revoke_chronic_filing(&id, reason, actor).await?;
        Ok(Response::new(filing.into()))
    }

    #[tracing::instrument(skip_all, name = "CheckChronicFiling")]
    async fn check_chronic_filing(
        &self,
        request: Request<pb::CheckChronicFilingRequest>,
    ) -> Reply<pb::CheckChronicFilingResponse> {
        let ChronicQuery { psn_no, disease_code, date } = request.into_inner().try_into()?;
        let code = disease_code.as_str();
        let found = self.0.check_chronic_filing(&psn_no, code, date).await?;
        Ok(Response::new(match found {
            Some(filing) => pb::CheckChronicFilingResponse {
                covered: true,
                filing_id: filing.id,
                ..Default::default()
            },
            None => pb::CheckChronicFilingResponse {
                covered: false,
                reason: "no_chronic_filing".into(),
                message: format!("{psn_no} has no chronic-disease filing for {code} on {date}"),
                ..Default::default()
            },
        }))
    }

    async fn list_chronic_diseases(
        &self,
        _request: Request<pb::ListChronicDiseasesRequest>,
    ) -> Reply<pb::ListChronicDiseasesResponse> {
        let diseases = self.0.list_chronic_diseases().await?;
        Ok(Response::new(pb::ListChronicDiseasesResponse {
            diseases: diseases
                .into_iter()
                .map(|(code, name)| pb::ChronicDisease { code, name })
                .collect(),
        }))
    }

    async fn list_regions(
        &self,
        _request: Request<pb::ListRegionsRequest>,
    ) -> Reply<pb::ListRegionsResponse> {
        let regions = self.0.list_regions().await?;
        Ok(Response::new(pb::ListRegionsResponse {
            regions: regions.into_iter().map(Into::into).collect(),
        }))
    }

    async fn get_region_rules(
        &self,
        request: Request<pb::GetRegionRulesRequest>,
    ) -> Reply<pb::RegionRules> {
        let home = convert::admdvs("insuplc_admdvs", &request.into_inner().insuplc_admdvs)?;
        let rules = self.0.region_rules(&home).await?;
        Ok(Response::new(convert::rules_to_pb(&home, rules)))
    }

    #[tracing::instrument(skip_all, name = "SetRegionRules")]
    async fn set_region_rules(
        &self,
        request: Request<pb::SetRegionRulesRequest>,
    ) -> Reply<pb::RegionRules> {
        let r = request.into_inner();
        let rules = r.rules.unwrap_or_default();
        let home = convert::admdvs("rules.insuplc_admdvs", &rules.insuplc_admdvs)?;
        let actor = convert::actor(r.actor)?;
        let rules = self.0.set_region_rules(&home, rules.into(), actor).await?;
        Ok(Response::new(convert::rules_to_pb(&home, rules)))
    }

    #[tracing::instrument(skip_all, name = "CreateDesignation")]
    async fn create_designation(
        &self,
        request: Request<pb::CreateDesignationRequest>,
    ) -> Reply<pb::Designation> {
        let Create { new, actor, request_id } = Create::try_from(request.into_inner())?;
        let view = self.0.create_designation(new, actor, request_id).await?;
        Ok(Response::new(view.into()))
    }

    #[tracing::instrument(skip_all, name = "RevokeDesignation")]
    async fn revoke_designation(
        &self,
        request: Request<pb::RevokeDesignationRequest>,
    ) -> Reply<pb::Designation> {
        let RevokeDesignation { psn_no, id, actor, reason } =
            RevokeDesignation::try_from(request.into_inner())?;
        let view = self.0.revoke_designation(&psn_no, &id, reason, actor).await?;
        Ok(Response::new(view.into()))
    }

    #[tracing::instrument(skip_all, name = "ListDesignations")]
    async fn list_designations(
        &self,
        request: Request<pb::ListDesignationsRequest>,
    ) -> Reply<pb::ListDesignationsResponse> {
        let ListDesignations { psn_no, biz_appy_type, include_inactive } =
            ListDesignations::try_from(request.into_inner())?;
        let views = self.0.list_designations(&psn_no, biz_appy_type, include_inactive).await?;
        Ok(Response::new(pb::ListDesignationsResponse {
            designations: views.into_iter().map(Into::into).collect(),
        }))
    }
}
