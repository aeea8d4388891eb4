CREATE TABLE "kpi_rollup_changes" (
	"day" date NOT NULL
);
--> statement-breakpoint
CREATE TABLE "kpi_rollup_days" (
	"day" date PRIMARY KEY NOT NULL,
	"computed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "kpi_rollup_zone" (
	"zone" text PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE TABLE "kpi_rollups" (
	"period" text NOT NULL,
	"start" date NOT NULL,
	"dimension" text NOT NULL,
	"key" text NOT NULL,
	"agent_name" text,
	"counts" jsonb NOT NULL,
	"wait_sum" double precision NOT NULL,
	"wait_count" integer NOT NULL,
	"wait_sketch" "bytea" NOT NULL,
	"first_response_sum" double precision NOT NULL,
	"first_response_count" integer NOT NULL,
	"first_response_sketch" "bytea" NOT NULL,
	"resolution_sum" double precision NOT NULL,
	"resolution_count" integer NOT NULL,
	"resolution_sketch" "bytea" NOT NULL,
	CONSTRAINT "kpi_rollups_dimension_period_start_key_pk" PRIMARY KEY("dimension","period","start","key")
);
--> statement-breakpoint
CREATE INDEX "kpi_rollup_changes_day_idx" ON "kpi_rollup_changes" USING btree ("day");
--> statement-breakpoint
-- A change to a ticket of a day already rolled up makes that day's rollup stale (see kpi_rollup_changes).
-- Days not rolled up yet (today) have no kpi_rollup_days row: nothing to record.
CREATE FUNCTION "kpi_rollup_touch"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "kpi_rollup_changes" ("day")
  SELECT d."day" FROM "kpi_rollup_zone" AS z
  JOIN "kpi_rollup_days" AS d ON d."day" = (NEW."requested_at" AT TIME ZONE z."zone")::date;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "ticket_kpis_rollup_touch" AFTER INSERT OR UPDATE ON "ticket_kpis" FOR EACH ROW EXECUTE FUNCTION "kpi_rollup_touch"();
