from collections.abc import Set

def frame_plain_lines(
    chunk: bytes,
    pos: int,
    end: int,
    seq: int,
    head: bytes,
    plain: Set[bytes | None],
    limit: int,
    /,
) -> tuple[bytes, int, int]: ...
