-- A monthly spend cap per project, in micro-dollars (null: no cap). It travels to the data planes
-- in the snapshot (the projects trigger of V2 already announces the change).
alter table projects add column monthly_budget_micros bigint
  check (monthly_budget_micros is null or monthly_budget_micros >= 0);

-- Regions besides the home region whose data planes may also serve the project (data residency:
-- no other region's data planes ever receive its keys or routes).
alter table projects add column allowed_regions varchar(63)[] not null default '{}';
create index projects_allowed_regions_idx on projects using gin (allowed_regions);
