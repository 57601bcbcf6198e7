//! The pages in a real browser: headless Chromium driven through chromedriver (WebDriver),
//! against the whole system started in-process. A citizen signs in with the code the page
//! shows in development, files through the form, sees the filing, sends a wrong one and sees
//! the error beside its field, and cannot open another person's filing; a province operator
//! opens a netted period and sees the chart of its counterparts, confirms, and cannot open
//! another province's page. Screenshots of each page (one phone-sized) are written under
//! `<target>/screenshots/`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian packages `chromium` and
//! `chromium-driver`; `.ci/run` installs them): without them this test fails, saying so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use support::{Admission, Harness, obligation};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const SHENZHEN_HOSPITAL: &str = "H44030000001";
const HUANGSHI_HOSPITAL: &str = "H42020000001";
const CERTNO: &str = "420202196001010016";

/// Today in China: the services' clock, so the form's default start date is valid.
fn today() -> String {
    chrono::Utc::now().with_timezone(&medclear_common::clock::CHINA).date_naive().to_string()
}

/// chromedriver, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_chromedriver() -> Driver {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: the browser test needs Chromium and chromedriver \
             (apt-get install -y chromium chromium-driver; .ci/run installs them)"
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "chromedriver did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver { child, url: format!("http://127.0.0.1:{port}") }
}

/// Where screenshots go: `$CARGO_TARGET_DIR/screenshots`, else the workspace's `target/`.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn browser(driver: &Driver, profile: &Path) -> Client {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
        &format!("--user-data-dir={}", profile.display()),
    ];
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert("goog:chromeOptions".into(), json!({"binary": CHROMIUM, "args": args}));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session through chromedriver")
}

struct Shots {
    dir: PathBuf,
    taken: Vec<PathBuf>,
}

impl Shots {
    async fn take(&mut self, client: &Client, name: &str) {
        let png = client.screenshot().await.unwrap();
        let path = self.dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        self.taken.push(path);
    }
}

