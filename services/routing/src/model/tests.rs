//! Each request converted as the edge converts it: the exact field, reason and message of each
//! refusal (clients and the gateway act on them), and the forms the stored rows keep.

use medclear_common::error::{status_field, status_reason};
use tonic::Code;

use super::*;
use crate::calc::{CoverageClass, Line};

fn line(sn: &str, price_fen: i64, quantity: &str, fee_date: &str) -> pb::FeeLine {
    pb::FeeLine {
        chrg_bchno: String::new(),
        feedetl_sn: sn.into(),
        local_code: "L001".into(),
        national_code: String::new(),
        price_fen,
        quantity: quantity.into(),
        fee_date: fee_date.into(),
    }
}

fn upload(lines: Vec<pb::FeeLine>) -> Result<Upload, ProtocolError> {
    Upload::try_from(pb::UploadFeeLinesRequest {
        fixmedins_code: " H44030000001 ".into(),
        msgid: "F1".into(),
        mdtrt_id: " V42x ".into(),
        lines,
    })
}

/// The field, reason and message a refusal reaches the client with.
fn refusal(e: ProtocolError) -> (String, String, String) {
    let status = Status::from(e);
    assert_eq!(status.code(), Code::InvalidArgument);
    (status_field(&status).unwrap_or_default(), status_reason(&status), status.message().into())
}

fn refused_upload(lines: Vec<pb::FeeLine>) -> (String, String, String) {
    refusal(upload(lines).unwrap_err())
}

fn triple(field: &str, reason: &str, message: &str) -> (String, String, String) {
    (field.into(), reason.into(), message.into())
}

