-- What the BEFORE UPDATE guard trigger costs a bulk update: PostgreSQL locks each row (one
-- Heap/LOCK WAL record) before calling a BEFORE ROW trigger. (run_variants.py FILE 3 node=1)
\timing on
\echo == with_trigger
BEGIN; UPDATE gencontrol.tenant_shards SET generation = generation + 1, updated_at = now()
 WHERE attached_node = :node AND generation IS NOT NULL; ROLLBACK;
\echo == without_trigger
BEGIN; ALTER TABLE gencontrol.tenant_shards DISABLE TRIGGER tenant_shards_generation_only_grows;
UPDATE gencontrol.tenant_shards SET generation = generation + 1, updated_at = now()
 WHERE attached_node = :node AND generation IS NOT NULL; ROLLBACK;
\echo == statement_trigger
BEGIN; ALTER TABLE gencontrol.tenant_shards DISABLE TRIGGER tenant_shards_generation_only_grows;
CREATE FUNCTION pg_temp.guard_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id OPERATOR(gencontrol.=) o.id
              WHERE o.generation IS NOT NULL AND (n.generation IS NULL OR n.generation <= o.generation)) THEN
    RAISE EXCEPTION 'generation may only increase';
  END IF;
  RETURN NULL;
END $$;
SET LOCAL enable_nestloop = off;  -- transition tables carry no statistics
CREATE TRIGGER guard_statement AFTER UPDATE ON gencontrol.tenant_shards
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.guard_statement();
UPDATE gencontrol.tenant_shards SET generation = generation + 1, updated_at = now()
 WHERE attached_node = :node AND generation IS NOT NULL; ROLLBACK;
