-- Written notifications and referrals (issue 6): the letter and its workflow, the case documents
-- attached to it, every step with its time and actor, letter templates per purpose and language,
-- the organisation's settings (protocol number format, purposes that need approval), the reply
-- links institutions answer through (only a hash of the token is kept) and their replies.
-- Keep in step with migrations/postgres: the schema test compares the two.
--
-- Subject, body, recipient person and notes hold personal data: sealed in *_enc columns, always
-- filled. Protocol numbers come from the gapless `counters` register 'protocol'.

CREATE TABLE notifications (
    org_id UUID NOT NULL REFERENCES orgs (org_id),
    id UUID NOT NULL,
    case_id UUID,
    contact_id UUID,
    purpose TEXT NOT NULL CHECK (purpose IN ('report', 'request_for_action', 'request_for_information', 'referral_for_services', 'safe_return_request')),
    institution_id UUID NOT NULL,
    language TEXT NOT NULL,
    recipient_person_enc BYTEA NOT NULL,
    subject_enc BYTEA NOT NULL,
    body_enc BYTEA NOT NULL,
    people_enc BYTEA NOT NULL,
    protocol_year BIGINT NOT NULL,
    protocol_seq BIGINT NOT NULL,
    protocol_number TEXT NOT NULL,
    deadline_on DATE,
    status TEXT NOT NULL CHECK (status IN ('draft', 'awaiting_approval', 'approved', 'sending_failed', 'sent', 'received', 'answered', 'outcome_recorded')),
    send_method TEXT CHECK (send_method IN ('email', 'post', 'hand', 'fax')),
    sent_on DATE,
    failure_enc BYTEA NOT NULL,
    outcome TEXT,
    outcome_note_enc BYTEA NOT NULL,
    created_by UUID,
    approved_by UUID,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
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
    org_id UUID NOT NULL,
    notification_id UUID NOT NULL,
    document_id UUID NOT NULL,
    PRIMARY KEY (org_id, notification_id, document_id),
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, document_id) REFERENCES case_documents (org_id, id)
);

-- Every step: the status it led to, who took it (none for an institution's reply) and when.
CREATE TABLE notification_steps (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    notification_id UUID NOT NULL,
    status TEXT NOT NULL,
    actor UUID,
    at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, actor) REFERENCES users (org_id, id)
);
CREATE INDEX notification_steps_notification ON notification_steps (org_id, notification_id);

CREATE TABLE letter_templates (
    org_id UUID NOT NULL REFERENCES orgs (org_id),
    purpose TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_by UUID,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, purpose, language),
    FOREIGN KEY (org_id, updated_by) REFERENCES users (org_id, id)
);

CREATE TABLE referral_settings (
    org_id UUID NOT NULL PRIMARY KEY REFERENCES orgs (org_id),
    protocol_format TEXT NOT NULL,
    approval_purposes TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE reply_links (
    org_id UUID NOT NULL,
    notification_id UUID NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, notification_id),
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id) ON DELETE CASCADE
);

CREATE TABLE notification_replies (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    notification_id UUID NOT NULL,
    body_enc BYTEA NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id) ON DELETE CASCADE
);

-- The directory, completed: contact persons at each institution (officials, not clients: plain).
ALTER TABLE institutions ADD COLUMN contact_persons TEXT;
