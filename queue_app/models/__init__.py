"""All tables. Import from here so that every model is registered on the metadata."""

from queue_app.models.audit import AuditEvent
from queue_app.models.backends import Backend, BackendState
from queue_app.models.branches import Branch, Holiday, OpeningHours, SpecialHours
from queue_app.models.counters import Counter
from queue_app.models.directory_revision import DirectoryRevision
from queue_app.models.idempotency import IdempotencyKey
from queue_app.models.kiosks import EnrolmentFailure, KioskEnrolment
from queue_app.models.line_revision import LineRevision
from queue_app.models.messages import (
    EarlyDeliveryReport,
    InboundSms,
    Message,
    MessageStatus,
    OptOut,
)
from queue_app.models.outages import (
    BackendHealth,
    DetectedBy,
    Maintenance,
    Outage,
    OutageMove,
    OutageReport,
)
from queue_app.models.people import Person, SignedInSession, person_branches
from queue_app.models.phone_codes import PhoneCode
from queue_app.models.send_rates import SendBucket
from queue_app.models.services import Service, service_backends
from queue_app.models.slots import CapacityOverride, SlotBooking
from queue_app.models.tickets import (
    Ticket,
    TicketEvent,
    TicketKind,
    TicketNumberSequence,
    TicketStatus,
)
from queue_app.models.tokens import ApiToken, Role

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Backend",
    "BackendHealth",
    "BackendState",
    "Branch",
    "CapacityOverride",
    "Counter",
    "DetectedBy",
    "DirectoryRevision",
    "EarlyDeliveryReport",
    "EnrolmentFailure",
    "Holiday",
    "IdempotencyKey",
    "InboundSms",
    "KioskEnrolment",
    "LineRevision",
    "Maintenance",
    "Message",
    "MessageStatus",
    "OpeningHours",
    "OptOut",
    "Outage",
    "OutageMove",
    "OutageReport",
    "Person",
    "PhoneCode",
    "Role",
    "SendBucket",
    "Service",
    "SignedInSession",
    "SlotBooking",
    "SpecialHours",
    "Ticket",
    "TicketEvent",
    "TicketKind",
    "TicketNumberSequence",
    "TicketStatus",
    "person_branches",
    "service_backends",
]
