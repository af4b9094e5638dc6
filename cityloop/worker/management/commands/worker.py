"""``cityloop worker``: run the background jobs (cityloop/worker/jobs.py) on their intervals until stopped."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connections

from cityloop.worker.jobs import JOBS, Job

logger = logging.getLogger("cityloop.worker")


class Command(BaseCommand):
    help = (
        "后台任务进程：按各自的间隔运行发送通知（deliver）、时限检查（sweep）、预先统计考评页（warm）和工作要点报送提醒"
        "（reminders），直到 Ctrl-C 或 SIGTERM；停止时等正在运行的任务做完。--once 每个任务运行一次后退出。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        names = [job.name for job in JOBS]
        parser.add_argument("--once", action="store_true", help="每个任务运行一次后退出（如由 cron 调用）")
        parser.add_argument("--only", action="append", choices=names, metavar="JOB",
                            help=f"只运行这些任务（可重复）：{', '.join(names)}")
        parser.add_argument("--for", dest="for_seconds", type=float, default=None, metavar="SECONDS",
                            help="运行这么多秒后停止（试运行）")

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        jobs = [job for job in JOBS if (not options["only"] or job.name in options["only"]) and job.enabled()]
        if options["once"]:
            failed = [job.name for job in jobs if not self._run(job)]
            if failed:
                raise CommandError(f"任务出错：{', '.join(failed)}（见日志）")
            return
        self._schedule(jobs, options["for_seconds"])

    def _run(self, job: Job) -> bool:
        """Run one job; an error is logged and the next run tries again."""
        try:
            line = job.run()
        except Exception:
            logger.exception("后台任务 %s 出错", job.name)
            return False
        if line or self.verbosity >= 2:
            self.stdout.write(f"[{job.name}] {line or '无事可做'}")
        return True

    def _run_in_thread(self, job: Job) -> bool:
        """A scheduled run, on one of the scheduler's threads: with its own fresh database connection."""
        close_old_connections()
        try:
            return self._run(job)
        finally:
            connections.close_all()  # this thread's connections only; the next run opens its own

    def _schedule(self, jobs: list[Job], for_seconds: float | None) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        # One thread per job: a long evaluation count never holds up notifications. One run of a job at a
        # time, and runs missed while it was busy are merged into one (coalesce).
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max(len(jobs), 1))},
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            timezone="Asia/Shanghai",
        )
        for job in jobs:
            scheduler.add_job(self._run_in_thread, "interval", args=[job], seconds=job.seconds(), id=job.name,
                              next_run_time=_now())
            self.stdout.write(f"任务 {job.name}：每 {job.seconds():g} 秒 — {job.description}")
        stop = {"now": False}

        def request_stop(signum: int, frame: Any) -> None:
            stop["now"] = True

        in_main_thread = threading.current_thread() is threading.main_thread()  # signals reach only that one
        previous = signal.signal(signal.SIGTERM, request_stop) if in_main_thread else None
        scheduler.start()
        self.stdout.write("后台任务已启动（Ctrl-C 停止）")
        began = time.monotonic()
        try:
            while not stop["now"] and (for_seconds is None or time.monotonic() - began < for_seconds):
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self.stdout.write("正在停止：等待正在运行的任务完成……")
            scheduler.shutdown(wait=True)
            if in_main_thread:
                signal.signal(signal.SIGTERM, previous)
        self.stdout.write("后台任务已停止")


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()
