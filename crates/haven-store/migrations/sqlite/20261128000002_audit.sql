-- The audit log: append-only and hash-chained per organisation. Each entry's hash covers the
-- previous entry's hash and every field of the entry; audit_heads holds the last (seq, hash) of
-- each chain, so deleting entries from the end is detected too. Triggers refuse UPDATE and DELETE.

CREATE TABLE audit_log (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    seq INTEGER NOT NULL,
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
    details TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX audit_log_target ON audit_log (org_id, target_kind, target_id, seq);
CREATE INDEX audit_log_actor ON audit_log (org_id, actor_id, seq);
CREATE INDEX audit_log_action_ip ON audit_log (org_id, action, ip, occurred_at);

CREATE TABLE audit_heads (
    org_id BLOB NOT NULL PRIMARY KEY REFERENCES orgs (org_id),
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL
);

INSERT INTO audit_heads (org_id, seq, hash)
SELECT org_id, 0, X'8ec6740cb3b0abbfa5483f09a531993090952965cc862e64b5139f64188b0ddf' FROM orgs;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