#[test]
fn a_fee_line_is_validated_once_with_the_field_and_reason_clients_know() {
    let ok = || line("1", 100, "2", "2026-03-02");
    let accepted = upload(vec![ok(), line(" 2 ", 1, " 2.50 ", "2026-03-02 10:00:00")]).unwrap();
    assert_eq!((accepted.sender.as_str(), accepted.mdtrt_id.as_str()), ("H44030000001", "V42x"));
    let second = &accepted.lines[1];
    assert_eq!(second.feedetl_sn, "2");
    assert_eq!(
        (i64::from(second.price_fen), Decimal::from(second.quantity)),
        (1, Decimal::new(25, 1))
    );
    assert_eq!(second.fee_date.to_string(), "2026-03-02");

    // A field that does not parse is named by itself…
    assert_eq!(
        refused_upload(vec![ok(), line("2", 100, "two", "2026-03-02")]),
        triple("quantity", "invalid_quantity", r#"quantity "two" is not a decimal number"#)
    );
    assert_eq!(
        refused_upload(vec![line("1", 100, "1", "2026-02-30")]),
        triple(
            "fee_date",
            "invalid_date",
            r#"fee_date "2026-02-30" is not a date: use yyyy-MM-dd"#
        )
    );
    assert_eq!(
        refused_upload(vec![line("1", 100, "1", " ")]),
        triple("fee_date", "missing_field", "fee_date is required")
    );
    // …a value out of range by its line.
    assert_eq!(
        refused_upload(vec![ok(), line(" ", 100, "1", "2026-03-02")]),
        triple("lines[1]", "missing_field", "lines[1]: feedetl_sn and local_code are required")
    );
    assert_eq!(
        refused_upload(vec![ok(), line("2", 0, "1", "2026-03-02")]),
        triple("lines[1]", "invalid_price", "lines[1]: the price must be above 0")
    );
    for quantity in ["0", "-1", "0.0000"] {
        assert_eq!(
            refused_upload(vec![line("1", 100, quantity, "2026-03-02")]),
            triple("lines[0]", "invalid_quantity", "lines[0]: the quantity must be above 0"),
            "{quantity}"
        );
    }
    assert_eq!(
        refused_upload(vec![line("1", 100, "100000000000000", "2026-03-02")]),
        triple(
            "lines[0]",
            "invalid_quantity",
            "lines[0]: the quantity must be below 100000000000000"
        )
    );
    assert!(upload(vec![line("1", 1, "99999999999999.9999", "2026-03-02")]).is_ok());
    let (field, reason, message) =
        refused_upload(vec![line("1", i64::MAX, "99999999999999", "2026-03-02")]);
    assert_eq!((field.as_str(), reason.as_str()), ("lines[0]", "amount_out_of_range"));
    assert!(message.starts_with("lines[0]: "), "{message}");

    assert_eq!(refused_upload(Vec::new()), triple("lines", "bad_batch", "send 1 to 5000 lines"));
    assert_eq!(refused_upload(vec![ok(); 5001]).1, "bad_batch");
    assert_eq!(upload(vec![ok(); 5000]).unwrap().lines.len(), 5000);
}

#[test]
fn quantities_and_prices_out_of_range_cannot_be_made() {
    assert!(Quantity::try_from(Decimal::ZERO).is_err());
    assert!(Quantity::try_from(Decimal::NEGATIVE_ONE).is_err());
    assert!(Quantity::try_from(Decimal::from(MAX_QUANTITY)).is_err());
    assert!(PriceFen::try_from(0).is_err());
    assert!(PriceFen::try_from(-5).is_err());
    // Nor read: a stored line is read through the same rule.
    assert!(serde_json::from_str::<Quantity>(r#""-1""#).is_err());
    assert!(serde_json::from_str::<PriceFen>("0").is_err());
    let kept = Quantity::try_from(Decimal::new(25000, 4)).unwrap();
    assert_eq!(kept.to_string(), "2.5000", "kept at its scale");
    assert_eq!(kept.normalize().to_string(), "2.5");
}

#[test]
fn a_resolved_line_is_stored_as_before() {
    // The settlement row's `lines` column: the same JSON as when the fields were plain numbers.
    let line = Line {
        price_fen: PriceFen::try_from(1001).unwrap(),
        quantity: Quantity::try_from(Decimal::new(25000, 4)).unwrap(),
        class: CoverageClass::B,
        selfpay_ratio: Decimal::new(10, 2),
        price_cap_fen: None,
    };
    let json = serde_json::to_string(&line).unwrap();
    assert_eq!(
        json,
        r#"{"price_fen":1001,"quantity":"2.5000","class":"B","selfpay_ratio":"0.10","price_cap_fen":null}"#
    );
    assert_eq!(serde_json::from_str::<Line>(&json).unwrap(), line);
}

fn registration() -> pb::RegisterVisitRequest {
    pb::RegisterVisitRequest {
        fixmedins_code: " H44030000001".into(),
        msgid: " V1 ".into(),
        psn_no: "P420200001 ".into(),
        med_type: pb::MedType::Inpatient.into(),
        mdtrtarea_admvs: "440300".into(),
        hospital_level: " tertiary ".into(),
        begin_date: "2026-03-02 08:00:00".into(),
        diagnosis_code: " I10.x00x002".into(),
        emergency: true,
        disease_code: String::new(),
    }
}

#[test]
fn a_registration_is_stored_in_the_form_a_retry_is_compared_with() {
    let visit = Registration::try_from(registration()).unwrap();
    // The visit row's `request_body`: a retry with the same msgid must serialise to it.
    assert_eq!(
        serde_json::to_string(&visit).unwrap(),
        r#"{"fixmedins_code":"H44030000001","msgid":"V1","psn_no":"P420200001","med_type":"Inpatient","mdtrtarea_admvs":"440300","hospital_level":"tertiary","begin_date":"2026-03-02","diagnosis_code":"I10.x00x002","emergency":true,"disease_code":""}"#
    );
    let unlevelled = pb::RegisterVisitRequest { hospital_level: "  ".into(), ..registration() };
    assert_eq!(Registration::try_from(unlevelled).unwrap().hospital_level, None);
}

#[test]
fn a_registration_is_refused_by_field_in_the_order_it_always_was() {
    let refused = |r: pb::RegisterVisitRequest| refusal(Registration::try_from(r).unwrap_err());
    let everything_wrong = pb::RegisterVisitRequest {
        med_type: 12,
        hospital_level: "quaternary".into(),
        begin_date: String::new(),
        fixmedins_code: "H1".into(),
        mdtrtarea_admvs: "44".into(),
        msgid: String::new(),
        ..registration()
    };
    assert_eq!(
        refused(everything_wrong.clone()),
        triple("med_type", "unknown_med_type", "med_type 12 is not 11, 14, 21 or 41")
    );
    let r = pb::RegisterVisitRequest { med_type: 0, ..registration() };
    assert_eq!(refused(r).1, "unknown_med_type", "unspecified is not a type");
    let r = pb::RegisterVisitRequest { med_type: 21, ..everything_wrong };
    assert_eq!(
        refused(r.clone()),
        triple(
            "hospital_level",
            "unknown_level",
            r#"hospital_level "quaternary" is not tertiary, secondary, primary or ungraded"#
        )
    );
    let r = pb::RegisterVisitRequest { hospital_level: String::new(), ..r };
    assert_eq!(refused(r.clone()), triple("begin_date", "missing_field", "begin_date is required"));
    let r = pb::RegisterVisitRequest { begin_date: "2026-03-02".into(), ..r };
    assert_eq!(
        refused(r.clone()),
        triple(
            "fixmedins_code",
            "invalid_code",
            "fixmedins_code: \"H1\" is not a fixmedins_code: expected H (hospital) or P \
             (pharmacy) and 11 digits, such as H50015501017"
        )
    );
    let r = pb::RegisterVisitRequest { fixmedins_code: "H44030000001".into(), ..r };
    assert_eq!(
        refused(r.clone()),
        triple(
            "mdtrtarea_admvs",
            "invalid_code",
            "mdtrtarea_admvs: \"44\" is not an admdvs code: expected 6 digits such as 440300"
        )
    );
    let r = pb::RegisterVisitRequest { mdtrtarea_admvs: "440300".into(), ..r };
    assert_eq!(refused(r.clone()), triple("msgid", "missing_field", "msgid is required"));
    let chronic = pb::RegisterVisitRequest {
        med_type: pb::MedType::ChronicOutpatient.into(),
        disease_code: " ".into(),
        ..registration()
    };
    assert_eq!(
        refused(chronic.clone()),
        triple("disease_code", "missing_field", "a chronic-disease visit names its disease_code")
    );
    let chronic = pb::RegisterVisitRequest { disease_code: "M00100".into(), ..chronic };
    assert_eq!(Registration::try_from(chronic).unwrap().med_type, MedType::ChronicOutpatient);
}

#[test]
fn the_queries_name_a_person_a_range_a_visit_and_a_year() {
    let visits = |from: &str, to: &str, med_type: i32| {
        VisitQuery::try_from(pb::ListVisitsRequest {
            fixmedins_code: "H44030000001".into(),
            psn_no: " P420200001 ".into(),
            from_date: from.into(),
            to_date: to.into(),
            mdtrt_id: String::new(),
            med_type,
        })
    };
    let open = visits("", "", 0).unwrap();
    assert_eq!(
        (open.psn_no.as_str(), open.from, open.to, open.mdtrt_id, open.med_type),
        ("P420200001", None, None, None, None)
    );
    let range = visits("2026-03-01 00:00:00", "2026-03-02", 21).unwrap();
    assert_eq!(
        (range.from.unwrap().to_string(), range.med_type),
        ("2026-03-01".into(), Some(MedType::Inpatient))
    );
    let (field, reason, _) = refusal(visits("2026-03-02", "2026-03-01", 0).unwrap_err());
    assert_eq!((field.as_str(), reason.as_str()), ("to_date", "end_before_begin"));
    assert_eq!(refusal(visits("2026-02-30", "", 0).unwrap_err()).1, "invalid_date");
    assert_eq!(refusal(visits("", "", 99).unwrap_err()).1, "unknown_med_type");

    let lines = |setl_id: &str, psn_no: &str| {
        FeeLineQuery::try_from(pb::ListFeeLinesRequest {
            fixmedins_code: "H44030000001".into(),
            mdtrt_id: " V42x ".into(),
            setl_id: setl_id.into(),
            psn_no: psn_no.into(),
        })
    };
    let any = lines("", "").unwrap();
    assert_eq!((any.visit.mdtrt_id.as_str(), any.setl_id, any.psn_no), ("V42x", None, None));
    assert_eq!(lines(" S42y ", "P420200001").unwrap().setl_id.as_deref(), Some("S42y"));
    assert_eq!(refusal(lines("S\u{0}", "").unwrap_err()).0, "setl_id");

    let year = |year: i32| {
        AccumulatorQuery::try_from(pb::GetAccumulatorsRequest { psn_no: "P420200001".into(), year })
    };
    assert_eq!((year(0).unwrap().year, year(2025).unwrap().year), (None, Some(2025)));
    assert_eq!(refusal(year(-1).unwrap_err()).1, "invalid_year");

    let begin = |date: &str| {
        VisitUpdate::try_from(pb::UpdateVisitRequest {
            fixmedins_code: "H44030000001".into(),
            mdtrt_id: "V1".into(),
            begin_date: date.into(),
            ..Default::default()
        })
    };
    assert_eq!(begin("").unwrap().begin_date, None);
    assert_eq!(
        begin("2026-02-28 20:00:00").unwrap().begin_date.map(|d| d.to_string()).as_deref(),
        Some("2026-02-28")
    );
    assert_eq!(refusal(begin("28/02/2026").unwrap_err()).1, "invalid_date");
}

#[test]
fn a_visit_update_names_a_med_type_or_leaves_it() {
    let update = |med_type: i32| {
        VisitUpdate::try_from(pb::UpdateVisitRequest {
            fixmedins_code: "H44030000001".into(),
            msgid: "U1".into(),
            mdtrt_id: "V1".into(),
            med_type,
            diagnosis_code: " I10 ".into(),
            disease_code: String::new(),
            begin_date: String::new(),
        })
    };
    assert_eq!(update(0).unwrap().med_type, None);
    assert_eq!(update(41).unwrap().med_type, Some(MedType::Pharmacy));
    assert_eq!(update(41).unwrap().diagnosis_code, "I10");
    assert_eq!(refusal(update(99).unwrap_err()).1, "unknown_med_type");
}

#[test]
fn a_settle_command_carries_a_valid_msgid_and_its_replay_key() {
    let command = |msgid: &str| {
        SettleCommand::try_from(pb::SettleRequest {
            fixmedins_code: " H44030000001 ".into(),
            msgid: msgid.into(),
            mdtrt_id: " V42x ".into(),
            use_account: true,
            medfee_sumamt_fen: Some(300),
        })
    };
    let settle = command(" S1 ").unwrap();
    assert_eq!((settle.sender.as_str(), settle.msgid.as_str()), ("H44030000001", "S1"));
    assert_eq!(settle.expected_medfee_fen, Some(300));
    // The settlement row's `request_body`, which a retry must match.
    assert_eq!(settle.replay_key(), "settle V42x account=true");
    let missing = triple("msgid", "missing_field", "msgid is required");
    for msgid in ["", "  "] {
        assert_eq!(refusal(command(msgid).unwrap_err()), missing, "{msgid:?}");
    }
    let reason = |msgid: &str| refusal(command(msgid).unwrap_err()).1;
    assert_eq!(reason(&"M".repeat(65)), "too_long");
    assert_eq!(reason("M\u{0}1"), "control_character");
    assert_eq!(reason("M\u{202E}1"), "control_character");
    assert_eq!(reason("M 1"), "invalid_msgid");
    assert_eq!(reason("M🙂"), "invalid_msgid");
    assert!(command(&"M".repeat(64)).is_ok());
    assert!(command("H44030000001202603020900000001").is_ok(), "a national msgid");
    let cancel = pb::CancelSettlementRequest {
        fixmedins_code: "H44030000001".into(),
        msgid: String::new(),
        setl_id: "S42x".into(),
    };
    assert_eq!(refusal(Cancellation::try_from(cancel).unwrap_err()), missing);
    let reverse = pb::ReverseRequest {
        fixmedins_code: "H44030000001".into(),
        msgid: "M".repeat(65),
        omsgid: "S1".into(),
    };
    assert_eq!(refusal(Reversal::try_from(reverse).unwrap_err()).1, "too_long");
    assert_eq!(serde_json::to_string(&Msgid::parse(" S1").unwrap()).unwrap(), r#""S1""#);
    assert!(serde_json::from_str::<Msgid>(r#"" ""#).is_err());
}

#[test]
fn person_queries_name_someone() {
    let query = |certno: &str, psn_no: &str| {
        PersonQuery::try_from(pb::QueryPersonRequest {
            certno: certno.into(),
            psn_no: psn_no.into(),
        })
    };
    assert_eq!(
        refusal(query(" ", "").unwrap_err()),
        triple("certno", "missing_field", "certno or psn_no is required")
    );
    assert_eq!(query("", " P1 ").unwrap(), PersonQuery::PsnNo("P1".into()));
    assert_eq!(query(" C1", "P1").unwrap(), PersonQuery::Certno("C1".into()));
    let listed = |psn_no: &str, limit: u32| {
        PersonSettlements::try_from(pb::ListPersonSettlementsRequest {
            psn_no: psn_no.into(),
            limit,
        })
    };
    assert_eq!(
        refusal(listed(" ", 5).unwrap_err()),
        triple("psn_no", "missing_field", "psn_no is required")
    );
    assert_eq!(listed("P1", 0).unwrap().limit, 100);
    assert_eq!(listed("P1", 7).unwrap().limit, 7);
    let rows = |n: u64| pb::ImportPersonsRequest {
        rows: (0..n)
            .map(|row_no| pb::import_persons_request::Row { row_no, fields: Default::default() })
            .collect(),
    };
    assert_eq!(
        refusal(PersonImport::try_from(rows(100_001)).unwrap_err()),
        triple("rows", "too_many_rows", "send at most 100000 rows at a time")
    );
    assert_eq!(PersonImport::try_from(rows(3)).unwrap().rows.len(), 3);
}

/// Issue 16: what reached SQL as garbage or an `internal` error is refused at the gRPC edge,
/// by field and reason — a NUL, a 20,000-character msgid, an id beyond its length, a person
/// who cannot exist.
#[test]
fn hostile_fields_are_refused_before_the_lifecycle_sees_them() {
    let register = |edit: fn(&mut pb::RegisterVisitRequest)| {
        let mut r = registration();
        edit(&mut r);
        Registration::try_from(r)
            .map(|_| ())
            .map_err(|e| (e.field().to_owned(), e.reason().to_owned()))
    };
    let pair = |field: &str, reason: &str| Err((field.to_owned(), reason.to_owned()));
    assert_eq!(register(|_| {}), Ok(()));
    assert_eq!(register(|r| r.msgid = "M".repeat(20_000)), pair("msgid", "too_long"));
    assert_eq!(register(|r| r.msgid = "M\u{0}".into()), pair("msgid", "control_character"));
    assert_eq!(register(|r| r.psn_no = "0".into()), pair("psn_no", "invalid_code"));
    assert_eq!(register(|r| r.psn_no = "P42\u{0}1".into()), pair("psn_no", "control_character"));
    assert_eq!(
        register(|r| r.diagnosis_code = "I".repeat(201)),
        pair("diagnosis_code", "too_long")
    );
    assert_eq!(
        register(|r| r.fixmedins_code = "H4403000\u{0}001".into()),
        pair("fixmedins_code", "control_character")
    );

    let upload = |edit: fn(&mut pb::UploadFeeLinesRequest)| {
        let mut r = pb::UploadFeeLinesRequest {
            fixmedins_code: "H44030000001".into(),
            msgid: "F1".into(),
            mdtrt_id: "V42x".into(),
            lines: vec![line("1", 100, "1", "2026-03-02")],
        };
        edit(&mut r);
        Upload::try_from(r).map(|_| ()).map_err(|e| (e.field().to_owned(), e.reason().to_owned()))
    };
    assert_eq!(upload(|_| {}), Ok(()));
    assert_eq!(
        upload(|r| r.lines[0].feedetl_sn = "1".repeat(100_000)),
        pair("feedetl_sn", "too_long")
    );
    assert_eq!(
        upload(|r| r.lines[0].feedetl_sn = "1\u{0}".into()),
        pair("feedetl_sn", "control_character")
    );
    assert_eq!(upload(|r| r.mdtrt_id = "V\u{0}".into()), pair("mdtrt_id", "control_character"));
    assert_eq!(upload(|r| r.fixmedins_code = "x".into()), pair("fixmedins_code", "invalid_code"));

    let settle = SettleCommand::try_from(pb::SettleRequest {
        fixmedins_code: "H44030000001".into(),
        msgid: "S1".into(),
        mdtrt_id: "V".repeat(31),
        use_account: false,
        medfee_sumamt_fen: None,
    });
    assert_eq!(settle.unwrap_err().reason(), "too_long");
    let reverse = Reversal::try_from(pb::ReverseRequest {
        fixmedins_code: "H44030000001".into(),
        msgid: "R1".into(),
        omsgid: "S\u{0}".into(),
    });
    assert_eq!(reverse.unwrap_err().field(), "omsgid");
    let person = PersonSettlements::try_from(pb::ListPersonSettlementsRequest {
        psn_no: "x".into(),
        limit: 0,
    });
    assert_eq!(person.unwrap_err().reason(), "invalid_code");
}

#[test]
fn cancellations_name_their_visit_and_lines_by_pattern() {
    let visit = |fixmedins_code: &str, mdtrt_id: &str, msgid: &str| {
        VisitKey::try_from(pb::VisitRef {
            fixmedins_code: fixmedins_code.into(),
            msgid: msgid.into(),
            mdtrt_id: mdtrt_id.into(),
            end_date: String::new(),
        })
    };
    let key = visit(" H44030000001 ", " V42x ", "").unwrap();
    assert_eq!((key.sender.as_str(), key.mdtrt_id.as_str()), ("H44030000001", "V42x"));
    assert!(visit("H44030000001", "V42x", "H44030000001202603020900000001").is_ok());
    let refused = |r: Result<VisitKey, ProtocolError>| {
        let e = r.unwrap_err();
        (e.field().to_owned(), e.reason().to_owned())
    };
    let pair = |field: &str, reason: &str| (field.to_owned(), reason.to_owned());
    assert_eq!(refused(visit("H1", "V1", "")), pair("fixmedins_code", "invalid_code"));
    assert_eq!(refused(visit("", "V1", "")), pair("fixmedins_code", "missing_field"));
    assert_eq!(refused(visit("H44030000001", "", "")), pair("mdtrt_id", "missing_field"));
    assert_eq!(
        refused(visit("H44030000001", "V\u{0}1", "")),
        pair("mdtrt_id", "control_character")
    );
    assert_eq!(refused(visit("H44030000001", &"V".repeat(31), "")), pair("mdtrt_id", "too_long"));
    assert_eq!(refused(visit("H44030000001", "V 1", "")), pair("mdtrt_id", "invalid_code"));
    assert_eq!(
        refused(visit("H44030000001", "V1", "M\u{202E}1")),
        pair("msgid", "control_character")
    );
    assert_eq!(refused(visit("H44030000001", "V1", "M 1")), pair("msgid", "invalid_msgid"));

    let lines = |feedetl_sn: Vec<String>| {
        LineCancellation::try_from(pb::CancelFeeLinesRequest {
            chrg_bchno: String::new(),
            fixmedins_code: "H44030000001".into(),
            msgid: "C1".into(),
            mdtrt_id: "V42x".into(),
            feedetl_sn,
        })
    };
    assert_eq!(lines(Vec::new()).unwrap().feedetl_sn, Vec::<String>::new(), "none: all");
    assert_eq!(lines(vec![" 1 ".into(), "2".into()]).unwrap().feedetl_sn, ["1", "2"]);
    let refused = |sn: Vec<String>| refusal(lines(sn).unwrap_err());
    assert_eq!(
        refused(vec!["1".into(), "2\u{0}".into()]),
        triple(
            "feedetl_sn[1]",
            "control_character",
            "feedetl_sn[1] contains the control character U+0000 at character 1: send text \
             without control characters"
        )
    );
    assert_eq!(refused(vec!["1".repeat(100_000)]).1, "too_long");
    assert_eq!(
        refused(vec![" ".into()]),
        triple("feedetl_sn[0]", "missing_field", "feedetl_sn[0] is required")
    );
    assert_eq!(refused(vec!["1".into(); 5001]).1, "bad_batch");
    let bad_sender = pb::CancelFeeLinesRequest {
        chrg_bchno: String::new(),
        fixmedins_code: "H4403000000🙂".into(),
        msgid: String::new(),
        mdtrt_id: "V1".into(),
        feedetl_sn: Vec::new(),
    };
    assert_eq!(LineCancellation::try_from(bad_sender).unwrap_err().field(), "fixmedins_code");
}

#[test]
fn institutions_are_refused_by_index_and_field() {
    let institution = |name: &str| pb::Institution {
        fixmedins_code: " H42020000001 ".into(),
        fixmedins_name: name.into(),
        admdvs: "420200".into(),
        hospital_level: " tertiary ".into(),
    };
    let import =
        |institutions| InstitutionImport::try_from(pb::ImportInstitutionsRequest { institutions });
    let ok = import(vec![institution("黄石市中心医院")]).unwrap();
    assert_eq!(ok.institutions[0].fixmedins_code, "H42020000001");
    assert_eq!(ok.institutions[0].hospital_level, "tertiary");
    let e = import(vec![institution("a"), institution("黄石\u{0}医院")]).unwrap_err();
    assert_eq!((e.field(), e.reason()), ("institutions[1].fixmedins_name", "control_character"));
    let e = import(vec![institution(&"院".repeat(201))]).unwrap_err();
    assert_eq!((e.field(), e.reason()), ("institutions[0].fixmedins_name", "too_long"));
    let e = import(vec![pb::Institution { admdvs: "4202\u{202E}0".into(), ..institution("a") }])
        .unwrap_err();
    assert_eq!((e.field(), e.reason()), ("institutions[0].admdvs", "control_character"));
    let get = |code: &str| {
        InstitutionRef::try_from(pb::GetInstitutionRequest { fixmedins_code: code.into() })
    };
    assert_eq!(get(" H42020000001").unwrap().fixmedins_code.as_str(), "H42020000001");
    assert_eq!(get("H4202000000\u{0}").unwrap_err().reason(), "control_character");
    assert_eq!(get(&"H".repeat(100_000)).unwrap_err().reason(), "too_long");
}

#[test]
fn a_refusal_never_echoes_a_long_value() {
    let huge = "9".repeat(100_000);
    let quantity = upload(vec![line("1", 100, &format!("x{huge}"), "2026-03-02")]).unwrap_err();
    let date = upload(vec![line("1", 100, "1", &huge)]).unwrap_err();
    let level = Registration::try_from(pb::RegisterVisitRequest {
        hospital_level: huge.clone(),
        ..registration()
    })
    .unwrap_err();
    for e in [quantity, date, level] {
        let status = Status::from(e);
        assert!(status.message().len() < 200, "{}", status.message());
    }
}

/// Issue 16: every gRPC request routing converts, with each field mutated (empty, up to 100 KB,
/// NUL and other control characters, bidi overrides, emoji, overflowing numbers), converts
/// without panicking into values that keep the documented patterns, or is refused as
/// `InvalidArgument` naming one of its fields and one of the documented reasons, in a message
/// short enough for a status header.
mod properties {
    use proptest::prelude::*;

    use super::*;
    use medclear_common::codes::is_forbidden_char;

    /// The reasons a routing conversion refuses with (`codes`' own and the request's).
    const REASONS: [&str; 13] = [
        "control_character",
        "too_long",
        "invalid_code",
        "invalid_msgid",
        "missing_field",
        "invalid_date",
        "invalid_quantity",
        "invalid_price",
        "amount_out_of_range",
        "bad_batch",
        "unknown_med_type",
        "unknown_level",
        "too_many_rows",
    ];

    /// Cases per property: bounded, so the suite stays fast.
    const CASES: u32 = 256;

    /// The field's name without its indices (`lines[3]` → `lines`).
    fn base(field: &str) -> String {
        let mut out = String::new();
        let mut skipping = false;
        for c in field.chars() {
            match c {
                '[' => skipping = true,
                ']' => skipping = false,
                c if !skipping => out.push(c),
                _ => {}
            }
        }
        out
    }

    /// A precise refusal: one of `fields`, a documented reason, `InvalidArgument`, a short
    /// message.
    fn precise(e: ProtocolError, fields: &[&str]) -> Result<(), TestCaseError> {
        prop_assert!(fields.contains(&base(e.field()).as_str()), "field {:?}", e.field());
        prop_assert!(REASONS.contains(&e.reason()), "reason {:?}", e.reason());
        let status = Status::from(e);
        prop_assert_eq!(status.code(), Code::InvalidArgument);
        prop_assert!(status.message().len() < 400, "a long message: {}", status.message().len());
        Ok(())
    }

    fn clean_text(value: &str, max: usize) -> bool {
        !value.chars().any(is_forbidden_char)
            && value.chars().count() <= max
            && value.trim() == value
    }

    fn clean_code(value: &str, max: usize) -> bool {
        (1..=max).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_+/".contains(&b))
    }

    fn clean_msgid(value: &str) -> bool {
        (1..=64).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
    }

    /// A field's value: valid, or broken in one of the ways a hostile client breaks it.
    fn field(valid: &'static str) -> impl Strategy<Value = String> {
        let controls = vec![
            '\u{0}', '\u{1}', '\u{7}', '\u{9}', '\u{a}', '\u{d}', '\u{1b}', '\u{7f}', '\u{85}',
            '\u{9f}', '\u{200e}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}',
        ];
        prop_oneof![
            // Mostly valid, so that requests with every field right (or one or two wrong) are
            // common enough to check what an accepted request holds.
            14 => Just(valid.to_owned()),
            1 => Just(String::new()),
            2 => Just(format!("  {valid} ")),
            2 => (prop::sample::select(controls), 0usize..40).prop_map(move |(c, at)| {
                let at = at.min(valid.chars().count());
                let mut text: String = valid.chars().take(at).collect();
                text.push(c);
                text.extend(valid.chars().skip(at));
                text
            }),
            1 => (1usize..=100_000, prop::sample::select(vec!["9", "V", "名", "🙂", " "]))
                .prop_map(|(n, unit)| unit.repeat(n)),
            1 => prop::sample::select(vec!["🙂", "a b", "１２３", "\u{feff}x", "null", "-1"])
                .prop_map(move |odd| format!("{valid}{odd}")),
            1 => ".{0,40}",
        ]
    }

    fn price() -> impl Strategy<Value = i64> {
        prop_oneof![
            4 => prop::sample::select(vec![1, 1230]),
            1 => prop::sample::select(vec![i64::MIN, -1, 0, i64::MAX]),
            1 => any::<i64>(),
        ]
    }

    fn quantity() -> impl Strategy<Value = String> {
        prop_oneof![
            2 => field("2"),
            1 => prop::sample::select(vec![
                "1",
                "2.5",
                "0",
                "-1",
                "0.0000",
                "99999999999999.9999",
                "100000000000000",
                "79228162514264337593543950335",
                "79228162514264337593543950336",
                "99999999999999999999999999.99",
                "-99999999999999999999999999.99",
                "1e400",
                "NaN",
                "1.00000000000000000000000000001",
            ])
            .prop_map(str::to_owned),
        ]
    }

    fn med_type() -> impl Strategy<Value = i32> {
        prop_oneof![
            4 => prop::sample::select(vec![11, 14, 21, 41]),
            1 => prop::sample::select(vec![0, -1, 12, i32::MAX, i32::MIN]),
            1 => any::<i32>(),
        ]
    }

    fn fee_line() -> impl Strategy<Value = pb::FeeLine> {
        (field("1"), field("L001"), field("XL02BBA326A001"), price(), quantity(), field(TODAY))
            .prop_map(|(feedetl_sn, local_code, national_code, price_fen, quantity, fee_date)| {
                pb::FeeLine {
                    chrg_bchno: String::new(),
                    feedetl_sn,
                    local_code,
                    national_code,
                    price_fen,
                    quantity,
                    fee_date,
                }
            })
    }

    const TODAY: &str = "2026-03-02";
    const HOSPITAL: &str = "H44030000001";

    proptest! {
        #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

        #[test]
        fn registrations(
            fixmedins_code in field(HOSPITAL),
            msgid in field("H44030000001202603020900000001"),
            psn_no in field("P420200001"),
            med_type in med_type(),
            mdtrtarea_admvs in field("440300"),
            hospital_level in field("tertiary"),
            begin_date in field("2026-03-02 08:00:00"),
            diagnosis_code in field("I10.x00x002"),
            disease_code in field("M00100"),
            emergency in any::<bool>(),
        ) {
            let r = pb::RegisterVisitRequest {
                fixmedins_code, msgid, psn_no, med_type, mdtrtarea_admvs, hospital_level,
                begin_date, diagnosis_code, emergency, disease_code,
            };
            match Registration::try_from(r) {
                Ok(v) => {
                    prop_assert!(clean_msgid(&v.msgid));
                    prop_assert!(clean_code(&v.psn_no, 30));
                    prop_assert!(clean_text(&v.diagnosis_code, 200));
                    prop_assert!(v.disease_code.is_empty() || clean_code(&v.disease_code, 30));
                }
                Err(e) => precise(e, &[
                    "fixmedins_code", "msgid", "psn_no", "med_type", "mdtrtarea_admvs",
                    "hospital_level", "begin_date", "diagnosis_code", "disease_code",
                ])?,
            }
        }

        #[test]
        fn uploads(
            fixmedins_code in field(HOSPITAL),
            msgid in field("F1"),
            mdtrt_id in field("V42x"),
            lines in prop::collection::vec(fee_line(), 0..4),
        ) {
            let r = pb::UploadFeeLinesRequest { fixmedins_code, msgid, mdtrt_id, lines };
            match Upload::try_from(r) {
                Ok(u) => {
                    prop_assert!(clean_code(&u.sender, 12));
                    prop_assert!(clean_code(&u.mdtrt_id, codes::ID_LEN));
                    prop_assert!(!u.lines.is_empty());
                    for l in &u.lines {
                        prop_assert!(clean_code(&l.feedetl_sn, codes::ID_LEN));
                        prop_assert!(clean_code(&l.local_code, 150));
                        prop_assert!(l.national_code.is_empty() || clean_code(&l.national_code, 50));
                        prop_assert!(i64::from(l.price_fen) > 0);
                        let q = Decimal::from(l.quantity);
                        prop_assert!(q > Decimal::ZERO && q < Decimal::from(MAX_QUANTITY));
                        prop_assert!(money::line_amount_fen(l.price_fen.into(), q).is_ok());
                    }
                }
                Err(e) => precise(e, &[
                    "fixmedins_code", "msgid", "mdtrt_id", "lines", "feedetl_sn", "local_code",
                    "national_code", "quantity", "fee_date",
                ])?,
            }
        }

        #[test]
        fn visit_references(
            fixmedins_code in field(HOSPITAL),
            msgid in field("H44030000001202603020900000001"),
            mdtrt_id in field("V42x"),
            end_date in field(TODAY),
            med_type in med_type(),
            diagnosis_code in field("I10"),
            disease_code in field("M00100"),
        ) {
            let r = pb::VisitRef {
                fixmedins_code: fixmedins_code.clone(), msgid: msgid.clone(),
                mdtrt_id: mdtrt_id.clone(), end_date,
            };
            let fields = ["fixmedins_code", "msgid", "mdtrt_id", "end_date"];
            for key in [VisitKey::try_from(r.clone()), Discharge::try_from(r).map(|d| d.visit)] {
                match key {
                    Ok(k) => {
                        prop_assert!(clean_code(&k.sender, 12));
                        prop_assert!(clean_code(&k.mdtrt_id, codes::ID_LEN));
                    }
                    Err(e) => precise(e, &fields)?,
                }
            }
            let update = pb::UpdateVisitRequest {
                fixmedins_code, msgid, mdtrt_id, med_type, diagnosis_code, disease_code,
                begin_date: String::new(),
            };
            match VisitUpdate::try_from(update) {
                Ok(u) => {
                    prop_assert!(clean_code(&u.mdtrt_id, codes::ID_LEN));
                    prop_assert!(clean_text(&u.diagnosis_code, 200));
                    prop_assert!(u.disease_code.is_empty() || clean_code(&u.disease_code, 30));
                }
                Err(e) => precise(e, &[
                    "fixmedins_code", "msgid", "mdtrt_id", "med_type", "diagnosis_code",
                    "disease_code",
                ])?,
            }
        }

        #[test]
        fn line_cancellations(
            fixmedins_code in field(HOSPITAL),
            msgid in field("C1"),
            mdtrt_id in field("V42x"),
            feedetl_sn in prop::collection::vec(field("1"), 0..4),
        ) {
            let r = pb::CancelFeeLinesRequest { chrg_bchno: String::new(), fixmedins_code, msgid, mdtrt_id, feedetl_sn };
            match LineCancellation::try_from(r) {
                Ok(c) => {
                    prop_assert!(clean_code(&c.visit.sender, 12));
                    prop_assert!(clean_code(&c.visit.mdtrt_id, codes::ID_LEN));
                    for sn in &c.feedetl_sn {
                        prop_assert!(clean_code(sn, codes::ID_LEN));
                    }
                }
                Err(e) => precise(e, &["fixmedins_code", "msgid", "mdtrt_id", "feedetl_sn"])?,
            }
        }

        #[test]
        fn settlements_cancellations_and_reversals(
            fixmedins_code in field(HOSPITAL),
            msgid in field("S1"),
            id in field("S42x"),
            omsgid in field("H44030000001202603020900000001"),
            medfee_sumamt_fen in prop::option::of(price()),
            use_account in any::<bool>(),
        ) {
            let settle = pb::SettleRequest {
                fixmedins_code: fixmedins_code.clone(), msgid: msgid.clone(),
                mdtrt_id: id.clone(), use_account, medfee_sumamt_fen,
            };
            match SettleCommand::try_from(settle) {
                Ok(c) => {
                    prop_assert!(clean_msgid(c.msgid.as_str()));
                    prop_assert!(clean_code(&c.mdtrt_id, codes::ID_LEN));
                    prop_assert_eq!(c.expected_medfee_fen, medfee_sumamt_fen);
                }
                Err(e) => precise(e, &["fixmedins_code", "msgid", "mdtrt_id"])?,
            }
            let cancel = pb::CancelSettlementRequest {
                fixmedins_code: fixmedins_code.clone(), msgid: msgid.clone(), setl_id: id,
            };
            match Cancellation::try_from(cancel) {
                Ok(c) => prop_assert!(clean_code(&c.setl_id, codes::ID_LEN)),
                Err(e) => precise(e, &["fixmedins_code", "msgid", "setl_id"])?,
            }
            match Reversal::try_from(pb::ReverseRequest { fixmedins_code, msgid, omsgid }) {
                Ok(r) => prop_assert!(clean_msgid(&r.omsgid)),
                Err(e) => precise(e, &["fixmedins_code", "msgid", "omsgid"])?,
            }
        }

        #[test]
        fn person_queries_and_institutions(
            certno in field("420202196001010016"),
            psn_no in field("P420200001"),
            limit in any::<u32>(),
            fixmedins_code in field("H42020000001"),
            fixmedins_name in field("黄石市中心医院"),
            admdvs in field("420200"),
            hospital_level in field("tertiary"),
        ) {
            let query = pb::QueryPersonRequest { certno, psn_no: psn_no.clone() };
            match PersonQuery::try_from(query) {
                Ok(PersonQuery::Certno(c)) => prop_assert!(clean_code(&c, 50)),
                Ok(PersonQuery::PsnNo(p)) => prop_assert!(clean_code(&p, 30)),
                Err(e) => precise(e, &["certno", "psn_no"])?,
            }
            match PersonSettlements::try_from(pb::ListPersonSettlementsRequest { psn_no, limit }) {
                Ok(p) => prop_assert!(clean_code(&p.psn_no, 30) && p.limit > 0),
                Err(e) => precise(e, &["psn_no"])?,
            }
            let get = pb::GetInstitutionRequest { fixmedins_code: fixmedins_code.clone() };
            match InstitutionRef::try_from(get) {
                Ok(r) => prop_assert!(clean_code(r.fixmedins_code.as_str(), 12)),
                Err(e) => precise(e, &["fixmedins_code"])?,
            }
            let institution = pb::Institution { fixmedins_code, fixmedins_name, admdvs, hospital_level };
            let import = pb::ImportInstitutionsRequest { institutions: vec![institution] };
            match InstitutionImport::try_from(import) {
                Ok(i) => {
                    let i = &i.institutions[0];
                    prop_assert!(clean_code(&i.fixmedins_code, 12));
                    prop_assert!(clean_code(&i.admdvs, 6));
                    prop_assert!(clean_text(&i.fixmedins_name, 200));
                    prop_assert!(clean_text(&i.hospital_level, 20));
                }
                Err(e) => precise(e, &[
                    "institutions.fixmedins_code", "institutions.fixmedins_name",
                    "institutions.admdvs", "institutions.hospital_level",
                ])?,
            }
        }
    }
}
