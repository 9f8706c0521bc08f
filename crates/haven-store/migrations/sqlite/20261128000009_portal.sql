-- The public portal: receipt codes of anonymous submissions (a public selector and an Argon2
-- hash of the whole code), the thread of messages between visitor and counsellor, files sent
-- with a submission (sealed), and the pages editors write (every saved version kept).

CREATE TABLE portal_receipts (
    org_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    selector TEXT NOT NULL UNIQUE,
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, contact_id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE
);

CREATE TABLE portal_messages (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    author TEXT NOT NULL CHECK (author IN ('visitor', 'counsellor')),
    body_enc BLOB NOT NULL,
    created_by BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE INDEX portal_messages_contact ON portal_messages (org_id, contact_id, created_at);

CREATE TABLE portal_files (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    name_enc BLOB NOT NULL,
    content_enc BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE
);
CREATE INDEX portal_files_contact ON portal_files (org_id, contact_id);

CREATE TABLE portal_pages (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    slug TEXT NOT NULL,
    language TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    created_by BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE INDEX portal_pages_slug ON portal_pages (org_id, slug, language, created_at);
