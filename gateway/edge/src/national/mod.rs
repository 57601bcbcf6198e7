//! The national interface for hospital HIS (国家医保信息平台 定点医药机构接口):
//! `POST /fsi/api/rsfComIfsService/callService` takes the national envelope, runs the
//! transaction its `infno` names through the services' gRPC APIs, and answers in the national
//! envelope — `infcode` 0 with `output`, or -1 with `err_msg` (`reason: message`). Field
//! names, nesting and codes follow `docs/NATIONAL_INTERFACE.md`.
//!
//! Amounts travel in yuan. Before anything reads a body, every JSON number with a fraction or
//! an exponent is turned into a string of the same text ([`exact_numbers`]), so an amount is
//! read from its digits, never through a float; a string or a number are both accepted.
//! Amounts go out as JSON numbers with two decimals, written from integer fen.
//!
//! This module is the endpoint and one dispatch table (`HANDLERS`) from `infno` to handler;
//! [`TRANSACTIONS`] is read from it. The transactions live one module per family: `persons`
//! (1101), `pharmacy` (2101, 2102; 2103 is 2208's), `visits` (2201 / 2401, 2202 / 2404, 2402, 2405, 2203 / 2203A, 2403), `fees` (2204 / 2301,
//! 2205 / 2302), `settlement` (2206 / 2303, 2207 / 2304, 2208 / 2305, 2601), `filings`
//! (2001, 2501 / 2501A–2506, 5301, 5302), `catalogue` (1301 / 1302 / 1305–1311, 1312 / 1318 / 1319, 1317, 3301 / 3302),
//! `reconciliation` (3201, 3202, 3203, 3204), `queries` (1901, 5201, 5202, 5203, 5204, 5205, 5206), `settlement_list` (4101), `institutions` (1201), `sign_in` (9001, 9002) and `files` (9101, 9102). `envelope` holds
//! the envelope, the answer, and the readers they all share: the one place form is read
//! leniently.

use std::{future::Future, pin::Pin};

use axum::{
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::StatusCode,
    response::Response,
};
use chrono::Utc;

use crate::state::AppState;
use crate::{
    access::{Target, authorize},
    caller::Caller,
};

mod catalogue;
mod envelope;
mod failure;
mod fees;
mod files;
mod filings;
mod institutions;
mod persons;
mod pharmacy;
mod queries;
mod reconciliation;
mod settlement;
mod settlement_list;
mod sign_in;
mod visits;

pub use envelope::{Envelope, Refusal, exact_numbers, read_envelope};
use envelope::{Outcome, answer};
pub use files::{unzip_first, zip_one};

/// Where HIS systems send every transaction.
pub const PATH: &str = "/fsi/api/rsfComIfsService/callService";

/// The largest envelope read (a 2204 upload of a long inpatient stay is the largest).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// A transaction under way, borrowing the state and the envelope.
type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What runs a transaction.
#[derive(Debug, Clone, Copy)]
enum Handler {
    /// Answers in the national envelope, with the output it writes.
    Output(for<'a> fn(&'a AppState, &'a Envelope) -> Pending<'a, Outcome>),
    /// Answers with a file instead of an envelope (9102); a refusal still comes in one.
    File(for<'a> fn(&'a AppState, &'a Envelope) -> Pending<'a, Result<Response, Refusal>>),
}

/// What a transaction does, so what a lost answer means for it (see [`failure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Only reads: an answer lost changes nothing.
    Reads,
    /// Writes (or may: 3202 keeps its result file): an answer lost leaves its outcome unknown.
    Writes,
    /// Writes a settlement, whose outcome the settlement query (5203) also tells.
    Settles,
}
use Effect::{Reads, Settles, Writes};

/// The [`Handler::Output`] of an `async fn(&AppState, &Envelope) -> Outcome`.
macro_rules! output {
    ($run:path) => {
        Handler::Output(|state, envelope| Box::pin($run(state, envelope)))
    };
}

