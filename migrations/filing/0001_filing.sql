-- Filing registration (备案): regions, per-home-region rules, filings, chronic-disease
-- filings, and the append-only audit trail.

CREATE TABLE regions (
    admdvs   CHAR(6) PRIMARY KEY CHECK (admdvs ~ '^[0-9]{6}$'),
    name_zh  TEXT NOT NULL,
    name_en  TEXT NOT NULL,
    level    TEXT NOT NULL CHECK (level IN ('province', 'city', 'district'))
);

-- Overrides of the national defaults for one home region (a province, or a pooling region
-- inside it). NULL = not overridden here.
CREATE TABLE region_rules (
    insuplc_admdvs                 CHAR(6) PRIMARY KEY REFERENCES regions (admdvs),
    temporary_min_validity_months  INTEGER CHECK (temporary_min_validity_months BETWEEN 1 AND 120),
    long_term_revoke_lock_months   INTEGER CHECK (long_term_revoke_lock_months BETWEEN 0 AND 120),
    emergency_counts_as_filed      BOOLEAN,
    late_filing_allowed            BOOLEAN,
    max_backdate_days              INTEGER CHECK (max_backdate_days BETWEEN 0 AND 3660),
    max_advance_days               INTEGER CHECK (max_advance_days BETWEEN 0 AND 3660),
    updated_at                     TIMESTAMPTZ NOT NULL,
    updated_by                     TEXT NOT NULL
);

CREATE TABLE filings (
    filing_id        TEXT PRIMARY KEY,
    -- The sender's message id and what it asked (canonical JSON), for retries: one id, one effect.
    request_id       TEXT,
    request_body     TEXT,
    psn_no           TEXT NOT NULL,
    psn_name         TEXT NOT NULL DEFAULT '',
    insuplc_admdvs   CHAR(6) NOT NULL REFERENCES regions (admdvs),
    mdtrtarea_admvs  CHAR(6) NOT NULL REFERENCES regions (admdvs),
    category         TEXT NOT NULL CHECK (category IN (
                         'retiree_resettled', 'long_term_resident', 'stationed_worker',
                         'referral', 'emergency', 'other_temporary')),
    begin_date       DATE NOT NULL,
    end_date         DATE CHECK (end_date IS NULL OR end_date >= begin_date),
    memo             TEXT NOT NULL DEFAULT '',
    filed_by         TEXT NOT NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('citizen_online', 'hospital', 'agency')),
    filed_at         TIMESTAMPTZ NOT NULL,
    -- Revocation ends the filing the day before `revoked_on` (China date of the revocation).
    revoked_at       TIMESTAMPTZ,
    revoked_on       DATE,
    revoked_by       TEXT,
    revoke_channel   TEXT,
    revoke_reason    TEXT,
    CHECK ((revoked_at IS NULL) = (revoked_on IS NULL)),
    UNIQUE (filed_by, request_id)
);
CREATE INDEX filings_psn_no ON filings (psn_no);

-- The chronic / special outpatient diseases a filing may name (门诊慢特病).
CREATE TABLE chronic_diseases (
    code  TEXT PRIMARY KEY,
    name  TEXT NOT NULL
);

CREATE TABLE chronic_filings (
    filing_id        TEXT PRIMARY KEY,
    request_id       TEXT,
    request_body     TEXT,
    psn_no           TEXT NOT NULL,
    insuplc_admdvs   CHAR(6) NOT NULL REFERENCES regions (admdvs),
    disease_code     TEXT NOT NULL REFERENCES chronic_diseases (code),
    diagnosed_by     TEXT NOT NULL,
    begin_date       DATE NOT NULL,
    end_date         DATE CHECK (end_date IS NULL OR end_date >= begin_date),
    filed_by         TEXT NOT NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('citizen_online', 'hospital', 'agency')),
    filed_at         TIMESTAMPTZ NOT NULL,
    revoked_at       TIMESTAMPTZ,
    revoked_on       DATE,
    revoked_by       TEXT,
    revoke_channel   TEXT,
    revoke_reason    TEXT,
    CHECK ((revoked_at IS NULL) = (revoked_on IS NULL)),
    UNIQUE (filed_by, request_id)
);
CREATE INDEX chronic_filings_psn_no ON chronic_filings (psn_no);

-- Every state change: who, through which channel, when, what. Rows are only ever inserted.
CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    channel      TEXT NOT NULL,
    action       TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    details      JSONB NOT NULL,
    trace_id     TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
