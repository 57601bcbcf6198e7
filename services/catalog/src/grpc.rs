//! The gRPC surface of the catalogue: thin. Requests are validated here, once; answers are
//! converted back to wire types.

use std::{collections::BTreeMap, sync::Arc};

use chrono::NaiveDate;
use medclear_common::{
    Error,
    codes::{self, Admdvs, FixmedinsCode, MessageId},
    wire,
};
use medclear_proto::catalog::v1::{self as pb, catalog_service_server::CatalogService as Api};
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::{
    domain::{
        CoverageClass, CoverageRule, HospitalLevel, Item, ItemKind, LineContext, LineInput,
        Mapping, RestrictionOutcome,
    },
    import,
    index::Resolution,
    service::{Catalog, ImportReport, Publish, Target},
};

/// [`Catalog`] behind `medclear.catalog.v1.CatalogService`.
#[derive(Debug, Clone)]
pub struct CatalogGrpc(pub Arc<Catalog>);

type Reply<T> = Result<Response<T>, Status>;

/// Most rows one import may carry.
pub const MAX_IMPORT_ROWS: usize = 2_000_000;
/// Most lines one resolution may carry.
pub const MAX_LINES: usize = 1_000;

fn admdvs(field: &'static str, text: &str) -> Result<Admdvs, Error> {
    Ok(codes::admdvs(field, text)?)
}

fn hospital(field: &'static str, text: &str) -> Result<FixmedinsCode, Error> {
    Ok(codes::fixmedins_code(field, text)?)
}

/// Free text by the boundary rules ([`codes::text`]): no control character, at most `max`.
fn text<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, Error> {
    Ok(codes::text(field, value, max)?)
}

/// The longest date or date-time accepted (`2026-03-02T08:00:00.000+08:00`), with room.
const MAX_DATE: usize = 40;

/// A date by the one rule for them ([`wire::date`]), its control characters and length
/// refused first by name, so a refusal never shows a long value.
fn date(field: &'static str, value: &str) -> Result<NaiveDate, Error> {
    text(field, value, MAX_DATE)?;
    wire::date(field, value)
}

/// The longest page token given out: a version, a table and an item code or row id.
const MAX_PAGE_TOKEN: usize = 200;
/// The longest operator name an import is recorded under.
const MAX_OPERATOR: usize = 64;

/// An imported row whose documented columns hold a control character is a corrupt file, not a
/// row to skip: the import is refused naming the row and column (`rows[7].diagnosis_prefixes`)
/// before anything reaches the catalogue. Lengths and patterns are the row readers' to check
/// ([`crate::import`]), which report a bad row without refusing the others; undocumented
/// columns are never read.
fn clean_row(target: Target, row_no: u64, fields: &BTreeMap<String, String>) -> Result<(), Error> {
    let columns: &[&str] = match target {
        Target::Items => &import::ITEM_COLUMNS,
        Target::Coverage => &import::COVERAGE_COLUMNS,
        Target::Mappings => &import::MAPPING_COLUMNS,
    };
    for column in columns {
        if let Some(value) = fields.get(*column) {
            text(&format!("rows[{row_no}].{column}"), value, usize::MAX)?;
        }
    }
    Ok(())
}

fn kind_to_pb(kind: ItemKind) -> pb::ItemKind {
    match kind {
        ItemKind::WesternDrug => pb::ItemKind::WesternDrug,
        ItemKind::PatentDrug => pb::ItemKind::PatentDrug,
        ItemKind::Herbal => pb::ItemKind::Herbal,
        ItemKind::Service => pb::ItemKind::Service,
        ItemKind::Consumable => pb::ItemKind::Consumable,
        ItemKind::Diagnosis => pb::ItemKind::Diagnosis,
        ItemKind::Operation => pb::ItemKind::Operation,
        ItemKind::DiseasePayment => pb::ItemKind::DiseasePayment,
        ItemKind::DaySurgery => pb::ItemKind::DaySurgery,
    }
}

fn class_to_pb(class: CoverageClass) -> pb::CoverageClass {
    match class {
        CoverageClass::A => pb::CoverageClass::A,
        CoverageClass::B => pb::CoverageClass::B,
        CoverageClass::C => pb::CoverageClass::C,
    }
}

