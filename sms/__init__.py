"""Text messages to citizens: gateways (``gateways``), the messages and their segment budgets
(``templates``, ``segments``), replies (``replies``), webhook signatures (``signatures``) and
mobile numbers (``numbers``). See docs/sms.md.

This package imports nothing of ``queue_app`` or ``kiosk``: it is a library of its own.
"""
