//! Medical types (`med_type`, 医疗类别) as hospitals send them: the national codes, and the
//! local codes of provincial platforms (Hunan's 2101 普通住院, 9901 门诊两病, …), each mapped to
//! the kind of care medclear settles. The table is data: the national codes, the provincial
//! codes of `reference/med_types.csv`, and any file the operator names
//! (`--med-types` / `MEDCLEAR_MED_TYPES`, same columns; its rows override) — so a province's
//! codes are added without a rebuild.
//!
//! A code is looked up in the table of the treating region's province (the HIS speaks its own
//! platform's codes), then in the national table. Maternity (51, 52) is not settled across
//! provinces here, and other codes are unknown: both refused as `unknown_med_type`.

use std::collections::HashMap;

use medclear_common::{Error, Result, codes};
use medclear_proto::routing::v1 as pb;

/// The national codes (table 7.28 as public HIS clients use it; DESIGN.md §3).
pub(crate) const NATIONAL: [(&str, pb::MedType, &str); 10] = [
    ("11", pb::MedType::GeneralOutpatient, "普通门诊"),
    ("12", pb::MedType::GeneralOutpatient, "门诊挂号"),
    ("13", pb::MedType::GeneralOutpatient, "急诊"),
    ("14", pb::MedType::ChronicOutpatient, "门诊慢特病"),
    ("15", pb::MedType::ChronicOutpatient, "门诊两病"),
    ("21", pb::MedType::Inpatient, "普通住院"),
    ("22", pb::MedType::Inpatient, "外伤住院"),
    ("23", pb::MedType::Inpatient, "转外诊治住院"),
    ("24", pb::MedType::Inpatient, "急诊转住院"),
    ("41", pb::MedType::Pharmacy, "定点药店购药"),
];

/// The provincial codes shipped with medclear.
const SHIPPED: &str = include_str!("../../../reference/med_types.csv");

/// Codes to kinds of care, nationally and per province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedTypes {
    /// (province's two digits, or "" for national; code) → kind.
    codes: HashMap<(String, String), pb::MedType>,
}

fn kind(word: &str) -> Option<pb::MedType> {
    Some(match word.trim() {
        "general_outpatient" => pb::MedType::GeneralOutpatient,
        "chronic_outpatient" => pb::MedType::ChronicOutpatient,
        "inpatient" => pb::MedType::Inpatient,
        "pharmacy" => pb::MedType::Pharmacy,
        _ => return None,
    })
}

impl Default for MedTypes {
    /// The national codes and the shipped provincial ones.
    fn default() -> Self {
        let mut table = Self {
            codes: NATIONAL
                .iter()
                .map(|(code, kind, _)| ((String::new(), (*code).to_owned()), *kind))
                .collect(),
        };
        // The shipped file is checked by this crate's tests; a bad row cannot get here.
        if let Ok(rows) = parse(SHIPPED, "reference/med_types.csv") {
            table.codes.extend(rows);
        }
        table
    }
}

/// The rows of a table file: `province,med_type,kind[,name[,source]]` with a header line; the
/// province as two digits or its `xx0000` code.
fn parse(text: &str, name: &str) -> Result<Vec<((String, String), pb::MedType)>> {
    let bad = |line: usize, why: String| Error::Internal(format!("{name} line {line}: {why}"));
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.splitn(4, ',');
        let (Some(province), Some(code), Some(word)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(bad(line_no, "needs province,med_type,kind".into()));
        };
        let province = province.trim();
        let province = match province.len() {
            2 => province.to_owned(),
            6 if province.ends_with("0000") => province[..2].to_owned(),
            _ => return Err(bad(line_no, format!("{province:?} is not a province"))),
        };
        if !province.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(line_no, format!("{province:?} is not a province")));
        }
        let code = codes::digits("med_type", code.trim(), 2, 6)
            .map_err(|e| bad(line_no, e.message))?
            .to_owned();
        let kind = kind(word).ok_or_else(|| {
            bad(
                line_no,
                format!(
                    "{word:?} is not general_outpatient, chronic_outpatient, inpatient or pharmacy"
                ),
            )
        })?;
        rows.push(((province, code), kind));
    }
    Ok(rows)
}

impl MedTypes {
    /// The defaults and the rows of the file at `path` (which override them).
    pub fn with_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
        let mut table = Self::default();
        table.codes.extend(parse(&text, &path.display().to_string())?);
        Ok(table)
    }

    /// The kind of care `code` means at a hospital in `treating` (any region code):
    /// `Ok(None)` for an empty code; `Err` with the reason for a code not known there.
    pub fn lookup(
        &self,
        field: &str,
        treating: &str,
        code: &str,
    ) -> std::result::Result<Option<pb::MedType>, codes::Invalid> {
        let code = code.trim();
        if code.is_empty() {
            return Ok(None);
        }
        let province = treating.get(..2).unwrap_or_default().to_owned();
        let found = self
            .codes
            .get(&(province, code.to_owned()))
            .or_else(|| self.codes.get(&(String::new(), code.to_owned())));
        match found {
            Some(kind) => Ok(Some(*kind)),
            None if matches!(code, "51" | "52") => Err(codes::Invalid::new(
                field,
                "unknown_med_type",
                format!("{field} {code}: maternity (生育) is not settled across provinces here"),
            )),
            None => Err(codes::Invalid::new(
                field,
                "unknown_med_type",
                format!(
                    "{field} {} is neither a national medical type nor one of province {}'s",
                    codes::shown(code),
                    treating.get(..2).unwrap_or_default()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_codes_then_the_treating_provinces_own() {
        let table = MedTypes::default();
        let at = |treating: &str, code: &str| table.lookup("med_type", treating, code);
        assert_eq!(at("440300", "21").unwrap(), Some(pb::MedType::Inpatient));
        assert_eq!(at("430102", "2101").unwrap(), Some(pb::MedType::Inpatient), "Hunan's");
        assert_eq!(at("430102", "9901").unwrap(), Some(pb::MedType::ChronicOutpatient));
        assert_eq!(at("440300", "2101").unwrap_err().reason, "unknown_med_type", "not Guangdong's");
        assert_eq!(at("430102", "11").unwrap(), Some(pb::MedType::GeneralOutpatient));
        assert!(at("440300", "52").unwrap_err().message.contains("maternity"));
        assert_eq!(at("440300", "").unwrap(), None);
    }

    #[test]
    fn a_file_adds_and_overrides_and_bad_rows_are_refused_by_line() {
        let dir = std::env::temp_dir().join(format!("medtypes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.csv");
        std::fs::write(&path, "province,med_type,kind\n440000,2101,chronic_outpatient\n").unwrap();
        let table = MedTypes::with_file(&path).unwrap();
        assert_eq!(
            table.lookup("med_type", "440300", "2101").unwrap(),
            Some(pb::MedType::ChronicOutpatient)
        );
        std::fs::write(&path, "province,med_type,kind\n44,2101,surgery\n").unwrap();
        let error = MedTypes::with_file(&path).unwrap_err().to_string();
        assert!(error.contains("line 2") && error.contains("surgery"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_shipped_file_reads_whole() {
        assert_eq!(parse(SHIPPED, "shipped").unwrap().len(), SHIPPED.lines().count() - 1);
    }
}
