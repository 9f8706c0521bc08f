-- The hotline desk: contacts on every line and channel, their counsellors, categories, blind
-- indexes, versions, escalation checklists, caller flags, drafts, handover notes; case tasks
-- become tasks of a case or of a contact; links from cases to contacts gain their foreign key.

CREATE TABLE contacts (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    id BLOB NOT NULL,
    line TEXT NOT NULL,
    channel TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    started_at TEXT NOT NULL,
    duration_seconds INTEGER NOT NULL CHECK (duration_seconds >= 0),
    caller_type TEXT NOT NULL,
    person_id BLOB,
    anonymous INTEGER NOT NULL,
    phone_enc BLOB NOT NULL,
    email_enc BLOB NOT NULL,
    handle_enc BLOB NOT NULL,
    language TEXT NOT NULL,
    safe_to_call_back INTEGER NOT NULL,
    confidential INTEGER NOT NULL,
    heard_via TEXT NOT NULL,
    countries TEXT NOT NULL,
    summary_enc BLOB NOT NULL,
    notes_enc BLOB NOT NULL,
    urgency TEXT NOT NULL CHECK (urgency IN ('routine', 'urgent', 'immediate_danger')),
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    referral TEXT NOT NULL,
    needs_follow_up INTEGER NOT NULL,
    assigned_to BLOB,
    voided_at TEXT,
    voided_by BLOB,
    void_reason_enc BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_by BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_by BLOB NOT NULL,
    updated_at TEXT NOT NULL,
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
    org_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    PRIMARY KEY (org_id, contact_id, user_id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX contact_counsellors_user ON contact_counsellors (org_id, user_id);

CREATE TABLE contact_categories (
    org_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (org_id, contact_id, code),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_categories_code ON contact_categories (org_id, code);

CREATE TABLE contact_index (
    org_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('phone', 'email', 'handle')),
    value BLOB NOT NULL,
    -- The lookup's order: an index value leads, so the primary key serves every lookup.
    PRIMARY KEY (org_id, kind, value, contact_id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_index_contact ON contact_index (org_id, contact_id);

CREATE TABLE contact_versions (
    org_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    changed_by BLOB NOT NULL,
    changed_at TEXT NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (org_id, contact_id, version),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, changed_by) REFERENCES users (org_id, id)
);

CREATE TABLE contact_checks (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    step TEXT NOT NULL,
    done INTEGER NOT NULL,
    value_enc BLOB NOT NULL,
    checked_by BLOB NOT NULL,
    checked_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, checked_by) REFERENCES users (org_id, id)
);
CREATE INDEX contact_checks_contact ON contact_checks (org_id, contact_id, checked_at);

CREATE TABLE caller_flags (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('abusive', 'do_not_call_back', 'known_prank')),
    until TEXT NOT NULL,
    created_by BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE INDEX caller_flags_contact ON caller_flags (org_id, contact_id, until);

CREATE TABLE contact_drafts (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    data_enc BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX contact_drafts_user ON contact_drafts (org_id, user_id, updated_at);

CREATE TABLE handover_notes (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    line TEXT NOT NULL,
    body_enc BLOB NOT NULL,
    created_by BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE INDEX handover_notes_line ON handover_notes (org_id, line, created_at);

-- Tasks of a case or of a contact (one table, so one inbox and one "due" query serve both).
CREATE TABLE case_tasks_new (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    case_id BLOB,
    contact_id BLOB,
    title_enc BLOB NOT NULL,
    due_at TEXT,
    assignee BLOB,
    done_at TEXT,
    done_by BLOB,
    created_by BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    CHECK (case_id IS NOT NULL OR contact_id IS NOT NULL),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, assignee) REFERENCES users (org_id, id)
);
INSERT INTO case_tasks_new (org_id, id, case_id, contact_id, title_enc, due_at, assignee, done_at, done_by, created_by, created_at)
    SELECT org_id, id, case_id, NULL, title_enc, due_at, assignee, done_at, done_by, created_by, created_at FROM case_tasks;
DROP TABLE case_tasks;
ALTER TABLE case_tasks_new RENAME TO case_tasks;
CREATE INDEX case_tasks_case ON case_tasks (org_id, case_id);
CREATE INDEX case_tasks_contact ON case_tasks (org_id, contact_id);
CREATE INDEX case_tasks_assignee ON case_tasks (org_id, assignee, done_at, due_at);

-- Links from cases to contacts: now with the foreign key to contacts (a rebuild in SQLite).
CREATE TABLE case_contacts_new (
    org_id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    linked_by BLOB,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (org_id, case_id, contact_id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id),
    FOREIGN KEY (org_id, linked_by) REFERENCES users (org_id, id)
);
INSERT INTO case_contacts_new (org_id, case_id, contact_id, linked_by, linked_at)
    SELECT org_id, case_id, contact_id, linked_by, linked_at FROM case_contacts l
    WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.org_id = l.org_id AND c.id = l.contact_id);
DROP TABLE case_contacts;
ALTER TABLE case_contacts_new RENAME TO case_contacts;
CREATE INDEX case_contacts_contact ON case_contacts (org_id, contact_id);
