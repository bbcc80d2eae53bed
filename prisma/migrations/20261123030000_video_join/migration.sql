-- AlterTable
ALTER TABLE "BorrowerLink" ADD COLUMN     "otpPurpose" VARCHAR(8),
ADD COLUMN     "otpSentAt" TIMESTAMPTZ(3),
ADD COLUMN     "partyTokenHash" CHAR(64);

-- AlterTable
ALTER TABLE "VerificationSession" ADD COLUMN     "contractDocumentHash" CHAR(64);

-- CreateIndex
CREATE UNIQUE INDEX "BorrowerLink_partyTokenHash_key" ON "BorrowerLink"("partyTokenHash");

