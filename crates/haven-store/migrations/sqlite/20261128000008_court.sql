-- Court proceedings monitoring: proceedings (criminal, misdemeanour, civil), their case numbers
-- at each court, linked cases and injured parties, defendants (people, sealed like every person)
-- with the history of their charges, events at court, property claims, awards of compensation,
-- enforcement steps, payments and applications to a state compensation fund.
-- Keep in step with migrations/postgres: the schema test compares the two.
--
-- A charge is never updated: a re-qualification is a new row with its stage and date. Court case
-- numbers, judges' names and free-text notes are sealed in *_enc columns, always filled; the
-- plain columns hold what the advocacy figures need (codes, dates, amounts in minor units with
-- their currency). Statutory offences (Criminal Code art. 388 paras 1-8, art. 184) come with
-- Haven (haven-domain court.rs); court_offences holds those each organisation adds.

CREATE TABLE court_offences (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    code TEXT NOT NULL,
    article INTEGER NOT NULL,
    paragraph INTEGER NOT NULL,
    title TEXT NOT NULL,
    min_months INTEGER,
    max_months INTEGER,
    trafficking BOOLEAN NOT NULL,
    added_by BLOB,
    added_at TEXT NOT NULL,
    PRIMARY KEY (org_id, code),
    FOREIGN KEY (org_id, added_by) REFERENCES users (org_id, id)
);

CREATE TABLE proceedings (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('criminal', 'misdemeanour', 'civil')),
    court_id BLOB NOT NULL,
    prosecutor_id BLOB,
    judge_enc BLOB NOT NULL,
    org_role TEXT NOT NULL CHECK (org_role IN ('legal_representative', 'support_person', 'observer')),
    lawyer_id BLOB,
    parent_id BLOB,
    opened_on TEXT NOT NULL,
    created_by BLOB,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, court_id) REFERENCES institutions (org_id, id),
    FOREIGN KEY (org_id, prosecutor_id) REFERENCES institutions (org_id, id),
    FOREIGN KEY (org_id, lawyer_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, parent_id) REFERENCES proceedings (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE INDEX proceedings_opened ON proceedings (org_id, opened_on);
CREATE INDEX proceedings_parent ON proceedings (org_id, parent_id);

-- The numbers a proceeding carries as it moves between courts and instances.
CREATE TABLE proceeding_numbers (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    proceeding_id BLOB NOT NULL,
    court_id BLOB NOT NULL,
    number_enc BLOB NOT NULL,
    from_on TEXT NOT NULL,
    recorded_by BLOB,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, proceeding_id) REFERENCES proceedings (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, court_id) REFERENCES institutions (org_id, id)
);
CREATE INDEX proceeding_numbers_proceeding ON proceeding_numbers (org_id, proceeding_id);

CREATE TABLE proceeding_cases (
    org_id BLOB NOT NULL,
    proceeding_id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    linked_by BLOB,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (org_id, proceeding_id, case_id),
    FOREIGN KEY (org_id, proceeding_id) REFERENCES proceedings (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id) ON DELETE CASCADE
);
CREATE INDEX proceeding_cases_case ON proceeding_cases (org_id, case_id);

-- Injured parties: people of the linked cases.
CREATE TABLE proceeding_parties (
    org_id BLOB NOT NULL,
    proceeding_id BLOB NOT NULL,
    person_id BLOB NOT NULL,
    case_id BLOB,
    added_at TEXT NOT NULL,
    PRIMARY KEY (org_id, proceeding_id, person_id),
    FOREIGN KEY (org_id, proceeding_id) REFERENCES proceedings (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id)
);

CREATE TABLE proceeding_defendants (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    proceeding_id BLOB NOT NULL,
    person_id BLOB NOT NULL,
    added_by BLOB,
    added_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    CONSTRAINT proceeding_defendants_person_key UNIQUE (org_id, proceeding_id, person_id),
    FOREIGN KEY (org_id, proceeding_id) REFERENCES proceedings (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id)
);

