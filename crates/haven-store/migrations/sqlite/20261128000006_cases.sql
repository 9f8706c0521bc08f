-- Case management: cases of three kinds, the people in them, their timelines, services, tasks,
-- documents, consent records, break-the-glass grants, and the links to hotline contacts.
-- Keep in step with migrations/postgres: the schema test compares the two.
--
-- Identifying values (narratives, places, numbers of police reports and court decisions, notes,
-- task titles, file names and contents, reasons for breaking the glass) are sealed in *_enc
-- columns, always filled. The plain columns hold what statistics need: kinds, statuses, HTCDS
-- codes, dates, counts. The mc_/tr_/lx_ columns of cases are a projection of the sealed details
-- of each kind (missing child, trafficking, labour exploitation), written together with them;
-- case_codes holds their multi-valued codes (exploitation types, methods of control, ILO
-- indicators, countries) one row per code.

-- People: languages (ISO 639-1 codes separated by spaces) and education (HTCDS) for statistics,
-- and the record a duplicate was merged into (the merged record stays, for its history).
ALTER TABLE people ADD COLUMN languages TEXT NOT NULL DEFAULT '';
ALTER TABLE people ADD COLUMN education TEXT;
ALTER TABLE people ADD COLUMN merged_into BLOB;
ALTER TABLE people ADD COLUMN merged_at TEXT;

CREATE TABLE cases (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    id BLOB NOT NULL,
    number TEXT NOT NULL,
    line TEXT NOT NULL CHECK (line IN ('sos', '116000', 'portal')),
    year INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('trafficking', 'missing_child', 'labour_exploitation')),
    status TEXT NOT NULL CHECK (status IN ('Active', 'FollowUp', 'Closed', 'ClosedReferred')),
    restricted BOOLEAN NOT NULL,
    lead_id BLOB,
    summary_enc BLOB NOT NULL,
    details_enc BLOB NOT NULL,
    opened_at TEXT NOT NULL,
    opened_by BLOB,
    updated_at TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    closed_at TEXT,
    closure_reason TEXT,
    closure_requested_at TEXT,
    closure_requested_by BLOB,
    closure_requested_status TEXT,
    closure_requested_reason TEXT,
    mc_category TEXT,
    mc_scope TEXT,
    mc_last_seen_at TEXT,
    mc_found_at TEXT,
    mc_found_state TEXT,
    mc_returned_to TEXT,
    mc_police_reported_at TEXT,
    mc_family_contact_at TEXT,
    mc_interpol_notice BOOLEAN,
    mc_schengen_alert BOOLEAN,
    tr_status TEXT,
    tr_decided_by TEXT,
    tr_identified_on TEXT,
    tr_industry TEXT,
    tr_relationship TEXT,
    tr_age_when_trafficked INTEGER,
    lx_country TEXT,
    lx_sector TEXT,
    lx_wages_owed_minor INTEGER,
    lx_currency TEXT,
    lx_workers_affected INTEGER,
    lx_documents_retained BOOLEAN,
    PRIMARY KEY (org_id, id),
    CONSTRAINT cases_number_key UNIQUE (org_id, number),
    CONSTRAINT cases_register_key UNIQUE (org_id, line, year, seq),
    FOREIGN KEY (org_id, lead_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, opened_by) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, closure_requested_by) REFERENCES users (org_id, id)
);
CREATE INDEX cases_status ON cases (org_id, status, opened_at);
CREATE INDEX cases_kind ON cases (org_id, kind, status);

