-- Active-liveness assist: two new capture kinds, and the landmark check of a LIVENESS_BEFORE against a
-- LIVENESS_ACTION capture. Rows move from PENDING to DONE or FAILED once; never deleted.
-- CreateEnum
CREATE TYPE "LivenessCheckStatus" AS ENUM ('PENDING', 'DONE', 'FAILED');

-- CreateEnum
CREATE TYPE "LivenessCheckResult" AS ENUM ('PASSED', 'NOT_OBSERVED', 'NO_FACE', 'MULTIPLE_FACES', 'NOT_CHECKABLE', 'UNREADABLE');

-- AlterEnum


ALTER TYPE "CaptureKind" ADD VALUE 'LIVENESS_BEFORE';
ALTER TYPE "CaptureKind" ADD VALUE 'LIVENESS_ACTION';

-- CreateTable
CREATE TABLE "LivenessCheck" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "beforeCaptureId" UUID NOT NULL,
    "actionCaptureId" UUID NOT NULL,
    "promptId" VARCHAR(64),
    "movement" VARCHAR(32),
    "status" "LivenessCheckStatus" NOT NULL DEFAULT 'PENDING',
    "result" "LivenessCheckResult",
    "beforeFaceCount" INTEGER,
    "actionFaceCount" INTEGER,
    "beforeYawDeg" DOUBLE PRECISION,
    "actionYawDeg" DOUBLE PRECISION,
    "beforePitch" DOUBLE PRECISION,
    "actionPitch" DOUBLE PRECISION,
    "beforeEar" DOUBLE PRECISION,
    "actionEar" DOUBLE PRECISION,
    "beforeMouth" DOUBLE PRECISION,
    "actionMouth" DOUBLE PRECISION,
    "yawChangeDeg" DOUBLE PRECISION NOT NULL,
    "pitchChange" DOUBLE PRECISION NOT NULL,
    "eyesClosedBelow" DOUBLE PRECISION NOT NULL,
    "eyesOpenAt" DOUBLE PRECISION NOT NULL,
    "mouthOpenAt" DOUBLE PRECISION NOT NULL,
    "mouthClosedBelow" DOUBLE PRECISION NOT NULL,
    "modelName" VARCHAR(160),
    "modelVersion" VARCHAR(160),
    "failure" VARCHAR(500),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMPTZ(3),

    CONSTRAINT "LivenessCheck_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "LivenessCheck_sessionId_createdAt_idx" ON "LivenessCheck"("sessionId", "createdAt");

-- CreateIndex
CREATE INDEX "LivenessCheck_status_createdAt_idx" ON "LivenessCheck"("status", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "LivenessCheck_beforeCaptureId_actionCaptureId_key" ON "LivenessCheck"("beforeCaptureId", "actionCaptureId");

-- AddForeignKey
ALTER TABLE "LivenessCheck" ADD CONSTRAINT "LivenessCheck_beforeCaptureId_fkey" FOREIGN KEY ("beforeCaptureId") REFERENCES "Capture"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LivenessCheck" ADD CONSTRAINT "LivenessCheck_actionCaptureId_fkey" FOREIGN KEY ("actionCaptureId") REFERENCES "Capture"("id") ON DELETE RESTRICT ON UPDATE CASCADE;



GRANT SELECT, INSERT, UPDATE ON "LivenessCheck" TO facesign_app;
