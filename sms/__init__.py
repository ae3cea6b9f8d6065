"""Text messages to citizens, by SMS or WhatsApp: gateways (``gateways``), WhatsApp's window
and templates (``whatsapp``), the messages and their segment budgets
(``templates``, ``segments``), replies (``replies``), webhook signatures (``signatures``) and
mobile numbers (``numbers``). See docs/sms.md.

This package imports nothing of ``queue_app`` or ``kiosk``: it is a library of its own.
"""
