-- Person designations (人员定点, national 2505 / 2506 / 5302): which designated institutions
-- (定点医药机构) a person uses, per kind of business (biz_appy_type) and in which order
-- (fix_srt_no). Kept beside the referral and chronic-disease filings, with the same
-- who-filed / who-revoked columns; one sender's request id (msgid) makes at most one row.

CREATE TABLE designations (
    -- The serial the platform answers (trt_dcla_detl_sn) and 2506 names.
    trt_dcla_detl_sn  TEXT PRIMARY KEY,
    -- The sender's message id and what it asked (canonical JSON), for retries: one id, one effect.
    request_id        TEXT,
    request_body      TEXT,
    psn_no            TEXT NOT NULL,
    insuplc_admdvs    CHAR(6) NOT NULL REFERENCES regions (admdvs),
    -- The person's insurance type (险种类型) the designation is for: sent with it, else the
    -- person's as the gateway found it.
    insutype          TEXT NOT NULL CHECK (insutype ~ '^[0-9]{3,6}$'),
    -- The national BIZ_APPY_TYPE code; the service keeps the list of known ones.
    biz_appy_type     TEXT NOT NULL CHECK (biz_appy_type ~ '^[0-9]{2}$'),
    fixmedins_code    TEXT NOT NULL CHECK (fixmedins_code ~ '^[HP][0-9]{11}$'),
    fixmedins_name    TEXT NOT NULL DEFAULT '',
    fix_srt_no        INTEGER NOT NULL CHECK (fix_srt_no BETWEEN 1 AND 999),
    begin_date        DATE NOT NULL,
    end_date          DATE CHECK (end_date IS NULL OR end_date >= begin_date),
    tel               TEXT NOT NULL DEFAULT '',
    addr              TEXT NOT NULL DEFAULT '',
    agnter_name       TEXT NOT NULL DEFAULT '',
    agnter_cert_type  TEXT NOT NULL DEFAULT '',
    agnter_certno     TEXT NOT NULL DEFAULT '',
    agnter_tel        TEXT NOT NULL DEFAULT '',
    agnter_addr       TEXT NOT NULL DEFAULT '',
    agnter_rlts       TEXT NOT NULL DEFAULT '',
    memo              TEXT NOT NULL DEFAULT '',
    filed_by          TEXT NOT NULL,
    channel           TEXT NOT NULL CHECK (channel IN ('citizen_online', 'hospital', 'agency')),
    filed_at          TIMESTAMPTZ NOT NULL,
    -- Revocation ends the designation the day before `revoked_on` (China date of the revocation).
    revoked_at        TIMESTAMPTZ,
    revoked_on        DATE,
    revoked_by        TEXT,
    revoke_channel    TEXT,
    revoke_reason     TEXT,
    CHECK ((revoked_at IS NULL) = (revoked_on IS NULL)),
    UNIQUE (filed_by, request_id)
);
CREATE INDEX designations_psn_no ON designations (psn_no, biz_appy_type);
