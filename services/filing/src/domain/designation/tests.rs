//! The designation rules at their boundaries.

use super::*;
use crate::domain::Channel;

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn psn(text: &str) -> PsnNo {
    PsnNo::parse(text).unwrap()
}

const TODAY: &str = "2026-03-02";

fn hospital() -> Actor {
    Actor { id: "H50015500011".into(), channel: Channel::Hospital }
}

fn new(biz: &str, fix_srt_no: u16, begin: &str, end: Option<&str>) -> NewDesignation {
    NewDesignation {
        psn_no: psn("50015500000000000301"),
        home: Admdvs::parse("500155").unwrap(),
        insutype: "310".into(),
        biz_appy_type: BizAppyType::parse(biz).unwrap(),
        fixmedins_code: FixmedinsCode::parse("H50015500011").unwrap(),
        fixmedins_name: "梁平区示例人民医院".into(),
        fix_srt_no: Some(fix_srt_no),
        begin: d(begin),
        end: end.map(d),
        tel: String::new(),
        addr: String::new(),
        agent: Agent::default(),
        memo: String::new(),
    }
}

fn stored(id: &str, new: &NewDesignation) -> Designation {
    Designation {
        id: id.into(),
        psn_no: new.psn_no.clone(),
        home: new.home,
        insutype: new.insutype.clone(),
        biz_appy_type: new.biz_appy_type,
        fixmedins_code: new.fixmedins_code.clone(),
        fixmedins_name: new.fixmedins_name.clone(),
        fix_srt_no: new.fix_srt_no.unwrap_or(1),
        begin: new.begin,
        end: new.end,
        tel: new.tel.clone(),
        addr: new.addr.clone(),
        agent: new.agent.clone(),
        memo: new.memo.clone(),
        filed_by: hospital(),
        filed_at: "2026-03-01T01:00:00Z".parse().unwrap(),
        revocation: None,
    }
}

fn revoked(mut designation: Designation, on: &str) -> Designation {
    designation.revocation = Some(Revocation {
        at: "2026-03-01T02:00:00Z".parse().unwrap(),
        on: d(on),
        by: hospital(),
        reason: "更换定点医院".into(),
    });
    designation
}

fn reason<T: std::fmt::Debug>(result: Result<T>) -> String {
    result.unwrap_err().reason().to_owned()
}

#[test]
fn the_codes_are_the_national_ones_and_nothing_else() {
    for (code, name) in BIZ_APPY_TYPES {
        let t = BizAppyType::parse(code).unwrap();
        assert_eq!((t.code(), t.name()), (code, name));
    }
    for unknown in ["", "1", "3", "02", "04", "09", "98", "003", " 03", "ab"] {
        assert_eq!(BizAppyType::parse(unknown), None, "{unknown:?}");
    }
    let e = BizAppyType::parse_field("data.biz_appy_type", "77").unwrap_err();
    assert_eq!(e.reason(), "unknown_biz_appy_type");
    assert!(e.to_string().contains("03 就医定点医疗机构登记"), "{e}");
    assert_eq!(serde_json::to_string(&BizAppyType::parse("08").unwrap()).unwrap(), "\"08\"");
}

#[test]
fn dates_must_be_in_order_and_the_region_known() {
    let today = d(TODAY);
    assert!(validate_new_designation(&new("03", 1, TODAY, None), true, today, &[]).is_ok());
    let one_day = new("03", 1, TODAY, Some(TODAY));
    assert_eq!(
        validate_new_designation(&one_day, true, today, &[]).unwrap(),
        (Validity { begin: d(TODAY), end: Some(d(TODAY)) }, 1),
        "begndate = enddate is one day"
    );
    let backwards = new("03", 1, TODAY, Some("2026-03-01"));
    assert_eq!(reason(validate_new_designation(&backwards, true, today, &[])), "end_before_begin");
    let home = new("03", 1, TODAY, None);
    assert_eq!(reason(validate_new_designation(&home, false, today, &[])), "unknown_region");
    let zero = new("03", 0, TODAY, None);
    assert_eq!(reason(validate_new_designation(&zero, true, today, &[])), "out_of_range");
}

