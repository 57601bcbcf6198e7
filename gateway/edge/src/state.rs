//! What every handler shares ([`AppState`]): a gRPC client per service (and per routing
//! partition), the edge's limits, and the signing keys.

use std::{collections::HashMap, sync::Arc};

use medclear_common::{
    server::{ServiceToken, connect_lazy},
    telemetry::{TraceContext, Traced},
};
use medclear_proto::{
    catalog::v1::{catalog_service_client::CatalogServiceClient, catalog_service_server},
    clearing::v1::{clearing_service_client::ClearingServiceClient, clearing_service_server},
    filing::v1::{filing_service_client::FilingServiceClient, filing_service_server},
    routing::v1::{routing_service_client::RoutingServiceClient, routing_service_server},
};
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;

use crate::{
    citizen::{CitizenAuth, signing_secret},
    limits::Limits,
    med_types::MedTypes,
    session::{PageKeys, SignIn},
    settings::{Settings, Upstreams},
};

/// A service the gateway depends on, for `/healthz`.
#[derive(Debug, Clone)]
pub(crate) struct Dependency {
    pub(crate) name: &'static str,
    pub(crate) service: &'static str,
    pub(crate) health: HealthClient<Channel>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    filing: FilingServiceClient<Traced>,
    catalog: CatalogServiceClient<Traced>,
    routing: RoutingServiceClient<Traced>,
    routing_by_province: HashMap<String, RoutingServiceClient<Traced>>,
    /// Every routing instance once: the default, then each other partition's URL.
    routing_instances: Vec<RoutingServiceClient<Traced>>,
    clearing: ClearingServiceClient<Traced>,
    pub(crate) dependencies: Vec<Dependency>,
    /// The edge's limits; each server makes its edge (rate buckets, metrics) from them.
    pub(crate) limits: Limits,
    /// Signs 9001 sign-in numbers (see [`SignIn`]).
    sign_in: SignIn,
    /// Citizens' one-time codes and tokens.
    citizens: CitizenAuth,
    /// Page sessions (operators' development sign-in) and CSRF tokens.
    pages: PageKeys,
    /// What the services take calls with; [`crate::server::app`] gives it to each request.
    pub(crate) service_token: ServiceToken,
    /// The medical types hospitals may send.
    med_types: MedTypes,
}

/// What every handler shares: the gRPC clients, the edge's limits, and the keys
/// of sign-in numbers, citizens' tokens and page sessions.
#[derive(Debug, Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

impl AppState {
    /// Clients for `upstreams`, with the default edge limits and a signing key of this
    /// process's own (development and tests).
    pub fn new(upstreams: &Upstreams) -> Result<Self, medclear_common::Error> {
        Self::with_limits(upstreams, Limits::default())
    }

    /// Clients for `upstreams` with `limits`, and a signing key of this process's own.
    pub fn with_limits(
        upstreams: &Upstreams,
        limits: Limits,
    ) -> Result<Self, medclear_common::Error> {
        Self::from_settings(&Settings {
            upstreams: upstreams.clone(),
            limits,
            sign_key: None,
            med_types: MedTypes::default(),
        })
    }

    /// The state the settings describe; connections are made on first use and re-made after
    /// failures.
    pub fn from_settings(settings: &Settings) -> Result<Self, medclear_common::Error> {
        let upstreams = &settings.upstreams;
        let limits = settings.limits;
        let secret = signing_secret(settings.sign_key.as_ref())?;
        // Bare channels: the health checks need no token; the clients' interceptor sends it.
        let filing = connect_lazy("filing", &upstreams.filing)?;
        let catalog = connect_lazy("catalog", &upstreams.catalog)?;
        let routing = connect_lazy("routing", &upstreams.routing)?;
        let clearing = connect_lazy("clearing", &upstreams.clearing)?;
        let mut routing_by_province = HashMap::new();
        let mut routing_instances =
            vec![RoutingServiceClient::with_interceptor(routing.clone(), TraceContext)];
        let mut urls = vec![upstreams.routing.as_str()];
        for (province, url) in &upstreams.routing_partitions {
            let client =
                RoutingServiceClient::with_interceptor(connect_lazy("routing", url)?, TraceContext);
            if !urls.contains(&url.as_str()) {
                urls.push(url);
                routing_instances.push(client.clone());
            }
            routing_by_province.insert(province.clone(), client);
        }
        Ok(Self(Arc::new(Inner {
            // Every call carries the request's trace context (W3C traceparent) and, as every
            // request runs with it in scope, the service token.
            filing: FilingServiceClient::with_interceptor(filing.clone(), TraceContext),
            catalog: CatalogServiceClient::with_interceptor(catalog.clone(), TraceContext)
                .max_decoding_message_size(64 * 1024 * 1024),
            routing: RoutingServiceClient::with_interceptor(routing.clone(), TraceContext),
            routing_by_province,
            routing_instances,
            clearing: ClearingServiceClient::with_interceptor(clearing.clone(), TraceContext)
                .max_decoding_message_size(64 * 1024 * 1024),
            dependencies: vec![
                Dependency {
                    name: "filing",
                    service: filing_service_server::SERVICE_NAME,
                    health: HealthClient::new(filing),
                },
                Dependency {
                    name: "catalog",
                    service: catalog_service_server::SERVICE_NAME,
                    health: HealthClient::new(catalog),
                },
                Dependency {
                    name: "routing",
                    service: routing_service_server::SERVICE_NAME,
                    health: HealthClient::new(routing),
                },
                Dependency {
                    name: "clearing",
                    service: clearing_service_server::SERVICE_NAME,
                    health: HealthClient::new(clearing),
                },
            ],
            limits,
            sign_in: SignIn::new(&secret),
            citizens: CitizenAuth::new(&secret),
            pages: PageKeys::new(&secret),
            service_token: upstreams.service_token.clone(),
            med_types: settings.med_types.clone(),
        })))
    }

    /// The medical types hospitals may send, national and provincial.
    pub fn med_types(&self) -> &MedTypes {
        &self.0.med_types
    }

    pub fn filing(&self) -> FilingServiceClient<Traced> {
        self.0.filing.clone()
    }

    pub fn catalog(&self) -> CatalogServiceClient<Traced> {
        self.0.catalog.clone()
    }

    pub fn sign_in(&self) -> &SignIn {
        &self.0.sign_in
    }

    /// Citizens' sign-in (one-time codes, tokens).
    pub fn citizens(&self) -> &CitizenAuth {
        &self.0.citizens
    }

    /// Page sessions and CSRF tokens.
    pub fn pages(&self) -> &PageKeys {
        &self.0.pages
    }

    /// Every routing instance, the default first (a person's data is in their home's).
    pub fn routing_all(&self) -> Vec<RoutingServiceClient<Traced>> {
        self.0.routing_instances.clone()
    }

    pub fn clearing(&self) -> ClearingServiceClient<Traced> {
        self.0.clearing.clone()
    }

    /// The routing instance that owns `province` (two digits, or any code starting with them);
    /// the default instance when unknown or not partitioned.
    pub fn routing_for(&self, province: Option<&str>) -> RoutingServiceClient<Traced> {
        province
            .and_then(|p| p.get(..2))
            .and_then(|p| self.0.routing_by_province.get(p))
            .unwrap_or(&self.0.routing)
            .clone()
    }
}