fn day(date: Option<NaiveDate>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

pub(crate) fn item_to_pb(item: Item) -> pb::Item {
    let (operation_code, operation_name) =
        item.operation.map(|o| (o.code, o.name)).unwrap_or_default();
    pb::Item {
        operation_code,
        operation_name,
        kind: kind_to_pb(item.kind).into(),
        code: item.code,
        name: item.name,
        spec: item.spec,
        unit: item.unit,
        begin_date: item.period.begin.to_string(),
        end_date: day(item.period.end),
        ver: item.ver,
    }
}

pub(crate) fn rule_to_pb(rule: CoverageRule) -> pb::Coverage {
    pb::Coverage {
        id: rule.id,
        scope: rule.scope.as_string(),
        class: class_to_pb(rule.class).into(),
        code: rule.code,
        selfpay_ratio: rule.selfpay_ratio.to_string(),
        selfpay_ratio_by_insutype: rule
            .selfpay_ratio_by_insutype
            .into_iter()
            .map(|(t, r)| (t, r.to_string()))
            .collect(),
        price_cap_fen: rule.price_cap_fen,
        hospital_levels: rule
            .restrictions
            .hospital_levels
            .iter()
            .map(|l| l.as_str().to_owned())
            .collect(),
        diagnosis_prefixes: rule.restrictions.diagnosis_prefixes,
        min_age: rule.restrictions.min_age,
        max_age: rule.restrictions.max_age,
        begin_date: rule.period.begin.to_string(),
        end_date: day(rule.period.end),
        ver: rule.ver,
    }
}

pub(crate) fn mapping_to_pb(m: Mapping) -> pb::Mapping {
    pb::Mapping {
        id: m.id,
        fixmedins_code: m.fixmedins_code,
        local_code: m.local_code,
        local_name: m.local_name,
        national_code: m.national_code,
        begin_date: m.period.begin.to_string(),
        end_date: day(m.period.end),
        revoked: m.revoked,
        ver: m.ver,
    }
}

fn report_to_pb(report: ImportReport) -> pb::ImportReport {
    pb::ImportReport {
        rows_received: report.rows_received,
        rows_accepted: report.rows_accepted,
        rejections: report
            .rejections
            .into_iter()
            .map(|r| pb::RowRejection {
                row_no: r.row_no,
                reason: r.reason,
                field: r.field.unwrap_or_default(),
                message: r.message,
            })
            .collect(),
        committed: report.committed,
        ver: report.ver,
    }
}

impl TryFrom<&pb::ResolveLinesRequest> for LineContext {
    type Error = Error;
    fn try_from(r: &pb::ResolveLinesRequest) -> Result<Self, Error> {
        let hospital_level = match text("hospital_level", &r.hospital_level, 20)? {
            "" => None,
            text => Some(HospitalLevel::parse(text).ok_or_else(|| {
                Error::invalid(
                    "hospital_level",
                    "unknown_level",
                    format!(
                        "hospital_level {} is not tertiary, secondary, primary or ungraded",
                        codes::shown(text)
                    ),
                )
            })?),
        };
        Ok(LineContext {
            hospital_level,
            diagnosis: Some(r.diagnosis_code.trim().to_owned()).filter(|d| !d.is_empty()),
            age: r.patient_age,
            insutype: Some(r.insutype.trim().to_owned()).filter(|i| !i.is_empty()),
        })
    }
}

#[tonic::async_trait]
impl Api for CatalogGrpc {
    async fn get_item(&self, request: Request<pb::GetItemRequest>) -> Reply<pb::Item> {
        let code = request.into_inner().code;
        Ok(Response::new(item_to_pb(self.0.item(code.trim())?)))
    }

    async fn get_coverage(
        &self,
        request: Request<pb::GetCoverageRequest>,
    ) -> Reply<pb::GetCoverageResponse> {
        let r = request.into_inner();
        let region = admdvs("mdtrtarea_admvs", &r.mdtrtarea_admvs)?;
        let date = date("date", &r.date)?;
        let rule = self.0.coverage(r.code.trim(), &region, date)?;
        Ok(Response::new(pb::GetCoverageResponse {
            found: rule.is_some(),
            coverage: rule.map(rule_to_pb),
        }))
    }

    #[tracing::instrument(skip_all, name = "UploadMappings")]
    async fn upload_mappings(
        &self,
        request: Request<pb::UploadMappingsRequest>,
    ) -> Reply<pb::UploadMappingsResponse> {
        let r = request.into_inner();
        let fixmedins = hospital("fixmedins_code", &r.fixmedins_code)?;
        let msgid = MessageId::parse(&r.msgid).map_err(Error::from)?;
        if r.mappings.is_empty() || r.mappings.len() > 10_000 {
            return Err(Error::invalid("mappings", "bad_batch", "send 1 to 10000 mappings").into());
        }
        let rows = r
            .mappings
            .into_iter()
            .zip(0u64..)
            .map(|(m, i)| {
                let fields: BTreeMap<String, String> = [
                    ("fixmedins_code", fixmedins.to_string()),
                    ("local_code", m.local_code),
                    ("local_name", m.local_name),
                    ("national_code", m.national_code),
                    ("begin_date", m.begin_date),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
                (i, fields)
            })
            .collect();
        let report = self
            .0
            .publish(Publish {
                target: Target::Mappings,
                source: "3301".into(),
                operator: fixmedins.to_string(),
                all_or_nothing: false,
                rows,
                idempotency: Some((fixmedins.to_string(), msgid.to_string())),
            })
            .await?;
        let rejected: BTreeMap<u64, _> = report.rejections.iter().map(|r| (r.row_no, r)).collect();
        let outcomes = (0..report.rows_received)
            .map(|i| match rejected.get(&i) {
                None => pb::MappingOutcome {
                    index: u32::try_from(i).unwrap_or(u32::MAX),
                    accepted: true,
                    ..Default::default()
                },
                Some(r) => pb::MappingOutcome {
                    index: u32::try_from(i).unwrap_or(u32::MAX),
                    accepted: false,
                    reason: r.reason.clone(),
                    message: r.message.clone(),
                },
            })
            .collect();
        Ok(Response::new(pb::UploadMappingsResponse { ver: report.ver, outcomes }))
    }

    #[tracing::instrument(skip_all, name = "RevokeMapping")]
    async fn revoke_mapping(
        &self,
        request: Request<pb::RevokeMappingRequest>,
    ) -> Reply<pb::RevokeMappingResponse> {
        let r = request.into_inner();
        let fixmedins = hospital("fixmedins_code", &r.fixmedins_code)?;
        let msgid = MessageId::parse(&r.msgid).map_err(Error::from)?;
        let local_code = codes::code("local_code", &r.local_code, 150).map_err(Error::from)?;
        let mapping = self.0.revoke_mapping(msgid.as_str(), fixmedins.as_str(), local_code).await?;
        Ok(Response::new(pb::RevokeMappingResponse { mapping: Some(mapping_to_pb(mapping)) }))
    }

    async fn list_mappings(
        &self,
        request: Request<pb::ListMappingsRequest>,
    ) -> Reply<pb::ListMappingsResponse> {
        let r = request.into_inner();
        let fixmedins = hospital("fixmedins_code", &r.fixmedins_code)?;
        let mappings = self.0.mappings_of(fixmedins.as_str(), r.include_revoked);
        Ok(Response::new(pb::ListMappingsResponse {
            mappings: mappings.into_iter().map(mapping_to_pb).collect(),
        }))
    }

    async fn list_changes(
        &self,
        request: Request<pb::ListChangesRequest>,
    ) -> Reply<pb::ListChangesResponse> {
        let r = request.into_inner();
        let fixmedins = match r.fixmedins_code.trim() {
            "" => None,
            _ => Some(hospital("fixmedins_code", &r.fixmedins_code)?),
        };
        let token =
            Some(text("page_token", &r.page_token, MAX_PAGE_TOKEN)?).filter(|t| !t.is_empty());
        let hospital = fixmedins.as_ref().map(FixmedinsCode::as_str);
        let changes = self.0.changes(r.since_ver, r.limit, hospital, token).await?;
        let has_more = changes.next_page_token.is_some();
        Ok(Response::new(pb::ListChangesResponse {
            next_since_ver: if has_more { r.since_ver } else { changes.delta.ver },
            next_page_token: changes.next_page_token.unwrap_or_default(),
            items: changes.delta.items.into_iter().map(item_to_pb).collect(),
            coverage: changes.delta.rules.into_iter().map(rule_to_pb).collect(),
            mappings: changes.delta.mappings.into_iter().map(mapping_to_pb).collect(),
            has_more,
            current_ver: changes.current,
        }))
    }

    #[tracing::instrument(skip_all, name = "Import")]
    async fn import(
        &self,
        request: Request<Streaming<pb::ImportRequest>>,
    ) -> Reply<pb::ImportReport> {
        let mut stream = request.into_inner();
        let header = match stream.next().await {
            Some(Ok(pb::ImportRequest {
                part: Some(pb::import_request::Part::Header(header)),
            })) => header,
            Some(Err(status)) => return Err(status),
            _ => {
                return Err(Error::invalid(
                    "header",
                    "missing_field",
                    "the first message of an import is its header",
                )
                .into());
            }
        };
        let target = match pb::ImportTarget::try_from(header.target) {
            Ok(pb::ImportTarget::Items) => Target::Items,
            Ok(pb::ImportTarget::Coverage) => Target::Coverage,
            Ok(pb::ImportTarget::Mappings) => Target::Mappings,
            _ => {
                return Err(Error::invalid(
                    "header.target",
                    "unknown_target",
                    "target is items, coverage or mappings",
                )
                .into());
            }
        };
        let mut rows = Vec::new();
        while let Some(message) = stream.next().await {
            match message?.part {
                Some(pb::import_request::Part::Row(row)) => {
                    if rows.len() == MAX_IMPORT_ROWS {
                        return Err(Error::invalid(
                            "row",
                            "too_many_rows",
                            format!("an import holds at most {MAX_IMPORT_ROWS} rows"),
                        )
                        .into());
                    }
                    let fields: BTreeMap<String, String> = row.fields.into_iter().collect();
                    clean_row(target, row.row_no, &fields)?;
                    rows.push((row.row_no, fields));
                }
                _ => {
                    return Err(Error::invalid(
                        "header",
                        "bad_stream",
                        "only the first message may be a header",
                    )
                    .into());
                }
            }
        }
        let source = text("header.source", &header.source, codes::MAX_FIELD)?.to_owned();
        let operator = Some(text("header.operator", &header.operator, MAX_OPERATOR)?.to_owned())
            .filter(|o| !o.is_empty())
            .unwrap_or_else(|| "import".into());
        let report = self
            .0
            .publish(Publish {
                target,
                source,
                operator,
                all_or_nothing: header.all_or_nothing,
                rows,
                idempotency: None,
            })
            .await?;
        Ok(Response::new(report_to_pb(report)))
    }

    async fn resolve_lines(
        &self,
        request: Request<pb::ResolveLinesRequest>,
    ) -> Reply<pb::ResolveLinesResponse> {
        let r = request.into_inner();
        let fixmedins = hospital("fixmedins_code", &r.fixmedins_code)?;
        let region = admdvs("mdtrtarea_admvs", &r.mdtrtarea_admvs)?;
        // The request's date is the default of lines without their own; it may be left out
        // when every line has one.
        let default_date = match r.date.trim() {
            "" => None,
            _ => Some(date("date", &r.date)?),
        };
        let context = LineContext::try_from(&r)?;
        if r.lines.len() > MAX_LINES {
            return Err(Error::invalid(
                "lines",
                "too_many_lines",
                format!("send at most {MAX_LINES} lines at a time"),
            )
            .into());
        }
        let lines = r
            .lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let date = match (l.date.trim(), default_date) {
                    ("", Some(default)) => default,
                    ("", None) => {
                        return Err(Error::invalid(
                            "date",
                            "missing_field",
                            format!("date is required: lines[{i}] has no date of its own"),
                        ));
                    }
                    (text, _) => date("date", text).map_err(|_| {
                        Error::invalid(
                            format!("lines[{i}].date"),
                            "invalid_date",
                            format!(
                                "lines[{i}].date {} is not a date: use yyyy-MM-dd",
                                codes::shown(text)
                            ),
                        )
                    })?,
                };
                Ok(LineInput {
                    line_no: l.line_no,
                    local_code: l.local_code,
                    national_code: l.national_code,
                    date,
                    age: l.patient_age,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let at = Resolution::new(fixmedins.as_str(), &region, context);
        let (ver, outcomes) = self.0.resolve(&at, &lines);
        let results = lines
            .into_iter()
            .zip(outcomes)
            .map(|(line, outcome)| pb::LineResult {
                line_no: line.line_no,
                outcome: Some(match outcome {
                    Ok(resolved) => pb::line_result::Outcome::Resolved(pb::ResolvedLine {
                        kind: kind_to_pb(resolved.kind).into(),
                        class: class_to_pb(resolved.class).into(),
                        selfpay_ratio: resolved.selfpay_ratio.to_string(),
                        price_cap_fen: resolved.price_cap_fen,
                        restriction: match resolved.restriction {
                            RestrictionOutcome::None => pb::RestrictionOutcome::None,
                            RestrictionOutcome::Satisfied => pb::RestrictionOutcome::Satisfied,
                            RestrictionOutcome::Unchecked => pb::RestrictionOutcome::Unchecked,
                        }
                        .into(),
                        coverage_scope: resolved.scope.as_string(),
                        national_code: resolved.national_code,
                        name: resolved.name,
                    }),
                    Err(error) => pb::line_result::Outcome::Error(pb::LineError {
                        reason: error.reason.to_owned(),
                        message: error.message,
                    }),
                }),
            })
            .collect();
        Ok(Response::new(pb::ResolveLinesResponse { ver, lines: results }))
    }
}

#[cfg(test)]
mod tests;
