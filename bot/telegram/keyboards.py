"""Quick-reply buttons as inline keyboards, and back from a press to the text it stands for.

A press must work exactly like typing the button's text, but ``callback_data`` holds at
most 64 bytes. Short texts (nearly all: four Chinese characters are 12 bytes) travel
inside the data as ``say:<text>``, so nothing is stored and a press works even on a
message sent days ago or by another bot process. A longer text is sent as ``btn:<n>`` and
read back from the pressed message's own keyboard, which Telegram includes in the callback
query.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

MAX_CALLBACK_BYTES = 64
SAY = "say:"
BUTTON = "btn:"
#: The data of the one button left after a press: pressing it again does nothing.
CHOSEN = "chosen"
#: Button texts longer than this get a row of their own.
WIDE = 7


def callback_data(index: int, text: str) -> str:
    """The data for button ``index``: the text itself when it fits, else its position."""
    data = SAY + text
    if len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES:
        return data
    return f"{BUTTON}{index}"


def keyboard(buttons: Sequence[str]) -> InlineKeyboardMarkup | None:
    """Short buttons (ratings 1–5) share a row, medium ones go two a row, long ones alone."""
    titles = [b for b in buttons if b and b.strip()]
    if not titles:
        return None
    items = [InlineKeyboardButton(text=t[:200], callback_data=callback_data(i, t))
             for i, t in enumerate(titles)]
    longest = max(len(t) for t in titles)
    per_row = len(items) if longest <= 2 else 1 if longest > WIDE else 2
    rows = [items[i:i + per_row] for i in range(0, len(items), per_row)]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def chosen_keyboard(text: str) -> InlineKeyboardMarkup:
    """What stays under a question once answered: the choice, ticked, inert."""
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=f"✓ {text}"[:200], callback_data=CHOSEN)]])


def pressed_text(query: CallbackQuery) -> str | None:
    """The text a press stands for, or None for data this bot did not make."""
    data = query.data or ""
    if data.startswith(SAY):
        return data[len(SAY):] or None
    if not data.startswith(BUTTON):
        return None
    message = query.message
    if message is None or isinstance(message, InaccessibleMessage):
        return None
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup else []:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
