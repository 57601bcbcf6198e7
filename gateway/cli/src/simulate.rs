//! `medclear simulate`: hospitals' traffic through the national interface of a running
//! system, deterministic from a seed.
//!
//! Setup, over the services' gRPC APIs: the demo catalogue, the demo population and the demo
//! hospitals and pharmacies in the institution registry. Then `visits` cross-province visits,
//! each as a HIS would send it: general outpatient (2201 → 2204 → 2206 → 2207), chronic-disease
//! outpatient (the disease declared once, 2503, then as outpatient with med_type 14), inpatient
//! (2401 → 2301 → 2402 → 2303 → 2304) at a hospital, or a purchase at a pharmacy of the same
//! province (定点药店: 2101 → 2102, the purchase whole each time); the patient referred
//! beforehand (2501), an emergency (not at a pharmacy), or neither (refused: `not_filed`).
//! About 1 % of settlements are cancelled (2208/2305, a pharmacy's 2103) and 0.5 % reversed
//! (2601); 2 % of settlements (2207/2304/2102) are sent twice with the same msgid (the same
//! answer must come back); 0.5 % of uploads and purchases carry an amount with three decimals
//! (refused). Treating hospitals lean toward Beijing, Shanghai,
//! Guangdong, Hainan, Jiangsu and Zhejiang. At the end: calls per second, latency percentiles
//! per transaction code, refusals by reason, and any answer that was not what it should be.

use medclear_common::clock::{Clock as _, SystemClock};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use crate::demo_data::catalog::{self as demo, DemoHospital, Scale};
use medclear_common::{Error, Result, money::fen_to_yuan};
use medclear_proto::{
    catalog::v1::catalog_service_client::CatalogServiceClient, routing::v1 as routing_pb,
};
use serde_json::{Value, json};

use crate::{
    bench_settle::{clean_codes, next},
    catalog_cli, institutions_cli,
    measure::{ms, per_second, percentile},
    persons_cli,
};

/// Where the running system is, and how much traffic to send (`medclear simulate` flags).
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateOptions {
    /// The gateway's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub gateway: String,
    #[arg(long, env = "CATALOG_ENDPOINT", default_value = "http://127.0.0.1:50052")]
    pub catalog_endpoint: String,
    #[arg(long, env = "ROUTING_ENDPOINT", default_value = "http://127.0.0.1:50053")]
    pub routing_endpoint: String,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Visits to run.
    #[arg(long, default_value_t = 2000)]
    pub visits: usize,
    /// Hospitals sending at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Visits started per second at most (0: as fast as answers come).
    #[arg(long, default_value_t = 0)]
    pub rate: u32,
    /// Persons per province in the demo population.
    #[arg(long, default_value_t = 100)]
    pub per_province: u32,
}

/// Provinces that receive most patients, and their weights (the rest weigh 1).
const DESTINATIONS: [(&str, usize); 6] =
    [("11", 12), ("31", 10), ("44", 12), ("46", 5), ("32", 8), ("33", 8)];

const PATH: &str = "/fsi/api/rsfComIfsService/callService";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Outpatient,
    /// Chronic-disease outpatient (门诊慢特病, med_type 14): the patient's disease is declared
    /// first (2503), once.
    Chronic,
    Inpatient,
    Pharmacy,
}

/// The chronic disease the simulated chronic patients have declared (hypertension).
const CHRONIC_DISEASE: &str = "M03900";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Basis {
    Referred,
    Emergency,
    Unfiled,
}

/// One planned visit.
#[derive(Debug, Clone)]
struct Plan {
    /// The institution (a hospital, or for a pharmacy purchase a pharmacy) sending it.
    hospital: usize,
    psn_no: String,
    /// The patient's certificate number (what they sign in to the pages with).
    certno: String,
    home: String,
    kind: Kind,
    basis: Basis,
    /// (local code, price in fen, quantity).
    lines: Vec<(String, i64, u32)>,
    retry: bool,
    cancel: bool,
    reverse: bool,
    malformed: bool,
}

