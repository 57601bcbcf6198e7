//! Bureaus' policies through the gateway, as an operator meets them: over HTTPS with client
//! certificates, Hubei's operator checks a document (a bad ratio is refused by its field),
//! may not draft for another province, drafts, publishes and finds its version listed, and
//! reads back the very document; the national operator may not publish a region's draft, a
//! hospital may not read policies. Then the pages in development: the editor, a bad ratio
//! shown beside its line, a draft saved, previewed and published. (What a policy pays is the
//! calculator's tests'; what it changes in settlements, the routing service's.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medclear_gateway::{
    AppState,
    server::{self, Transport},
    tls::{self, TlsDir},
};
use reqwest::{StatusCode, redirect::Policy};
use serde_json::{Value, json};
use support::Harness;
use tokio::net::TcpListener;

const TODAY: &str = "2026-03-02";
const HOSPITAL: &str = "H42020000001";

/// The path (`a.b[0].c`) of the first `ratio` text in a document.
fn ratio_path(value: &Value, path: &str) -> Option<String> {
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match value {
        Value::Object(fields) => {
            if let Some(Value::String(_)) = fields.get("ratio") {
                return Some(join("ratio"));
            }
            fields.iter().find_map(|(key, v)| ratio_path(v, &join(key)))
        }
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| ratio_path(v, &format!("{path}[{i}]")))
        }
        _ => None,
    }
}

/// `a.b[0].c` as a JSON pointer.
fn pointer(path: &str) -> String {
    format!("/{}", path.replace('[', ".").replace(']', "").replace('.', "/"))
}

/// The document with its first ratio above 1, and that ratio's path.
fn with_bad_ratio(document: &Value) -> (Value, String) {
    // An inpatient pooling ratio when there is one (`inpatient.bands[0].segments[0].ratio`).
    let path = ratio_path(&document["inpatient"], "inpatient")
        .or_else(|| ratio_path(document, ""))
        .expect("a policy has ratios");
    let mut bad = document.clone();
    *bad.pointer_mut(&pointer(&path)).unwrap() = json!("1.50");
    (bad, path)
}

