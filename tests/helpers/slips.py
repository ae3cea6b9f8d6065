"""Ticket slips made by hand, for the renderers' tests that need no app and no database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from kiosk.slip import Fact, SlipText, TicketSlip

STATUS_URL = "http://queue.test/t/" + "q" * 32


def sample_slip(*, priority: bool = False, **changes: Any) -> TicketSlip:
    arabic = SlipText(
        locale="ar",
        branch="سجل مدني مدينة نصر",
        service="بطاقة الرقم القومي",
        facts=(
            Fact("وقت الإصدار", "الثلاثاء ٢٤ نوفمبر الساعة ١٠:٠٠ ص"),
            Fact("عدد الأشخاص قبلك", "٣"),
            Fact("مدة الانتظار المتوقعة", "١٨ دقيقة"),
        ),
        priority="تذكرة أولوية" if priority else None,
        qr_hint="امسح هذا الرمز بهاتفك لمتابعة دورك ومدة الانتظار المتوقعة.",
    )
    english = SlipText(
        locale="en",
        branch="Nasr City civil registry",
        service="National ID card",
        facts=(
            Fact("Issued", "Tuesday 24 November at 10:00\u202fAM"),
            Fact("People ahead of you", "3"),
            Fact("Estimated wait", "18 minutes"),
        ),
        priority="Priority ticket" if priority else None,
        qr_hint="Scan this code with your phone to follow your turn and the estimated wait.",
    )
    slip = TicketSlip(
        number="A-007",
        status_url=STATUS_URL,
        locale="ar",
        priority=priority,
        issued_at=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
        people_ahead=3,
        eta_minutes=18,
        texts=(arabic, english),
    )
    return dataclasses.replace(slip, **changes)
