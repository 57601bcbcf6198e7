-- The clearing type (clr_type) of a settlement: the visit's med_type code (11 general
-- outpatient, 14 chronic-disease outpatient, 21 inpatient, 41 pharmacy). Clearing's daily
-- reconciliation with hospitals (3201/3202) may be asked per clearing type.
ALTER TABLE settlements ADD COLUMN clr_type TEXT NOT NULL DEFAULT '';
