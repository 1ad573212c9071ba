-- A monthly spend cap per project, in micro-dollars (null: no cap). It travels to the data planes
-- in the snapshot (the projects trigger of V2 already announces the change).
alter table projects add column monthly_budget_micros bigint
  check (monthly_budget_micros is null or monthly_budget_micros >= 0);
