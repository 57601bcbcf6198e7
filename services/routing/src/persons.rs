//! The person registry's inputs: rows in the documented CSV columns, and a deterministic demo
//! population in all 32 provincial regions.
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

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// The check character of an 18-character citizen ID's first 17 digits (GB 11643).
fn check_char(first17: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (digit, weight) in first17.iter().zip(WEIGHTS) {
        sum += u32::from(digit.checked_sub(b'0').filter(|d| *d <= 9)?) * weight;
    }
    CHECK.get(usize::try_from(sum % 11).ok()?).copied()
}

/// Whether `certno` is a well-formed 18-character citizen ID with the right check character.
pub fn certno_valid(certno: &str) -> bool {
    let b = certno.as_bytes();
    b.len() == 18 && check_char(&b[..17]) == Some(b[17].to_ascii_uppercase())
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

/// The 32 provincial-level regions, and the pooling regions inside them that published
/// policies name (reference/regions.csv).
const PROVINCES: [(&str, &[&str]); 32] = [
    ("110000", &[]),
    ("120000", &[]),
    ("130000", &[]),
    ("140000", &[]),
    ("150000", &[]),
    ("210000", &[]),
    ("220000", &[]),
    ("230000", &[]),
    ("310000", &[]),
    ("320000", &["320800"]),
    ("330000", &["330400", "330900"]),
    ("340000", &[]),
    ("350000", &[]),
    ("360000", &[]),
    ("370000", &[]),
    ("410000", &[]),
    ("420000", &["420200"]),
    ("430000", &["430200"]),
    ("440000", &["440300"]),
    ("450000", &[]),
    ("460000", &["460100"]),
    ("500000", &["500155"]),
    ("510000", &[]),
    ("520000", &[]),
    ("530000", &[]),
    ("540000", &[]),
    ("610000", &[]),
    ("620000", &[]),
    ("630000", &[]),
    ("640000", &[]),
    ("650000", &[]),
    ("660000", &[]),
];

const SURNAMES: [&str; 16] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
];
const GIVEN: [&str; 16] = [
    "伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超",
];

/// SplitMix64: a small deterministic generator, enough for demo data.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let len = u64::try_from(items.len()).unwrap_or(1);
        &items[usize::try_from(self.below(len)).unwrap_or(0)]
    }
}

/// `per_province` demo persons in each of the 32 provincial regions, the same for the same
/// seed: 60 % employees (a quarter of them retired, with account balances), 40 % residents,
/// about 4 % eligible for medical assistance; some insured in the pooling regions that have
/// seed policies. At most 1,000 per province: a citizen ID carries a 3-digit sequence.
pub fn demo_persons(seed: u64, per_province: u32) -> Vec<PersonRow> {
    let per_province = per_province.min(1000);
    let mut rng = Rng(seed);
    let mut people = Vec::new();
    for (province, cities) in PROVINCES {
        for n in 0..per_province {
            let home =
                if !cities.is_empty() && rng.below(10) < 3 { *rng.pick(cities) } else { province };
            let employee = rng.below(10) < 6;
            let retired = employee && rng.below(4) == 0;
            let year = if retired { 1950 + rng.below(15) } else { 1960 + rng.below(45) };
            let birth = format!("{year}{:02}{:02}", 1 + rng.below(12), 1 + rng.below(28));
            let first17 = format!("{home}{birth}{:03}", n % 1000);
            let check = check_char(first17.as_bytes()).map_or('0', char::from);
            let assistance = match rng.below(100) {
                0..=2 => Some("low_income".to_owned()),
                3 => Some("extreme_poverty".to_owned()),
                _ => None,
            };
            people.push(PersonRow {
                psn_no: format!("P{}{:08}", &province[..2], n),
                certno: format!("{first17}{check}"),
                psn_name: format!(
                    "{}{}{}",
                    rng.pick(&SURNAMES),
                    rng.pick(&GIVEN),
                    rng.pick(&GIVEN)
                ),
                insutype: if employee { "310" } else { "390" }.to_owned(),
                retired,
                insuplc_admdvs: home.to_owned(),
                account_balance_fen: if employee {
                    i64::try_from(rng.below(2_000_000)).unwrap_or(0)
                } else {
                    0
                },
                assistance_category: assistance,
            });
        }
    }
    people
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
        let people = demo_persons(7, 3);
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

    #[test]
    fn the_demo_population_is_deterministic_and_covers_every_province() {
        let a = demo_persons(42, 50);
        assert_eq!(a, demo_persons(42, 50));
        assert_ne!(a, demo_persons(43, 50));
        assert_eq!(a.len(), 32 * 50);
        let provinces: std::collections::BTreeSet<&str> =
            a.iter().map(|p| &p.insuplc_admdvs[..2]).collect();
        assert_eq!(provinces.len(), 32);
        let unique: std::collections::BTreeSet<&str> =
            a.iter().map(|p| p.certno.as_str()).collect();
        assert_eq!(unique.len(), a.len(), "certificate numbers are unique");
        assert!(a.iter().all(|p| certno_valid(&p.certno)));
        assert!(a.iter().any(|p| p.insuplc_admdvs == "420200"), "some in Huangshi");
        assert!(a.iter().filter(|p| p.retired).all(|p| p.insutype == "310"));
    }
}
