//! The routing service's requests as validated domain types (STYLE.md, "Protocol types vs
//! domain types"). Each is built once, at the gRPC edge, by `TryFrom<pb::X>`; a refusal is a
//! [`ProtocolError`], answered as `InvalidArgument` with the field to blame and a stable
//! reason. Past the edge nothing parses a code, a quantity, a price or a med_type again:
//! [`Quantity`], [`PriceFen`] and [`Msgid`] cannot hold a value out of range, and the lifecycle,
//! the settlement store and the calculator take them as they are.
//!
//! What a request cannot say by itself stays where the state is: a fee date before the visit
//! began, a visit in the wrong state, a total beyond what fen can hold once the visit's stored
//! lines are added.

use std::{borrow::Cow, fmt, str::FromStr};

use chrono::NaiveDate;
use medclear_common::{
    Error,
    codes::{self, Admdvs, FixmedinsCode, Invalid, MessageId},
    money,
    rows::Fields,
    wire,
};
use medclear_proto::routing::v1 as pb;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tonic::Status;

use crate::{calc::MedType, institutions::Institution, policy::HospitalLevel};

/// A request refused at the edge: the field to blame, a machine-readable reason and what to
/// fix. Always the client's mistake: `InvalidArgument`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    field: Cow<'static, str>,
    reason: Cow<'static, str>,
    message: String,
}

impl ProtocolError {
    fn new(
        field: impl Into<Cow<'static, str>>,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self { field: field.into(), reason: reason.into(), message: message.into() }
    }

    /// The field to blame, e.g. `quantity` or `lines[3]`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The machine-readable reason, e.g. `invalid_quantity`.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

impl std::error::Error for ProtocolError {}

/// A field refused by the boundary rules ([`medclear_common::codes`]).
impl From<Invalid> for ProtocolError {
    fn from(e: Invalid) -> Self {
        Self { field: e.field.into(), reason: e.reason.into(), message: e.message }
    }
}

impl From<Invalid> for LineError {
    fn from(e: Invalid) -> Self {
        Self::Field(e.into())
    }
}

/// The sender of a hospital's request, by its pattern.
fn sender(text: &str) -> Result<String, ProtocolError> {
    Ok(codes::fixmedins_code("fixmedins_code", text)?.to_string())
}

/// An id the platform issued (`mdtrt_id`, `setl_id`): 1 to 30 code characters.
fn id(field: &'static str, text: &str) -> Result<String, ProtocolError> {
    Ok(codes::id(field, text)?.to_owned())
}

/// The longest diagnosis: an ICD-10 code, or an outpatient's description (C(200)).
const MAX_DIAGNOSIS: usize = 200;

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::invalid(e.field, e.reason, e.message)
    }
}

impl From<ProtocolError> for Status {
    fn from(e: ProtocolError) -> Self {
        Status::from(Error::from(e))
    }
}

/// The longest date or date-time a HIS sends (`2026-03-02T08:00:00.000+08:00`), with room.
const MAX_DATE: usize = 40;

/// A date as HIS systems send it, by the one rule for them ([`wire::date`]).
fn date(field: &'static str, text: &str) -> Result<NaiveDate, ProtocolError> {
    // Control characters and lengths first, by name: the refusal then shows a short value.
    codes::text(field, text, MAX_DATE)?;
    wire::date(field, text).map_err(|e| match e {
        Error::Problem(p) => ProtocolError {
            field: p.field.unwrap_or(Cow::Borrowed(field)),
            reason: p.reason,
            message: p.message,
        },
        other => ProtocolError::new(field, "invalid_date", other.to_string()),
    })
}

/// A med_type code as the wire carries it: 11, 14, 21 or 41.
fn med_type(value: i32) -> Result<MedType, ProtocolError> {
    i16::try_from(value).ok().and_then(MedType::from_code).ok_or_else(|| {
        ProtocolError::new(
            "med_type",
            "unknown_med_type",
            format!("med_type {value} is not 11, 14, 21 or 41"),
        )
    })
}

/// A chronic-disease visit (14) names its disease: at registration and after an update alike.
pub fn require_disease(med_type: MedType, disease_code: &str) -> Result<(), ProtocolError> {
    if med_type == MedType::ChronicOutpatient && disease_code.trim().is_empty() {
        return Err(ProtocolError::new(
            "disease_code",
            "missing_field",
            "a chronic-disease visit names its disease_code",
        ));
    }
    Ok(())
}

/// A hospital's message id (`msgid`): a [`MessageId`] — 1 to 64 ASCII letters, digits and
/// `. _ : -`, trimmed — which every national msgid is (the gateway checks the national form
/// and that it is the sender's; modern gRPC clients send their own keys). Visits, settlements
/// and cancellations are kept once per (sender, msgid).
pub type Msgid = MessageId;

/// A message id where the request may leave it out (fee lines, a visit's update, discharge or
/// cancellation are not kept per msgid): empty, or a [`Msgid`].
fn optional_msgid(text: &str) -> Result<Option<Msgid>, ProtocolError> {
    match text.trim() {
        "" => Ok(None),
        _ => Ok(Some(Msgid::parse(text)?)),
    }
}

