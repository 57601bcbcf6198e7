-- The hospital's charge batch (收费批次号, chrg_bchno) of each fee line, so a batch can be
-- withdrawn whole (2205 / 2302 by chrg_bchno). Lines uploaded before it have none.
ALTER TABLE fee_lines ADD COLUMN chrg_bchno TEXT NOT NULL DEFAULT '';
CREATE INDEX fee_lines_batch ON fee_lines (mdtrt_id, chrg_bchno) WHERE chrg_bchno <> '';