/// Waits until the browser is at a path for which `done` holds (after a form's redirect).
async fn wait_for_path(client: &Client, done: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let url = client.current_url().await.unwrap();
        if done(url.path()) {
            return url.path().to_owned();
        }
        if tokio::time::Instant::now() > deadline {
            panic!("stuck at {url}: {}", client.source().await.unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the page has an element for `css` (a form's answer has loaded).
async fn wait_for(client: &Client, css: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while client.find(Locator::Css(css)).await.is_err() {
        if tokio::time::Instant::now() > deadline {
            panic!("no {css} in {}", client.source().await.unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn submit(client: &Client, form: &str) {
    client
        .find(Locator::Css(&format!("{form} button[type=submit]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizens_and_bureaus_use_the_pages_in_chromium() {
    let driver = start_chromedriver();
    let today = today();
    let period = &today[..7];
    let h = Harness::start(&today).await;
    h.seed_drug(&[SHENZHEN_HOSPITAL, HUANGSHI_HOSPITAL]).await;
    h.add_person(&support::person("P420200001", CERTNO, "420200")).await;
    h.add_person(&support::person("P440300001", "440301197001010013", "440300")).await;
    // Hubei → Guangdong and Guangdong → Hubei, then the period closed and netted.
    let hubei_owes = obligation(
        &h.settle_admission(
            &today,
            &Admission {
                tag: "1",
                psn_no: "P420200001",
                home: "420200",
                hospital: SHENZHEN_HOSPITAL,
                treating: "440300",
                price_fen: 200_000,
            },
        )
        .await,
    );
    let hubei_is_owed = obligation(
        &h.settle_admission(
            &today,
            &Admission {
                tag: "2",
                psn_no: "P440300001",
                home: "440300",
                hospital: HUANGSHI_HOSPITAL,
                treating: "420200",
                price_fen: 300_000,
            },
        )
        .await,
    );
    support::eventually(&h, "/api/v1/clearing/periods?status=open", |a| {
        a["periods"][0]["settlement_count"] == 2
    })
    .await;
    let national = json!({"actor": {"id": "ops1", "name": "国家清算", "admdvs": ""}});
    let periods = format!("/api/v1/clearing/periods/{period}");
    assert_eq!(h.post(&format!("{periods}/close"), &national).await.0, 200);
    assert_eq!(h.post(&format!("{periods}/net"), &national).await.0, 200);
    // Another person's filing, to be refused by URL.
    let (status, theirs) = h
        .post(
            "/api/v1/filings",
            &json!({"psn_no": "P440300001", "psn_name": "李四", "insuplc_admdvs": "440300",
                "mdtrtarea_admvs": "420000", "category": "referral", "begin_date": today}),
        )
        .await;
    assert_eq!(status, 201, "{theirs}");
    let theirs = theirs["filing_id"].as_str().unwrap().to_owned();

    let profile = tempdir("profile");
    let client = browser(&driver, &profile).await;
    let mut shots = Shots { dir: screenshot_dir(), taken: Vec::new() };
    let url = |path: &str| format!("{}{path}", h.base);

    // The citizen, in Chinese: sign in with the code the page shows in development.
    client.goto(&url("/?lang=zh")).await.unwrap();
    shots.take(&client, "01-landing").await;
    client.goto(&url("/citizen/sign-in")).await.unwrap();
    client.find(Locator::Id("certno")).await.unwrap().send_keys(CERTNO).await.unwrap();
    submit(&client, "main form").await;
    wait_for_path(&client, |p| p == "/citizen/sign-in/code").await;
    let code = text(&client, "#dev-code").await;
    assert_eq!(code.len(), 6, "the development code is on the page");
    shots.take(&client, "02-citizen-code").await;
    client.find(Locator::Id("code")).await.unwrap().send_keys(&code).await.unwrap();
    submit(&client, "main form").await;
    wait_for_path(&client, |p| p == "/citizen/filings").await;

    // File through the form (the start date defaults to today).
    client.goto(&url("/citizen/filings/new")).await.unwrap();
    client.find(Locator::Id("category")).await.unwrap().select_by_value("referral").await.unwrap();
    client
        .find(Locator::Id("mdtrtarea_admvs"))
        .await
        .unwrap()
        .select_by_value("440300")
        .await
        .unwrap();
    shots.take(&client, "03-citizen-new-filing").await;
    submit(&client, "main form.card").await;
    let filed = wait_for_path(&client, |p| p.starts_with("/citizen/filings/F")).await;
    assert!(!text(&client, "p.notice").await.is_empty());
    shots.take(&client, "04-citizen-filing").await;
    client.goto(&url("/citizen/filings")).await.unwrap();
    let rows = client.find_all(Locator::Css("#filings tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1);
    let id = rows[0].attr("data-filing-id").await.unwrap().unwrap();
    assert_eq!(format!("/citizen/filings/{id}"), filed);
    shots.take(&client, "05-citizen-filings").await;

    // A filing in the home province: the error beside the destination field.
    client.goto(&url("/citizen/filings/new")).await.unwrap();
    client.find(Locator::Id("category")).await.unwrap().select_by_value("emergency").await.unwrap();
    client
        .find(Locator::Id("mdtrtarea_admvs"))
        .await
        .unwrap()
        .select_by_value("420000")
        .await
        .unwrap();
    submit(&client, "main form.card").await;
    wait_for(&client, "#mdtrtarea_admvs-error").await;
    let error = text(&client, "#mdtrtarea_admvs-error").await;
    assert!(error.contains("同一省份"), "{error}");
    let described = client.find(Locator::Id("mdtrtarea_admvs")).await.unwrap();
    assert_eq!(described.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    shots.take(&client, "06-citizen-filing-error").await;

    // Another person's filing by URL: refused, nothing of it shown.
    client.goto(&url(&format!("/citizen/filings/{theirs}"))).await.unwrap();
    assert_eq!(text(&client, "h1").await, "无权访问");
    assert!(client.find(Locator::Css("dl.facts")).await.is_err());

    // The settlement with what the funds paid and what the patient paid.
    client.goto(&url("/citizen/settlements")).await.unwrap();
    let settled = client.find_all(Locator::Css("section[data-setl-id]")).await.unwrap();
    assert_eq!(settled.len(), 1);
    shots.take(&client, "07-citizen-settlements").await;

    // The operator of Hubei, in English: the period's chart of its counterparts.
    client.goto(&url("/bureau/sign-in?lang=en")).await.unwrap();
    client.find(Locator::Id("who")).await.unwrap().select_by_value("420000").await.unwrap();
    submit(&client, "main form").await;
    wait_for_path(&client, |p| p == "/bureau/420000").await;
    assert!(client.find(Locator::Css("#prepaid-fund svg rect.bar.level")).await.is_ok());
    shots.take(&client, "08-bureau-province").await;
    client
        .find(Locator::Css(&format!("a[href='/bureau/420000/periods/{period}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, |p| p.ends_with(period)).await;
    let bars = client.find_all(Locator::Css("#counterpart-chart svg rect.bar")).await.unwrap();
    let mut values = Vec::new();
    for bar in &bars {
        values.push(bar.attr("data-value").await.unwrap().unwrap().parse::<i64>().unwrap());
    }
    assert_eq!(values, [hubei_is_owed, -hubei_owes], "Guangdong: receivable, then payable");
    let own_row = text(&client, "#net-positions tr.own").await;
    assert!(own_row.contains("Hubei"), "{own_row}");
    // Its own position only, as the JSON API shows a province's operator.
    let rows = client.find_all(Locator::Css("#net-positions tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1, "another province's position is not Hubei's to read");
    shots.take(&client, "09-bureau-period").await;
    submit(&client, "#confirm-form").await;
    wait_for(&client, "p.notice").await;
    assert!(client.find(Locator::Id("confirm-form")).await.is_err(), "confirmed once");

    // Another province's page: refused.
    client.goto(&url("/bureau/440000")).await.unwrap();
    assert_eq!(text(&client, "h1").await, "Not allowed");

    // On a phone.
    client.set_window_size(390, 844).await.unwrap();
    client.goto(&url(&format!("/bureau/420000/periods/{period}"))).await.unwrap();
    shots.take(&client, "10-phone-bureau-period").await;
    client.goto(&url("/citizen/settlements?lang=zh")).await.unwrap();
    shots.take(&client, "11-phone-citizen-settlements").await;

    client.close().await.unwrap();
    drop(driver);
    let _ = std::fs::remove_dir_all(&profile);
    println!("screenshots in {}:", shots.dir.display());
    for shot in &shots.taken {
        println!("  {}", shot.display());
    }
    h.finish().await;
}

fn tempdir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("medclear-browser-{what}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
