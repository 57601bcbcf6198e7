//! `medclear-gateway`: the edge alone — the JSON API and the national interface — in front of
//! services running elsewhere. See `medclear-gateway --help`; every flag has an environment
//! variable (`GATEWAY_HTTP_ADDR`, `GATEWAY_TLS_DIR`, `FILING_ENDPOINT`, …), and the signing key
//! comes from `GATEWAY_SIGN_KEY`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let about = "The medclear edge: the JSON API and the national interface.";
    medclear_gateway::server::main("medclear-gateway", about, medclear_gateway::routes()).await
}
