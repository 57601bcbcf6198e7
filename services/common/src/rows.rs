//! Rows of imported files (CSV or their gRPC equivalent): why a row was refused, in a form that
//! names the reason and the column to fix. Every import reports these per row and never lets
//! one bad row abort the good ones silently.

use std::collections::BTreeMap;

/// A row: column → value.
pub type Fields = BTreeMap<String, String>;

/// Why a row was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub reason: &'static str,
    pub field: Option<&'static str>,
    pub message: String,
}

impl RowError {
    pub fn new(
        reason: &'static str,
        field: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        Self { reason, field, message: message.into() }
    }
}

/// The trimmed value of `column` ("" when absent).
pub fn get<'a>(fields: &'a Fields, column: &'static str) -> &'a str {
    fields.get(column).map_or("", |v| v.trim())
}

/// A column's value refused by the boundary rules of [`crate::codes`] (a control character).
fn refused(column: &'static str, e: crate::codes::Invalid) -> RowError {
    RowError::new(e.reason, Some(column), e.message)
}

/// The value of a column that must be there (no control characters, at most 4000 characters:
/// the longest national text field).
pub fn required<'a>(fields: &'a Fields, column: &'static str) -> Result<&'a str, RowError> {
    let value = crate::codes::text(column, get(fields, column), crate::codes::MAX_FIELD)
        .map_err(|e| refused(column, e))?;
    match value {
        "" => Err(RowError::new("missing_field", Some(column), format!("{column} is required"))),
        value => Ok(value),
    }
}

/// Free text of at most `max` characters, without control characters.
pub fn text(fields: &Fields, column: &'static str, max: usize) -> Result<String, RowError> {
    let value = get(fields, column);
    if value.chars().count() > max {
        return Err(RowError::new(
            "too_long",
            Some(column),
            format!("{column} is longer than {max} characters"),
        ));
    }
    crate::codes::text(column, value, max).map(str::to_owned).map_err(|e| refused(column, e))
}

/// A refused row as reported back: its line in the file, the reason, the column, the message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rejection {
    pub row_no: u64,
    pub reason: String,
    pub field: Option<String>,
    pub message: String,
}

impl Rejection {
    pub fn new(row_no: u64, error: RowError) -> Self {
        Self {
            row_no,
            reason: error.reason.to_owned(),
            field: error.field.map(str::to_owned),
            message: error.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_overlong_values_are_refused_by_column() {
        let fields: Fields =
            [("name".to_owned(), "a\u{0}b".to_owned()), ("code".to_owned(), "x".repeat(5000))]
                .into_iter()
                .collect();
        let e = text(&fields, "name", 10).unwrap_err();
        assert_eq!((e.reason, e.field), ("control_character", Some("name")));
        assert_eq!(required(&fields, "name").unwrap_err().reason, "control_character");
        assert_eq!(required(&fields, "code").unwrap_err().reason, "too_long");
        assert_eq!(required(&fields, "absent").unwrap_err().reason, "missing_field");
    }
}
