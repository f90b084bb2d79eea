"""HyperLogLog sketches of a column's distinct values: built in the warehouse, merged
here (register by register), estimated here.

A sketch has 2**14 registers. A value's 64-bit hash picks a register with its low 14
bits; the register keeps the largest "rank" seen there: one plus the number of leading
zeros of the remaining 50 bits. The sketch of a union of row sets is the register-wise
maximum of their sketches, so a table's sketch is exactly the merge of its partitions'
sketches, and a partial run keeps distinct counts fresh from the changed partitions
alone. The relative standard error of an estimate is 1.04 / sqrt(2**14) = 0.81%.

Sketches built with different hash functions cannot be merged: each carries the
``family`` of its hash (the engine, and whether Postgres's ``hll`` extension built it).
The estimate is Otmar Ertl's improved estimator ("New cardinality estimation algorithms
for HyperLogLog sketches", 2017), which needs no bias tables and is unbiased from an
empty sketch to far beyond the number of registers.
"""

import base64
import math
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

PRECISION = 14
REGISTERS = 1 << PRECISION
RANK_BITS = 64 - PRECISION  # the hash bits a rank is taken from
MAX_RANK = RANK_BITS + 1
RANK_MASK = (1 << RANK_BITS) - 1
RELATIVE_STANDARD_ERROR = 1.04 / math.sqrt(REGISTERS)


def rank(bits: int) -> int:
    """The rank of a register's hash bits (``RANK_BITS`` wide): leading zeros + 1."""
    return MAX_RANK - (bits & RANK_MASK).bit_length()


def hash_rank(h: int) -> tuple[int, int]:
    """(register, rank) of a 64-bit hash."""
    return h & (REGISTERS - 1), rank(h >> PRECISION)


@dataclass(frozen=True)
class DistinctSketch:
    family: str
    registers: bytes  # REGISTERS bytes, each a rank 0..MAX_RANK

    @classmethod
    def empty(cls, family: str) -> "DistinctSketch":
        return cls(family, bytes(REGISTERS))

    @classmethod
    def from_minima(cls, family: str, minima: Iterable[tuple[int, int]]) -> "DistinctSketch":
        """From (register, smallest rank bits hashed there): the warehouse's
        ``GROUP BY register`` with ``min(bits)``, whose rank is the largest rank."""
        registers = bytearray(REGISTERS)
        for index, bits in minima:
            registers[int(index)] = rank(int(bits))
        return cls(family, bytes(registers))

    def merge(self, other: "DistinctSketch") -> "DistinctSketch":
        if self.family != other.family:
            raise ValueError(f"cannot merge a {self.family} sketch with a {other.family} sketch")
        return DistinctSketch(self.family, bytes(map(max, self.registers, other.registers)))

    def estimate(self) -> float:
        counts = [0] * (MAX_RANK + 1)
        for r in self.registers:
            counts[r] += 1
        m = float(REGISTERS)
        z = m * _tau(1.0 - counts[MAX_RANK] / m)
        for k in range(MAX_RANK - 1, 0, -1):
            z = 0.5 * (z + counts[k])
        z += m * _sigma(counts[0] / m)
        if math.isinf(z):
            return 0.0  # every register empty: no values
        return m * m / (2.0 * math.log(2.0)) / z

    def to_json(self) -> dict[str, Any]:
        packed = base64.b64encode(zlib.compress(self.registers, 6)).decode()
        return {"family": self.family, "precision": PRECISION, "registers": packed}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DistinctSketch":
        if int(data.get("precision", PRECISION)) != PRECISION:
            raise ValueError(f"a sketch of precision {data['precision']} (expected {PRECISION})")
        registers = zlib.decompress(base64.b64decode(data["registers"]))
        if len(registers) != REGISTERS:
            raise ValueError("a sketch with the wrong number of registers")
        return cls(str(data["family"]), registers)


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        before = z
        z += x * y
        y += y
        if z == before:
            return z


def _tau(x: float) -> float:
    if x in (0.0, 1.0):
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        before = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == before:
            return z / 3.0


# --- Postgres hll extension (postgresql-hll) storage -------------------------------------
_HLL_EMPTY, _HLL_FULL = 1, 4


def from_postgresql_hll(text: str, family: str) -> DistinctSketch:
    """Registers of an ``hll`` value built with ``log2m = PRECISION``, ``regwidth = 5``
    and the explicit and sparse forms off (so EMPTY or FULL), from its text form
    (``\\x`` and hex): a 3-byte header, then the registers packed 5 bits each."""
    data = bytes.fromhex(text[2:] if text.startswith("\\x") else text)
    kind, log2m, width = data[0] & 0x0F, data[1] & 0x1F, (data[1] >> 5) + 1
    if kind == _HLL_EMPTY:
        return DistinctSketch.empty(family)
    if kind != _HLL_FULL or log2m != PRECISION or width != 5:
        raise ValueError(f"unexpected hll value (type {kind}, log2m {log2m}, width {width})")
    body = data[3:]
    if len(body) * 8 < 5 * REGISTERS:
        raise ValueError("a truncated hll value")
    registers = bytearray(REGISTERS)
    for group in range(REGISTERS // 8):  # 8 registers in every 5 bytes
        chunk = int.from_bytes(body[5 * group : 5 * group + 5], "big")
        for k in range(8):
            registers[8 * group + k] = (chunk >> (35 - 5 * k)) & 0x1F
    return DistinctSketch(family, bytes(registers))
