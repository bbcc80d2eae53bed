// Appends in this process wake its sealer (audit-sealer.service.ts), so that an idle sealer can wait long
// between looks and a busy one still links events within AUDIT_SEAL_INTERVAL_MS. Every event row is
// built by `auditRow`, which signals here; the signal comes before the transaction commits, and the
// sealer's backoff covers a commit that lands after its look.
const listeners = new Set<() => void>();

export function auditAppended(): void {
  for (const listener of listeners) listener();
}

/** Subscribes to appends in this process; returns the unsubscribe. */
export function onAuditAppended(listener: () => void): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}
