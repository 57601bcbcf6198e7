//! Validated national codes (DESIGN.md §3) and the one set of rules for what a field may hold
//! at the boundary. A value of these types has been checked once, at the edge; inside a
//! service it is trusted.
//!
//! Every reader — the national interface's envelope readers, the JSON API's bodies and the
//! services' `TryFrom` conversions — checks a field with the functions here, so a field is
//! refused for the same reason everywhere, by name ([`Invalid`]):
//!
//! * `control_character`: NUL, any other C0/C1 control character or a bidirectional override
//!   (U+202E…), in any field. PostgreSQL refuses NUL in text, and no national field carries
//!   control characters, so none reaches a query.
//! * `too_long`: more characters than the field's national length (`C(n)`, see
//!   `docs/NATIONAL_INTERFACE.md`).
//! * `invalid_code`: a code or id outside its pattern ([`code`], [`id`], [`digits`],
//!   [`PsnNo`], [`FixmedinsCode`], [`Admdvs`]).
//! * `invalid_msgid`: a national msgid that is not `fixmedins_code`(12) + `yyyyMMddHHmmss` +
//!   4 digits ([`Msgid`]), or an API message id outside its pattern ([`MessageId`]).
//! * `missing_field`: a required field left empty.
//!
//! Refusal messages show at most the first characters of the value refused ([`shown`]): a
//! message travels back in a gRPC status header, where an echoed 100 KB value would break the
//! HTTP/2 stream instead of refusing the request.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A field refused at the boundary: the field, a stable machine-readable reason
/// (`control_character`, `too_long`, `invalid_code`, `invalid_msgid`, `missing_field`) and
/// what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub field: String,
    pub reason: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &str, reason: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.to_owned(), reason, message: message.into() }
    }

    /// The same refusal for a field under another name (`feedetail[3].feedetl_sn`).
    pub fn named(self, field: impl Into<String>) -> Self {
        let field = field.into();
        let message = match self.message.strip_prefix(self.field.as_str()) {
            Some(rest) => format!("{field}{rest}"),
            None => self.message,
        };
        Self { field, message, ..self }
    }
}

impl From<Invalid> for crate::Error {
    fn from(e: Invalid) -> Self {
        crate::Error::invalid(e.field, e.reason, e.message)
    }
}

/// How a refused value is shown in a message: quoted and escaped, cut after 24 characters.
pub fn shown(text: &str) -> String {
    const SHOWN: usize = 24;
    let count = text.chars().count();
    if count <= SHOWN {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(SHOWN).collect();
        format!("{head:?}… ({count} characters)")
    }
}

/// The longest text any field may hold: the national `C(4000)` of `exp_content`, the longest
/// text field of the interface. Shorter fields have their own length.
pub const MAX_FIELD: usize = 4000;

/// A character no field may hold: C0 and C1 controls (NUL, ESC, DEL…) and the invisible
/// bidirectional controls that make text read other than it is stored (U+202E…).
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Free text of at most `max` characters without control characters, trimmed (may be empty).
pub fn text<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, Invalid> {
    if let Some((at, c)) = value.chars().enumerate().find(|(_, c)| is_forbidden_char(*c)) {
        return Err(Invalid::new(
            field,
            "control_character",
            format!(
                "{field} contains the control character U+{:04X} at character {at}: send text \
                 without control characters",
                u32::from(c)
            ),
        ));
    }
    let value = value.trim();
    let count = value.chars().count();
    if count > max {
        return Err(Invalid::new(
            field,
            "too_long",
            format!("{field} has {count} characters: at most {max}"),
        ));
    }
    Ok(value)
}

/// Free text that must be there.
pub fn required_text<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, Invalid> {
    match text(field, value, max)? {
        "" => Err(missing(field)),
        value => Ok(value),
    }
}

/// A required field left empty.
pub fn missing(field: &str) -> Invalid {
    Invalid::new(field, "missing_field", format!("{field} is required"))
}

/// A code character: ASCII letters and digits and `. - _ + /` (ICD-10 `I10.x00x002`, drug
/// codes, hospital item codes, serials).
fn is_code_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+' | b'/')
}

/// A code of 1 to `max` code characters (ASCII letters, digits, `. - _ + /`), trimmed.
pub fn code<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, Invalid> {
    match optional_code(field, value, max)? {
        "" => Err(missing(field)),
        value => Ok(value),
    }
}

