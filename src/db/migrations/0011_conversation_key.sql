-- The conversation key (a phone or a BSUID) is named for what it holds. Renames only: the rows and the indexes stay as
-- they are (drizzle-kit proposed dropping and rebuilding the indexes: a rebuild of the messages index on a large table).
ALTER TABLE "conversations" RENAME COLUMN "phone" TO "conversation_key";--> statement-breakpoint
ALTER TABLE "tickets" RENAME COLUMN "phone" TO "conversation_key";--> statement-breakpoint
ALTER TABLE "messages" RENAME COLUMN "phone" TO "conversation_key";--> statement-breakpoint
ALTER TABLE "timers" RENAME COLUMN "key" TO "conversation_key";--> statement-breakpoint
ALTER INDEX "tickets_one_open_per_phone" RENAME TO "tickets_one_open_per_conversation_key";--> statement-breakpoint
ALTER INDEX "tickets_phone_idx" RENAME TO "tickets_conversation_key_idx";--> statement-breakpoint
ALTER INDEX "messages_phone_idx" RENAME TO "messages_conversation_key_idx";
