-- Automated confirmation calls: the session's mode, its hand-off to a person, and answers without an agent.
CREATE TYPE "SessionMode" AS ENUM ('AGENT', 'AUTOMATED_CALL');
ALTER TABLE "VerificationSession" ADD COLUMN "mode" "SessionMode" NOT NULL DEFAULT 'AGENT',
  ADD COLUMN "handedOffAt" TIMESTAMPTZ(3),
  ADD COLUMN "handOffReason" VARCHAR(64);
ALTER TABLE "ChecklistAnswer" ALTER COLUMN "answeredById" DROP NOT NULL;
