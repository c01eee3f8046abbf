"""Local receivers for notifications (issue 16), for tests and the demo: a Slack-compatible server
(``slack``), a Microsoft Teams Workflows receiver (``teams``), a real SMTP server (``smtp``,
aiosmtpd) and a generic signed-webhook receiver (``webhook``). All listen on 127.0.0.1, record
what they receive, and take the kit's faults over ``/__sandbox`` (``receiver``).
"""
