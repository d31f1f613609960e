"""Agents in a Telegram forum supergroup (KEFU_TELEGRAM_AGENT_CHAT): one topic per ticket.

Split by concern, each part a small class sharing one :class:`~.group.AgentGroup` (chat id,
sender, topic store, texts, counters):

* ``events_to_topics``: handoff events → what each means for its ticket's topic;
* ``topic_posts``: the per-ticket queues of posts, and opening, replacing and reopening the
  topics they go to;
* ``handlers``: the group → handoff: the router for messages, commands and buttons;
* ``actions``: what a command or button does to a ticket (take, back, close, transfer,
  note) and the hint when it did not happen;
* ``membership``: who is an agent in the group and which kefu account each acts as;
* ``presence``: /online /away /offline and keeping that presence renewed;
* ``desk``: :class:`AgentDesk`, which wires the parts and starts and stops them with the
  channel.
"""

from bot.telegram.agents.desk import AgentDesk
from bot.telegram.agents.group import AgentGroup, DeskStats
from bot.telegram.agents.membership import Acting

__all__ = ["Acting", "AgentDesk", "AgentGroup", "DeskStats"]
