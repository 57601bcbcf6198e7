-- Two more kinds of catalogue item, lists a visit's disease is declared against rather than
-- things a fee line bills: 按病种付费病种 (national download 1310) and 日间手术治疗病种 (1311).
-- A day-surgery entry names its operation (ICD-9-CM-3 医保版); a disease-payment entry may name
-- the one operation it is limited to (限定手术操作). Every other item names none ('').
ALTER TABLE items DROP CONSTRAINT items_kind_check;
ALTER TABLE items ADD CONSTRAINT items_kind_check
    CHECK (kind IN ('western_drug', 'patent_drug', 'herbal', 'service', 'consumable',
                    'diagnosis', 'operation', 'disease_payment', 'day_surgery'));
ALTER TABLE items ADD COLUMN operation_code TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN operation_name TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD CONSTRAINT items_operation_only_for_disease_lists
    CHECK (operation_code = '' OR kind IN ('disease_payment', 'day_surgery'));
