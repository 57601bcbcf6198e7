-- Files exchanged with hospitals for detail reconciliation (3202): the detail list a hospital
-- uploads (9101) and the result it downloads (9102), kept by their file query number.
CREATE TABLE recon_files (
    file_qury_no    TEXT PRIMARY KEY,
    fixmedins_code  TEXT NOT NULL,
    filename        TEXT NOT NULL CHECK (length(filename) BETWEEN 1 AND 200),
    kind            TEXT NOT NULL CHECK (kind IN ('upload', 'result')),
    content         BYTEA NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
