"""Every lookup goes through ``Case.objects.visible_to(request.membership)``: a case outside the
caller's jurisdiction answers 404, exactly like one that does not exist."""

from django.http import Http404, HttpRequest

from fengqiao.cases.models import Case


def _scoped(request: HttpRequest):
    return Case.objects.visible_to(request.membership).for_list()


def _visible_case(request: HttpRequest, code: str) -> Case:
    case = _scoped(request).filter(code=code).first()
    if case is None:
        raise Http404
    return case


def _detail_case(request: HttpRequest, code: str) -> Case:
    case = (
        _scoped(request)
        .prefetch_related("parties", "notes__author", "notes__author_unit", "attachments")
        .filter(code=code)
        .first()
    )
    if case is None:
        raise Http404
    return case
