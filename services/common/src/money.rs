//! Money is integer fen. Yuan amounts (text with at most two decimals) convert exactly, never
//! through a float.

use std::str::FromStr;

use rust_decimal::Decimal;

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AmountError(pub String);

/// `"12.5"` → 1250 fen. At most two decimals; no sign, exponent or thousands separators.
pub fn yuan_to_fen(text: &str) -> Result<i64, AmountError> {
    let text = text.trim();
    let bad = || AmountError(format!("{text:?} is not an amount in yuan with at most 2 decimals"));
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad());
    }
    let value = Decimal::from_str(text).map_err(|_| bad())?;
    if value.scale() > 2 {
        return Err(bad());
    }
    let fen = value.checked_mul(Decimal::ONE_HUNDRED).ok_or_else(bad)?;
    i64::try_from(fen.normalize()).map_err(|_| bad())
}

/// 1250 fen → `"12.50"`.
pub fn fen_to_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// A ratio in `[0, 1]` with at most 4 decimals, e.g. `"0.15"`.
pub fn parse_ratio(text: &str) -> Result<Decimal, AmountError> {
    let text = text.trim();
    let bad =
        || AmountError(format!("{text:?} is not a ratio between 0 and 1 with at most 4 decimals"));
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad());
    }
    let value = Decimal::from_str(text).map_err(|_| bad())?;
    if value.scale() > 4 || value > Decimal::ONE {
        return Err(bad());
    }
    Ok(value.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_converts_exactly() {
        assert_eq!(yuan_to_fen("12.5"), Ok(1250));
        assert_eq!(yuan_to_fen("0.01"), Ok(1));
        assert_eq!(yuan_to_fen("100"), Ok(10000));
        assert_eq!(yuan_to_fen("0.1"), Ok(10), "0.1 is not 0.1000000000000000055 here");
        for bad in ["", "1.234", "-1", "1e3", "1,000", "abc", "1.2.3"] {
            assert!(yuan_to_fen(bad).is_err(), "{bad}");
        }
        assert_eq!(fen_to_yuan(1250), "12.50");
        assert_eq!(fen_to_yuan(-5), "-0.05");
    }

    #[test]
    fn ratios_are_between_zero_and_one() {
        assert_eq!(parse_ratio("0.15").unwrap().to_string(), "0.15");
        assert_eq!(parse_ratio("1").unwrap(), Decimal::ONE);
        for bad in ["1.01", "-0.1", "0.12345", "", "x"] {
            assert!(parse_ratio(bad).is_err(), "{bad}");
        }
    }
}
