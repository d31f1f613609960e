"""The kefu command as a user runs it: subprocesses, stdin, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from intents.normalize import is_traditional
from tests.conftest import ALWAYS_OPEN, ROOT

KEFU = [sys.executable, "-m", "bot"]


def run(*args: str, stdin: str = "", env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    full_env["KEFU_HOURS"] = ALWAYS_OPEN
    full_env.update(env or {})
    return subprocess.run([*KEFU, *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=full_env, timeout=timeout)


def test_chat_json_from_stdin() -> None:
    result = run("chat", "--json", stdin="你好\n这件是纯棉的吗\n我要退货\n發貨了嗎\n")
    assert result.returncode == 0, result.stderr
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(turns) == 5
    welcome, hello, presale, refund, logistics = turns
    assert welcome["action"] == "action_greet" and welcome["replies"]
    assert [hello["intent"], presale["intent"], refund["intent"], logistics["intent"]] == [
        "greeting", "presale", "refund", "logistics"]
    for turn in turns:
        assert set(turn) >= {"text", "intent", "confidence", "replies", "slots", "status"}
        assert turn["status"] == "bot"
    assert all(is_traditional(text) for text in logistics["replies"])
    assert "Traceback" not in result.stderr


def test_chat_plain_text() -> None:
    result = run("chat", stdin="转人工\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("bot> ") >= 2
    assert "[waiting]" in result.stdout


def test_wrong_setting_names_the_key() -> None:
    result = run("chat", stdin="", env={"KEFU_WEB_PORT": "not-a-port"})
    assert result.returncode == 2
    assert "KEFU_WEB_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_library_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "intents").mkdir()
    (tmp_path / "system.yaml").write_text("welcome: [hi\n", encoding="utf-8")
    result = run("chat", stdin="你好\n", env={"KEFU_LIBRARY_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "system.yaml:" in result.stderr
    assert "Traceback" not in result.stderr


def test_scripts_validate_default_library_is_clean() -> None:
    result = run("scripts", "validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok:" in result.stdout


def test_scripts_validate_reports_file_and_line(tmp_path: Path) -> None:
    library = ROOT / "scripts_zh" / "library"
    for path in library.rglob("*.yaml"):
        target = tmp_path / path.relative_to(library)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    greeting = tmp_path / "intents" / "greeting.yaml"
    text = greeting.read_text(encoding="utf-8")
    text = text.replace("replies:", "replies:\n  - \"{{ secret_variable }}\"", 1)
    greeting.write_text(text, encoding="utf-8")
    result = run("scripts", "validate", str(tmp_path))
    assert result.returncode == 1
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "secret_variable" in s)
    assert f"greeting.yaml:{line}: unknown template variable: secret_variable" in result.stdout


def test_eval_prints_the_figures(tmp_path: Path) -> None:
    data = tmp_path / "mini.tsv"
    data.write_text("a\t你好\tgreeting\nb\t我要退货\trefund\nc\t谢谢\tother\n", encoding="utf-8")
    result = run("eval", str(data), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["accuracy"] == 1.0
    assert set(report) >= {"accuracy", "macro_f1", "per_intent", "confusion"}
    plain = run("eval", str(data), "--errors")
    assert "macro-F1" in plain.stdout and "confusion" in plain.stdout


def test_eval_rejects_a_bad_file(tmp_path: Path) -> None:
    data = tmp_path / "bad.tsv"
    data.write_text("only two\tcolumns\n", encoding="utf-8")
    result = run("eval", str(data))
    assert result.returncode == 2
    assert "bad.tsv:1" in result.stderr


def test_size_advice_from_the_command_line() -> None:
    result = run("size", "--height", "170", "--weight", "65", "--chart", "men_tops")
    assert result.returncode == 0, result.stderr
    assert "status=borderline size=L alt=M" in result.stdout
    loose = run("size", "--height", "175", "--weight", "70", "--chart", "men_tops", "--fit",
                "loose")
    assert "175cm" in loose.stdout and "140斤" in loose.stdout and "XL" in loose.stdout
    out = run("size", "--height", "230", "--weight", "200", "--chart", "men_tops")
    assert out.returncode == 1 and "out_of_chart" in out.stdout
    unknown = run("size", "--height", "170", "--weight", "65", "--chart", "no_such_chart")
    assert unknown.returncode == 2 and "men_tops" in unknown.stderr
