"""Text messages to citizens: phone numbers now; gateways, templates and replies to come.

This package imports nothing of ``queue_app`` or ``kiosk``: it is a library of its own.
"""
