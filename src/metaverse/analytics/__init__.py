"""Space analytics for owners and moderators, read from `space_events` and `chat_messages`."""
