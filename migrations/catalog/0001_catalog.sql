-- Catalogue unification (目录): national items, coverage rules per scope, hospital mappings,
-- all stamped with the catalogue version that published them.

-- Versions are handed out in commit order: writers hold a transaction-scoped advisory lock
-- while they take the next number and write, so "changes since V" never misses a version.
CREATE SEQUENCE catalog_ver;

CREATE TABLE catalog_versions (
    ver           BIGINT PRIMARY KEY,
    published_at  TIMESTAMPTZ NOT NULL,
    source        TEXT NOT NULL,
    operator      TEXT NOT NULL,
    row_count     BIGINT NOT NULL
);

CREATE TABLE items (
    code        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('western_drug', 'patent_drug', 'herbal', 'service',
                                              'consumable', 'diagnosis', 'operation')),
    name        TEXT NOT NULL,
    spec        TEXT NOT NULL DEFAULT '',
    unit        TEXT NOT NULL DEFAULT '',
    begin_date  DATE NOT NULL,
    end_date    DATE CHECK (end_date IS NULL OR end_date >= begin_date),
    ver         BIGINT NOT NULL REFERENCES catalog_versions (ver)
);
CREATE INDEX items_ver ON items (ver);

-- scope '000000' = national; else the admdvs of a treating province or pooling region.
CREATE TABLE coverage (
    id                          BIGSERIAL PRIMARY KEY,
    scope                       CHAR(6) NOT NULL CHECK (scope ~ '^[0-9]{6}$'),
    code                        TEXT NOT NULL REFERENCES items (code),
    class                       CHAR(1) NOT NULL CHECK (class IN ('A', 'B', 'C')),
    selfpay_ratio               NUMERIC(5, 4) NOT NULL CHECK (selfpay_ratio BETWEEN 0 AND 1),
    selfpay_ratio_by_insutype   JSONB NOT NULL DEFAULT '{}',
    price_cap_fen               BIGINT CHECK (price_cap_fen >= 0),
    hospital_levels             TEXT[] NOT NULL DEFAULT '{}',
    diagnosis_prefixes          TEXT[] NOT NULL DEFAULT '{}',
    min_age                     INTEGER,
    max_age                     INTEGER,
    begin_date                  DATE NOT NULL,
    end_date                    DATE CHECK (end_date IS NULL OR end_date >= begin_date),
    ver                         BIGINT NOT NULL REFERENCES catalog_versions (ver)
);
CREATE INDEX coverage_code ON coverage (code, scope);
CREATE INDEX coverage_ver ON coverage (ver);

-- A revoked mapping keeps its row: end_date becomes the day before the revocation, so fee
-- lines of earlier days still resolve.
CREATE TABLE mappings (
    id              BIGSERIAL PRIMARY KEY,
    fixmedins_code  TEXT NOT NULL,
    local_code      TEXT NOT NULL,
    local_name      TEXT NOT NULL DEFAULT '',
    national_code   TEXT NOT NULL REFERENCES items (code),
    begin_date      DATE NOT NULL,
    end_date        DATE,
    revoked_at      TIMESTAMPTZ,
    ver             BIGINT NOT NULL REFERENCES catalog_versions (ver)
);
CREATE UNIQUE INDEX mappings_active ON mappings (fixmedins_code, local_code) WHERE revoked_at IS NULL;
CREATE INDEX mappings_ver ON mappings (ver);

-- Answers already given, by sender and message id: a retry gets the same answer.
CREATE TABLE requests (
    sender    TEXT NOT NULL,
    msgid     TEXT NOT NULL,
    body      TEXT NOT NULL,
    response  BYTEA NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (sender, msgid)
);

CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    details      JSONB NOT NULL,
    trace_id     TEXT
);

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
