"""Writers for sealed tips: intake, the reporter's side, triage, handling, reveals, supervision.

Every function here is the one way to do its thing. Workflow services take the acting
``membership`` keyword-only, lock the tip, check the transition (``models.TRANSITIONS``) and who
may take it, save only the fields they change, and write a ``TipEvent`` and an audit event in the
same transaction; jobs are queued on commit. Audit detail never carries personal data or content.

Errors (``tips.errors``): ``TipNotFound`` (answer 404: the tip does not exist *for this person*),
``TipRefused`` (a stable ``code`` and a Chinese ``message``: wrong state or not this unit's step),
``ReceiptNotRecognised`` (one answer for every bad receipt) and Django's ``ValidationError`` for
bad input, keyed by field name.

Reads that show content (``open_tip``, ``download_attachment``, ``reveal_reporter``, the statistics
export) are audited here too, so every way into a tip leaves a trace.

The modules: ``intake`` (filing), ``reporter`` (the receipt holder), ``workflow`` (the handling
loop), ``dossier`` (audited reads, reveals, repeats), ``supervision`` (sweep, statistics) and
``rules`` (what every step shares). Import from this package, not from the modules.
"""

from fengqiao.tips.errors import ReceiptNotRecognised, TipNotFound, TipRefused
from fengqiao.tips.services.dossier import (
    AccusedView,
    AttachmentFile,
    AttachmentInfo,
    Candidate,
    Dossier,
    MessageView,
    NoteView,
    ReporterIdentity,
    candidates_for,
    decide_reveal,
    download_attachment,
    open_tip,
    refresh_link_suggestions,
    request_reveal,
    reveal_reporter,
)
from fengqiao.tips.services.intake import AccusedInput, Submission, submit_tip
from fengqiao.tips.services.reporter import (
    ReporterMessage,
    ReporterView,
    find_by_receipt,
    give_opinion,
    lookup_tip,
    receipt_bucket,
    reply_as_reporter,
    reporter_view,
)
from fengqiao.tips.services.rules import (
    CASE_CODE,
    MAX_ACCUSED,
    MAX_DESCRIPTION,
    MAX_SHORT,
    MAX_TEXT,
)
from fengqiao.tips.services.supervision import (
    SweepResult,
    bypass_blocks,
    export_statistics,
    sweep_overdue,
    tip_statistics,
)
from fengqiao.tips.services.workflow import (
    accept_tip,
    add_note,
    allowed_actions,
    assign_tip,
    close_tip,
    dispose_tip,
    flag_officials,
    link_case,
    merge_tip,
    record_verification,
    reject_tip,
    send_message,
    start_verifying,
    transfer_tip,
)

__all__ = [
    "CASE_CODE",
    "MAX_ACCUSED",
    "MAX_DESCRIPTION",
    "MAX_SHORT",
    "MAX_TEXT",
    "AccusedInput",
    "AccusedView",
    "AttachmentFile",
    "AttachmentInfo",
    "Candidate",
    "Dossier",
    "MessageView",
    "NoteView",
    "ReceiptNotRecognised",
    "ReporterIdentity",
    "ReporterMessage",
    "ReporterView",
    "Submission",
    "SweepResult",
    "TipNotFound",
    "TipRefused",
    "accept_tip",
    "add_note",
    "allowed_actions",
    "assign_tip",
    "bypass_blocks",
    "candidates_for",
    "close_tip",
    "decide_reveal",
    "dispose_tip",
    "download_attachment",
    "export_statistics",
    "find_by_receipt",
    "flag_officials",
    "give_opinion",
    "link_case",
    "lookup_tip",
    "merge_tip",
    "open_tip",
    "receipt_bucket",
    "record_verification",
    "refresh_link_suggestions",
    "reject_tip",
    "reply_as_reporter",
    "reporter_view",
    "request_reveal",
    "reveal_reporter",
    "send_message",
    "start_verifying",
    "submit_tip",
    "sweep_overdue",
    "tip_statistics",
    "transfer_tip",
]
