"""A bag of categories and channels per person: what each customer buys and how.

The autoencoder segmentation (``autoencoder+<method>``) reads these beside the feature set:
for every person, the share of their order lines in each product category, and the share of
their activity (order lines and events) on each channel. Only the commonest values become
columns (``MAX_VALUES`` of each), so a catalogue of thousands of categories stays a handful of
inputs; rarer ones count in no column. Order lines and events belong to people by the rule of
the views ``person_order_lines`` and ``person_events``. A category is read as cleaning mapped
it (``category_map``: ``Beauté`` and ``beaute`` are one column), as the feature set reads it.
An event's channel is ``app`` when its context names an app, else ``web`` (as in the view
``event_orders``).
"""

from __future__ import annotations

import duckdb
import pandas as pd

BAG_PREFIX = "bag."
MAX_VALUES = 12

_ITEMS = """
    SELECT o.customer_id, 'category=' || lower(coalesce(cm.category, o.category)) AS item
    FROM person_order_lines o LEFT JOIN category_map cm ON cm.raw = o.category
    WHERE o.category IS NOT NULL AND o.customer_id IS NOT NULL
    UNION ALL
    SELECT customer_id, 'channel=' || lower(channel) FROM person_order_lines
    WHERE channel IS NOT NULL AND customer_id IS NOT NULL
    UNION ALL
    SELECT customer_id,
           'channel=' || CASE WHEN json_extract(context, '$.app') IS NOT NULL
                              THEN 'app' ELSE 'web' END
    FROM person_events WHERE customer_id IS NOT NULL
"""


def person_bags(con: duckdb.DuckDBPyConnection, max_values: int = MAX_VALUES) -> pd.DataFrame:
    """One row per person with any order line or event (index ``customer_id``), one column per
    common category and channel (``bag.category=shoes``), each the share of that person's
    category (or channel) items; persons absent have no category or channel seen."""
    frame = con.execute(
        f"""WITH items AS ({_ITEMS}),
            kinds AS (SELECT *, split_part(item, '=', 1) AS kind FROM items),
            common AS (
                SELECT item FROM (
                    SELECT item, kind, row_number() OVER (
                        PARTITION BY kind ORDER BY count(*) DESC, item) AS rank
                    FROM kinds GROUP BY item, kind)
                WHERE rank <= ?),
            per_kind AS (SELECT customer_id, kind, count(*) AS total FROM kinds GROUP BY ALL)
        SELECT k.customer_id, '{BAG_PREFIX}' || k.item AS item,
               count(*)::DOUBLE / any_value(p.total) AS share
        FROM kinds k JOIN common USING (item) JOIN per_kind p USING (customer_id, kind)
        GROUP BY k.customer_id, k.item""",
        [max_values],
    ).df()
    if frame.empty:
        return pd.DataFrame(index=pd.Index([], name="customer_id", dtype=object))
    wide = frame.pivot(index="customer_id", columns="item", values="share").fillna(0.0)
    wide.columns.name = None
    return wide.reindex(columns=sorted(wide.columns))


def with_bags(con: duckdb.DuckDBPyConnection, ids: list[str], raw: pd.DataFrame) -> pd.DataFrame:
    """``raw`` (rows in the order of ``ids``) with the persons' bag columns appended; a person
    without items gets 0 in each."""
    bags = person_bags(con).reindex(index=ids, fill_value=0.0).fillna(0.0)
    bags.index = raw.index
    return pd.concat([raw, bags], axis=1)
