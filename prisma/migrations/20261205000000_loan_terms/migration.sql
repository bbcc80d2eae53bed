-- AlterTable
ALTER TABLE "LoanFile" ADD COLUMN     "terms" JSONB;

-- AlterTable
ALTER TABLE "VerificationSession" ADD COLUMN     "loanTerms" JSONB;

