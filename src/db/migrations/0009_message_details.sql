ALTER TABLE "messages" ADD COLUMN "details" jsonb;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "crm_key" text;--> statement-breakpoint
CREATE INDEX "messages_media_id_idx" ON "messages" USING btree (("media"->>'id'));