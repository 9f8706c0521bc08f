-- The official register of licensed employment agencies (issue 7): where registers come from
-- (a source, with its saved column mapping), each import of a file (pending while a supervisor
-- reviews the preview, then done), the rows each import read, and each agency's register history
-- (its licence status as of each register date).
-- Keep in step with migrations/sqlite: the schema test compares the two.
--
-- Everything here is plain: the register is a public list of companies. The uploaded file is kept
-- only while its import is pending (emptied when confirmed).

CREATE TABLE register_sources (
    org_id UUID NOT NULL REFERENCES orgs (org_id),
    id UUID NOT NULL,
    name TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('csv', 'xlsx')),
    mapping TEXT NOT NULL,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, name),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);

CREATE TABLE register_imports (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    source_id UUID NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done')),
    format TEXT NOT NULL CHECK (format IN ('csv', 'xlsx')),
    mapping TEXT NOT NULL,
    register_date DATE NOT NULL,
    file BYTEA NOT NULL,
    row_count BIGINT NOT NULL DEFAULT 0,
    error_count BIGINT NOT NULL DEFAULT 0,
    created_count BIGINT NOT NULL DEFAULT 0,
    not_found_count BIGINT NOT NULL DEFAULT 0,
    uploaded_by UUID,
    uploaded_at TIMESTAMPTZ NOT NULL,
    imported_by UUID,
    imported_at TIMESTAMPTZ,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, source_id) REFERENCES register_sources (org_id, id),
    FOREIGN KEY (org_id, uploaded_by) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, imported_by) REFERENCES users (org_id, id)
);
CREATE INDEX register_imports_source ON register_imports (org_id, source_id, status, register_date);

-- The rows of a confirmed import, with the agency each became or was matched to, and how.
CREATE TABLE register_rows (
    org_id UUID NOT NULL,
    import_id UUID NOT NULL,
    line BIGINT NOT NULL,
    name TEXT NOT NULL,
    registration_number TEXT,
    tax_number TEXT,
    licence_number TEXT,
    licence_date DATE,
    revoked_on DATE,
    licensed BOOLEAN NOT NULL,
    address TEXT,
    place TEXT,
    agency_id UUID NOT NULL,
    matched TEXT NOT NULL CHECK (matched IN ('certain', 'confirmed', 'created')),
    PRIMARY KEY (org_id, import_id, line),
    FOREIGN KEY (org_id, import_id) REFERENCES register_imports (org_id, id),
    FOREIGN KEY (org_id, agency_id) REFERENCES agencies (org_id, id)
);
CREATE INDEX register_rows_agency ON register_rows (org_id, agency_id);

-- What each import said about an agency: licensed or revoked (in the file), not found (licensed
-- by this source before, absent now).
CREATE TABLE agency_register_history (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    agency_id UUID NOT NULL,
    import_id UUID NOT NULL,
    source_id UUID NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('licensed', 'not_found', 'revoked')),
    as_of DATE NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, import_id, agency_id),
    FOREIGN KEY (org_id, agency_id) REFERENCES agencies (org_id, id),
    FOREIGN KEY (org_id, import_id) REFERENCES register_imports (org_id, id),
    FOREIGN KEY (org_id, source_id) REFERENCES register_sources (org_id, id)
);
CREATE INDEX agency_register_history_agency ON agency_register_history (org_id, agency_id, as_of);
CREATE INDEX agency_register_history_source ON agency_register_history (org_id, source_id, as_of);
