-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "LoanFileStatus" AS ENUM ('NEW', 'IN_VERIFICATION', 'VERIFIED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "PartyRole" AS ENUM ('BORROWER', 'CO_BORROWER', 'GUARANTOR');

-- CreateEnum
CREATE TYPE "SessionKind" AS ENUM ('CALL', 'VIDEO');

-- CreateEnum
CREATE TYPE "SessionState" AS ENUM ('SCHEDULED', 'DISPATCHING', 'RINGING', 'WAITING', 'IN_PROGRESS', 'RETRY_PENDING', 'WRAP_UP', 'ESCALATED', 'COMPLETED', 'EXHAUSTED', 'CANCELLED', 'EXPIRED');

-- CreateEnum
CREATE TYPE "SessionOutcome" AS ENUM ('PASSED', 'FAILED', 'ESCALATED');

-- CreateEnum
CREATE TYPE "DialOutcome" AS ENUM ('ANSWERED', 'BUSY', 'NO_ANSWER', 'DECLINED', 'INVALID_NUMBER', 'CARRIER_FAILURE', 'TRUNK_UNAVAILABLE', 'RATE_LIMITED');

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('AGENT', 'SUPERVISOR', 'AUDITOR', 'ADMIN');

-- CreateEnum
CREATE TYPE "AuditActorType" AS ENUM ('USER', 'API_KEY', 'BORROWER', 'SYSTEM');

-- CreateTable
CREATE TABLE "LoanFile" (
    "id" UUID NOT NULL,
    "externalRef" VARCHAR(128) NOT NULL,
    "product" VARCHAR(64) NOT NULL,
    "amount" DECIMAL(18,2) NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "status" "LoanFileStatus" NOT NULL DEFAULT 'NEW',
    "version" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "LoanFile_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Party" (
    "id" UUID NOT NULL,
    "loanFileId" UUID NOT NULL,
    "role" "PartyRole" NOT NULL,
    "fullName" VARCHAR(200) NOT NULL,
    "phoneE164" VARCHAR(16) NOT NULL,
    "timeZone" VARCHAR(64) NOT NULL,
    "locale" VARCHAR(8) NOT NULL,
    "idNumberLast4" VARCHAR(4),
    "version" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Party_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "VerificationSession" (
    "id" UUID NOT NULL,
    "loanFileId" UUID NOT NULL,
    "partyId" UUID NOT NULL,
    "kind" "SessionKind" NOT NULL,
    "state" "SessionState" NOT NULL DEFAULT 'SCHEDULED',
    "version" INTEGER NOT NULL DEFAULT 0,
    "templateKey" VARCHAR(64) NOT NULL,
    "templateVersion" INTEGER NOT NULL,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "notBefore" TIMESTAMPTZ(3) NOT NULL,
    "deadline" TIMESTAMPTZ(3) NOT NULL,
    "assignedAgentId" UUID,
    "outcome" "SessionOutcome",
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "completedAt" TIMESTAMPTZ(3),

    CONSTRAINT "VerificationSession_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Attempt" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "roomName" VARCHAR(128) NOT NULL,
    "sipCallId" VARCHAR(128),
    "dialOutcome" "DialOutcome",
    "startedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "answeredAt" TIMESTAMPTZ(3),
    "endedAt" TIMESTAMPTZ(3),
    "endReason" VARCHAR(64),

    CONSTRAINT "Attempt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "User" (
    "id" UUID NOT NULL,
    "email" VARCHAR(254) NOT NULL,
    "displayName" VARCHAR(120) NOT NULL,
    "passwordHash" VARCHAR(255) NOT NULL,
    "roles" "Role"[],
    "locale" VARCHAR(8) NOT NULL DEFAULT 'zh-CN',
    "languages" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "skills" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "failedLoginCount" INTEGER NOT NULL DEFAULT 0,
    "lockedUntil" TIMESTAMPTZ(3),
    "disabledAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LoginSession" (
    "id" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "tokenHash" CHAR(64) NOT NULL,
    "csrfTokenHash" CHAR(64) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "lastSeenAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMPTZ(3),
    "ipAddress" VARCHAR(64),
    "userAgent" VARCHAR(256),

    CONSTRAINT "LoginSession_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" UUID NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "prefix" VARCHAR(32) NOT NULL,
    "secretHash" CHAR(64) NOT NULL,
    "scopes" TEXT[],
    "createdById" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMPTZ(3),
    "expiresAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "IdempotencyRecord" (
    "scope" VARCHAR(80) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "requestHash" CHAR(64) NOT NULL,
    "statusCode" INTEGER NOT NULL,
    "responseBody" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "IdempotencyRecord_pkey" PRIMARY KEY ("scope","key")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "seq" BIGSERIAL NOT NULL,
    "id" UUID NOT NULL,
    "occurredAt" TIMESTAMPTZ(3) NOT NULL,
    "recordedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actorType" "AuditActorType" NOT NULL,
    "actorId" VARCHAR(64),
    "action" VARCHAR(80) NOT NULL,
    "actionVersion" INTEGER NOT NULL,
    "entityType" VARCHAR(40) NOT NULL,
    "entityId" VARCHAR(64) NOT NULL,
    "requestId" VARCHAR(64),
    "data" JSONB NOT NULL,
    "prevHash" CHAR(64) NOT NULL,
    "hash" CHAR(64) NOT NULL,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("seq")
);

-- CreateIndex
CREATE UNIQUE INDEX "LoanFile_externalRef_key" ON "LoanFile"("externalRef");

-- CreateIndex
CREATE INDEX "LoanFile_status_createdAt_idx" ON "LoanFile"("status", "createdAt");

-- CreateIndex
CREATE INDEX "LoanFile_createdAt_id_idx" ON "LoanFile"("createdAt", "id");

-- CreateIndex
CREATE INDEX "Party_loanFileId_idx" ON "Party"("loanFileId");

-- CreateIndex
CREATE INDEX "VerificationSession_state_notBefore_idx" ON "VerificationSession"("state", "notBefore");

-- CreateIndex
CREATE INDEX "VerificationSession_loanFileId_idx" ON "VerificationSession"("loanFileId");

-- CreateIndex
CREATE INDEX "VerificationSession_partyId_idx" ON "VerificationSession"("partyId");

-- CreateIndex
CREATE INDEX "VerificationSession_assignedAgentId_state_idx" ON "VerificationSession"("assignedAgentId", "state");

-- CreateIndex
CREATE UNIQUE INDEX "Attempt_roomName_key" ON "Attempt"("roomName");

-- CreateIndex
CREATE UNIQUE INDEX "Attempt_sessionId_number_key" ON "Attempt"("sessionId", "number");

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE UNIQUE INDEX "LoginSession_tokenHash_key" ON "LoginSession"("tokenHash");

-- CreateIndex
CREATE INDEX "LoginSession_userId_idx" ON "LoginSession"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_prefix_key" ON "ApiKey"("prefix");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_id_key" ON "AuditEvent"("id");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_hash_key" ON "AuditEvent"("hash");

-- CreateIndex
CREATE INDEX "AuditEvent_entityType_entityId_seq_idx" ON "AuditEvent"("entityType", "entityId", "seq");

-- AddForeignKey
ALTER TABLE "Party" ADD CONSTRAINT "Party_loanFileId_fkey" FOREIGN KEY ("loanFileId") REFERENCES "LoanFile"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "VerificationSession" ADD CONSTRAINT "VerificationSession_loanFileId_fkey" FOREIGN KEY ("loanFileId") REFERENCES "LoanFile"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "VerificationSession" ADD CONSTRAINT "VerificationSession_partyId_fkey" FOREIGN KEY ("partyId") REFERENCES "Party"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "VerificationSession" ADD CONSTRAINT "VerificationSession_assignedAgentId_fkey" FOREIGN KEY ("assignedAgentId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Attempt" ADD CONSTRAINT "Attempt_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "VerificationSession"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LoginSession" ADD CONSTRAINT "LoginSession_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