fn client(dir: &TlsDir, name: Option<&str>) -> reqwest::Client {
    let ca = std::fs::read(dir.ca_cert()).unwrap();
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(Policy::none())
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
    if let Some(name) = name {
        let (cert, key) = dir.institution(name);
        let mut pem = std::fs::read(cert).unwrap();
        pem.extend(std::fs::read(key).unwrap());
        builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Hubei's Huangshi employees' policy in force today, as a new version from next month.
async fn next_version(h: &Harness, label: &str) -> Value {
    let path = format!("/api/v1/policies/resolve?region=420200&insutype=310&date={TODAY}");
    let (status, current) = h.get(&path).await;
    assert_eq!(status, 200, "{current}");
    let id = current["policy_id"].as_str().unwrap();
    let (status, stored) = h.get(&format!("/api/v1/policies/{id}")).await;
    assert_eq!(status, 200, "{stored}");
    assert!(stored.get("document_json").is_none(), "the document as JSON, not as text");
    let mut document = stored["document"].clone();
    assert!(document.is_object(), "{stored}");
    let fields = document.as_object_mut().unwrap();
    fields.insert("region".into(), json!("420200"));
    fields.insert("version".into(), json!(label));
    fields.insert("begin_date".into(), json!("2026-04-01"));
    fields.insert("kind".into(), json!("policy"));
    document
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_publishes_its_own_regions_policies_only() {
    let h = Harness::start(TODAY).await;
    let dir =
        TlsDir(std::env::temp_dir().join(format!("medclear-policies-{}", std::process::id())));
    tls::issue_ca(&dir).unwrap();
    tls::issue_server(&dir, &["127.0.0.1".into()]).unwrap();
    for name in ["OP-420000", "OP-000000", HOSPITAL] {
        tls::issue_client(&dir, name).unwrap();
    }
    let state = AppState::new(&h.upstreams()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("https://{}", listener.local_addr().unwrap());
    let transport = Transport::choose(Some(&dir), &"0.0.0.0:443".parse().unwrap()).unwrap();
    tokio::spawn(server::serve_over(
        transport,
        listener,
        state,
        medclear_cli::up::gateway_routes(),
        std::future::pending(),
    ));
    let hubei = client(&dir, Some("OP-420000"));
    let national = client(&dir, Some("OP-000000"));
    let hospital = client(&dir, Some(HOSPITAL));
    let url = |path: &str| format!("{root}{path}");
    let document = next_version(&h, "2026-test").await;

    // A ratio above 1: not valid, said of that very field.
    let (bad, path) = with_bad_ratio(&document);
    let (status, answer) =
        json_of(hubei.post(url("/api/v1/policies/validate")).json(&bad).send().await.unwrap())
            .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["valid"], false, "{answer}");
    let fields: Vec<&str> =
        answer["problems"].as_array().unwrap().iter().filter_map(|p| p["field"].as_str()).collect();
    assert!(fields.contains(&path.as_str()), "{path} not in {answer}");
    // Not JSON: the usual error, before any service sees it.
    let (status, answer) = json_of(
        hubei.post(url("/api/v1/policies/validate")).body("{\"region\": ").send().await.unwrap(),
    )
    .await;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (400, Some("malformed_json")));

    // Another province's region: refused by the gateway, nothing kept.
    let mut shenzhen = document.clone();
    shenzhen["region"] = json!("440300");
    let (status, answer) =
        json_of(hubei.post(url("/api/v1/policies/drafts")).json(&shenzhen).send().await.unwrap())
            .await;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (403, Some("forbidden")), "{answer}");
    // An invalid draft: the usual 400, with the field.
    let (status, answer) =
        json_of(hubei.post(url("/api/v1/policies/drafts")).json(&bad).send().await.unwrap()).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], "invalid_policy", "{answer}");
    assert!(answer["field"].is_string(), "{answer}");

    // Drafted, then published.
    let (status, check) =
        json_of(hubei.post(url("/api/v1/policies/validate")).json(&document).send().await.unwrap())
            .await;
    assert_eq!((status.as_u16(), &check["valid"]), (200, &json!(true)), "{check}");
    let (status, draft) =
        json_of(hubei.post(url("/api/v1/policies/drafts")).json(&document).send().await.unwrap())
            .await;
    assert_eq!(status, 201, "{draft}");
    let id = draft["policy_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("420200-310-"), "{id}");
    assert_eq!(check["policy_id"], draft["policy_id"], "the id validation said it would have");
    assert_eq!(
        (draft["status"].as_str(), draft["region"].as_str()),
        (Some("draft"), Some("420200"))
    );
    let listed = |versions: &Value, id: &str| {
        versions["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["policy_id"] == id)
            .map(|v| v["status"].as_str().unwrap().to_owned())
    };
    let (_, versions) =
        json_of(hubei.get(url("/api/v1/policies?region=420200")).send().await.unwrap()).await;
    assert_eq!(listed(&versions, &id), None, "a draft is listed only when asked: {versions}");
    let (_, versions) = json_of(
        hubei.get(url("/api/v1/policies?region=420200&include_drafts=true")).send().await.unwrap(),
    )
    .await;
    assert_eq!(listed(&versions, &id).as_deref(), Some("draft"), "{versions}");

    // The very document comes back.
    let (status, stored) =
        json_of(hubei.get(url(&format!("/api/v1/policies/{id}"))).send().await.unwrap()).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["document"], document);
    assert_eq!(stored["status"], "draft");

    // The national operator reads it but does not publish a region's policy.
    let (status, _) =
        json_of(national.get(url(&format!("/api/v1/policies/{id}"))).send().await.unwrap()).await;
    assert_eq!(status, 200, "oversight");
    let (status, answer) = json_of(
        national.post(url(&format!("/api/v1/policies/{id}/publish"))).send().await.unwrap(),
    )
    .await;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (403, Some("forbidden")), "{answer}");
    // Hospitals read no policies.
    let (status, _) = json_of(hospital.get(url("/api/v1/policies")).send().await.unwrap()).await;
    assert_eq!(status, 403);
    let (status, _) =
        json_of(hospital.get(url(&format!("/api/v1/policies/{id}"))).send().await.unwrap()).await;
    assert_eq!(status, 403);

    let (status, published) =
        json_of(hubei.post(url(&format!("/api/v1/policies/{id}/publish"))).send().await.unwrap())
            .await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(
        (published["policy_id"].as_str(), published["status"].as_str()),
        (Some(id.as_str()), Some("published"))
    );
    let by = published["published_by"].as_str().unwrap();
    assert!(by.starts_with("OP-420000"), "the certificate's operator: {by}");
    let (_, versions) = json_of(hubei.get(url("/api/v1/policies")).send().await.unwrap()).await;
    assert_eq!(listed(&versions, &id).as_deref(), Some("published"), "{versions}");
    assert!(
        versions["versions"].as_array().unwrap().iter().all(|v| {
            let region = v["region"].as_str().unwrap();
            region.starts_with("42") || region == "000000" || v["kind"] == "floors"
        }),
        "only Hubei's regions and national documents: {versions}"
    );
    let resolve = "/api/v1/policies/resolve?region=420200&insutype=310&date=2026-04-01";
    let (status, in_force) = json_of(hubei.get(url(resolve)).send().await.unwrap()).await;
    assert_eq!((status.as_u16(), in_force["policy_id"].as_str()), (200, Some(id.as_str())));

    // The national default is the national operator's: Hubei may read it, not draft it.
    let path = format!("/api/v1/policies/resolve?region=000000&insutype=310&date={TODAY}");
    let (status, default) = json_of(hubei.get(url(&path)).send().await.unwrap()).await;
    assert_eq!(status, 200, "{default}");
    let default_id = default["policy_id"].as_str().unwrap();
    assert!(default_id.starts_with("000000-310-"), "{default_id}");
    let (_, stored) =
        json_of(national.get(url(&format!("/api/v1/policies/{default_id}"))).send().await.unwrap())
            .await;
    let mut next = stored["document"].clone();
    next["version"] = json!("2026-national-test");
    next["begin_date"] = json!("2026-04-01");
    let (status, answer) =
        json_of(hubei.post(url("/api/v1/policies/drafts")).json(&next).send().await.unwrap()).await;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (403, Some("forbidden")), "{answer}");
    let (status, draft) =
        json_of(national.post(url("/api/v1/policies/drafts")).json(&next).send().await.unwrap())
            .await;
    assert_eq!(status, 201, "{draft}");
    let national_id = draft["policy_id"].as_str().unwrap();
    let publish = url(&format!("/api/v1/policies/{national_id}/publish"));
    let (status, answer) = json_of(hubei.post(publish.clone()).send().await.unwrap()).await;
    assert_eq!((status.as_u16(), answer["code"].as_str()), (403, Some("forbidden")), "{answer}");
    let (status, published) = json_of(national.post(publish).send().await.unwrap()).await;
    assert_eq!((status.as_u16(), published["status"].as_str()), (200, Some("published")));
    std::fs::remove_dir_all(&dir.0).unwrap();
    h.finish().await;
}

