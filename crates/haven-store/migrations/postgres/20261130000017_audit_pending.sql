-- Audit entries waiting to be chained (see migrations/sqlite).
-- Keep in step with migrations/sqlite: the schema test compares the two.

CREATE TABLE audit_pending (
    pid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES orgs (org_id),
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
    details TEXT NOT NULL
);
CREATE INDEX audit_pending_org ON audit_pending (org_id, pid);
CREATE INDEX audit_pending_action_ip ON audit_pending (action, ip, occurred_at);
