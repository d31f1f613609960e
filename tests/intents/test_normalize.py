"""Text normalisation: one canonical form whatever the shopper typed."""

from __future__ import annotations

import pytest

from intents.normalize import is_traditional, normalize


@pytest.mark.parametrize(("raw", "text", "traditional", "emoji"), [
    ("我要退货", "我要退货", False, 0),
    ("我要退貨，謝謝", "我要退货,谢谢", True, 0),
    ("身高１７０ｃｍ　体重６５ｋｇ", "身高170cm 体重65kg", False, 0),
    ("好的😂😂", "好的", False, 2),
    ("亲🙏 在吗？？？", "亲 在吗?", False, 1),
    ("hello!!!", "hello!", False, 0),
    ("  多个   空格 ", "多个 空格", False, 0),
    ("a\u200bb\x00c", "a b c", False, 0),
    ("^_^", "_", False, 2),
    ("", "", False, 0),
])
def test_normalize(raw: str, text: str, traditional: bool, emoji: int) -> None:
    got = normalize(raw)
    assert (got.text, got.traditional, got.emoji) == (text, traditional, emoji)


def test_plain_lines_and_lines_with_symbols_agree() -> None:
    """The fast path for plain lines gives what the per-character path gives."""
    for plain in ("这件卫衣170穿什么码", "订单123456789 怎么还没发货?", "包邮吗 (急)"):
        with_symbol = normalize(plain + "★")
        assert with_symbol.emoji == 1
        assert with_symbol.text == normalize(plain).text


def test_traditional_needs_traditional_only_characters() -> None:
    assert is_traditional("這個多少錢")
    assert not is_traditional("这个多少钱")
    assert not is_traditional("hello 123")
    assert not is_traditional("这个 這個")  # mixed: not a Traditional writer
