//! The web pages' access rules over plain HTTP (development) and HTTPS, as a browser meets
//! them: the citizen's cookie and one's own filings only, CSRF tokens, a province operator on
//! another province's page, the development operator sign-in that HTTPS does not have.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_gateway::{
    AppState,
    server::{self, Transport},
    tls::{self, TlsDir},
};
use reqwest::{StatusCode, redirect::Policy};
use serde_json::json;
use support::Harness;
use tokio::net::TcpListener;

const TODAY: &str = "2026-03-02";
const CERTNO: &str = "420202196001010016";

/// A browser without cookies of its own: every cookie is passed by hand.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

struct Answer {
    status: StatusCode,
    location: String,
    cookies: Vec<String>,
    body: String,
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let cookies = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    Answer { status, location, cookies, body: response.text().await.unwrap() }
}

async fn get(client: &reqwest::Client, url: &str, cookie: &str) -> Answer {
    answer(client.get(url).header("cookie", cookie).send().await.unwrap()).await
}

async fn post(client: &reqwest::Client, url: &str, cookie: &str, form: &[(&str, &str)]) -> Answer {
    answer(client.post(url).header("cookie", cookie).form(form).send().await.unwrap()).await
}

/// `name=value` of the `Set-Cookie` for `name`.
fn cookie_of(answer: &Answer, name: &str) -> String {
    let set = answer.cookies.iter().find(|c| c.starts_with(&format!("{name}="))).expect(name);
    set.split(';').next().unwrap().to_owned()
}

