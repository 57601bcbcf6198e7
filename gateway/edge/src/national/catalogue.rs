//! The catalogue transactions: 1301, 1302, 1305–1311 (catalogue downloads), 1312 / 1318 /
//! 1319 (coverage rules, price caps, first self-pay ratios), 1317 (the institution's own
//! catalogue matching), and 3301 / 3302 (uploading and revoking that matching).
//!
//! A download answers a `file_qury_no` naming the catalogue kind and the version range
//! (`C1301-<after>-<upto>`: the items published after the HIS's `ver` up to the version
//! current when it asked), and 9102 (in `files`) returns that file as a zip of one UTF-8,
//! TAB-separated text file, rebuilt from the catalogue on each download — the range fixes its
//! content, so no file needs keeping. Columns of 1301–1308: `med_list_codg`, name, spec, unit,
//! begin date, end date (empty: open-ended), version. 1309–1311 are written in the national
//! file's own columns, which HIS clients read by position ([`disease_row`]).
//!
//! 1309 (门诊慢特病种) is the filing service's list of chronic/special diseases — the list 2503
//! declarations are checked against — read when the file is built. That list has no versions:
//! its file is always the whole list, `C1309-0-0` whatever `ver` the HIS sends. 1310 (按病种付费病种)
//! and 1311 (日间手术治疗病种) are catalogue items of their own kinds, versioned like every item.

use medclear_common::{
    clock::{Clock as _, SystemClock},
    codes,
};
use medclear_proto::catalog::v1 as kpb;
use serde::{Deserialize, Serialize};
use serde_json::{Value, value::RawValue};

use super::envelope::{Envelope, Outcome, Refusal, Yuan, date_of, list, node, output};
use crate::{json::text, state::AppState};

// 1301 / 1302 / 1305–1308 --------------------------------------------------------------------

/// 1301 / 1302 / 1305–1308: which file holds the catalogue items since `ver`.
#[derive(Debug, Serialize)]
struct FileAnswer {
    file_qury_no: String,
    filename: String,
    dld_end_time: String,
    data_cnt: usize,
}

pub(super) async fn catalogue_file(state: &AppState, envelope: &Envelope) -> Outcome {
    let v: VersionNode = node(envelope, "data")?;
    let after = version_of(&v.ver)?;
    let infno = envelope.infno.parse().unwrap_or_default();
    // The chronic-disease list has no versions: every file is all of it.
    let after = if infno == CHRONIC_DISEASES { 0 } else { after };
    let (rows, upto) = rows(state, &envelope.infno, after, None).await?;
    let query = FileQuery { infno, after, upto };
    let tomorrow = SystemClock.today() + chrono::Days::new(1);
    output(&FileAnswer {
        file_qury_no: query.number(),
        filename: query.filename(),
        dld_end_time: tomorrow.to_string(),
        data_cnt: rows.len(),
    })
}

/// 1309, whose file is the filing service's chronic-disease list, not catalogue items.
const CHRONIC_DISEASES: u16 = 1309;

/// The catalogue kinds each download carries.
fn kinds_of(infno: &str) -> Option<&'static [kpb::ItemKind]> {
    Some(match infno {
        "1301" => &[kpb::ItemKind::WesternDrug, kpb::ItemKind::PatentDrug],
        "1302" => &[kpb::ItemKind::Herbal],
        "1305" => &[kpb::ItemKind::Service],
        "1306" => &[kpb::ItemKind::Consumable],
        "1307" => &[kpb::ItemKind::Diagnosis],
        "1308" => &[kpb::ItemKind::Operation],
        "1310" => &[kpb::ItemKind::DiseasePayment],
        "1311" => &[kpb::ItemKind::DaySurgery],
        _ => return None,
    })
}

/// A download's range, as its `file_qury_no` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileQuery {
    pub(super) infno: u16,
    pub(super) after: i64,
    pub(super) upto: i64,
}