/// Why a fee line was refused. A field whose text does not parse is named by itself
/// (`quantity`, `fee_date`); a value out of range is named by its line (`lines[3]`), which
/// only the batch knows: [`LineError::at`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    Field(ProtocolError),
    Value { reason: &'static str, problem: String },
}

impl LineError {
    fn value(reason: &'static str, problem: impl Into<String>) -> Self {
        Self::Value { reason, problem: problem.into() }
    }

    /// The refusal of line `index` of a batch.
    pub fn at(self, index: usize) -> ProtocolError {
        match self {
            Self::Field(e) => e,
            Self::Value { reason, problem } => {
                let field = format!("lines[{index}]");
                ProtocolError::new(field.clone(), reason, format!("{field}: {problem}"))
            }
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field(e) => e.fmt(f),
            Self::Value { reason, problem } => write!(f, "{reason}: {problem}"),
        }
    }
}

impl std::error::Error for LineError {}

/// Quantities are stored as `NUMERIC(18, 4)`: below 10¹⁴.
const MAX_QUANTITY: i64 = 100_000_000_000_000;

/// A fee line's quantity: above 0 and below 10¹⁴. Kept at the scale it was given (a stored
/// line reads back at the column's four places); serialised as the decimal it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Quantity(Decimal);

impl Quantity {
    /// The same quantity without trailing zeros (`2.5000` → `2.5`).
    pub fn normalize(self) -> Self {
        Self(self.0.normalize())
    }
}

impl TryFrom<Decimal> for Quantity {
    type Error = LineError;
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        if value <= Decimal::ZERO {
            return Err(LineError::value("invalid_quantity", "the quantity must be above 0"));
        }
        if value >= Decimal::from(MAX_QUANTITY) {
            return Err(LineError::value(
                "invalid_quantity",
                format!("the quantity must be below {MAX_QUANTITY}"),
            ));
        }
        Ok(Self(value))
    }
}

impl From<Quantity> for Decimal {
    fn from(value: Quantity) -> Self {
        value.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A fee line's unit price in fen: above 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct PriceFen(i64);

impl TryFrom<i64> for PriceFen {
    type Error = LineError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        if value <= 0 {
            return Err(LineError::value("invalid_price", "the price must be above 0"));
        }
        Ok(Self(value))
    }
}

impl From<PriceFen> for i64 {
    fn from(value: PriceFen) -> Self {
        value.0
    }
}

/// A fee line as the hospital uploads it (2204/2301), its amount within what fen can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeLine {
    pub(crate) feedetl_sn: String,
    pub(crate) local_code: String,
    pub(crate) national_code: String,
    pub(crate) price_fen: PriceFen,
    pub(crate) quantity: Quantity,
    pub(crate) fee_date: NaiveDate,
    /// The hospital's charge batch (empty: none).
    pub(crate) chrg_bchno: String,
}

impl TryFrom<pb::FeeLine> for FeeLine {
    type Error = LineError;
    fn try_from(line: pb::FeeLine) -> Result<Self, Self::Error> {
        let quantity = Decimal::from_str(line.quantity.trim()).map_err(|_| {
            LineError::Field(ProtocolError::new(
                "quantity",
                "invalid_quantity",
                format!("quantity {} is not a decimal number", codes::shown(&line.quantity)),
            ))
        })?;
        let fee_date = date("fee_date", &line.fee_date).map_err(LineError::Field)?;
        let feedetl_sn = codes::optional_code("feedetl_sn", &line.feedetl_sn, codes::ID_LEN)?;
        let local_code = codes::optional_code("local_code", &line.local_code, 150)?;
        let national_code = codes::optional_code("national_code", &line.national_code, 50)?;
        let chrg_bchno = codes::optional_code("chrg_bchno", &line.chrg_bchno, codes::ID_LEN)?;
        if feedetl_sn.is_empty() || local_code.is_empty() {
            return Err(LineError::value(
                "missing_field",
                "feedetl_sn and local_code are required",
            ));
        }
        let price_fen = PriceFen::try_from(line.price_fen)?;
        let quantity = Quantity::try_from(quantity)?;
        // The amount the settlement will bill, refused here when fen cannot hold it.
        money::line_amount_fen(price_fen.into(), quantity.into())
            .map_err(|e| LineError::value("amount_out_of_range", e.to_string()))?;
        Ok(Self {
            feedetl_sn: feedetl_sn.to_owned(),
            local_code: local_code.to_owned(),
            national_code: national_code.to_owned(),
            price_fen,
            quantity,
            fee_date,
            chrg_bchno: chrg_bchno.to_owned(),
        })
    }
}

/// Most lines one upload carries.
const MAX_UPLOAD: usize = 5_000;

/// Fee lines to add to a visit (2204/2301): 1 to 5000, each valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub(crate) sender: String,
    pub(crate) mdtrt_id: String,
    pub(crate) lines: Vec<FeeLine>,
}

