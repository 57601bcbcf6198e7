//! The policies medclear ships: the seed regions' files (`services/routing/policies/*.json`,
//! from the published local documents of DESIGN.md §4.3) and a generated default for every
//! other home region.

use chrono::NaiveDate;
use medclear_common::{Error, Result};
use rust_decimal::Decimal;

use crate::policy::{
    Assistance, Band, Benefit, DeductiblePer, DeductibleRule, HospitalLevel, Layer, Policy,
    Reduction, Scheme, Segment,
};

const SEED_FILES: [(&str, &str); 6] = [
    ("huangshi-310", include_str!("../policies/huangshi-310.json")),
    ("tianjin-310", include_str!("../policies/tianjin-310.json")),
    ("tianjin-390", include_str!("../policies/tianjin-390.json")),
    ("shanxi-390", include_str!("../policies/shanxi-390.json")),
    ("guangdong-310", include_str!("../policies/guangdong-310.json")),
    ("guangdong-390", include_str!("../policies/guangdong-390.json")),
];

/// The seed regions' policies, validated.
pub fn seed_policies() -> Result<Vec<Policy>> {
    SEED_FILES
        .iter()
        .map(|(name, text)| {
            Policy::from_json(text).map_err(|e| Error::Internal(format!("policy file {name}: {e}")))
        })
        .collect()
}

fn ratio(percent: i64) -> Decimal {
    Decimal::new(percent, 2)
}

fn yuan(amount: i64) -> i64 {
    amount * 100
}

fn flat(percent: i64) -> Vec<Segment> {
    vec![Segment { from_fen: 0, to_fen: None, ratio: ratio(percent) }]
}

fn by_level(amounts: [i64; 3]) -> Vec<DeductibleRule> {
    let levels = [Some(HospitalLevel::Tertiary), Some(HospitalLevel::Secondary), None];
    levels
        .into_iter()
        .zip(amounts)
        .map(|(hospital_level, amount)| DeductibleRule {
            hospital_level,
            retired: None,
            from_nth_admission: 1,
            amount_fen: yuan(amount),
        })
        .collect()
}

fn bands(percents: [i64; 3], retired_bonus: i64) -> Vec<Band> {
    let levels = [Some(HospitalLevel::Tertiary), Some(HospitalLevel::Secondary), None];
    let mut bands = Vec::new();
    for (level, percent) in levels.into_iter().zip(percents) {
        bands.push(Band {
            hospital_level: level,
            retired: Some(true),
            segments: flat((percent + retired_bonus).min(100)),
        });
        bands.push(Band { hospital_level: level, retired: None, segments: flat(percent) });
    }
    bands
}

fn outpatient(deductible: i64, percent: i64, cap: i64) -> Benefit {
    Benefit {
        deductible_per: DeductiblePer::Year,
        deductibles: if deductible > 0 {
            vec![DeductibleRule {
                hospital_level: None,
                retired: None,
                from_nth_admission: 1,
                amount_fen: yuan(deductible),
            }]
        } else {
            Vec::new()
        },
        bands: vec![Band { hospital_level: None, retired: None, segments: flat(percent) }],
        annual_cap_fen: Some(yuan(cap)),
    }
}

