-- AuditEvent is append-only: its rows are hash-chained evidence, so they may be inserted but never
-- changed or removed. UPDATE and DELETE are rejected row by row, TRUNCATE (which fires no row
-- triggers) per statement. SQLSTATE 55000 (object_not_in_prerequisite_state) lets the application
-- tell this refusal apart from other errors. Prisma does not model triggers, so the drift check
-- (`npm run db:drift`) ignores this migration's objects.
CREATE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  RAISE EXCEPTION 'AuditEvent is append-only'
    USING ERRCODE = '55000',
          DETAIL = format('%s on "AuditEvent" is not allowed.', TG_OP);
END;
$$;

CREATE TRIGGER audit_event_no_update_delete
  BEFORE UPDATE OR DELETE ON "AuditEvent"
  FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();

CREATE TRIGGER audit_event_no_truncate
  BEFORE TRUNCATE ON "AuditEvent"
  FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
