"""Turning handoff failures into JSON the console shows: ``{"error": ..., "code": ...}``.

An agent must learn *why* a click did nothing ("someone else took this ticket"), never see a
traceback. ``code`` is stable for the JS (which shows its own label); ``error`` is a plain
English sentence for logs, curl users and codes the JS does not know.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handoff import (
    AgentUnavailable,
    AlreadyRated,
    AtCapacity,
    BadRating,
    HandoffError,
    HandoffUnavailable,
    InvalidRequest,
    NotAssigned,
    NotYourTicket,
    TicketClosed,
    UnknownAgent,
    UnknownTicket,
)

#: (exception type, HTTP status, code, message); the first matching row wins, so subclasses
#: come before their parents.
_ROWS: tuple[tuple[type[Exception], int, str, str], ...] = (
    (UnknownTicket, 404, "unknown_ticket", "no such ticket"),
    (UnknownAgent, 404, "unknown_agent", "no such agent (they never went online)"),
    (NotYourTicket, 409, "not_yours", "this ticket is assigned to someone else"),
    (TicketClosed, 409, "closed", "this ticket is already closed"),
    (NotAssigned, 409, "not_assigned", "this ticket is still in the queue: take it first"),
    (AtCapacity, 409, "at_capacity", "that agent has no free seat"),
    (AgentUnavailable, 409, "agent_offline", "that agent is not online"),
    (BadRating, 400, "bad_rating", "a rating must be 1 to 5"),
    (AlreadyRated, 409, "already_rated", "this ticket was already rated"),
    (InvalidRequest, 400, "invalid", "invalid request"),
    (HandoffError, 409, "conflict", "this cannot be done in the ticket's current state"),
)


class ApiError(Exception):
    """A refusal decided by the console itself (bad input, lost race, no seat)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, "code": code, **extra}, status=status)


def from_exception(exc: Exception) -> web.Response:
    """The response for an ApiError, a HandoffError or HandoffUnavailable."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message)
    if isinstance(exc, HandoffUnavailable):
        return error_response(503, "unavailable",
                              "the ticket store cannot be reached; try again in a moment")
    for kind, status, code, message in _ROWS:
        if isinstance(exc, kind):
            if isinstance(exc, InvalidRequest) and str(exc):
                message = str(exc)
            elif isinstance(exc, (UnknownAgent, AgentUnavailable, AtCapacity)) and str(exc):
                message = f"{message}: {exc}"
            return error_response(status, code, message)
    raise exc
