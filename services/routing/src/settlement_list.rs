//! Settlement lists (医疗保障基金结算清单, national 4101): after a settlement, the hospital
//! uploads the list that describes it — the stay, its diagnoses and operations, what the funds
//! paid — for the insurer's review. The list is kept as sent (a JSON document), beside the
//! fields checked against the settlement it names ([`check`]): it must be the sender's own
//! settlement, standing (not cancelled), of the visit and the person the list names.
//!
//! One msgid, one list: the same msgid again answers the list it made (and changes nothing);
//! with another document it is refused (`msgid_reused`). A list sent again for the same
//! settlement with a new msgid is a new version of it: the latest is current, the earlier ones
//! are kept (the national platform corrects a list by uploading it again).

use medclear_common::{Error, Result};

use crate::{
    lifecycle::Lifecycle,
    model::SettlementListUpload,
    partition::new_id,
    repo::{self, SettlementListRow, SettlementRow, StoredList},
};

/// Whether `upload` may be a list of `settlement` (the row its `setl_id` names, if any): the
/// sender's own settlement — not a cancellation — that stands, of the visit and the person the
/// list names. A mismatch is refused naming the field (`mismatch`).
pub(crate) fn check(
    upload: &SettlementListUpload,
    settlement: Option<&SettlementRow>,
) -> Result<()> {
    let SettlementListUpload { sender, setl_id, mdtrt_id, psn_no, .. } = upload;
    let settlement =
        settlement.filter(|s| s.kind == "settlement" && s.sender == *sender).ok_or_else(|| {
            Error::not_found(
                "settlement_not_found",
                format!("{sender} has no settlement {setl_id}"),
            )
        })?;
    if let Some(cancellation) = &settlement.cancelled_by {
        return Err(Error::precondition(
            "settlement_cancelled",
            format!("settlement {setl_id} was cancelled ({cancellation}): it takes no list"),
        ));
    }
    let settled_visit = settlement.mdtrt_id.as_deref().unwrap_or_default();
    if settled_visit != mdtrt_id {
        return Err(Error::invalid(
            "mdtrt_id",
            "mismatch",
            format!("mdtrt_id {mdtrt_id} is not the visit settlement {setl_id} closed"),
        ));
    }
    if settlement.psn_no != *psn_no {
        return Err(Error::invalid(
            "psn_no",
            "mismatch",
            format!("psn_no {psn_no} is not the person of settlement {setl_id}"),
        ));
    }
    Ok(())
}

/// The list a msgid made, as a retry gets it: refused when the retry sends another request.
fn replayed(earlier: StoredList, sha256: &str, msgid: &str) -> Result<StoredList> {
    if earlier.row.request_sha256 != sha256 {
        return Err(Error::already_exists(
            "msgid_reused",
            format!("msgid {msgid} was used for another settlement list"),
        ));
    }
    Ok(earlier)
}

