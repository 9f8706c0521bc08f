-- Audit entries waiting to be chained. A change writes its audit entry here, inside its own
-- transaction, without touching the chain head; the sequencer (haven_store::audit::sequence)
-- moves committed entries into audit_log in batches, numbering and hash-chaining them under the
-- head's lock. Changes of one organisation no longer queue behind each other's commits, and an
-- entry still commits with its change or not at all.

CREATE TABLE audit_pending (
    pid INTEGER PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    id BLOB NOT NULL,
    occurred_at TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id BLOB,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    target_kind TEXT,
    target_id BLOB,
    ip TEXT,
    request_id TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_pending_org ON audit_pending (org_id, pid);
CREATE INDEX audit_pending_action_ip ON audit_pending (action, ip, occurred_at);
