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
//! Clearing's reads ([`clearing_view`]) are lists as much as single rows, so the rule also says
//! which rows of a list a principal sees and which province a query may name:
//!
//! | principal | periods, netting, instructions, disputes, prepaid funds, balances | hospital statements, items | ingestion, audit |
//! |---|---|---|---|
//! | hospital | no | its own rows | no |
//! | province operator | its province's rows | rows of its province (as treating, or for items as home province) | no |
//! | national operator | all | all | all |
//! | citizen | no | no | no |
//! | anonymous | unauthenticated | unauthenticated | unauthenticated |
//! | development | all | all | all |
//!
//! A query naming another province (or, for a hospital, another institution) is refused, and an
//! unnamed one means the caller's own; the rows of an answer are filtered as well.
//!
//! Policy documents ([`policy_access`]) are a province's bureau's for its own regions and the
//! national operator's for the national default and the provinces' floors; operators read
//! their own regions' and every national document.
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

/// What a policy document is about (see [`policy_access`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyScope<'a> {
    /// A region's own policy (any region code but `000000`).
    Region(&'a str),
    /// A national document: the national default (`000000`) or a province's floors.
    National,
}

/// Whether `principal` may read a policy document of `scope` (`act: false`: list, get,
/// resolve) or act on it (`act: true`: validate, draft, preview, publish). Bureaus publish
/// their own home regions' policies; the national operator publishes the national default and
/// the provinces' floors:
///
/// | principal | own province's region: read / act | another province's region | national document |
/// |---|---|---|---|
/// | hospital, citizen | no / no | no / no | no / no |
/// | province operator | yes / yes | no / no | yes / no |
/// | national operator | yes (oversight) / no | yes / no | yes / yes |
/// | anonymous | unauthenticated | unauthenticated | unauthenticated |
/// | development | yes / yes | yes / yes | yes / yes |
pub fn policy_access(
    principal: &Principal,
    scope: PolicyScope<'_>,
    act: bool,
) -> Result<(), Denied> {
    match (principal, scope) {
        (Principal::NationalOperator, PolicyScope::Region(region)) if act => Err(Denied {
            reason: "forbidden",
            message: format!(
                "OP-000000 may not act on region {region}'s policy: the province's bureau \
                 publishes it (the national operator publishes the national default and floors)"
            ),
        }),
        (_, PolicyScope::Region(region)) => authorize(principal, Target::Province(region)),
        (Principal::ProvinceOperator(_), PolicyScope::National) if !act => Ok(()),
        (Principal::ProvinceOperator(own), PolicyScope::National) => Err(Denied {
            reason: "forbidden",
            message: format!(
                "OP-{own} may not act on a national document (the national default or a \
                 province's floors): the national operator publishes them"
            ),
        }),
        (_, PolicyScope::National) => authorize(principal, Target::National),
    }
}

/// What a clearing read is about (see the module's second table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearingRead {
    /// Periods, netting, instructions, disputes, prepaid funds, ledger balances: operators.
    Operators,
    /// Hospital statements and cleared items: operators, and a hospital its own.
    Hospitals,
    /// Ingestion status and the audit: the national operator.
    National,
}

/// How much of clearing's data a principal sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearingView<'a> {
    /// Every row: the national operator, and development.
    All,
    /// The rows of one province (any code in it; compared by the first two digits).
    Province(&'a str),
    /// The rows of one institution.
    Institution(&'a str),
}

/// Whether `principal` may make `read`, and how much of it it sees.
pub fn clearing_view(
    principal: &Principal,
    read: ClearingRead,
) -> Result<ClearingView<'_>, Denied> {
    if *principal == Principal::Anonymous {
        return Err(Denied {
            reason: "unauthenticated",
            message: "clearing's data needs an operator's or a hospital's client certificate"
                .into(),
        });
    }
    let view = match (principal, read) {
        (Principal::Development | Principal::NationalOperator, _) => Some(ClearingView::All),
        (Principal::ProvinceOperator(own), ClearingRead::Operators | ClearingRead::Hospitals) => {
            Some(ClearingView::Province(own))
        }
        (Principal::Hospital(own), ClearingRead::Hospitals) => Some(ClearingView::Institution(own)),
        _ => None,
    };
    view.ok_or_else(|| Denied {
        reason: "forbidden",
        message: match read {
            ClearingRead::National => {
                format!("{} may not read this: it is the national operator's", principal.label())
            }
            _ => format!("{} may not read clearing's data", principal.label()),
        },
    })
}

