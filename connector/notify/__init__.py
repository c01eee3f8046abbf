"""Notifications (issue 16, CONTRACT §8): delivering the notices the rules fire.

``config`` reads the deployment's ``notifications:`` section; ``notice`` is what a notification
says; ``blocks``, ``cards``, ``mail`` and ``payload`` render it for Slack, Teams, e-mail and
generic webhooks; ``slack``, ``http`` and ``smtp`` send it, each send ending in an ``outcome``
(delivered, retry after, failed for good); ``targets`` turns a recipient into the senders that
reach it; ``noise`` decides, per notice, to send now, hold for the opening, or merge into a digest.
"""
