"""Small readings of a shopper's line: fit preference, a bare number, a rating."""

from __future__ import annotations

import pytest

from intents.preferences import bare_number, detect_fit, rating_of


@pytest.mark.parametrize(("text", "fit"), [
    ("喜欢宽松点", "loose"), ("要宽松一点的", "loose"), ("oversize的", "loose"),
    ("修身一点", "slim"), ("喜欢显瘦的", "slim"), ("正常就好", "regular"),
    ("都行", "regular"), ("不要宽松的", None), ("多少钱", None),
])
def test_fit(text: str, fit: str | None) -> None:
    assert detect_fit(text) == fit


@pytest.mark.parametrize(("text", "number"), [
    ("我170", 170.0), ("65", 65.0), ("65吧", 65.0), ("1.5", None), ("订单2345678901", None),
    ("我身高是一米七", None), ("", None),
])
def test_bare_number(text: str, number: float | None) -> None:
    assert bare_number(text) == number


@pytest.mark.parametrize(("text", "rating"), [
    ("5", 5), ("4分", 4), ("5星!", 5), (" 3 ", 3), ("6", None), ("0", None), ("55", None),
    ("好评", None), ("5个", None),
])
def test_rating(text: str, rating: int | None) -> None:
    assert rating_of(text) == rating
