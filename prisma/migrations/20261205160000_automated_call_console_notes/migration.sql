-- AlterTable
ALTER TABLE "ChecklistAnswer" ADD COLUMN     "noteCode" VARCHAR(64),
ADD COLUMN     "noteParams" JSONB;