/// The weights and check characters of an 18-character citizen ID (GB 11643).
const CERTNO_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CERTNO_CHECK: &[u8; 11] = b"10X98765432";

/// The check character of an 18-character citizen ID's first 17 digits (GB 11643).
pub fn certno_check_char(first17: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (digit, weight) in first17.iter().zip(CERTNO_WEIGHTS) {
        sum += u32::from(digit.checked_sub(b'0').filter(|d| *d <= 9)?) * weight;
    }
    CERTNO_CHECK.get(usize::try_from(sum % 11).ok()?).copied()
}

/// Whether `certno` is a well-formed 18-character citizen ID: 17 digits whose date of birth
/// is a date, and the right check character.
pub fn certno_valid(certno: &str) -> bool {
    let b = certno.as_bytes();
    b.len() == 18
        && certno_check_char(&b[..17]) == Some(b[17].to_ascii_uppercase())
        && certno.get(6..14).is_some_and(|d| chrono::NaiveDate::parse_from_str(d, "%Y%m%d").is_ok())
}

/// A citizen ID (居民身份证号), checked for meaning: 18 characters, a real birth date, the
/// right check character (an `x` is read as `X`).
pub fn citizen_id(field: &str, value: &str) -> Result<String, Invalid> {
    let value = text(field, value, 18 + 2)?.to_ascii_uppercase();
    if value.is_empty() {
        return Err(missing(field));
    }
    if !certno_valid(&value) {
        return Err(Invalid::new(
            field,
            "invalid_certno",
            format!(
                "{field} {} is not a citizen ID: 17 digits with a date of birth, then the check \
                 character (GB 11643)",
                shown(&value)
            ),
        ));
    }
    Ok(value)
}

/// A diagnosis code (诊断代码), checked for meaning as far as its form tells: ICD-10 (医保版)
/// codes begin with a letter and two digits (`I10.x00x002`), TCM codes with letters and a digit
/// (`BNG010`, `A04.01.01`); at most `max` code characters. `11` is none of them.
pub fn diagnosis_code<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, Invalid> {
    let value = optional_code(field, value, max)?;
    if value.is_empty() {
        return Ok(value);
    }
    let letters = value.bytes().take_while(u8::is_ascii_alphabetic).count();
    let digit_follows = value.as_bytes().get(letters).is_some_and(u8::is_ascii_digit);
    if !(1..=3).contains(&letters) || !digit_follows {
        return Err(Invalid::new(
            field,
            "invalid_diagnosis",
            format!(
                "{field} {} is not a diagnosis code: an ICD-10 code (a letter and two digits, \
                 e.g. I10.x00x002) or a TCM code (e.g. BNG010)",
                shown(value)
            ),
        ));
    }
    Ok(value)
}

/// A code that may be left empty.
pub fn optional_code<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, Invalid> {
    let value = text(field, value, max)?;
    if !value.bytes().all(is_code_char) {
        return Err(Invalid::new(
            field,
            "invalid_code",
            format!(
                "{field} {} is not a code: ASCII letters, digits and . - _ + / only",
                shown(value)
            ),
        ));
    }
    Ok(value)
}

/// The national length of an id the platform or a hospital issues (`mdtrt_id`, `setl_id`,
/// `feedetl_sn`, `chrg_bchno`, `ipt_otp_no`, `trt_dcla_detl_sn`, `file_qury_no`): C(30).
pub const ID_LEN: usize = 30;

/// An id: 1 to 30 code characters ([`code`]).
pub fn id<'a>(field: &str, value: &'a str) -> Result<&'a str, Invalid> {
    code(field, value, ID_LEN)
}

/// A dictionary code of `min` to `max` digits (`insutype` 310, `clr_type` 11, `med_type`…).
pub fn digits<'a>(field: &str, value: &'a str, min: usize, max: usize) -> Result<&'a str, Invalid> {
    let value = text(field, value, max)?;
    if value.is_empty() {
        return Err(missing(field));
    }
    if value.len() < min || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::new(
            field,
            "invalid_code",
            format!("{field} {} is not a code of {min} to {max} digits", shown(value)),
        ));
    }
    Ok(value)
}

/// 险种类型 `insutype`: 3 to 6 digits (`310`, `390`; local codes such as `39999` exist).
pub fn insutype<'a>(field: &str, value: &'a str) -> Result<&'a str, Invalid> {
    digits(field, value, 3, 6)
}

