"""Flask glue shared by every web area: the session handle and runtime, the reader's language,
rate limits, Twilio's webhooks and the production server."""
