-- Indexes for the operations dashboard and /metrics: per-day counts over time ranges.
CREATE INDEX "VerificationSession_completedAt_idx" ON "VerificationSession"("completedAt");
CREATE INDEX "Attempt_startedAt_idx" ON "Attempt"("startedAt");
CREATE INDEX "AuditEvent_action_occurredAt_idx" ON "AuditEvent"("action", "occurredAt");
