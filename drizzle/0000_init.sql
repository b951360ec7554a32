CREATE TABLE "indexer_cursor" (
	"name" text PRIMARY KEY NOT NULL,
	"checkpoint" bigint NOT NULL,
	"checkpoint_timestamp" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "merchants" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"sui_address" text NOT NULL,
	"hostname" text NOT NULL,
	"public_key" text NOT NULL,
	"api_key_hash" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "merchants_hostname_unique" UNIQUE("hostname"),
	CONSTRAINT "merchants_api_key_hash_unique" UNIQUE("api_key_hash")
);
--> statement-breakpoint
CREATE TABLE "proposals" (
	"transaction_id" uuid PRIMARY KEY NOT NULL,
	"merchant_id" uuid NOT NULL,
	"intent_hash" text NOT NULL,
	"document" jsonb NOT NULL,
	"currency" text NOT NULL,
	"coin_type" text NOT NULL,
	"amount_base_units" numeric(20, 0) NOT NULL,
	"merchant_sui_address" text NOT NULL,
	"status" text NOT NULL,
	"version" integer NOT NULL,
	"sui_tx_digest" text,
	"settled_at" timestamp with time zone,
	"late" boolean DEFAULT false NOT NULL,
	"amount_received_base_units" numeric(20, 0),
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "proposals_intent_hash_unique" UNIQUE("intent_hash"),
	CONSTRAINT "proposals_version_positive" CHECK ("proposals"."version" > 0)
);
--> statement-breakpoint
CREATE TABLE "settlement_anomalies" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"sui_tx_digest" text NOT NULL,
	"event_index" integer NOT NULL,
	"checkpoint" bigint NOT NULL,
	"intent_hash" text NOT NULL,
	"transaction_id" uuid,
	"reason" text NOT NULL,
	"detail" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "status_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"transaction_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"status" text NOT NULL,
	"event" text NOT NULL,
	"sui_tx_digest" text,
	"event_index" integer,
	"checkpoint" bigint,
	"late" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "proposals" ADD CONSTRAINT "proposals_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "status_events" ADD CONSTRAINT "status_events_transaction_id_proposals_transaction_id_fk" FOREIGN KEY ("transaction_id") REFERENCES "public"."proposals"("transaction_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "proposals_merchant_idx" ON "proposals" USING btree ("merchant_id","created_at");--> statement-breakpoint
CREATE INDEX "proposals_pending_expiry_idx" ON "proposals" USING btree ("expires_at") WHERE "proposals"."status" = 'pending';--> statement-breakpoint
CREATE UNIQUE INDEX "settlement_anomalies_event_uq" ON "settlement_anomalies" USING btree ("sui_tx_digest","event_index");--> statement-breakpoint
CREATE UNIQUE INDEX "status_events_tx_version_uq" ON "status_events" USING btree ("transaction_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "status_events_chain_event_uq" ON "status_events" USING btree ("sui_tx_digest","event_index");