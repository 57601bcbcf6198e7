//! The HIS compatibility corpus (`tests/corpus/his`, see its README): request/response pairs in
//! the exact shapes that public HIS client code bases send, with synthetic people, replayed
//! against a running system through the national interface. Each step must be answered as a
//! real platform would answer it: accepted with the output fields its client reads, or refused
//! for a reason of meaning — never for form.
//!
//! A step whose `infno` this platform does not serve yet (not in
//! [`medclear_gateway::national::TRANSACTIONS`]) is skipped and counted, and so is a step that
//! needs what a skipped or refused step would have answered. A step marked `known_gap` is
//! printed when it is not answered as expected, not failed: those are the adapter's open
//! findings. Every other difference fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::{Path, PathBuf},
    str::FromStr,
};

use medclear_common::codes::Msgid;
use medclear_gateway::national::{TRANSACTIONS, exact_numbers};
use medclear_proto::routing::v1::{self as rpb, routing_service_client::RoutingServiceClient};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, value::RawValue};
use support::Harness;

/// The day the replay's services think it is; the corpus's messages are of that day and the
/// one before.
const TODAY: &str = "2026-03-02";
const PATH: &str = "/fsi/api/rsfComIfsService/callService";
/// What the corpus must hold at least (issue 18).
const MIN_PAIRS: usize = 60;
const MIN_SOURCES: usize = 3;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/his")
}

// The corpus files ------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    source: Source,
    steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    repo: String,
    /// The commit the shapes were read at.
    #[serde(default)]
    commit: Option<String>,
    file: String,
    #[serde(default)]
    files: Vec<String>,
    note: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    #[serde(default)]
    note: Option<String>,
    /// The envelope, sent byte for byte as written (its numbers keep their text), after the
    /// msgid is made unique and the placeholders are filled.
    request: Box<RawValue>,
    expect: Expect,
    /// Why this platform does not answer the step as expected yet (printed, not failed).
    #[serde(default)]
    known_gap: Option<String>,
    /// Steps (1-based) that must have been accepted before this one can run.
    #[serde(default)]
    needs: Vec<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    infcode: Option<i64>,
    /// The refusal's reason: `err_msg` up to its first colon.
    #[serde(default)]
    reason: Option<String>,
    /// Paths in `output` that must be present (`a.b`, `a[0].b`; `a[].b`: in every element).
    #[serde(default)]
    output_has: Vec<String>,
    /// Paths in `output` whose value must be a JSON number (amounts, quantities).
    #[serde(default)]
    output_numbers: Vec<String>,
    /// Paths in `output` and their values (numbers compared as decimals, placeholders filled).
    #[serde(default)]
    output_values: BTreeMap<String, Value>,
    /// The answer is a file (a zip), not an envelope (9102).
    #[serde(default)]
    zip: bool,
}

#[derive(Debug, Deserialize)]
struct Seed {
    persons: Vec<SeedPerson>,
    institutions: Vec<SeedInstitution>,
    catalogue: SeedCatalogue,
}

#[derive(Debug, Deserialize)]
struct SeedPerson {
    psn_no: String,
    certno: String,
    psn_name: String,
    insutype: String,
    retired: bool,
    insuplc_admdvs: String,
    account_balance_fen: i64,
}

#[derive(Debug, Deserialize)]
struct SeedInstitution {
    fixmedins_code: String,
    fixmedins_name: String,
    admdvs: String,
    hospital_level: String,
}

#[derive(Debug, Deserialize)]
struct SeedCatalogue {
    items: Vec<BTreeMap<String, String>>,
    coverage: Vec<BTreeMap<String, String>>,
    mappings: Vec<BTreeMap<String, String>>,
}

/// A scenario file: its path under the corpus (`openhis/02-….json`) and its content.
#[derive(Debug)]
struct Loaded {
    name: String,
    scenario: Scenario,
}

fn load_corpus() -> (Seed, Vec<Loaded>) {
    let dir = corpus_dir();
    let seed: Seed =
        serde_json::from_str(&std::fs::read_to_string(dir.join("seed.json")).unwrap()).unwrap();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    sources.sort();
    let mut scenarios = Vec::new();
    for source in sources {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&source)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for file in files {
            let name = file.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&file).unwrap();
            let scenario: Scenario =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            scenarios.push(Loaded { name, scenario });
        }
    }
    (seed, scenarios)
}

