-- Foundation: organisations, staff accounts, one-time links, sessions, registers, institutions.
-- Every table carries org_id, and every primary, unique and foreign key includes it.
-- Types: ids are UUIDs (BLOB here, uuid in PostgreSQL); times are UTC (ISO-8601 text here,
-- timestamptz in PostgreSQL); flags are BOOLEAN; counts are INTEGER (bigint).

CREATE TABLE orgs (
    org_id BLOB NOT NULL PRIMARY KEY,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    default_language TEXT NOT NULL,
    phone_region TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CONSTRAINT orgs_slug_key UNIQUE (slug)
);

CREATE TABLE users (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    id BLOB NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    display_name TEXT NOT NULL,
    language TEXT NOT NULL,
    password_hash TEXT,
    status TEXT NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    CONSTRAINT users_email_key UNIQUE (org_id, email_key)
);

CREATE TABLE user_roles (
    org_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'counsellor', 'case_worker', 'lawyer', 'fundraiser', 'analyst', 'portal_editor')),
    PRIMARY KEY (org_id, user_id, role),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);

CREATE TABLE one_time_links (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    id BLOB NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('setup', 'invite', 'reset')),
    token_hash BLOB NOT NULL,
    user_id BLOB,
    created_by BLOB,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    revoked_at TEXT,
    PRIMARY KEY (org_id, id),
    CONSTRAINT one_time_links_token_key UNIQUE (org_id, token_hash),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE INDEX one_time_links_token ON one_time_links (token_hash);

CREATE TABLE sessions (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    token_hash BLOB NOT NULL,
    user_id BLOB NOT NULL,
    stage TEXT NOT NULL CHECK (stage IN ('password', 'complete')),
    csrf_secret BLOB NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT,
    ip TEXT,
    user_agent TEXT,
    PRIMARY KEY (org_id, id),
    CONSTRAINT sessions_token_key UNIQUE (org_id, token_hash),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX sessions_token ON sessions (token_hash);
CREATE INDEX sessions_user ON sessions (org_id, user_id);

CREATE TABLE counters (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    register TEXT NOT NULL,
    year INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (org_id, register, year)
);

CREATE TABLE institutions (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    id BLOB NOT NULL,
    kind TEXT NOT NULL,
    name_sr_latn TEXT NOT NULL,
    name_sr_cyrl TEXT,
    name_en TEXT,
    area TEXT,
    country TEXT NOT NULL,
    address TEXT,
    phone TEXT,
    email TEXT,
    website TEXT,
    notes TEXT,
    search_key TEXT NOT NULL,
    seeded BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX institutions_kind ON institutions (org_id, kind);