/// The value of the first `name="…" value="…"` hidden field.
fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).unwrap_or_else(|| panic!("no {name} in {body}")) + marker.len();
    body[start..][..body[start..].find('"').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_keep_citizens_and_provinces_to_their_own() {
    let h = Harness::start(TODAY).await;
    h.add_person(&support::person("P420200001", CERTNO, "420200")).await;
    h.add_person(&support::person("P420200002", "420202196001010038", "420200")).await;
    // One state behind a plain (development) and an HTTPS gateway: the same keys on both.
    let state = AppState::new(&h.upstreams()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(
        listener,
        state.clone(),
        medclear_cli::up::gateway_routes(),
        std::future::pending(),
    ));
    let b = browser();
    let url = |path: &str| format!("{base}{path}");

    // The landing page, in Chinese by default and in English when asked.
    let landing = get(&b, &url("/"), "").await;
    assert_eq!(landing.status, 200);
    assert!(landing.body.contains("<html lang=\"zh-CN\">"), "{}", landing.body);
    let english = get(&b, &url("/?lang=en"), "").await;
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(english.cookies.iter().any(|c| c.starts_with("medclear_lang=en")));
    let css = b.get(url("/assets/medclear.css")).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");

    // Unauthenticated: to the sign-in.
    let away = get(&b, &url("/citizen/filings"), "").await;
    assert_eq!((away.status, away.location.as_str()), (StatusCode::SEE_OTHER, "/citizen/sign-in"));

    // Sign in with a one-time code, shown on the page in development.
    let asked = post(&b, &url("/citizen/sign-in"), "", &[("certno", CERTNO)]).await;
    assert_eq!(
        (asked.status, asked.location.as_str()),
        (StatusCode::SEE_OTHER, "/citizen/sign-in/code")
    );
    let pending = cookie_of(&asked, "medclear_signin");
    let code_page = get(&b, &url("/citizen/sign-in/code"), &pending).await;
    let code = state.citizens().pending_code(CERTNO).unwrap();
    assert!(code_page.body.contains(&format!("<strong id=\"dev-code\">{code}</strong>")));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = post(&b, &url("/citizen/sign-in/code"), &pending, &[("code", wrong)]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.contains("id=\"code-error\""), "the error is at the field");
    let signed_in = post(&b, &url("/citizen/sign-in/code"), &pending, &[("code", &code)]).await;
    assert_eq!(
        (signed_in.status, signed_in.location.as_str()),
        (StatusCode::SEE_OTHER, "/citizen/filings")
    );
    let set = signed_in.cookies.iter().find(|c| c.starts_with("medclear_citizen=")).unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    assert!(!set.contains("Secure"), "plain HTTP: not Secure");
    let citizen = cookie_of(&signed_in, "medclear_citizen");

    // File through the form: a wrong CSRF token is refused and writes nothing.
    let form_page = get(&b, &url("/citizen/filings/new"), &citizen).await;
    assert_eq!(form_page.status, 200);
    assert!(form_page.body.contains("<label for=\"mdtrtarea_admvs\">"));
    // Where: provinces and cities (a city's filing covers its counties), not every county.
    let offered = form_page.body.matches("<option value=\"").count();
    assert!(offered > 371 && offered < 400, "{offered} options");
    assert!(form_page.body.contains("<option value=\"110000\">"));
    assert!(form_page.body.contains("<option value=\"440300\">"));
    assert!(!form_page.body.contains("<option value=\"110101\">"), "a county is not offered");
    let csrf = hidden(&form_page.body, "csrf");
    let filing = |csrf: String, destination: &'static str, request_id: &'static str| {
        let (b, url, citizen) = (b.clone(), url("/citizen/filings/new"), citizen.clone());
        async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("request_id", request_id),
                ("category", "referral"),
                ("mdtrtarea_admvs", destination),
                ("begin_date", TODAY),
                ("end_date", ""),
                ("memo", ""),
            ];
            post(&b, &url, &citizen, &fields).await
        }
    };
    let forged = filing("00".repeat(32), "440300", "R0").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let missing = filing(String::new(), "440300", "R0").await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert_eq!(h.count("filings").await, 0, "nothing filed");
    let cross_site = answer(
        b.post(url("/citizen/filings/new"))
            .header("cookie", &citizen)
            .header("origin", "https://evil.example")
            .form(&[("csrf", csrf.as_str()), ("category", "referral")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN, "another site's form");
    let filed = filing(csrf.clone(), "440300", "R1").await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.body);
    assert!(filed.location.starts_with("/citizen/filings/F"), "{}", filed.location);
    let own = get(&b, &url(&filed.location), &citizen).await;
    assert_eq!(own.status, 200);
    assert!(own.body.contains("class=\"notice\""), "the filing was made");
    // The same province as home: the error is next to the destination field.
    let invalid = filing(csrf.clone(), "420000", "R2").await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(
        invalid.body.contains("<p class=\"error\" id=\"mdtrtarea_admvs-error\">"),
        "{}",
        invalid.body
    );
    assert!(invalid.body.contains("aria-invalid=\"true\""));
    assert_eq!(h.count("filings").await, 1);

    // Another person's filing, by URL or by form: 403, nothing revoked.
    let (status, theirs) = h
        .post(
            "/api/v1/filings",
            &json!({"psn_no": "P420200002", "psn_name": "李四", "insuplc_admdvs": "420200",
                "mdtrtarea_admvs": "440300", "category": "referral", "begin_date": TODAY}),
        )
        .await;
    assert_eq!(status, 201, "{theirs}");
    let theirs = theirs["filing_id"].as_str().unwrap();
    let peek = get(&b, &url(&format!("/citizen/filings/{theirs}")), &citizen).await;
    assert_eq!(peek.status, StatusCode::FORBIDDEN);
    assert!(!peek.body.contains("class=\"facts\""), "nothing of it shown: {}", peek.body);
    let revoke =
        post(&b, &url(&format!("/citizen/filings/{theirs}/revoke")), &citizen, &[("csrf", &csrf)])
            .await;
    assert_eq!(revoke.status, StatusCode::FORBIDDEN);
    let (_, still) = h.get(&format!("/api/v1/filings/{theirs}")).await;
    assert_eq!(still["status"], "active");
    // A forged citizen cookie is nobody: to the sign-in.
    let forged = citizen.replace("P420200001", "P420200002");
    let away = get(&b, &url("/citizen/filings"), &forged).await;
    assert_eq!(away.location, "/citizen/sign-in");
    // The listing shows the own filing only.
    let list = get(&b, &url("/citizen/filings"), &citizen).await;
    assert_eq!(list.body.matches("data-filing-id=").count(), 1, "{}", list.body);

    // Operators: the development sign-in, then only their own province.
    let signed = post(&b, &url("/bureau/sign-in"), "", &[("who", "420000")]).await;
    assert_eq!(
        (signed.status, signed.location.as_str()),
        (StatusCode::SEE_OTHER, "/bureau/420000")
    );
    let op42 = cookie_of(&signed, "medclear_operator");
    let own = get(&b, &url("/bureau/420000"), &op42).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(
        own.body.contains("<svg") && own.body.contains("class=\"bar level\""),
        "the fund gauge"
    );
    for path in ["/bureau/440000", "/bureau/national", "/bureau/440000/periods/2026-03"] {
        let other = get(&b, &url(path), &op42).await;
        assert_eq!(other.status, StatusCode::FORBIDDEN, "{path}");
    }
    let confirm =
        post(&b, &url("/bureau/440000/periods/2026-03/confirm"), &op42, &[("csrf", &csrf)]).await;
    assert_eq!(confirm.status, StatusCode::FORBIDDEN, "another province's confirmation");
    // The citizen's cookie opens no bureau page; the operator's no citizen page.
    assert_eq!(get(&b, &url("/bureau/420000"), &citizen).await.location, "/bureau/sign-in");
    assert_eq!(get(&b, &url("/citizen/filings"), &op42).await.location, "/citizen/sign-in");
    let tampered = op42.replace("420000", "440000");
    assert_eq!(get(&b, &url("/bureau/440000"), &tampered).await.location, "/bureau/sign-in");
    let national = post(&b, &url("/bureau/sign-in"), "", &[("who", "000000")]).await;
    let op00 = cookie_of(&national, "medclear_operator");
    assert_eq!(get(&b, &url("/bureau/national"), &op00).await.status, 200);
    assert_eq!(get(&b, &url("/bureau/440000"), &op00).await.status, 200, "oversight");
    assert_eq!(post(&b, &url("/bureau/sign-in"), "", &[("who", "420200")]).await.status, 400);

    // Over HTTPS: no development sign-in, the development cookie means nothing, the
    // certificate decides, and the citizen's cookie is Secure.
    let dir = TlsDir(std::env::temp_dir().join(format!("medclear-pages-{}", std::process::id())));
    tls::issue_ca(&dir).unwrap();
    tls::issue_server(&dir, &["127.0.0.1".into()]).unwrap();
    tls::issue_client(&dir, "OP-420000").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let secure = format!("https://{}", listener.local_addr().unwrap());
    let transport = Transport::choose(Some(&dir), &"0.0.0.0:443".parse().unwrap()).unwrap();
    tokio::spawn(server::serve_over(
        transport,
        listener,
        state.clone(),
        medclear_cli::up::gateway_routes(),
        std::future::pending(),
    ));
    let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.ca_cert()).unwrap()).unwrap();
    let https = |identity: Option<&str>| {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(Policy::none())
            .add_root_certificate(ca.clone());
        if let Some(name) = identity {
            let (cert, key) = dir.institution(name);
            let mut pem = std::fs::read(cert).unwrap();
            pem.extend(std::fs::read(key).unwrap());
            builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
        }
        builder.build().unwrap()
    };
    let anonymous = https(None);
    let s = |path: &str| format!("{secure}{path}");
    assert_eq!(get(&anonymous, &s("/bureau/sign-in"), "").await.status, StatusCode::NOT_FOUND);
    let sign_in = post(&anonymous, &s("/bureau/sign-in"), "", &[("who", "000000")]).await;
    assert_eq!(sign_in.status, StatusCode::NOT_FOUND);
    assert!(sign_in.cookies.is_empty());
    let with_dev_cookie = get(&anonymous, &s("/bureau/420000"), &op00).await;
    assert_eq!(with_dev_cookie.status, StatusCode::UNAUTHORIZED, "a certificate is needed");
    let operator = https(Some("OP-420000"));
    assert_eq!(get(&operator, &s("/bureau/420000"), "").await.status, 200);
    assert_eq!(get(&operator, &s("/bureau/440000"), &op00).await.status, StatusCode::FORBIDDEN);
    let secure_code = post(&anonymous, &s("/citizen/sign-in"), "", &[("certno", CERTNO)]).await;
    assert!(secure_code.cookies.iter().any(|c| c.contains("Secure")));
    let code_page =
        get(&anonymous, &s("/citizen/sign-in/code"), &cookie_of(&secure_code, "medclear_signin"))
            .await;
    assert_eq!(code_page.status, 200);
    assert!(!code_page.body.contains("dev-code"), "never shown over HTTPS");
    let code = state.citizens().pending_code(CERTNO).unwrap();
    let pending = cookie_of(&secure_code, "medclear_signin");
    let signed_in =
        post(&anonymous, &s("/citizen/sign-in/code"), &pending, &[("code", &code)]).await;
    let set = signed_in.cookies.iter().find(|c| c.starts_with("medclear_citizen=")).unwrap();
    assert!(set.ends_with("; Secure"), "{set}");
    let mine =
        get(&anonymous, &s("/citizen/filings"), &cookie_of(&signed_in, "medclear_citizen")).await;
    assert_eq!(mine.status, 200);
    std::fs::remove_dir_all(&dir.0).unwrap();
    h.finish().await;
}
