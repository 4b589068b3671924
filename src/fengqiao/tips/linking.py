"""Finding repeated tips (线索串并): the same accused, or the same story told again.

Two signals, computed by the ``suggest_links`` job after a tip is received:

- **Accused**: another tip's accused has the same name or ID number, matched by blind index
  (HMAC of the normalised value) — an indexed equality lookup, nothing decrypted, over all tips.
- **Text**: the Jaccard similarity of character bigrams of the two descriptions (Chinese words
  are mostly two characters, so bigrams stand in for words without a segmenter). Threshold
  ``TEXT_THRESHOLD``.

Cost: the text comparison needs plaintext, so each candidate tip's data key is unwrapped and its
description decrypted (one SM4-GCM unwrap and one decryption, tens of microseconds each). Only
tips about the same county received in the last ``TEXT_WINDOW_DAYS`` days are compared, at most
``TEXT_MAX_CANDIDATES`` of the newest; at the campaign's volume (a few thousand tips per city over
three years) that is a few hundred decryptions per new tip, in the background job, never in a
request. These machine reads are not audited one by one (they show nobody anything); what the
triager later opens is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta

from fengqiao.core import crypto

TEXT_THRESHOLD = 0.35
TEXT_WINDOW_DAYS = 730
TEXT_MAX_CANDIDATES = 500
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of the text with spaces and punctuation removed, NFKC-folded."""
    folded = _DROP.sub("", unicodedata.normalize("NFKC", text or "").lower())
    if len(folded) < 2:
        return frozenset({folded}) if folded else frozenset()
    return frozenset(folded[i : i + 2] for i in range(len(folded) - 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass
class Match:
    """Why another tip looks like a repeat of this one."""

    other_id: int
    reasons: set[str] = field(default_factory=set)
    score: float = 0.0


def find_matches(tip) -> list[Match]:
    """Earlier or later tips that look like repeats of ``tip`` (see the module docstring)."""
    from fengqiao.tips.models import Accused, Tip

    matches: dict[int, Match] = {}
    own = list(tip.accused.values_list("name_index", "id_number_index"))
    for column, reason, values in (
        ("name_index", "name", {name for name, _ in own if name}),
        ("id_number_index", "id_number", {number for _, number in own if number}),
    ):
        if not values:
            continue
        others = (
            Accused.objects.filter(**{f"{column}__in": values})
            .exclude(tip_id=tip.pk)
            .values_list("tip_id", flat=True)
            .distinct()
        )
        for other_id in others:
            matches.setdefault(other_id, Match(other_id)).reasons.add(reason)

    mine = bigrams(tip.description)
    since = tip.received_at - timedelta(days=TEXT_WINDOW_DAYS)
    pool = (
        Tip.objects.unscoped_all()
        .within(tip.region_code[:6])
        .filter(received_at__gte=since, data_key__isnull=False)
        .exclude(pk=tip.pk)
        .only("pk", "public_id", "data_key", "description")
        .order_by("-received_at")[:TEXT_MAX_CANDIDATES]
    )
    for other in pool:
        try:
            score = jaccard(mine, bigrams(other.description))
        except crypto.CryptoError:
            continue  # shredded or damaged: nothing to compare
        if score >= TEXT_THRESHOLD:
            match = matches.setdefault(other.pk, Match(other.pk))
            match.reasons.add("text")
            match.score = round(score, 3)
    return sorted(matches.values(), key=lambda m: (-len(m.reasons), -m.score, m.other_id))
