"""``kefu actions``: the same actions served by rasa-sdk's action server, over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import rasa_sdk
import requests

from tests.conftest import ROOT, free_port


@pytest.fixture(scope="module")
def action_server() -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "actions", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"kefu actions exited: {proc.stdout.read() if proc.stdout else ''}")
            try:
                if requests.get(url + "/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            pytest.fail("kefu actions did not come up in 90 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def rasa_request(action: str, text: str, intent: str, slots: dict[str, Any] | None = None,
                 entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The body a Rasa server posts to its action endpoint."""
    return {
        "next_action": action,
        "sender_id": "rasa-user-1",
        "version": rasa_sdk.__version__,
        "domain": {"intents": [intent], "entities": [], "slots": {}, "responses": {},
                   "actions": [action]},
        "tracker": {
            "sender_id": "rasa-user-1",
            "slots": slots or {},
            "latest_message": {"text": text, "intent": {"name": intent, "confidence": 0.93},
                               "intent_ranking": [{"name": intent, "confidence": 0.93}],
                               "entities": entities or []},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def test_lists_the_actions(action_server: str) -> None:
    names = {a["name"] for a in requests.get(action_server + "/actions", timeout=5).json()}
    assert {"action_reply", "action_sizing", "action_refund", "action_handoff"} <= names


def test_reply_action(action_server: str) -> None:
    resp = requests.post(action_server + "/webhook",
                         json=rasa_request("action_reply", "这件是纯棉的吗", "presale"), timeout=10)
    assert resp.status_code == 200
    body = resp.json()
    assert body["responses"] and body["responses"][0]["text"]
    assert {"event": "slot", "name": "unanswered", "value": 0, "timestamp": None} in body["events"]


def test_handoff_pauses_like_rasa_expects(action_server: str) -> None:
    resp = requests.post(action_server + "/webhook",
                         json=rasa_request("action_handoff", "转人工", "human"), timeout=10)
    events = resp.json()["events"]
    assert any(e["event"] == "pause" for e in events)
    assert any(e["event"] == "slot" and e["name"] == "handoff_reason" for e in events)


def test_refund_uses_rasa_entities(action_server: str) -> None:
    body = rasa_request("action_refund", "订单 1234567890123", "refund",
                        entities=[{"entity": "order_id", "value": "1234567890123"}])
    events = requests.post(action_server + "/webhook", json=body, timeout=10).json()["events"]
    assert {"event": "slot", "name": "order_id", "value": "1234567890123",
            "timestamp": None} in events


def test_sizing_extracts_when_rasa_gives_no_entities(action_server: str) -> None:
    body = rasa_request("action_sizing", "身高170体重130斤 宽松点", "sizing")
    result = requests.post(action_server + "/webhook", json=body, timeout=10).json()
    slots = {e["name"]: e["value"] for e in result["events"] if e["event"] == "slot"}
    assert slots["height"] == 170 and slots["weight"] == 130 and slots["fit"] == "loose"
    assert result["responses"][0]["text"]


def test_traditional_shopper_gets_traditional(action_server: str) -> None:
    from intents.normalize import is_traditional

    body = rasa_request("action_reply", "這件是純棉的嗎", "presale")
    text = requests.post(action_server + "/webhook", json=body, timeout=10).json()[
        "responses"][0]["text"]
    assert is_traditional(text)


def test_unknown_action_is_404(action_server: str) -> None:
    resp = requests.post(action_server + "/webhook",
                         json=rasa_request("action_nope", "x", "presale"), timeout=10)
    assert resp.status_code == 404
