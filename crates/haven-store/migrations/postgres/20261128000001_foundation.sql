-- Foundation: organisations, staff accounts, one-time links, sessions, registers, institutions.
-- Every table carries org_id, and every primary, unique and foreign key includes it.
-- Keep in step with migrations/sqlite: the schema test compares the two.

CREATE TABLE orgs (
    org_id UUID NOT NULL PRIMARY KEY,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    default_language TEXT NOT NULL,
    phone_region TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT orgs_slug_key UNIQUE (slug)
);

CREATE TABLE users (
    org_id UUID NOT NULL REFERENCES orgs (org_id),
    id UUID NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    display_name TEXT NOT NULL,
    language TEXT NOT NULL,
    password_hash TEXT,
    status TEXT NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    CONSTRAINT users_email_key UNIQUE (org_id, email_key)
);

CREATE TABLE user_roles (
    org_id UUID NOT NULL,
    user_id UUID NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'counsellor', 'case_worker', 'lawyer', 'fundraiser', 'analyst', 'portal_editor')),
    PRIMARY KEY (org_id, user_id, role),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);

CREATE TABLE one_time_links (
    org_id UUID NOT NULL REFERENCES orgs (org_id),
    id UUID NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('setup', 'invite', 'reset')),
    token_hash BYTEA NOT NULL,
    user_id UUID,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    PRIMARY KEY (org_id, id),
    CONSTRAINT one_time_links_token_key UNIQUE (org_id, token_hash),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE INDEX one_time_links_token ON one_time_links (token_hash);

CREATE TABLE sessions (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    token_hash BYTEA NOT NULL,
    user_id UUID NOT NULL,
    stage TEXT NOT NULL CHECK (stage IN ('password', 'complete')),
    csrf_secret BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ,
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
    org_id UUID NOT NULL REFERENCES orgs (org_id),
    register TEXT NOT NULL,
    year BIGINT NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (org_id, register, year)
);

CREATE TABLE institutions (
    org_id UUID NOT NULL REFERENCES orgs (org_id),
    id UUID NOT NULL,
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
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX institutions_kind ON institutions (org_id, kind);