/// Every transaction this endpoint runs, by `infno`, in the order of the codes, with what it
/// does to the services' data ([`Effect`]: what an answer lost means) and its handler: the one
/// list of them.
const HANDLERS: &[(&str, Effect, Handler)] = &[
    ("1101", Reads, output!(persons::person_info)),
    ("1201", Reads, output!(institutions::institution_info)),
    ("1301", Reads, output!(catalogue::catalogue_file)),
    ("1302", Reads, output!(catalogue::catalogue_file)),
    ("1305", Reads, output!(catalogue::catalogue_file)),
    ("1306", Reads, output!(catalogue::catalogue_file)),
    ("1307", Reads, output!(catalogue::catalogue_file)),
    ("1308", Reads, output!(catalogue::catalogue_file)),
    ("1309", Reads, output!(catalogue::catalogue_file)),
    ("1310", Reads, output!(catalogue::catalogue_file)),
    ("1311", Reads, output!(catalogue::catalogue_file)),
    ("1312", Reads, output!(catalogue::coverage_query)),
    ("1317", Reads, output!(catalogue::institution_matching)),
    ("1318", Reads, output!(catalogue::coverage_query)),
    ("1319", Reads, output!(catalogue::coverage_query)),
    ("1901", Reads, output!(queries::dictionary_query)),
    ("2001", Reads, output!(filings::benefit_check)),
    ("2101", Reads, output!(pharmacy::presettle)),
    ("2102", Settles, output!(pharmacy::settle)),
    ("2103", Settles, output!(settlement::cancel_settlement)),
    ("2201", Writes, output!(visits::register)),
    ("2202", Writes, output!(visits::cancel_visit)),
    ("2203", Writes, output!(visits::visit_details)),
    ("2203A", Writes, output!(visits::visit_details)),
    ("2204", Writes, output!(fees::upload_fees)),
    ("2205", Writes, output!(fees::cancel_fees)),
    ("2206", Reads, output!(settlement::presettle)),
    ("2207", Settles, output!(settlement::settle)),
    ("2208", Settles, output!(settlement::cancel_settlement)),
    ("2301", Writes, output!(fees::upload_fees)),
    ("2302", Writes, output!(fees::cancel_fees)),
    ("2303", Reads, output!(settlement::presettle)),
    ("2304", Settles, output!(settlement::settle)),
    ("2305", Settles, output!(settlement::cancel_settlement)),
    ("2401", Writes, output!(visits::register)),
    ("2402", Writes, output!(visits::discharge)),
    ("2403", Writes, output!(visits::admission_change)),
    ("2404", Writes, output!(visits::cancel_visit)),
    ("2405", Writes, output!(visits::cancel_discharge)),
    ("2501", Writes, output!(filings::file_referral)),
    ("2501A", Writes, output!(filings::file_referral)),
    ("2502", Writes, output!(filings::revoke_filing)),
    ("2503", Writes, output!(filings::file_chronic)),
    ("2504", Writes, output!(filings::revoke_filing)),
    ("2505", Writes, output!(filings::file_designation)),
    ("2506", Writes, output!(filings::revoke_designation)),
    ("2601", Settles, output!(settlement::reverse)),
    ("3201", Reads, output!(reconciliation::reconcile_totals)),
    ("3202", Writes, output!(reconciliation::reconcile_details)),
    ("3203", Writes, output!(reconciliation::apply_for_clearing)),
    ("3204", Writes, output!(reconciliation::revoke_clearing_application)),
    ("3301", Writes, output!(catalogue::upload_mapping)),
    ("3302", Writes, output!(catalogue::revoke_mapping)),
    ("4101", Writes, output!(settlement_list::upload_list)),
    ("5201", Reads, output!(queries::visit_query)),
    ("5202", Reads, output!(queries::diagnosis_query)),
    ("5203", Reads, output!(queries::settlement_query)),
    ("5204", Reads, output!(queries::fee_query)),
    ("5205", Reads, output!(queries::medication_query)),
    ("5206", Reads, output!(queries::cumulative_query)),
    ("5301", Reads, output!(filings::chronic_filings)),
    ("5302", Reads, output!(filings::designations)),
    ("9001", Reads, output!(sign_in::sign_in)),
    ("9002", Writes, output!(sign_in::sign_out)),
    ("9101", Writes, output!(files::upload_file)),
    (
        "9102",
        Reads,
        Handler::File(|state, envelope| Box::pin(files::download_file(state, envelope))),
    ),
];

