//! The registry of designated institutions (定点医药机构): each one's region and hospital
//! level, which a visit registered through the national interface (2201/2401) does not carry.

use medclear_common::{
    Error, Result,
    codes::{Admdvs, FixmedinsCode, HospitalLevel},
};
use serde::{Deserialize, Serialize};

/// An institution of the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Institution {
    pub fixmedins_code: String,
    pub fixmedins_name: String,
    /// The region it is in (its treating region, `mdtrtarea_admvs`).
    pub admdvs: String,
    /// `tertiary`, `secondary`, `primary` or `ungraded`.
    pub hospital_level: String,
}

impl Institution {
    /// Refuses an institution with a malformed code, region, level or name; `at` names the
    /// row in the error's field (e.g. `institutions[3]`).
    pub fn validate(&self, at: &str) -> Result<()> {
        FixmedinsCode::parse(&self.fixmedins_code).map_err(|e| {
            Error::invalid(format!("{at}.fixmedins_code"), "invalid_code", e.to_string())
        })?;
        Admdvs::parse(&self.admdvs)
            .map_err(|e| Error::invalid(format!("{at}.admdvs"), "invalid_code", e.to_string()))?;
        if HospitalLevel::parse(&self.hospital_level).is_none() {
            return Err(Error::invalid(
                format!("{at}.hospital_level"),
                "unknown_level",
                format!(
                    "hospital_level {:?} is not tertiary, secondary, primary or ungraded",
                    self.hospital_level
                ),
            ));
        }
        let name = self.fixmedins_name.trim().chars().count();
        if name == 0 || name > 200 {
            return Err(Error::invalid(
                format!("{at}.fixmedins_name"),
                "invalid_name",
                "fixmedins_name is required (at most 200 characters)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Institution {
        Institution {
            fixmedins_code: "H42020000001".into(),
            fixmedins_name: "黄石市中心医院".into(),
            admdvs: "420200".into(),
            hospital_level: "tertiary".into(),
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        assert!(good().validate("institutions[0]").is_ok());
        let cases = [
            (Institution { fixmedins_code: "X1".into(), ..good() }, "fixmedins_code"),
            (Institution { admdvs: "42".into(), ..good() }, "admdvs"),
            (Institution { hospital_level: "grand".into(), ..good() }, "hospital_level"),
            (Institution { fixmedins_name: " ".into(), ..good() }, "fixmedins_name"),
        ];
        for (bad, field) in cases {
            let Error::Problem(problem) = bad.validate("institutions[2]").unwrap_err() else {
                panic!("{field}: not a problem");
            };
            assert_eq!(problem.field.as_deref(), Some(format!("institutions[2].{field}").as_str()));
        }
    }
}