/// A browser without cookies of its own.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// The value of the first `name="…" value="…"` hidden field.
fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).unwrap_or_else(|| panic!("no {name} in {body}")) + marker.len();
    body[start..][..body[start..].find('"').unwrap()].to_owned()
}

/// The `<li>` of line `n` of the numbered document on a page.
fn line_item(body: &str, n: usize) -> &str {
    let start = body.find(&format!("<li id=\"line-{n}\"")).unwrap_or_else(|| panic!("no line {n}"));
    let rest = &body[start..];
    &rest[..rest.find("</li>").unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_pages_show_problems_beside_their_lines() {
    let h = Harness::start(TODAY).await;
    let b = browser();
    let signed = b.post(h.url("/bureau/sign-in")).form(&[("who", "420000")]).send().await.unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let set = signed.headers()["set-cookie"].to_str().unwrap();
    let cookie = set.split(';').next().unwrap().to_owned();
    let get = |path: String| {
        let (b, cookie, url) = (b.clone(), cookie.clone(), h.url(&path));
        async move {
            let response = b.get(url).header("cookie", cookie).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let own = get("/bureau/420000".into()).await;
    assert!(own.1.contains("href=\"/bureau/policies\""), "the way to the policies");

    let (status, form) = get("/bureau/policies/new".into()).await;
    assert_eq!(status, 200, "{form}");
    assert!(form.contains("<textarea id=\"document\" name=\"document\""), "{form}");
    let csrf = hidden(&form, "csrf");
    let document = next_version(&h, "2026-page").await;
    let post = |fields: Vec<(&'static str, String)>| {
        let (b, cookie, url) = (b.clone(), cookie.clone(), h.url("/bureau/policies/new"));
        async move {
            let response = b.post(url).header("cookie", cookie).form(&fields).send().await.unwrap();
            let location = response
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (response.status(), location, response.text().await.unwrap())
        }
    };

    // A bad ratio: the problem at the top and beside the line of that ratio.
    let (bad, path) = with_bad_ratio(&document);
    let text = serde_json::to_string_pretty(&bad).unwrap();
    let line = 1 + text.lines().position(|l| l.contains("\"1.50\"")).unwrap();
    let (status, _, page) = post(vec![
        ("csrf", csrf.clone()),
        ("document", text.replace('\n', "\r\n")),
        ("action", "validate".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("id=\"errors\""), "{page}");
    assert!(page.contains(&format!("href=\"#line-{line}\"")), "the summary links to the line");
    let item = line_item(&page, line);
    assert!(item.starts_with(&format!("<li id=\"line-{line}\" class=\"bad\">")), "{item}");
    assert!(item.contains(&format!("data-field=\"{path}\"")), "{item}");
    assert!(item.contains(&format!("{path}: ")), "the message beside the line: {item}");
    assert!(!line_item(&page, 1).contains("class=\"bad\""), "only the line of the problem");
    // Not JSON: the line of the syntax error.
    let (status, _, page) = post(vec![
        ("csrf", csrf.clone()),
        ("document", "{\n  \"region\": \"420200\",\n  oops\n}".into()),
        ("action", "validate".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(line_item(&page, 3).contains("class=\"bad\""), "{page}");
    // Another province's region: refused for who acts, beside the region.
    let mut shenzhen = document.clone();
    shenzhen["region"] = json!("440300");
    let text = serde_json::to_string_pretty(&shenzhen).unwrap();
    let line = 1 + text.lines().position(|l| l.contains("\"region\": \"440300\"")).unwrap();
    let (status, _, page) =
        post(vec![("csrf", csrf.clone()), ("document", text), ("action", "draft".into())]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(line_item(&page, line).contains("data-field=\"region\""), "{page}");
    // A wrong CSRF token keeps nothing.
    let (status, _, _) = post(vec![
        ("csrf", "00".repeat(32)),
        ("document", serde_json::to_string_pretty(&document).unwrap()),
        ("action", "draft".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Valid, then saved as a draft, previewed and published.
    let text = serde_json::to_string_pretty(&document).unwrap();
    let (status, _, page) = post(vec![
        ("csrf", csrf.clone()),
        ("document", text.clone()),
        ("action", "validate".into()),
    ])
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"valid-notice\""), "{page}");
    let (status, location, page) =
        post(vec![("csrf", csrf.clone()), ("document", text), ("action", "draft".into())]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert!(location.starts_with("/bureau/policies/420200-310-"), "{location}");
    let id = location.trim_start_matches("/bureau/policies/").split('?').next().unwrap().to_owned();
    let (status, page) = get(location.clone()).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("data-status=\"draft\"") && page.contains("id=\"publish-form\""));
    assert!(page.contains("id=\"preview-form\""));
    let (status, list) = get("/bureau/policies".into()).await;
    assert_eq!(status, 200);
    assert!(list.contains(&format!("data-policy-id=\"{id}\" data-status=\"draft\"")), "{list}");
    let (status, preview) = get(format!("/bureau/policies/{id}/preview?period=2026-02")).await;
    assert_eq!(status, 200, "{preview}");
    assert!(preview.contains("<svg") && preview.contains("id=\"funds\""), "{preview}");
    let csv = b
        .get(h.url(&format!("/bureau/policies/{id}/preview.csv?period=2026-02")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(csv.text().await.unwrap().starts_with("section,key,settlements,"));
    let (status, _) = get(format!("/bureau/policies/{id}/preview?period=2026-13")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not a month");

    let publish = b
        .post(h.url(&format!("/bureau/policies/{id}/publish")))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(publish.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(format!("/bureau/policies/{id}")).await;
    assert!(page.contains("data-status=\"published\""), "{page}");
    assert!(!page.contains("id=\"publish-form\""), "published once");
    // The editor starts from a version, laid out.
    let (status, form) = get(format!("/bureau/policies/new?from={id}")).await;
    assert_eq!(status, 200);
    assert!(form.contains("\n  &quot;region&quot;: &quot;420200&quot;"), "{form}");
    // Another province's operator sees none of it.
    let guangdong =
        b.post(h.url("/bureau/sign-in")).form(&[("who", "440000")]).send().await.unwrap();
    let set = guangdong.headers()["set-cookie"].to_str().unwrap();
    let other = set.split(';').next().unwrap().to_owned();
    let peek = b
        .get(h.url(&format!("/bureau/policies/{id}")))
        .header("cookie", other)
        .send()
        .await
        .unwrap();
    assert_eq!(peek.status(), StatusCode::FORBIDDEN);
    h.finish().await;
}

/// `medclear policies <args>`.
async fn cli(args: &[&str]) -> medclear_common::Result<()> {
    #[derive(Debug, clap::Parser)]
    struct Command {
        #[command(flatten)]
        args: medclear_cli::policies_cli::PoliciesArgs,
    }
    let parsed = <Command as clap::Parser>::try_parse_from(
        std::iter::once("policies").chain(args.iter().copied()),
    )
    .unwrap();
    medclear_cli::policies_cli::run(parsed.args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_checks_drafts_previews_and_publishes() {
    let h = Harness::start(TODAY).await;
    let dir = std::env::temp_dir().join(format!("medclear-policies-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, document: &Value| {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_string_pretty(document).unwrap()).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let document = next_version(&h, "2026-cli").await;
    let (bad, _) = with_bad_ratio(&document);
    let (good, bad) = (file("good.json", &document), file("bad.json", &bad));
    let endpoint = h.routing_grpc.as_str();
    let hubei = ["--province", "420000", "--operator", "ops1", "--endpoint", endpoint];
    let with = |args: &[&'static str]| [args, &hubei[..]].concat();

    let refused = cli(&[&["validate", bad.as_str()][..], &hubei].concat()).await.unwrap_err();
    assert!(refused.to_string().starts_with("invalid_policy"), "{refused}");
    cli(&[&["validate", good.as_str()][..], &hubei].concat()).await.unwrap();
    // Another province's operator.
    let guangdong = ["--province", "440000", "--endpoint", endpoint];
    let refused = cli(&[&["draft", good.as_str()][..], &guangdong].concat()).await.unwrap_err();
    assert!(refused.to_string().starts_with("forbidden"), "{refused}");
    cli(&[&["draft", good.as_str()][..], &hubei].concat()).await.unwrap();
    let (_, versions) = h.get("/api/v1/policies?region=420200&include_drafts=true").await;
    let draft = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["label"] == "2026-cli")
        .unwrap_or_else(|| panic!("the draft is listed: {versions}"));
    let id = draft["policy_id"].as_str().unwrap().to_owned();
    assert_eq!(draft["status"], "draft");
    cli(&[&["show", id.as_str()][..], &hubei].concat()).await.unwrap();
    cli(&with(&["list", "--drafts"])).await.unwrap();
    let csv = dir.join("preview.csv");
    let csv_path = csv.to_str().unwrap();
    cli(&[&["preview", id.as_str(), "--period", "2026-02", "--csv", csv_path][..], &hubei].concat())
        .await
        .unwrap();
    let written = std::fs::read_to_string(&csv).unwrap();
    assert!(written.starts_with("section,key,settlements,before_yuan,after_yuan,change_yuan"));
    cli(&[&["publish", id.as_str()][..], &hubei].concat()).await.unwrap();
    let (_, stored) = h.get(&format!("/api/v1/policies/{id}")).await;
    assert_eq!(stored["status"], "published");
    let missing = cli(&with(&["show", "420200-310-000000000000"])).await.unwrap_err();
    assert!(missing.to_string().starts_with("policy_not_found"), "{missing}");
    cli(&["verify", "--period", "2026-02", "--endpoint", endpoint]).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    h.finish().await;
}
