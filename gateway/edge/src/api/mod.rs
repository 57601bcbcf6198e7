//! The JSON API (`/api/v1/…`): one module and one `router()` per area, each call answered
//! through the services' gRPC APIs. [`error`] is the one error shape; [`json`] reads bodies
//! and queries leniently in form, strictly in meaning.

pub mod catalog;
pub mod citizens;
pub mod clearing;
pub mod error;
pub mod filings;
pub mod json;
pub mod routing;

use axum::Router;

use crate::state::AppState;

/// Every area's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(citizens::router())
        .merge(filings::router())
        .merge(catalog::router())
        .merge(routing::router())
        .merge(clearing::router())
}
