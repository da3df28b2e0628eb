CREATE TABLE "notify_batches" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "notify_batches_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"user_id" integer NOT NULL,
	"conversation_id" integer NOT NULL,
	"first_seq" integer NOT NULL,
	"last_seq" integer NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "notify_batches" ADD CONSTRAINT "notify_batches_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notify_batches" ADD CONSTRAINT "notify_batches_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "notify_batches_open_key" ON "notify_batches" USING btree ("user_id","conversation_id") WHERE "notify_batches"."sent_at" is null;--> statement-breakpoint
CREATE INDEX "notify_batches_pair_idx" ON "notify_batches" USING btree ("user_id","conversation_id","last_seq" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "jobs_owner_queued_idx" ON "jobs" USING btree ("owner_id") WHERE "jobs"."state" in ('waiting', 'delayed');