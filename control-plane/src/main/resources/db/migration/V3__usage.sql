-- Usage: request logs streamed by the data planes, daily rollups, and Prompt idempotency.

-- Delivery dedupe. A unique index on the partitioned request_log would have to include the
-- partition key (started_at), and a data plane that re-sends a record must be absorbed whatever
-- its started_at says, so uniqueness of request ids lives here: inserting the id first, with
-- ON CONFLICT (request_id) DO NOTHING, decides in the same transaction whether the record is new.
create table request_ids (
  request_id varchar(64) primary key,
  started_at timestamptz not null,
  received_at timestamptz not null
);

-- One row per finished request, range-partitioned by month of started_at (UTC). Partitions are
-- created ahead by the application through ensure_request_log_partition().
create table request_log (
  request_id varchar(64) not null,
  started_at timestamptz not null,
  dataplane_id uuid not null,
  customer_id uuid not null,
  project_id uuid not null,
  key_id uuid,
  kind varchar(16) not null check (kind in ('chat', 'embeddings', 'images')),
  model_requested varchar(255) not null,
  model_served varchar(255) not null,
  provider varchar(64) not null,
  status_code integer not null,
  error_class varchar(64) not null,
  is_error boolean not null,
  prompt_tokens bigint not null,
  completion_tokens bigint not null,
  cached_tokens bigint not null,
  cost_micros bigint not null,
  latency_ms bigint not null,
  upstream_ms bigint not null,
  overhead_ms bigint not null,
  idempotency_key varchar(255) not null,
  streamed boolean not null,
  client_aborted boolean not null,
  metadata text not null,
  primary key (started_at, request_id)
)
/* [jooq ignore start] */ partition by range (started_at) /* [jooq ignore stop] */;

-- Newest first within a project: the request-log API's keyset order.
create index request_log_project_idx on request_log (project_id, started_at desc, request_id desc);

/* [jooq ignore start] */
create or replace function ensure_request_log_partition(month_start date) returns void
language plpgsql as $$
declare
  first_day date := date_trunc('month', month_start)::date;
  part_name text := 'request_log_' || to_char(first_day, 'YYYY_MM');
begin
  if to_regclass(part_name) is null then
    -- Two transactions creating the same partition would collide on the catalog.
    perform pg_advisory_xact_lock(hashtext(part_name));
    if to_regclass(part_name) is null then
      execute format(
        'create table %I partition of request_log for values from (%L) to (%L)',
        part_name,
        (first_day::timestamp at time zone 'UTC'),
        ((first_day + interval '1 month')::timestamp at time zone 'UTC'));
    end if;
  end if;
end
$$;
/* [jooq ignore stop] */

-- Daily totals by (UTC day, project, key, model), counting each request id once. key_id is the
-- nil UUID for requests without a key; model is the served model, else the one asked for.
create table usage_daily (
  day date not null,
  customer_id uuid not null,
  project_id uuid not null,
  key_id uuid not null,
  model varchar(255) not null,
  requests bigint not null,
  errors bigint not null,
  prompt_tokens bigint not null,
  completion_tokens bigint not null,
  cached_tokens bigint not null,
  cost_micros bigint not null,
  primary key (project_id, day, key_id, model)
);
create index usage_daily_key_idx on usage_daily (key_id, day);

-- Prompt idempotency: the row inserted first (ON CONFLICT DO NOTHING) owns the upstream call.
create table prompt_idempotency (
  project_id uuid not null,
  idempotency_key varchar(255) not null,
  request_hash varchar(64) not null,
  status varchar(16) not null check (status in ('running', 'done')),
  response bytea,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  primary key (project_id, idempotency_key)
);
create index prompt_idempotency_expiry_idx on prompt_idempotency (expires_at);
