// What the application's database role may do, table by table. The migrations grant exactly this to
// facesign_app (the group role every application login is a member of); a test reads the live
// catalog and fails when a table has no entry here or its grants differ. A new table therefore needs
// a GRANT in its migration and an entry here. Nothing is ever deleted by the application, and no
// table may be truncated: append-only tables get SELECT and INSERT only.

/** The NOLOGIN role that holds the application's privileges; application logins are its members. */
export const APP_GROUP_ROLE = 'facesign_app';

export const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] as const;
export type TablePrivilege = (typeof TABLE_PRIVILEGES)[number];
export const SEQUENCE_PRIVILEGES = ['USAGE', 'SELECT', 'UPDATE'] as const;
export type SequencePrivilege = (typeof SEQUENCE_PRIVILEGES)[number];

export interface TableGrant {
  /** Privileges on the whole table. */
  table: readonly TablePrivilege[];
  /** UPDATE on these columns only (when the table-wide list has no UPDATE). */
  updateColumns?: readonly string[];
}

const READ_WRITE: TableGrant = { table: ['SELECT', 'INSERT', 'UPDATE'] };
const APPEND_ONLY: TableGrant = { table: ['SELECT', 'INSERT'] };

export const TABLE_GRANTS: Readonly<Record<string, TableGrant>> = {
  ApiKey: READ_WRITE,
  Attempt: READ_WRITE,
  AttemptParticipant: READ_WRITE,
  // The sealer fills in the chain columns of unsealed rows; the append-only trigger refuses every
  // other change and any change to a sealed row.
  AuditEvent: { table: ['SELECT', 'INSERT'], updateColumns: ['prevHash', 'hash', 'chainSeq'] },
  // Signed tree heads over the sealed chain: written once per checkpoint, never changed.
  AuditTreeHead: APPEND_ONLY,
  BorrowerLink: READ_WRITE,
  Capture: APPEND_ONLY,
  ChecklistAnswer: READ_WRITE,
  ChecklistTemplate: APPEND_ONLY,
  Consent: APPEND_ONLY,
  // A supplied contract is evidence: documents are added, never changed; only their retention
  // (date, lock mode, hold) and the sweep's deletion of the object are recorded on the row.
  ContractDocument: { table: ['SELECT', 'INSERT'], updateColumns: ['retainUntil', 'objectLockMode', 'legalHold', 'deletedAt'] },
  // Face-match assist results: a row is written PENDING and completed once by the face-match job.
  FaceMatch: READ_WRITE,
  IdempotencyRecord: APPEND_ONLY,
  LiveKitEvent: READ_WRITE,
  // Active-liveness assist results: a row is written PENDING and completed once by the liveness-check job.
  LivenessCheck: READ_WRITE,
  LoanFile: READ_WRITE,
  LoginSession: READ_WRITE,
  LosWebhookDelivery: READ_WRITE,
  Party: READ_WRITE,
  Recording: READ_WRITE,
  Review: READ_WRITE,
  RiskFlag: APPEND_ONLY,
  SessionOffer: READ_WRITE,
  SigningConfirmation: APPEND_ONLY,
  User: READ_WRITE,
  VerificationSession: READ_WRITE,
  // Prisma's migration history: the owner's alone.
  _prisma_migrations: { table: [] },
};

export const SEQUENCE_GRANTS: Readonly<Record<string, readonly SequencePrivilege[]>> = {
  AuditEvent_seq_seq: ['USAGE'],
};
