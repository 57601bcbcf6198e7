-- Settlement lists (医疗保障基金结算清单, national 4101) hospitals upload for their settlements:
-- one row per upload, the document as sent beside the fields that were checked. A settlement's
-- lists are numbered 1, 2, … in the order they came (a re-upload with a new msgid is a new
-- version; the latest is current, the earlier ones are kept); one msgid of a sender is one
-- upload, whatever is sent again with it.
CREATE TABLE settlement_lists (
    setl_list_id     TEXT PRIMARY KEY,
    setl_id          TEXT NOT NULL REFERENCES settlements (setl_id),
    version          INTEGER NOT NULL CHECK (version >= 1),
    sender           TEXT NOT NULL,
    msgid            TEXT NOT NULL,
    -- What a retry with the msgid must match (SHA-256 of the validated request).
    request_sha256   TEXT NOT NULL,
    mdtrt_id         TEXT NOT NULL,
    psn_no           TEXT NOT NULL,
    adm_date         DATE,
    dscg_date        DATE CHECK (dscg_date IS NULL OR adm_date IS NULL OR dscg_date >= adm_date),
    fund_payamt_fen  BIGINT NOT NULL CHECK (fund_payamt_fen >= 0),
    document         JSONB NOT NULL CHECK (jsonb_typeof(document) = 'object'),
    uploaded_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (sender, msgid),
    UNIQUE (setl_id, version)
);
