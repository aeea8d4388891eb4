CREATE TABLE "partition_owners" (
	"partition" integer PRIMARY KEY NOT NULL,
	"token" bigint NOT NULL,
	"owner" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "claimed_by" text;