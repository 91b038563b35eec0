-- AlterTable
ALTER TABLE "AuditEvent" ADD COLUMN     "code" TEXT;