/// The default policy of a home region without a policy file of its own: typical national
/// values, employees (`310`, `320`, `330`) more generous than residents (`390`, `392`).
pub fn default_policy(region: &str, insutype: &str) -> Result<Policy> {
    let scheme = if insutype.starts_with("39") { Scheme::Resident } else { Scheme::Employee };
    let employee = scheme == Scheme::Employee;
    let policy = Policy {
        region: region.to_owned(),
        insutype: insutype.to_owned(),
        scheme,
        version: "default-1".to_owned(),
        notes: "Generated default: no published policy of this region is encoded yet.".to_owned(),
        begin_date: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default(),
        end_date: None,
        annual_ceiling_fen: yuan(if employee { 300_000 } else { 200_000 }),
        inpatient: Benefit {
            deductible_per: DeductiblePer::Admission,
            deductibles: by_level(if employee { [1000, 600, 300] } else { [1200, 800, 400] }),
            bands: if employee { bands([85, 88, 90], 3) } else { bands([60, 70, 80], 0) },
            annual_cap_fen: None,
        },
        general_outpatient: outpatient(200, 50, 2000),
        chronic_outpatient: outpatient(0, 70, 10_000),
        pharmacy: outpatient(0, 50, 1000),
        temporary_reduction: Reduction { referral_emergency: ratio(10), other: ratio(20) },
        serious_illness: Some(Layer {
            segments: if employee {
                vec![Segment { from_fen: yuan(20_000), to_fen: None, ratio: ratio(80) }]
            } else {
                vec![
                    Segment {
                        from_fen: yuan(15_000),
                        to_fen: Some(yuan(100_000)),
                        ratio: ratio(60),
                    },
                    Segment { from_fen: yuan(100_000), to_fen: None, ratio: ratio(70) },
                ]
            },
            annual_cap_fen: Some(yuan(400_000)),
        }),
        assistance: Some(Assistance {
            categories: vec!["low_income".to_owned(), "extreme_poverty".to_owned()],
            ratio: ratio(70),
            annual_cap_fen: yuan(30_000),
        }),
    };
    policy.validate()?;
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_policy_is_valid() {
        let seeds = seed_policies().unwrap();
        assert_eq!(seeds.len(), 6);
        for p in &seeds {
            assert!(p.in_force(NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()), "{}", p.region);
            assert!(!p.notes.is_empty());
        }
        for region in ["110000", "310000", "460100"] {
            for insutype in ["310", "390"] {
                default_policy(region, insutype).unwrap();
            }
        }
    }

    #[test]
    fn the_pooling_region_then_its_province_then_the_default() {
        let book = PolicyBook::seeded().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let version = |home: &str, insutype: &str| book.policy_for(home, insutype, day).unwrap();
        assert_eq!(version("420200", "310").region, "420200", "Huangshi's own");
        assert_eq!(version("440300", "390").region, "440000", "Shenzhen under Guangdong's");
        assert_eq!(version("420100", "310").version, "default-1", "Wuhan: no file for Hubei");
        assert_eq!(version("420200", "390").version, "default-1", "Huangshi residents: none");
        let before = NaiveDate::from_ymd_opt(2009, 12, 31).unwrap();
        assert_eq!(book.policy_for("420200", "310", before).unwrap().version, "default-1");
    }

    #[test]
    fn invalid_policies_are_refused_with_the_reason() {
        let text = SEED_FILES[0].1;
        let broken = text.replacen("\"0.90\"", "\"1.90\"", 1);
        let error = Policy::from_json(&broken).unwrap_err();
        assert_eq!(error.reason(), "invalid_policy");
        assert!(error.to_string().contains("inpatient.bands[0].segments[0]"), "{error}");
        let gap = text.replacen("\"from_fen\": 2000000", "\"from_fen\": -1", 1);
        assert!(Policy::from_json(&gap).unwrap_err().to_string().contains("negative"));
        assert_eq!(Policy::from_json("{\"region\": 1}").unwrap_err().reason(), "invalid_policy");
    }
}

/// The policies a routing instance settles with: the seed files, and defaults for the rest.
#[derive(Debug, Clone)]
pub struct PolicyBook {
    policies: Vec<Policy>,
}

impl PolicyBook {
    pub fn seeded() -> Result<Self> {
        Ok(Self { policies: seed_policies()? })
    }

    /// The policy in force on `date` for a person insured in `home` under `insutype`: the
    /// pooling region's own, else its province's, else the generated default.
    pub fn policy_for(&self, home: &str, insutype: &str, date: NaiveDate) -> Result<Policy> {
        let province = home.get(..2).map(|p| format!("{p}0000")).unwrap_or_default();
        for region in [home, province.as_str()] {
            if let Some(policy) = self
                .policies
                .iter()
                .find(|p| p.region == region && p.insutype == insutype && p.in_force(date))
            {
                return Ok(policy.clone());
            }
        }
        default_policy(home, insutype)
    }
}
