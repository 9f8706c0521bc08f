-- Per-organisation keys and the first store of identifying data: people.
--
-- org_keys holds each organisation's random keys only wrapped (encrypted) by the master key,
-- which never enters the database; master_fingerprint names the master key that wrapped them, so
-- a wrong key is refused at start with both fingerprints. Data keys have versions (the highest is
-- current; retired_at says when a version stopped being current); the index key stays at
-- version 1 so blind indexes remain searchable across rotations.
--
-- people keeps every identifying value as a ciphertext (BLOB, XChaCha20-Poly1305, bound to table,
-- column, record id and key version) and, in plain columns, only what statistics need. Every
-- encrypted column is always filled (an empty list or text is sealed too), so a NULL cannot
-- reveal that someone has no phone. person_index holds truncated keyed hashes of normalised
-- names, phones, e-mail addresses and identity numbers: candidates that the application decrypts
-- and confirms.

CREATE TABLE org_keys (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    purpose TEXT NOT NULL CHECK (purpose IN ('data', 'index')),
    version INTEGER NOT NULL CHECK (version >= 1),
    wrapped BLOB NOT NULL,
    master_fingerprint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT,
    PRIMARY KEY (org_id, purpose, version)
);

CREATE TABLE people (
    org_id BLOB NOT NULL REFERENCES orgs (org_id),
    id BLOB NOT NULL,
    name_enc BLOB NOT NULL,
    aliases_enc BLOB NOT NULL,
    birth_date_enc BLOB NOT NULL,
    phones_enc BLOB NOT NULL,
    emails_enc BLOB NOT NULL,
    identity_numbers_enc BLOB NOT NULL,
    address_enc BLOB NOT NULL,
    notes_enc BLOB NOT NULL,
    gender TEXT NOT NULL CHECK (gender IN ('Feminine', 'Masculine', 'TransgenderFeminine', 'TransgenderMasculine', 'NonConforming', 'NonSpecifiedUnknown')),
    birth_year INTEGER,
    citizenship TEXT CHECK (citizenship IS NULL OR length(citizenship) = 2),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    created_by BLOB,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);

CREATE TABLE person_index (
    org_id BLOB NOT NULL,
    person_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('name', 'phone', 'email', 'identity_number')),
    value BLOB NOT NULL,
    PRIMARY KEY (org_id, person_id, kind, value),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id) ON DELETE CASCADE
);
CREATE INDEX person_index_lookup ON person_index (org_id, kind, value);