impl FileQuery {
    fn number(&self) -> String {
        format!("C{}-{}-{}", self.infno, self.after, self.upto)
    }

    pub(super) fn parse(text: &str) -> Option<Self> {
        let mut parts = text.strip_prefix('C')?.split('-');
        let infno: u16 = parts.next()?.parse().ok()?;
        let after: i64 = parts.next()?.parse().ok()?;
        let upto: i64 = parts.next()?.parse().ok()?;
        let query = Self { infno, after, upto };
        let known = if infno == CHRONIC_DISEASES {
            after == 0 && upto == 0
        } else {
            kinds_of(&infno.to_string()).is_some()
        };
        (parts.next().is_none() && after >= 0 && upto >= after && known).then_some(query)
    }

    pub(super) fn filename(&self) -> String {
        format!("{}_{}.zip", self.infno, self.upto)
    }
}

/// The rows of a download — the items of its kinds published after `after`, up to `upto`
/// (`None`: the version current now) — and the version they go up to. 1309's are the whole
/// chronic-disease list, at version 0.
pub(super) async fn rows(
    state: &AppState,
    infno: &str,
    after: i64,
    upto: Option<i64>,
) -> Result<(Vec<String>, i64), Refusal> {
    if infno == CHRONIC_DISEASES.to_string() {
        return Ok((chronic_rows(state).await?, 0));
    }
    let kinds = kinds_of(infno).ok_or_else(|| Refusal::new("unknown_file", "no such download"))?;
    let today = SystemClock.today().to_string();
    let mut client = state.catalog();
    let (mut rows, mut upto, mut page_token) = (Vec::new(), upto, String::new());
    loop {
        let page = client
            .list_changes(kpb::ListChangesRequest {
                since_ver: after,
                limit: 10_000,
                fixmedins_code: String::new(),
                page_token: page_token.clone(),
            })
            .await?
            .into_inner();
        let last = *upto.get_or_insert(page.current_ver);
        for item in page.items {
            if item.ver <= last && kinds.iter().any(|k| i32::from(*k) == item.kind) {
                rows.push(match infno {
                    "1310" | "1311" => disease_row(infno, &item, last, &today),
                    _ => line(&[
                        &item.code,
                        &item.name,
                        &item.spec,
                        &item.unit,
                        &item.begin_date,
                        &item.end_date,
                        &item.ver.to_string(),
                    ]),
                });
            }
        }
        if !page.has_more || page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok((rows, upto.unwrap_or(after)))
}

/// One line of a download file: its fields TAB-separated, none carrying a TAB or a line break.
fn line(fields: &[&str]) -> String {
    let fields: Vec<String> = fields.iter().map(|f| f.replace(['\t', '\n', '\r'], " ")).collect();
    fields.join("\t")
}

/// A 1310 or 1311 row in the national file's columns, which HIS clients read by position:
///
/// * 1310: `dise_setl_list_id`, `bydise_setl_list_code`, `bydise_setl_dise_name`,
///   `qua_oprn_oprt_code`, `qua_oprn_oprt_name`, `vali_flag`, `rid`, `crte_time`, `updt_time`,
///   `ver`, `dise_cont`, `memo`, `ver_name`, `trt_guide_pagen`, `trt_guide_elecacs`;
/// * 1311: `daysrg_trt_list_id`, `daysrg_dise_list_code`, `daysrg_dise_name`, `vali_flag`,
///   `rid`, `crte_time`, `updt_time`, `ver`, `dise_cont`, `memo`, `ver_name`,
///   `trt_guide_pagen`, `trt_guide_elecacs`, `oprn_oprt_name`, `oprn_oprt_code`.
///
/// The list id is the code, `rid` the code and the revision's version, `ver` the version that
/// published the revision, `ver_name` the version the file reaches (what a client sends as
/// `ver` next); `vali_flag` 1 while the entry is in force. The catalogue keeps no creation or
/// update time of a row and no disease contents, guide or memo: those are empty.
fn disease_row(infno: &str, item: &kpb::Item, upto: i64, today: &str) -> String {
    let in_force = item.begin_date.as_str() <= today
        && (item.end_date.is_empty() || item.end_date.as_str() >= today);
    let valid = if in_force { "1" } else { "0" };
    let (ver, ver_name, rid) =
        (item.ver.to_string(), upto.to_string(), format!("{}-{}", item.code, item.ver));
    let (code, name) = (item.code.as_str(), item.name.as_str());
    let (operation_code, operation_name) =
        (item.operation_code.as_str(), item.operation_name.as_str());
    if infno == "1310" {
        line(&[
            code,
            code,
            name,
            operation_code,
            operation_name,
            valid,
            &rid,
            "",
            "",
            &ver,
            "",
            "",
            &ver_name,
            "",
            "",
        ])
    } else {
        line(&[
            code,
            code,
            name,
            valid,
            &rid,
            "",
            "",
            &ver,
            "",
            "",
            &ver_name,
            "",
            "",
            operation_name,
            operation_code,
        ])
    }
}

/// 1309's rows: the filing service's chronic/special disease list, in the national file's
/// columns — `opsp_dise_code`, `opsp_dise_majcls_name`, `opsp_dise_subd_clss_name`, `admdvs`,
/// `memo`, `vali_flag`, `rid`, `crte_time`, `updt_time`, `ver`, `dise_cont`, `ver_name`,
/// `trt_guide_pagen`, `trt_guide_elecacs`, `opsp_dise_name`, `opsp_dise_majcls_code`. Each
/// disease of the list is its own major class (the list has no subdivisions) and may be
/// declared (`vali_flag` 1); the list keeps no region, times, contents or guide (empty), and
/// no versions (`ver` and `ver_name` 0).
async fn chronic_rows(state: &AppState) -> Result<Vec<String>, Refusal> {
    let request = medclear_proto::filing::v1::ListChronicDiseasesRequest {};
    let diseases = state.filing().list_chronic_diseases(request).await?.into_inner().diseases;
    Ok(diseases
        .iter()
        .map(|d| {
            let (code, name) = (d.code.as_str(), d.name.as_str());
            line(&[code, name, "", "", "", "1", code, "", "", "0", "", "0", "", "", name, code])
        })
        .collect())
}

/// Every item's name by code, and every coverage rule, read from the catalogue's change
/// feed from the start.
async fn coverage(
    state: &AppState,
) -> Result<(std::collections::HashMap<String, String>, Vec<kpb::Coverage>), Refusal> {
    let mut client = state.catalog();
    let (mut names, mut rules, mut page_token) =
        (std::collections::HashMap::new(), Vec::new(), String::new());
    loop {
        let page = client
            .list_changes(kpb::ListChangesRequest {
                since_ver: 0,
                limit: 10_000,
                fixmedins_code: String::new(),
                page_token: page_token.clone(),
            })
            .await?
            .into_inner();
        names.extend(page.items.into_iter().map(|i| (i.code, i.name)));
        rules.extend(page.coverage);
        if !page.has_more || page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok((names, rules))
}

/// `ver` as HIS clients send it: our catalogue version, or empty / 0 for everything.
fn version_of(text_ver: &str) -> Result<i64, Refusal> {
    match text_ver.trim() {
        "" => Ok(0),
        v => v.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
            Refusal::new(
                "invalid_input",
                format!("ver {} is not a catalogue version (0, 1, …)", codes::shown(v)),
            )
        }),
    }
}