/// 清算类别 `clr_type`: 2 to 6 digits (`11` outpatient, `21` inpatient, `41` pharmacy).
pub fn clr_type<'a>(field: &str, value: &'a str) -> Result<&'a str, Invalid> {
    digits(field, value, 2, 6)
}

/// A national code of type `T` in `field`: control characters and length refused first, by
/// name, then the code's own pattern (`invalid_code`); empty is `missing_field`.
pub fn parse_code<T>(
    field: &str,
    value: &str,
    max: usize,
    parse: fn(&str) -> Result<T, CodeError>,
) -> Result<T, Invalid> {
    let value = text(field, value, max)?;
    if value.is_empty() {
        return Err(missing(field));
    }
    parse(value).map_err(|e| Invalid::new(field, "invalid_code", format!("{field}: {e}")))
}

/// `psn_no` (C(30)) by [`PsnNo`]'s pattern.
pub fn psn_no(field: &str, value: &str) -> Result<PsnNo, Invalid> {
    parse_code(field, value, 30, PsnNo::parse)
}

/// A `fixmedins_code` (C(12)) by [`FixmedinsCode`]'s pattern.
pub fn fixmedins_code(field: &str, value: &str) -> Result<FixmedinsCode, Invalid> {
    parse_code(field, value, 12, FixmedinsCode::parse)
}

/// An admdvs (C(6)) by [`Admdvs`]'s pattern.
pub fn admdvs(field: &str, value: &str) -> Result<Admdvs, Invalid> {
    parse_code(field, value, 6, Admdvs::parse)
}

/// Free text that has passed [`text`]: at most its field's length, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(String);

