//! One name for each value of each proto enum: the word the JSON API, the pages, the CLI and the
//! CSV files write and read.
//!
//! A value's word is its proto name without the enum's prefix, in lower case
//! (`PREPAID_FUND_STATE_BELOW_ALERT`, prefix `PREPAID_FUND_STATE_`: `below_alert`), taken from
//! prost's `as_str_name`, so a value renamed in the `.proto` is renamed everywhere. Two rules
//! on top of that, and no others:
//!
//! * the zero value (`…_UNSPECIFIED`) is the empty word `""`: an answer leaves it blank and a
//!   request that leaves a field blank means "not given";
//! * coverage classes keep their case (`A`, `B`, `C`, as the national catalogue writes 甲乙丙).
//!
//! Words are matched exactly, as written: `"Open"` is not `"open"`. What a caller does with an
//! unknown word or a blank one (refuse it, default it) is the caller's business.
//!
//! Labels for people (the pages' translated status names, the CLI's phrases) are not words:
//! they stay with their page or command and match on the enum.

// The crate allows these for its generated code; this module is hand-written.
#![warn(
    unreachable_pub,
    missing_debug_implementations,
    clippy::all,
    clippy::as_conversions,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::sync::OnceLock;

use crate::{catalog, clearing, filing, routing};

/// A proto enum, with the word of each of its values.
pub trait Named: Copy + Eq + Into<i32> + TryFrom<i32> + 'static {
    /// What every value's proto name starts with (`PERIOD_STATUS_`).
    const PREFIX: &'static str;
    /// Every value, in the order of the `.proto`, the zero value first.
    const ALL: &'static [Self];
    /// Whether words keep the proto's upper case instead of being lower-cased.
    const KEEP_CASE: bool = false;

    /// The value's name in the `.proto` (prost's `as_str_name`).
    fn as_str_name(&self) -> &'static str;

    /// The value a `.proto` name names (prost's `from_str_name`).
    fn from_str_name(name: &str) -> Option<Self>;

    /// Every value with its word, made once per enum from [`Named::as_str_name`].
    fn words_table() -> &'static [(Self, String)];
}

/// The word of `value`: `"open"` for `PERIOD_STATUS_OPEN`, `""` for the zero value.
pub fn name<E: Named>(value: E) -> &'static str {
    E::words_table().iter().find(|(v, _)| *v == value).map_or("", |(_, word)| word.as_str())
}

/// The word of a value as a message carries it; `""` for the zero value and for a number the
/// enum does not know.
pub fn name_of_i32<E: Named>(value: i32) -> &'static str {
    E::try_from(value).map_or("", name)
}

/// The value a word names, matched exactly; `""` is the zero value. `None` for any other text.
pub fn parse<E: Named>(word: &str) -> Option<E> {
    E::words_table().iter().find(|(_, w)| w == word).map(|(v, _)| *v)
}

/// The words of every value but the zero value, in the order of the `.proto`.
pub fn words<E: Named>() -> impl Iterator<Item = &'static str> {
    E::words_table().iter().map(|(_, word)| word.as_str()).filter(|word| !word.is_empty())
}

/// [`words`] as a list for a message: `"open, closed, netted, confirmed, settled"`.
pub fn word_list<E: Named>() -> String {
    words::<E>().collect::<Vec<_>>().join(", ")
}

/// The word of one value, from its proto name.
fn word_of<E: Named>(value: E) -> String {
    if value.into() == 0 {
        return String::new();
    }
    let proto = value.as_str_name();
    let suffix = proto.strip_prefix(E::PREFIX).unwrap_or(proto);
    if E::KEEP_CASE { suffix.to_owned() } else { suffix.to_ascii_lowercase() }
}

fn table<E: Named>() -> Vec<(E, String)> {
    E::ALL.iter().map(|&value| (value, word_of(value))).collect()
}

