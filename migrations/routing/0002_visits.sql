-- Visits (就诊) and their fee lines, as hospitals register and upload them.

CREATE TABLE visits (
    mdtrt_id         TEXT PRIMARY KEY,
    fixmedins_code   TEXT NOT NULL,
    msgid            TEXT NOT NULL,
    request_body     TEXT NOT NULL,
    psn_no           TEXT NOT NULL REFERENCES persons (psn_no),
    med_type         SMALLINT NOT NULL CHECK (med_type IN (11, 14, 21, 41)),
    mdtrtarea_admvs  CHAR(6) NOT NULL,
    hospital_level   TEXT NOT NULL CHECK (hospital_level IN ('tertiary', 'secondary', 'primary', 'ungraded')),
    begin_date       DATE NOT NULL,
    end_date         DATE CHECK (end_date IS NULL OR end_date >= begin_date),
    diagnosis_code   TEXT NOT NULL DEFAULT '',
    disease_code     TEXT NOT NULL DEFAULT '',
    emergency        BOOLEAN NOT NULL DEFAULT false,
    status           TEXT NOT NULL CHECK (status IN ('open', 'discharged', 'settled', 'cancelled')),
    setl_id          TEXT REFERENCES settlements (setl_id),
    UNIQUE (fixmedins_code, msgid)
);
CREATE INDEX visits_psn_no ON visits (psn_no);

CREATE TABLE fee_lines (
    mdtrt_id       TEXT NOT NULL REFERENCES visits (mdtrt_id),
    feedetl_sn     TEXT NOT NULL,
    local_code     TEXT NOT NULL,
    national_code  TEXT NOT NULL DEFAULT '',
    price_fen      BIGINT NOT NULL CHECK (price_fen > 0),
    quantity       NUMERIC(18, 4) NOT NULL CHECK (quantity > 0),
    fee_date       DATE NOT NULL,
    cancelled      BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (mdtrt_id, feedetl_sn)
);

-- The visit a settlement closed, so a cancellation reopens it.
ALTER TABLE settlements ADD COLUMN mdtrt_id TEXT REFERENCES visits (mdtrt_id);
