-- Web accounts (issue 10): people with a role and an optional station scope, passwords as
-- argon2 hashes, server-side sessions (the cookie holds only a random token, stored hashed),
-- and a throttle that slows and then locks repeated failed logins per account and per address.

CREATE TABLE users (
    name                text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    role                text NOT NULL CHECK (role IN ('wall', 'analyst', 'commander', 'admin')),
    stations            text[],                          -- NULL: every station
    password_hash       text NOT NULL,
    disabled            boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE web_sessions (
    token_hash  bytea PRIMARY KEY,                       -- sha256 of the cookie's token
    username    text NOT NULL REFERENCES users(name),
    csrf        text NOT NULL,
    address     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL                     -- absolute end, whatever the activity
);
CREATE INDEX web_sessions_user_idx ON web_sessions (username);

CREATE TABLE login_throttle (
    key          text PRIMARY KEY,                       -- 'user:<name>' or 'addr:<address>'
    failures     integer NOT NULL DEFAULT 0,
    last_failure timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz
);
