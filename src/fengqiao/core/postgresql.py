"""What the PostgreSQL deployment sets in psycopg, once per process (``CoreConfig.ready``)."""

from __future__ import annotations

# psycopg rewrites a statement's %s markers into PostgreSQL's $1, $2 … before it sends it, and
# keeps the rewrite in an LRU cache of 128 statements, but only for statements of at most 4,096
# bytes and 50 parameters (``psycopg._queries``): both limits keep ORMs' multi-row INSERTs of
# every size out of the cache. Case intake's write statement carries the case row (about 50
# values) with its party, timeline row and stored answer, so it was split and rebuilt on every
# intake: about 0.2 ms of a worker's CPU, a tenth of what intake costs beyond the no-op. The
# length limit, which bounds what the cache can hold, stays as it is.
STATEMENT_PARAMS_CACHED = 400


def cache_longer_statements() -> None:
    from psycopg import _queries

    if _queries.MAX_CACHED_STATEMENT_PARAMS < STATEMENT_PARAMS_CACHED:
        _queries.MAX_CACHED_STATEMENT_PARAMS = STATEMENT_PARAMS_CACHED
