"""Choices shared by several apps."""

from django.db import models


class TimeUnit(models.TextChoices):
    """Unit of a time limit: working time counts only the working calendar's periods."""

    WORK_HOUR = "work_hour", "工作时"
    WORK_DAY = "work_day", "工作日"
    HOUR = "hour", "小时"
    DAY = "day", "天"
