//! `/api/v1/citizen/…`: citizens sign in with a one-time code (see [`crate::citizen`]).

use axum::{Json, extract::State, http::StatusCode};
use medclear_proto::routing::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use axum::Router;

use super::{
    AppState,
    error::ApiError,
    json::{Body, text},
};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInBody {
    #[serde(deserialize_with = "text")]
    certno: String,
    #[serde(deserialize_with = "text")]
    insuplc_admdvs: String,
}

/// Sends a one-time code to an insured person. The answer is the same whether or not the
/// certificate number is known, so the registry cannot be probed through it.
pub async fn sign_in(
    State(state): State<AppState>,
    Body(b): Body<SignInBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let certno = b.certno.trim().to_owned();
    if certno.is_empty() {
        return Err(ApiError::invalid("certno", "missing_field", "certno is required"));
    }
    let home = Some(b.insuplc_admdvs.trim()).filter(|h| !h.is_empty());
    let found = state
        .routing_for(home)
        .query_person(pb::QueryPersonRequest { certno: certno.clone(), psn_no: String::new() })
        .await;
    match found {
        Ok(person) => {
            let code = state
                .citizens()
                .issue_code(&certno, &person.into_inner().psn_no)
                .map_err(tonic::Status::from)?;
            // No SMS gateway yet: the code goes to the server's log (development).
            tracing::warn!(%certno, %code, "one-time sign-in code (no SMS delivery configured)");
        }
        Err(status) if status.code() == tonic::Code::NotFound => {}
        Err(status) => return Err(status.into()),
    }
    let ttl = crate::citizen::CODE_TTL.as_secs();
    Ok((StatusCode::ACCEPTED, Json(json!({ "sent": true, "expires_in_s": ttl }))))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VerifyBody {
    #[serde(deserialize_with = "text")]
    certno: String,
    #[serde(deserialize_with = "text")]
    code: String,
}

#[derive(Debug, Serialize)]
pub struct SignedIn {
    token: String,
    psn_no: String,
    /// Unix seconds.
    expires_at: u64,
}

/// Spends the code: a token for `Authorization: Bearer`.
pub async fn verify(
    State(state): State<AppState>,
    Body(b): Body<VerifyBody>,
) -> Result<Json<SignedIn>, ApiError> {
    match state.citizens().verify(b.certno.trim(), &b.code) {
        Ok((token, psn_no, expires_at)) => Ok(Json(SignedIn { token, psn_no, expires_at })),
        Err(reason) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            reason,
            match reason {
                "wrong_code" => "that is not the code sent",
                "code_expired" => "the code has expired or was tried too often: ask for a new one",
                _ => "no code was sent to this certificate number: ask for one",
            },
        )),
    }
}

/// The citizens area's routes.
pub fn router() -> Router<AppState> {
    use axum::routing::post;
    Router::new()
        .route("/api/v1/citizen/sign-in", post(sign_in))
        .route("/api/v1/citizen/verify", post(verify))
}