/// The transactions this endpoint runs: the codes of the dispatch table, in its order.
pub const TRANSACTIONS: [&str; HANDLERS.len()] = {
    let mut codes = [""; HANDLERS.len()];
    let mut i = 0;
    while i < HANDLERS.len() {
        codes[i] = HANDLERS[i].0;
        i += 1;
    }
    codes
};

/// The effect and handler of a transaction code.
fn handler(infno: &str) -> Option<(Effect, Handler)> {
    HANDLERS.iter().find(|(code, _, _)| *code == infno).map(|(_, effect, run)| (*effect, *run))
}

/// A refusal in the national envelope, for what refuses a call before its transaction runs
/// (the gateway's rate and time limits).
pub fn refusal(status: StatusCode, reason: &str, message: String) -> Response {
    answer(None, Utc::now(), &Err(Refusal::new(reason, message)), status)
}

/// The national interface's one endpoint, with its own body limit.
pub fn router() -> axum::Router<AppState> {
    use axum::{extract::DefaultBodyLimit, routing::post};
    axum::Router::new().route(PATH, post(call_service).layer(DefaultBodyLimit::max(MAX_BODY)))
}

/// `POST /fsi/api/rsfComIfsService/callService`.
pub async fn call_service(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let received = Utc::now();
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let too_large = rejection.status() == StatusCode::PAYLOAD_TOO_LARGE;
            let refusal = if too_large {
                Refusal::new(
                    "body_too_large",
                    format!("the envelope is larger than {MAX_BODY} bytes"),
                )
            } else {
                Refusal::new("unreadable_body", rejection.body_text())
            };
            let status =
                if too_large { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::BAD_REQUEST };
            return answer(None, received, &Err(refusal), status);
        }
    };
    let envelope = match read_envelope(&body) {
        Ok(envelope) => envelope,
        Err(refusal) => return answer(None, received, &Err(refusal), StatusCode::BAD_REQUEST),
    };
    if let Err((status, refusal)) = check_caller(&caller, &envelope) {
        return answer(Some(&envelope), received, &Err(refusal), status);
    }
    if let Err(refusal) = sign_in::check(state.sign_in(), &envelope, received) {
        return answer(Some(&envelope), received, &Err(refusal), StatusCode::OK);
    }
    // `read_envelope` has refused a code the table does not have.
    let Some((effect, run)) = handler(&envelope.infno) else {
        let refusal =
            Refusal::new("unknown_infno", format!("infno {} is not run here", envelope.infno));
        return answer(Some(&envelope), received, &Err(refusal), StatusCode::OK);
    };
    let outcome = match run {
        Handler::Output(run) => run(&state, &envelope).await,
        Handler::File(download) => match download(&state, &envelope).await {
            Ok(response) => return response,
            Err(refusal) => Err(refusal),
        },
    };
    // A service's answer lost: what it means for this transaction, and what the HIS does.
    let outcome = failure::for_transaction(&envelope.infno, effect, outcome);
    answer(Some(&envelope), received, &outcome, StatusCode::OK)
}

/// The caller must be the institution the envelope names (see [`crate::access`]): over
/// HTTPS, the one its client certificate names.
fn check_caller(caller: &Caller, envelope: &Envelope) -> Result<(), (StatusCode, Refusal)> {
    authorize(&caller.0, Target::Institution(envelope.fixmedins_code.trim())).map_err(|denied| {
        let status = if denied.reason == "unauthenticated" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        (status, Refusal::new(denied.reason, denied.message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dispatch_table_lists_each_code_once_in_order() {
        // An unknown infno is refused with this list, in this order.
        assert!(TRANSACTIONS.windows(2).all(|w| w[0] < w[1]), "{TRANSACTIONS:?}");
        // Only 9102 answers with something other than an envelope.
        let files: Vec<&str> = HANDLERS
            .iter()
            .filter(|(_, _, handler)| matches!(handler, Handler::File(_)))
            .map(|(code, _, _)| *code)
            .collect();
        assert_eq!(files, ["9102"]);
        assert!(handler("9999").is_none());
    }
}
