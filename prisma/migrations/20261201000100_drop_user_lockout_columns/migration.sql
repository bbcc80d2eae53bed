-- Sign-in throttling lives in Redis (server/auth/rate-limiter.ts); these columns were never used.
ALTER TABLE "User" DROP COLUMN "failedLoginCount",
DROP COLUMN "lockedUntil";