CREATE TABLE case_advisors (
    org_id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    added_by BLOB,
    added_at TEXT NOT NULL,
    PRIMARY KEY (org_id, case_id, user_id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX case_advisors_user ON case_advisors (org_id, user_id);

CREATE TABLE case_codes (
    org_id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    field TEXT NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (org_id, case_id, field, code),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE
);
CREATE INDEX case_codes_field ON case_codes (org_id, field, code);

CREATE TABLE case_people (
    org_id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    person_id BLOB NOT NULL,
    role TEXT NOT NULL,
    perpetrator_roles TEXT NOT NULL,
    added_by BLOB,
    added_at TEXT NOT NULL,
    PRIMARY KEY (org_id, case_id, person_id, role),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id)
);
CREATE INDEX case_people_person ON case_people (org_id, person_id);

-- The timeline: one row per thing that happened, newest first on the page. data holds codes
-- and ids only (never identifying values); body_enc the sealed text (a note, a reason).
CREATE TABLE case_events (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor_id BLOB,
    ref_id BLOB,
    data TEXT NOT NULL,
    body_enc BLOB NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, actor_id) REFERENCES users (org_id, id)
);
CREATE INDEX case_events_case ON case_events (org_id, case_id, at);

CREATE TABLE case_services (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    person_id BLOB,
    kind TEXT NOT NULL,
    support_plan_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'delivered', 'cancelled')),
    provider_institution_id BLOB,
    provider_user_id BLOB,
    planned_on TEXT,
    started_on TEXT,
    ended_on TEXT,
    cost_minor INTEGER,
    currency TEXT,
    funding_source TEXT NOT NULL,
    outcome_enc BLOB NOT NULL,
    created_by BLOB,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, provider_institution_id) REFERENCES institutions (org_id, id),
    FOREIGN KEY (org_id, provider_user_id) REFERENCES users (org_id, id)
);
CREATE INDEX case_services_case ON case_services (org_id, case_id);

-- Tasks of a case. The desk's general tasks table may absorb these at merge.
CREATE TABLE case_tasks (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    title_enc BLOB NOT NULL,
    due_at TEXT,
    assignee BLOB,
    done_at TEXT,
    done_by BLOB,
    created_by BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, assignee) REFERENCES users (org_id, id)
);
CREATE INDEX case_tasks_case ON case_tasks (org_id, case_id);
CREATE INDEX case_tasks_assignee ON case_tasks (org_id, assignee, done_at, due_at);

-- Documents: the type found in the content, the size, and the name and content sealed. The
-- content is sealed in chunks of 128 KiB (document_chunks), each carrying its document id and
-- place inside the ciphertext, so that key checks and rotation read a bounded amount per row.
CREATE TABLE case_documents (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    person_id BLOB,
    kind TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    name_enc BLOB NOT NULL,
    uploaded_by BLOB,
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id)
);
CREATE INDEX case_documents_case ON case_documents (org_id, case_id);

CREATE TABLE document_chunks (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    document_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    content_enc BLOB NOT NULL,
    PRIMARY KEY (org_id, id),
    CONSTRAINT document_chunks_seq_key UNIQUE (org_id, document_id, seq),
    FOREIGN KEY (org_id, document_id) REFERENCES case_documents (org_id, id) ON DELETE CASCADE
);

CREATE TABLE consents (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    person_id BLOB NOT NULL,
    case_id BLOB,
    purpose TEXT NOT NULL CHECK (purpose IN ('data_processing', 'sharing', 'research')),
    institution_id BLOB,
    given BOOLEAN NOT NULL,
    given_by TEXT NOT NULL,
    given_on TEXT NOT NULL,
    evidence_document_id BLOB,
    note_enc BLOB NOT NULL,
    recorded_by BLOB,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, institution_id) REFERENCES institutions (org_id, id),
    FOREIGN KEY (org_id, evidence_document_id) REFERENCES case_documents (org_id, id)
);
CREATE INDEX consents_person ON consents (org_id, person_id, recorded_at);

-- Break the glass: a time-limited grant to open one restricted case, with a sealed reason.
CREATE TABLE break_glass (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    reason_enc BLOB NOT NULL,
    granted_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX break_glass_lookup ON break_glass (org_id, case_id, user_id, expires_at);
CREATE INDEX break_glass_recent ON break_glass (org_id, granted_at);

-- Hotline contacts linked to a case. The contacts table belongs to the hotline desk; the foreign
-- key to it is added when both are merged.
CREATE TABLE case_contacts (
    org_id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    linked_by BLOB,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (org_id, case_id, contact_id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, linked_by) REFERENCES users (org_id, id)
);
CREATE INDEX case_contacts_contact ON case_contacts (org_id, contact_id);
