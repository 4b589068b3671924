"""Open311 client keys (Open311 客户端密钥): who may post service requests to /open311/v2/."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fengqiao.api.querysets import Open311ClientQuerySet
from fengqiao.core.models import TimeStamped


class Open311Client(TimeStamped):
    """An Open311 client (Open311 接入方): an outside system allowed to create service requests.

    The key reads ``o311_<prefix>_<secret>`` and is shown once at issue. Only ``prefix`` (to find
    the row and to show in lists) and the SHA-256 of the whole key are stored; the secret is 256
    random bits, so a plain digest leaves nothing to guess. ``region_code`` is the issuing
    membership's region, so operators manage the keys of their own area only.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, editable=False)
    region_code = models.CharField(_("region code"), max_length=15)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    objects = Open311ClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("Open311 client")
        verbose_name_plural = _("Open311 clients")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The key page: keys issued in the operator's region subtree.
            models.Index(fields=["region_code"], name="open311client_region"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
