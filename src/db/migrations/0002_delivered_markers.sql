CREATE TABLE "delivered_markers" (
	"user_id" integer NOT NULL,
	"conversation_id" integer NOT NULL,
	"delivered_seq" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "delivered_markers_user_id_conversation_id_pk" PRIMARY KEY("user_id","conversation_id")
);
--> statement-breakpoint
CREATE TABLE "session_delivered_markers" (
	"session_id" integer NOT NULL,
	"conversation_id" integer NOT NULL,
	"delivered_seq" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "session_delivered_markers_session_id_conversation_id_pk" PRIMARY KEY("session_id","conversation_id")
);
--> statement-breakpoint
ALTER TABLE "delivered_markers" ADD CONSTRAINT "delivered_markers_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delivered_markers" ADD CONSTRAINT "delivered_markers_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "session_delivered_markers" ADD CONSTRAINT "session_delivered_markers_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "session_delivered_markers" ADD CONSTRAINT "session_delivered_markers_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;