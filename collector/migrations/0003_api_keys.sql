-- API keys: only a SHA-256 of the secret is stored. Each key belongs to one tenant.
-- Revoking writes a newer version of the row; ReplacingMergeTree keeps the latest.
CREATE TABLE IF NOT EXISTS agentmortem_api_keys (
    KeyId String,
    KeyHash String,
    Tenant LowCardinality(String),
    Name String,
    CreatedAt DateTime64(3),
    RevokedAt Nullable(DateTime64(3)),
    Version UInt64
) ENGINE = ReplacingMergeTree(Version)
ORDER BY KeyId;
