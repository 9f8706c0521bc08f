-- The hotline desk: contacts on every line and channel, their counsellors, categories, blind
-- indexes, versions, escalation checklists, caller flags, drafts, handover notes; case tasks
-- become tasks of a case or of a contact; links from cases to contacts gain their foreign key.

CREATE TABLE contacts (
    org_id UUID NOT NULL REFERENCES orgs (org_id),
    id UUID NOT NULL,
    line TEXT NOT NULL,
    channel TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    started_at TIMESTAMPTZ NOT NULL,
    duration_seconds BIGINT NOT NULL CHECK (duration_seconds >= 0),
    caller_type TEXT NOT NULL,
    person_id UUID,
    anonymous BOOLEAN NOT NULL,
    phone_enc BYTEA NOT NULL,
    email_enc BYTEA NOT NULL,
    handle_enc BYTEA NOT NULL,
    language TEXT NOT NULL,
    safe_to_call_back BOOLEAN NOT NULL,
    confidential BOOLEAN NOT NULL,
    heard_via TEXT NOT NULL,
    countries TEXT NOT NULL,
    summary_enc BYTEA NOT NULL,
    notes_enc BYTEA NOT NULL,
    urgency TEXT NOT NULL CHECK (urgency IN ('routine', 'urgent', 'immediate_danger')),
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    referral TEXT NOT NULL,
    needs_follow_up BOOLEAN NOT NULL,
    assigned_to UUID,
    voided_at TIMESTAMPTZ,
    voided_by UUID,
    void_reason_enc BYTEA NOT NULL,
    version BIGINT NOT NULL,
    created_by UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_by UUID NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, assigned_to) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, voided_by) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, updated_by) REFERENCES users (org_id, id)
);
CREATE INDEX contacts_started ON contacts (org_id, started_at);
CREATE INDEX contacts_line ON contacts (org_id, line, started_at);

CREATE TABLE contact_counsellors (
    org_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    user_id UUID NOT NULL,
    PRIMARY KEY (org_id, contact_id, user_id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX contact_counsellors_user ON contact_counsellors (org_id, user_id);

CREATE TABLE contact_categories (
    org_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (org_id, contact_id, code),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_categories_code ON contact_categories (org_id, code);

CREATE TABLE contact_index (
    org_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('phone', 'email', 'handle')),
    value BYTEA NOT NULL,
    -- The lookup's order: an index value leads, so the primary key serves every lookup.
    PRIMARY KEY (org_id, kind, value, contact_id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_index_contact ON contact_index (org_id, contact_id);

CREATE TABLE contact_versions (
    org_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    version BIGINT NOT NULL,
    changed_by UUID NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (org_id, contact_id, version),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, changed_by) REFERENCES users (org_id, id)
);

CREATE TABLE contact_checks (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    contact_id UUID NOT NULL,
    step TEXT NOT NULL,
    done BOOLEAN NOT NULL,
    value_enc BYTEA NOT NULL,
    checked_by UUID NOT NULL,
    checked_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, checked_by) REFERENCES users (org_id, id)
);
CREATE INDEX contact_checks_contact ON contact_checks (org_id, contact_id, checked_at);

CREATE TABLE caller_flags (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    contact_id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('abusive', 'do_not_call_back', 'known_prank')),
    until TIMESTAMPTZ NOT NULL,
    created_by UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE INDEX caller_flags_contact ON caller_flags (org_id, contact_id, until);

CREATE TABLE contact_drafts (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    user_id UUID NOT NULL,
    data_enc BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX contact_drafts_user ON contact_drafts (org_id, user_id, updated_at);

CREATE TABLE handover_notes (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    line TEXT NOT NULL,
    body_enc BYTEA NOT NULL,
    created_by UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE INDEX handover_notes_line ON handover_notes (org_id, line, created_at);

-- Tasks of a case or of a contact (one table, so one inbox and one "due" query serve both).
ALTER TABLE case_tasks ALTER COLUMN case_id DROP NOT NULL;
ALTER TABLE case_tasks ADD COLUMN contact_id UUID;
ALTER TABLE case_tasks ADD CONSTRAINT case_tasks_case_or_contact CHECK (case_id IS NOT NULL OR contact_id IS NOT NULL);
ALTER TABLE case_tasks ADD CONSTRAINT case_tasks_contact_fk FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE;
CREATE INDEX case_tasks_contact ON case_tasks (org_id, contact_id);

-- Links from cases to contacts: now with the foreign key to contacts. Links made before the desk
-- existed cannot name a recorded contact.
DELETE FROM case_contacts l WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.org_id = l.org_id AND c.id = l.contact_id);
ALTER TABLE case_contacts ADD CONSTRAINT case_contacts_contact_fk FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id);
