"""Chat: messages, their pipeline (live delivery + durable log), rooms and history."""