/// What the run saw.
#[derive(Debug, Default)]
pub struct Tally {
    /// infno → latencies (µs) of every answer.
    pub latency: BTreeMap<String, Vec<u64>>,
    /// infno → (answered 0, refused).
    pub outcomes: BTreeMap<String, (u64, u64)>,
    pub refusals: BTreeMap<String, u64>,
    /// Answers that were not what they should have been.
    pub surprises: Vec<String>,
    /// Settlements made (a retry's answer is not counted again).
    pub settlements: u64,
    /// The certificate number of a patient who was settled (to show the pages with).
    pub a_settled_patient: Option<String>,
}

impl Tally {
    /// Settlement events the run caused: its settlements, and the cancellations
    /// (2103/2208/2305) and reversals (2601) answered 0 (none of them is sent twice).
    pub fn events(&self) -> u64 {
        let undone: u64 = ["2103", "2208", "2305", "2601"]
            .iter()
            .filter_map(|infno| self.outcomes.get(*infno))
            .map(|(ok, _)| ok)
            .sum();
        self.settlements + undone
    }
}

/// A finished run.
#[derive(Debug)]
pub struct Outcome {
    pub tally: Tally,
    pub visits: usize,
    pub elapsed: Duration,
}

/// Whether a (patient, province) referral was filed, once it is known.
type Referral = Arc<tokio::sync::OnceCell<bool>>;

struct Sim {
    http: reqwest::Client,
    url: String,
    /// The hospitals, then the pharmacies, each with its local codes that resolve cleanly.
    hospitals: Vec<(DemoHospital, Vec<String>)>,
    tally: Mutex<Tally>,
    /// (patient, treating province) → the referral (2501) made for it, once: later visits of
    /// the pair wait for it rather than race it.
    referred: Mutex<HashMap<(String, String), Referral>>,
    /// patient → the chronic-disease declaration (2503) made for them, once.
    declared: Mutex<HashMap<String, Referral>>,
    today: String,
    /// When the run began, in China time: the date-time its msgids carry.
    began: chrono::NaiveDateTime,
}

/// A national msgid (`fixmedins_code` + `yyyyMMddHHmmss` + 4 digits) for visit `n`'s `step`
/// (1–9): the run's start plus one second per thousand visits, then the visit's last three
/// digits and the step — unique per sender, visit and step, a real date-time.
fn national_msgid(
    fixmedins_code: &str,
    began: chrono::NaiveDateTime,
    n: usize,
    step: u32,
) -> String {
    let seconds = i64::try_from(n / 1000).unwrap_or(i64::MAX);
    let at = began.checked_add_signed(chrono::TimeDelta::seconds(seconds)).unwrap_or(began);
    let seq = u32::try_from(n % 1000).unwrap_or(0) * 10 + step % 10;
    format!("{fixmedins_code}{}{seq:04}", at.format("%Y%m%d%H%M%S"))
}

impl Sim {
    fn msgid(&self, plan: &Plan, n: usize, step: u32) -> String {
        national_msgid(&self.hospitals[plan.hospital].0.fixmedins_code, self.began, n, step)
    }

    fn envelope(&self, infno: &str, msgid: &str, plan: &Plan, input: Value) -> Value {
        let (hospital, _) = &self.hospitals[plan.hospital];
        let input = lenient(msgid, input);
        json!({
            "infno": infno, "msgid": msgid, "mdtrtarea_admvs": hospital.admdvs,
            "insuplc_admdvs": plan.home, "recer_sys_code": "YBXT", "infver": "V1.0",
            "opter_type": "1", "opter": "sim", "opter_name": "模拟", "inf_time":
            format!("{} 09:00:00", self.today), "fixmedins_code": hospital.fixmedins_code,
            "fixmedins_name": hospital.name, "sign_no": "", "input": input,
        })
    }

