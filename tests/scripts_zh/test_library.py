"""The library loader and validator: the shipped library is clean; broken ones are located."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts_zh.loader import LibraryError, load_library, read_texts, validate_texts
from scripts_zh.models import LABELS, REQUIRED_SYSTEM
from scripts_zh.renderer import render
from tests.conftest import ROOT

LIBRARY = ROOT / "scripts_zh" / "library"


def test_shipped_library_has_no_errors() -> None:
    problems = validate_texts(read_texts(LIBRARY))
    assert [str(p) for p in problems if p.severity == "error"] == []
    library = load_library(LIBRARY)
    assert set(LABELS) - {"other"} <= set(library.intents)
    assert {"thanks", "goodbye", "fallback"} <= set(library.intents)
    assert set(REQUIRED_SYSTEM) <= set(library.system)
    for intent in library.intents.values():
        assert len(intent.examples) >= 20, intent.name
        assert len(intent.replies) >= 2, intent.name


def _texts() -> dict[str, str]:
    return dict(read_texts(LIBRARY))


def _problems(texts: dict[str, str]) -> list[str]:
    return [str(p) for p in validate_texts(texts) if p.severity == "error"]


def test_yaml_syntax_error_is_located() -> None:
    texts = _texts()
    texts["intents/thanks.yaml"] = "name: thanks\nexamples:\n  - [unclosed\n"
    assert any(p.startswith("intents/thanks.yaml:4: YAML syntax") or
               p.startswith("intents/thanks.yaml:3: YAML syntax") for p in _problems(texts))


def test_schema_error_names_the_field_and_line() -> None:
    texts = _texts()
    texts["intents/thanks.yaml"] = ("name: thanks\ntitle: 感谢\nexamples: [谢谢]\n"
                                    "replies: [不客气]\n")
    problems = _problems(texts)
    assert any(p.startswith("intents/thanks.yaml:4: replies:") for p in problems), problems


def test_name_must_match_file() -> None:
    texts = _texts()
    texts["intents/thanks.yaml"] = texts["intents/thanks.yaml"].replace(
        "name: thanks", "name: thanks_two")
    assert any("must match the file name" in p for p in _problems(texts))


def test_duplicate_examples_across_intents() -> None:
    texts = _texts()
    texts["intents/goodbye.yaml"] = texts["intents/goodbye.yaml"].replace(
        "examples:\n", "examples:\n  - 我要退货\n", 1)
    assert any("duplicate example '我要退货' (also in intent" in p for p in _problems(texts))


def test_unknown_variable_and_bad_template() -> None:
    texts = _texts()
    texts["system.yaml"] += "\nextra_one:\n  - \"{{ __class__ }}\"\nextra_two:\n  - \"{% if %}\"\n"
    problems = _problems(texts)
    assert any("unknown template variable: __class__" in p for p in problems)
    assert any("template syntax" in p for p in problems)


def test_missing_system_text_and_prompt() -> None:
    texts = _texts()
    texts["system.yaml"] = texts["system.yaml"].replace("rating_ask:", "rating_asked:")
    refund = texts["intents/refund.yaml"]
    texts["intents/refund.yaml"] = refund.replace("  with_order:", "  with_order_x:")
    problems = _problems(texts)
    assert any("rating_ask: missing system text" in p for p in problems)
    assert any("prompts.with_order: required by action_refund" in p for p in problems)


def test_broken_library_refuses_to_load(tmp_path: Path) -> None:
    (tmp_path / "intents").mkdir()
    (tmp_path / "system.yaml").write_text("welcome: ok\n", encoding="utf-8")
    with pytest.raises(LibraryError) as info:
        load_library(tmp_path)
    assert any("no intents" in str(p) for p in info.value.problems)
    with pytest.raises(LibraryError):
        load_library(tmp_path / "missing")


def test_templates_run_in_a_sandbox() -> None:
    with pytest.raises(Exception, match=r"unsafe|not safely|access"):
        render("{{ shop_name.__class__.__mro__[1].__subclasses__() }}", {"shop_name": "x"})
    assert render("{{ shop_name }}好", {"shop_name": "店"}, traditional=True) == "店好"
    assert render("发货了", {}, traditional=True) == "發貨了"



def test_plain_texts_render_as_jinja_would() -> None:
    """Texts without a tag skip Jinja; the result is what Jinja would have given."""
    from scripts_zh.renderer import _compiled

    library = load_library(ROOT / "scripts_zh" / "library")
    texts = [t for variants in library.system.values() for t in variants]
    for intent in library.intents.values():
        texts += [*intent.replies, *(t for v in intent.prompts.values() for t in v)]
    plain = [t for t in texts if "{" not in t]
    assert len(plain) >= 20
    for text in [*plain, "  两头有空格  \n", "换行\n第二行\n"]:
        assert render(text, {"shop_name": "店"}) == str(_compiled(text).render()).strip()
