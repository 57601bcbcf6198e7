-- Interregional netting and clearing (清算): the items consumed from every routing instance,
-- the aggregates kept at consumption, periods, the double-entry ledger, prepaid funds and the
-- audit trail. DESIGN.md §4.4.

-- Periods, monthly by default: open → closed → netted → confirmed → settled.
CREATE TABLE periods (
    period_id      TEXT PRIMARY KEY,
    begin_date     DATE NOT NULL,
    end_date       DATE NOT NULL CHECK (end_date >= begin_date),
    status         TEXT NOT NULL CHECK (status IN ('open', 'closed', 'netted', 'confirmed', 'settled')),
    netting_run    INTEGER NOT NULL DEFAULT 0,
    opened_at      TIMESTAMPTZ NOT NULL,
    closed_at      TIMESTAMPTZ,
    netted_at      TIMESTAMPTZ,
    confirmed_at   TIMESTAMPTZ,
    settled_at     TIMESTAMPTZ,
    UNIQUE (begin_date)
);

-- Where each routing instance's stream was read up to; moved in the same transaction as the
-- items it covers, so a crash loses nothing and counts nothing twice.
CREATE TABLE cursors (
    source              TEXT PRIMARY KEY,
    last_seq            BIGINT NOT NULL DEFAULT 0,
    last_event_at       TIMESTAMPTZ,
    updated_at          TIMESTAMPTZ NOT NULL,
    events_ingested     BIGINT NOT NULL DEFAULT 0,
    duplicates_ignored  BIGINT NOT NULL DEFAULT 0
);

-- Every settlement and cancellation, once (the raw records the audit recomputes from).
-- Amounts are signed: a cancellation carries the negated amounts of what it undoes.
CREATE TABLE items (
    setl_id            TEXT PRIMARY KEY,
    source             TEXT NOT NULL,
    seq                BIGINT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('settlement', 'cancellation')),
    orig_setl_id       TEXT,
    home_province      CHAR(6) NOT NULL,
    treating_province  CHAR(6) NOT NULL,
    fixmedins_code     TEXT NOT NULL,
    insutype           TEXT NOT NULL,
    clr_type           TEXT NOT NULL,
    psn_no             TEXT NOT NULL,
    msgid              TEXT NOT NULL,
    mdtrt_id           TEXT NOT NULL,
    medfee_sumamt      BIGINT NOT NULL,
    fund_pay_sumamt    BIGINT NOT NULL,
    acct_pay           BIGINT NOT NULL,
    psn_cash_pay       BIGINT NOT NULL,
    setl_time          TIMESTAMPTZ NOT NULL,
    stmt_date          DATE NOT NULL,
    period_id          TEXT NOT NULL REFERENCES periods (period_id),
    late               BOOLEAN NOT NULL,
    carried_from       TEXT REFERENCES periods (period_id),
    CHECK (medfee_sumamt = fund_pay_sumamt + acct_pay + psn_cash_pay)
);
-- Reconciliation with hospitals (3201/3202) and hospital statements read by hospital.
CREATE INDEX items_hospital_day ON items (fixmedins_code, stmt_date);

-- The gross bilateral matrix per period, kept at consumption (never by rescanning items).
CREATE TABLE cells (
    period_id          TEXT NOT NULL REFERENCES periods (period_id),
    home_province      CHAR(6) NOT NULL,
    treating_province  CHAR(6) NOT NULL,
    settlements        BIGINT NOT NULL,
    reversals          BIGINT NOT NULL,
    medfee_sumamt      BIGINT NOT NULL,
    fund_pay_sumamt    BIGINT NOT NULL,
    acct_pay           BIGINT NOT NULL,
    psn_cash_pay       BIGINT NOT NULL,
    late               BIGINT NOT NULL,
    carried_in         BIGINT NOT NULL,
    PRIMARY KEY (period_id, home_province, treating_province)
) WITH (fillfactor = 50);

-- What each hospital is owed per period, kept the same way (its split by home province is
-- read from the items when a statement asks for it).
CREATE TABLE hospital_cells (
    period_id          TEXT NOT NULL REFERENCES periods (period_id),
    fixmedins_code     TEXT NOT NULL,
    treating_province  CHAR(6) NOT NULL,
    settlements        BIGINT NOT NULL,
    reversals          BIGINT NOT NULL,
    medfee_sumamt      BIGINT NOT NULL,
    fund_pay_sumamt    BIGINT NOT NULL,
    acct_pay           BIGINT NOT NULL,
    psn_cash_pay       BIGINT NOT NULL,
    PRIMARY KEY (period_id, fixmedins_code)
) WITH (fillfactor = 50); -- room for in-place (HOT) updates: each batch adds to thousands of rows
CREATE INDEX hospital_cells_treating ON hospital_cells (period_id, treating_province, fixmedins_code);

