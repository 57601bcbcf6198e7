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

/// The value of a column that must be there.
pub fn required<'a>(fields: &'a Fields, column: &'static str) -> Result<&'a str, RowError> {
    match get(fields, column) {
        "" => Err(RowError::new("missing_field", Some(column), format!("{column} is required"))),
        value => Ok(value),
    }
}

/// Free text of at most `max` characters.
pub fn text(fields: &Fields, column: &'static str, max: usize) -> Result<String, RowError> {
    let value = get(fields, column);
    if value.chars().count() > max {
        return Err(RowError::new(
            "too_long",
            Some(column),
            format!("{column} is longer than {max} characters"),
        ));
    }
    Ok(value.to_owned())
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
