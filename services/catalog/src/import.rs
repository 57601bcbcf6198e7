//! Reading catalogue rows in the documented CSV columns (see the README) into validated domain
//! values. A bad row gets a reason and the field to blame; it never stops the others.

use chrono::NaiveDate;
pub use medclear_common::rows::{Fields, RowError};
use medclear_common::{
    codes::FixmedinsCode,
    money::{parse_ratio, yuan_to_fen},
    rows::{get, required, text},
};
use rust_decimal::Decimal;

use crate::domain::{
    CoverageClass, CoverageRule, HospitalLevel, Item, ItemKind, Mapping, NamedOperation,
    OperationUse, Period, Restrictions, Scope,
};

/// The columns of each kind of file, in order.
pub const ITEM_COLUMNS: [&str; 9] = [
    "code",
    "kind",
    "name",
    "spec",
    "unit",
    "begin_date",
    "end_date",
    "operation_code",
    "operation_name",
];
pub const COVERAGE_COLUMNS: [&str; 12] = [
    "scope",
    "code",
    "class",
    "selfpay_ratio",
    "selfpay_ratio_by_insutype",
    "price_cap",
    "hospital_levels",
    "diagnosis_prefixes",
    "min_age",
    "max_age",
    "begin_date",
    "end_date",
];
pub const MAPPING_COLUMNS: [&str; 5] =
    ["fixmedins_code", "local_code", "local_name", "national_code", "begin_date"];

fn date(fields: &Fields, column: &'static str) -> Result<Option<NaiveDate>, RowError> {
    match get(fields, column) {
        "" => Ok(None),
        value => NaiveDate::parse_from_str(value, "%Y-%m-%d").map(Some).map_err(|_| {
            RowError::new(
                "invalid_date",
                Some(column),
                format!("{column} {value:?} is not a yyyy-MM-dd date"),
            )
        }),
    }
}

fn period(fields: &Fields) -> Result<Period, RowError> {
    let begin = date(fields, "begin_date")?.ok_or_else(|| {
        RowError::new("missing_field", Some("begin_date"), "begin_date is required")
    })?;
    let end = date(fields, "end_date")?;
    if let Some(end) = end
        && end < begin
    {
        return Err(RowError::new(
            "end_before_begin",
            Some("end_date"),
            format!("end_date {end} is before begin_date {begin}"),
        ));
    }
    Ok(Period { begin, end })
}

/// A national catalogue item.
pub fn item(fields: &Fields) -> Result<Item, RowError> {
    let kind_text = required(fields, "kind")?;
    let kind = ItemKind::parse(kind_text).ok_or_else(|| {
        let message = format!("kind {kind_text:?} is not one of {}", ItemKind::word_list());
        RowError::new("unknown_kind", Some("kind"), message)
    })?;
    let code = required(fields, "code")?;
    if !kind.accepts(code) {
        return Err(RowError::new(
            "invalid_code",
            Some("code"),
            format!("{code} is not a {} code: expected {}", kind.as_str(), kind.example()),
        ));
    }
    Ok(Item {
        code: code.to_owned(),
        kind,
        name: {
            let name = text(fields, "name", 200)?;
            if name.is_empty() {
                return Err(RowError::new("missing_field", Some("name"), "name is required"));
            }
            name
        },
        spec: text(fields, "spec", 200)?,
        unit: text(fields, "unit", 20)?,
        period: period(fields)?,
        ver: 0,
        operation: operation(fields, kind)?,
    })
}

