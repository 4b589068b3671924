"""core.forms.PlainSelect writes the markup Django's own Select does (it only skips the option
templates, for lists of thousands of units)."""

from __future__ import annotations

import pytest
from django import forms
from django.test.html import parse_html
from django.utils.translation import gettext_lazy as _

from fengqiao.core.forms import PlainSelect, StyledForm

CHOICES = [("", _("Choose a unit")), ("a&b", "<b>枫源村</b> & 'x'"), ("c", '"quoted"')]


class StockForm(StyledForm):
    unit = forms.ChoiceField(label="unit", choices=CHOICES)


class PlainForm(StyledForm):
    unit = forms.ChoiceField(label="unit", choices=CHOICES, widget=PlainSelect)


@pytest.mark.parametrize("data", [None, {"p-unit": "c"}, {"p-unit": "a&b"}, {"p-unit": ""}])
def test_same_markup_as_the_stock_select(data):
    stock, plain = StockForm(data, prefix="p"), PlainForm(data, prefix="p")
    if data is not None:  # bound: errors add aria attributes to both
        stock.is_valid(), plain.is_valid()
    assert parse_html(str(plain["unit"])) == parse_html(str(stock["unit"]))


def test_labels_and_values_are_escaped():
    html = str(PlainForm(prefix="p")["unit"])
    assert "<b>" not in html
    assert 'value="a&amp;b"' in html
    assert "&lt;b&gt;枫源村&lt;/b&gt; &amp; &#x27;x&#x27;" in html
