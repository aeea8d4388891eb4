ALTER TABLE "outbox" ADD COLUMN "author" "message_author";--> statement-breakpoint
-- Sends still open at the upgrade learn their author from the history, so a refusal of an agent's message still reaches its ticket.
UPDATE "outbox" SET "author" = "messages"."author" FROM "messages" WHERE "messages"."outbox_key" = "outbox"."idempotency_key" AND "outbox"."kind" = 'whatsapp.send' AND "outbox"."status" IN ('pending', 'in_flight');
