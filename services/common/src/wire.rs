//! Reading values as HIS systems send them: strict about meaning, lenient about form.

use chrono::NaiveDate;

use crate::Error;

/// A date as `yyyy-MM-dd`, `yyyy-MM-dd HH:mm:ss` or ISO `yyyy-MM-ddTHH:mm:ss` (the time is
/// ignored). Empty: `missing_field`; anything else: `invalid_date`, naming `field`.
pub fn date(field: &'static str, text: &str) -> Result<NaiveDate, Error> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid(field, "missing_field", format!("{field} is required")));
    }
    let day = match text.get(10..11) {
        Some(" " | "T") => text.get(..10).unwrap_or(text),
        _ => text,
    };
    NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
        Error::invalid(
            field,
            "invalid_date",
            format!("{field} {} is not a date: use yyyy-MM-dd", crate::codes::shown(text)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_date_is_not_echoed_whole() {
        let huge = "9".repeat(100_000);
        let e = date("begin_date", &huge).unwrap_err();
        assert_eq!(e.reason(), "invalid_date");
        assert!(e.to_string().len() < 200, "{e}");
    }

    #[test]
    fn dates_in_the_forms_his_systems_send() {
        let expected = NaiveDate::from_ymd_opt(2026, 3, 1);
        for text in ["2026-03-01", "2026-03-01 08:30:00", "2026-03-01T08:30:00", " 2026-03-01 "] {
            assert_eq!(date("begin_date", text).ok(), expected, "{text}");
        }
        for bad in ["2026-02-30", "20260301", "01/03/2026", "2026-03-01X"] {
            assert_eq!(date("begin_date", bad).unwrap_err().reason(), "invalid_date", "{bad}");
        }
        assert_eq!(date("begin_date", "").unwrap_err().reason(), "missing_field");
    }
}