impl Lifecycle {
    /// Upload a settlement list (4101): kept as the next version of its settlement's lists,
    /// once per msgid.
    pub async fn upload_settlement_list(
        &self,
        upload: &SettlementListUpload,
    ) -> Result<StoredList> {
        let sha256 = upload.sha256()?;
        let (sender, msgid) = (upload.sender.as_str(), upload.msgid.as_str());
        let mut tx = self.pool().begin().await?;
        if let Some(earlier) = repo::settlement_list_by_msgid(&mut tx, sender, msgid).await? {
            return replayed(earlier, &sha256, msgid);
        }
        // Locked until the list is in: a cancellation waits for it (or it for the
        // cancellation, and then sees it), and the settlement's versions are given in turn.
        let settlement = repo::lock_settlement(&mut tx, &upload.setl_id).await?;
        check(upload, settlement.as_ref())?;
        let home = settlement.map(|s| s.insuplc_admdvs).unwrap_or_default();
        // A twin of this request that was kept while this one waited for the lock.
        if let Some(earlier) = repo::settlement_list_by_msgid(&mut tx, sender, msgid).await? {
            return replayed(earlier, &sha256, msgid);
        }
        let mut row = SettlementListRow {
            setl_list_id: new_id('L', &home),
            setl_id: upload.setl_id.clone(),
            version: 0,
            sender: sender.to_owned(),
            msgid: msgid.to_owned(),
            request_sha256: sha256,
            mdtrt_id: upload.mdtrt_id.clone(),
            psn_no: upload.psn_no.clone(),
            adm_date: upload.adm_date,
            dscg_date: upload.dscg_date,
            fund_payamt_fen: upload.fund_payamt_fen,
            document: upload.document.clone(),
            uploaded_at: self.store().now(),
        };
        row.version = repo::insert_settlement_list(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(StoredList { row, current: true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medclear_common::codes::MessageId;
    use serde_json::json;

    fn upload() -> SettlementListUpload {
        SettlementListUpload {
            sender: "H44030000001".into(),
            msgid: MessageId::parse("H44030000001202603020900000001").unwrap(),
            setl_id: "S42A".into(),
            mdtrt_id: "V42A".into(),
            psn_no: "P1".into(),
            adm_date: None,
            dscg_date: None,
            fund_payamt_fen: 0,
            document: json!({"setlinfo": {}}),
        }
    }

    fn settlement() -> SettlementRow {
        SettlementRow {
            setl_id: "S42A".into(),
            sender: "H44030000001".into(),
            msgid: "M".into(),
            request_body: String::new(),
            kind: "settlement".into(),
            orig_setl_id: None,
            psn_no: "P1".into(),
            insuplc_admdvs: "420200".into(),
            mdtrtarea_admvs: "440300".into(),
            year: 2026,
            setl_time: chrono::Utc::now(),
            medfee_sumamt: 100,
            fund_pay_sumamt: 90,
            acct_pay: 0,
            psn_cash_pay: 10,
            policy_version: String::new(),
            lines: json!([]),
            breakdown: json!({}),
            contribution: json!({}),
            answer: json!({}),
            cancelled_by: None,
            mdtrt_id: Some("V42A".into()),
            clr_type: "21".into(),
            insutype: "310".into(),
            inputs: None,
        }
    }

    fn refusal(upload: &SettlementListUpload, settlement: Option<&SettlementRow>) -> String {
        match check(upload, settlement) {
            Err(Error::Problem(p)) => {
                format!("{}:{}", p.reason, p.field.as_deref().unwrap_or_default())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_list_is_of_the_senders_standing_settlement_of_its_visit_and_person() {
        let s = settlement();
        assert!(check(&upload(), Some(&s)).is_ok());
        assert_eq!(refusal(&upload(), None), "settlement_not_found:");
        let elsewhere = SettlementRow { sender: "H44030000009".into(), ..s.clone() };
        assert_eq!(refusal(&upload(), Some(&elsewhere)), "settlement_not_found:");
        let cancellation = SettlementRow {
            kind: "cancellation".into(),
            orig_setl_id: Some("S0".into()),
            ..s.clone()
        };
        assert_eq!(refusal(&upload(), Some(&cancellation)), "settlement_not_found:");
        let cancelled = SettlementRow { cancelled_by: Some("S42B".into()), ..s.clone() };
        assert_eq!(refusal(&upload(), Some(&cancelled)), "settlement_cancelled:");
        let other_visit = SettlementListUpload { mdtrt_id: "V42B".into(), ..upload() };
        assert_eq!(refusal(&other_visit, Some(&s)), "mismatch:mdtrt_id");
        let other_person = SettlementListUpload { psn_no: "P2".into(), ..upload() };
        assert_eq!(refusal(&other_person, Some(&s)), "mismatch:psn_no");
    }

    #[test]
    fn a_retry_must_send_the_same_request() {
        let sha = upload().sha256().unwrap();
        assert_eq!(sha.len(), 64);
        let other = SettlementListUpload { document: json!({"setlinfo": {"a": 1}}), ..upload() };
        assert_ne!(other.sha256().unwrap(), sha, "the document counts");
        let stored = StoredList {
            row: SettlementListRow {
                setl_list_id: "L42A".into(),
                setl_id: "S42A".into(),
                version: 1,
                sender: "H44030000001".into(),
                msgid: "M".into(),
                request_sha256: sha.clone(),
                mdtrt_id: "V42A".into(),
                psn_no: "P1".into(),
                adm_date: None,
                dscg_date: None,
                fund_payamt_fen: 0,
                document: json!({}),
                uploaded_at: chrono::Utc::now(),
            },
            current: true,
        };
        assert_eq!(replayed(stored.clone(), &sha, "M").unwrap(), stored);
        let refused = replayed(stored, &other.sha256().unwrap(), "M").unwrap_err();
        assert_eq!(refused.reason(), "msgid_reused");
    }
}
