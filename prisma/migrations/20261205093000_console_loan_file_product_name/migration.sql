-- The product's display name from the LOS, in the party's languages.
ALTER TABLE "LoanFile" ADD COLUMN "productName" JSONB;
