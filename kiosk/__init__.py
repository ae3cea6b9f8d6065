"""The kiosk's face: its pages and the ticket it hands out (QR code, printed ticket)."""
