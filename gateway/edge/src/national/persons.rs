//! 1101: an insured person's identity and insurance, by citizen ID.

use medclear_common::{
    clock::{Clock as _, SystemClock},
    codes,
};
use medclear_proto::routing::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::envelope::{Envelope, Outcome, Refusal, Yuan, from_certno, node, output, routing};
use crate::{json::text, state::AppState};

#[derive(Debug, Deserialize)]
struct PersonQuery {
    #[serde(default, deserialize_with = "text")]
    mdtrt_cert_type: String,
    #[serde(default, deserialize_with = "text")]
    mdtrt_cert_no: String,
    #[serde(default, deserialize_with = "text")]
    certno: String,
}

/// `baseinfo`: `naty` (民族) and `exp_content` are not in the registry: null.
#[derive(Debug, Serialize)]
struct BaseInfo {
    psn_no: String,
    psn_cert_type: &'static str,
    certno: String,
    psn_name: String,
    gend: String,
    naty: Option<String>,
    brdy: String,
    age: u32,
    exp_content: Option<String>,
}

/// `insuinfo`: the insurance start and pause dates and the employer are not in the registry:
/// null.
#[derive(Debug, Serialize)]
struct InsuInfo {
    balc: Yuan,
    insutype: String,
    psn_type: String,
    psn_insu_stas: &'static str,
    psn_insu_date: Option<String>,
    paus_insu_date: Option<String>,
    cvlserv_flag: &'static str,
    insuplc_admdvs: String,
    emp_name: Option<String>,
}

#[derive(Debug, Serialize)]
struct PersonOutput {
    baseinfo: BaseInfo,
    insuinfo: Vec<InsuInfo>,
    idetinfo: Vec<Value>,
}

pub(super) async fn person_info(state: &AppState, envelope: &Envelope) -> Outcome {
    let q: PersonQuery = node(envelope, "data")?;
    codes::optional_code("data.mdtrt_cert_type", &q.mdtrt_cert_type, 3)?;
    codes::text("data.mdtrt_cert_no", &q.mdtrt_cert_no, 50)?;
    codes::optional_code("data.certno", &q.certno, 50)?;
    // 02 (ID card) carries the citizen ID as the credential number; any type may name it
    // in `certno`. E-vouchers (01) and social-security cards (03) need their issuers.
    let certno = match (q.mdtrt_cert_type.as_str(), q.certno.trim()) {
        (_, certno) if !certno.is_empty() => codes::citizen_id("data.certno", certno)?,
        ("02", _) => codes::citizen_id("data.mdtrt_cert_no", &q.mdtrt_cert_no)?,
        (other, _) => {
            return Err(Refusal::new(
                "unsupported_credential",
                format!(
                    "mdtrt_cert_type {} without certno: send the citizen ID (02) or certno",
                    codes::shown(other)
                ),
            ));
        }
    };
    let person = routing(state, envelope, "")
        .query_person(pb::QueryPersonRequest { certno: certno.clone(), psn_no: String::new() })
        .await?
        .into_inner();
    // A citizen ID checked above: its gender, birth date and age are there.
    let (gend, birth, age) =
        from_certno(&certno, SystemClock.today()).unwrap_or(("9", chrono::NaiveDate::MIN, 0));
    output(&PersonOutput {
        baseinfo: BaseInfo {
            psn_no: person.psn_no,
            psn_cert_type: "01",
            certno,
            psn_name: person.psn_name,
            gend: gend.to_owned(),
            naty: None,
            brdy: birth.to_string(),
            age: u32::try_from(age).unwrap_or(0),
            exp_content: None,
        },
        insuinfo: vec![InsuInfo {
            balc: Yuan(person.account_balance_fen),
            insutype: person.insutype,
            psn_type: person.psn_type,
            psn_insu_stas: "1",
            psn_insu_date: None,
            paus_insu_date: None,
            cvlserv_flag: "0",
            insuplc_admdvs: person.insuplc_admdvs,
            emp_name: None,
        }],
        idetinfo: Vec::new(),
    })
}
