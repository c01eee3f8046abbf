"""Option declaration: a pydantic model read by ``parse_options``, every problem at its key's line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import pytest
from pydantic import Field, SecretStr, field_validator

from leadsync.api import (
    SYSTEM_CLOCK,
    AdapterOptions,
    ClockOption,
    ConfigError,
    FakeClock,
    OptionSource,
    RetryPolicy,
    option_problem,
    parse_options,
)


class ExampleOptions(AdapterOptions):
    base_url: str = "https://api.example.com"
    auth: Literal["jwt", "password"] = "jwt"
    token: SecretStr | None = None
    batch_size: int = Field(100, ge=1, le=100)
    budget: float = Field(0.8, ge=0.01, le=1.0)
    timeout: float = Field(30.0, gt=0)
    triggers: list[str] = Field(default_factory=list)
    retry: RetryPolicy | None = None
    clock: ClockOption = SYSTEM_CLOCK

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"`base_url` must be an http(s) URL, not {value!r}")
        return value


def _problems(options: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_options(ExampleOptions, options, "example")
    return [str(p) for p in caught.value.problems]


class TestAPlainMapping:
    def test_defaults_and_values(self) -> None:
        clock = FakeClock()
        options = {"token": "pat-S3CRET", "batch_size": 5, "clock": clock}
        got = parse_options(ExampleOptions, options, "example")
        assert got.batch_size == 5 and got.budget == 0.8 and got.clock is clock
        assert isinstance(got.token, SecretStr) and "S3CRET" not in repr(got)

    def test_a_callable_clock_is_a_clock(self) -> None:
        now = datetime(2026, 11, 23, tzinfo=UTC)
        assert parse_options(ExampleOptions, {"clock": lambda: now}, "example").clock.now() == now

    def test_every_problem_at_once_at_line_0(self) -> None:
        found = _problems(
            {
                "bacth_size": 5,
                "batch_size": 500,
                "budget": True,
                "timeout": 0,
                "auth": "saml",
                "base_url": "ftp://x",
                "retry": "again",
                "clock": "noon",
                "triggers": "workflow",
            }
        )
        assert all(p.startswith("example options:0: ") for p in found)
        text = "\n".join(found)
        for expected in (
            "unknown option `bacth_size`; did you mean `batch_size`?",
            "`batch_size` must be a whole number from 1 to 100, not 500",
            "`budget` must be a number from 0.01 to 1.0, not True",
            "`timeout` must be a positive number, not 0",
            "`auth` must be one of jwt, password, not 'saml'",
            "`base_url` must be an http(s) URL, not 'ftp://x'",
            "`retry` must be a RetryPolicy (from leadsync.api)",
            "`clock` must be a leadsync.api.Clock",
            "`triggers`: input should be a valid list",
        ):
            assert expected in text, expected
        assert len(found) == 9

    def test_text_is_not_a_number(self) -> None:
        assert (
            "`batch_size` must be a whole number from 1 to 100, not '5'" in _problems({"batch_size": "5"})[0]
        )


class TestFromTheConfigFile:
    SOURCE = OptionSource(
        {"batch_size": 500, "triggers": ["workflow", 7], "colour": "red", "token": "x"},
        file="leadsync.yaml",
        lines={("batch_size",): 11, ("triggers",): 12, ("triggers", 1): 14, ("colour",): 15},
        default=9,
    )

    def test_each_problem_at_its_keys_line(self) -> None:
        with pytest.raises(ConfigError) as caught:
            parse_options(ExampleOptions, self.SOURCE, "example")
        where = {p.message.split(" ")[0]: (p.file, p.line) for p in caught.value.problems}
        assert where["`batch_size`"] == ("leadsync.yaml", 11)
        assert where["`triggers.1`:"] == ("leadsync.yaml", 14)
        assert where["unknown"] == ("leadsync.yaml", 15)

    def test_what_is_not_in_the_file_goes_to_the_options_line(self) -> None:
        assert option_problem(self.SOURCE, "example", ("token",), "bad").line == 9
        assert option_problem(self.SOURCE, "example", (), "missing").line == 9
        assert option_problem({}, "example", ("token",), "bad").file == "example options"

    def test_it_is_still_a_dict(self) -> None:
        assert dict(self.SOURCE)["batch_size"] == 500 and isinstance(self.SOURCE, dict)