/// The envelope's field as text (an infno may be sent as a number).
fn field(request: &Value, name: &str) -> String {
    match &request[name] {
        Value::String(s) => s.trim().to_owned(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn is_placeholder(text: &str) -> bool {
    text.starts_with("{{") && text.ends_with("}}")
}

/// The corpus's own rules: enough pairs and sources, a citation for each scenario, valid
/// msgids and citizen IDs. A broken corpus fails before anything is sent.
fn check_corpus(seed: &Seed, scenarios: &[Loaded]) {
    let pairs: usize = scenarios.iter().map(|s| s.scenario.steps.len()).sum();
    let sources: BTreeSet<&str> =
        scenarios.iter().map(|s| s.scenario.source.repo.as_str()).collect();
    assert!(
        pairs >= MIN_PAIRS,
        "the corpus has {pairs} request/response pairs, {MIN_PAIRS} needed"
    );
    assert!(
        sources.len() >= MIN_SOURCES,
        "the corpus cites {} source code bases ({sources:?}), {MIN_SOURCES} needed",
        sources.len()
    );
    for person in &seed.persons {
        assert!(
            medclear_routing::persons::certno_valid(&person.certno),
            "seed: {} is not a valid citizen ID",
            person.certno
        );
    }
    for Loaded { name, scenario } in scenarios {
        let source = &scenario.source;
        assert!(
            source.repo.contains('/') && !source.file.is_empty() && !source.note.is_empty(),
            "{name}: a scenario cites its repository, file and what it took from them"
        );
        assert!(source.files.iter().all(|f| !f.is_empty()), "{name}: an empty file citation");
        assert!(
            source.commit.as_ref().is_none_or(|c| c.len() == 40),
            "{name}: a commit is cited by its 40 hex digits"
        );
        for (i, step) in scenario.steps.iter().enumerate() {
            let at = format!("{name} step {}", i + 1);
            let request: Value = serde_json::from_str(step.request.get())
                .unwrap_or_else(|e| panic!("{at}: the request is not JSON: {e}"));
            assert!(!field(&request, "infno").is_empty(), "{at}: no infno");
            let msgid = field(&request, "msgid");
            if !is_placeholder(&msgid) {
                let parsed = Msgid::parse(&msgid).unwrap_or_else(|e| panic!("{at}: {e:?}"));
                assert!(
                    parsed.belongs_to(&field(&request, "fixmedins_code")),
                    "{at}: msgid {msgid} is not its sender's"
                );
            }
            let expect = &step.expect;
            assert!(expect.zip || expect.infcode.is_some(), "{at}: expects no infcode");
            if expect.infcode == Some(-1) {
                assert!(expect.reason.is_some(), "{at}: a refusal names its reason");
            }
            assert!(
                step.needs.iter().all(|n| (1..=i).contains(n)),
                "{at}: needs names a step that is not an earlier one"
            );
        }
    }
}

// Paths in an output ----------------------------------------------------------------------------

/// A path segment: `name`, `name[]` (every element) or `name[3]`; with no name (`[0]`, `[]`),
/// the value itself is the list.
enum Segment<'a> {
    Key(&'a str),
    Every(&'a str),
    Index(&'a str, usize),
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    path.split('.')
        .map(|part| match part.split_once('[') {
            None => Segment::Key(part),
            Some((key, "]")) => Segment::Every(key),
            Some((key, rest)) => {
                let n = rest.trim_end_matches(']').parse().unwrap_or_else(|_| {
                    panic!("{path}: an index is a number");
                });
                Segment::Index(key, n)
            }
        })
        .collect()
}

/// Whether `path` holds in `value`: `Err` names what is missing. `check` is applied to each
/// value the path reaches.
fn walk(
    value: &Value,
    segments: &[Segment<'_>],
    at: &str,
    check: &dyn Fn(&Value, &str) -> Result<(), String>,
) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        return check(value, at);
    };
    let member = |key: &str| -> Result<&Value, String> {
        // `[0]` and `[]` with no name: the value itself is the list (5204's output).
        if key.is_empty() {
            return Ok(value);
        }
        let object = value.as_object().ok_or_else(|| format!("{at} is not an object"))?;
        object.get(key).ok_or_else(|| format!("{at}.{key} is missing"))
    };
    match first {
        Segment::Key(key) => walk(member(key)?, rest, &format!("{at}.{key}"), check),
        Segment::Every(key) => {
            let list =
                member(key)?.as_array().ok_or_else(|| format!("{at}.{key} is not a list"))?;
            for (i, item) in list.iter().enumerate() {
                walk(item, rest, &format!("{at}.{key}[{i}]"), check)?;
            }
            Ok(())
        }
        Segment::Index(key, n) => {
            let list =
                member(key)?.as_array().ok_or_else(|| format!("{at}.{key} is not a list"))?;
            let item = list.get(*n).ok_or_else(|| format!("{at}.{key} has no element {n}"))?;
            walk(item, rest, &format!("{at}.{key}[{n}]"), check)
        }
    }
}

/// The value at `path` (no `[]`), if any.
fn value_at<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    segments(path).iter().try_fold(value, |v, segment| match segment {
        Segment::Key(key) => v.get(key),
        Segment::Index("", n) => v.get(n),
        Segment::Index(key, n) => v.get(key)?.get(n),
        Segment::Every(_) => None,
    })
}

/// A value's text: strings as they are, numbers (and the rest) as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Expected and answered values agree: numbers and numeric texts as decimals (24.9 = 24.90),
/// the rest as text; null only as null.
fn same(expected: &Value, answered: &Value) -> bool {
    match (expected, answered) {
        (Value::Null, answered) => answered.is_null(),
        (_, Value::Null) => false,
        (expected, answered) => {
            let (e, a) = (text_of(expected), text_of(answered));
            match (Decimal::from_str(&e), Decimal::from_str(&a)) {
                (Ok(e), Ok(a)) => e == a,
                _ => e == a,
            }
        }
    }
}

// The replay ------------------------------------------------------------------------------------

/// What one scenario's steps have answered so far.
#[derive(Debug, Default)]
struct Answers {
    /// Each step's output (exact numbers: amounts as the text of the answer), when it was
    /// accepted.
    outputs: Vec<Option<Value>>,
    /// The msgid each sent step carried.
    msgids: Vec<Option<String>>,
    /// The latest `mdtrt_id`, `setl_id`, `trt_dcla_detl_sn`, `sign_no`, `file_qury_no`.
    named: HashMap<&'static str, String>,
}

impl Answers {
    /// Remembers what an accepted answer of `infno` says.
    fn record(&mut self, infno: &str, output: &Value) {
        let first = |paths: &[&str]| {
            paths
                .iter()
                .filter_map(|p| value_at(output, p))
                .filter_map(Value::as_str)
                .find(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let mut keep = |name: &'static str, value: Option<String>| {
            if let Some(value) = value {
                self.named.insert(name, value);
            }
        };
        keep("mdtrt_id", first(&["data.mdtrt_id", "result.mdtrt_id", "setlinfo.mdtrt_id"]));
        // A cancellation answers a new setl_id of its own: not the settlement's.
        if ["2207", "2304", "2102", "5203"].contains(&infno) {
            keep("setl_id", first(&["setlinfo.setl_id"]));
        }
        keep("trt_dcla_detl_sn", first(&["result.trt_dcla_detl_sn", "trt_dcla_detl_sn"]));
        keep("sign_no", first(&["signinoutb.sign_no"]));
        keep("file_qury_no", first(&["file_qury_no", "fileinfo.file_qury_no"]));
    }

    /// A placeholder's value, if the step that answers it has.
    fn resolve(&self, name: &str) -> Option<String> {
        if let Some(n) = name.strip_prefix("msgid:") {
            let n: usize = n.parse().ok()?;
            return self.msgids.get(n.checked_sub(1)?)?.clone();
        }
        if let Some(rest) = name.strip_prefix("out:") {
            let (n, path) = rest.split_once(':')?;
            let n: usize = n.parse().ok()?;
            let output = self.outputs.get(n.checked_sub(1)?)?.as_ref()?;
            return value_at(output, path).filter(|v| !v.is_null()).map(text_of);
        }
        self.named.get(name).cloned()
    }

    /// `text` with every placeholder filled: `"{{num:X}}"` (with its quotes, also escaped
    /// ones inside a JSON-encoded input) becomes X's value as a bare number; `{{X}}` its text.
    /// `Err`: the placeholder that no earlier answer fills.
    fn fill(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let end = rest[start..]
                .find("}}")
                .map(|e| start + e)
                .ok_or_else(|| "an unclosed {{".to_owned())?;
            let name = &rest[start + 2..end];
            let (number, name) = match name.strip_prefix("num:") {
                Some(inner) => (true, inner),
                None => (false, name),
            };
            let value = self.resolve(name).ok_or_else(|| name.to_owned())?;
            let mut head = &rest[..start];
            let mut tail = &rest[end + 2..];
            if number {
                // Drop the quotes around the placeholder: `"…"` or, inside a string, `\"…\"`.
                for quote in ["\\\"", "\""] {
                    if let (Some(h), Some(t)) = (head.strip_suffix(quote), tail.strip_prefix(quote))
                    {
                        head = h;
                        tail = t;
                        break;
                    }
                }
            }
            out.push_str(head);
            out.push_str(&value);
            rest = tail;
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// How a sent step was answered, compared with its expectation.
#[derive(Debug)]
enum Verdict {
    AsExpected,
    Differs(String),
}

/// The differences between an answer and what the step expects.
fn judge(expect: &Expect, answers: &Answers, status: u16, body: &[u8]) -> Verdict {
    if expect.zip {
        return if body.starts_with(b"PK\x03\x04") {
            Verdict::AsExpected
        } else {
            Verdict::Differs(format!(
                "HTTP {status}: not a zip: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ))
        };
    }
    let (Ok(exact), Ok(raw)) = (
        serde_json::from_slice::<Value>(&exact_numbers(body)),
        serde_json::from_slice::<Value>(body),
    ) else {
        return Verdict::Differs(format!(
            "HTTP {status}: not JSON: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    };
    let infcode = match &raw["infcode"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let err_msg = raw["err_msg"].as_str().unwrap_or_default();
    let reason = err_msg.split(':').next().unwrap_or_default().trim();
    let mut problems = Vec::new();
    if infcode != expect.infcode {
        problems.push(format!(
            "infcode {infcode:?} (err_msg {err_msg:?}), {:?} expected",
            expect.infcode
        ));
    } else if let Some(expected) = &expect.reason
        && reason != expected
    {
        problems.push(format!("refused {reason:?} ({err_msg}), {expected:?} expected"));
    }
    if infcode == Some(0) {
        let output = &exact["output"];
        let present = |_: &Value, _: &str| -> Result<(), String> { Ok(()) };
        let missing: Vec<String> = expect
            .output_has
            .iter()
            .filter_map(|path| walk(output, &segments(path), "output", &present).err())
            .collect();
        if !missing.is_empty() {
            problems.push(format!("missing: {}", missing.join(", ")));
        }
        let number = |v: &Value, at: &str| -> Result<(), String> {
            if v.is_number() { Ok(()) } else { Err(format!("{at} is {v}, not a number")) }
        };
        let raw_output = &raw["output"];
        let not_numbers: Vec<String> = expect
            .output_numbers
            .iter()
            .filter_map(|path| walk(raw_output, &segments(path), "output", &number).err())
            .collect();
        if !not_numbers.is_empty() {
            problems.push(not_numbers.join(", "));
        }
        for (path, expected) in &expect.output_values {
            let expected = match expected {
                Value::String(s) => match answers.fill(s) {
                    Ok(s) => Value::String(s),
                    Err(name) => {
                        problems.push(format!("output.{path}: {{{{{name}}}}} has no value"));
                        continue;
                    }
                },
                other => other.clone(),
            };
            match value_at(output, path) {
                Some(answered) if same(&expected, answered) => {}
                Some(answered) => {
                    problems.push(format!("output.{path} is {answered}, {expected} expected"));
                }
                None => problems.push(format!("output.{path} is missing, {expected} expected")),
            }
        }
    }
    if problems.is_empty() { Verdict::AsExpected } else { Verdict::Differs(problems.join("; ")) }
}

/// A gRPC request carrying this process's service token.
fn signed<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    medclear_common::server::insert_service_token(request.metadata_mut());
    request
}

/// Loads what the corpus needs: its persons, its institutions, and the catalogue items they
/// map.
async fn seed_system(h: &Harness, seed: &Seed) {
    for p in &seed.persons {
        h.add_person(&medclear_routing::repo::PersonRow {
            psn_name: p.psn_name.clone(),
            insutype: p.insutype.clone(),
            retired: p.retired,
            account_balance_fen: p.account_balance_fen,
            ..support::person(&p.psn_no, &p.certno, &p.insuplc_admdvs)
        })
        .await;
    }
    let mut routing = RoutingServiceClient::connect(h.routing_grpc.clone()).await.unwrap();
    let institutions = seed
        .institutions
        .iter()
        .map(|i| rpb::Institution {
            fixmedins_code: i.fixmedins_code.clone(),
            fixmedins_name: i.fixmedins_name.clone(),
            admdvs: i.admdvs.clone(),
            hospital_level: i.hospital_level.clone(),
        })
        .collect();
    routing
        .import_institutions(signed(rpb::ImportInstitutionsRequest { institutions }))
        .await
        .unwrap();
    let codes: Vec<&str> = seed.institutions.iter().map(|i| i.fixmedins_code.as_str()).collect();
    h.seed_drug(&codes).await;
    let mut catalog =
        medclear_proto::catalog::v1::catalog_service_client::CatalogServiceClient::new(
            medclear_common::server::connect("catalog", &h.catalog_grpc).await.unwrap(),
        );
    use medclear_proto::catalog::v1::ImportTarget;
    for (target, rows) in [
        (ImportTarget::Items, &seed.catalogue.items),
        (ImportTarget::Coverage, &seed.catalogue.coverage),
        (ImportTarget::Mappings, &seed.catalogue.mappings),
    ] {
        let pairs: Vec<Vec<(&str, &str)>> = rows
            .iter()
            .map(|row| row.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
            .collect();
        let rows: Vec<&[(&str, &str)]> = pairs.iter().map(Vec::as_slice).collect();
        support::import(&mut catalog, target, &rows).await;
    }
}

/// A step's outcome in the replay's report.
#[derive(Debug, Default)]
struct Report {
    /// `infno` → steps not sent because this platform does not serve it.
    unserved: BTreeMap<String, usize>,
    /// Steps not sent because an earlier step did not answer what they need.
    dependent: Vec<String>,
    known_gaps: Vec<String>,
    closed_gaps: Vec<String>,
    failures: Vec<String>,
    answered: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_his_corpus_replays_as_a_real_platform_would_answer_it() {
    let (seed, scenarios) = load_corpus();
    check_corpus(&seed, &scenarios);
    print_census(&scenarios);

    let h = Harness::start(TODAY).await;
    seed_system(&h, &seed).await;
    let served: BTreeSet<&str> = TRANSACTIONS.iter().copied().collect();
    let mut report = Report::default();
    // Every literal msgid is made unique in the run: its sender and time kept, a run-wide
    // sequence for its last 4 digits.
    let mut sequence = 0usize;

    for Loaded { name, scenario } in &scenarios {
        let mut answers = Answers::default();
        for (i, step) in scenario.steps.iter().enumerate() {
            answers.outputs.push(None);
            answers.msgids.push(None);
            let request: Value = serde_json::from_str(step.request.get()).unwrap();
            let infno = field(&request, "infno");
            let label = format!("{name} step {} ({infno})", i + 1);
            if !served.contains(infno.as_str()) {
                *report.unserved.entry(infno).or_default() += 1;
                continue;
            }
            if let Some(n) = step.needs.iter().find(|n| answers.outputs[**n - 1].is_none()) {
                report.dependent.push(format!("{label}: needs step {n}"));
                continue;
            }
            let mut text = step.request.get().to_owned();
            let authored = field(&request, "msgid");
            let msgid = if is_placeholder(&authored) {
                authored.clone()
            } else {
                sequence += 1;
                let unique = format!("{}{:04}", &authored[..26], sequence % 10_000);
                text = text.replace(&format!("\"{authored}\""), &format!("\"{unique}\""));
                unique
            };
            let msgid = match answers.fill(&msgid) {
                Ok(msgid) => msgid,
                Err(missing) => {
                    report.dependent.push(format!("{label}: {{{{{missing}}}}} has no value"));
                    continue;
                }
            };
            answers.msgids[i] = Some(msgid);
            let text = match answers.fill(&text) {
                Ok(text) => text,
                Err(missing) => {
                    // Not sent: no later step may name its msgid.
                    answers.msgids[i] = None;
                    report.dependent.push(format!("{label}: {{{{{missing}}}}} has no value"));
                    continue;
                }
            };
            let response = h
                .http
                .post(h.url(PATH))
                .header("content-type", "application/json")
                .body(text)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap();
            report.answered += 1;
            let verdict = judge(&step.expect, &answers, status, &body);
            // What an accepted answer says is kept for the later steps, whatever else differs.
            if let Ok(exact) = serde_json::from_slice::<Value>(&exact_numbers(&body))
                && exact["infcode"].as_i64() == Some(0)
            {
                let output = exact["output"].clone();
                answers.record(&infno, &output);
                answers.outputs[i] = Some(output);
            } else if step.expect.zip && body.starts_with(b"PK") {
                answers.outputs[i] = Some(Value::Null);
            }
            match (verdict, &step.known_gap) {
                (Verdict::AsExpected, None) => {}
                (Verdict::AsExpected, Some(why)) => {
                    report.closed_gaps.push(format!("{label}: answered as expected ({why})"));
                }
                (Verdict::Differs(what), Some(why)) => {
                    report.known_gaps.push(format!("{label}: {why}\n      {what}"));
                }
                (Verdict::Differs(what), None) => {
                    let note = step.note.as_deref().map(|n| format!(" [{n}]")).unwrap_or_default();
                    report.failures.push(format!("{label}{note}: {what}"));
                }
            }
        }
    }
    h.finish().await;

    let unserved: usize = report.unserved.values().sum();
    let codes: Vec<String> = report.unserved.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
    println!("answered {} steps", report.answered);
    println!("skipped {unserved} steps of unserved transactions: {}", codes.join(", "));
    println!("skipped {} steps that need an answer not given:", report.dependent.len());
    for d in &report.dependent {
        println!("  {d}");
    }
    println!("known gaps ({}):", report.known_gaps.len());
    for g in &report.known_gaps {
        println!("  {g}");
    }
    if !report.closed_gaps.is_empty() {
        println!("known gaps now closed — remove their known_gap marks:");
        for g in &report.closed_gaps {
            println!("  {g}");
        }
    }
    assert!(
        report.failures.is_empty(),
        "{} steps not answered as a real platform would:\n  {}",
        report.failures.len(),
        report.failures.join("\n  ")
    );
}

/// The corpus's size by transaction and by source.
fn print_census(scenarios: &[Loaded]) {
    let mut by_infno: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_source: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for Loaded { scenario, .. } in scenarios {
        let entry = by_source.entry(scenario.source.repo.as_str()).or_default();
        entry.0 += 1;
        entry.1 += scenario.steps.len();
        for step in &scenario.steps {
            let request: Value = serde_json::from_str(step.request.get()).unwrap();
            *by_infno.entry(field(&request, "infno")).or_default() += 1;
        }
    }
    let total: usize = by_infno.values().sum();
    println!("corpus: {total} request/response pairs in {} scenarios", scenarios.len());
    for (repo, (files, steps)) in &by_source {
        println!("  {repo}: {files} scenarios, {steps} pairs");
    }
    let infnos: Vec<String> = by_infno.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("  by infno: {}", infnos.join(", "));
}
