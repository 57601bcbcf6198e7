//! What a policy document may not say, each refusal by the field it is about and its reason;
//! the province's floors; the ids and the lookup chain.

use serde_json::{Value, json};

use super::*;
use crate::policies::tests::seed_documents;

/// A seed document of `region`/`insutype` and `kind` as JSON, to be broken.
fn seed_json(region: &str, insutype: &str, kind: Kind) -> Value {
    let (_, document) = seed_documents()
        .into_iter()
        .rev()
        .find(|(_, d)| d.kind() == kind && d.region() == region && d.insutype() == insutype)
        .unwrap();
    serde_json::from_str(&document.canonical().unwrap()).unwrap()
}

fn policy_json(region: &str, insutype: &str) -> Value {
    seed_json(region, insutype, Kind::Policy)
}

/// Sets the field at a JSON pointer (`/layers/0/segments/1/from_fen`).
fn set(mut document: Value, pointer: &str, value: Value) -> Value {
    *document.pointer_mut(pointer).unwrap_or_else(|| panic!("no {pointer}")) = value;
    document
}

/// The problems of a document, as (field, reason); none if it is accepted.
fn problems(document: &Value) -> Vec<(String, &'static str)> {
    match Document::parse_valid(&document.to_string()) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.0.into_iter().map(|p| (p.field, p.reason)).collect(),
    }
}

