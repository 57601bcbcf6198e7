-- Files exchanged with hospitals for detail reconciliation (3202): the detail list a hospital
-- uploads (9101) and the result it downloads (9102), kept by their file query number.
CREATE TABLE recon_files (
    file_qury_no    TEXT PRIMARY KEY,
    fixmedins_code  TEXT NOT NULL,
    filename        TEXT NOT NULL CHECK (length(filename) BETWEEN 1 AND 200),
    kind            TEXT NOT NULL CHECK (kind IN ('upload', 'result')),
    content         BYTEA NOT NULL,
    -- The sender's message id: the same one again gets the same file query number.
    msgid           TEXT,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX recon_files_msgid ON recon_files (fixmedins_code, msgid)
    WHERE msgid IS NOT NULL;
