-- Per-organisation keys and the first store of identifying data: people (see migrations/sqlite).
-- Keep in step with migrations/sqlite: the schema test compares the two.

CREATE TABLE org_keys (
    org_id UUID NOT NULL REFERENCES orgs (org_id),
    purpose TEXT NOT NULL CHECK (purpose IN ('data', 'index')),
    version BIGINT NOT NULL CHECK (version >= 1),
    wrapped BYTEA NOT NULL,
    master_fingerprint TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ,
    PRIMARY KEY (org_id, purpose, version)
);

CREATE TABLE people (
    org_id UUID NOT NULL REFERENCES orgs (org_id),
    id UUID NOT NULL,
    name_enc BYTEA NOT NULL,
    aliases_enc BYTEA NOT NULL,
    birth_date_enc BYTEA NOT NULL,
    phones_enc BYTEA NOT NULL,
    emails_enc BYTEA NOT NULL,
    identity_numbers_enc BYTEA NOT NULL,
    address_enc BYTEA NOT NULL,
    notes_enc BYTEA NOT NULL,
    gender TEXT NOT NULL CHECK (gender IN ('Feminine', 'Masculine', 'TransgenderFeminine', 'TransgenderMasculine', 'NonConforming', 'NonSpecifiedUnknown')),
    birth_year BIGINT,
    citizenship TEXT CHECK (citizenship IS NULL OR length(citizenship) = 2),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    created_by UUID,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);

CREATE TABLE person_index (
    org_id UUID NOT NULL,
    person_id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('name', 'phone', 'email', 'identity_number')),
    value BYTEA NOT NULL,
    PRIMARY KEY (org_id, person_id, kind, value),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id) ON DELETE CASCADE
);
CREATE INDEX person_index_lookup ON person_index (org_id, kind, value);
