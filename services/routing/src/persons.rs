//! The person registry's inputs: rows in the documented CSV columns.
//!
//! Columns: `psn_no`, `certno` (18-character citizen ID, checksum verified), `psn_name`,
//! `insutype` (`310`, `390`, …), `retired` (`true`/`false`, `1`/`0`), `insuplc_admdvs`,
//! `account_balance` (yuan), `assistance_category` (empty, `low_income`, `extreme_poverty`).

use medclear_common::{
    codes::{Admdvs, PsnNo},
    money::{fen_to_yuan, yuan_to_fen},
    rows::{Fields, RowError, get, required, text},
};

use crate::repo::PersonRow;

pub const PERSON_COLUMNS: [&str; 8] = [
    "psn_no",
    "certno",
    "psn_name",
    "insutype",
    "retired",
    "insuplc_admdvs",
    "account_balance",
    "assistance_category",
];

/// The citizen ID's check character and validity, kept with the boundary rules.
pub use medclear_common::codes::{certno_check_char, certno_valid};

/// The national 人员类别 (psn_type) of a person: employees 1101, retired employees 1201,
/// residents (`39x` insutypes) 1501.
pub fn psn_type(insutype: &str, retired: bool) -> &'static str {
    match (insutype.starts_with("39"), retired) {
        (true, _) => "1501",
        (false, true) => "1201",
        (false, false) => "1101",
    }
}

/// A person from a row.
pub fn person(fields: &Fields) -> Result<PersonRow, RowError> {
    let psn_no = required(fields, "psn_no")?;
    PsnNo::parse(psn_no)
        .map_err(|e| RowError::new("invalid_code", Some("psn_no"), e.to_string()))?;
    let certno = required(fields, "certno")?.to_ascii_uppercase();
    if !certno_valid(&certno) {
        return Err(RowError::new(
            "invalid_certno",
            Some("certno"),
            format!("{certno} is not a valid 18-character citizen ID"),
        ));
    }
    let insutype = required(fields, "insutype")?;
    if !["310", "320", "330", "390", "392"].contains(&insutype) {
        return Err(RowError::new(
            "unknown_insutype",
            Some("insutype"),
            format!("insutype {insutype} is not 310, 320, 330, 390 or 392"),
        ));
    }
    let retired = match get(fields, "retired") {
        "" | "false" | "0" | "no" => false,
        "true" | "1" | "yes" => true,
        other => {
            return Err(RowError::new(
                "invalid_flag",
                Some("retired"),
                format!("retired {other:?} is not true or false"),
            ));
        }
    };
    let home = required(fields, "insuplc_admdvs")?;
    Admdvs::parse(home)
        .map_err(|e| RowError::new("invalid_code", Some("insuplc_admdvs"), e.to_string()))?;
    let balance = match get(fields, "account_balance") {
        "" => 0,
        value => yuan_to_fen(value)
            .map_err(|e| RowError::new("invalid_amount", Some("account_balance"), e.to_string()))?,
    };
    let assistance = match get(fields, "assistance_category") {
        "" => None,
        category @ ("low_income" | "extreme_poverty") => Some(category.to_owned()),
        other => {
            return Err(RowError::new(
                "unknown_category",
                Some("assistance_category"),
                format!("{other:?} is not low_income or extreme_poverty"),
            ));
        }
    };
    let name = text(fields, "psn_name", 50)?;
    if name.is_empty() {
        return Err(RowError::new("missing_field", Some("psn_name"), "psn_name is required"));
    }
    Ok(PersonRow {
        psn_no: psn_no.to_owned(),
        certno,
        psn_name: name,
        insutype: insutype.to_owned(),
        retired,
        insuplc_admdvs: home.to_owned(),
        account_balance_fen: balance,
        assistance_category: assistance,
    })
}

/// A person as a row in the documented columns.
pub fn row_of(person: &PersonRow) -> Fields {
    let values = [
        person.psn_no.clone(),
        person.certno.clone(),
        person.psn_name.clone(),
        person.insutype.clone(),
        person.retired.to_string(),
        person.insuplc_admdvs.clone(),
        fen_to_yuan(person.account_balance_fen),
        person.assistance_category.clone().unwrap_or_default(),
    ];
    PERSON_COLUMNS.iter().map(|c| (*c).to_owned()).zip(values).collect()
}

/// Test persons: `n` employees of Huangshi (420200) with valid citizen IDs, the same every
/// time. (The demo population is the `medclear` CLI's, in its `demo_data`.)
#[cfg(test)]
pub(crate) fn fixture(n: u32) -> Vec<PersonRow> {
    (0..n)
        .map(|k| {
            let first17 = format!("42020219600101{k:03}");
            let check = certno_check_char(first17.as_bytes()).map_or('0', char::from);
            PersonRow {
                psn_no: format!("P42{k:08}"),
                certno: format!("{first17}{check}"),
                psn_name: "张三".to_owned(),
                insutype: "310".to_owned(),
                retired: k % 4 == 0,
                insuplc_admdvs: "420200".to_owned(),
                account_balance_fen: i64::from(k) * 100,
                assistance_category: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citizen_id_checksums() {
        // GB 11643's own example.
        assert!(certno_valid("11010519491231002X"));
        assert!(certno_valid("11010519491231002x"));
        assert!(!certno_valid("110105194912310021"));
        assert!(!certno_valid("11010519491231002"));
        assert!(!certno_valid("1101051949123100AX"));
    }

    #[test]
    fn rows_round_trip_and_bad_rows_say_why() {
        let people = fixture(3);
        for p in &people {
            assert_eq!(person(&row_of(p)).unwrap(), *p);
        }
        let bad = |column: &str, value: &str| {
            let mut fields = row_of(&people[0]);
            fields.insert(column.to_owned(), value.to_owned());
            let e = person(&fields).unwrap_err();
            (e.reason, e.field)
        };
        assert_eq!(bad("certno", "110105194912310021"), ("invalid_certno", Some("certno")));
        assert_eq!(bad("insutype", "999"), ("unknown_insutype", Some("insutype")));
        assert_eq!(bad("retired", "maybe"), ("invalid_flag", Some("retired")));
        assert_eq!(bad("insuplc_admdvs", "42"), ("invalid_code", Some("insuplc_admdvs")));
        assert_eq!(bad("account_balance", "-5"), ("invalid_amount", Some("account_balance")));
        assert_eq!(
            bad("assistance_category", "rich"),
            ("unknown_category", Some("assistance_category"))
        );
        assert_eq!(bad("psn_no", ""), ("missing_field", Some("psn_no")));
    }
}
