ALTER TYPE "public"."outbox_kind" ADD VALUE 'whatsapp.thread_control';--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "thread_owner" text;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "bot_paused_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "business_phone_number_id" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "billable" boolean;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "pricing_model" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "pricing_category" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "edited_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "ticket_kpis" ADD COLUMN "business_phone_number_id" text;--> statement-breakpoint
CREATE INDEX "messages_billable_ticket_idx" ON "messages" USING btree ("ticket_id") WHERE "messages"."billable";