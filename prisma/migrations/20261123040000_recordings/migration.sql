-- CreateEnum
CREATE TYPE "CaptureKind" AS ENUM ('ID_FRONT', 'ID_BACK', 'FACE', 'OTHER');

-- CreateEnum
CREATE TYPE "ReviewReason" AS ENUM ('ESCALATED', 'AMOUNT', 'SAMPLED');

-- CreateEnum
CREATE TYPE "ReviewStatus" AS ENUM ('PENDING', 'APPROVED', 'RECAPTURE', 'REJECTED');

-- AlterEnum
ALTER TYPE "RecordingState" ADD VALUE 'DELETED';

-- AlterTable
ALTER TABLE "LoanFile" ADD COLUMN     "maturityDate" DATE;

-- AlterTable
ALTER TABLE "Recording" ADD COLUMN     "contentType" VARCHAR(100),
ADD COLUMN     "deletedAt" TIMESTAMPTZ(3),
ADD COLUMN     "finalizeAttempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "lastIntegrityCheckAt" TIMESTAMPTZ(3),
ADD COLUMN     "legalHold" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "legalHoldReason" VARCHAR(500),
ADD COLUMN     "objectLockMode" VARCHAR(16),
ADD COLUMN     "retainUntil" TIMESTAMPTZ(3),
ADD COLUMN     "sha256" CHAR(64),
ADD COLUMN     "sizeBytes" BIGINT,
ADD COLUMN     "verifiedAt" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "VerificationSession" ADD COLUMN     "recaptureRequired" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "Capture" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "attemptId" UUID NOT NULL,
    "kind" "CaptureKind" NOT NULL,
    "objectKey" VARCHAR(512) NOT NULL,
    "contentType" VARCHAR(32) NOT NULL,
    "sizeBytes" INTEGER NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    "offsetMs" INTEGER,
    "capturedById" UUID NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Capture_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Review" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "loanFileId" UUID NOT NULL,
    "reason" "ReviewReason" NOT NULL,
    "status" "ReviewStatus" NOT NULL DEFAULT 'PENDING',
    "reviewerId" UUID,
    "note" VARCHAR(2000),
    "decidedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Review_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Capture_sessionId_idx" ON "Capture"("sessionId");

-- CreateIndex
CREATE UNIQUE INDEX "Review_sessionId_key" ON "Review"("sessionId");

-- CreateIndex
CREATE INDEX "Review_status_createdAt_idx" ON "Review"("status", "createdAt");

-- CreateIndex
CREATE INDEX "Review_loanFileId_idx" ON "Review"("loanFileId");

-- CreateIndex
CREATE INDEX "Recording_retainUntil_idx" ON "Recording"("retainUntil");

-- AddForeignKey
ALTER TABLE "Capture" ADD CONSTRAINT "Capture_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "VerificationSession"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Review" ADD CONSTRAINT "Review_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "VerificationSession"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

