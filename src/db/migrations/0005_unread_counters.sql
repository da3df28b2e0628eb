ALTER TABLE "conversations" ADD COLUMN "client_sent" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "worker_sent" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "read_markers" ADD COLUMN "own_read" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Backfill: what each member has sent, and how many of a reader's own messages are at or below
-- their read marker, so unread counts stay exact across the upgrade.
UPDATE "conversations" c SET
  "client_sent" = (SELECT count(*) FROM "messages" m WHERE m."conversation_id" = c."id" AND m."sender_id" = c."client_id"),
  "worker_sent" = (SELECT count(*) FROM "messages" m WHERE m."conversation_id" = c."id" AND m."sender_id" = c."worker_id");--> statement-breakpoint
UPDATE "read_markers" r SET
  "own_read" = (SELECT count(*) FROM "messages" m WHERE m."conversation_id" = r."conversation_id" AND m."sender_id" = r."user_id" AND m."seq" <= r."last_read_seq");
