"""gRPC channel options shared by the server and the client (no server code: the client
imports this)."""

from __future__ import annotations

# Room for a value at the size cap plus its message envelope.
MESSAGE_OVERHEAD = 1024 * 1024


def message_options(max_value_size: int) -> list[tuple[str, int]]:
    limit = max_value_size + MESSAGE_OVERHEAD
    return [("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)]
