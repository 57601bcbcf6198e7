//! A deterministic demo population in all 32 provincial regions, loaded through the same
//! import as a real person file.

use medclear_routing::{persons::certno_check_char, repo::PersonRow};

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
            let check = certno_check_char(first17.as_bytes()).map_or('0', char::from);
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
    use medclear_routing::persons::certno_valid;

    use super::*;

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