impl TryFrom<pb::UploadFeeLinesRequest> for Upload {
    type Error = ProtocolError;
    fn try_from(r: pb::UploadFeeLinesRequest) -> Result<Self, Self::Error> {
        if r.lines.is_empty() || r.lines.len() > MAX_UPLOAD {
            return Err(ProtocolError::new("lines", "bad_batch", "send 1 to 5000 lines"));
        }
        let sender = sender(&r.fixmedins_code)?;
        let mdtrt_id = id("mdtrt_id", &r.mdtrt_id)?;
        optional_msgid(&r.msgid)?;
        let lines = r
            .lines
            .into_iter()
            .enumerate()
            .map(|(i, line)| FeeLine::try_from(line).map_err(|e| e.at(i)))
            .collect::<Result<_, _>>()?;
        Ok(Self { sender, mdtrt_id, lines })
    }
}

/// A visit to register (2201/2401).
///
/// Serialised as the visit row keeps it (`request_body`), which a retry with the same msgid
/// must match: the fields, their order and their form are part of the stored rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    pub(crate) fixmedins_code: FixmedinsCode,
    pub(crate) msgid: String,
    pub(crate) psn_no: String,
    pub(crate) med_type: MedType,
    pub(crate) mdtrtarea_admvs: Admdvs,
    /// `None`: the level the institution registry has for `fixmedins_code`.
    pub(crate) hospital_level: Option<HospitalLevel>,
    pub(crate) begin_date: NaiveDate,
    pub(crate) diagnosis_code: String,
    pub(crate) emergency: bool,
    pub(crate) disease_code: String,
}

impl TryFrom<pb::RegisterVisitRequest> for Registration {
    type Error = ProtocolError;
    fn try_from(r: pb::RegisterVisitRequest) -> Result<Self, Self::Error> {
        let med_type = med_type(r.med_type)?;
        let hospital_level = match codes::text("hospital_level", &r.hospital_level, MAX_LEVEL)? {
            "" => None,
            text => Some(HospitalLevel::parse(text).ok_or_else(|| {
                ProtocolError::new(
                    "hospital_level",
                    "unknown_level",
                    format!(
                        "hospital_level {} is not tertiary, secondary, primary or ungraded",
                        codes::shown(text)
                    ),
                )
            })?),
        };
        let begin_date = date("begin_date", &r.begin_date)?;
        let fixmedins_code = codes::fixmedins_code("fixmedins_code", &r.fixmedins_code)?;
        let mdtrtarea_admvs = codes::admdvs("mdtrtarea_admvs", &r.mdtrtarea_admvs)?;
        let msgid = Msgid::parse(&r.msgid)?;
        let psn_no = codes::psn_no("psn_no", &r.psn_no)?;
        let diagnosis_code = codes::text("diagnosis_code", &r.diagnosis_code, MAX_DIAGNOSIS)?;
        let disease_code = codes::optional_code("disease_code", &r.disease_code, 30)?;
        require_disease(med_type, disease_code)?;
        Ok(Self {
            fixmedins_code,
            msgid: msgid.into(),
            psn_no: psn_no.into(),
            med_type,
            mdtrtarea_admvs,
            hospital_level,
            begin_date,
            diagnosis_code: diagnosis_code.to_owned(),
            emergency: r.emergency,
            disease_code: disease_code.to_owned(),
        })
    }
}

/// A visit's details after registration (2203 / 2403); `None` or empty leaves a detail as it
/// is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitUpdate {
    pub(crate) sender: String,
    pub(crate) mdtrt_id: String,
    pub(crate) med_type: Option<MedType>,
    pub(crate) diagnosis_code: String,
    pub(crate) disease_code: String,
    /// The admission's date, corrected (2403).
    pub(crate) begin_date: Option<NaiveDate>,
}

impl TryFrom<pb::UpdateVisitRequest> for VisitUpdate {
    type Error = ProtocolError;
    fn try_from(r: pb::UpdateVisitRequest) -> Result<Self, Self::Error> {
        let med_type = match r.med_type {
            0 => None,
            code => Some(med_type(code)?),
        };
        let (sender, mdtrt_id) = (sender(&r.fixmedins_code)?, id("mdtrt_id", &r.mdtrt_id)?);
        optional_msgid(&r.msgid)?;
        Ok(Self {
            sender,
            mdtrt_id,
            med_type,
            diagnosis_code: codes::text("diagnosis_code", &r.diagnosis_code, MAX_DIAGNOSIS)?
                .to_owned(),
            disease_code: codes::optional_code("disease_code", &r.disease_code, 30)?.to_owned(),
            begin_date: optional_date("begin_date", &r.begin_date)?,
        })
    }
}

/// A date that may be left out (empty: `None`).
fn optional_date(field: &'static str, text: &str) -> Result<Option<NaiveDate>, ProtocolError> {
    if text.trim().is_empty() { Ok(None) } else { date(field, text).map(Some) }
}

