-- CreateEnum
CREATE TYPE "AnswerValue" AS ENUM ('CONFIRMED', 'DENIED', 'UNCLEAR', 'NOT_ASKED');

-- CreateEnum
CREATE TYPE "RiskFlagCode" AS ENUM ('EVASIVE', 'NERVOUS', 'THIRD_PARTY_PRESENT', 'PROMPTED', 'INCONSISTENT', 'IDENTITY_MISMATCH', 'COERCION_SUSPECTED', 'POOR_AUDIO_VIDEO');

-- CreateEnum
CREATE TYPE "RiskSeverity" AS ENUM ('LOW', 'MEDIUM', 'HIGH');

-- CreateEnum
CREATE TYPE "OfferStatus" AS ENUM ('PENDING', 'ACCEPTED', 'DECLINED', 'EXPIRED', 'WITHDRAWN');

-- CreateEnum
CREATE TYPE "ConsentKind" AS ENUM ('RECORDING', 'DATA_PROCESSING');

-- CreateEnum
CREATE TYPE "DeliveryStatus" AS ENUM ('PENDING', 'DELIVERED', 'FAILED');

-- AlterTable
ALTER TABLE "Attempt" ADD COLUMN     "agentId" UUID,
ADD COLUMN     "dialClaimedAt" TIMESTAMPTZ(3),
ADD COLUMN     "recordingStartedAt" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "VerificationSession" ADD COLUMN     "attemptCount" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "decidedById" UUID,
ADD COLUMN     "decisionNote" VARCHAR(2000),
ADD COLUMN     "endReason" VARCHAR(200),
ADD COLUMN     "itemOrder" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "language" VARCHAR(8) NOT NULL,
ADD COLUMN     "lastDialOutcome" "DialOutcome",
ADD COLUMN     "livenessPromptId" VARCHAR(64),
ADD COLUMN     "maxAttempts" INTEGER NOT NULL DEFAULT 3,
ADD COLUMN     "nextAttemptAt" TIMESTAMPTZ(3),
ADD COLUMN     "productSkill" VARCHAR(64) NOT NULL,
ADD COLUMN     "templateId" UUID NOT NULL;

