"""The config's ``notifications:`` section: what it takes, and its mistakes as FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from leadsync.cli import main
from leadsync.errors import ConfigError
from leadsync.notify.config import EmailChannel, SlackChannel, TeamsChannel
from leadsync.settings import load_settings

HEAD = """\
connections:
  - name: hs
    adapter: hubspot
    rules: rules.yaml
"""

GOOD = (
    HEAD
    + """\
notifications:
  digest_over: 5
  channels:
    hot-leads: {type: slack_webhook, url_env: HOT_URL}
    sales-leads: {type: slack, token_env: SLACK_TOKEN, channel: "#sales-leads"}
    managers: {type: teams, url_file: secrets/teams-url, quiet_hours: none}
    marketing:
      type: email
      host: smtp.example.com
      user: leadsync
      password_env: SMTP_PASSWORD
      from: leadsync@example.com
      to: [marketing@example.com]
    ops: {type: webhook, url: "https://ops.example.com/hook", secret_env: OPS_SECRET}
  owners: {via: both, slack: sales-leads, email: marketing}
  record_urls: {hs: "https://app.hubspot.com/contacts/123/record/0-1/{id}"}
"""
)


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "leadsync.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return [str(p).replace(str(path), "FILE") for p in caught.value.problems]


class TestLoading:
    def test_every_channel_type_and_the_owners(self, tmp_path: Path) -> None:
        path = tmp_path / "leadsync.yaml"
        path.write_text(GOOD, encoding="utf-8")
        settings = load_settings(path).notifications
        assert settings is not None and settings.digest_over == 5 and settings.quiet_hours == "business_hours"
        assert isinstance(settings.channels["sales-leads"], SlackChannel)
        marketing = settings.channels["marketing"]
        assert isinstance(marketing, EmailChannel) and marketing.port == 587 and marketing.starttls
        assert marketing.sender == "leadsync@example.com"
        teams = settings.channels["managers"]
        assert isinstance(teams, TeamsChannel) and teams.url_file == tmp_path / "secrets/teams-url"
        assert settings.owners is not None and settings.owners.via == "both"
        assert settings.record_url("hs", "42/x") == "https://app.hubspot.com/contacts/123/record/0-1/42%2Fx"
        assert settings.record_url("other", "42") is None

    def test_without_the_section_nothing_changes(self, tmp_path: Path) -> None:
        path = tmp_path / "leadsync.yaml"
        path.write_text(HEAD, encoding="utf-8")
        assert load_settings(path).notifications is None

    def test_a_secret_is_read_when_needed_and_never_shown(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "leadsync.yaml"
        path.write_text(GOOD, encoding="utf-8")
        (tmp_path / "secrets").mkdir()
        (tmp_path / "secrets/teams-url").write_text("https://teams.example/x?sig=TOPSECRET\n")
        settings = load_settings(path)
        assert settings.notifications is not None
        secret = settings.notifications.channels["managers"].secret("url")
        assert secret.get_secret_value() == "https://teams.example/x?sig=TOPSECRET"
        assert "TOPSECRET" not in repr(secret) and "TOPSECRET" not in repr(settings)
        monkeypatch.delenv("SLACK_TOKEN", raising=False)
        with pytest.raises(ConfigError) as caught:
            settings.notifications.channels["sales-leads"].secret("token")
        assert [str(p) for p in caught.value.problems] == [
            f"{path}:9: the environment variable SLACK_TOKEN is not set; export it"
        ]


class TestMistakes:
    def test_an_unknown_key_names_the_ones_that_channel_type_takes(self, tmp_path: Path) -> None:
        text = HEAD + "notifications:\n  channels:\n    x: {type: slack, token_env: T, chanel: '#x'}\n"
        assert _problems(tmp_path, text) == [
            "FILE:7: `notifications.channels.x.channel`: field required",
            "FILE:7: unknown key `chanel` for a `slack` channel; did you mean `channel`?",
        ]

    def test_an_unknown_channel_type(self, tmp_path: Path) -> None:
        text = HEAD + "notifications:\n  channels:\n    x: {type: sms, url_env: U}\n"
        [problem] = _problems(tmp_path, text)
        assert problem.startswith("FILE:7: `notifications.channels.x`") and "slack_webhook" in problem

    def test_secrets_given_both_ways_or_not_at_all(self, tmp_path: Path) -> None:
        text = HEAD + (
            "notifications:\n  channels:\n"
            "    a: {type: teams, url_env: A, url_file: a.txt}\n"
            "    b: {type: webhook, url: 'https://x.example'}\n"
            "    c: {type: email, host: h, from: a@b.c, user: u}\n"
        )
        assert _problems(tmp_path, text) == [
            "FILE:7: give `url_env` or `url_file`, not both",
            "FILE:8: channel `b` has no secret; name the environment variable (`secret_env`) or the file"
            " (`secret_file`) holding it",
            "FILE:9: channel `c` has no password; name the environment variable (`password_env`) or the"
            " file (`password_file`) holding it",
            "FILE:9: channel `c` sends to nobody; list addresses in `to`",
        ]

    def test_owners_through_a_channel_of_the_wrong_type(self, tmp_path: Path) -> None:
        text = HEAD + (
            "notifications:\n  channels:\n"
            "    hot: {type: slack_webhook, url_env: U}\n"
            "    bot: {type: slack, token_env: T, channel: '#x'}\n"
            "  owners:\n    via: slack\n    slack: hot\n"
        )
        assert _problems(tmp_path, text) == [
            "FILE:11: owners are reached by slack: set `owners.slack` to a channel of type `slack`"
            " (the `slack` channels: bot)"
        ]

    def test_a_record_url_without_its_id(self, tmp_path: Path) -> None:
        text = HEAD + "notifications:\n  record_urls:\n    hs: https://app.hubspot.com/contacts/1\n"
        assert _problems(tmp_path, text) == [
            "FILE:7: `record_urls.hs` must be an http(s) URL with `{id}` where the contact's id goes"
        ]

    def test_a_noise_setting_out_of_range(self, tmp_path: Path) -> None:
        text = HEAD + "notifications:\n  digest_over: 0\n  quiet_hours: never\n"
        problems = _problems(tmp_path, text)
        assert problems[0].startswith("FILE:6: `notifications.digest_over`")
        assert (
            problems[1].startswith("FILE:7: `notifications.quiet_hours`") and "business_hours" in problems[1]
        )


def test_a_command_refuses_a_bad_section_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "leadsync.yaml"
    path.write_text(HEAD + "notifications:\n  channels:\n    x: {type: teams}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["status", "--config", str(path)])
    assert result.exit_code == 2
    assert f"{path}:7: channel `x` has no url;" in result.output