/// Two optional dates that bound a range (`from ..= to`, either may be open): the end is not
/// before the beginning (`end_before_begin`, on the end's field).
fn date_range(
    (from_field, from): (&'static str, &str),
    (to_field, to): (&'static str, &str),
) -> Result<(Option<NaiveDate>, Option<NaiveDate>), ProtocolError> {
    let (from, to) = (optional_date(from_field, from)?, optional_date(to_field, to)?);
    if let (Some(begin), Some(end)) = (from, to)
        && end < begin
    {
        return Err(ProtocolError::new(
            to_field,
            "end_before_begin",
            format!("{to_field} {end} is before {from_field} {begin}"),
        ));
    }
    Ok((from, to))
}

/// A hospital's visit, named by its id (2202/2404 cancel it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitKey {
    pub(crate) sender: String,
    pub(crate) mdtrt_id: String,
}

impl TryFrom<pb::VisitRef> for VisitKey {
    type Error = ProtocolError;
    fn try_from(r: pb::VisitRef) -> Result<Self, Self::Error> {
        let key =
            Self { sender: sender(&r.fixmedins_code)?, mdtrt_id: id("mdtrt_id", &r.mdtrt_id)? };
        optional_msgid(&r.msgid)?;
        Ok(key)
    }
}

/// Fee lines to cancel (2205/2302) by line number; none named: all of the visit's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineCancellation {
    pub(crate) visit: VisitKey,
    pub(crate) feedetl_sn: Vec<String>,
    /// A charge batch whose lines are cancelled (with no line named).
    pub(crate) chrg_bchno: Option<String>,
}

impl TryFrom<pb::CancelFeeLinesRequest> for LineCancellation {
    type Error = ProtocolError;
    fn try_from(r: pb::CancelFeeLinesRequest) -> Result<Self, Self::Error> {
        if r.feedetl_sn.len() > MAX_UPLOAD {
            return Err(ProtocolError::new(
                "feedetl_sn",
                "bad_batch",
                "name at most 5000 lines (none: every line of the visit)",
            ));
        }
        let visit =
            VisitKey { sender: sender(&r.fixmedins_code)?, mdtrt_id: id("mdtrt_id", &r.mdtrt_id)? };
        optional_msgid(&r.msgid)?;
        let feedetl_sn = r
            .feedetl_sn
            .iter()
            .enumerate()
            .map(|(i, sn)| Ok(codes::id(&format!("feedetl_sn[{i}]"), sn)?.to_owned()))
            .collect::<Result<_, ProtocolError>>()?;
        let chrg_bchno = match codes::optional_code("chrg_bchno", &r.chrg_bchno, codes::ID_LEN)? {
            "" => None,
            batch => Some(batch.to_owned()),
        };
        Ok(Self { visit, feedetl_sn, chrg_bchno })
    }
}

/// A discharge (2402): the admission ends on `end_date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discharge {
    pub(crate) visit: VisitKey,
    pub(crate) end_date: NaiveDate,
}

impl TryFrom<pb::VisitRef> for Discharge {
    type Error = ProtocolError;
    fn try_from(r: pb::VisitRef) -> Result<Self, Self::Error> {
        let end_date = date("end_date", &r.end_date)?;
        Ok(Self { visit: VisitKey::try_from(r)?, end_date })
    }
}

/// Settle (2207/2304) or pre-settle (2206/2303) a visit — the same request for both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleCommand {
    pub(crate) sender: String,
    pub(crate) msgid: Msgid,
    pub(crate) mdtrt_id: String,
    /// Pay from the personal account what it can.
    pub(crate) use_account: bool,
    /// The hospital's own total (`medfee_sumamt`): another total is refused, `amount_mismatch`.
    pub(crate) expected_medfee_fen: Option<i64>,
}

impl SettleCommand {
    /// What a retry must match to get the stored answer: the visit and the options, not the
    /// lines resolved for it (the row's `request_body`).
    pub(crate) fn replay_key(&self) -> String {
        format!("settle {} account={}", self.mdtrt_id, self.use_account)
    }

    pub fn mdtrt_id(&self) -> &str {
        &self.mdtrt_id
    }
}

impl TryFrom<pb::SettleRequest> for SettleCommand {
    type Error = ProtocolError;
    fn try_from(r: pb::SettleRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            msgid: Msgid::parse(&r.msgid)?,
            sender: sender(&r.fixmedins_code)?,
            mdtrt_id: id("mdtrt_id", &r.mdtrt_id)?,
            use_account: r.use_account,
            expected_medfee_fen: r.medfee_sumamt_fen,
        })
    }
}

/// Cancel a settlement (2208/2305).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    pub(crate) sender: String,
    pub(crate) msgid: Msgid,
    pub(crate) setl_id: String,
}

impl TryFrom<pb::CancelSettlementRequest> for Cancellation {
    type Error = ProtocolError;
    fn try_from(r: pb::CancelSettlementRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            msgid: Msgid::parse(&r.msgid)?,
            sender: sender(&r.fixmedins_code)?,
            setl_id: id("setl_id", &r.setl_id)?,
        })
    }
}

/// Reverse (2601) the settlement the hospital sent as `omsgid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reversal {
    pub(crate) sender: String,
    pub(crate) msgid: Msgid,
    pub(crate) omsgid: String,
}

