-- Settling without holding locks across round trips. A settlement reads the person, their
-- accumulators and whether its msgid was used, computes, and writes everything in one
-- statement that commits on its own. The write checks that nothing it read has changed:
-- the accumulators by their version (bumped by every write), the account balance by its
-- value. When something has, the statement refuses with SQLSTATE MC001 and a reason, so it
-- writes nothing, and the settlement is computed again from what is there now.

ALTER TABLE accumulators ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION routing_refuse(reason TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'MC001', MESSAGE = reason;
END
$$;
