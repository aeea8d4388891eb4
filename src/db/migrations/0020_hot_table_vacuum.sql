-- The pipeline's hot tables are updated, or inserted and purged, at the traffic's pace: Postgres's default of
-- vacuuming a table once a fifth of it is dead lets a large one carry millions of dead rows (bloat, slower scans,
-- fewer HOT updates: the outbox claim needs room on its page). Vacuum them once 2 % is dead (at least 1,000 rows),
-- and the append-mostly ones once 5 % is new (their visibility map: index-only scans, and the purge's deletes).
ALTER TABLE "outbox" SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.05);--> statement-breakpoint
ALTER TABLE "timers" SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.05);--> statement-breakpoint
ALTER TABLE "conversations" SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.05);--> statement-breakpoint
ALTER TABLE "tickets" SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.05);--> statement-breakpoint
ALTER TABLE "ticket_kpis" SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);--> statement-breakpoint
ALTER TABLE "messages" SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.05);--> statement-breakpoint
ALTER TABLE "processed_events" SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.05);