impl TryFrom<pb::ReverseRequest> for Reversal {
    type Error = ProtocolError;
    fn try_from(r: pb::ReverseRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            msgid: Msgid::parse(&r.msgid)?,
            sender: sender(&r.fixmedins_code)?,
            omsgid: Msgid::parse_field("omsgid", &r.omsgid)?.into(),
        })
    }
}

/// Who a person query (1101) is about: by certificate number or, without one, by `psn_no`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonQuery {
    Certno(String),
    PsnNo(String),
}

impl TryFrom<pb::QueryPersonRequest> for PersonQuery {
    type Error = ProtocolError;
    fn try_from(r: pb::QueryPersonRequest) -> Result<Self, Self::Error> {
        match (r.certno.trim(), r.psn_no.trim()) {
            ("", "") => {
                Err(ProtocolError::new("certno", "missing_field", "certno or psn_no is required"))
            }
            ("", psn_no) => Ok(Self::PsnNo(codes::psn_no("psn_no", psn_no)?.into())),
            (certno, _) => Ok(Self::Certno(codes::code("certno", certno, 50)?.to_owned())),
        }
    }
}

/// Most person rows one import carries.
const MAX_PERSON_ROWS: usize = 100_000;

/// Person rows to import, by row number: at most 100000 at a time (each row is checked by
/// [`crate::persons`], which reports a bad row without refusing the others).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonImport {
    pub(crate) rows: Vec<(u64, Fields)>,
}

impl TryFrom<pb::ImportPersonsRequest> for PersonImport {
    type Error = ProtocolError;
    fn try_from(r: pb::ImportPersonsRequest) -> Result<Self, Self::Error> {
        if r.rows.len() > MAX_PERSON_ROWS {
            return Err(ProtocolError::new(
                "rows",
                "too_many_rows",
                "send at most 100000 rows at a time",
            ));
        }
        let rows = r.rows.into_iter().map(|r| (r.row_no, r.fields.into_iter().collect())).collect();
        Ok(Self { rows })
    }
}

/// What a hospital asks to find its settlements by (5203): a settlement id, a visit, or the
/// msgid that made a settlement — at least one, each by its pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementLookup {
    pub sender: String,
    pub setl_id: Option<String>,
    pub mdtrt_id: Option<String>,
    pub msgid: Option<Msgid>,
}

impl TryFrom<pb::FindSettlementsRequest> for SettlementLookup {
    type Error = ProtocolError;
    fn try_from(r: pb::FindSettlementsRequest) -> Result<Self, Self::Error> {
        let optional_id =
            |field: &'static str, text: &str| -> Result<Option<String>, ProtocolError> {
                Ok(Some(codes::optional_code(field, text, codes::ID_LEN)?.to_owned())
                    .filter(|t| !t.is_empty()))
            };
        let lookup = Self {
            sender: sender(&r.fixmedins_code)?,
            setl_id: optional_id("setl_id", &r.setl_id)?,
            mdtrt_id: optional_id("mdtrt_id", &r.mdtrt_id)?,
            msgid: optional_msgid(&r.msgid)?,
        };
        if lookup.setl_id.is_none() && lookup.mdtrt_id.is_none() && lookup.msgid.is_none() {
            return Err(ProtocolError::new(
                "setl_id",
                "missing_field",
                "name the settlement by setl_id, mdtrt_id or the msgid that made it",
            ));
        }
        Ok(lookup)
    }
}

/// Which of a hospital's visits of a person to list (5201): those overlapping `from ..= to`
/// (either bound may be open), one by its id, or of one medical type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitQuery {
    pub(crate) sender: String,
    pub(crate) psn_no: String,
    pub(crate) from: Option<NaiveDate>,
    pub(crate) to: Option<NaiveDate>,
    pub(crate) mdtrt_id: Option<String>,
    pub(crate) med_type: Option<MedType>,
}

impl TryFrom<pb::ListVisitsRequest> for VisitQuery {
    type Error = ProtocolError;
    fn try_from(r: pb::ListVisitsRequest) -> Result<Self, Self::Error> {
        let (from, to) = date_range(("from_date", &r.from_date), ("to_date", &r.to_date))?;
        let mdtrt_id = codes::optional_code("mdtrt_id", &r.mdtrt_id, codes::ID_LEN)?;
        Ok(Self {
            sender: sender(&r.fixmedins_code)?,
            psn_no: codes::psn_no("psn_no", &r.psn_no)?.into(),
            from,
            to,
            mdtrt_id: Some(mdtrt_id.to_owned()).filter(|id| !id.is_empty()),
            med_type: match r.med_type {
                0 => None,
                code => Some(med_type(code)?),
            },
        })
    }
}

/// A hospital's visit whose fee lines to list (5204); naming a settlement or a person, the
/// visit must be the one it settled (the person's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeLineQuery {
    pub(crate) visit: VisitKey,
    pub(crate) setl_id: Option<String>,
    pub(crate) psn_no: Option<String>,
}

