"""What both replays use: compare live traffic with a recording, and translate between them."""