#[derive(Debug, Default, Deserialize)]
struct VersionNode {
    #[serde(default, deserialize_with = "text")]
    ver: String,
}

// 1317 ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default, deserialize_with = "text")]
    fixmedins_code: String,
    #[serde(default, deserialize_with = "text")]
    medins_list_codg: String,
    #[serde(default, deserialize_with = "text")]
    med_list_codg: String,
    #[serde(default, deserialize_with = "text")]
    page_num: String,
    #[serde(default, deserialize_with = "text")]
    page_size: String,
}

/// A page of rows in the national paged-query wrapper (its keys are camelCase).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    data: Vec<T>,
    page_num: usize,
    page_size: usize,
    size: usize,
    start_row: usize,
    pages: usize,
    record_counts: usize,
    first_page: bool,
    last_page: bool,
}

impl<T> Page<T> {
    /// Page `page_num` (from 1) of `page_size` rows of `rows`.
    fn of(rows: Vec<T>, page_num: usize, page_size: usize) -> Self {
        let total = rows.len();
        let pages = total.div_ceil(page_size);
        let start = (page_num - 1).saturating_mul(page_size).min(total);
        let data: Vec<T> = rows.into_iter().skip(start).take(page_size).collect();
        Self {
            size: data.len(),
            data,
            page_num,
            page_size,
            start_row: start + 1,
            pages,
            record_counts: total,
            first_page: page_num == 1,
            last_page: page_num >= pages,
        }
    }
}

