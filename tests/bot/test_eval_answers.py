"""``kefu eval --answers``: every line opens its own chat and is counted by how it is answered."""

from __future__ import annotations

import json
from pathlib import Path

from bot.brain import Brain
from bot.eval_answers import CATEGORIES, answer, category, format_answers
from bot.turn import Turn
from config import Settings
from intents.evaluate import Example
from tests.bot.test_cli import run

#: Our own lines (never the evaluation data's), one per kind of answer.
LINES = [
    Example("hello", "你好", "greeting"),
    Example("cotton", "这件是纯棉的吗", "presale"),
    Example("when", "衣服", "presale"),
    Example("parcel", "我想退", "refund"),
    Example("vague", "这件衣服", "presale"),
    Example("noise", "啊啊", "other"),
    Example("thanks", "好的谢谢", "other"),
    Example("person", "转人工", "human"),
]
EXPECTED = {"hello": "small_talk", "cotton": "topic", "when": "suggest",
            "parcel": "intent_reply", "vague": "clarify", "noise": "fallback",
            "thanks": "small_talk", "person": "handoff"}


async def test_each_kind_of_answer_is_counted(settings: Settings, brain: Brain) -> None:
    answers = await answer(settings, brain, LINES)
    got = {line.id: line.category for line in answers.lines}
    assert got == EXPECTED
    person = next(line for line in answers.lines if line.id == "person")
    assert person.status == "waiting" and person.action == "action_handoff"
    cotton = next(line for line in answers.lines if line.id == "cotton")
    assert cotton.topic and cotton.intent == "presale" and cotton.reply
    counts = answers.counts()
    assert list(counts) == ["greeting", "presale", "refund", "human", "other"]
    assert counts["other"] == {"fallback": 1, "small_talk": 1}
    table = format_answers(answers)
    assert "no agent online" in table and "2026-06-03 10:00" in table
    assert table.splitlines()[-2].split()[-1] == str(len(LINES))


async def test_every_line_starts_a_fresh_chat(settings: Settings, brain: Brain) -> None:
    """The same line twice is answered the same: no follow-up, no "unanswered" count."""
    twice = [Example("a", "这件衣服", "presale"), Example("a", "这件衣服", "presale"),
             Example("b", "这件衣服", "presale")]
    answers = await answer(settings, brain, twice)
    assert {line.category for line in answers.lines} == {"clarify"}


async def test_an_agent_online_takes_the_handoff(settings: Settings, brain: Brain) -> None:
    answers = await answer(settings, brain, [Example("p", "转人工", "human")],
                           agents_online=True)
    assert answers.lines[0].status == "agent"
    assert answers.lines[0].category == "handoff"
    assert "one agent online" in format_answers(answers)


def test_a_handoff_wins_over_the_action() -> None:
    assert category(Turn(text="", action="action_complaint", topic="x",
                         status="waiting")) == "handoff"
    assert category(Turn(text="", action="action_reply", intent="thanks",
                         topic="thanks_x")) == "small_talk"
    assert category(Turn(text="", action="action_refund")) == "intent_reply"
    assert category(Turn(text="", action="input_empty")) == "other"


def test_eval_answers_json_and_replies(tmp_path: Path) -> None:
    data = tmp_path / "mini.tsv"
    data.write_text("".join(f"{ex.id}\t{ex.text}\t{ex.label}\n" for ex in LINES),
                    encoding="utf-8")
    out = tmp_path / "replies.jsonl"
    result = run("eval", str(data), "--json", "--replies", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["accuracy"] > 0.5
    answers = report["answers"]
    assert answers["n"] == len(LINES) and answers["agents_online"] is False
    assert answers["categories"] == list(CATEGORIES)
    assert answers["total"]["small_talk"] == 2 and answers["total"]["n"] == len(LINES)
    assert answers["per_label"]["human"] == {**dict.fromkeys(CATEGORIES, 0), "handoff": 1,
                                             "n": 1}
    assert abs(sum(answers["shares"].values()) - 1) < 1e-3
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [ex.id for ex in LINES]
    assert set(rows[0]) == {"id", "label", "text", "intent", "topic", "action", "status",
                            "reply"}
    when = next(r for r in rows if r["id"] == "when")
    assert when["action"] == "action_suggest" and when["reply"].count(" [") >= 2
    person = rows[-1]
    assert person["status"] == "waiting" and " / " in person["reply"]
    plain = run("eval", str(data), "--answers", "--agents-online")
    assert plain.returncode == 0, plain.stderr
    assert "macro-F1" in plain.stdout and "猜你想问" in plain.stdout
    assert "one agent online" in plain.stdout