impl TryFrom<pb::ListFeeLinesRequest> for FeeLineQuery {
    type Error = ProtocolError;
    fn try_from(r: pb::ListFeeLinesRequest) -> Result<Self, Self::Error> {
        let visit =
            VisitKey { sender: sender(&r.fixmedins_code)?, mdtrt_id: id("mdtrt_id", &r.mdtrt_id)? };
        let setl_id = codes::optional_code("setl_id", &r.setl_id, codes::ID_LEN)?;
        let psn_no = match r.psn_no.trim() {
            "" => None,
            psn_no => Some(codes::psn_no("psn_no", psn_no)?.into()),
        };
        Ok(Self { visit, setl_id: Some(setl_id.to_owned()).filter(|s| !s.is_empty()), psn_no })
    }
}

/// The earliest and latest accumulator year asked about.
const YEARS: std::ops::RangeInclusive<i32> = 1990..=2200;

/// A person's yearly accumulators (5206): of `year`, or (`None`) of this year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccumulatorQuery {
    pub(crate) psn_no: String,
    pub(crate) year: Option<i32>,
}

impl TryFrom<pb::GetAccumulatorsRequest> for AccumulatorQuery {
    type Error = ProtocolError;
    fn try_from(r: pb::GetAccumulatorsRequest) -> Result<Self, Self::Error> {
        let year = match r.year {
            0 => None,
            year if YEARS.contains(&year) => Some(year),
            year => {
                return Err(ProtocolError::new(
                    "year",
                    "invalid_year",
                    format!("year {year} is not between {} and {}", YEARS.start(), YEARS.end()),
                ));
            }
        };
        Ok(Self { psn_no: codes::psn_no("psn_no", &r.psn_no)?.into(), year })
    }
}

/// A person's own settlements: newest first, `limit` of them (0: 100).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSettlements {
    pub(crate) psn_no: String,
    pub(crate) limit: u32,
}

impl TryFrom<pb::ListPersonSettlementsRequest> for PersonSettlements {
    type Error = ProtocolError;
    fn try_from(r: pb::ListPersonSettlementsRequest) -> Result<Self, Self::Error> {
        let psn_no = codes::psn_no("psn_no", &r.psn_no)?;
        Ok(Self { psn_no: psn_no.into(), limit: if r.limit == 0 { 100 } else { r.limit } })
    }
}

/// Most institutions one import carries.
const MAX_INSTITUTIONS: usize = 100_000;

/// Institutions to import, all or none: each field by its pattern, named by index
/// (`institutions[3].fixmedins_name`). What only the registry knows (a code twice in one
/// import) and the level's words stay with [`Institution::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionImport {
    pub(crate) institutions: Vec<Institution>,
}

impl TryFrom<pb::ImportInstitutionsRequest> for InstitutionImport {
    type Error = ProtocolError;
    fn try_from(r: pb::ImportInstitutionsRequest) -> Result<Self, Self::Error> {
        if r.institutions.len() > MAX_INSTITUTIONS {
            return Err(ProtocolError::new(
                "institutions",
                "too_many_rows",
                "send at most 100000 institutions at a time",
            ));
        }
        let institutions = r
            .institutions
            .into_iter()
            .enumerate()
            .map(|(i, institution)| {
                let at = |field: &str| format!("institutions[{i}].{field}");
                let code = &institution.fixmedins_code;
                Ok(Institution {
                    fixmedins_code: codes::fixmedins_code(&at("fixmedins_code"), code)?.into(),
                    fixmedins_name: codes::text(
                        &at("fixmedins_name"),
                        &institution.fixmedins_name,
                        MAX_INSTITUTION_NAME,
                    )?
                    .to_owned(),
                    admdvs: codes::admdvs(&at("admdvs"), &institution.admdvs)?.into(),
                    hospital_level: codes::text(
                        &at("hospital_level"),
                        &institution.hospital_level,
                        MAX_LEVEL,
                    )?
                    .to_owned(),
                })
            })
            .collect::<Result<_, ProtocolError>>()?;
        Ok(Self { institutions })
    }
}

/// The longest institution name (C(200)).
const MAX_INSTITUTION_NAME: usize = 200;
/// The longest hospital level word (`secondary`), with room to be named as refused.
const MAX_LEVEL: usize = 20;

/// An institution of the registry, by its code (`GetInstitution`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionRef {
    pub(crate) fixmedins_code: FixmedinsCode,
}

impl TryFrom<pb::GetInstitutionRequest> for InstitutionRef {
    type Error = ProtocolError;
    fn try_from(r: pb::GetInstitutionRequest) -> Result<Self, Self::Error> {
        Ok(Self { fixmedins_code: codes::fixmedins_code("fixmedins_code", &r.fixmedins_code)? })
    }
}

/// The largest settlement list document (the gateway's whole envelope is at most 2 MiB).
pub const MAX_LIST_DOCUMENT: usize = 2 * 1024 * 1024;

/// A settlement list (4101) as a hospital uploads it: the fields checked against the
/// settlement it names, and the document as sent (a JSON object).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettlementListUpload {
    pub(crate) sender: String,
    pub(crate) msgid: Msgid,
    pub(crate) setl_id: String,
    pub(crate) mdtrt_id: String,
    pub(crate) psn_no: String,
    pub(crate) adm_date: Option<NaiveDate>,
    pub(crate) dscg_date: Option<NaiveDate>,
    pub(crate) fund_payamt_fen: i64,
    pub(crate) document: serde_json::Value,
}

