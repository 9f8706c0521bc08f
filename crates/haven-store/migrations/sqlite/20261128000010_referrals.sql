-- Written notifications and referrals (issue 6): the letter and its workflow, the case documents
-- attached to it, every step with its time and actor, letter templates per purpose and language,
-- the organisation's settings (protocol number format, purposes that need approval), the reply
-- links institutions answer through (only a hash of the token is kept) and their replies.
-- Keep in step with migrations/postgres: the schema test compares the two.
--
-- Subject, body, recipient person and notes hold personal data: sealed in *_enc columns, always
-- filled. Protocol numbers come from the gapless `counters` register 'protocol'.

CREATE TABLE notifications (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    id BLOB NOT NULL,
    case_id BLOB,
    contact_id BLOB,
    purpose TEXT NOT NULL CHECK (purpose IN ('report', 'request_for_action', 'request_for_information', 'referral_for_services', 'safe_return_request')),
    institution_id BLOB NOT NULL,
    language TEXT NOT NULL,
    recipient_person_enc BLOB NOT NULL,
    subject_enc BLOB NOT NULL,
    body_enc BLOB NOT NULL,
    people_enc BLOB NOT NULL,
    protocol_year INTEGER NOT NULL,
    protocol_seq INTEGER NOT NULL,
    protocol_number TEXT NOT NULL,
    deadline_on TEXT,
    status TEXT NOT NULL CHECK (status IN ('draft', 'awaiting_approval', 'approved', 'sending_failed', 'sent', 'received', 'answered', 'outcome_recorded')),
    send_method TEXT CHECK (send_method IN ('email', 'post', 'hand', 'fax')),
    sent_on TEXT,
    failure_enc BLOB NOT NULL,
    outcome TEXT,
    outcome_note_enc BLOB NOT NULL,
    created_by BLOB,
    approved_by BLOB,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, protocol_year, protocol_seq),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id),
    FOREIGN KEY (org_id, institution_id) REFERENCES institutions (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, approved_by) REFERENCES users (org_id, id)
);
CREATE INDEX notifications_case ON notifications (org_id, case_id);
CREATE INDEX notifications_contact ON notifications (org_id, contact_id);
CREATE INDEX notifications_status ON notifications (org_id, status, deadline_on);

CREATE TABLE notification_documents (
    org_id BLOB NOT NULL,
    notification_id BLOB NOT NULL,
    document_id BLOB NOT NULL,
    PRIMARY KEY (org_id, notification_id, document_id),
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, document_id) REFERENCES case_documents (org_id, id)
);

-- Every step: the status it led to, who took it (none for an institution's reply) and when.
CREATE TABLE notification_steps (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    notification_id BLOB NOT NULL,
    status TEXT NOT NULL,
    actor BLOB,
    at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, actor) REFERENCES users (org_id, id)
);
CREATE INDEX notification_steps_notification ON notification_steps (org_id, notification_id);

CREATE TABLE letter_templates (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    purpose TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_by BLOB,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, purpose, language),
    FOREIGN KEY (org_id, updated_by) REFERENCES users (org_id, id)
);

CREATE TABLE referral_settings (
    org_id BLOB NOT NULL PRIMARY KEY REFERENCES orgs (org_id),
    protocol_format TEXT NOT NULL,
    approval_purposes TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE reply_links (
    org_id BLOB NOT NULL,
    notification_id BLOB NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, notification_id),
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id) ON DELETE CASCADE
);

CREATE TABLE notification_replies (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    notification_id BLOB NOT NULL,
    body_enc BLOB NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id) ON DELETE CASCADE
);

-- The directory, completed: contact persons at each institution (officials, not clients: plain).
ALTER TABLE institutions ADD COLUMN contact_persons TEXT;