#[test]
fn an_order_left_empty_is_the_next_after_those_in_force() {
    let today = d(TODAY);
    let order = |existing: &[Designation]| {
        let mut unordered = new("03", 1, TODAY, None);
        unordered.fix_srt_no = None;
        validate_new_designation(&unordered, true, today, existing).map(|(_, n)| n)
    };
    assert_eq!(order(&[]).unwrap(), 1, "the first is 1");
    let first = stored("D1", &new("03", 1, TODAY, None));
    let third = stored("D3", &new("03", 3, TODAY, None));
    assert_eq!(order(&[first.clone(), third.clone()]).unwrap(), 4, "after the highest");
    // Another business's, or one revoked, does not count.
    let other_business = stored("D4", &new("01", 7, TODAY, None));
    assert_eq!(order(&[first.clone(), other_business]).unwrap(), 2);
    assert_eq!(order(&[revoked(third, TODAY)]).unwrap(), 1);
    let full = stored("D9", &new("03", MAX_FIX_SRT_NO, TODAY, None));
    assert_eq!(reason(order(&[full])), "out_of_range");
}

#[test]
fn one_active_designation_per_business_and_order() {
    let today = d(TODAY);
    let first = new("03", 1, TODAY, None);
    let existing = [stored("D1", &first)];
    let again = new("03", 1, "2026-06-01", Some("2026-12-31"));
    let e = validate_new_designation(&again, true, today, &existing).unwrap_err();
    assert_eq!(e.reason(), "designation_exists");
    assert!(e.to_string().contains("D1"), "names the designation in the way: {e}");

    // Another order, another business, another person: allowed.
    for other in [new("03", 2, TODAY, None), new("01", 1, TODAY, None), {
        let mut n = new("03", 1, TODAY, None);
        n.psn_no = psn("50015500000000000302");
        n
    }] {
        assert!(validate_new_designation(&other, true, today, &existing).is_ok(), "{other:?}");
    }

    // A revoked one, or one that ended before today, is no longer in the way.
    let gone = [revoked(stored("D1", &first), TODAY)];
    assert!(validate_new_designation(&again, true, today, &gone).is_ok());
    let ended = [stored("D2", &new("03", 1, "2025-01-01", Some("2026-03-01")))];
    assert!(validate_new_designation(&new("03", 1, TODAY, None), true, today, &ended).is_ok());

    // Active but not meeting in time (the old one ends before the new one begins): allowed.
    let until_june = [stored("D3", &new("03", 1, TODAY, Some("2026-05-31")))];
    let from_june = new("03", 1, "2026-06-01", None);
    assert!(validate_new_designation(&from_june, true, today, &until_june).is_ok());
    let from_may = new("03", 1, "2026-05-31", None);
    assert_eq!(
        validate_new_designation(&from_may, true, today, &until_june).unwrap_err().reason(),
        "designation_exists"
    );
}

#[test]
fn only_the_persons_own_designation_is_revoked_and_only_once() {
    let own = stored("D1", &new("03", 1, TODAY, None));
    let person = own.psn_no.clone();
    assert_eq!(check_designation_revocable(&own, &person).unwrap(), RevokeDecision::Revoke);
    let other = psn("44030000000000000201");
    let e = check_designation_revocable(&own, &other).unwrap_err();
    assert_eq!(e.reason(), "designation_not_found");
    assert!(e.to_string().contains("44030000000000000201"), "{e}");
    let done = revoked(own, TODAY);
    assert_eq!(
        check_designation_revocable(&done, &person).unwrap(),
        RevokeDecision::AlreadyRevoked
    );
    assert_eq!(
        check_designation_revocable(&done, &other).unwrap_err().reason(),
        "designation_not_found"
    );
}

#[test]
fn lists_keep_the_active_ones_of_the_business_asked() {
    let today = d(TODAY);
    let a = stored("DA", &new("03", 2, TODAY, None));
    let b = stored("DB", &new("03", 1, TODAY, Some("2099-01-01")));
    let c = stored("DC", &new("01", 1, TODAY, None));
    let gone = revoked(stored("DD", &new("03", 3, TODAY, None)), TODAY);
    let ended = stored("DE", &new("03", 4, "2025-01-01", Some("2026-03-01")));
    let future = stored("DF", &new("08", 1, "2026-04-01", None));
    let all = vec![a, b, c, gone, ended, future];
    let ids = |list: Vec<Designation>| list.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(ids(select_designations(all.clone(), None, false, today)), ["DC", "DB", "DA", "DF"]);
    let t03 = BizAppyType::parse("03");
    assert_eq!(ids(select_designations(all.clone(), t03, false, today)), ["DB", "DA"]);
    assert_eq!(ids(select_designations(all.clone(), t03, true, today)), ["DB", "DA", "DD", "DE"]);
    assert!(select_designations(all, BizAppyType::parse("99"), false, today).is_empty());
    // The day it was revoked it is over (covers days before it); an end of today still counts.
    let ends_today = stored("DG", &new("03", 1, "2026-01-01", Some(TODAY)));
    assert!(ends_today.is_active(today));
    assert!(!ends_today.is_active(d("2026-03-03")));
}