impl SettlementListUpload {
    /// What a retry with the same msgid must match: the SHA-256 of the request, document
    /// included, as validated.
    pub(crate) fn sha256(&self) -> Result<String, Error> {
        use sha2::{Digest, Sha256};
        let text = serde_json::to_string(self).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl TryFrom<pb::UploadSettlementListRequest> for SettlementListUpload {
    type Error = ProtocolError;
    fn try_from(r: pb::UploadSettlementListRequest) -> Result<Self, Self::Error> {
        let (adm_date, dscg_date) =
            date_range(("adm_date", &r.adm_date), ("dscg_date", &r.dscg_date))?;
        if r.fund_payamt_fen < 0 {
            return Err(ProtocolError::new(
                "fund_payamt_fen",
                "invalid_amount",
                "the funds' payments are not negative",
            ));
        }
        if r.document_json.len() > MAX_LIST_DOCUMENT {
            return Err(ProtocolError::new(
                "document_json",
                "too_large",
                format!("a settlement list is at most {MAX_LIST_DOCUMENT} bytes"),
            ));
        }
        let document: serde_json::Value = serde_json::from_str(&r.document_json).map_err(|e| {
            ProtocolError::new("document_json", "invalid_document", format!("not JSON: {e}"))
        })?;
        if !document.is_object() {
            return Err(ProtocolError::new(
                "document_json",
                "invalid_document",
                "a settlement list is a JSON object (setlinfo and its lists)",
            ));
        }
        Ok(Self {
            sender: sender(&r.fixmedins_code)?,
            msgid: Msgid::parse(&r.msgid)?,
            setl_id: id("setl_id", &r.setl_id)?,
            mdtrt_id: id("mdtrt_id", &r.mdtrt_id)?,
            psn_no: codes::psn_no("psn_no", &r.psn_no)?.into(),
            adm_date,
            dscg_date,
            fund_payamt_fen: r.fund_payamt_fen,
            document,
        })
    }
}

/// A person's fee lines of settled visits of one medical type, by fee date (5205).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonLinesQuery {
    pub(crate) psn_no: String,
    pub(crate) from: Option<NaiveDate>,
    pub(crate) to: Option<NaiveDate>,
    pub(crate) med_type: MedType,
    pub(crate) drugs_only: bool,
}

impl TryFrom<pb::ListPersonFeeLinesRequest> for PersonLinesQuery {
    type Error = ProtocolError;
    fn try_from(r: pb::ListPersonFeeLinesRequest) -> Result<Self, Self::Error> {
        let (from, to) = date_range(("from_date", &r.from_date), ("to_date", &r.to_date))?;
        Ok(Self {
            psn_no: codes::psn_no("psn_no", &r.psn_no)?.into(),
            from,
            to,
            med_type: med_type(r.med_type)?,
            drugs_only: r.drugs_only,
        })
    }
}

#[cfg(test)]
mod tests;

// ---- Policies (DESIGN.md §4.3): the bureaus' requests.

/// The longest policy document accepted (the seed documents are about 6 KiB).
pub const MAX_DOCUMENT: usize = 256 * 1024;

/// Who acts on a policy, by its pattern: an operator id and a province, or none (national).
impl TryFrom<Option<pb::PolicyActor>> for crate::publication::Actor {
    type Error = ProtocolError;
    fn try_from(actor: Option<pb::PolicyActor>) -> Result<Self, Self::Error> {
        let actor = actor.ok_or_else(|| codes::missing("actor"))?;
        let operator_id = codes::required_text("actor.operator_id", &actor.operator_id, 64)?;
        let province = match codes::text("actor.province", &actor.province, 6)? {
            "" => None,
            code => {
                let admdvs = codes::admdvs("actor.province", code)?;
                Some(format!("{}0000", &admdvs.as_str()[..2]))
            }
        };
        Ok(Self { operator_id: operator_id.to_owned(), province })
    }
}

/// A policy document sent: its text within [`MAX_DOCUMENT`] (what it says is checked by
/// [`crate::policy::Document::parse`], field by field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRequest {
    pub text: String,
    pub actor: crate::publication::Actor,
}

fn document_text(field: &'static str, text: String) -> Result<String, ProtocolError> {
    if text.trim().is_empty() {
        return Err(codes::missing(field).into());
    }
    if text.len() > MAX_DOCUMENT {
        return Err(ProtocolError::new(
            field,
            "too_long",
            format!("{field} has {} bytes: at most {MAX_DOCUMENT}", text.len()),
        ));
    }
    Ok(text)
}

impl TryFrom<pb::PolicyDocumentRequest> for DocumentRequest {
    type Error = ProtocolError;
    fn try_from(r: pb::PolicyDocumentRequest) -> Result<Self, Self::Error> {
        // ValidatePolicy reads no actor: an absent one is the national operator's.
        let actor = if r.actor.is_none() {
            crate::publication::Actor { operator_id: "anyone".into(), province: None }
        } else {
            r.actor.try_into()?
        };
        Ok(Self { text: document_text("document_json", r.document_json)?, actor })
    }
}

