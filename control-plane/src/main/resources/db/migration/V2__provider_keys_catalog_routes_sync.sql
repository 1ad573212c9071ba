-- Config sync: BYOK provider keys (envelope-encrypted), the model catalog with a default seed,
-- project routes, data-plane ack/nack state, and change notification for every replica.

-- A provider credential of a project. The secret is AES-256-GCM under a per-row random data
-- key; the data key is wrapped under the master key identified by master_key_id. Both
-- ciphertexts carry customer, project and row id as associated data.
create table provider_keys (
  id uuid primary key,
  customer_id uuid not null references customers (id),
  project_id uuid not null references projects (id),
  provider varchar(32) not null,
  name varchar(255) not null,
  base_url varchar(2048) not null,
  last_four varchar(8) not null,
  master_key_id varchar(32) not null,
  wrapped_data_key bytea not null,
  secret_ciphertext bytea not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index provider_keys_project_idx on provider_keys (project_id, created_at);

-- Prices are micro-dollars (1 USD = 1,000,000); null means not priced.
create table catalog_models (
  model_id varchar(255) primary key,
  provider varchar(32) not null,
  name varchar(200) not null,
  chat boolean not null,
  embeddings boolean not null,
  image_generation boolean not null,
  tools boolean not null,
  vision boolean not null,
  streaming boolean not null,
  input_per_million_micros bigint,
  output_per_million_micros bigint,
  cached_input_per_million_micros bigint,
  per_image_micros bigint,
  context_window integer not null,
  max_output_tokens integer not null,
  updated_at timestamptz not null
);

-- Image prices by size and quality, per generated image.
create table catalog_image_prices (
  model_id varchar(255) not null references catalog_models (model_id) on delete cascade,
  size varchar(32) not null,
  quality varchar(32) not null,
  per_image_micros bigint not null,
  primary key (model_id, size, quality)
);

create table routes (
  id uuid primary key,
  customer_id uuid not null references customers (id),
  project_id uuid not null references projects (id),
  alias varchar(200) not null,
  fallback_on varchar(512) not null,
  timeout_ms integer not null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  constraint routes_alias_uq unique (project_id, alias)
);

-- Targets of a route: primaries (weighted) and fallbacks (in position order).
create table route_targets (
  route_id uuid not null references routes (id) on delete cascade,
  fallback boolean not null,
  position integer not null,
  model varchar(255) not null,
  provider_key_id uuid references provider_keys (id),
  weight integer not null,
  primary key (route_id, fallback, position)
);

alter table dataplanes add column last_nack_version varchar(64);
alter table dataplanes add column last_nack_error varchar(1024);
alter table dataplanes add column last_nack_at timestamptz;

-- Bumped in the same transaction as every write a data plane's snapshot depends on, so a
-- snapshot read in one transaction carries exactly the epoch of what it saw.
create table config_epoch (
  id integer primary key,
  epoch bigint not null
);
insert into config_epoch (id, epoch) values (1, 1);

-- Default catalog: list prices at time of writing (USD per million tokens, per image), from
-- the providers' public pricing pages. Operators update them through CatalogService.
insert into catalog_models (model_id, provider, name, chat, embeddings, image_generation, tools, vision, streaming, input_per_million_micros, output_per_million_micros, cached_input_per_million_micros, per_image_micros, context_window, max_output_tokens, updated_at) values
  ('openai/gpt-5', 'openai', 'gpt-5', true, false, false, true, true, true, 1250000, 10000000, 125000, null, 400000, 128000, now()),
  ('openai/gpt-5-mini', 'openai', 'gpt-5-mini', true, false, false, true, true, true, 250000, 2000000, 25000, null, 400000, 128000, now()),
  ('openai/gpt-5-nano', 'openai', 'gpt-5-nano', true, false, false, true, true, true, 50000, 400000, 5000, null, 400000, 128000, now()),
  ('openai/gpt-4.1', 'openai', 'gpt-4.1', true, false, false, true, true, true, 2000000, 8000000, 500000, null, 1047576, 32768, now()),
  ('openai/gpt-4.1-mini', 'openai', 'gpt-4.1-mini', true, false, false, true, true, true, 400000, 1600000, 100000, null, 1047576, 32768, now()),
  ('openai/gpt-4o', 'openai', 'gpt-4o', true, false, false, true, true, true, 2500000, 10000000, 1250000, null, 128000, 16384, now()),
  ('openai/gpt-4o-mini', 'openai', 'gpt-4o-mini', true, false, false, true, true, true, 150000, 600000, 75000, null, 128000, 16384, now()),
  ('openai/o3', 'openai', 'o3', true, false, false, true, true, true, 2000000, 8000000, 500000, null, 200000, 100000, now()),
  ('openai/o4-mini', 'openai', 'o4-mini', true, false, false, true, true, true, 1100000, 4400000, 275000, null, 200000, 100000, now()),
  ('openai/text-embedding-3-small', 'openai', 'text-embedding-3-small', false, true, false, false, false, false, 20000, null, null, null, 8191, 0, now()),
  ('openai/text-embedding-3-large', 'openai', 'text-embedding-3-large', false, true, false, false, false, false, 130000, null, null, null, 8191, 0, now()),
  ('openai/gpt-image-1', 'openai', 'gpt-image-1', false, false, true, false, true, false, 5000000, 40000000, 1250000, 42000, 0, 0, now()),
  ('openai/dall-e-3', 'openai', 'dall-e-3', false, false, true, false, false, false, null, null, null, 40000, 0, 0, now()),
  ('anthropic/claude-opus-4-5', 'anthropic', 'claude-opus-4-5', true, false, false, true, true, true, 5000000, 25000000, 500000, null, 200000, 64000, now()),
  ('anthropic/claude-opus-4-1', 'anthropic', 'claude-opus-4-1', true, false, false, true, true, true, 15000000, 75000000, 1500000, null, 200000, 32000, now()),
  ('anthropic/claude-sonnet-4-5', 'anthropic', 'claude-sonnet-4-5', true, false, false, true, true, true, 3000000, 15000000, 300000, null, 200000, 64000, now()),
  ('anthropic/claude-haiku-4-5', 'anthropic', 'claude-haiku-4-5', true, false, false, true, true, true, 1000000, 5000000, 100000, null, 200000, 64000, now()),
  ('gemini/gemini-2.5-pro', 'gemini', 'gemini-2.5-pro', true, false, false, true, true, true, 1250000, 10000000, 125000, null, 1048576, 65536, now()),
  ('gemini/gemini-2.5-flash', 'gemini', 'gemini-2.5-flash', true, false, false, true, true, true, 300000, 2500000, 30000, null, 1048576, 65536, now()),
  ('gemini/gemini-2.5-flash-lite', 'gemini', 'gemini-2.5-flash-lite', true, false, false, true, true, true, 100000, 400000, 10000, null, 1048576, 65536, now()),
  ('gemini/gemini-embedding-001', 'gemini', 'gemini-embedding-001', false, true, false, false, false, false, 150000, null, null, null, 2048, 0, now());

insert into catalog_image_prices (model_id, size, quality, per_image_micros) values
  ('openai/gpt-image-1', '1024x1024', 'low', 11000),
  ('openai/gpt-image-1', '1024x1024', 'medium', 42000),
  ('openai/gpt-image-1', '1024x1024', 'high', 167000),
  ('openai/gpt-image-1', '1024x1536', 'low', 16000),
  ('openai/gpt-image-1', '1024x1536', 'medium', 63000),
  ('openai/gpt-image-1', '1024x1536', 'high', 250000),
  ('openai/gpt-image-1', '1536x1024', 'low', 16000),
  ('openai/gpt-image-1', '1536x1024', 'medium', 63000),
  ('openai/gpt-image-1', '1536x1024', 'high', 250000),
  ('openai/dall-e-3', '1024x1024', 'standard', 40000),
  ('openai/dall-e-3', '1024x1792', 'standard', 80000),
  ('openai/dall-e-3', '1792x1024', 'standard', 80000),
  ('openai/dall-e-3', '1024x1024', 'hd', 80000),
  ('openai/dall-e-3', '1024x1792', 'hd', 120000),
  ('openai/dall-e-3', '1792x1024', 'hd', 120000);

-- Every committed write a snapshot depends on bumps the epoch and notifies every replica
-- (LISTEN agentrouter_config). Notifications are delivered at commit, once per payload.
/* [jooq ignore start] */
create function agentrouter_config_changed() returns trigger language plpgsql as $$
declare
  e bigint;
begin
  update config_epoch set epoch = epoch + 1 where id = 1 returning epoch into e;
  perform pg_notify('agentrouter_config', e::text);
  return null;
end;
$$;

create trigger api_keys_config after insert or update or delete on api_keys
  for each statement execute function agentrouter_config_changed();
create trigger projects_config after insert or update or delete on projects
  for each statement execute function agentrouter_config_changed();
create trigger provider_keys_config after insert or update or delete on provider_keys
  for each statement execute function agentrouter_config_changed();
create trigger catalog_models_config after insert or update or delete on catalog_models
  for each statement execute function agentrouter_config_changed();
create trigger catalog_image_prices_config after insert or update or delete on catalog_image_prices
  for each statement execute function agentrouter_config_changed();
create trigger routes_config after insert or update or delete on routes
  for each statement execute function agentrouter_config_changed();
create trigger route_targets_config after insert or update or delete on route_targets
  for each statement execute function agentrouter_config_changed();
create trigger signing_keys_config after insert or update or delete on signing_keys
  for each statement execute function agentrouter_config_changed();
create trigger platform_secrets_config after insert or update or delete on platform_secrets
  for each statement execute function agentrouter_config_changed();
create trigger dataplanes_config after insert or delete or update of region, drained_at on dataplanes
  for each statement execute function agentrouter_config_changed();
/* [jooq ignore stop] */
