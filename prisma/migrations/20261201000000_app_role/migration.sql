-- The application connects as a login role that is a member of facesign_app, never as the owner of
-- these tables: an owner may disable triggers, alter and truncate tables, so with the owner's
-- credentials the append-only audit log could be rewritten. facesign_app owns nothing and holds only
-- the privileges below, table by table; docs/database-roles.md describes the roles and their setup.
-- Every later migration that creates a table grants its privileges to facesign_app too, and
-- server/db/grants-policy.ts lists them (a test compares it with the database).

-- The role is cluster-wide: another database on this server may already have created it, or a
-- database administrator did because the migrating role may not create roles (no CREATEROLE).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'facesign_app') THEN
    BEGIN
      CREATE ROLE facesign_app NOLOGIN;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'role facesign_app does not exist and % may not create it', current_user
          USING HINT = 'As an administrator run CREATE ROLE facesign_app NOLOGIN; then migrate again (see docs/database-roles.md).';
    END;
  END IF;
END
$$;

-- Nothing comes from PUBLIC: neither table privileges nor the right to create objects in the schema
-- (PostgreSQL 15 no longer grants CREATE there, older clusters upgraded in place still do).
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM facesign_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM facesign_app;
GRANT USAGE ON SCHEMA public TO facesign_app;

-- Rows the application changes (state machines, retention, sessions, keys): read, insert, update.
-- Nothing is ever deleted by the application; deletion of personal data is an operator's job.
GRANT SELECT, INSERT, UPDATE ON
  "ApiKey", "Attempt", "AttemptParticipant", "BorrowerLink", "ChecklistAnswer", "LiveKitEvent", "LoanFile",
  "LoginSession", "LosWebhookDelivery", "Party", "Recording", "Review", "SessionOffer", "User", "VerificationSession"
  TO facesign_app;

-- Facts written once: read and insert only.
GRANT SELECT, INSERT ON
  "Capture", "ChecklistTemplate", "Consent", "IdempotencyRecord", "RiskFlag", "SigningConfirmation"
  TO facesign_app;

-- The audit log: insert, and fill in the chain columns of an unsealed row (the sealer). The
-- audit_event_append_only trigger refuses any other change and any change to a sealed row; a role
-- that does not own the table cannot disable it, and only a superuser may skip it
-- (session_replication_role).
GRANT SELECT, INSERT ON "AuditEvent" TO facesign_app;
GRANT UPDATE ("prevHash", "hash", "chainSeq") ON "AuditEvent" TO facesign_app;
GRANT USAGE ON SEQUENCE "AuditEvent_seq_seq" TO facesign_app;
