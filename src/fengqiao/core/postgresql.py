"""What the PostgreSQL deployment sets in psycopg, once per process (``CoreConfig.ready``)."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

# Before psycopg sends a statement it splits it at its %s markers (and, with server-side
# binding, rewrites them into PostgreSQL's $1, $2 …). It keeps the result in an LRU cache of 128
# statements per binding, but only for statements of at most 4,096 bytes and 50 parameters
# (``psycopg._queries``): both limits keep ORMs' multi-row INSERTs of every size out of the
# cache. Case intake's write statement carries the case row (about 50 values) with its party,
# timeline row and stored answer, about 100 parameters, so it was split and rebuilt on every
# intake: about 0.2 ms of a worker's CPU, a tenth of what intake costs beyond the no-op
# (a test checks that statement stays within both limits).
#
# Raised to 400 parameters: an entry of that size holds its split parts, up to about 65 KB, so
# the two caches could hold about 9 MB per process at worst (about 2 MB before), and small
# multi-row INSERTs of 51–400 parameters now take cache places too. The length limit stays.
STATEMENT_PARAMS_CACHED = 400


def cache_longer_statements() -> None:
    from psycopg import _queries

    current = getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", None)
    if current is None:
        # A psycopg release without the setting: run uncached rather than not at all (the
        # test of this module fails, so an upgrade notices).
        logger.warning("psycopg has no MAX_CACHED_STATEMENT_PARAMS: statements stay uncached")
    elif current < STATEMENT_PARAMS_CACHED:
        _queries.MAX_CACHED_STATEMENT_PARAMS = STATEMENT_PARAMS_CACHED
