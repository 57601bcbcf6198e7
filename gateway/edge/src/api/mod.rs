//! The JSON API (`/api/v1/…`): one module and one `router()` per area, each call answered
//! through the services' gRPC APIs. [`crate::error`] is the one error shape; [`crate::json`]
//! reads bodies and queries leniently in form, strictly in meaning.

pub mod catalog;
pub mod citizens;
pub mod clearing;
pub mod filings;
pub mod policies;
pub mod routing;

use axum::Router;

// The areas' shared pieces, as `super::…` to them.
use crate::{error, json, state::AppState};

/// Every area's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(citizens::router())
        .merge(filings::router())
        .merge(catalog::router())
        .merge(routing::router())
        .merge(policies::router())
        .merge(clearing::router())
}
