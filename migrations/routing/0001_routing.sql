-- Claim routing and settlement (结算): persons, their yearly accumulators, settlements with
-- their fund details, and the outbox of settlement events that clearing consumes.

CREATE TABLE persons (
    psn_no               TEXT PRIMARY KEY,
    certno               TEXT NOT NULL UNIQUE,
    psn_name             TEXT NOT NULL,
    insutype             CHAR(3) NOT NULL CHECK (insutype ~ '^[0-9]{3}$'),
    retired              BOOLEAN NOT NULL,
    insuplc_admdvs       CHAR(6) NOT NULL CHECK (insuplc_admdvs ~ '^[0-9]{6}$'),
    account_balance_fen  BIGINT NOT NULL CHECK (account_balance_fen >= 0),
    assistance_category  TEXT,
    updated_at           TIMESTAMPTZ NOT NULL
);

-- One row per person and year; locked (FOR UPDATE) by every settlement of the person, so
-- concurrent settlements of one person serialise and no update is lost.
CREATE TABLE accumulators (
    psn_no                 TEXT NOT NULL REFERENCES persons (psn_no),
    year                   INTEGER NOT NULL,
    admissions             INTEGER NOT NULL DEFAULT 0 CHECK (admissions >= 0),
    pooling_paid_fen       BIGINT NOT NULL DEFAULT 0 CHECK (pooling_paid_fen >= 0),
    benefit_paid_fen       BIGINT[] NOT NULL DEFAULT '{0,0,0,0}',
    deductible_paid_fen    BIGINT[] NOT NULL DEFAULT '{0,0,0,0}',
    inscp_self_burden_fen  BIGINT NOT NULL DEFAULT 0 CHECK (inscp_self_burden_fen >= 0),
    layer_paid_fen         BIGINT NOT NULL DEFAULT 0 CHECK (layer_paid_fen >= 0),
    assistance_paid_fen    BIGINT NOT NULL DEFAULT 0 CHECK (assistance_paid_fen >= 0),
    PRIMARY KEY (psn_no, year)
);

-- Settlements and cancellations. A cancellation is its own row (negated amounts) pointing at
-- the settlement it undoes; `contribution` is what the row added to the accumulators.
CREATE TABLE settlements (
    setl_id          TEXT PRIMARY KEY,
    sender           TEXT NOT NULL,
    msgid            TEXT NOT NULL,
    request_body     TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('settlement', 'cancellation')),
    orig_setl_id     TEXT REFERENCES settlements (setl_id),
    psn_no           TEXT NOT NULL REFERENCES persons (psn_no),
    insuplc_admdvs   CHAR(6) NOT NULL,
    mdtrtarea_admvs  CHAR(6) NOT NULL,
    year             INTEGER NOT NULL,
    setl_time        TIMESTAMPTZ NOT NULL,
    medfee_sumamt    BIGINT NOT NULL,
    fund_pay_sumamt  BIGINT NOT NULL,
    acct_pay         BIGINT NOT NULL,
    psn_cash_pay     BIGINT NOT NULL,
    policy_version   TEXT NOT NULL,
    lines            JSONB NOT NULL,
    breakdown        JSONB NOT NULL,
    contribution     JSONB NOT NULL,
    answer           JSONB NOT NULL,
    cancelled_by     TEXT,
    UNIQUE (sender, msgid),
    CHECK ((kind = 'cancellation') = (orig_setl_id IS NOT NULL))
);
CREATE UNIQUE INDEX settlements_one_cancellation ON settlements (orig_setl_id)
    WHERE kind = 'cancellation';
CREATE INDEX settlements_psn_no ON settlements (psn_no);

CREATE TABLE setldetail (
    setl_id           TEXT NOT NULL REFERENCES settlements (setl_id),
    fund_pay_type     TEXT NOT NULL,
    crt_payb_lmt_amt  BIGINT NOT NULL,
    fund_payamt       BIGINT NOT NULL,
    PRIMARY KEY (setl_id, fund_pay_type)
);

-- The outbox clearing reads: every settlement and cancellation once, numbered without gaps
-- (the number comes from a counter row updated in the same transaction, so a rollback gives
-- it back). The home province owes the treating province `obligation_fen`.
CREATE TABLE events (
    seq                BIGINT PRIMARY KEY,
    setl_id            TEXT NOT NULL UNIQUE REFERENCES settlements (setl_id),
    kind               TEXT NOT NULL,
    home_province      CHAR(6) NOT NULL,
    treating_province  CHAR(6) NOT NULL,
    obligation_fen     BIGINT NOT NULL,
    at                 TIMESTAMPTZ NOT NULL
);

CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('events', 0);
