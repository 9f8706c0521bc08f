-- Corrections of what was recorded about a court proceeding. Lawyers make typos: an event,
-- charge, property claim, award, payment, enforcement step or fund application can be corrected
-- (the row is updated) or withdrawn as recorded by mistake (the row stays, marked withdrawn, and
-- the advocacy figures leave it out); nothing is deleted. Each correction keeps the previous
-- version: which fields changed (plain names) and their old values (sealed, they may hold
-- notes), with who, when and the reason (sealed: free text).
-- Keep in step with migrations/postgres: the schema test compares the two.
--
-- A re-qualification is not a correction: it stays a new charge (20261128000008_court.sql).

CREATE TABLE court_corrections (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    proceeding_id BLOB NOT NULL,
    item_kind TEXT NOT NULL CHECK (item_kind IN ('event', 'charge', 'claim', 'award', 'payment', 'step', 'fund')),
    item_id BLOB NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('corrected', 'withdrawn')),
    fields TEXT NOT NULL,
    old_enc BLOB NOT NULL,
    reason_enc BLOB NOT NULL,
    corrected_by BLOB,
    corrected_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, proceeding_id) REFERENCES proceedings (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, corrected_by) REFERENCES users (org_id, id)
);
CREATE INDEX court_corrections_proceeding ON court_corrections (org_id, proceeding_id, corrected_at);

ALTER TABLE proceeding_events ADD COLUMN withdrawn_at TEXT;
ALTER TABLE proceeding_charges ADD COLUMN withdrawn_at TEXT;
ALTER TABLE property_claims ADD COLUMN withdrawn_at TEXT;
ALTER TABLE compensation_awards ADD COLUMN withdrawn_at TEXT;
ALTER TABLE compensation_payments ADD COLUMN withdrawn_at TEXT;
ALTER TABLE enforcement_steps ADD COLUMN withdrawn_at TEXT;
ALTER TABLE fund_applications ADD COLUMN withdrawn_at TEXT;

-- What a state fund granted (it may grant less than was asked).
ALTER TABLE fund_applications ADD COLUMN granted_minor INTEGER;
