//! The medclear edge: what hospitals' HIS, bureaus' tools and citizens' browsers reach over
//! HTTP, answered through the services' gRPC APIs. It depends on `medclear-proto` and
//! `medclear-common` only — never on a service crate or the embedded database.
//!
//! * [`settings`]: flags and variables, read in `main` and passed down; [`state`]: the
//!   [`state::AppState`] every handler shares (gRPC clients, limits, keys).
//! * [`server`]: the edge's shell (`/healthz`, `/metrics`, [`limits`], JSON errors) and
//!   serving over HTTPS with client certificates ([`tls`]) or plain HTTP on loopback.
//! * [`access`]: who may do what (hospitals, operators, citizens) — the rule, pure;
//!   [`caller`]: who a request comes from; [`session`]: page sessions, CSRF tokens and 9001
//!   sign-in numbers; [`citizen`]: citizens' one-time codes and tokens.
//! * [`error`]: the JSON API's one error shape; [`json`]: bodies and queries read leniently
//!   in form, strictly in meaning.
//! * [`api`]: the JSON API, a router per area; [`national`]: the national interface
//!   (`/fsi/api/rsfComIfsService/callService`).
//!
//! The modules are layered, each importing only those below it: `access`, `error`, `json`,
//! `tls`, `citizen`, `session`, `limits`, `settings` → `state` → `caller` → `api`, `national`
//! → `server`.
//!
//! The pages crate (`medclear-pages`) adds its routes to [`server::app`]; the `medclear` CLI
//! composes both with the services.

pub mod access;
pub mod api;
pub mod caller;
pub mod citizen;
pub mod dictionaries;
pub mod error;
pub mod json;
pub mod limits;
pub mod med_types;
pub mod national;
pub mod server;
pub mod session;
pub mod settings;
pub mod state;
pub mod tls;

pub use settings::{GatewayArgs, Settings, Upstreams};
pub use state::AppState;

/// The routes of hospitals and tools: the JSON API and the national interface.
pub fn routes() -> axum::Router<AppState> {
    api::router().merge(national::router())
}
