//! Validated national codes (DESIGN.md §3). A value of these types has been checked once, at
//! the edge; inside a service it is trusted.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodeError(pub String);

/// A 6-digit medical-insurance administrative division code (医保区划), e.g. `440300`.
/// The province is the first two digits (`44` → `440000`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Admdvs([u8; 6]);

impl fmt::Debug for Admdvs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Admdvs({})", self.as_str())
    }
}

/// How far down the administrative hierarchy a code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmdvsLevel {
    Province,
    City,
    District,
}

impl Admdvs {
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        let bytes = text.as_bytes();
        match <[u8; 6]>::try_from(bytes) {
            Ok(digits) if digits.iter().all(u8::is_ascii_digit) && &digits[..2] != b"00" => {
                Ok(Self(digits))
            }
            _ => Err(CodeError(format!(
                "`{text}` is not an admdvs code: expected 6 digits such as 440300"
            ))),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("000000")
    }

    /// The province-level code: `440300` → `440000`.
    pub fn province(&self) -> Admdvs {
        Self([self.0[0], self.0[1], b'0', b'0', b'0', b'0'])
    }

    pub fn level(&self) -> AdmdvsLevel {
        if &self.0[2..] == b"0000" {
            AdmdvsLevel::Province
        } else if &self.0[4..] == b"00" {
            AdmdvsLevel::City
        } else {
            AdmdvsLevel::District
        }
    }

    pub fn same_province(&self, other: &Admdvs) -> bool {
        self.0[..2] == other.0[..2]
    }

    /// Whether this region contains `other` (a province contains its cities and districts, a
    /// city its districts, every region itself).
    pub fn contains(&self, other: &Admdvs) -> bool {
        match self.level() {
            AdmdvsLevel::Province => self.same_province(other),
            AdmdvsLevel::City => self.0[..4] == other.0[..4],
            AdmdvsLevel::District => self == other,
        }
    }

    /// Whether two regions share any ground (one contains the other).
    pub fn overlaps(&self, other: &Admdvs) -> bool {
        self.contains(other) || other.contains(self)
    }
}

impl fmt::Display for Admdvs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Admdvs {
    type Error = CodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Admdvs> for String {
    fn from(value: Admdvs) -> Self {
        value.as_str().to_owned()
    }
}

/// A designated institution code (定点医药机构编码): `H` + 11 digits for a hospital, e.g.
/// `H50015501017`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FixmedinsCode(String);

impl FixmedinsCode {
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        let bytes = text.as_bytes();
        let valid = bytes.len() == 12
            && matches!(bytes[0], b'H' | b'P')
            && bytes[1..].iter().all(u8::is_ascii_digit);
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(CodeError(format!(
                "`{text}` is not a fixmedins_code: expected H (hospital) or P (pharmacy) and 11 digits, such as H50015501017"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FixmedinsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for FixmedinsCode {
    type Error = CodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<FixmedinsCode> for String {
    fn from(value: FixmedinsCode) -> Self {
        value.0
    }
}

/// A person number (人员编号, `psn_no`): 1–30 ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PsnNo(String);

impl PsnNo {
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        if !text.is_empty() && text.len() <= 30 && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(CodeError(format!("`{text}` is not a psn_no: expected 1 to 30 letters and digits")))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PsnNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PsnNo {
    type Error = CodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PsnNo> for String {
    fn from(value: PsnNo) -> Self {
        value.0
    }
}

/// Hospital grade (医院等级): payment restrictions and benefit bands depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HospitalLevel {
    Tertiary,
    Secondary,
    Primary,
    Ungraded,
}

impl HospitalLevel {
    pub const ALL: [HospitalLevel; 4] =
        [Self::Tertiary, Self::Secondary, Self::Primary, Self::Ungraded];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tertiary => "tertiary",
            Self::Secondary => "secondary",
            Self::Primary => "primary",
            Self::Ungraded => "ungraded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == text)
    }
}

/// The two-digit home province an id names (`S42…`, `M44…`: settlement and visit ids carry
/// their home province's digits after the letter), so any part can route a call to the
/// routing instance that owns it.
pub fn province_of_id(id: &str) -> Option<&str> {
    id.get(1..3).filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(code: &str) -> Admdvs {
        Admdvs::parse(code).unwrap()
    }

    #[test]
    fn admdvs_parses_six_digits_only() {
        assert_eq!(a("440300").as_str(), "440300");
        for bad in ["", "44030", "4403000", "44030a", "000000", " 440300", "４４０３００"] {
            assert!(Admdvs::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn admdvs_hierarchy() {
        assert_eq!(a("440300").province(), a("440000"));
        assert_eq!(a("440000").level(), AdmdvsLevel::Province);
        assert_eq!(a("440300").level(), AdmdvsLevel::City);
        assert_eq!(a("500155").level(), AdmdvsLevel::District);
        assert!(a("440000").contains(&a("440300")));
        assert!(!a("440300").contains(&a("440000")));
        assert!(a("440300").contains(&a("440305")));
        assert!(!a("440300").contains(&a("440400")));
        assert!(a("440300").overlaps(&a("440000")));
        assert!(!a("440300").overlaps(&a("420200")));
        assert!(a("420200").same_province(&a("420000")));
        assert!(!a("420200").same_province(&a("440300")));
    }

    #[test]
    fn institution_and_person_codes() {
        assert!(FixmedinsCode::parse("H50015501017").is_ok());
        assert!(FixmedinsCode::parse("H5001550101").is_err());
        assert!(FixmedinsCode::parse("X50015501017").is_err());
        assert!(PsnNo::parse("44000019800101001X").is_ok());
        assert!(PsnNo::parse("").is_err());
        assert!(PsnNo::parse("a b").is_err());
        assert!(PsnNo::parse(&"1".repeat(31)).is_err());
    }
}