    /// Sends one transaction; its output, or the refusal's reason.
    async fn call(&self, infno: &str, body: String) -> std::result::Result<Value, String> {
        let started = Instant::now();
        let sent = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let answer = match sent {
            Ok(response) => response.json::<Value>().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        tally.latency.entry(infno.to_owned()).or_default().push(micros);
        let outcome = tally.outcomes.entry(infno.to_owned()).or_default();
        match answer {
            Ok(answer) if answer["infcode"].as_i64() == Some(0) => {
                outcome.0 += 1;
                Ok(answer["output"].clone())
            }
            Ok(answer) => {
                outcome.1 += 1;
                let reason = answer["err_msg"]
                    .as_str()
                    .and_then(|e| e.split(':').next())
                    .unwrap_or("no_reason")
                    .to_owned();
                *tally.refusals.entry(reason.clone()).or_default() += 1;
                Err(reason)
            }
            Err(e) => {
                outcome.1 += 1;
                *tally.refusals.entry("transport".into()).or_default() += 1;
                Err(format!("transport: {e}"))
            }
        }
    }

    fn surprise(&self, what: String) {
        self.tally.lock().unwrap_or_else(PoisonError::into_inner).surprises.push(what);
    }

    /// Runs one planned visit from registration to its last transaction.
    async fn visit(&self, n: usize, plan: &Plan) {
        let msgid = |step: u32| self.msgid(plan, n, step);
        let (hospital, _) = &self.hospitals[plan.hospital];
        let inpatient = plan.kind == Kind::Inpatient;
        if plan.basis == Basis::Referred {
            let key = (plan.psn_no.clone(), hospital.admdvs[..2].to_owned());
            let cell = self
                .referred
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key)
                .or_default()
                .clone();
            let filed = cell
                .get_or_init(|| async {
                    let input = json!({"refmedin": {"psn_no": plan.psn_no, "insutype": "310",
                        "diag_code": "I10.x00x002", "diag_name": "高血压",
                        "reflin_medins_no": hospital.fixmedins_code,
                        "reflin_medins_name": hospital.name,
                        "mdtrtarea_admdvs": hospital.admdvs, "refl_type": "1",
                        "refl_date": self.today, "refl_rea": "病情需要", "refl_opnn": "同意"}});
                    let body = self.envelope("2501", &msgid(1), plan, input).to_string();
                    match self.call("2501", body).await {
                        Ok(_) => true,
                        Err(reason) => {
                            self.surprise(format!("visit {n}: 2501 refused: {reason}"));
                            false
                        }
                    }
                })
                .await;
            if !filed {
                return;
            }
        }
        if plan.kind == Kind::Chronic && !self.declare_chronic(n, plan).await {
            return;
        }
        if plan.kind == Kind::Pharmacy {
            return self.purchase(n, plan).await;
        }
        let med_type = match plan.kind {
            Kind::Outpatient => "11",
            Kind::Chronic => "14",
            Kind::Inpatient => "21",
            Kind::Pharmacy => "41",
        };
        let disease = if plan.kind == Kind::Chronic { CHRONIC_DISEASE } else { "" };
        let er_flag = if plan.basis == Basis::Emergency { "1" } else { "0" };
        let (register, node) = if inpatient { ("2401", "mdtrtinfo") } else { ("2201", "data") };
        let input = json!({ node: {"psn_no": plan.psn_no, "insutype": "310", "med_type": med_type,
            "begntime": format!("{} 09:01:00", self.today), "mdtrt_cert_type": "02",
            "ipt_otp_no": format!("V{n}"), "ipt_no": format!("V{n}"), "dise_codg": disease,
            "exp_content": {"er_flag": er_flag}}});
        let Ok(visit) =
            self.call(register, self.envelope(register, &msgid(2), plan, input).to_string()).await
        else {
            return;
        };
        // 2401 answers the admission in `result`, 2201 the visit in `data`.
        let answered = if inpatient { "result" } else { "data" };
        let mdtrt_id = visit[answered]["mdtrt_id"].as_str().unwrap_or_default().to_owned();
        let upload = if inpatient { "2301" } else { "2204" };
        let lines = plan_lines(plan, |sn, code, quantity| {
            json!({"feedetl_sn": sn, "mdtrt_id": mdtrt_id,
                "psn_no": plan.psn_no, "chrg_bchno": "1", "rx_circ_flag": "0",
                "fee_ocur_time": format!("{} 09:10:00", self.today), "med_list_codg": "",
                "medins_list_codg": code, "det_item_fee_sumamt": "AMOUNT", "cnt": quantity,
                "pric": "PRICE", "bilg_dept_codg": "A01", "bilg_dept_name": "内科",
                "bilg_dr_codg": "D01", "bilg_dr_name": "医生", "hosp_appr_flag": "1"})
        });
        let mut body = self.envelope(upload, &msgid(3), plan, json!("INPUT")).to_string();
        body = body.replace(r#""INPUT""#, &format!(r#"{{"feedetail": [{}]}}"#, lines.join(",")));
        match self.call(upload, body).await {
            Ok(_) if plan.malformed => {
                self.surprise(format!("visit {n}: an amount with 3 decimals was accepted"));
                return;
            }
            Ok(_) => {}
            Err(reason) if plan.malformed && reason == "invalid_amount" => return,
            Err(_) => return,
        }
        if inpatient {
            let input = json!({"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": plan.psn_no,
                "endtime": format!("{} 17:00:00", self.today)}});
            if self
                .call("2402", self.envelope("2402", &msgid(4), plan, input).to_string())
                .await
                .is_err()
            {
                return;
            }
        }
        let total: i64 = plan.lines.iter().map(|(_, p, q)| p * i64::from(*q)).sum();
        let settle_input = json!({"data": {"psn_no": plan.psn_no, "mdtrt_cert_type": "02",
            "med_type": med_type, "medfee_sumamt": fen_to_yuan(total), "psn_setlway": "01",
            "mdtrt_id": mdtrt_id, "chrg_bchno": "1", "acct_used_flag": "1", "insutype": "310"}});
        let (presettle, settle) = if inpatient { ("2303", "2304") } else { ("2206", "2207") };
        let body = self.envelope(presettle, &msgid(5), plan, settle_input.clone()).to_string();
        if self.call(presettle, body).await.is_err() {
            return;
        }
        let settle_body = self.envelope(settle, &msgid(6), plan, settle_input).to_string();
        self.settled(n, plan, settle, settle_body, &mdtrt_id).await;
    }