/// The operation a day-surgery entry is (required) or a disease-payment entry is limited to
/// (optional): an ICD-9-CM-3 医保版 code and its name; other kinds have none.
fn operation(fields: &Fields, kind: ItemKind) -> Result<Option<NamedOperation>, RowError> {
    let code = get(fields, "operation_code");
    let name = text(fields, "operation_name", 500)?;
    match (kind.operation(), code.is_empty() && name.is_empty()) {
        (OperationUse::None, true) | (OperationUse::Allowed, true) => return Ok(None),
        (OperationUse::None, false) => {
            let field = if code.is_empty() { "operation_name" } else { "operation_code" };
            return Err(RowError::new(
                "operation_not_allowed",
                Some(field),
                format!(
                    "a {} names no operation: operation_code and operation_name are for {} and {}",
                    kind.as_str(),
                    ItemKind::DaySurgery.as_str(),
                    ItemKind::DiseasePayment.as_str()
                ),
            ));
        }
        _ => {}
    }
    if code.is_empty() {
        return Err(RowError::new(
            "missing_field",
            Some("operation_code"),
            format!("a {} names its operation: operation_code is required", kind.as_str()),
        ));
    }
    if !ItemKind::Operation.accepts(code) {
        return Err(RowError::new(
            "invalid_code",
            Some("operation_code"),
            format!(
                "operation_code {code} is not an operation code: expected {}",
                ItemKind::Operation.example()
            ),
        ));
    }
    if name.is_empty() {
        return Err(RowError::new(
            "missing_field",
            Some("operation_name"),
            "operation_name is required with operation_code",
        ));
    }
    Ok(Some(NamedOperation { code: code.to_owned(), name }))
}