impl Text {
    pub fn parse(field: &str, value: &str, max: usize) -> Result<Self, Invalid> {
        text(field, value, max).map(|t| Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A national message id (发送方报文ID, `msgid`, C(30)): the sender's `fixmedins_code` (12),
/// a date-time `yyyyMMddHHmmss` (14) and a 4-digit sequence, e.g.
/// `H13110200026202111291809520478`. It belongs to its sender: [`Msgid::belongs_to`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Msgid(String);

impl Msgid {
    pub const LEN: usize = 30;

    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = text("msgid", value, usize::MAX)?;
        if value.is_empty() {
            return Err(missing("msgid"));
        }
        let bad = |why: &str| {
            Invalid::new(
                "msgid",
                "invalid_msgid",
                format!(
                    "msgid {} {why}: send fixmedins_code (12) + yyyyMMddHHmmss + 4 digits, such \
                     as H13110200026202111291809520478",
                    shown(value)
                ),
            )
        };
        if value.len() != Self::LEN || !value.is_ascii() {
            return Err(bad("is not 30 characters"));
        }
        if FixmedinsCode::parse(&value[..12]).is_err() {
            return Err(bad("does not begin with a fixmedins_code"));
        }
        if chrono::NaiveDateTime::parse_from_str(&value[12..26], "%Y%m%d%H%M%S").is_err() {
            return Err(bad("has no valid yyyyMMddHHmmss after the fixmedins_code"));
        }
        if !value[26..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("does not end in 4 digits"));
        }
        Ok(Self(value.to_owned()))
    }

    /// Whether the sender `fixmedins_code` issued this msgid (its first 12 characters).
    pub fn belongs_to(&self, fixmedins_code: &str) -> bool {
        self.0.get(..12) == Some(fixmedins_code.trim())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Msgid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Msgid {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Msgid> for String {
    fn from(value: Msgid) -> Self {
        value.0
    }
}

/// A client's message id on the JSON and gRPC APIs (`msgid`, `request_id`, an
/// `Idempotency-Key`): 1 to 64 of ASCII letters, digits and `. _ : -`. Modern clients send
/// UUIDs or their own keys; every national [`Msgid`] is one too, so an envelope's msgid passes
/// through unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageId(String);

impl MessageId {
    pub const MAX: usize = 64;

    /// `field` names the id in refusals (`msgid`, `request_id`, `omsgid`).
    pub fn parse_field(field: &str, value: &str) -> Result<Self, Invalid> {
        let value = text(field, value, Self::MAX)?;
        if value.is_empty() {
            return Err(missing(field));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        {
            return Err(Invalid::new(
                field,
                "invalid_msgid",
                format!(
                    "{field} {} is not a message id: 1 to {} ASCII letters, digits and . _ : -",
                    shown(value),
                    Self::MAX
                ),
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn parse(value: &str) -> Result<Self, Invalid> {
        Self::parse_field("msgid", value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for MessageId {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MessageId> for String {
    fn from(value: MessageId) -> Self {
        value.0
    }
}

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
                "{} is not an admdvs code: expected 6 digits such as 440300",
                shown(text)
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
                "{} is not a fixmedins_code: expected H (hospital) or P (pharmacy) and 11 digits, such as H50015501017",
                shown(text)
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

/// A person number (人员编号, `psn_no`, C(30)): 2 to 30 upper-case ASCII letters and digits
/// (`13040011304012963751`, `P42000000001`). `0` or `x` name nobody.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PsnNo(String);

impl PsnNo {
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        let bytes = text.as_bytes();
        let valid = (2..=30).contains(&bytes.len())
            && bytes.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(CodeError(format!(
                "{} is not a psn_no: expected 2 to 30 upper-case letters and digits",
                shown(text)
            )))
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
    fn citizen_ids_and_diagnoses_are_checked_for_meaning() {
        assert_eq!(citizen_id("c", "11010519491231002x").unwrap(), "11010519491231002X");
        for (bad, why) in [
            ("02", "the credential type where its number belongs"),
            ("420202196001010012", "a wrong check character"),
            ("420202196002300011", "30 February"),
            ("42020219600101001", "17 characters"),
        ] {
            assert_eq!(citizen_id("c", bad).unwrap_err().reason, "invalid_certno", "{why}");
        }
        for good in ["I10.x00x002", "M32.900", "E11", "BNG010", "A04.01.01", ""] {
            assert_eq!(diagnosis_code("d", good, 20).unwrap(), good);
        }
        for bad in ["11", "I", "ABCD1", "1I10"] {
            assert_eq!(
                diagnosis_code("d", bad, 20).unwrap_err().reason,
                "invalid_diagnosis",
                "{bad}"
            );
        }
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
        for bad in ["0", "x", "P", "p4200000001", "P42 1", "P42\u{0}1"] {
            assert!(PsnNo::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(PsnNo::parse("P1").is_ok());
    }

    fn reason<T: fmt::Debug>(r: Result<T, Invalid>) -> &'static str {
        r.unwrap_err().reason
    }

    #[test]
    fn fields_are_refused_by_name_and_reason() {
        assert_eq!(reason(psn_no("psn_no", "P42\u{0}0001")), "control_character");
        assert_eq!(reason(psn_no("psn_no", "0")), "invalid_code");
        assert_eq!(reason(psn_no("psn_no", " ")), "missing_field");
        assert_eq!(reason(psn_no("psn_no", &"1".repeat(100_000))), "too_long");
        let e = psn_no("feedetail[0].psn_no", "x\u{7}").unwrap_err();
        assert_eq!(e.field, "feedetail[0].psn_no");
        assert!(e.message.starts_with("feedetail[0].psn_no contains"), "{}", e.message);
        assert_eq!(reason(text("memo", "a\u{202E}b", 10)), "control_character");
        assert_eq!(reason(text("memo", "a\u{85}b", 10)), "control_character");
        assert_eq!(text("memo", " 病情需要 ", 4), Ok("病情需要"), "characters, not bytes");
        assert_eq!(reason(text("memo", "病情需要!", 4)), "too_long");
        assert_eq!(id("mdtrt_id", "V42A1B2"), Ok("V42A1B2"));
        assert_eq!(reason(id("mdtrt_id", &"1".repeat(31))), "too_long");
        assert_eq!(reason(id("mdtrt_id", "V42 1")), "invalid_code");
        assert_eq!(reason(id("mdtrt_id", "🙂")), "invalid_code");
        assert_eq!(code("diag_code", "I10.x00x002", 20), Ok("I10.x00x002"));
        assert_eq!(insutype("insutype", "310"), Ok("310"));
        assert_eq!(reason(insutype("insutype", "31")), "invalid_code");
        assert_eq!(reason(clr_type("clr_type", "1\u{0}")), "control_character");
        assert_eq!(reason(fixmedins_code("fixmedins_code", "x")), "invalid_code");
        let e = Invalid::new("psn_no", "invalid_code", "psn_no is bad").named("data.psn_no");
        assert_eq!((e.field.as_str(), e.message.as_str()), ("data.psn_no", "data.psn_no is bad"));
    }

    #[test]
    fn a_refused_value_is_shown_cut_short() {
        assert_eq!(shown("abc"), "\"abc\"");
        let long = shown(&"x".repeat(100_000));
        assert!(long.len() < 60 && long.ends_with("(100000 characters)"), "{long}");
        assert!(PsnNo::parse(&"x".repeat(100_000)).unwrap_err().0.len() < 120);
    }

    #[test]
    fn a_national_msgid_is_the_senders_code_a_time_and_a_sequence() {
        let m = Msgid::parse("H13110200026202111291809520478").unwrap();
        assert!(m.belongs_to("H13110200026"));
        assert!(!m.belongs_to("H13110200027"));
        for bad in [
            "M2201",
            "H1311020002620211129180952047",
            "H131102000262021112918095204781",
            "X13110200026202111291809520478",
            "H13110200026202113291809520478",
            "H13110200026202111291809520A78",
            "H1311020002620211129180952047\u{202E}",
            "H131102000262021112918095204🙂",
        ] {
            assert!(Msgid::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(reason(Msgid::parse("H131102000262021112918\u{0}520478")), "control_character");
        assert_eq!(reason(Msgid::parse("M1")), "invalid_msgid");
        assert_eq!(reason(Msgid::parse("")), "missing_field");
    }

    #[test]
    fn an_api_message_id_is_a_bounded_token() {
        for good in ["S1", "race-7", "k-1", "3f2a:01.b_c", "H13110200026202111291809520478"] {
            assert!(MessageId::parse(good).is_ok(), "{good}");
        }
        assert_eq!(reason(MessageId::parse("a b")), "invalid_msgid");
        assert_eq!(reason(MessageId::parse("a\u{202E}b")), "control_character");
        assert_eq!(reason(MessageId::parse("🙂")), "invalid_msgid");
        assert_eq!(reason(MessageId::parse(&"a".repeat(65))), "too_long");
        assert_eq!(reason(MessageId::parse_field("request_id", "")), "missing_field");
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever a field holds, a reader answers a value or one of the named reasons,
            /// and what it accepts holds no control character and keeps to its length.
            #[test]
            fn any_text_is_accepted_within_its_rules_or_refused_by_name(value in ".{0,80}") {
                for result in [
                    text("f", &value, 30).map(str::to_owned),
                    id("f", &value).map(str::to_owned),
                    MessageId::parse(&value).map(String::from),
                    Msgid::parse(&value).map(String::from),
                    psn_no("f", &value).map(String::from),
                ] {
                    match result {
                        Ok(v) => {
                            prop_assert!(!v.chars().any(is_forbidden_char));
                            prop_assert!(v.chars().count() <= 64);
                        }
                        Err(e) => prop_assert!([
                            "control_character", "too_long", "invalid_code", "invalid_msgid",
                            "missing_field",
                        ]
                        .contains(&e.reason)),
                    }
                }
            }

            /// A control character anywhere is refused as such, naming the field.
            #[test]
            fn a_control_character_is_refused_by_name(
                head in "[A-Z0-9]{0,10}",
                c in prop::sample::select(vec!['\u{0}', '\u{1}', '\u{1b}', '\u{7f}', '\u{85}', '\u{202E}', '\u{2066}', '\n']),
                tail in "[A-Z0-9]{0,10}",
            ) {
                let value = format!("{head}{c}{tail}X1");
                for e in [
                    text("f", &value, 100).unwrap_err(),
                    id("f", &value).unwrap_err(),
                    psn_no("f", &value).unwrap_err(),
                    MessageId::parse_field("f", &value).unwrap_err(),
                ] {
                    prop_assert_eq!(e.reason, "control_character");
                    prop_assert_eq!(e.field.as_str(), "f");
                }
            }

            /// Every well-formed national msgid parses and belongs to its sender only.
            #[test]
            fn well_formed_msgids_belong_to_their_sender(
                code in "H[0-9]{11}",
                other in "H[0-9]{11}",
                secs in 0i64..4_000_000_000,
                seq in 0u32..10_000,
            ) {
                let at = chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
                let text = format!("{code}{}{seq:04}", at.format("%Y%m%d%H%M%S"));
                let msgid = Msgid::parse(&text).unwrap();
                prop_assert!(msgid.belongs_to(&code));
                prop_assert_eq!(msgid.belongs_to(&other), code == other);
                prop_assert!(MessageId::parse(&text).is_ok());
            }
        }
    }
}
