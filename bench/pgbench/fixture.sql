-- Fixture for bench/pgbench: one organisation, four counsellors, a session each (token t<user id>).
INSERT INTO orgs VALUES ('00000000-0000-0000-0000-000000000001','o','O','Europe/Belgrade','sr-Latn','RS',now());
INSERT INTO users SELECT '00000000-0000-0000-0000-000000000001', ('00000000-0000-0000-0000-00000000010'||g)::uuid, 'u'||g||'@x','u'||g||'@x','U','sr-Latn',NULL,'active',now(),now() FROM generate_series(1,4) g;
INSERT INTO user_roles SELECT org_id, id, 'counsellor' FROM users;
INSERT INTO sessions SELECT org_id, gen_random_uuid(), sha256(('t'||id)::bytea), id, 'complete', '\x00', now(), now(), now()+interval '1 day', NULL,NULL,NULL,NULL FROM users;
CREATE TABLE bench_floor (id UUID PRIMARY KEY, payload BYTEA NOT NULL);