impl ClearingView<'_> {
    /// Whether a row about region `code` (a province's fund, position, dispute, account) shows.
    pub fn shows_region(&self, code: &str) -> bool {
        match self {
            Self::All => true,
            Self::Province(own) => same_province(own, code),
            Self::Institution(_) => false,
        }
    }

    /// Whether a row of institution `code` about `regions` (its treating province, and for an
    /// item the patient's home province) shows.
    pub fn shows_row(&self, code: &str, regions: &[&str]) -> bool {
        match self {
            Self::All => true,
            Self::Province(_) => regions.iter().any(|region| self.shows_region(region)),
            Self::Institution(own) => *own == code,
        }
    }

    /// The province a query may ask about: an unnamed one is a province operator's own;
    /// another province is refused. (A hospital's rows are filtered by institution instead.)
    pub fn region_query(&self, asked: &str) -> Result<String, Denied> {
        let asked = asked.trim();
        match self {
            Self::Province(own) if asked.is_empty() => Ok((*own).to_owned()),
            Self::Province(own) if !same_province(own, asked) => Err(Denied {
                reason: "forbidden",
                message: format!(
                    "OP-{own} may not read {}: an operator reads its own province",
                    describe(Target::Province(asked))
                ),
            }),
            _ => Ok(asked.to_owned()),
        }
    }

    /// The institution a query may ask about: an unnamed one is a hospital's own; another
    /// institution is refused.
    pub fn institution_query(&self, asked: &str) -> Result<String, Denied> {
        let asked = asked.trim();
        match self {
            Self::Institution(own) if asked.is_empty() => Ok((*own).to_owned()),
            Self::Institution(own) if *own != asked => Err(Denied {
                reason: "forbidden",
                message: format!("{own} may not read institution {asked}'s clearing data"),
            }),
            _ => Ok(asked.to_owned()),
        }
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

    /// Every cell of the clearing reads' table, and what each view shows and lets a query ask.
    #[test]
    fn clearing_reads_cell_by_cell() {
        use ClearingRead::{Hospitals, National, Operators};
        let hospital = Principal::Hospital("H44030000001".into());
        let hubei = Principal::ProvinceOperator("420000".into());
        let citizen = Principal::Citizen("P420200001".into());
        fn view(p: &Principal, read: ClearingRead) -> Result<ClearingView<'_>, &'static str> {
            clearing_view(p, read).map_err(|d| d.reason)
        }
        let rows: [(&Principal, [Result<ClearingView<'_>, &str>; 3]); 6] = [
            (
                &hospital,
                [Err("forbidden"), Ok(ClearingView::Institution("H44030000001")), Err("forbidden")],
            ),
            (
                &hubei,
                [
                    Ok(ClearingView::Province("420000")),
                    Ok(ClearingView::Province("420000")),
                    Err("forbidden"),
                ],
            ),
            (&Principal::NationalOperator, [Ok(ClearingView::All); 3]),
            (&citizen, [Err("forbidden"); 3]),
            (&Principal::Anonymous, [Err("unauthenticated"); 3]),
            (&Principal::Development, [Ok(ClearingView::All); 3]),
        ];
        for (principal, expected) in rows {
            for (read, expected) in [Operators, Hospitals, National].into_iter().zip(expected) {
                assert_eq!(view(principal, read), expected, "{principal:?} {read:?}");
            }
        }

        let province = ClearingView::Province("420000");
        assert!(province.shows_region("420200") && !province.shows_region("440000"));
        assert!(!province.shows_region("000000") && !province.shows_region("H42020000001"));
        assert!(province.shows_row("H44030000001", &["420200", "440300"]), "its insured's item");
        assert!(!province.shows_row("H42020000001", &["440300", "110000"]));
        assert_eq!(province.region_query("").unwrap(), "420000");
        assert_eq!(province.region_query("420200").unwrap(), "420200");
        assert_eq!(province.region_query("440000").unwrap_err().reason, "forbidden");
        assert_eq!(province.region_query("H42020000001").unwrap_err().reason, "forbidden");
        assert_eq!(province.institution_query("H44030000001").unwrap(), "H44030000001");

        let own = ClearingView::Institution("H44030000001");
        assert!(own.shows_row("H44030000001", &["440300"]));
        assert!(!own.shows_row("H44030000002", &["440300"]) && !own.shows_region("440000"));
        assert_eq!(own.institution_query("").unwrap(), "H44030000001");
        assert_eq!(own.institution_query("H44030000002").unwrap_err().reason, "forbidden");

        let all = ClearingView::All;
        assert!(all.shows_region("440000") && all.shows_row("H1", &[]));
        assert_eq!(all.region_query("").unwrap(), "");
        assert_eq!(all.institution_query(" H1 ").unwrap(), "H1");
    }

    /// Every cell of [`policy_access`]'s table.
    #[test]
    fn policy_documents_cell_by_cell() {
        let principals = [
            Principal::Hospital("H42020000001".into()),
            Principal::Citizen("P420200001".into()),
            Principal::ProvinceOperator("420000".into()),
            Principal::NationalOperator,
            Principal::Anonymous,
            Principal::Development,
        ];
        // Columns: own region read, act; other province's region read, act; national read, act.
        let expected: [[Result<(), &str>; 6]; 6] = [
            [Err("forbidden"); 6],
            [Err("forbidden"); 6],
            [Ok(()), Ok(()), Err("forbidden"), Err("forbidden"), Ok(()), Err("forbidden")],
            [Ok(()), Err("forbidden"), Ok(()), Err("forbidden"), Ok(()), Ok(())],
            [Err("unauthenticated"); 6],
            [Ok(()); 6],
        ];
        let cells = [
            (PolicyScope::Region("420200"), false),
            (PolicyScope::Region("420200"), true),
            (PolicyScope::Region("440300"), false),
            (PolicyScope::Region("440300"), true),
            (PolicyScope::National, false),
            (PolicyScope::National, true),
        ];
        for (principal, row) in principals.iter().zip(expected) {
            for ((scope, act), expected) in cells.iter().zip(row) {
                let outcome = policy_access(principal, *scope, *act).map_err(|d| d.reason);
                assert_eq!(outcome, expected, "{principal:?} {scope:?} act={act}");
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
