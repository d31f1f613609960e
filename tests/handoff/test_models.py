"""Records round-trip through JSON and keep their limits."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from handoff import MESSAGE_CAP, Agent, ContextPacket, Event, Message, Note, Ticket, Transfer


def test_ticket_round_trips_through_json() -> None:
    ticket = Ticket(
        id="t1", conversation="tg:42", channel="telegram", shopper_name="Li",
        status="assigned", reason="angry_complaint", intent="complaint", skill="presale",
        priority=0, summary="s", created_at=1.5, assigned_to="alice", assigned_at=2.5,
        context=ContextPacket(transcript=[{"role": "shopper", "text": "x", "ts": 1.0,
                                           "intent": "complaint", "confidence": 0.8}],
                              turns=[{"intent": "complaint", "confidence": 0.8}],
                              slots={"order_id": "9"}, anger=0.9, reason="r", summary="s",
                              attachments=["file-1"]),
        notes=[Note(author="alice", text="n", ts=3.0)],
        messages=[Message(role="agent", author="alice", text="m", ts=4.0)],
        transfers=[Transfer(by="bob", from_agent="bob", to_agent="alice",
                            from_skill="after_sales", to_skill="presale", ts=2.5)],
        left_message="call me", contact="138")
    assert Ticket.from_json(ticket.to_json()) == ticket
    assert Ticket.from_json(ticket.to_json().replace('"id"', '"future_key":1,"id"')) == ticket


def test_ticket_rejects_unknown_status() -> None:
    with pytest.raises(ValidationError):
        Ticket.from_json('{"id": "t", "conversation": "c", "channel": "web", "status": "lost"}')


def test_messages_are_capped() -> None:
    ticket = Ticket(id="t", conversation="c", channel="web")
    for i in range(MESSAGE_CAP + 5):
        ticket.add_message(Message(role="shopper", author="s", text=str(i), ts=float(i)))
    assert len(ticket.messages) == MESSAGE_CAP
    assert ticket.messages[0].text == "5"


def test_agent_rating_average_and_defaults() -> None:
    agent = Agent(name="alice")
    assert (agent.capacity, agent.skills, agent.presence) == (
        5, ("presale", "after_sales"), "offline")
    assert agent.average_rating is None
    rated = Agent.from_json(Agent(name="a", rated=4, rating_sum=18).to_json())
    assert rated.average_rating == 4.5


def test_event_round_trips() -> None:
    event = Event(kind="agent_message", ticket_id="t", conversation="web:1", agent="alice",
                  data={"text": "hi"}, ts=3.0)
    assert Event.from_json(event.to_json()) == event