macro_rules! named {
    ($($ty:ty: $prefix:literal $(, keep_case $keep:literal)? [$($variant:ident),+ $(,)?];)+) => {
        $(
            impl Named for $ty {
                const PREFIX: &'static str = $prefix;
                const ALL: &'static [Self] = &[$(<$ty>::$variant),+];
                $(const KEEP_CASE: bool = $keep;)?

                fn as_str_name(&self) -> &'static str {
                    <$ty>::as_str_name(self)
                }

                fn from_str_name(name: &str) -> Option<Self> {
                    <$ty>::from_str_name(name)
                }

                fn words_table() -> &'static [(Self, String)] {
                    static WORDS: OnceLock<Vec<($ty, String)>> = OnceLock::new();
                    WORDS.get_or_init(table::<$ty>)
                }
            }
        )+

        /// Calls `visit` once per named enum, with its proto name (for the tests, which check
        /// this list against the `.proto` files).
        #[cfg(test)]
        fn visit_all(visit: &mut impl Visit) {
            $(visit.visit::<$ty>(stringify!($ty));)+
        }
    };
}

#[cfg(test)]
trait Visit {
    fn visit<E: Named + std::fmt::Debug>(&mut self, rust_path: &str);
}

named! {
    filing::v1::Channel: "CHANNEL_" [Unspecified, CitizenOnline, Hospital, Agency];
    filing::v1::Category: "CATEGORY_" [
        Unspecified, RetireeResettled, LongTermResident, StationedWorker, Referral, Emergency,
        OtherTemporary,
    ];
    filing::v1::FilingStatus: "FILING_STATUS_" [Unspecified, Active, Revoked];
    filing::v1::CoverageBasis: "COVERAGE_BASIS_" [
        Unspecified, Filing, LateFiling, EmergencyUnfiled, SameProvince,
    ];
    catalog::v1::ItemKind: "ITEM_KIND_" [
        Unspecified, WesternDrug, PatentDrug, Herbal, Service, Consumable, Diagnosis, Operation,
        DiseasePayment, DaySurgery,
    ];
    catalog::v1::CoverageClass: "COVERAGE_CLASS_", keep_case true [Unspecified, A, B, C];
    catalog::v1::ImportTarget: "IMPORT_TARGET_" [Unspecified, Items, Coverage, Mappings];
    catalog::v1::RestrictionOutcome: "RESTRICTION_OUTCOME_" [
        Unspecified, None, Satisfied, Unchecked,
    ];
    routing::v1::MedType: "MED_TYPE_" [
        Unspecified, GeneralOutpatient, ChronicOutpatient, Inpatient, Pharmacy,
    ];
    clearing::v1::PeriodStatus: "PERIOD_STATUS_" [
        Unspecified, Open, Closed, Netted, Confirmed, Settled,
    ];
    clearing::v1::ConfirmationState: "CONFIRMATION_STATE_" [
        Unspecified, Pending, Confirmed, Withdrawn,
    ];
    clearing::v1::DisputeStatus: "DISPUTE_STATUS_" [Unspecified, Carried, Resolved, Rejected];
    clearing::v1::InstructionStatus: "INSTRUCTION_STATUS_" [
        Unspecified, Pending, Issued, Executed, Cancelled,
    ];
    clearing::v1::PrepaidFundState: "PREPAID_FUND_STATE_" [
        Unspecified, Sufficient, BelowRequired, BelowAlert,
    ];
    clearing::v1::ReconResult: "RECON_RESULT_" [Unspecified, Match, Mismatch];
    clearing::v1::DiscrepancyKind: "DISCREPANCY_KIND_" [
        Unspecified, MissingAtCenter, MissingAtHospital, Differs,
    ];
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::clearing::v1::{PeriodStatus, PrepaidFundState};

    const SOURCES: [(&str, &str); 4] = [
        ("filing", include_str!("../medclear/filing.proto")),
        ("catalog", include_str!("../medclear/catalog.proto")),
        ("routing", include_str!("../medclear/routing.proto")),
        ("clearing", include_str!("../medclear/clearing.proto")),
    ];

    /// Every enum of the `.proto` files, `"clearing::v1::PeriodStatus"` → its `(NAME, number)`s.
    fn proto_enums() -> BTreeMap<String, Vec<(String, i32)>> {
        let mut enums = BTreeMap::new();
        for (package, source) in SOURCES {
            let mut current: Option<(String, Vec<(String, i32)>)> = None;
            for line in source.lines() {
                let line = line.split("//").next().unwrap_or("").trim();
                if let Some(rest) = line.strip_prefix("enum ") {
                    let name = rest.trim_end_matches('{').trim();
                    current = Some((format!("{package}::v1::{name}"), Vec::new()));
                } else if line.starts_with('}') {
                    if let Some((name, values)) = current.take() {
                        enums.insert(name, values);
                    }
                } else if let (Some((_, values)), Some((name, number))) =
                    (current.as_mut(), line.trim_end_matches(';').split_once('='))
                {
                    let number = number.trim().parse().unwrap_or(i32::MIN);
                    values.push((name.trim().to_owned(), number));
                }
            }
        }
        enums
    }

    /// Checks one enum against its `.proto` values.
    struct Check {
        proto: BTreeMap<String, Vec<(String, i32)>>,
        seen: BTreeSet<String>,
    }

    impl Visit for Check {
        fn visit<E: Named + std::fmt::Debug>(&mut self, rust_path: &str) {
            let path = rust_path.replace(' ', "");
            let values = self.proto.get(&path);
            assert!(values.is_some(), "{path} is not an enum of the .proto files");
            let values = values.map(Vec::as_slice).unwrap_or_default();
            assert_eq!(E::ALL.len(), values.len(), "{path}: ALL lists every value");
            let mut words = BTreeSet::new();
            for (proto_name, number) in values {
                let value = E::from_str_name(proto_name);
                assert!(value.is_some(), "{path}: {proto_name}");
                let Some(value) = value else { continue };
                assert_eq!(value.into(), *number, "{proto_name}");
                assert!(E::ALL.contains(&value), "{path}: ALL lacks {proto_name}");
                assert_eq!(value.as_str_name(), proto_name);
                assert!(proto_name.starts_with(E::PREFIX), "{proto_name} has the prefix");

                let word = name(value);
                assert_eq!(word.is_empty(), *number == 0, "{proto_name} → {word:?}");
                assert_eq!(parse::<E>(word), Some(value), "{proto_name} → {word:?} → back");
                assert_eq!(name_of_i32::<E>(*number), word);
                assert!(words.insert(word), "{path}: {word:?} names two values");
            }
            self.seen.insert(path);
        }
    }

    #[test]
    fn every_value_of_every_enum_round_trips_through_its_word() {
        let proto = proto_enums();
        assert!(proto.len() >= 16, "the .proto files were read: {:?}", proto.keys());
        let mut check = Check { proto, seen: BTreeSet::new() };
        visit_all(&mut check);
        let missing: Vec<_> = check.proto.keys().filter(|k| !check.seen.contains(*k)).collect();
        assert!(missing.is_empty(), "enums without words: {missing:?}");
    }

    #[test]
    fn words_are_the_lower_case_proto_names_without_the_prefix() {
        assert_eq!(name(PeriodStatus::Netted), "netted");
        assert_eq!(name(PrepaidFundState::BelowAlert), "below_alert");
        assert_eq!(name(clearing::v1::DiscrepancyKind::MissingAtCenter), "missing_at_center");
        assert_eq!(name(filing::v1::Category::LongTermResident), "long_term_resident");
        assert_eq!(name(catalog::v1::RestrictionOutcome::None), "none");
        assert_eq!(name(PeriodStatus::Unspecified), "");
    }

    #[test]
    fn coverage_classes_keep_their_case() {
        assert_eq!(name(catalog::v1::CoverageClass::B), "B");
        assert_eq!(parse("C"), Some(catalog::v1::CoverageClass::C));
        assert_eq!(parse::<catalog::v1::CoverageClass>("c"), None);
    }

    #[test]
    fn words_match_exactly() {
        assert_eq!(parse(""), Some(PeriodStatus::Unspecified));
        assert_eq!(parse("settled"), Some(PeriodStatus::Settled));
        for other in ["Settled", " settled", "unspecified", "PERIOD_STATUS_SETTLED", "done"] {
            assert_eq!(parse::<PeriodStatus>(other), None, "{other:?}");
        }
    }

    #[test]
    fn unknown_numbers_have_no_word() {
        assert_eq!(name_of_i32::<PeriodStatus>(2), "closed");
        assert_eq!(name_of_i32::<PeriodStatus>(99), "");
        assert_eq!(name_of_i32::<PeriodStatus>(-1), "");
    }

    #[test]
    fn the_word_list_leaves_out_the_zero_value() {
        assert_eq!(word_list::<PeriodStatus>(), "open, closed, netted, confirmed, settled");
        assert_eq!(words::<filing::v1::Channel>().count(), 3);
    }
}
