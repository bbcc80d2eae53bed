-- GET /api/audit-events?requestId=: the events one request wrote.
CREATE INDEX "AuditEvent_requestId_seq_idx" ON "AuditEvent"("requestId", "seq");
