-- CreateTable
CREATE TABLE "ContractDocument" (
    "id" UUID NOT NULL,
    "loanFileId" UUID NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    "sizeBytes" INTEGER NOT NULL,
    "objectKey" VARCHAR(300) NOT NULL,
    "uploadedBy" VARCHAR(120) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ContractDocument_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ContractDocument_loanFileId_createdAt_idx" ON "ContractDocument"("loanFileId", "createdAt");

-- CreateIndex
CREATE INDEX "ContractDocument_loanFileId_sha256_idx" ON "ContractDocument"("loanFileId", "sha256");

-- AddForeignKey
ALTER TABLE "ContractDocument" ADD CONSTRAINT "ContractDocument_loanFileId_fkey" FOREIGN KEY ("loanFileId") REFERENCES "LoanFile"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- A supplied contract is evidence: the application adds documents, never changes or removes them.
GRANT SELECT, INSERT ON "ContractDocument" TO facesign_app;