    /// A settlement (`settle`: 2207, 2304 or a pharmacy's 2102, its msgid step 6) sent, sent
    /// again for a retry (the same answer must come back), then cancelled or reversed as
    /// planned.
    async fn settled(
        &self,
        n: usize,
        plan: &Plan,
        settle: &str,
        settle_body: String,
        mdtrt_id: &str,
    ) {
        let msgid = |step: u32| self.msgid(plan, n, step);
        let settled = match self.call(settle, settle_body.clone()).await {
            Ok(settled) => settled,
            Err(reason) => {
                if plan.basis != Basis::Unfiled || reason != "not_filed" {
                    self.surprise(format!("visit {n}: {settle} refused: {reason}"));
                }
                return;
            }
        };
        if plan.basis == Basis::Unfiled {
            self.surprise(format!("visit {n}: an unfiled patient was settled"));
        }
        {
            let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
            tally.settlements += 1;
            tally.a_settled_patient.get_or_insert_with(|| plan.certno.clone());
        }
        if plan.retry {
            match self.call(settle, settle_body).await {
                Ok(again) if again == settled => {}
                Ok(_) => self.surprise(format!("visit {n}: a retry got another answer")),
                Err(reason) => self.surprise(format!("visit {n}: a retry was refused: {reason}")),
            }
        }
        let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap_or_default().to_owned();
        // A pharmacy's purchase learns its visit from the settlement.
        let answered = settled["setlinfo"]["mdtrt_id"].as_str().filter(|m| !m.is_empty());
        let mdtrt_id = answered.unwrap_or(mdtrt_id);
        if plan.cancel {
            let cancel = match plan.kind {
                Kind::Inpatient => "2305",
                Kind::Pharmacy => "2103",
                Kind::Outpatient | Kind::Chronic => "2208",
            };
            let input = json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id,
                "psn_no": plan.psn_no}});
            let body = self.envelope(cancel, &msgid(7), plan, input).to_string();
            if let Err(reason) = self.call(cancel, body).await {
                self.surprise(format!("visit {n}: {cancel} refused: {reason}"));
            }
        } else if plan.reverse {
            let input = json!({"data": {"psn_no": plan.psn_no, "omsgid": msgid(6),
                "oinfno": settle}});
            let body = self.envelope("2601", &msgid(8), plan, input).to_string();
            if let Err(reason) = self.call("2601", body).await {
                self.surprise(format!("visit {n}: 2601 refused: {reason}"));
            }
        }
    }
}

