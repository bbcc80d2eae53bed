-- Signed tree heads over the audit log (server/audit/checkpoint.ts). Each row records a head that
-- was also written to the recordings bucket; the bucket's copy is the anchor, this row is a record.
-- CreateTable
CREATE TABLE "AuditTreeHead" (
    "treeSize" BIGINT NOT NULL,
    "rootHash" CHAR(64) NOT NULL,
    "timestamp" TIMESTAMPTZ(3) NOT NULL,
    "keyId" VARCHAR(64) NOT NULL,
    "algorithm" VARCHAR(10) NOT NULL,
    "signature" TEXT NOT NULL,
    "timestampToken" BYTEA,
    "frontier" TEXT[],
    "objectKey" VARCHAR(200) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditTreeHead_pkey" PRIMARY KEY ("treeSize")
);

-- Append-only, like AuditEvent: a head is inserted once and never changed or removed. SQLSTATE 55000
-- as for AuditEvent. Prisma does not model triggers (the drift check ignores them).
CREATE FUNCTION audit_tree_head_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  RAISE EXCEPTION 'AuditTreeHead is append-only'
    USING ERRCODE = '55000',
          DETAIL = format('%s on "AuditTreeHead" is not allowed.', TG_OP);
END;
$$;

CREATE TRIGGER audit_tree_head_no_update_delete
  BEFORE UPDATE OR DELETE ON "AuditTreeHead"
  FOR EACH ROW EXECUTE FUNCTION audit_tree_head_append_only();

CREATE TRIGGER audit_tree_head_no_truncate
  BEFORE TRUNCATE ON "AuditTreeHead"
  FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_head_append_only();

-- The application reads and inserts heads, nothing else (see 20261201000000_app_role).
GRANT SELECT, INSERT ON "AuditTreeHead" TO facesign_app;
