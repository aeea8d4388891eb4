CREATE TABLE "ticket_kpis" (
	"ticket_id" text PRIMARY KEY NOT NULL,
	"requested_at" timestamp with time zone NOT NULL,
	"assigned_at" timestamp with time zone,
	"first_agent_reply_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"status" "ticket_status" NOT NULL,
	"close_reason" "close_reason",
	"category" "ticket_category" NOT NULL,
	"priority" "ticket_priority" NOT NULL,
	"agent_id" text,
	"agent_name" text,
	"escalations" integer DEFAULT 0 NOT NULL,
	"csat" integer,
	"survey_status" "survey_status",
	"wait_seconds" double precision GENERATED ALWAYS AS (extract(epoch from assigned_at - requested_at)::float8) STORED,
	"first_response_seconds" double precision GENERATED ALWAYS AS (extract(epoch from first_agent_reply_at - assigned_at)::float8) STORED,
	"resolution_seconds" double precision GENERATED ALWAYS AS (case when close_reason = 'resolved' then extract(epoch from closed_at - requested_at)::float8 end) STORED
);
--> statement-breakpoint
ALTER TABLE "ticket_kpis" ADD CONSTRAINT "ticket_kpis_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "public"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ticket_kpis_requested_at_idx" ON "ticket_kpis" USING btree ("requested_at");--> statement-breakpoint
-- Tickets from before this table: their KPI rows, from the same columns the worker writes from now on.
INSERT INTO "ticket_kpis" ("ticket_id", "requested_at", "assigned_at", "first_agent_reply_at", "closed_at", "status", "close_reason", "category", "priority", "agent_id", "agent_name", "escalations", "csat", "survey_status")
SELECT "id", "requested_at", "assigned_at", "first_agent_reply_at", "closed_at", "status", "close_reason", "category", "priority", "agent_id", "agent_name", "escalations", "csat", "survey_status" FROM "tickets";