fn page_number(field: &str, text: &str, max: usize) -> Result<usize, Refusal> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| Refusal::new("invalid_input", format!("{field} must be 1 to {max}")))
}

#[derive(Debug, Serialize)]
struct MatchRow {
    fixmedins_code: String,
    medins_list_codg: String,
    medins_list_name: String,
    med_list_codg: String,
    begndate: String,
    enddate: String,
    /// `1` in force, `0` revoked.
    vali_flag: &'static str,
}

/// 1317: the institution's own catalogue matching (its mappings), a page at a time.
pub(super) async fn institution_matching(state: &AppState, envelope: &Envelope) -> Outcome {
    let q: PageQuery = node(envelope, "data")?;
    codes::optional_code("data.fixmedins_code", &q.fixmedins_code, 12)?;
    codes::optional_code("data.medins_list_codg", &q.medins_list_codg, 150)?;
    codes::optional_code("data.med_list_codg", &q.med_list_codg, 50)?;
    let page_num = page_number("page_num", &q.page_num, 9999)?;
    let page_size = page_number("page_size", &q.page_size, 1000)?;
    // An institution sees its own matching only.
    if !q.fixmedins_code.trim().is_empty() && q.fixmedins_code.trim() != envelope.fixmedins_code {
        return Err(Refusal::new(
            "forbidden",
            "an institution queries its own catalogue matching (fixmedins_code)",
        ));
    }
    let request = kpb::ListMappingsRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        include_revoked: true,
    };
    let mappings = state.catalog().list_mappings(request).await?.into_inner().mappings;
    let rows: Vec<MatchRow> = mappings
        .into_iter()
        .filter(|m| {
            let local = q.medins_list_codg.trim();
            let national = q.med_list_codg.trim();
            (local.is_empty() || m.local_code == local)
                && (national.is_empty() || m.national_code == national)
        })
        .map(|m| MatchRow {
            fixmedins_code: m.fixmedins_code,
            medins_list_codg: m.local_code,
            medins_list_name: m.local_name,
            med_list_codg: m.national_code,
            begndate: m.begin_date,
            enddate: m.end_date,
            vali_flag: if m.revoked { "0" } else { "1" },
        })
        .collect();
    output(&Page::of(rows, page_num, page_size))
}

// 1312 / 1318 / 1319 --------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct RuleQuery {
    #[serde(default, deserialize_with = "text")]
    hilist_code: String,
    #[serde(default, deserialize_with = "text")]
    insu_admdvs: String,
    #[serde(default, deserialize_with = "text")]
    page_num: String,
    #[serde(default, deserialize_with = "text")]
    page_size: String,
}

/// A decimal written as a JSON number from its exact text.
#[derive(Debug, Clone)]
struct Exact(String);

