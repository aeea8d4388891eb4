CREATE TYPE "public"."survey_status" AS ENUM('offered', 'answered', 'expired', 'skipped');--> statement-breakpoint
ALTER TYPE "public"."close_reason" ADD VALUE 'fallback';--> statement-breakpoint
ALTER TYPE "public"."close_reason" ADD VALUE 'abandoned';--> statement-breakpoint
ALTER TYPE "public"."close_reason" ADD VALUE 'window_expired';--> statement-breakpoint
ALTER TYPE "public"."close_reason" ADD VALUE 'out_of_hours';--> statement-breakpoint
CREATE TABLE "timers" (
	"id" text PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"ticket_id" text,
	"timer" text NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"enqueued_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "last_user_message_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "escalations" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "survey_status" "survey_status";--> statement-breakpoint
CREATE INDEX "timers_due_idx" ON "timers" USING btree ("due_at");