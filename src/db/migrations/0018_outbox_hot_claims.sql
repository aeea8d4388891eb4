-- Open rows are now those not completed (src/db/schema/pipeline.ts): every finished row has its completed_at.
UPDATE "outbox" SET "completed_at" = coalesce("completed_at", "created_at") WHERE "status" IN ('done', 'failed') AND "completed_at" IS NULL;--> statement-breakpoint
-- Room on each page for the claim's new row version beside the old: the claim is a HOT update (no index entry).
ALTER TABLE "outbox" SET (fillfactor = 50);--> statement-breakpoint
DROP INDEX "outbox_open_lane_idx";--> statement-breakpoint
DROP INDEX "outbox_due_idx";--> statement-breakpoint
CREATE INDEX "outbox_open_lane_idx" ON "outbox" USING btree ("lane","id") WHERE "outbox"."completed_at" is null;--> statement-breakpoint
CREATE INDEX "outbox_due_idx" ON "outbox" USING btree ("next_attempt_at") WHERE "outbox"."completed_at" is null;