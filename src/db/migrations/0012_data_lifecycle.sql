-- Retention and a subscriber's rights (issue 21): an outbox kind that tells the CRM of an erasure; the record of each
-- request, without personal data; KPIs outlive their tickets (no foreign key); BRIN indexes for the purge by age.
ALTER TYPE "public"."outbox_kind" ADD VALUE 'crm.subscriber_erased';--> statement-breakpoint
CREATE TABLE "privacy_requests" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"requested_by" text NOT NULL,
	"identifiers" text[] NOT NULL,
	"outcome" jsonb NOT NULL,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "ticket_kpis" DROP CONSTRAINT "ticket_kpis_ticket_id_tickets_id_fk";
--> statement-breakpoint
CREATE INDEX "messages_created_at_brin_idx" ON "messages" USING brin ("created_at");--> statement-breakpoint
CREATE INDEX "outbox_created_at_brin_idx" ON "outbox" USING brin ("created_at");