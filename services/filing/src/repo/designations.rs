//! Storage of person designations (table `designations`, migration 0004).

use chrono::{DateTime, NaiveDate, Utc};
use medclear_common::{
    Error, Result,
    codes::{FixmedinsCode, PsnNo},
};
use sqlx::{FromRow, PgConnection};

use super::{RevocationColumns, actor, admdvs, corrupt, psn_no};
use crate::domain::{
    Revocation,
    designation::{Agent, BizAppyType, Designation},
};

#[derive(FromRow)]
struct DesignationRow {
    trt_dcla_detl_sn: String,
    psn_no: String,
    insuplc_admdvs: String,
    insutype: String,
    biz_appy_type: String,
    fixmedins_code: String,
    fixmedins_name: String,
    fix_srt_no: i32,
    begin_date: NaiveDate,
    end_date: Option<NaiveDate>,
    tel: String,
    addr: String,
    agnter_name: String,
    agnter_cert_type: String,
    agnter_certno: String,
    agnter_tel: String,
    agnter_addr: String,
    agnter_rlts: String,
    memo: String,
    filed_by: String,
    channel: String,
    filed_at: DateTime<Utc>,
    #[sqlx(flatten)]
    revocation: RevocationColumns,
}

impl TryFrom<DesignationRow> for Designation {
    type Error = Error;
    fn try_from(row: DesignationRow) -> Result<Self> {
        Ok(Designation {
            psn_no: psn_no(&row.psn_no)?,
            home: admdvs(&row.insuplc_admdvs)?,
            biz_appy_type: BizAppyType::parse(&row.biz_appy_type)
                .ok_or_else(|| corrupt("biz_appy_type", &row.biz_appy_type))?,
            fixmedins_code: FixmedinsCode::parse(&row.fixmedins_code)
                .map_err(|_| corrupt("fixmedins_code", &row.fixmedins_code))?,
            fix_srt_no: u16::try_from(row.fix_srt_no)
                .map_err(|_| corrupt("fix_srt_no", &row.fix_srt_no.to_string()))?,
            filed_by: actor(row.filed_by, Some(&row.channel))?,
            revocation: row.revocation.into_domain()?,
            id: row.trt_dcla_detl_sn,
            insutype: row.insutype,
            fixmedins_name: row.fixmedins_name,
            begin: row.begin_date,
            end: row.end_date,
            tel: row.tel,
            addr: row.addr,
            agent: Agent {
                name: row.agnter_name,
                cert_type: row.agnter_cert_type,
                certno: row.agnter_certno,
                tel: row.agnter_tel,
                addr: row.agnter_addr,
                rlts: row.agnter_rlts,
            },
            memo: row.memo,
            filed_at: row.filed_at,
        })
    }
}

const COLUMNS: &str = "trt_dcla_detl_sn, psn_no, insuplc_admdvs, insutype, biz_appy_type, \
     fixmedins_code, fixmedins_name, fix_srt_no, begin_date, end_date, tel, addr, agnter_name, \
     agnter_cert_type, agnter_certno, agnter_tel, agnter_addr, agnter_rlts, memo, filed_by, \
     channel, filed_at, revoked_at, revoked_on, revoked_by, revoke_channel, revoke_reason";

pub async fn get(conn: &mut PgConnection, id: &str) -> Result<Option<Designation>> {
    let sql = format!("SELECT {COLUMNS} FROM designations WHERE trt_dcla_detl_sn = $1");
    let row = sqlx::query_as::<_, DesignationRow>(&sql).bind(id).fetch_optional(conn).await?;
    row.map(Designation::try_from).transpose()
}

/// Every designation of a person, oldest first.
pub async fn of_person(conn: &mut PgConnection, psn_no: &PsnNo) -> Result<Vec<Designation>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM designations WHERE psn_no = $1 ORDER BY filed_at, trt_dcla_detl_sn"
    );
    let rows =
        sqlx::query_as::<_, DesignationRow>(&sql).bind(psn_no.as_str()).fetch_all(conn).await?;
    rows.into_iter().map(Designation::try_from).collect()
}

/// A designation earlier filed by the same sender under the same request id, and the request
/// body it was filed from.
pub async fn by_request(
    conn: &mut PgConnection,
    filed_by: &str,
    request_id: &str,
) -> Result<Option<(Designation, String)>> {
    #[derive(FromRow)]
    struct WithBody {
        #[sqlx(flatten)]
        designation: DesignationRow,
        request_body: Option<String>,
    }
    let sql = format!(
        "SELECT {COLUMNS}, request_body FROM designations WHERE filed_by = $1 AND request_id = $2"
    );
    let row = sqlx::query_as::<_, WithBody>(&sql)
        .bind(filed_by)
        .bind(request_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((Designation::try_from(r.designation)?, r.request_body.unwrap_or_default())))
        .transpose()
}

pub async fn insert(
    conn: &mut PgConnection,
    d: &Designation,
    request: Option<(&str, &str)>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO designations (trt_dcla_detl_sn, request_id, request_body, psn_no,
             insuplc_admdvs, insutype, biz_appy_type, fixmedins_code, fixmedins_name,
             fix_srt_no, begin_date, end_date, tel, addr, agnter_name, agnter_cert_type,
             agnter_certno, agnter_tel, agnter_addr, agnter_rlts, memo, filed_by, channel,
             filed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19, $20, $21, $22, $23, $24)",
    )
    .bind(&d.id)
    .bind(request.map(|(id, _)| id))
    .bind(request.map(|(_, body)| body))
    .bind(d.psn_no.as_str())
    .bind(d.home.as_str())
    .bind(&d.insutype)
    .bind(d.biz_appy_type.code())
    .bind(d.fixmedins_code.as_str())
    .bind(&d.fixmedins_name)
    .bind(i32::from(d.fix_srt_no))
    .bind(d.begin)
    .bind(d.end)
    .bind(&d.tel)
    .bind(&d.addr)
    .bind(&d.agent.name)
    .bind(&d.agent.cert_type)
    .bind(&d.agent.certno)
    .bind(&d.agent.tel)
    .bind(&d.agent.addr)
    .bind(&d.agent.rlts)
    .bind(&d.memo)
    .bind(&d.filed_by.id)
    .bind(d.filed_by.channel.as_str())
    .bind(d.filed_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a revocation on a designation that is not revoked yet.
pub async fn revoke(conn: &mut PgConnection, id: &str, revocation: &Revocation) -> Result<()> {
    let done = sqlx::query(
        "UPDATE designations SET revoked_at = $2, revoked_on = $3, revoked_by = $4,
             revoke_channel = $5, revoke_reason = $6
         WHERE trt_dcla_detl_sn = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(revocation.at)
    .bind(revocation.on)
    .bind(&revocation.by.id)
    .bind(revocation.by.channel.as_str())
    .bind(&revocation.reason)
    .execute(conn)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::precondition("already_revoked", format!("{id} is revoked already")))
    }
}
