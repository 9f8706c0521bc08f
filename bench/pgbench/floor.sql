BEGIN;
INSERT INTO bench_floor (id, payload) VALUES (gen_random_uuid(), convert_to(repeat('Z',1024),'UTF8'));
COMMIT;
