-- AlterTable
ALTER TABLE "ContractDocument" ADD COLUMN     "deletedAt" TIMESTAMPTZ(3),
ADD COLUMN     "legalHold" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "objectLockMode" VARCHAR(16),
ADD COLUMN     "retainUntil" TIMESTAMPTZ(3);

-- A stored contract is evidence under retention like a recording: the application records its
-- retention and the sweep's deletion of the object, and changes nothing else.
GRANT UPDATE ("retainUntil", "objectLockMode", "legalHold", "deletedAt") ON "ContractDocument" TO facesign_app;
