//! Web pages for citizens and bureaus: HTML rendered on the server, plain forms posted as
//! `application/x-www-form-urlencoded` and answered with a redirect, no JavaScript.
//!
//! * [`layout`]: the document shell, the style sheet, languages (`?lang=en|zh`) and labels.
//! * [`citizen`]: `/citizen/…` — sign in with a one-time code, file, see and revoke filings,
//!   see settlements with what each fund paid.
//! * [`bureau`]: `/bureau/…` — a province's clearing periods, net positions, counterpart chart,
//!   prepaid fund, confirm and dispute; the national operator's close, net and settle; and the
//!   operator sign-in of development.
//!
//! * [`policies`]: `/bureau/policies/…` — the bureaus' benefit policies: versions and drafts,
//!   a document checked with its problems at their lines, a draft's preview (by fund, by
//!   treating province, the largest changes, as CSV too) and publication.
//!
//! * [`svg`]: the charts, as inline SVG (no script), shared with the demo's report.
//!
//! Who may see what is decided in [`medclear_gateway::access`]
//! ([`medclear_gateway::caller::PageSession`] then [`medclear_gateway::access::authorize`]);
//! sessions and CSRF tokens are [`medclear_gateway::session`]'s. The pages are served behind
//! the edge ([`medclear_gateway::server::app`]): by `medclear-pages` alone, or with the API by
//! `medclear up` and `medclear gateway`.

// A page's checks answer early with the page to show (`Result<_, Response>`): once per
// request, not on a hot path, so the size of `Response` in `Err` does not matter here.
#![allow(clippy::result_large_err)]

pub mod bureau;
pub mod citizen;
pub mod layout;
pub mod policies;
pub mod svg;

use axum::{
    Router,
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use medclear_common::clock::{Clock as _, SystemClock};
use medclear_proto::filing::v1 as filing_pb;

use layout::{Ctx, Lang, T, document, html};
use medclear_gateway::AppState;

/// The pages' routes, served behind the edge.
pub fn routes() -> Router<AppState> {
    use bureau as b;
    use citizen as c;
    use policies as p;
    Router::new()
        .route("/", get(landing))
        .route(layout::CSS_PATH, get(layout::stylesheet))
        .route("/citizen", get(c::home))
        .route("/citizen/sign-in", get(c::sign_in_page).post(c::send_code))
        .route("/citizen/sign-in/code", get(c::code_page).post(c::verify_code))
        .route("/citizen/sign-out", post(c::sign_out))
        .route("/citizen/filings", get(c::filings))
        .route("/citizen/filings/new", get(c::new_filing).post(c::create_filing))
        .route("/citizen/filings/{filing_id}", get(c::filing))
        .route("/citizen/filings/{filing_id}/revoke", post(c::revoke))
        .route("/citizen/settlements", get(c::settlements))
        .route("/bureau", get(b::home))
        .route("/bureau/sign-in", get(b::sign_in_page).post(b::sign_in))
        .route("/bureau/sign-out", post(b::sign_out))
        .route("/bureau/policies", get(p::list))
        .route("/bureau/policies/new", get(p::new_draft).post(p::submit_draft))
        .route("/bureau/policies/{policy_id}", get(p::version))
        .route("/bureau/policies/{policy_id}/publish", post(p::publish))
        .route("/bureau/policies/{policy_id}/preview", get(p::preview))
        .route("/bureau/policies/{policy_id}/preview.csv", get(p::preview_csv))
        .route("/bureau/national", get(b::national))
        .route("/bureau/national/periods/{period_id}", get(b::national_period))
        .route("/bureau/national/periods/{period_id}/{action}", post(b::national_action))
        .route("/bureau/{admdvs}", get(b::province))
        .route("/bureau/{admdvs}/periods/{period_id}", get(b::province_period))
        .route("/bureau/{admdvs}/periods/{period_id}/confirm", post(b::confirm))
        .route("/bureau/{admdvs}/periods/{period_id}/dispute", post(b::dispute))
}

/// `/`: what the site is, and the way in for citizens and for bureaus.
async fn landing(ctx: Ctx) -> Response {
    let bureau_in = if ctx.development { "/bureau/sign-in" } else { "/bureau" };
    let main = format!(
        "<h1>{site}</h1><p>{intro}</p><div class=\"cards\">\
         <section class=\"card\" aria-labelledby=\"for-citizens\"><h2 id=\"for-citizens\">{citizens}</h2>\
         <p>{citizens_text}</p><p><a class=\"button\" href=\"/citizen/sign-in\">{sign_in}</a></p></section>\
         <section class=\"card\" aria-labelledby=\"for-bureaus\"><h2 id=\"for-bureaus\">{bureaus}</h2>\
         <p>{bureaus_text}</p><p><a class=\"button\" href=\"{bureau_in}\">{sign_in}</a></p></section></div>",
        site = ctx.t(T::Site),
        intro = ctx.t(T::LandingIntro),
        citizens = ctx.t(T::ForCitizens),
        citizens_text = ctx.t(T::ForCitizensText),
        bureaus = ctx.t(T::ForBureaus),
        bureaus_text = ctx.t(T::ForBureausText),
        sign_in = ctx.t(T::SignIn),
    );
    html(&ctx, StatusCode::OK, document(&ctx, ctx.t(T::Home), &[], "", &main))
}

/// The regions the filing service knows (names for codes, the destination list).
#[derive(Debug, Clone, Default)]
pub(crate) struct Regions(Vec<filing_pb::Region>);

impl Regions {
    pub(crate) async fn load(state: &AppState) -> Result<Self, tonic::Status> {
        let list = state.filing().list_regions(filing_pb::ListRegionsRequest {}).await?;
        Ok(Self(list.into_inner().regions))
    }

    /// The region's name in `lang`, else its code.
    pub(crate) fn name(&self, admdvs: &str, lang: Lang) -> String {
        self.0
            .iter()
            .find(|r| r.admdvs == admdvs)
            .map(|r| if lang == Lang::En { r.name_en.clone() } else { r.name_zh.clone() })
            .unwrap_or_else(|| admdvs.to_owned())
    }

    /// The province of any region code (`440300` → Guangdong).
    pub(crate) fn province_name(&self, admdvs: &str, lang: Lang) -> String {
        match admdvs.get(..2) {
            Some(two) => self.name(&format!("{two}0000"), lang),
            None => admdvs.to_owned(),
        }
    }

    pub(crate) fn all(&self) -> &[filing_pb::Region] {
        &self.0
    }

    pub(crate) fn provinces(&self) -> impl Iterator<Item = &filing_pb::Region> {
        self.0.iter().filter(|r| r.level == "province")
    }
}

/// Today in China (the date forms start from).
pub(crate) fn today() -> chrono::NaiveDate {
    SystemClock.today()
}

/// The answer to a POST whose CSRF token or origin is wrong.
pub(crate) fn refused_form(ctx: &Ctx) -> Response {
    layout::message_page(ctx, StatusCode::FORBIDDEN, T::BadForm, T::BadFormText)
}

/// A fresh id for a form, sent back as the request's idempotency key.
pub(crate) fn form_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