fn list(fields: &Fields, column: &'static str) -> Vec<String> {
    get(fields, column)
        .split([';', '|'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn age(fields: &Fields, column: &'static str) -> Result<Option<u32>, RowError> {
    match get(fields, column) {
        "" => Ok(None),
        value => value.parse::<u32>().ok().filter(|a| *a <= 150).map(Some).ok_or_else(|| {
            RowError::new(
                "invalid_age",
                Some(column),
                format!("{column} {value:?} is not an age in years"),
            )
        }),
    }
}

fn ratio(value: &str, column: &'static str) -> Result<Decimal, RowError> {
    parse_ratio(value)
        .map_err(|e| RowError::new("invalid_ratio", Some(column), format!("{column}: {e}")))
}

/// A coverage rule of one scope for one item.
pub fn coverage(fields: &Fields) -> Result<CoverageRule, RowError> {
    let scope_text = required(fields, "scope")?;
    let scope = Scope::parse(scope_text).ok_or_else(|| {
        RowError::new(
            "invalid_scope",
            Some("scope"),
            format!("scope {scope_text:?} is neither 000000 (national) nor an admdvs code"),
        )
    })?;
    let code = required(fields, "code")?.to_owned();
    let class_text = required(fields, "class")?;
    let class = CoverageClass::parse(class_text).ok_or_else(|| {
        RowError::new(
            "unknown_class",
            Some("class"),
            format!("class {class_text:?} is not A/B/C (甲/乙/丙)"),
        )
    })?;
    let selfpay_ratio = match get(fields, "selfpay_ratio") {
        "" => Decimal::ZERO,
        value => ratio(value, "selfpay_ratio")?,
    };
    let mut by_insutype = Vec::new();
    for pair in list(fields, "selfpay_ratio_by_insutype") {
        let bad = || {
            RowError::new(
                "invalid_ratio",
                Some("selfpay_ratio_by_insutype"),
                format!("{pair:?} is not insutype:ratio, e.g. 390:0.20"),
            )
        };
        let (insutype, value) = pair.split_once(':').ok_or_else(bad)?;
        let insutype = insutype.trim();
        if insutype.len() != 3 || !insutype.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        by_insutype.push((insutype.to_owned(), ratio(value, "selfpay_ratio_by_insutype")?));
    }
    if class != CoverageClass::B && (!selfpay_ratio.is_zero() || !by_insutype.is_empty()) {
        return Err(RowError::new(
            "ratio_not_allowed",
            Some("selfpay_ratio"),
            format!(
                "only class B (乙) items have a first self-pay ratio, this one is {}",
                class.as_str()
            ),
        ));
    }
    let price_cap_fen = match get(fields, "price_cap") {
        "" => None,
        value => Some(yuan_to_fen(value).map_err(|e| {
            RowError::new("invalid_amount", Some("price_cap"), format!("price_cap: {e}"))
        })?),
    };
    let mut hospital_levels = Vec::new();
    for level in list(fields, "hospital_levels") {
        hospital_levels.push(HospitalLevel::parse(&level).ok_or_else(|| {
            RowError::new(
                "unknown_level",
                Some("hospital_levels"),
                format!("{level:?} is not tertiary, secondary, primary or ungraded"),
            )
        })?);
    }
    let diagnosis_prefixes = list(fields, "diagnosis_prefixes");
    if let Some(bad) = diagnosis_prefixes
        .iter()
        .find(|p| !p.starts_with(|c: char| c.is_ascii_uppercase()) || p.len() > 16)
    {
        return Err(RowError::new(
            "invalid_prefix",
            Some("diagnosis_prefixes"),
            format!("{bad:?} is not the start of an ICD-10 code, e.g. E11"),
        ));
    }
    let (min_age, max_age) = (age(fields, "min_age")?, age(fields, "max_age")?);
    if let (Some(min), Some(max)) = (min_age, max_age)
        && min > max
    {
        return Err(RowError::new(
            "invalid_age",
            Some("max_age"),
            format!("max_age {max} is below min_age {min}"),
        ));
    }
    Ok(CoverageRule {
        id: 0,
        scope,
        code,
        class,
        selfpay_ratio,
        selfpay_ratio_by_insutype: by_insutype,
        price_cap_fen,
        restrictions: Restrictions { hospital_levels, diagnosis_prefixes, min_age, max_age },
        period: period(fields)?,
        ver: 0,
    })
}

/// A hospital's local code mapped to a national code.
pub fn mapping(fields: &Fields) -> Result<Mapping, RowError> {
    let hospital = required(fields, "fixmedins_code")?;
    let hospital = FixmedinsCode::parse(hospital)
        .map_err(|e| RowError::new("invalid_code", Some("fixmedins_code"), e.to_string()))?;
    let local_code = required(fields, "local_code")?;
    if local_code.len() > 50 || local_code.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(RowError::new(
            "invalid_code",
            Some("local_code"),
            format!("local_code {local_code:?}: at most 50 characters, no spaces"),
        ));
    }
    let national_code = required(fields, "national_code")?;
    let begin = date(fields, "begin_date")?.ok_or_else(|| {
        RowError::new("missing_field", Some("begin_date"), "begin_date is required")
    })?;
    Ok(Mapping {
        id: 0,
        fixmedins_code: hospital.to_string(),
        local_code: local_code.to_owned(),
        local_name: text(fields, "local_name", 200)?,
        national_code: national_code.to_owned(),
        period: Period { begin, end: None },
        revoked: false,
        ver: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn items() {
        let good = row(&[
            ("code", "003401000230600"),
            ("kind", "service"),
            ("name", "CT 平扫"),
            ("begin_date", "2024-01-01"),
        ]);
        let parsed = item(&good).unwrap();
        assert_eq!((parsed.kind, parsed.period.end), (ItemKind::Service, None));
        let reason = |pairs: &[(&str, &str)]| {
            let mut fields = good.clone();
            fields.extend(row(pairs));
            let e = item(&fields).unwrap_err();
            (e.reason, e.field)
        };
        assert_eq!(reason(&[("kind", "drug")]), ("unknown_kind", Some("kind")));
        assert_eq!(reason(&[("code", "00340100023060")]), ("invalid_code", Some("code")));
        assert_eq!(reason(&[("name", " ")]), ("missing_field", Some("name")));
        assert_eq!(reason(&[("begin_date", "2024/01/01")]), ("invalid_date", Some("begin_date")));
        assert_eq!(reason(&[("end_date", "2023-12-31")]), ("end_before_begin", Some("end_date")));
        assert_eq!(
            reason(&[("operation_code", "47.0100"), ("operation_name", "阑尾切除术")]),
            ("operation_not_allowed", Some("operation_code"))
        );
        let e = item(&row(&[("kind", "hernia")])).unwrap_err();
        assert!(e.message.ends_with("operation, disease_payment, day_surgery"), "{}", e.message);
    }

    #[test]
    fn disease_payment_and_day_surgery_entries() {
        let day_surgery = row(&[
            ("code", "H25.900x001"),
            ("kind", "day_surgery"),
            ("name", "老年性白内障"),
            ("begin_date", "2024-01-01"),
            ("operation_code", "13.4100"),
            ("operation_name", "白内障超声乳化抽吸术"),
        ]);
        let parsed = item(&day_surgery).unwrap();
        assert_eq!(parsed.kind, ItemKind::DaySurgery);
        assert_eq!(
            parsed.operation,
            Some(NamedOperation {
                code: "13.4100".into(), name: "白内障超声乳化抽吸术".into()
            })
        );
        let reason = |base: &Fields, pairs: &[(&str, &str)]| {
            let mut fields = base.clone();
            fields.extend(row(pairs));
            let e = item(&fields).unwrap_err();
            (e.reason, e.field)
        };
        assert_eq!(
            reason(&day_surgery, &[("operation_code", ""), ("operation_name", "")]),
            ("missing_field", Some("operation_code"))
        );
        assert_eq!(
            reason(&day_surgery, &[("operation_code", "1341")]),
            ("invalid_code", Some("operation_code"))
        );
        assert_eq!(
            reason(&day_surgery, &[("operation_name", "")]),
            ("missing_field", Some("operation_name"))
        );
        assert_eq!(reason(&day_surgery, &[("code", "h25.900")]), ("invalid_code", Some("code")));
        // A disease-payment entry may be limited to an operation, or not.
        let mut payment = day_surgery.clone();
        payment.extend(row(&[
            ("kind", "disease_payment"),
            ("code", "K80.100"),
            ("operation_code", ""),
            ("operation_name", ""),
        ]));
        assert_eq!(item(&payment).unwrap().operation, None);
        assert_eq!(
            reason(&payment, &[("operation_name", "腹腔镜胆囊切除术")]),
            ("missing_field", Some("operation_code"))
        );
    }

    #[test]
    fn coverage_rows() {
        let good = row(&[
            ("scope", "440000"),
            ("code", "XL02BBA326A001010102180"),
            ("class", "乙"),
            ("selfpay_ratio", "0.1"),
            ("selfpay_ratio_by_insutype", "390:0.2;310:0.05"),
            ("price_cap", "35.5"),
            ("hospital_levels", "tertiary;secondary"),
            ("diagnosis_prefixes", "E11|E10"),
            ("max_age", "14"),
            ("begin_date", "2024-01-01"),
        ]);
        let rule = coverage(&good).unwrap();
        assert_eq!(rule.price_cap_fen, Some(3550));
        assert_eq!(rule.ratio_for(Some("390")).to_string(), "0.2");
        assert_eq!(
            rule.restrictions.hospital_levels,
            vec![HospitalLevel::Tertiary, HospitalLevel::Secondary]
        );
        assert_eq!(rule.restrictions.diagnosis_prefixes, vec!["E11".to_owned(), "E10".to_owned()]);
        let reason = |pairs: &[(&str, &str)]| {
            let mut fields = good.clone();
            fields.extend(row(pairs));
            coverage(&fields).unwrap_err().reason
        };
        assert_eq!(reason(&[("scope", "44")]), "invalid_scope");
        assert_eq!(reason(&[("class", "D")]), "unknown_class");
        assert_eq!(reason(&[("selfpay_ratio", "1.5")]), "invalid_ratio");
        assert_eq!(reason(&[("selfpay_ratio_by_insutype", "390=0.2")]), "invalid_ratio");
        assert_eq!(reason(&[("class", "A")]), "ratio_not_allowed");
        assert_eq!(reason(&[("price_cap", "35.555")]), "invalid_amount");
        assert_eq!(reason(&[("hospital_levels", "clinic")]), "unknown_level");
        assert_eq!(reason(&[("diagnosis_prefixes", "e11")]), "invalid_prefix");
        assert_eq!(reason(&[("min_age", "20")]), "invalid_age");
    }

    #[test]
    fn mapping_rows() {
        let good = row(&[
            ("fixmedins_code", "H44030000001"),
            ("local_code", "L000000001"),
            ("national_code", "003401000230600"),
            ("begin_date", "2024-01-01"),
        ]);
        assert_eq!(mapping(&good).unwrap().local_code, "L000000001");
        let mut bad = good.clone();
        bad.insert("fixmedins_code".into(), "H1".into());
        assert_eq!(mapping(&bad).unwrap_err().field, Some("fixmedins_code"));
        let mut bad = good;
        bad.insert("local_code".into(), "L 1".into());
        assert_eq!(mapping(&bad).unwrap_err().reason, "invalid_code");
    }
}
