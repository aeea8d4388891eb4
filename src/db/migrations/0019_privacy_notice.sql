ALTER TABLE "conversations" ADD COLUMN "privacy_notice_version" text;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "privacy_notice_sent_at" timestamp with time zone;