"""Quick phrases for agents: the library's ``agent_phrases`` rendered for one ticket.

Managers write them in ``system.yaml`` as templates, so an agent inserts "your order 123..."
with the ticket's order number already filled in instead of copying it from the context
panel. They are rendered in the shopper's script (Traditional when the shopper writes
Traditional), because the agent sends them to the shopper.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.brain import Brain
from handoff import Ticket
from scripts_zh.renderer import render

log = logging.getLogger(__name__)

KEY = "agent_phrases"
#: Slots also offered as top-level variables, as the bot's own replies have them.
SLOT_VARIABLES = ("order_id", "size", "height", "weight", "fit")


def context_for(brain: Brain, ticket: Ticket, agent_name: str) -> dict[str, Any]:
    """Template variables for one ticket, from its context packet."""
    slots = dict(ticket.context.slots)
    return {"shop_name": brain.shop_name, "customer_name": ticket.shopper_name,
            "agent_name": agent_name, "slots": slots, "reason": ticket.reason,
            **{k: slots[k] for k in SLOT_VARIABLES if k in slots}}


def rendered(brain: Brain, ticket: Ticket, agent_name: str, *,
             traditional: bool = False) -> list[str]:
    """Every quick phrase, filled in; a phrase that fails to render is left out (and logged)."""
    context = context_for(brain, ticket, agent_name)
    out = []
    for template in brain.library.system.get(KEY, []):
        try:
            text = render(template, context, traditional=traditional)
        except Exception:
            log.exception("quick phrase failed to render: %.40s", template)
            continue
        if text and text not in out:
            out.append(text)
    return out
