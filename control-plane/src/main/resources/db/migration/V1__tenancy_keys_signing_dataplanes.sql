-- The control plane's first schema: principals and tenancy, API keys, encrypted platform
-- secrets, signing keys and the data-plane registry. Every timestamp is timestamptz (UTC).

-- Anyone who can act: the bootstrap operator and OIDC users (provisioned on first call).
create table principals (
  id uuid primary key,
  kind varchar(32) not null check (kind in ('bootstrap_operator', 'user')),
  display_name varchar(255) not null,
  oidc_issuer varchar(1024),
  oidc_subject varchar(255),
  platform_role varchar(32) not null check (platform_role in ('none', 'operator')),
  created_at timestamptz not null,
  constraint principals_oidc_identity_uq unique (oidc_issuer, oidc_subject)
);

create table customers (
  id uuid primary key,
  name varchar(255) not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);

create table projects (
  id uuid primary key,
  customer_id uuid not null references customers (id),
  name varchar(255) not null,
  region varchar(63) not null,
  default_model varchar(255) not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index projects_customer_idx on projects (customer_id, created_at);

-- Roles: viewer < member < admin < owner.
create table customer_members (
  customer_id uuid not null references customers (id),
  principal_id uuid not null references principals (id),
  role varchar(16) not null check (role in ('viewer', 'member', 'admin', 'owner')),
  created_at timestamptz not null,
  primary key (customer_id, principal_id)
);
create index customer_members_principal_idx on customer_members (principal_id, created_at);

create table project_members (
  project_id uuid not null references projects (id),
  principal_id uuid not null references principals (id),
  role varchar(16) not null check (role in ('viewer', 'member', 'admin', 'owner')),
  created_at timestamptz not null,
  primary key (project_id, principal_id)
);
create index project_members_principal_idx on project_members (principal_id, created_at);

-- API keys: only HMAC-SHA-256(pepper, secret) is kept. customer_id/project_id are null only
-- for the bootstrap operator's key, which is bound to no tenant.
create table api_keys (
  id uuid primary key,
  principal_id uuid not null references principals (id),
  customer_id uuid references customers (id),
  project_id uuid references projects (id),
  name varchar(255) not null,
  digest varchar(128) not null,
  last_four varchar(8) not null,
  requests_per_minute integer not null,
  tokens_per_minute bigint not null,
  max_concurrent_requests integer not null,
  monthly_budget_micros bigint,
  allowed_models text not null,
  expires_at timestamptz,
  created_at timestamptz not null,
  revoked_at timestamptz
);
create index api_keys_project_idx on api_keys (project_id, created_at);

-- Platform secrets (the API-key pepper), AES-256-GCM under the master key.
create table platform_secrets (
  name varchar(64) primary key,
  ciphertext bytea not null,
  created_at timestamptz not null
);

-- ES256 signing keys; the private key is AES-256-GCM under the master key. The newest key
-- without retired_at signs; retired keys stay published until expires_at.
create table signing_keys (
  kid varchar(64) primary key,
  algorithm varchar(16) not null,
  public_jwk text not null,
  private_key_ciphertext bytea not null,
  created_at timestamptz not null,
  retired_at timestamptz,
  expires_at timestamptz
);

create table dataplanes (
  id uuid primary key,
  name varchar(255) not null,
  region varchar(63) not null,
  public_url varchar(2048) not null,
  registration_token_hash varchar(128),
  credential_hash varchar(128),
  created_at timestamptz not null,
  activated_at timestamptz,
  drained_at timestamptz,
  last_heartbeat_at timestamptz,
  acked_config_version varchar(64),
  constraint dataplanes_name_uq unique (name)
);
create index dataplanes_region_idx on dataplanes (region);
