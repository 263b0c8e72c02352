"""Chat: a guarded, grounded assistant over the knowledge base, with redacted conversation memory.

`ChatAssistant` answers the last user message with the ticket pipeline's parts (input guards,
retrieval in the tenant's scope, the engine chain, output guards) or hands the conversation to
a person with the reasons; `ConversationStore` keeps the turns (redacted, never raw) per tenant
and data subject (tables in `schema.py`, migration 0006) and erases a subject's turns.
"""

from helpdesk.chat.assistant import (
    HANDOFF_TEXT,
    WITHHELD,
    ChatAssistant,
    ChatRequestError,
    ChatTurn,
    Handoff,
)
from helpdesk.chat.memory import ConversationNotFoundError, ConversationStore, new_conversation_id

__all__ = [
    "HANDOFF_TEXT",
    "WITHHELD",
    "ChatAssistant",
    "ChatRequestError",
    "ChatTurn",
    "ConversationNotFoundError",
    "ConversationStore",
    "Handoff",
    "new_conversation_id",
]
