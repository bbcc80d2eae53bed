-- Face-match assist: the model's comparison of an ID_FRONT capture's face with a FACE capture's.
-- Rows move from PENDING to DONE or FAILED once; the application updates them, never deletes them.
-- CreateEnum
CREATE TYPE "FaceMatchStatus" AS ENUM ('PENDING', 'DONE', 'FAILED');

-- CreateEnum
CREATE TYPE "FaceMatchResult" AS ENUM ('MATCH', 'UNCERTAIN', 'NO_MATCH', 'NO_FACE', 'MULTIPLE_FACES', 'UNREADABLE');

-- CreateTable
CREATE TABLE "FaceMatch" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "idCaptureId" UUID NOT NULL,
    "liveCaptureId" UUID NOT NULL,
    "status" "FaceMatchStatus" NOT NULL DEFAULT 'PENDING',
    "result" "FaceMatchResult",
    "score" DOUBLE PRECISION,
    "matchThreshold" DOUBLE PRECISION NOT NULL,
    "noMatchThreshold" DOUBLE PRECISION NOT NULL,
    "modelName" VARCHAR(160),
    "modelVersion" VARCHAR(160),
    "idFaceCount" INTEGER,
    "liveFaceCount" INTEGER,
    "idCropKey" VARCHAR(512),
    "idCropSha256" CHAR(64),
    "liveCropKey" VARCHAR(512),
    "liveCropSha256" CHAR(64),
    "failure" VARCHAR(500),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMPTZ(3),

    CONSTRAINT "FaceMatch_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "FaceMatch_sessionId_createdAt_idx" ON "FaceMatch"("sessionId", "createdAt");

-- CreateIndex
CREATE INDEX "FaceMatch_status_createdAt_idx" ON "FaceMatch"("status", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "FaceMatch_idCaptureId_liveCaptureId_key" ON "FaceMatch"("idCaptureId", "liveCaptureId");

-- AddForeignKey
ALTER TABLE "FaceMatch" ADD CONSTRAINT "FaceMatch_idCaptureId_fkey" FOREIGN KEY ("idCaptureId") REFERENCES "Capture"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FaceMatch" ADD CONSTRAINT "FaceMatch_liveCaptureId_fkey" FOREIGN KEY ("liveCaptureId") REFERENCES "Capture"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

GRANT SELECT, INSERT, UPDATE ON "FaceMatch" TO facesign_app;
