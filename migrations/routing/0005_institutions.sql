-- The registry of designated institutions (定点医药机构): what the national interface does not
-- send with each visit but settlement needs — the institution's region and hospital level.
CREATE TABLE institutions (
    fixmedins_code   TEXT PRIMARY KEY CHECK (fixmedins_code ~ '^[HP][0-9]{11}$'),
    fixmedins_name   TEXT NOT NULL CHECK (length(fixmedins_name) BETWEEN 1 AND 200),
    admdvs           CHAR(6) NOT NULL CHECK (admdvs ~ '^[0-9]{6}$'),
    hospital_level   TEXT NOT NULL
                     CHECK (hospital_level IN ('tertiary', 'secondary', 'primary', 'ungraded')),
    updated_at       TIMESTAMPTZ NOT NULL
);
