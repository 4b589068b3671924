"""A job runner that is killed mid-job by tests/core/test_outbox.py (not a test module).

It registers a handler whose effect (an audit event) is written and then waits inside the job's
transaction, after telling the test through a file that it got there; the test SIGKILLs it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fengqiao.settings")

import django  # noqa: E402

django.setup()

from fengqiao.core import audit, outbox  # noqa: E402

signal_file = Path(sys.argv[1])


@outbox.handler("test.effect")
def effect(marker: str) -> None:
    audit.record("test.outbox_effect", obj=("outbox", marker))
    signal_file.write_text("inside the job")
    time.sleep(600)


outbox.run_pending()
