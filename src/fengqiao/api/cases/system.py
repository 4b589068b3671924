"""The authenticated no-op the intake benchmark measures against."""

from django.http import HttpRequest

from fengqiao.api.cases.routing import OPERATION_PREFIX, router
from fengqiao.api.cases.schemas import PingOut


@router.get(
    "/ping",
    response=PingOut,
    tags=["system"],
    summary="Authenticated no-op",
    operation_id=f"{OPERATION_PREFIX}ping",
)
def ping(request: HttpRequest):
    """Does nothing but authenticate: the baseline the intake benchmark compares against."""
    return {"ok": True}
