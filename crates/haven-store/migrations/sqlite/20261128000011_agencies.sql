-- Agencies and job-offer reports (issue 7): recruiters and job advertisers, their aliases and
-- channels, the name tokens that find a name without scanning every agency, job-offer reports
-- from the desk and the portal, the contacts that mention an agency, what was done about each
-- agency (notifications sent, inspections, proceedings, deregistration) and the published
-- warnings with their history.
-- Keep in step with migrations/postgres: the schema test compares the two.
--
-- Names, aliases, registration and tax numbers are kept in clear: these are organisations that
-- advertise publicly, and the public check and fuzzy matching need them. Channels are sealed
-- (a "channel" is often a private person's mobile number or profile) with a blind index of the
-- canonical value; staff notes and everything in a report (ad text, URL, channels, screenshot)
-- are sealed too. Every *_enc column is always filled.

CREATE TABLE agencies (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    id BLOB NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    registration_number TEXT,
    tax_number TEXT,
    licence_status TEXT NOT NULL DEFAULT 'unknown' CHECK (licence_status IN ('unknown', 'licensed', 'not_found', 'revoked')),
    licence_as_of TEXT,
    addresses TEXT NOT NULL DEFAULT '',
    countries TEXT NOT NULL DEFAULT '',
    sectors TEXT NOT NULL DEFAULT '',
    notes_enc BLOB NOT NULL,
    warning_published BOOLEAN NOT NULL DEFAULT FALSE,
    warning_reason TEXT,
    warning_review_on TEXT,
    report_count INTEGER NOT NULL DEFAULT 0,
    last_report_at TEXT,
    created_by BLOB,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE INDEX agencies_recent ON agencies (org_id, last_report_at);
CREATE INDEX agencies_registration ON agencies (org_id, registration_number);
CREATE INDEX agencies_tax ON agencies (org_id, tax_number);

CREATE TABLE agency_aliases (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    agency_id BLOB NOT NULL,
    alias TEXT NOT NULL,
    name_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, agency_id) REFERENCES agencies (org_id, id) ON DELETE CASCADE
);
CREATE INDEX agency_aliases_agency ON agency_aliases (org_id, agency_id);

-- The candidate lookup: one row per distinctive word of a name or an alias (name_tokens of the
-- domain), with the name_key it came from, so that matching reads only the agencies that share a
-- word with the name asked about.
CREATE TABLE agency_name_tokens (
    org_id BLOB NOT NULL,
    token TEXT NOT NULL,
    agency_id BLOB NOT NULL,
    name_key TEXT NOT NULL,
    PRIMARY KEY (org_id, token, agency_id, name_key),
    FOREIGN KEY (org_id, agency_id) REFERENCES agencies (org_id, id) ON DELETE CASCADE
);
CREATE INDEX agency_name_tokens_agency ON agency_name_tokens (org_id, agency_id);

CREATE TABLE agency_channels (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    agency_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('website', 'job_portal', 'social', 'phone', 'email')),
    value_enc BLOB NOT NULL,
    value_index BLOB NOT NULL,
    created_by BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, agency_id) REFERENCES agencies (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE INDEX agency_channels_index ON agency_channels (org_id, value_index);
CREATE INDEX agency_channels_agency ON agency_channels (org_id, agency_id);

CREATE TABLE job_offer_reports (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    agency_id BLOB,
    contact_id BLOB,
    source TEXT NOT NULL CHECK (source IN ('hotline', 'portal')),
    reported_on TEXT NOT NULL,
    ad_text_enc BLOB NOT NULL,
    ad_url_enc BLOB NOT NULL,
    channels_enc BLOB NOT NULL,
    agency_name TEXT NOT NULL DEFAULT '',
    destination_country TEXT,
    job_type TEXT,
    wage_minor INTEGER,
    fee_minor INTEGER,
    currency TEXT NOT NULL DEFAULT 'EUR',
    red_flags TEXT NOT NULL DEFAULT '',
    created_by BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, agency_id) REFERENCES agencies (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE INDEX job_offer_reports_agency ON job_offer_reports (org_id, agency_id, reported_on);
CREATE INDEX job_offer_reports_contact ON job_offer_reports (org_id, contact_id);

-- A report's screenshot: one sealed value (at most the portal's upload limit), like portal files.
CREATE TABLE job_offer_screenshots (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    report_id BLOB NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    content_enc BLOB NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, report_id) REFERENCES job_offer_reports (org_id, id) ON DELETE CASCADE
);
CREATE INDEX job_offer_screenshots_report ON job_offer_screenshots (org_id, report_id);

-- The desk's "agencies mentioned" in a contact.
CREATE TABLE contact_agencies (
    org_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    agency_id BLOB NOT NULL,
    PRIMARY KEY (org_id, contact_id, agency_id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id),
    FOREIGN KEY (org_id, agency_id) REFERENCES agencies (org_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_agencies_agency ON contact_agencies (org_id, agency_id);

-- What was done about an agency: a notification sent (pointing at it) or an outcome recorded.
CREATE TABLE agency_actions (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    agency_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('notification', 'inspection', 'misdemeanour', 'deregistration', 'other')),
    notification_id BLOB,
    happened_on TEXT NOT NULL,
    note_enc BLOB NOT NULL,
    created_by BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, agency_id) REFERENCES agencies (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE INDEX agency_actions_agency ON agency_actions (org_id, agency_id, happened_on);

-- Every decision about the published warning (history); agencies.warning_* is the latest.
-- The reason is public text (the portal shows it), so it is plain.
CREATE TABLE agency_warnings (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    agency_id BLOB NOT NULL,
    published BOOLEAN NOT NULL,
    reason TEXT NOT NULL,
    review_on TEXT,
    decided_by BLOB,
    decided_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, agency_id) REFERENCES agencies (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, decided_by) REFERENCES users (org_id, id)
);
CREATE INDEX agency_warnings_agency ON agency_warnings (org_id, agency_id, decided_at);