/// A policy id, by its pattern.
fn policy_id(text: &str) -> Result<String, ProtocolError> {
    crate::publication::check_id(text.trim())
        .map_err(|e| ProtocolError::new("policy_id", "invalid_code", e.to_string()))?;
    Ok(text.trim().to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub policy_id: String,
    pub actor: crate::publication::Actor,
}

impl TryFrom<pb::PublishPolicyRequest> for Publish {
    type Error = ProtocolError;
    fn try_from(r: pb::PublishPolicyRequest) -> Result<Self, Self::Error> {
        Ok(Self { policy_id: policy_id(&r.policy_id)?, actor: r.actor.try_into()? })
    }
}

/// A stored policy document, by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRef(pub String);

impl TryFrom<pb::GetPolicyRequest> for PolicyRef {
    type Error = ProtocolError;
    fn try_from(r: pb::GetPolicyRequest) -> Result<Self, Self::Error> {
        Ok(Self(policy_id(&r.policy_id)?))
    }
}

/// Which stored documents to list: a region prefix (a region's own code, or a province's two
/// digits), an insutype or all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyQuery {
    pub region_prefix: String,
    pub insutype: String,
    pub include_drafts: bool,
}

fn insutype(field: &'static str, text: &str) -> Result<String, ProtocolError> {
    let text = codes::text(field, text, 3)?;
    if !text.is_empty() && (text.len() != 3 || !text.bytes().all(|b| b.is_ascii_digit())) {
        return Err(ProtocolError::new(
            field,
            "invalid_code",
            format!("{field} {} is not 3 digits", codes::shown(text)),
        ));
    }
    Ok(text.to_owned())
}

fn policy_region(field: &'static str, text: &str) -> Result<String, ProtocolError> {
    let text = codes::text(field, text, 6)?;
    if text == crate::policy::NATIONAL || text.is_empty() {
        return Ok(text.to_owned());
    }
    Ok(codes::admdvs(field, text)?.to_string())
}

impl TryFrom<pb::ListPoliciesRequest> for PolicyQuery {
    type Error = ProtocolError;
    fn try_from(r: pb::ListPoliciesRequest) -> Result<Self, Self::Error> {
        let region = policy_region("region", &r.region)?;
        let province = codes::text("province", &r.province, 6)?;
        let region_prefix = if !region.is_empty() {
            region
        } else if province.is_empty() {
            String::new()
        } else if province.len() == 2 && province.bytes().all(|b| b.is_ascii_digit()) {
            province.to_owned()
        } else {
            codes::admdvs("province", province)?.as_str()[..2].to_owned()
        };
        Ok(Self {
            region_prefix,
            insutype: insutype("insutype", &r.insutype)?,
            include_drafts: r.include_drafts,
        })
    }
}

/// Which version a date uses in a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyLookup {
    pub region: String,
    pub insutype: String,
    pub date: NaiveDate,
}

impl TryFrom<pb::ResolvePolicyRequest> for PolicyLookup {
    type Error = ProtocolError;
    fn try_from(r: pb::ResolvePolicyRequest) -> Result<Self, Self::Error> {
        let region = policy_region("region", &r.region)?;
        if region.is_empty() {
            return Err(codes::missing("region").into());
        }
        let insutype = insutype("insutype", &r.insutype)?;
        if insutype.is_empty() {
            return Err(codes::missing("insutype").into());
        }
        Ok(Self { region, insutype, date: date("date", &r.date)? })
    }
}

/// What a preview re-adjudicates under: a stored document, or one sent with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewOf {
    Stored(String),
    Sent(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRequest {
    pub of: PreviewOf,
    pub month: crate::preview::Month,
    pub actor: crate::publication::Actor,
}

impl TryFrom<pb::PreviewPolicyRequest> for PreviewRequest {
    type Error = ProtocolError;
    fn try_from(r: pb::PreviewPolicyRequest) -> Result<Self, Self::Error> {
        let of = match (r.policy_id.trim().is_empty(), r.document_json.trim().is_empty()) {
            (false, true) => PreviewOf::Stored(policy_id(&r.policy_id)?),
            (true, false) => PreviewOf::Sent(document_text("document_json", r.document_json)?),
            _ => {
                return Err(ProtocolError::new(
                    "policy_id",
                    "missing_field",
                    "a preview needs policy_id or document_json, not both",
                ));
            }
        };
        let period = codes::text("period", &r.period, 7)?;
        let month = crate::preview::Month::parse(period)
            .map_err(|e| ProtocolError::new("period", "invalid_period", e.to_string()))?;
        Ok(Self { of, month, actor: r.actor.try_into()? })
    }
}

impl TryFrom<pb::VerifySettlementsRequest> for crate::preview::Month {
    type Error = ProtocolError;
    fn try_from(r: pb::VerifySettlementsRequest) -> Result<Self, Self::Error> {
        let period = codes::text("period", &r.period, 7)?;
        crate::preview::Month::parse(period)
            .map_err(|e| ProtocolError::new("period", "invalid_period", e.to_string()))
    }
}