-- CreateTable
CREATE TABLE "ChecklistTemplate" (
    "id" UUID NOT NULL,
    "key" VARCHAR(64) NOT NULL,
    "version" INTEGER NOT NULL,
    "kind" "SessionKind" NOT NULL,
    "definition" JSONB NOT NULL,
    "contentHash" CHAR(64) NOT NULL,
    "publishedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ChecklistTemplate_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChecklistAnswer" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "attemptId" UUID NOT NULL,
    "itemId" VARCHAR(64) NOT NULL,
    "value" "AnswerValue" NOT NULL,
    "note" VARCHAR(2000),
    "offsetMs" INTEGER,
    "answeredById" UUID NOT NULL,
    "answeredAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revision" INTEGER NOT NULL DEFAULT 1,

    CONSTRAINT "ChecklistAnswer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RiskFlag" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "attemptId" UUID NOT NULL,
    "code" "RiskFlagCode" NOT NULL,
    "severity" "RiskSeverity" NOT NULL,
    "note" VARCHAR(2000),
    "offsetMs" INTEGER,
    "raisedById" UUID NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RiskFlag_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SessionOffer" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "agentId" UUID NOT NULL,
    "status" "OfferStatus" NOT NULL DEFAULT 'PENDING',
    "offeredAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "resolvedAt" TIMESTAMPTZ(3),

    CONSTRAINT "SessionOffer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BorrowerLink" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "tokenHash" CHAR(64) NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "maxUses" INTEGER NOT NULL DEFAULT 20,
    "uses" INTEGER NOT NULL DEFAULT 0,
    "revokedAt" TIMESTAMPTZ(3),
    "otpHash" CHAR(64),
    "otpExpiresAt" TIMESTAMPTZ(3),
    "otpAttempts" INTEGER NOT NULL DEFAULT 0,
    "otpLockedUntil" TIMESTAMPTZ(3),
    "verifiedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BorrowerLink_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Consent" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "kind" "ConsentKind" NOT NULL,
    "textVersion" VARCHAR(32) NOT NULL,
    "textHash" CHAR(64) NOT NULL,
    "locale" VARCHAR(8) NOT NULL,
    "grantedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ipAddress" VARCHAR(64),
    "geo" JSONB,
    "userAgent" VARCHAR(256),

    CONSTRAINT "Consent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SigningConfirmation" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "attemptId" UUID NOT NULL,
    "documentHash" CHAR(64) NOT NULL,
    "recordingOffsetMs" INTEGER NOT NULL,
    "confirmedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SigningConfirmation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LosWebhookDelivery" (
    "id" UUID NOT NULL,
    "eventType" VARCHAR(64) NOT NULL,
    "loanFileId" UUID NOT NULL,
    "payload" JSONB NOT NULL,
    "status" "DeliveryStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMPTZ(3),
    "lastStatusCode" INTEGER,
    "lastError" VARCHAR(1000),
    "deliveredAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LosWebhookDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ChecklistTemplate_key_version_key" ON "ChecklistTemplate"("key", "version");

-- CreateIndex
CREATE UNIQUE INDEX "ChecklistAnswer_sessionId_itemId_key" ON "ChecklistAnswer"("sessionId", "itemId");

-- CreateIndex
CREATE INDEX "RiskFlag_sessionId_idx" ON "RiskFlag"("sessionId");

-- CreateIndex
CREATE INDEX "SessionOffer_sessionId_status_idx" ON "SessionOffer"("sessionId", "status");

-- CreateIndex
CREATE INDEX "SessionOffer_agentId_status_idx" ON "SessionOffer"("agentId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "BorrowerLink_tokenHash_key" ON "BorrowerLink"("tokenHash");

-- CreateIndex
CREATE INDEX "BorrowerLink_sessionId_idx" ON "BorrowerLink"("sessionId");

-- CreateIndex
CREATE INDEX "Consent_sessionId_idx" ON "Consent"("sessionId");

-- CreateIndex
CREATE INDEX "SigningConfirmation_sessionId_idx" ON "SigningConfirmation"("sessionId");

-- CreateIndex
CREATE INDEX "LosWebhookDelivery_status_nextAttemptAt_idx" ON "LosWebhookDelivery"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "LosWebhookDelivery_loanFileId_createdAt_idx" ON "LosWebhookDelivery"("loanFileId", "createdAt");

-- CreateIndex
CREATE INDEX "VerificationSession_state_nextAttemptAt_idx" ON "VerificationSession"("state", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "VerificationSession_deadline_idx" ON "VerificationSession"("deadline");

-- AddForeignKey
ALTER TABLE "VerificationSession" ADD CONSTRAINT "VerificationSession_templateId_fkey" FOREIGN KEY ("templateId") REFERENCES "ChecklistTemplate"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChecklistAnswer" ADD CONSTRAINT "ChecklistAnswer_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "VerificationSession"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RiskFlag" ADD CONSTRAINT "RiskFlag_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "VerificationSession"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SessionOffer" ADD CONSTRAINT "SessionOffer_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "VerificationSession"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BorrowerLink" ADD CONSTRAINT "BorrowerLink_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "VerificationSession"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Consent" ADD CONSTRAINT "Consent_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "VerificationSession"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SigningConfirmation" ADD CONSTRAINT "SigningConfirmation_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "VerificationSession"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- A published checklist template is evidence: sessions pin it and the evidence package quotes its
-- hash, so it can be inserted but never changed or removed. New content is a new version.
CREATE FUNCTION checklist_template_immutable() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  RAISE EXCEPTION 'ChecklistTemplate versions are immutable; publish a new version'
    USING ERRCODE = '55000',
          DETAIL = format('%s on "ChecklistTemplate" is not allowed.', TG_OP);
END;
$$;

CREATE TRIGGER checklist_template_no_update_delete
  BEFORE UPDATE OR DELETE ON "ChecklistTemplate"
  FOR EACH ROW EXECUTE FUNCTION checklist_template_immutable();
