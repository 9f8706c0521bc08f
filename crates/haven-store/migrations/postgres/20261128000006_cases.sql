-- Case management: cases of three kinds, the people in them, their timelines, services, tasks,
-- documents, consent records, break-the-glass grants, and the links to hotline contacts.
-- Keep in step with migrations/sqlite: the schema test compares the two.
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
ALTER TABLE people ADD COLUMN merged_into UUID;
ALTER TABLE people ADD COLUMN merged_at TIMESTAMPTZ;

CREATE TABLE cases (
    org_id UUID NOT NULL REFERENCES orgs (org_id),
    id UUID NOT NULL,
    number TEXT NOT NULL,
    line TEXT NOT NULL CHECK (line IN ('sos', '116000', 'portal')),
    year BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('trafficking', 'missing_child', 'labour_exploitation')),
    status TEXT NOT NULL CHECK (status IN ('Active', 'FollowUp', 'Closed', 'ClosedReferred')),
    restricted BOOLEAN NOT NULL,
    lead_id UUID,
    summary_enc BYTEA NOT NULL,
    details_enc BYTEA NOT NULL,
    opened_at TIMESTAMPTZ NOT NULL,
    opened_by UUID,
    updated_at TIMESTAMPTZ NOT NULL,
    last_activity_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ,
    closure_reason TEXT,
    closure_requested_at TIMESTAMPTZ,
    closure_requested_by UUID,
    closure_requested_status TEXT,
    closure_requested_reason TEXT,
    mc_category TEXT,
    mc_scope TEXT,
    mc_last_seen_at TIMESTAMPTZ,
    mc_found_at TIMESTAMPTZ,
    mc_found_state TEXT,
    mc_returned_to TEXT,
    mc_police_reported_at TIMESTAMPTZ,
    mc_family_contact_at TIMESTAMPTZ,
    mc_interpol_notice BOOLEAN,
    mc_schengen_alert BOOLEAN,
    tr_status TEXT,
    tr_decided_by TEXT,
    tr_identified_on DATE,
    tr_industry TEXT,
    tr_relationship TEXT,
    tr_age_when_trafficked BIGINT,
    lx_country TEXT,
    lx_sector TEXT,
    lx_wages_owed_minor BIGINT,
    lx_currency TEXT,
    lx_workers_affected BIGINT,
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
    org_id UUID NOT NULL,
    case_id UUID NOT NULL,
    user_id UUID NOT NULL,
    added_by UUID,
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, case_id, user_id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX case_advisors_user ON case_advisors (org_id, user_id);

CREATE TABLE case_codes (
    org_id UUID NOT NULL,
    case_id UUID NOT NULL,
    field TEXT NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (org_id, case_id, field, code),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE
);
CREATE INDEX case_codes_field ON case_codes (org_id, field, code);

CREATE TABLE case_people (
    org_id UUID NOT NULL,
    case_id UUID NOT NULL,
    person_id UUID NOT NULL,
    role TEXT NOT NULL,
    perpetrator_roles TEXT NOT NULL,
    added_by UUID,
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, case_id, person_id, role),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id)
);
CREATE INDEX case_people_person ON case_people (org_id, person_id);

-- The timeline: one row per thing that happened, newest first on the page. data holds codes
-- and ids only (never identifying values); body_enc the sealed text (a note, a reason).
CREATE TABLE case_events (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    case_id UUID NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    kind TEXT NOT NULL,
    actor_id UUID,
    ref_id UUID,
    data TEXT NOT NULL,
    body_enc BYTEA NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, actor_id) REFERENCES users (org_id, id)
);
CREATE INDEX case_events_case ON case_events (org_id, case_id, at);

CREATE TABLE case_services (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    case_id UUID NOT NULL,
    person_id UUID,
    kind TEXT NOT NULL,
    support_plan_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'delivered', 'cancelled')),
    provider_institution_id UUID,
    provider_user_id UUID,
    planned_on DATE,
    started_on DATE,
    ended_on DATE,
    cost_minor BIGINT,
    currency TEXT,
    funding_source TEXT NOT NULL,
    outcome_enc BYTEA NOT NULL,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, provider_institution_id) REFERENCES institutions (org_id, id),
    FOREIGN KEY (org_id, provider_user_id) REFERENCES users (org_id, id)
);
CREATE INDEX case_services_case ON case_services (org_id, case_id);

-- Tasks of a case. The desk's general tasks table may absorb these at merge.
CREATE TABLE case_tasks (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    case_id UUID NOT NULL,
    title_enc BYTEA NOT NULL,
    due_at TIMESTAMPTZ,
    assignee UUID,
    done_at TIMESTAMPTZ,
    done_by UUID,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL,
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
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    case_id UUID NOT NULL,
    person_id UUID,
    kind TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    chunks BIGINT NOT NULL,
    name_enc BYTEA NOT NULL,
    uploaded_by UUID,
    uploaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id)
);
CREATE INDEX case_documents_case ON case_documents (org_id, case_id);

CREATE TABLE document_chunks (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    document_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    content_enc BYTEA NOT NULL,
    PRIMARY KEY (org_id, id),
    CONSTRAINT document_chunks_seq_key UNIQUE (org_id, document_id, seq),
    FOREIGN KEY (org_id, document_id) REFERENCES case_documents (org_id, id) ON DELETE CASCADE
);

CREATE TABLE consents (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    person_id UUID NOT NULL,
    case_id UUID,
    purpose TEXT NOT NULL CHECK (purpose IN ('data_processing', 'sharing', 'research')),
    institution_id UUID,
    given BOOLEAN NOT NULL,
    given_by TEXT NOT NULL,
    given_on DATE NOT NULL,
    evidence_document_id UUID,
    note_enc BYTEA NOT NULL,
    recorded_by UUID,
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, institution_id) REFERENCES institutions (org_id, id),
    FOREIGN KEY (org_id, evidence_document_id) REFERENCES case_documents (org_id, id)
);
CREATE INDEX consents_person ON consents (org_id, person_id, recorded_at);

-- Break the glass: a time-limited grant to open one restricted case, with a sealed reason.
CREATE TABLE break_glass (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    case_id UUID NOT NULL,
    user_id UUID NOT NULL,
    reason_enc BYTEA NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX break_glass_lookup ON break_glass (org_id, case_id, user_id, expires_at);
CREATE INDEX break_glass_recent ON break_glass (org_id, granted_at);

-- Hotline contacts linked to a case. The contacts table belongs to the hotline desk; the foreign
-- key to it is added when both are merged.
CREATE TABLE case_contacts (
    org_id UUID NOT NULL,
    case_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    linked_by UUID,
    linked_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, case_id, contact_id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, linked_by) REFERENCES users (org_id, id)
);
CREATE INDEX case_contacts_contact ON case_contacts (org_id, contact_id);
