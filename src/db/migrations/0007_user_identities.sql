ALTER TABLE "conversations" ADD COLUMN "user_phone" text;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "bsuid" text;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "username" text;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "parent_bsuid" text;--> statement-breakpoint
CREATE INDEX "conversations_user_phone_idx" ON "conversations" USING btree ("user_phone");--> statement-breakpoint
CREATE INDEX "conversations_bsuid_idx" ON "conversations" USING btree ("bsuid");--> statement-breakpoint
-- Backfill: a conversation from before knows its user only by its key, a phone or (rarely) a BSUID.
UPDATE "conversations" SET "bsuid" = "phone" WHERE "phone" ~ '^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]+$';--> statement-breakpoint
UPDATE "conversations" SET "user_phone" = "phone" WHERE "bsuid" IS NULL;
