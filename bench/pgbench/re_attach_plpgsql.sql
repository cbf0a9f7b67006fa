-- PL/pgSQL re-attach doing gen_re_attach's work on gencontrol's tables.
SELECT * FROM bench.plpgsql_re_attach(:node);
