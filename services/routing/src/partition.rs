//! Which home provinces a routing instance owns (DESIGN.md §9: routing partitions by home
//! province, each partition its own database). Visit and settlement ids carry the home
//! province, so a caller can send every follow-up to the owner without asking anyone.

use std::collections::BTreeSet;

use medclear_common::{Error, Result, codes::Admdvs};

/// The home provinces an instance owns: all, or a set of two-digit province prefixes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Partition {
    provinces: Option<BTreeSet<String>>,
}

impl Partition {
    /// Owns every province (the all-in-one runner).
    pub fn all() -> Self {
        Self { provinces: None }
    }

    /// `all`, or a list like `42,44` or `420000,440000`.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() || text == "all" {
            return Ok(Self::all());
        }
        let mut provinces = BTreeSet::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let code = if part.len() == 2 { format!("{part}0000") } else { part.to_owned() };
            let admdvs = Admdvs::parse(&code)
                .map_err(|e| Error::Internal(format!("ROUTING_PROVINCES: {e}")))?;
            provinces.insert(admdvs.as_str()[..2].to_owned());
        }
        Ok(Self { provinces: Some(provinces) })
    }

    /// Whether a person insured in `home` belongs here.
    pub fn owns(&self, home: &str) -> bool {
        self.provinces.as_ref().is_none_or(|set| home.get(..2).is_some_and(|p| set.contains(p)))
    }

    pub fn describe(&self) -> String {
        match &self.provinces {
            None => "all provinces".to_owned(),
            Some(set) => set.iter().map(|p| format!("{p}0000")).collect::<Vec<_>>().join(","),
        }
    }
}

/// A new id: `prefix`, the home province's two digits, then 22 random hex digits.
pub fn new_id(prefix: char, home: &str) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase();
    format!("{prefix}{}{}", home.get(..2).unwrap_or("00"), &hex[..22])
}

/// The home province (two digits) an id names; shared with the gateway, which routes by it.
pub use medclear_common::codes::province_of_id;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_and_ids() {
        let p = Partition::parse("42, 440000").unwrap();
        assert!(p.owns("420200") && p.owns("440300") && !p.owns("110000"));
        assert_eq!(p.describe(), "420000,440000");
        assert!(Partition::parse("all").unwrap().owns("110000"));
        assert!(Partition::parse("4").is_err());
        let id = new_id('V', "420200");
        assert_eq!((id.len(), province_of_id(&id)), (25, Some("42")));
        assert_eq!(province_of_id("VNOSUCH"), None);
    }
}
