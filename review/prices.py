"""The review pack's view of the price table.

The table itself lives in ``platform_config/_prices.py``, with every other per-region table
(``platform_config/_regions.py`` refuses a region without prices), so that the configuration
model, which the library ships, does not depend on the review pack, which it does not.
"""

from __future__ import annotations

from platform_config._prices import (
    ASSUMPTION_TEXT,
    ASSUMPTIONS,
    CONFIRMED,
    CURRENCY,
    HOURS_PER_MONTH,
    PRICES,
    PRICES_AS_OF,
    PRICES_CHECKED_ON,
    SOURCES,
    confirmed,
    for_region,
)

__all__ = [
    "ASSUMPTIONS",
    "ASSUMPTION_TEXT",
    "CONFIRMED",
    "CURRENCY",
    "HOURS_PER_MONTH",
    "PRICES",
    "PRICES_AS_OF",
    "PRICES_CHECKED_ON",
    "SOURCES",
    "confirmed",
    "for_region",
]
