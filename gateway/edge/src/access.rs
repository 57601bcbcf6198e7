//! Who may act on what: every access rule of the gateway in one place.
//!
//! A caller is a [`Principal`], named by its client certificate (hospitals and operators) or,
//! on plain HTTP in development, nobody in particular. What a request acts on is a
//! [`Target`]: an institution, a province (any region code: its first two digits), a person,
//! or the national clearing itself. [`authorize`] is the whole rule:
//!
//! | principal | own institution | other institution | own province | other province | own person | other person | national |
//! |---|---|---|---|---|---|---|---|
//! | hospital | yes | no | no | no | no | no | no |
//! | province operator | no | no | yes | no | no | no | no |
//! | national operator | yes (oversight) | yes | yes | yes | no | no | yes |
//! | citizen | no | no | no | no | yes | no | no |
//! | anonymous (HTTPS, no certificate) | no | no | no | no | no | no | no |
//! | development (plain HTTP on loopback) | yes | yes | yes | yes | yes | yes | yes |
//!
//! Certificates name their holder in the subject common name: `H44030000001` (a hospital or
//! `P…` pharmacy), `OP-420000` (Hubei's operator), `OP-000000` (the national operator).
//!
//! Who a request comes from is read in [`crate::caller`]. The JSON API
//! ([`crate::caller::Caller`]) reads the connection and a citizen's `Authorization: Bearer`
//! token, never a cookie — so a cookie cannot make a cross-site JSON call. The web pages
//! ([`crate::caller::PageSession`]) also read the session cookies of [`crate::session`]:
//!
//! * citizen pages act as the citizen of a valid `medclear_citizen` cookie (on HTTP or
//!   HTTPS), unless the connection's certificate names someone (then it does);
//! * bureau pages act as the operator of the connection's certificate over HTTPS, and only
//!   on plain HTTP on loopback (the connection is [`Principal::Development`]) as the operator of
//!   a valid development `medclear_operator` cookie — over HTTPS that cookie is ignored and
//!   the development sign-in does not exist;
//! * a page never acts as [`Principal::Development`]: without a session it asks to sign in.
//!
//! A page's principal is then held to [`authorize`] exactly like a certificate's.

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Plain HTTP on loopback, in development: nobody is authenticated, anything goes (the
    /// gateway says so loudly at start-up).
    Development,
    /// HTTPS without a usable certificate.
    Anonymous,
    /// A designated institution (`fixmedins_code`).
    Hospital(String),
    /// A provincial medical-insurance bureau's operator (the province's `xx0000` code).
    ProvinceOperator(String),
    /// The national clearing operator.
    NationalOperator,
    /// An insured person (`psn_no`), signed in.
    Citizen(String),
}

/// What a request acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Institution(&'a str),
    /// A province, or any region in it (compared by the first two digits).
    Province(&'a str),
    Person(&'a str),
    /// The national clearing: closing, netting and settling periods.
    National,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// `unauthenticated` (no credentials) or `forbidden`.
    pub reason: &'static str,
    pub message: String,
}

fn same_province(a: &str, b: &str) -> bool {
    a.len() >= 2 && b.len() >= 2 && a.get(..2) == b.get(..2)
}

impl Principal {
    /// The principal a certificate's common name names, if any.
    pub fn from_common_name(cn: &str) -> Option<Self> {
        if medclear_common::codes::FixmedinsCode::parse(cn).is_ok() {
            return Some(Self::Hospital(cn.to_owned()));
        }
        let code = cn.strip_prefix("OP-")?;
        if code == "000000" {
            return Some(Self::NationalOperator);
        }
        let province = medclear_common::codes::Admdvs::parse(code).ok()?;
        code.ends_with("0000").then(|| Self::ProvinceOperator(province.to_string()))
    }

    /// A label for logs and the audit trail.
    pub fn label(&self) -> String {
        match self {
            Self::Development => "development".into(),
            Self::Anonymous => "anonymous".into(),
            Self::Hospital(code) => code.clone(),
            Self::ProvinceOperator(p) => format!("OP-{p}"),
            Self::NationalOperator => "OP-000000".into(),
            Self::Citizen(psn) => psn.clone(),
        }
    }
}

/// The access rule (see the module's table).
pub fn authorize(principal: &Principal, target: Target<'_>) -> Result<(), Denied> {
    let allowed = match (principal, target) {
        (Principal::Development, _) => true,
        (Principal::Anonymous, _) => {
            return Err(Denied {
                reason: "unauthenticated",
                message: "this needs a client certificate (hospitals, operators) or a signed-in \
                          citizen"
                    .into(),
            });
        }
        (Principal::Hospital(own), Target::Institution(code)) => own == code,
        (Principal::ProvinceOperator(own), Target::Province(code)) => same_province(own, code),
        (Principal::NationalOperator, Target::Institution(_) | Target::Province(_)) => true,
        (Principal::NationalOperator, Target::National) => true,
        (Principal::Citizen(own), Target::Person(psn)) => own == psn,
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Denied {
            reason: "forbidden",
            message: format!("{} may not act on {}", principal.label(), describe(target)),
        })
    }
}

fn describe(target: Target<'_>) -> String {
    match target {
        Target::Institution(code) => format!("institution {code}"),
        Target::Province(code) => format!("province {}", code.get(..2).unwrap_or(code)),
        Target::Person(psn) => format!("person {psn}"),
        Target::National => "the national clearing".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cell of the module's table.
    #[test]
    fn the_access_matrix_cell_by_cell() {
        let principals = [
            Principal::Hospital("H44030000001".into()),
            Principal::ProvinceOperator("420000".into()),
            Principal::NationalOperator,
            Principal::Citizen("P420200001".into()),
            Principal::Anonymous,
            Principal::Development,
        ];
        let targets = [
            Target::Institution("H44030000001"),
            Target::Institution("H44030000002"),
            Target::Province("420200"),
            Target::Province("440300"),
            Target::Person("P420200001"),
            Target::Person("P420200002"),
            Target::National,
        ];
        // Rows: principals; columns: own institution, other institution, own province, other
        // province, own person, other person, national.
        let expected: [[bool; 7]; 6] = [
            [true, false, false, false, false, false, false],
            [false, false, true, false, false, false, false],
            [true, true, true, true, false, false, true],
            [false, false, false, false, true, false, false],
            [false, false, false, false, false, false, false],
            [true, true, true, true, true, true, true],
        ];
        for (principal, row) in principals.iter().zip(expected) {
            for (target, allowed) in targets.iter().zip(row) {
                let outcome = authorize(principal, *target);
                assert_eq!(outcome.is_ok(), allowed, "{principal:?} on {target:?}: {outcome:?}");
                if let Err(denied) = outcome {
                    let reason = if *principal == Principal::Anonymous {
                        "unauthenticated"
                    } else {
                        "forbidden"
                    };
                    assert_eq!(denied.reason, reason);
                }
            }
        }
    }

    #[test]
    fn certificates_name_principals() {
        assert_eq!(
            Principal::from_common_name("H44030000001"),
            Some(Principal::Hospital("H44030000001".into()))
        );
        assert_eq!(
            Principal::from_common_name("OP-420000"),
            Some(Principal::ProvinceOperator("420000".into()))
        );
        assert_eq!(Principal::from_common_name("OP-000000"), Some(Principal::NationalOperator));
        for bad in ["OP-420200", "OP-42", "medclear gateway", "", "OP-"] {
            assert_eq!(Principal::from_common_name(bad), None, "{bad}");
        }
    }
}
