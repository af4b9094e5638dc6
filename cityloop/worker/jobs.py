"""The worker's jobs: what runs beside the web servers, never inside a user's request.

The worker is the top of the app stack: it may call every app's services, and no app imports it. Each job is
one plain function over those services, returning a line for the log (empty when it had nothing to do); ``cityloop worker`` runs them on their
intervals (APScheduler), ``cityloop worker --once`` runs each once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from cityloop.cases.sweeper import sweep
from cityloop.evaluation.selectors import evaluation_cache_seconds
from cityloop.evaluation.services import cache_is_shared, evaluations_warm
from cityloop.notifications.services import deliveries_send
from cityloop.workplans.services import plan_reminders_send


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    run: Callable[[], str]
    seconds: Callable[[], float]  # the interval, read when the worker starts
    enabled: Callable[[], bool] = lambda: True


def deliver_notifications() -> str:
    """Send every due notification delivery, in batches, until none is due."""
    sent = retrying = failed = skipped = 0
    while True:
        report = deliveries_send()
        sent, retrying, failed, skipped = (sent + report.sent, retrying + report.retrying, failed + report.failed,
                                           skipped + report.skipped)
        if report.sent + report.retrying + report.failed + report.skipped == 0:
            break
    if sent + retrying + failed + skipped == 0:
        return ""
    return f"通知发送：成功 {sent}，待重试 {retrying}，失败 {failed}，无需发送 {skipped}"


def sweep_deadlines() -> str:
    report = sweep()
    if report.yellow + report.red == 0:
        return ""
    return f"时限检查：黄灯预警 {report.yellow} 件，红灯预警 {report.red} 件"


def warm_evaluations() -> str:
    done = evaluations_warm()
    return f"预先统计考评页 {len(done)} 个，用时 {sum(w.seconds for w in done):.1f} 秒"


def remind_plan_reports() -> str:
    run = plan_reminders_send()
    if run.not_due or not run.sent:
        return ""
    return f"工作要点报送提醒：{run.month:%Y-%m} 提醒 {len(run.sent)} 项，此前已提醒 {run.already} 项"


def _setting(name: str, default: float) -> Callable[[], float]:
    return lambda: float(getattr(settings, name, default))


JOBS: tuple[Job, ...] = (
    Job("deliver", "发送通知（邮件、webhook、Apprise 等），失败的按间隔重试", deliver_notifications,
        _setting("CITYLOOP_WORKER_DELIVER_SECONDS", 10)),
    Job("sweep", "检查各环节时限，发出黄灯和红灯预警", sweep_deadlines, _setting("CITYLOOP_WORKER_SWEEP_SECONDS", 60)),
    Job("warm", "在考评统计缓存过期前预先统计常用考评页（仅当缓存为各进程共享，如 Redis）", warm_evaluations,
        lambda: max(evaluation_cache_seconds() / 2, 1.0),
        enabled=lambda: evaluation_cache_seconds() > 0 and cache_is_shared()),
    Job("reminders", "提醒未按时报送工作要点月度进展的责任单位（同一任务、月份、单位只提醒一次）", remind_plan_reports,
        _setting("CITYLOOP_WORKER_REMINDER_SECONDS", 3600)),
)
