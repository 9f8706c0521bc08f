-- The audit log: append-only and hash-chained per organisation (see migrations/sqlite).
-- Keep in step with migrations/sqlite: the schema test compares the two.

CREATE TABLE audit_log (
    org_id UUID NOT NULL REFERENCES orgs (org_id),
    seq BIGINT NOT NULL,
    id UUID NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id UUID,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    target_kind TEXT,
    target_id UUID,
    ip TEXT,
    request_id TEXT,
    details TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX audit_log_target ON audit_log (org_id, target_kind, target_id, seq);
CREATE INDEX audit_log_actor ON audit_log (org_id, actor_id, seq);
CREATE INDEX audit_log_action_ip ON audit_log (org_id, action, ip, occurred_at);

CREATE TABLE audit_heads (
    org_id UUID NOT NULL PRIMARY KEY REFERENCES orgs (org_id),
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);

INSERT INTO audit_heads (org_id, seq, hash)
SELECT org_id, 0, '\x8ec6740cb3b0abbfa5483f09a531993090952965cc862e64b5139f64188b0ddf'::bytea FROM orgs;

CREATE FUNCTION haven_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION haven_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION haven_audit_append_only();
