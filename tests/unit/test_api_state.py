"""Versioned cursors (``CursorCodec``) and JSON bodies (``json_object``, ``compact_json``)."""

from __future__ import annotations

import pytest

from leadsync.api import CursorCodec, CursorError, compact_json, json_object

CODEC = CursorCodec("Example", "ex", 2, upgrades={1: lambda body: {"t": int(body.split(":")[0])}})


class TestCursorCodec:
    def test_round_trip_without_empty_fields(self) -> None:
        text = CODEC.encode({"t": 17, "seen": [], "o": {"Lead": ["x", "y"]}, "none": None})
        assert text == 'ex2:{"t":17,"o":{"Lead":["x","y"]}}'
        assert CODEC.decode(text) == {"t": 17, "o": {"Lead": ["x", "y"]}}

    def test_an_older_version_is_upgraded(self) -> None:
        assert CODEC.decode("ex1:17:4") == {"t": 17}

    def test_a_newer_version_is_refused_clearly(self) -> None:
        with pytest.raises(CursorError) as caught:
            CODEC.decode('ex3:{"t":17}')
        text = str(caught.value)
        assert "version 3" in text and "newer" in text and "upgrade leadsync" in text

    def test_a_version_nobody_reads_any_more(self) -> None:
        codec = CursorCodec("Example", "ex", 3)
        with pytest.raises(CursorError, match="no longer reads"):
            codec.decode('ex1:{"t":1}')

    @pytest.mark.parametrize("text", ["", "17:4", 'zz2:{"t":1}', "ex2:[1]", "ex2:{", "ex1:x:4", "ex2"])
    def test_anything_else_is_not_this_adapters(self, text: str) -> None:
        with pytest.raises(CursorError, match="not a Example cursor"):
            CODEC.decode(text)

    def test_a_cursor_error_is_a_value_error(self) -> None:
        assert issubclass(CursorError, ValueError)

    def test_tags_and_versions_are_checked(self) -> None:
        with pytest.raises(ValueError):
            CursorCodec("Example", "Ex", 1)
        with pytest.raises(ValueError):
            CursorCodec("Example", "ex", 0)


class TestJson:
    def test_objects_lists_text_and_nothing(self) -> None:
        assert json_object('{"message": "x"}') == {"message": "x"}
        assert json_object("[1, 2]") == {"results": [1, 2]}
        assert json_object("") == {} and json_object(None) == {}
        assert json_object("<html>" + "x" * 600) == {"message": ("<html>" + "x" * 600)[:500]}
        assert json_object("oops " * 200, keep=None) == {"message": "oops " * 200}

    def test_compact(self) -> None:
        assert compact_json({"a": [1, 2], "b": None}) == '{"a":[1,2],"b":null}'
