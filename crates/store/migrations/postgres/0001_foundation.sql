-- Concord foundation schema (PostgreSQL). Keep in step with ../sqlite/0001_foundation.sql.
-- Timestamps are Unix seconds (BIGINT); booleans are BIGINT 0/1; ids are UUIDv7 text.
-- Columns ending in _ct hold XChaCha20-Poly1305 ciphertext (see src/crypto.rs).

CREATE TABLE practices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_check BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('clinician', 'supervisor', 'admin')),
    password_hash TEXT NOT NULL,
    totp_secret_ct BYTEA,
    totp_enabled BIGINT NOT NULL DEFAULT 0,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX users_practice ON users(practice_id);

CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE auth_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    practice_id TEXT NOT NULL REFERENCES practices(id),
    stage TEXT NOT NULL CHECK (stage IN ('second_factor', 'enrol', 'full')),
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX auth_sessions_user ON auth_sessions(user_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE login_throttle (
    key_hash TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);

CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    status TEXT NOT NULL CHECK (status IN ('active', 'archived')),
    name_ct BYTEA NOT NULL,
    date_of_birth_ct BYTEA,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX clients_practice ON clients(practice_id);

CREATE TABLE client_keys (
    client_id TEXT PRIMARY KEY REFERENCES clients(id),
    practice_id TEXT NOT NULL REFERENCES practices(id),
    wrapped_key BYTEA NOT NULL
);

CREATE TABLE client_name_index (
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id),
    token TEXT NOT NULL,
    PRIMARY KEY (client_id, token)
);
CREATE INDEX client_name_index_lookup ON client_name_index(practice_id, token);

CREATE TABLE care_team (
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    added_by TEXT NOT NULL REFERENCES users(id),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, user_id)
);
CREATE INDEX care_team_user ON care_team(practice_id, user_id);

CREATE TABLE client_sessions (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id),
    starts_at BIGINT NOT NULL,
    duration_minutes BIGINT NOT NULL,
    attendance TEXT NOT NULL CHECK (attendance IN ('scheduled', 'attended', 'cancelled', 'no_show')),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX client_sessions_client ON client_sessions(practice_id, client_id, starts_at);

CREATE TABLE break_glass (
    id TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices(id),
    client_id TEXT NOT NULL REFERENCES clients(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    reason_ct BYTEA NOT NULL,
    granted_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX break_glass_lookup ON break_glass(practice_id, client_id, user_id, expires_at);

-- The audit chain: one hash chain per practice ('system' for events with no practice).
-- No foreign keys: the log outlives what it describes.
CREATE TABLE audit_log (
    practice_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    record_kind TEXT NOT NULL,
    record_id TEXT,
    client_id TEXT,
    request_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (practice_id, seq)
);
CREATE INDEX audit_log_at ON audit_log(practice_id, at);

CREATE TABLE audit_head (
    practice_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
