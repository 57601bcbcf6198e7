//! `medclear-pages`: the citizen and bureau pages behind the edge (`/healthz`, `/metrics`,
//! limits, HTTPS with client certificates), in front of services running elsewhere; it takes
//! the same flags and variables as `medclear-gateway` (see `medclear-pages --help`).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let about = "The medclear pages for citizens and bureaus.";
    medclear_gateway::server::main("medclear-pages", about, medclear_pages::routes()).await
}
