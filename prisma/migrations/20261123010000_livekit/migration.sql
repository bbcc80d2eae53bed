-- CreateEnum
CREATE TYPE "ParticipantKind" AS ENUM ('AGENT', 'PARTY', 'OTHER');

-- CreateEnum
CREATE TYPE "RecordingState" AS ENUM ('REQUESTED', 'ACTIVE', 'ENDING', 'UPLOADED', 'VERIFIED', 'RETAINED', 'FAILED');

-- CreateTable
CREATE TABLE "AttemptParticipant" (
    "id" UUID NOT NULL,
    "attemptId" UUID NOT NULL,
    "identity" VARCHAR(128) NOT NULL,
    "kind" "ParticipantKind" NOT NULL,
    "sid" VARCHAR(64),
    "sipCallStatus" VARCHAR(16),
    "joinedAt" TIMESTAMPTZ(3),
    "leftAt" TIMESTAMPTZ(3),
    "tracks" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "AttemptParticipant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Recording" (
    "id" UUID NOT NULL,
    "attemptId" UUID NOT NULL,
    "egressId" VARCHAR(64),
    "state" "RecordingState" NOT NULL DEFAULT 'REQUESTED',
    "version" INTEGER NOT NULL DEFAULT 0,
    "audioOnly" BOOLEAN NOT NULL,
    "objectKey" VARCHAR(512) NOT NULL,
    "reportedSize" BIGINT,
    "reportedDurationMs" INTEGER,
    "location" VARCHAR(1024),
    "egressStartedAt" TIMESTAMPTZ(3),
    "egressEndedAt" TIMESTAMPTZ(3),
    "failureReason" VARCHAR(500),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Recording_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LiveKitEvent" (
    "id" VARCHAR(64) NOT NULL,
    "event" VARCHAR(40) NOT NULL,
    "roomName" VARCHAR(128),
    "egressId" VARCHAR(64),
    "occurredAt" TIMESTAMPTZ(3) NOT NULL,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "body" JSONB NOT NULL,
    "processedAt" TIMESTAMPTZ(3),
    "outcome" VARCHAR(200),
    "failures" INTEGER NOT NULL DEFAULT 0,
    "lastError" VARCHAR(1000),

    CONSTRAINT "LiveKitEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "AttemptParticipant_attemptId_identity_key" ON "AttemptParticipant"("attemptId", "identity");

-- CreateIndex
CREATE UNIQUE INDEX "Recording_attemptId_key" ON "Recording"("attemptId");

-- CreateIndex
CREATE UNIQUE INDEX "Recording_egressId_key" ON "Recording"("egressId");

-- CreateIndex
CREATE INDEX "Recording_state_updatedAt_idx" ON "Recording"("state", "updatedAt");

-- CreateIndex
CREATE INDEX "LiveKitEvent_processedAt_receivedAt_idx" ON "LiveKitEvent"("processedAt", "receivedAt");

-- CreateIndex
CREATE INDEX "LiveKitEvent_roomName_idx" ON "LiveKitEvent"("roomName");

-- AddForeignKey
ALTER TABLE "AttemptParticipant" ADD CONSTRAINT "AttemptParticipant_attemptId_fkey" FOREIGN KEY ("attemptId") REFERENCES "Attempt"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Recording" ADD CONSTRAINT "Recording_attemptId_fkey" FOREIGN KEY ("attemptId") REFERENCES "Attempt"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

