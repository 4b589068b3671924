"""Django's SQLite backend with writers that queue without SQLite's busy-handler sleeps
(``ENGINE = "fengqiao.core.sqlite"``; see ``base``)."""
