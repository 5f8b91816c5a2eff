"""The review page's automation chart (issue 42): the monitor's last twelve weeks as SVG bars, with a table of the
same figures, in the reader's language."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.api.test_review_page import invoice, sign_in, upload

OGM = "+++090/9337/55493+++"


# Every language of the page writes numbers as Belgians do (app/ui/i18n.py LOCALES): 50,00 %.
@pytest.mark.parametrize(
    ("language", "heading", "share"),
    [
        ("nl", "Automatisch geboekt", "50,00 %"),
        ("fr", "Imputé automatiquement", "50,00 %"),
        ("en", "Settled automatically", "50,00 %"),
    ],
)
def test_the_chart_shows_this_weeks_share_settled_automatically(client, language, heading, share):
    key = sign_in(client, language=language)
    invoice(client, key, "A", "121.00", structured_reference=OGM)
    # Booked today: one payment by its OGM (settled by the service), one without evidence (left for a person).
    upload(client, key, ("121.00", OGM), ("7.00", None), day=datetime.now(ZoneInfo("Europe/Brussels")).date())
    page = client.get("/ui/").text
    section = page[page.index('<section aria-labelledby="automation">') :]
    section = section[: section.index("</section>")]
    assert f'<h2 id="automation">{heading}</h2>' in section
    bars = re.findall(r'class="bar-automatic" x="[\d.]+" y="[\d.]+" width="16" height="([\d.]+)"', section)
    assert len(bars) == 12 and [float(b) for b in bars[:-1]] == [0.0] * 11
    assert float(bars[-1]) == 60.0  # half of the 120-unit chart: one of two payments settled automatically
    [row] = re.findall(r"<tbody>\s*<tr>(.*?)</tr>", section, re.S)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    # Money in, settled automatically, with a reference, by people, median days (booked and settled today).
    assert cells[1:] == ["2", share, share, "0", "0,00"]
