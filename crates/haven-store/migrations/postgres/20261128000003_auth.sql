-- Second factor, sign-in throttling and API tokens.
-- Keep in step with migrations/sqlite: the schema test compares the two.

-- The TOTP secret, sealed with the organisation's key (bound to users.totp_secret and the user
-- id). While totp_enabled_at is NULL it is a pending secret shown at enrolment to one sign-in
-- only (totp_pending_session), so nobody else who knows the password sees the secret the person
-- will use; once enabled, totp_last_step is the last time step accepted, so each code works once.
ALTER TABLE users ADD COLUMN totp_secret BYTEA;
ALTER TABLE users ADD COLUMN totp_pending_session UUID;
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
-- Consecutive failed sign-ins (password or second factor) and the lock they caused.
ALTER TABLE users ADD COLUMN failed_sign_ins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TIMESTAMPTZ;
CREATE INDEX users_locked ON users (org_id, locked_until);

-- One-time recovery codes: only a keyed hash (HMAC-SHA256, bound to the user) is stored.
CREATE TABLE recovery_codes (
    org_id UUID NOT NULL,
    user_id UUID NOT NULL,
    code_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ,
    PRIMARY KEY (org_id, user_id, code_hash),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);

-- API tokens for scripts: only the SHA-256 of the token is stored.
CREATE TABLE api_tokens (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    user_id UUID NOT NULL,
    name TEXT NOT NULL,
    token_hash BYTEA NOT NULL,
    scopes TEXT NOT NULL,
    read_only BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    PRIMARY KEY (org_id, id),
    CONSTRAINT api_tokens_token_key UNIQUE (org_id, token_hash),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX api_tokens_token ON api_tokens (token_hash);
CREATE INDEX api_tokens_user ON api_tokens (org_id, user_id);
