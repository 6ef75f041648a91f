def scan_frames(
    data: bytes, pos: int, max_frames: int, /
) -> tuple[
    list[tuple[int, float, bytes, bytes | None, bytes, bytes | None, bytes | None, bytes | None]],
    int,
]: ...
