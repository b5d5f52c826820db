-- bankfeed schema: Items that bankfeed links itself (issue 14).
--
-- An Item lives in the tokens table beside the processor tokens, so that
-- its access token is sealed, fingerprinted, checked against the key id
-- and rotated by exactly the same code, and so that the sync log
-- (sync_updates.token_id), flags, probes and the cursor serve both. One
-- row per Item, one cursor per Item; its accounts point back at it.
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'processor' CHECK (kind IN ('processor', 'item'));
ALTER TABLE tokens ADD COLUMN item_id TEXT;
ALTER TABLE tokens ADD COLUMN institution_id TEXT;
-- The webhook URL bankfeed last pointed a processor token at
-- (/processor/token/webhook/update): set again when BANKFEED_WEBHOOK_URL changes.
ALTER TABLE tokens ADD COLUMN webhook_url TEXT;
CREATE UNIQUE INDEX tokens_item ON tokens(item_id) WHERE item_id IS NOT NULL;

ALTER TABLE accounts ADD COLUMN item_token_id INTEGER REFERENCES tokens(id);
CREATE INDEX accounts_item ON accounts(item_token_id) WHERE item_token_id IS NOT NULL;

-- Scoped tokens: a 15-minute bearer credential for one business, handed to
-- the end user's browser. Only the SHA-256 of the token is kept.
CREATE TABLE scoped_tokens (
  hash        BLOB PRIMARY KEY,
  business_id TEXT NOT NULL REFERENCES businesses(id),
  expires_at  TEXT NOT NULL,
  created_at  TEXT NOT NULL
) STRICT;

-- Public tokens already exchanged (their SHA-256): the same one twice is a
-- conflict, told apart from an unknown or expired one.
CREATE TABLE exchanged_public_tokens (
  hash         BLOB PRIMARY KEY,
  item_token   INTEGER NOT NULL REFERENCES tokens(id),
  exchanged_at TEXT NOT NULL
) STRICT;