impl Serialize for Exact {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.clone()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

#[derive(Debug, Serialize)]
struct HilistRow {
    hilist_code: String,
    hilist_name: String,
    insu_admdvs: String,
    begndate: String,
    enddate: String,
    /// 01 甲, 02 乙, 03 丙.
    chrgitm_lv: &'static str,
    /// 1 when the rule restricts use (levels, diagnoses, ages).
    lmt_used_flag: &'static str,
    vali_flag: &'static str,
    rid: String,
}

#[derive(Debug, Serialize)]
struct PriceCapRow {
    hilist_code: String,
    insu_admdvs: String,
    begndate: String,
    enddate: String,
    hilist_pric_uplmt_amt: Yuan,
    vali_flag: &'static str,
    rid: String,
}

#[derive(Debug, Serialize)]
struct SelfPayRow {
    hilist_code: String,
    /// The insutype the ratio is for, or `ALL`.
    selfpay_prop_psn_type: String,
    insu_admdvs: String,
    begndate: String,
    enddate: String,
    selfpay_prop: Exact,
    vali_flag: &'static str,
    rid: String,
}

/// 1312 (catalogue rules), 1318 (price caps), 1319 (first self-pay ratios): the catalogue's
/// coverage rules, filtered by `hilist_code` and `insu_admdvs` (the rule's scope, `000000`
/// national), a page at a time. `updt_time` is not a filter here: every rule is listed.
pub(super) async fn coverage_query(state: &AppState, envelope: &Envelope) -> Outcome {
    let q: RuleQuery = node(envelope, "data")?;
    codes::optional_code("data.hilist_code", &q.hilist_code, 50)?;
    codes::optional_code("data.insu_admdvs", &q.insu_admdvs, 6)?;
    let page_num = page_number("page_num", &q.page_num, 9999)?;
    let page_size = page_number("page_size", &q.page_size, 1000)?;
    let (names, rules) = coverage(state).await?;
    let today = SystemClock.today().to_string();
    let rules = rules.into_iter().filter(|c| {
        (q.hilist_code.trim().is_empty() || c.code == q.hilist_code.trim())
            && (q.insu_admdvs.trim().is_empty() || c.scope == q.insu_admdvs.trim())
    });
    let valid = |c: &kpb::Coverage| -> &'static str {
        if c.end_date.is_empty() || c.end_date >= today { "1" } else { "0" }
    };
    match envelope.infno.as_str() {
        "1312" => {
            let rows: Vec<HilistRow> = rules
                .map(|c| HilistRow {
                    hilist_name: names.get(&c.code).cloned().unwrap_or_default(),
                    insu_admdvs: c.scope.clone(),
                    begndate: c.begin_date.clone(),
                    enddate: c.end_date.clone(),
                    chrgitm_lv: match kpb::CoverageClass::try_from(c.class) {
                        Ok(kpb::CoverageClass::A) => "01",
                        Ok(kpb::CoverageClass::B) => "02",
                        _ => "03",
                    },
                    lmt_used_flag: if c.hospital_levels.is_empty()
                        && c.diagnosis_prefixes.is_empty()
                        && c.min_age.is_none()
                        && c.max_age.is_none()
                    {
                        "0"
                    } else {
                        "1"
                    },
                    vali_flag: valid(&c),
                    rid: c.id.to_string(),
                    hilist_code: c.code,
                })
                .collect();
            output(&Page::of(rows, page_num, page_size))
        }
        "1318" => {
            let rows: Vec<PriceCapRow> = rules
                .filter_map(|c| {
                    Some(PriceCapRow {
                        hilist_pric_uplmt_amt: Yuan(c.price_cap_fen?),
                        insu_admdvs: c.scope.clone(),
                        begndate: c.begin_date.clone(),
                        enddate: c.end_date.clone(),
                        vali_flag: valid(&c),
                        rid: c.id.to_string(),
                        hilist_code: c.code,
                    })
                })
                .collect();
            output(&Page::of(rows, page_num, page_size))
        }
        _ => {
            let mut rows = Vec::new();
            for c in rules.filter(|c| c.class == i32::from(kpb::CoverageClass::B)) {
                let mut ratios: Vec<(String, String)> =
                    c.selfpay_ratio_by_insutype.clone().into_iter().collect();
                ratios.sort();
                ratios.insert(0, ("ALL".to_owned(), c.selfpay_ratio.clone()));
                for (who, ratio) in ratios {
                    rows.push(SelfPayRow {
                        hilist_code: c.code.clone(),
                        selfpay_prop_psn_type: who,
                        insu_admdvs: c.scope.clone(),
                        begndate: c.begin_date.clone(),
                        enddate: c.end_date.clone(),
                        selfpay_prop: Exact(ratio),
                        vali_flag: valid(&c),
                        rid: c.id.to_string(),
                    });
                }
            }
            output(&Page::of(rows, page_num, page_size))
        }
    }
}

