"""AWS's limits and defaults for an asynchronously invoked function, defined once."""

from __future__ import annotations

RETRIES = (0, 2)
MAX_EVENT_AGE_SECONDS = (60, 21600)
MEMORY_MB = (128, 10240)
TIMEOUT_SECONDS = (1, 900)

DEFAULT_RETRIES = 2
DEFAULT_MAX_EVENT_AGE_SECONDS = 21600
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_SECONDS = 3

LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
DESTINATION_RETENTION_SECONDS = 14 * 24 * 3600
"""The default queues keep records for 14 days, SQS's maximum."""
