-- Clearing applications of institutions (national 3203 清算申请, revoked by 3204 清算申请撤销):
-- a month and clearing category an institution applies to have cleared, with the totals it
-- declared — accepted only when they are clearing's own — in the period holding that month.
CREATE TABLE applications (
    clr_appy_evt_id    TEXT PRIMARY KEY,
    -- The sender's msgid: the same one again answers this row (with the same body).
    request_id         TEXT NOT NULL,
    request_body       TEXT NOT NULL,
    fixmedins_code     TEXT NOT NULL,
    clr_type           TEXT NOT NULL,
    clr_way            TEXT NOT NULL,
    setlym             CHAR(6) NOT NULL,
    begndate           DATE NOT NULL,
    enddate            DATE NOT NULL CHECK (enddate >= begndate),
    period_id          TEXT NOT NULL REFERENCES periods (period_id),
    psntime            BIGINT NOT NULL,
    medfee_sumamt      BIGINT NOT NULL,
    med_sumfee         BIGINT NOT NULL CHECK (med_sumfee >= 0 AND med_sumfee <= medfee_sumamt),
    fund_appy_sum      BIGINT NOT NULL,
    cash_payamt        BIGINT NOT NULL,
    acct_pay           BIGINT NOT NULL,
    applied_at         TIMESTAMPTZ NOT NULL,
    -- Revoked (3204) when set; standing while null.
    revoked_at         TIMESTAMPTZ,
    revoke_request_id  TEXT,
    memo               TEXT NOT NULL DEFAULT '',
    -- Accepted totals are clearing's, whose every item has medfee = fund + acct + cash.
    CHECK (medfee_sumamt = fund_appy_sum + cash_payamt + acct_pay),
    CHECK ((revoked_at IS NULL) = (revoke_request_id IS NULL)),
    UNIQUE (fixmedins_code, request_id)
);
-- One standing application per institution, month and clearing category.
CREATE UNIQUE INDEX applications_standing ON applications (fixmedins_code, clr_type, setlym)
    WHERE revoked_at IS NULL;
-- Listed by period (and the hospital statements of a period) and by institution.
CREATE INDEX applications_period ON applications (period_id, fixmedins_code);
CREATE INDEX applications_institution ON applications (fixmedins_code, clr_appy_evt_id);
