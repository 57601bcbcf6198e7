-- Home-region policies published by the bureaus (DESIGN.md §4.3). A document is stored once,
-- as the text that was hashed, and never changes: a draft is a document not yet published
-- (`seq` NULL); publishing gives it its place in the publication order; a correction is a
-- new document. The id names the content: <region>-<insutype>-<first 12 hex of sha256>.
CREATE TABLE policy_documents (
    policy_id     TEXT PRIMARY KEY CHECK (policy_id ~ '^[0-9]{6}-[0-9]{3}-[0-9a-f]{12}$'),
    region        CHAR(6) NOT NULL CHECK (region ~ '^[0-9]{6}$'),
    insutype      CHAR(3) NOT NULL CHECK (insutype ~ '^[0-9]{3}$'),
    kind          TEXT NOT NULL CHECK (kind IN ('policy', 'floors')),
    label         TEXT NOT NULL,
    title         TEXT NOT NULL,
    begin_date    DATE NOT NULL,
    end_date      DATE,
    sha256        CHAR(64) NOT NULL,
    document      TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    seq           BIGINT UNIQUE,
    published_by  TEXT,
    published_at  TIMESTAMPTZ,
    CHECK ((seq IS NULL) = (published_at IS NULL) AND (seq IS NULL) = (published_by IS NULL))
);
CREATE INDEX policy_documents_region ON policy_documents (region, insutype);
CREATE SEQUENCE policy_publication_seq;

-- What is stored never changes, and a published version is never withdrawn: the only change
-- allowed is a draft's publication.
CREATE FUNCTION policy_documents_immutable() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.seq IS NOT NULL THEN
            RAISE EXCEPTION 'published policy % cannot be deleted', OLD.policy_id;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.seq IS NOT NULL OR NEW.document IS DISTINCT FROM OLD.document
        OR NEW.sha256 IS DISTINCT FROM OLD.sha256 OR NEW.policy_id IS DISTINCT FROM OLD.policy_id
        OR NEW.begin_date IS DISTINCT FROM OLD.begin_date
        OR NEW.end_date IS DISTINCT FROM OLD.end_date THEN
        RAISE EXCEPTION 'policy % cannot be changed: publish a new version', OLD.policy_id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER policy_documents_immutable BEFORE UPDATE OR DELETE ON policy_documents
    FOR EACH ROW EXECUTE FUNCTION policy_documents_immutable();

-- Who stored or published which document, when, and its hash.
CREATE TABLE policy_audit (
    id         BIGSERIAL PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('draft', 'publish')),
    policy_id  TEXT NOT NULL REFERENCES policy_documents (policy_id),
    sha256     CHAR(64) NOT NULL,
    details    JSONB NOT NULL DEFAULT '{}'
);

-- Every settlement records the version it was computed under (`policy_version` is now a
-- policy id) and what the calculator was given besides its lines (`inputs`: the person and
-- the visit as the calculator saw them), so it can be computed again exactly.
ALTER TABLE settlements ADD COLUMN insutype CHAR(3);
UPDATE settlements SET insutype = split_part(policy_version, '/', 2);
ALTER TABLE settlements ALTER COLUMN insutype SET NOT NULL;
ALTER TABLE settlements ADD COLUMN inputs JSONB;
CREATE INDEX settlements_home_year ON settlements (year, insuplc_admdvs);

-- The policy's own yearly counters (layers' bases and payments, chronic diseases, the
-- assistance deductible): see `calc::Accumulators::counters`.
ALTER TABLE accumulators ADD COLUMN counters JSONB NOT NULL DEFAULT '{}';
