"""`fengqiao serve`: the web server (gunicorn) and the job worker (Huey) as one foreground unit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server (gunicorn) and the job worker (Huey) until interrupted."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bind", default=os.environ.get("FENGQIAO_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--web-workers", type=int, default=int(os.environ.get("FENGQIAO_WEB_WORKERS", "2"))
        )
        parser.add_argument("--no-worker", action="store_true", help="do not start the job worker")

    def handle(self, *args, bind: str, web_workers: int, no_worker: bool, **options) -> None:
        if settings.PRODUCTION:
            call_command("collectstatic", interactive=False, verbosity=0)
        gunicorn = [
            sys.executable,
            "-m",
            "gunicorn",
            "fengqiao.wsgi:application",
            "--bind",
            bind,
            "--workers",
            str(web_workers),
            "--graceful-timeout",
            "10",
            "--timeout",
            "60",
            # No access log here: request lines carry client addresses, and the anonymous tip
            # line must leave none (SECURITY 19). Deployments log at the proxy, per route.
            "--error-logfile",
            "-",
        ]
        processes = [subprocess.Popen(gunicorn)]  # noqa: S603  (fixed argv, no shell)
        if not no_worker:
            worker = [sys.executable, "-m", "fengqiao.cli", "run_huey", "--quiet"]
            processes.append(subprocess.Popen(worker))  # noqa: S603
        self.stdout.write(f"Fengqiao is serving on http://{bind}/ (Ctrl-C to stop)")

        stopping = False

        def stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(p.poll() is None for p in processes):
                time.sleep(0.5)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        failed = [p.returncode for p in processes if p.returncode not in (0, -15, None)]
        if failed and not stopping:
            raise SystemExit(1)
