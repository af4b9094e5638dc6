"""``cityloop create_token USER [--name NAME]``: create an API token and print its key once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cityloop.accounts.models import User
from cityloop.api.services import token_create
from cityloop.core.errors import CityLoopError


class Command(BaseCommand):
    help = "为用户创建 API 令牌并打印（只显示这一次）。令牌用于 /api/v1（Authorization: Bearer …）和 Open311 的 api_key。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="用户名")
        parser.add_argument("--name", default="命令行创建", help="令牌名称（默认：命令行创建）")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"用户 {options['user']} 不存在")
        try:
            token, key = token_create(user=user, name=options["name"])
        except CityLoopError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(f"已为 {user.username}（{user.get_role_display()}）创建令牌“{token.name}”，前缀 {token.prefix}。"
                          "完整令牌只显示这一次，请妥善保存：")
        self.stdout.write(key)
