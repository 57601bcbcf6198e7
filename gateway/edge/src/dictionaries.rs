//! The national code tables (字典, what 1901 answers): data, not code. The national tables of
//! `reference/dictionaries.csv` (`type,value,label[,parent_value[,source]]`, the tables of
//! docs/NATIONAL_INTERFACE.md §8 that have a source), and for `med_type` the provincial codes of
//! `reference/med_types.csv`, each with the national code of the kind of care it is settled as
//! for its `parent_value`.

use std::sync::LazyLock;

/// The national tables shipped with medclear.
const SHIPPED: &str = include_str!("../../../reference/dictionaries.csv");

/// The provincial medical types shipped with medclear (`province,med_type,kind,name,source`).
const PROVINCIAL: &str = include_str!("../../../reference/med_types.csv");

/// One value of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The table (`med_type`, `psn_type` …).
    pub kind: String,
    pub value: String,
    pub label: String,
    /// The value it belongs under; empty: none.
    pub parent_value: String,
    /// Its place in its table, from 1.
    pub sort: u32,
    /// The province whose own code it is (two digits); empty: a national code.
    pub province: String,
}

/// Every table, national and provincial.
#[derive(Debug)]
pub struct Dictionaries {
    entries: Vec<Entry>,
}

static SHIPPED_TABLES: LazyLock<Dictionaries> = LazyLock::new(|| {
    // Both files are checked by this crate's tests; a bad row cannot get here.
    let mut entries = parse(SHIPPED).unwrap_or_default();
    let national = entries.iter().filter(|e| e.kind == "med_type").count();
    let mut provincial = provincial(PROVINCIAL).unwrap_or_default();
    // A province's own codes come after the national ones, in the order of the file.
    for i in 0..provincial.len() {
        let before = provincial[..i].iter().filter(|e| e.province == provincial[i].province);
        let place = national + 1 + before.count();
        provincial[i].sort = u32::try_from(place).unwrap_or(u32::MAX);
    }
    entries.extend(provincial);
    Dictionaries { entries }
});

/// The national code of the kind of care a provincial code is settled as.
fn national_of(kind: &str) -> Option<&'static str> {
    Some(match kind.trim() {
        "general_outpatient" => "11",
        "chronic_outpatient" => "14",
        "inpatient" => "21",
        "pharmacy" => "41",
        _ => return None,
    })
}

/// The rows of the national file, numbered in each table in the order of the file.
fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let mut entries: Vec<Entry> = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.splitn(5, ',').map(str::trim);
        let (Some(kind), Some(value), Some(label)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("line {}: needs type,value,label", i + 1));
        };
        if kind.is_empty() || value.is_empty() || label.is_empty() {
            return Err(format!("line {}: an empty type, value or label", i + 1));
        }
        if entries.iter().any(|e| e.kind == kind && e.value == value) {
            return Err(format!("line {}: {kind} {value} twice", i + 1));
        }
        let sort = 1 + entries.iter().filter(|e| e.kind == kind).count();
        entries.push(Entry {
            kind: kind.to_owned(),
            value: value.to_owned(),
            label: label.to_owned(),
            parent_value: fields.next().unwrap_or_default().to_owned(),
            sort: u32::try_from(sort).unwrap_or(u32::MAX),
            province: String::new(),
        });
    }
    Ok(entries)
}

/// The provincial medical types as `med_type` entries of their province (numbered when they
/// join the national ones).
fn provincial(text: &str) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.splitn(5, ',').map(str::trim).collect();
        let [province, value, kind, label, ..] = fields[..] else {
            return Err(format!("med_types.csv line {}: needs a name", i + 1));
        };
        let parent = national_of(kind)
            .ok_or_else(|| format!("med_types.csv line {}: kind {kind:?}", i + 1))?;
        entries.push(Entry {
            kind: "med_type".to_owned(),
            value: value.to_owned(),
            label: label.to_owned(),
            parent_value: parent.to_owned(),
            sort: 0,
            province: province.get(..2).unwrap_or_default().to_owned(),
        });
    }
    Ok(entries)
}

impl Dictionaries {
    /// The tables shipped with medclear.
    pub fn shipped() -> &'static Self {
        &SHIPPED_TABLES
    }

    /// The names of the tables, in the order of the file.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for e in &self.entries {
            if !names.contains(&e.kind.as_str()) {
                names.push(&e.kind);
            }
        }
        names
    }

    /// The national label of `value` in table `kind` (e.g. a fund type's name).
    pub fn label(&'static self, kind: &str, value: &str) -> Option<&'static str> {
        self.entries
            .iter()
            .find(|e| e.kind == kind && e.value == value && e.province.is_empty())
            .map(|e| e.label.as_str())
    }

    /// The entries of table `kind` as a hospital in `region` (any region code; empty: none)
    /// sees them: the national ones and its province's own; `None` for a table not known.
    pub fn table(&self, kind: &str, region: &str) -> Option<Vec<&Entry>> {
        if !self.entries.iter().any(|e| e.kind == kind) {
            return None;
        }
        let province = region.get(..2).unwrap_or_default();
        let theirs = |e: &&Entry| e.province.is_empty() || e.province == province;
        Some(self.entries.iter().filter(|e| e.kind == kind).filter(theirs).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_files_read_whole() {
        let national = parse(SHIPPED).unwrap();
        assert_eq!(national.len(), SHIPPED.lines().filter(|l| !l.trim().is_empty()).count() - 1);
        let provincial = provincial(PROVINCIAL).unwrap();
        assert_eq!(provincial.len(), PROVINCIAL.lines().count() - 1);
        assert_eq!(Dictionaries::shipped().entries.len(), national.len() + provincial.len());
    }

    #[test]
    fn national_medical_types_agree_with_the_settled_ones() {
        let tables = Dictionaries::shipped();
        let med_types = tables.table("med_type", "").unwrap();
        for (code, _, name) in crate::med_types::NATIONAL {
            let row = med_types.iter().find(|e| e.value == code);
            assert_eq!(row.map(|e| e.label.as_str()), Some(name), "{code}");
        }
    }

    #[test]
    fn a_province_sees_its_own_codes_under_the_national_ones() {
        let tables = Dictionaries::shipped();
        let hunan = tables.table("med_type", "430102").unwrap();
        let code = hunan.iter().find(|e| e.value == "2101").unwrap();
        assert_eq!((code.label.as_str(), code.parent_value.as_str()), ("普通住院", "21"));
        assert_eq!(code.sort, 13, "after the 12 national codes");
        assert!(hunan.iter().any(|e| e.value == "11"));
        let guangdong = tables.table("med_type", "440300").unwrap();
        assert!(!guangdong.iter().any(|e| e.value == "2101"));
        assert!(tables.table("no_such_table", "").is_none());
        assert!(tables.names().contains(&"fund_pay_type"));
    }

    #[test]
    fn a_bad_row_is_refused_by_line() {
        assert!(parse("type,value,label\ngend,1\n").unwrap_err().contains("line 2"));
        assert!(parse("h\ngend,1,男\ngend,1,女\n").unwrap_err().contains("twice"));
    }
}
