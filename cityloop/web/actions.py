"""The case page's action forms: which inputs each workflow action takes, and the one call that applies it.

The page posts the concrete action (one of ``allowed_actions``) with the version it was rendered from; the
view passes both to ``cases.services.case_transition`` (the guarded function behind every ``case_<verb>``),
so a stale page is refused under the row lock. Business rules (who may, required notes, valid inspectors,
routing) stay in the services: this module only turns form input into the service's arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from cityloop.accounts.models import User
from cityloop.cases.models import AttachmentKind, Case
from cityloop.cases.services import case_transition
from cityloop.cases.statuses import ACTION_LABELS, Action
from cityloop.core.errors import ValidationFailed

#: At most this many photos per action.
MAX_PHOTOS = 9


@dataclass(frozen=True)
class ActionSpec:
    action: Action
    fields: tuple[str, ...] = ()  # inspector, valid, into, department, extension, photos
    note_required: bool = False  # a hint for the form; the service decides
    photo_kind: str = AttachmentKind.AFTER
    style: str = ""  # "primary" or "danger" for the button

    @property
    def label(self) -> str:
        return ACTION_LABELS[self.action]


A = Action
SPECS: dict[Action, ActionSpec] = {
    s.action: s
    for s in [
        ActionSpec(A.SEND_VERIFY, ("inspector",), style="primary"),
        ActionSpec(A.VERIFY, ("valid", "photos"), photo_kind=AttachmentKind.BEFORE, style="primary"),
        ActionSpec(A.REGISTER, style="primary"),
        ActionSpec(A.REJECT, note_required=True, style="danger"),
        ActionSpec(A.MERGE, ("into",)),
        ActionSpec(A.APPROVE_SELF_HANDLING, style="primary"),
        ActionSpec(A.REFUSE_SELF_HANDLING, style="danger"),
        ActionSpec(A.DISPATCH, ("department",), style="primary"),
        ActionSpec(A.HANDLE, ("photos",), note_required=True, style="primary"),
        ActionSpec(A.SEND_CHECK, ("inspector",), style="primary"),
        ActionSpec(A.CHECK_PASS, ("photos",), style="primary"),
        ActionSpec(A.REWORK, ("photos",), note_required=True, style="danger"),
        ActionSpec(A.CLOSE, style="primary"),
        ActionSpec(A.REQUEST_RETURN, note_required=True),
        ActionSpec(A.REQUEST_EXTENSION, ("extension",), note_required=True),
        ActionSpec(A.REQUEST_SUSPENSION, note_required=True),
        ActionSpec(A.APPROVE_RETURN, style="primary"),
        ActionSpec(A.REFUSE_RETURN, style="danger"),
        ActionSpec(A.APPROVE_EXTENSION, style="primary"),
        ActionSpec(A.REFUSE_EXTENSION, style="danger"),
        ActionSpec(A.APPROVE_SUSPENSION, style="primary"),
        ActionSpec(A.REFUSE_SUSPENSION, style="danger"),
        ActionSpec(A.RESUME, style="primary"),
        ActionSpec(A.VOID, note_required=True, style="danger"),
        ActionSpec(A.SUPERVISE),
        ActionSpec(A.UNSUPERVISE),
    ]
}
#: Rating belongs to the citizen portal; the staff page never offers it.
PAGE_ACTIONS = frozenset(SPECS)

NOTE_LABELS: dict[Action, Any] = {
    A.REJECT: _("不予立案理由"),
    A.VOID: _("作废理由"),
    A.HANDLE: _("处置情况"),
    A.REWORK: _("不通过原因"),
    A.REQUEST_RETURN: _("申请理由"),
    A.REQUEST_EXTENSION: _("申请理由"),
    A.REQUEST_SUSPENSION: _("申请理由"),
}


def _int(raw: str | None, *, field: str, message: str) -> int:
    try:
        return int(str(raw or "").strip())
    except ValueError:
        raise ValidationFailed(message, field=field) from None


def action_data(spec: ActionSpec, post: Mapping[str, Any]) -> dict[str, Any]:
    """The service's ``data`` for ``spec`` from the posted form; only shape checks, no business rules."""
    data: dict[str, Any] = {}
    if "inspector" in spec.fields:
        pk = _int(post.get("inspector"), field="inspector", message=str(_("请选择监督员")))
        data["inspector"] = User.objects.filter(pk=pk).first() or pk
    if "valid" in spec.fields:
        value = post.get("valid")
        if value not in ("1", "0"):
            raise ValidationFailed(str(_("请选择核实结果（属实/不属实）")), field="valid")
        data["valid"] = value == "1"
    if "into" in spec.fields:
        data["into"] = _int(post.get("into"), field="into", message=str(_("请选择要合并到的案卷")))
    if "department" in spec.fields:
        raw = (post.get("department") or "").strip()
        data["department"] = _int(raw, field="department", message=str(_("处置单位不存在"))) if raw else None
    if "extension" in spec.fields:
        data["value"] = (post.get("value") or "").strip()
        data["unit"] = (post.get("unit") or "").strip()
    return data


def perform(*, case: Case, action: Action, actor: User, post: Mapping[str, Any],
            photos: Sequence[UploadedFile] = (), expected_version: int) -> Case:
    """Apply ``action`` to ``case`` as posted on the case page; raises the services' typed errors."""
    spec = SPECS[action]
    if len(photos) > MAX_PHOTOS:
        raise ValidationFailed(str(_("每次最多上传 %(n)d 张照片")) % {"n": MAX_PHOTOS}, field="photos")
    data = action_data(spec, post)
    if action == A.MERGE:
        into = Case.objects.filter(pk=data["into"]).first()
        if into is None:
            raise ValidationFailed(str(_("请选择要合并到的案卷")), field="into")
        data["into"] = into
    return case_transition(
        case=case,
        action=action,
        actor=actor,
        note=str(post.get("note") or ""),
        data=data,
        photos=list(photos) if "photos" in spec.fields else (),
        photo_kind=spec.photo_kind,
        expected_version=expected_version,
    )
