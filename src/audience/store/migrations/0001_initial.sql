-- Initial schema. Every timestamp column holds UTC (TIMESTAMP without zone, by convention).
-- Segment Spec fields keep their meaning under snake_case names (userId -> user_id).

CREATE TABLE imports (
    import_id        VARCHAR PRIMARY KEY,
    kind             VARCHAR NOT NULL,          -- customers | orders | events
    source_file      VARCHAR NOT NULL,
    sha256           VARCHAR NOT NULL,
    format           VARCHAR NOT NULL,          -- csv | parquet | jsonl
    encoding         VARCHAR,
    delimiter        VARCHAR,
    rows_read        BIGINT NOT NULL,
    rows_new         BIGINT NOT NULL,
    rows_updated     BIGINT NOT NULL,
    rows_unchanged   BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    started_at       TIMESTAMP NOT NULL,
    finished_at      TIMESTAMP NOT NULL
);

CREATE TABLE customers (
    customer_id  VARCHAR PRIMARY KEY,           -- the id as imported (CRM id)
    source       VARCHAR NOT NULL,
    email        VARCHAR,
    phone        VARCHAR,
    first_name   VARCHAR,
    last_name    VARCHAR,
    birth_date   DATE,
    gender       VARCHAR,
    city         VARCHAR,
    postcode     VARCHAR,
    country      VARCHAR,
    signup_at    TIMESTAMP,
    traits       JSON,                          -- every unmapped column, as imported
    import_id    VARCHAR NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

-- One row per order line; an order is the set of its lines (view `orders`).
CREATE TABLE order_lines (
    order_id     VARCHAR NOT NULL,
    line_no      INTEGER NOT NULL,
    customer_id  VARCHAR NOT NULL,
    ordered_at   TIMESTAMP NOT NULL,
    product_id   VARCHAR,
    product_name VARCHAR,
    category     VARCHAR,
    quantity     INTEGER NOT NULL,
    unit_price   DECIMAL(18, 4),
    amount       DECIMAL(18, 2) NOT NULL,
    discount     DECIMAL(18, 2) NOT NULL,
    currency     VARCHAR NOT NULL,
    channel      VARCHAR,
    import_id    VARCHAR NOT NULL
);
-- (order_id, line_no) and events.message_id are unique, enforced by the loaders with
-- anti-joins: an ART index over tens of millions of random keys makes bulk loads 10x slower.

CREATE VIEW orders AS
SELECT order_id,
       any_value(customer_id)  AS customer_id,
       min(ordered_at)         AS ordered_at,
       sum(amount)             AS total,
       sum(discount)           AS discount,
       any_value(currency)     AS currency,
       count(*)                AS n_lines,
       sum(quantity)           AS n_items
FROM order_lines
GROUP BY order_id;

CREATE TABLE events (
    message_id   VARCHAR NOT NULL,              -- Segment messageId: unique, de-duplication key
    type         VARCHAR NOT NULL,              -- track | identify | page | screen | group | alias
    event        VARCHAR,                       -- track: event name; page/screen: name
    user_id      VARCHAR,
    anonymous_id VARCHAR,
    timestamp    TIMESTAMP NOT NULL,
    sent_at      TIMESTAMP,
    received_at  TIMESTAMP,
    properties   JSON,
    traits       JSON,
    context      JSON,
    import_id    VARCHAR NOT NULL
);

-- Every identifier known for a customer (email, phone, CRM id, userId, anonymousId).
CREATE TABLE identities (
    id_type      VARCHAR NOT NULL,
    id_value     VARCHAR NOT NULL,
    customer_id  VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    first_seen   TIMESTAMP NOT NULL,
    PRIMARY KEY (id_type, id_value, customer_id)
);

-- Consent history: the current status of a purpose is its latest row.
CREATE TABLE consents (
    customer_id  VARCHAR NOT NULL,
    purpose      VARCHAR NOT NULL,              -- email | sms | push | advertising | profiling | analytics
    status       VARCHAR NOT NULL,              -- granted | denied | withdrawn
    changed_at   TIMESTAMP NOT NULL,
    source       VARCHAR NOT NULL,
    PRIMARY KEY (customer_id, purpose, changed_at, status)
);

CREATE TABLE quarantine (
    import_id    VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,
    source_file  VARCHAR NOT NULL,
    sha256       VARCHAR NOT NULL,
    line         BIGINT NOT NULL,               -- physical line in the file (1 = header)
    reason       VARCHAR NOT NULL,              -- code[: detail]; several joined by '; '
    raw          VARCHAR NOT NULL,              -- the record as read, JSON or raw text
    status       VARCHAR NOT NULL DEFAULT 'open',
    quarantined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (sha256, line)
);

-- Replaced wholesale by each feature computation; feature_catalog says what each column is.
CREATE TABLE features (
    customer_id  VARCHAR PRIMARY KEY,
    as_of        TIMESTAMP NOT NULL
);

CREATE TABLE feature_catalog (
    name         VARCHAR PRIMARY KEY,
    description  VARCHAR NOT NULL,
    computed_at  TIMESTAMP NOT NULL
);

CREATE TABLE segment_runs (
    run_id       VARCHAR PRIMARY KEY,
    created_at   TIMESTAMP NOT NULL,
    method       VARCHAR NOT NULL,
    params       JSON NOT NULL,
    features     JSON NOT NULL,
    preprocessing JSON NOT NULL,
    metrics      JSON NOT NULL,
    selection    JSON NOT NULL,                 -- the table of candidates the choice was made from
    model        JSON NOT NULL,                 -- fitted state (centroids...), no pickles
    n_customers  BIGINT NOT NULL
);

CREATE TABLE segments (
    segment_id   VARCHAR PRIMARY KEY,
    run_id       VARCHAR NOT NULL,
    label        INTEGER NOT NULL,
    name         VARCHAR NOT NULL,
    description  VARCHAR NOT NULL,
    size         BIGINT NOT NULL,
    profile      JSON NOT NULL
);

-- Membership history: valid_to IS NULL means current.
CREATE TABLE memberships (
    customer_id  VARCHAR NOT NULL,
    segment_id   VARCHAR NOT NULL,
    run_id       VARCHAR NOT NULL,
    score        DOUBLE,
    valid_from   TIMESTAMP NOT NULL,
    valid_to     TIMESTAMP
);
