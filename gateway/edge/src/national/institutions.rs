//! 1201 (医药机构信息获取): a designated institution of the registry, by its code.

use medclear_common::codes;
use medclear_proto::routing::v1 as pb;
use serde::{Deserialize, Serialize};

use super::envelope::{Envelope, Outcome, Refusal, node, output, routing};
use crate::{json::text, state::AppState};

#[derive(Debug, Default, Deserialize)]
struct InstitutionQuery {
    #[serde(default, deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(default, deserialize_with = "text")]
    fixmedins_name: String,
    #[serde(default, deserialize_with = "text")]
    fixmedins_type: String,
}

/// A row of 1201's `medinsinfo[]`.
#[derive(Debug, Serialize)]
struct MedinsInfo {
    fixmedins_code: String,
    fixmedins_name: String,
    /// 统一社会信用代码: the registry does not hold it.
    uscc: Option<String>,
    fixmedins_type: &'static str,
    hosp_lv: &'static str,
}

#[derive(Debug, Serialize)]
struct MedinsOutput {
    medinsinfo: Vec<MedinsInfo>,
}

/// 定点医疗服务机构类型 by the code's letter: 1 定点医疗机构 (`H`), 2 定点零售药店 (`P`).
fn fixmedins_type(code: &str) -> &'static str {
    if code.starts_with('P') { "2" } else { "1" }
}

/// 医院等级 (`hosp_lv`) of the registry's level, which has no 甲 / 乙 / 丙 grade: 12 三级无等,
/// 13 二级无等, 14 一级无等, 11 无等级 (docs/NATIONAL_INTERFACE.md §3.3: the values and their
/// sources; 12–14 are unconfirmed).
fn hosp_lv(level: &str) -> &'static str {
    match level {
        "tertiary" => "12",
        "secondary" => "13",
        "primary" => "14",
        _ => "11",
    }
}

/// 1201: the institution `fixmedins_code` names (the caller itself when it names none and no
/// name either); none when the registry does not have it, or it is not of the
/// `fixmedins_type` asked. A search by name alone is refused (`unsupported_query`).
pub(super) async fn institution_info(state: &AppState, envelope: &Envelope) -> Outcome {
    let q: InstitutionQuery = node(envelope, "medinsinfo")?;
    let asked = codes::text("medinsinfo.fixmedins_code", &q.fixmedins_code, 12)?;
    let name = codes::text("medinsinfo.fixmedins_name", &q.fixmedins_name, 200)?;
    let kind = codes::optional_code("medinsinfo.fixmedins_type", &q.fixmedins_type, 6)?;
    let code = match (asked, name) {
        ("", "") => envelope.fixmedins_code.clone(),
        ("", _) => {
            return Err(Refusal::new(
                "unsupported_query",
                "1201 finds an institution by medinsinfo.fixmedins_code; a search by name is not \
                 served",
            ));
        }
        (code, _) => codes::fixmedins_code("medinsinfo.fixmedins_code", code)?.to_string(),
    };
    let request = pb::GetInstitutionRequest { fixmedins_code: code.clone() };
    let found = match routing(state, envelope, "").get_institution(request).await {
        Ok(found) => Some(found.into_inner()),
        Err(status) if status.code() == tonic::Code::NotFound => None,
        Err(status) => return Err(status.into()),
    };
    let medinsinfo = found
        .map(|i| MedinsInfo {
            fixmedins_type: fixmedins_type(&i.fixmedins_code),
            hosp_lv: hosp_lv(&i.hospital_level),
            fixmedins_code: i.fixmedins_code,
            fixmedins_name: i.fixmedins_name,
            uscc: None,
        })
        .filter(|i| kind.is_empty() || i.fixmedins_type == kind)
        .into_iter()
        .collect();
    output(&MedinsOutput { medinsinfo })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registrys_levels_and_letters_are_national_codes() {
        assert_eq!((fixmedins_type("H44030000001"), fixmedins_type("P44030000002")), ("1", "2"));
        let levels = ["tertiary", "secondary", "primary", "ungraded"].map(hosp_lv);
        assert_eq!(levels, ["12", "13", "14", "11"]);
    }
}
