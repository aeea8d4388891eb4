ALTER TYPE "public"."outbox_kind" ADD VALUE 'whatsapp.read';--> statement-breakpoint
ALTER TYPE "public"."outbox_kind" ADD VALUE 'whatsapp.typing';