-- One registration token may register several instances (pods) of a regional data plane: the
-- registered row is the first instance, later redemptions add sibling rows pointing at it.
alter table dataplanes add column registrations_left integer not null default 1
  check (registrations_left >= 0);
alter table dataplanes add column pool_id uuid references dataplanes (id) on delete set null;
create index dataplanes_pool_idx on dataplanes (pool_id);