// 3301 / 3302 ----------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct MappingNode {
    #[serde(default, deserialize_with = "text")]
    fixmedins_hilist_id: String,
    #[serde(default, deserialize_with = "text")]
    fixmedins_hilist_name: String,
    #[serde(default, deserialize_with = "text")]
    med_list_codg: String,
    #[serde(default, deserialize_with = "text")]
    begndate: String,
}

/// 3301: the institution's catalogue matching uploaded (its local codes to national ones).
pub(super) async fn upload_mapping(state: &AppState, envelope: &Envelope) -> Outcome {
    // One item in `data`, or a list of them (clients send both).
    let items: Vec<MappingNode> = match envelope.input.get("data") {
        Some(Value::Array(_)) => list(envelope, "data")?,
        _ => vec![node(envelope, "data")?],
    };
    let mut mappings = Vec::with_capacity(items.len());
    for (i, m) in items.iter().enumerate() {
        let at = |field: &str| format!("data[{i}].{field}");
        mappings.push(kpb::Mapping {
            local_code: codes::code(&at("fixmedins_hilist_id"), &m.fixmedins_hilist_id, 150)?
                .to_owned(),
            local_name: codes::text(&at("fixmedins_hilist_name"), &m.fixmedins_hilist_name, 200)?
                .to_owned(),
            national_code: codes::code(&at("med_list_codg"), &m.med_list_codg, 50)?.to_owned(),
            begin_date: date_of(&format!("data[{i}].begndate"), &m.begndate)?,
            ..Default::default()
        });
    }
    let request = kpb::UploadMappingsRequest {
        msgid: envelope.msgid.clone(),
        fixmedins_code: envelope.fixmedins_code.clone(),
        mappings,
    };
    let answer = state.catalog().upload_mappings(request).await?.into_inner();
    let refused: Vec<String> = answer
        .outcomes
        .iter()
        .filter(|o| !o.accepted)
        .map(|o| format!("data[{}]: {} ({})", o.index, o.reason, o.message))
        .collect();
    if !refused.is_empty() {
        return Err(Refusal::new("mapping_refused", refused.join("; ")));
    }
    Ok(None)
}

/// 3302: one local code's matching revoked.
pub(super) async fn revoke_mapping(state: &AppState, envelope: &Envelope) -> Outcome {
    let m: MappingNode = node(envelope, "data")?;
    let request = kpb::RevokeMappingRequest {
        msgid: envelope.msgid.clone(),
        fixmedins_code: envelope.fixmedins_code.clone(),
        local_code: codes::code("data.fixmedins_hilist_id", &m.fixmedins_hilist_id, 150)?
            .to_owned(),
    };
    state.catalog().revoke_mapping(request).await?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_query_names_its_range_and_nothing_else_parses() {
        let q = FileQuery { infno: 1301, after: 3, upto: 9 };
        assert_eq!(FileQuery::parse(&q.number()), Some(q));
        for bad in ["C1301-9-3", "C9999-0-1", "1301-0-1", "C1301-0-1-2", "C1301--1-2", ""] {
            assert_eq!(FileQuery::parse(bad), None, "{bad}");
        }
    }
}