CREATE TABLE proceeding_charges (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    proceeding_id BLOB NOT NULL,
    defendant_id BLOB NOT NULL,
    offence_code TEXT NOT NULL,
    stage TEXT NOT NULL CHECK (stage IN ('investigation', 'indictment', 'first_instance', 'appeal', 'final')),
    charged_on TEXT NOT NULL,
    recorded_by BLOB,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, proceeding_id) REFERENCES proceedings (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, defendant_id) REFERENCES proceeding_defendants (org_id, id) ON DELETE CASCADE
);
CREATE INDEX proceeding_charges_proceeding ON proceeding_charges (org_id, proceeding_id, recorded_at);

CREATE TABLE proceeding_events (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    proceeding_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('hearing', 'plea_agreement', 'verdict', 'appeal', 'final_judgment')),
    on_date TEXT NOT NULL,
    defendant_id BLOB,
    held BOOLEAN,
    postponement TEXT,
    victim_testified BOOLEAN,
    measures TEXT NOT NULL,
    outcome TEXT CHECK (outcome IN ('guilty', 'acquitted', 'rejected')),
    sentence TEXT,
    sentence_months INTEGER,
    suspended BOOLEAN NOT NULL,
    fine_minor INTEGER,
    currency TEXT,
    claim_invited BOOLEAN,
    appeal_by TEXT,
    deadline_on TEXT,
    note_enc BLOB NOT NULL,
    recorded_by BLOB,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, proceeding_id) REFERENCES proceedings (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, defendant_id) REFERENCES proceeding_defendants (org_id, id)
);
CREATE INDEX proceeding_events_proceeding ON proceeding_events (org_id, proceeding_id, on_date);

CREATE TABLE property_claims (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    proceeding_id BLOB NOT NULL,
    person_id BLOB,
    filed_on TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    decision TEXT CHECK (decision IN ('awarded', 'referred_to_civil', 'rejected')),
    decided_on TEXT,
    civil_proceeding_id BLOB,
    recorded_by BLOB,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, proceeding_id) REFERENCES proceedings (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, civil_proceeding_id) REFERENCES proceedings (org_id, id)
);
CREATE INDEX property_claims_proceeding ON property_claims (org_id, proceeding_id);

CREATE TABLE compensation_awards (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    proceeding_id BLOB NOT NULL,
    claim_id BLOB,
    source TEXT NOT NULL CHECK (source IN ('criminal_trial', 'civil_suit', 'state_fund')),
    awarded_on TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    recorded_by BLOB,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, proceeding_id) REFERENCES proceedings (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, claim_id) REFERENCES property_claims (org_id, id)
);
CREATE INDEX compensation_awards_proceeding ON compensation_awards (org_id, proceeding_id);

CREATE TABLE compensation_payments (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    award_id BLOB NOT NULL,
    paid_on TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    recorded_by BLOB,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, award_id) REFERENCES compensation_awards (org_id, id) ON DELETE CASCADE
);
CREATE INDEX compensation_payments_award ON compensation_payments (org_id, award_id);

CREATE TABLE enforcement_steps (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    award_id BLOB NOT NULL,
    step TEXT NOT NULL,
    on_date TEXT NOT NULL,
    note_enc BLOB NOT NULL,
    recorded_by BLOB,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, award_id) REFERENCES compensation_awards (org_id, id) ON DELETE CASCADE
);
CREATE INDEX enforcement_steps_award ON enforcement_steps (org_id, award_id);

CREATE TABLE fund_applications (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    proceeding_id BLOB NOT NULL,
    applied_on TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('pending', 'granted', 'refused')),
    decided_on TEXT,
    recorded_by BLOB,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, proceeding_id) REFERENCES proceedings (org_id, id) ON DELETE CASCADE
);

-- Deadlines of proceedings (hearings, appeal periods) become tasks of the linked cases; the task
-- names the event it comes from.
ALTER TABLE case_tasks ADD COLUMN proceeding_event_id BLOB;