impl Sim {
    /// A purchase at a pharmacy: pre-settled (2101) and settled (2102), the purchase whole
    /// each time — the person in `druginfo` (or `data`, as some clients name it), the drugs in
    /// `drugdetail` with their amounts as JSON numbers.
    async fn purchase(&self, n: usize, plan: &Plan) {
        let total: i64 = plan.lines.iter().map(|(_, p, q)| p * i64::from(*q)).sum();
        let at = format!("{} 09:10:00", self.today);
        let drugs = plan_lines(plan, |sn, code, quantity| {
            json!({"feedetl_sn": sn, "rxno": null, "rx_circ_flag": "0",
                "fee_ocur_time": at, "med_list_codg": "", "medins_list_codg": code,
                "det_item_fee_sumamt": "AMOUNT", "cnt": quantity, "pric": "PRICE",
                "bilg_dr_codg": null, "bilg_dr_name": null})
        });
        let node = if n.is_multiple_of(2) { "druginfo" } else { "data" };
        let person = json!({"psn_no": plan.psn_no, "mdtrt_cert_type": "02",
            "mdtrt_cert_no": plan.certno, "begntime": at, "medfee_sumamt": fen_to_yuan(total),
            "insutype": "310", "med_type": "41", "acct_used_flag": "1", "dise_codg": null});
        let input = format!(r#"{{"{node}": {person}, "drugdetail": [{}]}}"#, drugs.join(","));
        let body = |infno: &str, step: u32| {
            let envelope = self.envelope(infno, &self.msgid(plan, n, step), plan, json!("INPUT"));
            envelope.to_string().replace(r#""INPUT""#, &input)
        };
        match self.call("2101", body("2101", 5)).await {
            Ok(_) if plan.malformed => {
                self.surprise(format!("visit {n}: an amount with 3 decimals was accepted"));
                return;
            }
            Ok(_) => {}
            Err(reason) if plan.malformed && reason == "invalid_amount" => return,
            Err(reason) if plan.basis == Basis::Unfiled && reason == "not_filed" => return,
            Err(reason) => {
                self.surprise(format!("visit {n}: 2101 refused: {reason}"));
                return;
            }
        }
        // The purchase's visit is the settlement's: 2103 names it with the settlement.
        self.settled(n, plan, "2102", body("2102", 6), "").await;
    }

    /// Declares the patient's chronic disease (2503) unless a visit did already; whether it is
    /// declared.
    async fn declare_chronic(&self, n: usize, plan: &Plan) -> bool {
        let cell = self
            .declared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(plan.psn_no.clone())
            .or_default()
            .clone();
        *cell
            .get_or_init(|| async {
                let (hospital, _) = &self.hospitals[plan.hospital];
                let input = json!({"data": {"psn_no": plan.psn_no,
                    "opsp_dise_code": CHRONIC_DISEASE, "insu_optins": plan.home,
                    "ide_fixmedins_no": hospital.fixmedins_code, "begndate": self.today}});
                let msgid = self.msgid(plan, n, 9);
                match self
                    .call("2503", self.envelope("2503", &msgid, plan, input).to_string())
                    .await
                {
                    Ok(_) => true,
                    Err(reason) => {
                        self.surprise(format!("visit {n}: 2503 refused: {reason}"));
                        false
                    }
                }
            })
            .await
    }
}

/// The plan's lines as JSON texts, each from `line` (its `feedetl_sn`, local code and
/// quantity) with `"AMOUNT"` and `"PRICE"` written as JSON numbers with their decimals, as HIS
/// clients send them — the first amount with a third decimal when the plan is malformed.
fn plan_lines(plan: &Plan, line: impl Fn(String, &str, u32) -> Value) -> Vec<String> {
    plan.lines
        .iter()
        .enumerate()
        .map(|(i, (code, price_fen, quantity))| {
            let amount = fen_to_yuan(price_fen * i64::from(*quantity));
            let amount = if plan.malformed && i == 0 { format!("{amount}5") } else { amount };
            line((i + 1).to_string(), code, *quantity)
                .to_string()
                .replace(r#""AMOUNT""#, &amount)
                .replace(r#""PRICE""#, &fen_to_yuan(*price_fen))
        })
        .collect()
}

/// Whether an institution is a pharmacy (定点药店, its code `P…`).
fn is_pharmacy(institution: &DemoHospital) -> bool {
    institution.fixmedins_code.starts_with('P')
}

/// `percent` percent of the time.
fn chance(state: &mut u64, percent_times_ten: usize) -> bool {
    next(state, 1000) < percent_times_ten
}

fn plans(
    seed: u64,
    visits: usize,
    hospitals: &[(DemoHospital, Vec<String>)],
    people: &[medclear_routing::repo::PersonRow],
) -> Vec<Plan> {
    let mut state = seed.max(1);
    // Hospitals (not pharmacies) by destination weight.
    let mut weighted = Vec::new();
    for (i, (h, _)) in hospitals.iter().enumerate() {
        if is_pharmacy(h) {
            continue;
        }
        let weight =
            DESTINATIONS.iter().find(|(p, _)| h.admdvs.starts_with(p)).map_or(1, |(_, w)| *w);
        weighted.extend(std::iter::repeat_n(i, weight));
    }
    // A patient is "unfiled" in a province only if no visit there refers them: the referral
    // (2501) of one visit covers the patient's later visits too.
    let (mut referred, mut unfiled) = (HashSet::new(), HashSet::new());
    (0..visits)
        .map(|_| {
            let mut hospital = weighted[next(&mut state, weighted.len())];
            let treating = &hospitals[hospital].0.admdvs[..2];
            let mut person = &people[next(&mut state, people.len())];
            while person.insuplc_admdvs.starts_with(treating) {
                person = &people[next(&mut state, people.len())];
            }
            let mut kind = match next(&mut state, 100) {
                0..60 => Kind::Outpatient,
                60..70 => Kind::Chronic,
                70..85 => Kind::Inpatient,
                _ => Kind::Pharmacy,
            };
            if kind == Kind::Pharmacy {
                // A purchase at one of the treating province's pharmacies (an outpatient
                // visit where it has none).
                let admdvs = &hospitals[hospital].0.admdvs;
                let local: Vec<usize> = (0..hospitals.len())
                    .filter(|&i| is_pharmacy(&hospitals[i].0) && hospitals[i].0.admdvs == *admdvs)
                    .collect();
                match local.len() {
                    0 => kind = Kind::Outpatient,
                    n => hospital = local[next(&mut state, n)],
                }
            }
            let pair = (person.psn_no.clone(), treating.to_owned());
            let roll = next(&mut state, 100);
            let basis = match roll {
                // A pharmacy purchase is never an emergency: the patient has filed, or not.
                _ if kind == Kind::Pharmacy => {
                    if (roll < 95 && !unfiled.contains(&pair)) || referred.contains(&pair) {
                        referred.insert(pair);
                        Basis::Referred
                    } else {
                        unfiled.insert(pair);
                        Basis::Unfiled
                    }
                }
                // A chronic patient treated away from home has filed for it.
                _ if kind == Kind::Chronic && !unfiled.contains(&pair) => {
                    referred.insert(pair);
                    Basis::Referred
                }
                0..55 => Basis::Emergency,
                55..95 if !unfiled.contains(&pair) => {
                    referred.insert(pair);
                    Basis::Referred
                }
                95.. if !referred.contains(&pair) => {
                    unfiled.insert(pair);
                    Basis::Unfiled
                }
                _ => Basis::Emergency,
            };
            let count = match kind {
                Kind::Outpatient => 2 + next(&mut state, 10),
                Kind::Chronic => 2 + next(&mut state, 5),
                Kind::Inpatient => 20 + next(&mut state, 40),
                Kind::Pharmacy => 1 + next(&mut state, 5),
            };
            let codes = &hospitals[hospital].1;
            let lines = (0..count)
                .map(|_| {
                    let code = codes[next(&mut state, codes.len())].clone();
                    let price = i64::try_from(50 + next(&mut state, 30_000)).unwrap_or(50);
                    let quantity = u32::try_from(1 + next(&mut state, 3)).unwrap_or(1);
                    (code, price, quantity)
                })
                .collect();
            Plan {
                hospital,
                psn_no: person.psn_no.clone(),
                certno: person.certno.clone(),
                home: person.insuplc_admdvs.clone(),
                kind,
                basis,
                lines,
                retry: chance(&mut state, 20),
                cancel: chance(&mut state, 10),
                reverse: chance(&mut state, 5),
                malformed: chance(&mut state, 5),
            }
        })
        .collect()
}

/// `medclear simulate`: sets the system up, runs the traffic, prints the report; an error when
/// any answer was not what it should have been.
pub async fn run(options: SimulateOptions) -> Result<()> {
    let outcome = drive(&options).await?;
    report(&outcome)
}

/// Sets the system up and runs the traffic.
pub async fn drive(options: &SimulateOptions) -> Result<Outcome> {
    let started = Instant::now();
    let mut catalog = CatalogServiceClient::new(
        medclear_common::server::connect("catalogue", &options.catalog_endpoint).await?,
    );
    let load = catalog_cli::load_demo(&mut catalog, options.seed, Scale::Small, false).await?;
    let people = crate::demo_data::persons::demo_persons(options.seed, options.per_province);
    let rows =
        people.iter().zip(2u64..).map(|(p, l)| (l, medclear_routing::persons::row_of(p))).collect();
    persons_cli::import(&options.routing_endpoint, rows).await?;
    let mut registry = institutions_cli::demo_institutions(options.seed, Scale::Small);
    let pharmacies = demo::demo_pharmacies();
    registry.extend(pharmacies.iter().map(|p| routing_pb::Institution {
        fixmedins_code: p.fixmedins_code.clone(),
        fixmedins_name: p.name.clone(),
        admdvs: p.admdvs.clone(),
        hospital_level: p.level.to_owned(),
    }));
    institutions_cli::import(&options.routing_endpoint, registry).await?;
    let today = SystemClock.today().to_string();
    let mut hospitals = Vec::new();
    for institution in load.hospitals.iter().chain(&pharmacies) {
        let codes = clean_codes(&mut catalog, institution, &today).await?;
        if !codes.is_empty() {
            hospitals.push((institution.clone(), codes));
        }
    }
    if !hospitals.iter().any(|(h, _)| !is_pharmacy(h)) {
        return Err(Error::Internal("no demo hospital has cleanly resolving lines".into()));
    }
    let plans = Arc::new(plans(options.seed, options.visits, &hospitals, &people));
    let in_pharmacies = hospitals.iter().filter(|(h, _)| is_pharmacy(h)).count();
    println!(
        "setup: {} catalogue items, {} persons, {} hospitals and {in_pharmacies} pharmacies in {} ms",
        load.rows[0],
        people.len(),
        hospitals.len() - in_pharmacies,
        started.elapsed().as_millis()
    );

    let sim = Arc::new(Sim {
        http: reqwest::Client::new(),
        url: format!("{}{PATH}", options.gateway.trim_end_matches('/')),
        hospitals,
        tally: Mutex::default(),
        referred: Mutex::default(),
        declared: Mutex::default(),
        today,
        began: chrono::Utc::now().with_timezone(&medclear_common::clock::CHINA).naive_local(),
    });
    let bar = indicatif::ProgressBar::new(u64::try_from(options.visits).unwrap_or(u64::MAX));
    bar.set_style(
        indicatif::ProgressStyle::with_template("visits [{bar:40}] {pos}/{len} {per_sec} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let cursor = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let began = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..options.concurrency.max(1) {
        let (sim, plans, cursor, bar) = (sim.clone(), plans.clone(), cursor.clone(), bar.clone());
        let rate = options.rate;
        workers.spawn(async move {
            loop {
                let n = cursor.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(plan) = plans.get(n) else { return };
                if rate > 0 {
                    // Visit n starts no earlier than n / rate seconds in.
                    let due = Duration::from_micros(
                        u64::try_from(n).unwrap_or(u64::MAX) * 1_000_000 / u64::from(rate),
                    );
                    tokio::time::sleep_until((began + due).into()).await;
                }
                sim.visit(n, plan).await;
                bar.inc(1);
            }
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined.map_err(|e| Error::Internal(format!("a simulated hospital failed: {e}")))?;
    }
    bar.finish_and_clear();
    let elapsed = began.elapsed();
    let tally = std::mem::take(&mut *sim.tally.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(Outcome { tally, visits: options.visits, elapsed })
}

/// Prints throughput, latency per transaction code and refusals; an error when any answer was
/// not what it should have been.
pub fn report(outcome: &Outcome) -> Result<()> {
    let Outcome { tally, visits, elapsed } = outcome;
    let (visits, elapsed) = (*visits, *elapsed);
    let calls: u64 = tally.outcomes.values().map(|(ok, refused)| ok + refused).sum();
    println!(
        "simulate: {visits} visits, {calls} calls in {} ms: {} calls/s, {} settlements/s ({} settled)",
        elapsed.as_millis(),
        per_second(calls, elapsed),
        per_second(tally.settlements, elapsed),
        tally.settlements
    );
    println!(
        "{:<6} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "infno", "calls", "ok", "refused", "p50 ms", "p95 ms", "p99 ms"
    );
    for (infno, latencies) in &tally.latency {
        let mut sorted = latencies.clone();
        sorted.sort_unstable();
        let (ok, refused) = tally.outcomes.get(infno).copied().unwrap_or_default();
        println!(
            "{infno:<6} {:>8} {ok:>8} {refused:>8} {:>9} {:>9} {:>9}",
            sorted.len(),
            ms(percentile(&sorted, 50)),
            ms(percentile(&sorted, 95)),
            ms(percentile(&sorted, 99))
        );
    }
    let refusals: Vec<String> = tally.refusals.iter().map(|(r, n)| format!("{r} {n}")).collect();
    println!(
        "refusals by reason: {}",
        if refusals.is_empty() { "none".into() } else { refusals.join(", ") }
    );
    if tally.surprises.is_empty() {
        println!("every answer was what it should be");
        Ok(())
    } else {
        for surprise in tally.surprises.iter().take(20) {
            println!("  unexpected: {surprise}");
        }
        Err(Error::Internal(format!(
            "{} answers were not what they should be",
            tally.surprises.len()
        )))
    }
}

/// `input` in one of the forms HIS clients send, chosen by the msgid (deterministic): a
/// quarter as a JSON-encoded string, a quarter of those with only a `data` node without it,
/// the rest as an object with `data`. (Fee uploads keep their form: their amounts are written
/// into the envelope's text afterwards.)
fn lenient(msgid: &str, input: Value) -> Value {
    if !input.is_object() {
        return input;
    }
    let pick = msgid.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 4;
    let only_data = input.as_object().is_some_and(|o| o.len() == 1 && o.contains_key("data"));
    let upload = input.get("feedetail").is_some();
    match pick {
        0 if !upload => Value::String(input.to_string()),
        1 if only_data => input.get("data").cloned().unwrap_or(input),
        _ => input,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgids_are_national_and_unique_per_visit_and_step() {
        let began = chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .unwrap();
        let mut seen = std::collections::HashSet::new();
        for n in [0, 1, 999, 1000, 1001, 123_456] {
            for step in 1..=9 {
                let msgid = national_msgid("H44030000001", began, n, step);
                let parsed = medclear_common::codes::Msgid::parse(&msgid).unwrap();
                assert!(parsed.belongs_to("H44030000001"), "{msgid}");
                assert!(seen.insert(msgid));
            }
        }
        assert_eq!(
            national_msgid("H44030000001", began, 1000, 3),
            "H44030000001202603030000000003"
        );
    }
}