/// The one problem of a document: its field, reason and message.
fn refused(document: &Value) -> Problem {
    let mut problems = match Document::parse_valid(&document.to_string()) {
        Ok(_) => panic!("accepted: {document}"),
        Err(problems) => problems.0,
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    problems.remove(0)
}

fn invalid(field: &str) -> (String, &'static str) {
    (field.to_owned(), "invalid_policy")
}

#[test]
fn the_seed_documents_are_accepted_as_they_are() {
    for (region, insutype) in [("120000", "390"), ("420200", "310"), ("000000", "390")] {
        assert_eq!(problems(&policy_json(region, insutype)), []);
    }
    assert_eq!(problems(&seed_json("440000", "310", Kind::Floors)), []);
}

#[test]
fn segments_must_follow_each_other_without_gap_or_overlap() {
    // Tianjin residents' serious illness: 20k–100k, 100k–200k, 200k–300k yuan.
    let tianjin = policy_json("120000", "390");
    let gap = refused(&set(tianjin.clone(), "/layers/0/segments/1/from_fen", json!(10_500_000)));
    assert_eq!(
        (gap.field.as_str(), gap.reason),
        ("layers[0].segments[1].from_fen", "invalid_policy")
    );
    assert!(gap.message.contains("gap between 10000000 and 10500000"), "{}", gap.message);
    let overlap = refused(&set(tianjin.clone(), "/layers/0/segments/1/from_fen", json!(9_000_000)));
    assert_eq!(overlap.field, "layers[0].segments[1].from_fen");
    assert!(overlap.message.contains("overlaps"), "{}", overlap.message);
    let backwards =
        refused(&set(tianjin.clone(), "/layers/0/segments/2/to_fen", json!(20_000_000)));
    assert_eq!(backwards.field, "layers[0].segments[2].to_fen");
    let open = set(tianjin.clone(), "/layers/0/segments/0/to_fen", Value::Null);
    assert!(problems(&open).contains(&invalid("layers[0].segments[0].to_fen")), "open-ended first");
    // A pooling band covers every amount: from 0, with no upper end.
    let from = refused(&set(tianjin.clone(), "/inpatient/bands/0/segments/0/from_fen", json!(100)));
    assert_eq!(from.field, "inpatient.bands[0].segments[0].from_fen");
    let to = refused(&set(tianjin, "/inpatient/bands/0/segments/0/to_fen", json!(100_000)));
    assert_eq!(to.field, "inpatient.bands[0].segments[0].to_fen");
}

#[test]
fn ratios_lie_within_0_and_1_and_amounts_are_not_negative() {
    let huangshi = policy_json("420200", "310");
    let over =
        refused(&set(huangshi.clone(), "/inpatient/bands/2/segments/0/ratio", json!("1.10")));
    assert_eq!(
        (over.field.as_str(), over.reason),
        ("inpatient.bands[2].segments[0].ratio", "invalid_policy")
    );
    assert!(over.message.contains("1.10"), "{}", over.message);
    let under = refused(&set(huangshi.clone(), "/layers/0/segments/0/ratio", json!("-0.10")));
    assert_eq!(under.field, "layers[0].segments[0].ratio");
    let share =
        refused(&set(huangshi.clone(), "/chronic_diseases/several/others_share", json!("2")));
    assert_eq!(share.field, "chronic_diseases.several.others_share");
    for (pointer, field) in [
        ("/ceilings/0/annual_cap_fen", "ceilings[0].annual_cap_fen"),
        ("/inpatient/deductibles/1/amount_fen", "inpatient.deductibles[1].amount_fen"),
        ("/general_outpatient/annual_cap_fen", "general_outpatient.annual_cap_fen"),
        ("/layers/0/segments/0/from_fen", "layers[0].segments[0].from_fen"),
        (
            "/chronic_diseases/diseases/3/annual_limit_fen",
            "chronic_diseases.diseases[3].annual_limit_fen",
        ),
        ("/assistance/annual_limit_fen", "assistance.annual_limit_fen"),
    ] {
        let negative = refused(&set(huangshi.clone(), pointer, json!(-1)));
        assert_eq!((negative.field.as_str(), negative.reason), (field, "invalid_policy"));
        assert!(negative.message.contains("negative"), "{}", negative.message);
    }
    // A ratio is a decimal string, never a float.
    let float = set(huangshi, "/inpatient/bands/0/segments/0/ratio", json!(0.9));
    assert_eq!(problems(&float), [invalid("inpatient.bands[0].segments[0].ratio")]);
}

#[test]
fn an_unknown_field_is_refused_by_its_path() {
    let tianjin = policy_json("120000", "390");
    let mut misspelt = tianjin.clone();
    misspelt["layers"][0]["annual_cap"] = json!(100);
    let refused_field = refused(&misspelt);
    assert_eq!(
        (refused_field.field.as_str(), refused_field.reason),
        ("layers[0].annual_cap", "invalid_policy")
    );
    assert!(
        refused_field.message.contains("unknown field `annual_cap`"),
        "{}",
        refused_field.message
    );
    let mut top = tianjin.clone();
    top["ceiling_fen"] = json!(100);
    assert_eq!(refused(&top).field, "ceiling_fen");
    let mut deep = tianjin.clone();
    deep["inpatient"]["bands"][1]["segments"][0]["rate"] = json!("0.5");
    assert_eq!(refused(&deep).field, "inpatient.bands[1].segments[0].rate");
    // A wrong type or value is refused at its field too.
    let level = set(tianjin.clone(), "/inpatient/bands/0/hospital_level", json!("quaternary"));
    assert_eq!(refused(&level).field, "inpatient.bands[0].hospital_level");
    let kind = set(tianjin.clone(), "/layers/0/counts/1", json!("dental"));
    assert_eq!(refused(&kind).field, "layers[0].counts[1]");
    let missing = {
        let mut d = tianjin.clone();
        d.as_object_mut().unwrap().remove("pharmacy");
        d
    };
    let refused_missing = refused(&missing);
    assert!(
        refused_missing.message.contains("missing field `pharmacy`"),
        "{}",
        refused_missing.message
    );
    // Not a document at all.
    assert_eq!(refused(&set(tianjin, "/kind", json!("leaflet"))).field, "kind");
    assert_eq!(Document::parse("[1, 2]").unwrap_err().0[0].field, "");
    assert_eq!(Document::parse("{").unwrap_err().0[0].field, "");
}

#[test]
fn a_layer_is_the_schemes_fund() {
    // Residents' layers are the serious-illness insurance (hifmi_pay), employees' the
    // large-amount fund (hifob_pay).
    let residents = set(policy_json("120000", "390"), "/layers/0/fund", json!("large_amount"));
    let refused_fund = refused(&residents);
    assert_eq!(
        (refused_fund.field.as_str(), refused_fund.reason),
        ("layers[0].fund", "invalid_policy")
    );
    let employees = set(policy_json("120000", "310"), "/layers/0/fund", json!("serious_illness"));
    assert_eq!(refused(&employees).field, "layers[0].fund");
    // Two layers may not share a name (it names their yearly counters).
    let mut twice = policy_json("120000", "390");
    let layer = twice["layers"][0].clone();
    twice["layers"].as_array_mut().unwrap().push(layer);
    assert_eq!(refused(&twice).field, "layers[1].name");
    // A layer counts some kind of care, each kind once.
    let none = set(policy_json("120000", "390"), "/layers/0/counts", json!([]));
    assert_eq!(refused(&none).field, "layers[0].counts");
    let again =
        set(policy_json("120000", "390"), "/layers/0/counts", json!(["inpatient", "inpatient"]));
    assert_eq!(refused(&again).field, "layers[0].counts[1]");
}

#[test]
fn assistance_gives_tekun_and_dibao_no_deductible_and_at_least_70_percent() {
    // The 2021 national opinions: 特困 (extreme_poverty) and 低保 (low_income) persons have no
    // deductible and a ratio of at least 70 %; other categories may have both.
    let policy = policy_json("420200", "310");
    let categories = policy["assistance"]["categories"].as_array().unwrap();
    let at = |name: &str| categories.iter().position(|c| c["category"] == name).unwrap();
    let (low_income, margin) = (at("low_income"), at("low_income_margin"));
    let deductible = refused(&set(
        policy.clone(),
        &format!("/assistance/categories/{low_income}/deductible_fen"),
        json!(50_000),
    ));
    assert_eq!(
        (deductible.field, deductible.reason),
        (format!("assistance.categories[{low_income}].deductible_fen"), "invalid_policy")
    );
    assert!(deductible.message.contains("低保"), "{}", deductible.message);
    let ratio = refused(&set(
        policy.clone(),
        &format!("/assistance/categories/{low_income}/ratio"),
        json!("0.60"),
    ));
    assert_eq!(ratio.field, format!("assistance.categories[{low_income}].ratio"));
    assert!(ratio.message.contains("0.70"), "{}", ratio.message);
    let extreme = at("extreme_poverty");
    let extreme_ratio =
        set(policy.clone(), &format!("/assistance/categories/{extreme}/ratio"), json!("0.69"));
    assert_eq!(refused(&extreme_ratio).field, format!("assistance.categories[{extreme}].ratio"));
    // 低保边缘 may have a deductible and 60 % (the seeds' own terms).
    assert_eq!(categories[margin]["ratio"], "0.60");
    assert!(categories[margin]["deductible_fen"].as_i64().unwrap() > 0);
    // A category listed twice, or not a category name.
    let twice = set(
        policy.clone(),
        &format!("/assistance/categories/{margin}/category"),
        json!("low_income"),
    );
    assert!(
        problems(&twice).contains(&invalid(&format!("assistance.categories[{margin}].category")))
    );
    let name = set(policy, &format!("/assistance/categories/{margin}/category"), json!("低保边缘"));
    assert_eq!(refused(&name).field, format!("assistance.categories[{margin}].category"));
}

fn floors(insutype: &str) -> (String, Floors) {
    seed_documents()
        .into_iter()
        .find_map(|(id, d)| match d {
            Document::Floors(f) if f.region == "440000" && f.insutype == insutype => Some((id, *f)),
            _ => None,
        })
        .unwrap()
}

/// A Guangdong city's policy: the province's, published for Shenzhen, then changed.
fn shenzhen(insutype: &str, pointer: &str, value: Value) -> Policy {
    let json = set(policy_json("440000", insutype), "/region", json!("440300"));
    let json = set(json, pointer, value);
    match Document::parse_valid(&json.to_string()) {
        Ok(Document::Policy(policy)) => *policy,
        other => panic!("{other:?}"),
    }
}

fn below(policy: &Policy, insutype: &str) -> Vec<(String, &'static str)> {
    let (id, floors) = floors(insutype);
    policy.below(&floors, &id).0.into_iter().map(|p| (p.field, p.reason)).collect()
}

#[test]
fn a_city_below_its_provinces_floors_is_named_by_the_field() {
    // Guangdong employees: inpatient ratio ≥ 80 %, ceiling ≥ 100,000 yuan.
    let at_floor = shenzhen("310", "/inpatient/bands/0/segments/0/ratio", json!("0.80"));
    assert_eq!(below(&at_floor, "310"), []);
    let ratio = shenzhen("310", "/inpatient/bands/0/segments/0/ratio", json!("0.75"));
    assert!(ratio.problems().is_empty(), "valid on its own");
    assert_eq!(
        below(&ratio, "310"),
        [("inpatient.bands[0].segments[0].ratio".to_owned(), "below_floor")]
    );
    let (floors_id, floors_310) = floors("310");
    let message = &ratio.below(&floors_310, &floors_id).0[0].message;
    assert!(message.contains("0.75") && message.contains(&floors_id), "{message}");
    // The retired band (index 1) too.
    let retired = shenzhen("310", "/inpatient/bands/1/segments/0/ratio", json!("0.79"));
    assert_eq!(
        below(&retired, "310"),
        [("inpatient.bands[1].segments[0].ratio".to_owned(), "below_floor")]
    );
    // A ceiling of 80,000 yuan over inpatient care.
    let ceiling = shenzhen("310", "/ceilings/0/annual_cap_fen", json!(8_000_000));
    assert_eq!(below(&ceiling, "310"), [("ceilings[0].annual_cap_fen".to_owned(), "below_floor")]);
    let (_, floors_310) = floors("310");
    let message = &ceiling.below(&floors_310, "x").0[0].message;
    assert!(message.contains("80000") && message.contains("100000"), "{message}");
    // Or an inpatient cap of its own of 80,000 yuan.
    let own = shenzhen("310", "/inpatient/annual_cap_fen", json!(8_000_000));
    assert_eq!(below(&own, "310"), [("inpatient.annual_cap_fen".to_owned(), "below_floor")]);
    // A ceiling that does not count inpatient care is not the inpatient ceiling.
    let outpatient_only = shenzhen("310", "/ceilings/0/kinds", json!(["general_outpatient"]));
    assert_eq!(below(&outpatient_only, "310"), [], "uncapped inpatient care meets any floor");
    // Residents: ≥ 55 %, ≥ 60,000 yuan.
    let residents = shenzhen("390", "/inpatient/bands/0/segments/0/ratio", json!("0.50"));
    assert_eq!(
        below(&residents, "390"),
        [("inpatient.bands[0].segments[0].ratio".to_owned(), "below_floor")]
    );
    let residents = shenzhen("390", "/ceilings/0/annual_cap_fen", json!(5_999_999));
    assert_eq!(
        below(&residents, "390"),
        [("ceilings[0].annual_cap_fen".to_owned(), "below_floor")]
    );
}

#[test]
fn floors_are_a_provinces() {
    let floors = seed_json("440000", "310", Kind::Floors);
    let city = refused(&set(floors.clone(), "/region", json!("440300")));
    assert_eq!((city.field.as_str(), city.reason), ("region", "invalid_policy"));
    assert_eq!(refused(&set(floors.clone(), "/region", json!(NATIONAL))).field, "region");
    assert_eq!(
        refused(&set(floors.clone(), "/inpatient_ratio_min", json!("1.5"))).field,
        "inpatient_ratio_min"
    );
    assert_eq!(
        refused(&set(floors.clone(), "/annual_ceiling_min_fen", json!(-1))).field,
        "annual_ceiling_min_fen"
    );
    assert_eq!(refused(&set(floors, "/end_date", json!("2008-12-31"))).field, "end_date");
}

#[test]
fn policy_ids_have_one_form() {
    for (id, _) in seed_documents() {
        assert!(is_policy_id(&id), "{id}");
    }
    assert!(is_policy_id("420200-310-c7b7a6ebd5a2"));
    assert!(is_policy_id("000000-390-000000000000"));
    for bad in [
        "",
        "420200-310-c7b7a6ebd5a",
        "420200-310-c7b7a6ebd5a23",
        "420200-310-C7B7A6EBD5A2",
        "420200-310-c7b7a6ebd5ag",
        "42020-3100-c7b7a6ebd5a2",
        "420200_310_c7b7a6ebd5a2",
        "4202OO-310-c7b7a6ebd5a2",
        "huangshi/310/2010-09",
        "420200-310-c7b7a6ebd5a２",
    ] {
        assert!(!is_policy_id(bad), "{bad:?}");
    }
}

#[test]
fn a_home_region_is_looked_up_county_city_province_nation() {
    let chain = |home: &str| lookup_chain(home);
    assert_eq!(chain("420204"), ["420204", "420200", "420000", "000000"]);
    assert_eq!(chain("420200"), ["420200", "420000", "000000"]);
    assert_eq!(chain("440000"), ["440000", "000000"]);
    assert_eq!(chain("110101"), ["110101", "110100", "110000", "000000"]);
    assert_eq!(chain(NATIONAL), ["000000"]);
}