-- Netting runs: a period is netted again after a dispute; only the latest run counts.
CREATE TABLE positions (
    period_id        TEXT NOT NULL REFERENCES periods (period_id),
    netting_run      INTEGER NOT NULL,
    province         CHAR(6) NOT NULL,
    receivable_fen   BIGINT NOT NULL,
    payable_fen      BIGINT NOT NULL,
    net_fen          BIGINT NOT NULL CHECK (net_fen = receivable_fen - payable_fen),
    PRIMARY KEY (period_id, netting_run, province)
);

CREATE TABLE instructions (
    instruction_id   TEXT PRIMARY KEY,
    period_id        TEXT NOT NULL REFERENCES periods (period_id),
    netting_run      INTEGER NOT NULL,
    payer            CHAR(6) NOT NULL,
    payee            CHAR(6) NOT NULL,
    amount_fen       BIGINT NOT NULL CHECK (amount_fen > 0),
    from_prepaid_fen BIGINT NOT NULL DEFAULT 0 CHECK (from_prepaid_fen >= 0 AND from_prepaid_fen <= amount_fen),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'issued', 'executed', 'cancelled')),
    created_at       TIMESTAMPTZ NOT NULL,
    executed_at      TIMESTAMPTZ
);
CREATE INDEX instructions_period ON instructions (period_id, netting_run);

CREATE TABLE confirmations (
    period_id    TEXT NOT NULL REFERENCES periods (period_id),
    province     CHAR(6) NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('confirmed', 'withdrawn')),
    netting_run  INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (period_id, province)
);

CREATE TABLE disputes (
    dispute_id     TEXT PRIMARY KEY,
    request_id     TEXT NOT NULL UNIQUE,
    request_body   TEXT NOT NULL,
    period_id      TEXT NOT NULL REFERENCES periods (period_id),
    province       CHAR(6) NOT NULL,
    setl_ids       TEXT[] NOT NULL,
    reason         TEXT NOT NULL,
    amount_fen     BIGINT NOT NULL,
    carried_to     TEXT NOT NULL REFERENCES periods (period_id),
    actor          TEXT NOT NULL,
    raised_at      TIMESTAMPTZ NOT NULL
);

-- Top-up instructions for prepaid funds below their alert line.
CREATE TABLE topups (
    instruction_id  TEXT PRIMARY KEY,
    province        CHAR(6) NOT NULL,
    amount_fen      BIGINT NOT NULL CHECK (amount_fen > 0),
    target_fen      BIGINT NOT NULL,
    due_date        DATE NOT NULL,
    reason          TEXT NOT NULL,
    issued_at       TIMESTAMPTZ NOT NULL,
    fulfilled_at    TIMESTAMPTZ
);
CREATE UNIQUE INDEX topups_one_outstanding ON topups (province) WHERE fulfilled_at IS NULL;

-- Prepaid deposits recorded by request id (a retry records nothing twice).
CREATE TABLE deposits (
    request_id      TEXT PRIMARY KEY,
    request_body    TEXT NOT NULL,
    province        CHAR(6) NOT NULL,
    amount_fen      BIGINT NOT NULL CHECK (amount_fen <> 0),
    value_date      DATE NOT NULL,
    bank_reference  TEXT NOT NULL,
    posting_id      BIGINT NOT NULL
);

-- The double-entry ledger. A posting's lines sum to zero (checked at commit); nothing is
-- ever updated or deleted: a correction is a new posting. Balances are sums of lines.
CREATE TABLE postings (
    posting_id  BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL,
    period_id   TEXT REFERENCES periods (period_id),
    reference   TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL
);
CREATE TABLE posting_lines (
    posting_id  BIGINT NOT NULL REFERENCES postings (posting_id),
    account     TEXT NOT NULL,
    amount_fen  BIGINT NOT NULL,
    PRIMARY KEY (posting_id, account)
);
CREATE INDEX posting_lines_account ON posting_lines (account);

-- A posting's lines are written by one statement; after it, every posting it touched must sum
-- to zero, or the statement (and its transaction) fails.
CREATE FUNCTION postings_are_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad RECORD;
BEGIN
    SELECT l.posting_id, SUM(l.amount_fen) AS total INTO bad
    FROM posting_lines l
    WHERE l.posting_id IN (SELECT DISTINCT posting_id FROM new_lines)
    GROUP BY l.posting_id HAVING SUM(l.amount_fen) <> 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting % is not balanced: lines sum to % fen', bad.posting_id, bad.total;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER posting_lines_balanced AFTER INSERT ON posting_lines
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION postings_are_balanced();

-- Every state change: who, when, what, under which trace. Rows are only ever inserted.
CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    details      JSONB NOT NULL,
    trace_id     TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);

CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER posting_lines_append_only BEFORE UPDATE OR DELETE ON posting_lines
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER posting_lines_no_truncate BEFORE TRUNCATE ON posting_lines
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
