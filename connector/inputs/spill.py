"""Records partitioned into temporary files, a block at a time, in bounded memory.

Each partition is one file of blocks: a 4-byte length, then the block's bytes (a list of records
encoded by the caller's codec). What is held in memory at once is one pending block per
partition while writing (``block_items`` records, chosen by the caller to fit its budget) and one
block per partition read.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Generic, TypeVar

__all__ = ["Partitions"]

T = TypeVar("T")
_LENGTH = struct.Struct("<I")


class Partitions(Generic[T]):
    """``count`` append-only files of records under ``directory``, read back in order."""

    def __init__(
        self,
        directory: Path,
        name: str,
        count: int,
        encode: Callable[[list[T]], bytes],
        decode: Callable[[bytes], list[T]],
        block_items: int,
    ) -> None:
        self.paths = [directory / f"{name}-{p}.bin" for p in range(count)]
        self._files: list[BinaryIO] = [path.open("wb") for path in self.paths]
        self._pending: list[list[T]] = [[] for _ in range(count)]
        self._encode = encode
        self._decode = decode
        self._block = max(1, block_items)

    def add(self, partition: int, record: T) -> None:
        pending = self._pending[partition]
        pending.append(record)
        if len(pending) >= self._block:
            self._flush(partition)

    def extend(self, partition: int, records: list[T]) -> None:
        pending = self._pending[partition]
        pending.extend(records)
        if len(pending) >= self._block:
            self._flush(partition)

    def _flush(self, partition: int) -> None:
        pending = self._pending[partition]
        if pending:
            data = self._encode(pending)
            handle = self._files[partition]
            handle.write(_LENGTH.pack(len(data)))
            handle.write(data)
            pending.clear()

    def close(self) -> None:
        """Write what is pending; the files can then be read."""
        for partition, handle in enumerate(self._files):
            self._flush(partition)
            handle.close()

    def read(self, partition: int) -> Iterator[T]:
        """The records of one partition in the order they were added."""
        with self.paths[partition].open("rb") as handle:
            while head := handle.read(_LENGTH.size):
                (size,) = _LENGTH.unpack(head)
                yield from self._decode(handle.read(size))

    def remove(self, partition: int) -> None:
        """Drop a partition's file once it has been read for the last time."""
        self.paths[partition].unlink(missing_ok=True)
