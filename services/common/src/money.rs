//! Money is integer fen. Yuan amounts (text with at most two decimals) convert exactly, never
//! through a float.
//!
//! Every fen amount computed from a price × a quantity or from an amount × a ratio is rounded
//! here, once, half away from zero ([`round_fen`], [`line_amount_fen`], [`share_fen`]), so the
//! fee upload's answer, the pre-settlement and the settlement agree to the fen. The other
//! roundings money needs have a name here too ([`ceil_fen`], [`round_ratio`]). `clippy.toml`
//! bans `Decimal`'s rounding methods everywhere else: `round_dp` alone rounds half to even, and
//! 0.01 yuan × 2.5 would be 2 fen in one place and 3 in another.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

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

/// Rounds an amount of fen to a whole fen, half away from zero: 2.5 → 3, −2.5 → −3, 2.49 → 2.
/// The one rounding of computed money. An amount beyond `i64` is an error.
#[allow(clippy::disallowed_methods, reason = "the one place money is rounded")]
pub fn round_fen(amount: Decimal) -> Result<i64, AmountError> {
    let rounded = amount.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(rounded).map_err(|_| AmountError(format!("{amount} fen is out of range")))
}

/// Rounds an amount of fen up to a whole fen (towards +∞): for a level that must reach at
/// least the exact amount, such as a prepaid fund's alert line. An amount beyond `i64` is an
/// error.
#[allow(clippy::disallowed_methods, reason = "the one place money is rounded")]
pub fn ceil_fen(amount: Decimal) -> Result<i64, AmountError> {
    let rounded = amount.round_dp_with_strategy(0, RoundingStrategy::ToPositiveInfinity);
    i64::try_from(rounded).map_err(|_| AmountError(format!("{amount} fen is out of range")))
}

/// A fee line's amount: `price_fen` × `quantity`, rounded once by [`round_fen`]. A product
/// beyond what fen can hold is an error, never an overflow.
pub fn line_amount_fen(price_fen: i64, quantity: Decimal) -> Result<i64, AmountError> {
    product_fen(price_fen, quantity)
}

/// The part `ratio` of an amount: `amount_fen` × `ratio`, rounded once by [`round_fen`]
/// (a 乙 first self-pay, a fund's share).
pub fn share_fen(amount_fen: i64, ratio: Decimal) -> Result<i64, AmountError> {
    product_fen(amount_fen, ratio)
}

fn product_fen(fen: i64, factor: Decimal) -> Result<i64, AmountError> {
    let product = Decimal::from(fen)
        .checked_mul(factor)
        .ok_or_else(|| AmountError(format!("{fen} fen × {factor} is out of range")))?;
    round_fen(product)
}

/// A ratio (a share, an efficiency) to four places, half away from zero, always written with
/// four decimals: 0.12345 → `0.1235`, 0.5 → `0.5000`.
#[allow(clippy::disallowed_methods, reason = "the one place money is rounded")]
pub fn round_ratio(ratio: Decimal) -> Decimal {
    let mut rounded = ratio.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
    // Only adds zeros: the value has at most four decimals now.
    rounded.rescale(4);
    rounded
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

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn fen_round_half_away_from_zero() {
        for (amount, fen) in [
            ("2.5", 3),
            ("3.5", 4),
            ("0.5", 1),
            ("2.4999", 2),
            ("2.5001", 3),
            ("2", 2),
            ("0", 0),
            ("0.4", 0),
            ("-0.5", -1),
            ("-2.5", -3),
            ("-3.5", -4),
            ("-2.4999", -2),
            ("-0.4", 0),
        ] {
            assert_eq!(round_fen(d(amount)), Ok(fen), "{amount}");
        }
        // round_dp(0) would give 2 and 4: half to even.
        assert_eq!(round_fen(d("2.5")), Ok(3));
        assert_eq!(round_fen(d("4.5")), Ok(5));
    }

    #[test]
    fn fen_out_of_range_is_an_error() {
        assert_eq!(round_fen(Decimal::from(i64::MAX)), Ok(i64::MAX));
        assert_eq!(round_fen(Decimal::from(i64::MIN)), Ok(i64::MIN));
        assert!(round_fen(Decimal::from(i64::MAX) + Decimal::ONE).is_err());
        assert!(round_fen(Decimal::from(i64::MIN) - Decimal::ONE).is_err());
        assert!(round_fen(Decimal::MAX).is_err());
        assert!(round_fen(Decimal::MIN).is_err());
        // i64::MAX + 0.4 rounds back into range, + 0.5 away from it.
        assert_eq!(round_fen(Decimal::from(i64::MAX) + d("0.4")), Ok(i64::MAX));
        assert!(round_fen(Decimal::from(i64::MAX) + d("0.5")).is_err());
        assert!(ceil_fen(Decimal::from(i64::MAX) + d("0.1")).is_err());
    }

    #[test]
    fn line_amounts_round_once_and_never_overflow() {
        // 0.01 yuan × 2.5 = 2.5 fen → 3.
        assert_eq!(line_amount_fen(1, d("2.5")), Ok(3));
        assert_eq!(line_amount_fen(1001, d("0.5")), Ok(501));
        assert_eq!(line_amount_fen(333, d("0.0015")), Ok(0));
        assert_eq!(line_amount_fen(1000, d("0.0005")), Ok(1));
        let huge = d("99999999999999999999999999.99");
        let err = line_amount_fen(1, huge).unwrap_err();
        assert!(err.0.contains("out of range"), "{err}");
        assert!(line_amount_fen(12345, huge).is_err(), "the product overflows a Decimal");
        assert!(line_amount_fen(i64::MAX, d("2")).is_err());
        assert!(line_amount_fen(i64::MAX, Decimal::MAX).is_err());
        assert_eq!(line_amount_fen(i64::MAX, Decimal::ONE), Ok(i64::MAX));
    }

    #[test]
    fn shares_round_half_away_from_zero() {
        assert_eq!(share_fen(333, d("0.15")), Ok(50), "49.95");
        assert_eq!(share_fen(5, d("0.5")), Ok(3), "2.5");
        assert_eq!(share_fen(-5, d("0.5")), Ok(-3), "−2.5");
        assert_eq!(share_fen(784, d("0.5")), Ok(392));
        assert!(share_fen(i64::MAX, Decimal::MAX).is_err());
    }

    #[test]
    fn ceilings_round_up() {
        assert_eq!(ceil_fen(d("7.01")), Ok(8));
        assert_eq!(ceil_fen(d("7")), Ok(7));
        assert_eq!(ceil_fen(d("-7.9")), Ok(-7));
        assert_eq!(ceil_fen(d("0.0001")), Ok(1));
    }

    #[test]
    fn ratios_round_to_four_places() {
        for (ratio, rounded) in [
            ("0.12345", "0.1235"),
            ("0.12344999", "0.1234"),
            ("0.5", "0.5000"),
            ("1", "1.0000"),
            ("0", "0.0000"),
            ("-0.00005", "-0.0001"),
            ("0.99995", "1.0000"),
        ] {
            assert_eq!(round_ratio(d(ratio)).to_string(), rounded, "{ratio}");
        }
    }
}
