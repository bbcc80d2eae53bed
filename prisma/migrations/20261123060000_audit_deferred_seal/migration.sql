-- Audit events are inserted unsealed inside the business transaction (no global lock there), and a
-- single sealer links them into the hash chain shortly after they commit. "chainSeq" is the chain's
-- order; "seq" stays the insertion order. Existing rows were chained in seq order.
ALTER TABLE "AuditEvent" ALTER COLUMN "prevHash" DROP NOT NULL,
  ALTER COLUMN "hash" DROP NOT NULL,
  ADD COLUMN "chainSeq" BIGINT;

ALTER TABLE "AuditEvent" DISABLE TRIGGER audit_event_no_update_delete;
UPDATE "AuditEvent" SET "chainSeq" = "seq";
ALTER TABLE "AuditEvent" ENABLE TRIGGER audit_event_no_update_delete;

CREATE UNIQUE INDEX "AuditEvent_chainSeq_key" ON "AuditEvent"("chainSeq");

-- Still append-only: a row may be updated exactly once, by the sealer, which only fills in its chain
-- fields. What the event says can never change, sealed or not; a sealed row cannot change at all.
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND OLD."hash" IS NULL AND OLD."prevHash" IS NULL AND OLD."chainSeq" IS NULL
     AND NEW."hash" IS NOT NULL AND NEW."prevHash" IS NOT NULL AND NEW."chainSeq" IS NOT NULL
     AND (NEW."seq", NEW."id", NEW."occurredAt", NEW."recordedAt", NEW."actorType", NEW."actorId", NEW."action",
          NEW."actionVersion", NEW."entityType", NEW."entityId", NEW."requestId", NEW."data")
         IS NOT DISTINCT FROM
         (OLD."seq", OLD."id", OLD."occurredAt", OLD."recordedAt", OLD."actorType", OLD."actorId", OLD."action",
          OLD."actionVersion", OLD."entityType", OLD."entityId", OLD."requestId", OLD."data")
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'AuditEvent is append-only'
    USING ERRCODE = '55000',
          DETAIL = format('%s on "AuditEvent" is not allowed.', TG_OP);
END;
$$;
