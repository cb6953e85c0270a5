"""Measuring what a PDF's streams inflate to, without ever holding the inflated bytes.

A stream of a few kilobytes can decode to gigabytes (a "decompression bomb"):
one FlateDecode layer reaches about 1032:1, and filters can be chained, so two
layers turn 2 KB into 1 GiB. A viewer decodes every content stream it shows, so
accepting such a file hands the bomb to whoever opens it.

:class:`InflateBudget` runs a stream's raw data through its filter chain as a
pipeline of small chunks (``zlib.decompressobj`` with ``max_length``, and
incremental decoders for the other filters) and counts every byte each
inflating filter (Flate, LZW, RunLength) produces against one budget for the
whole document; it raises :class:`InflateLimitExceeded` as soon as the budget
is spent. Memory stays at a few chunks whatever the stream inflates to, and the
work is bounded by the budget plus the input.

Image codecs (DCT, JPX, CCITTFax, JBIG2) end the measurement: their output is
pixels, bounded by the image's own dimensions, not by a compression ratio.
A filter we cannot measure (an unknown name, or Brotli) is refused: what it
would inflate to cannot be known.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Final

__all__ = ["InflateBudget", "InflateLimitExceeded", "UnmeasurableFilter"]

_CHUNK: Final = 64 * 1024  # input slices and the most one decoder step produces
_PDF_WHITESPACE: Final = b"\x00\t\n\x0c\r "

Chunks = Iterator[bytes]
_Stage = Callable[[Iterable[bytes | memoryview], Mapping[str, object]], Chunks]


class InflateLimitExceeded(Exception):
    """The document's streams decode to more than its inflate budget."""


class UnmeasurableFilter(Exception):
    """A stream uses a filter whose output size cannot be measured."""


class InflateBudget:
    """How many decoded bytes the streams of one document may produce in total."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError("the inflate budget must not be negative")
        self.limit = limit
        self.used = 0

    def measure(
        self,
        raw: bytes | memoryview,
        filters: Sequence[str],
        parameters: Sequence[Mapping[str, object]],
    ) -> None:
        """Decode ``raw`` through ``filters`` chunk by chunk, counting what inflates.

        ``parameters`` are the /DecodeParms of each filter (empty mappings where
        none). Decoding errors end the measurement of this stream quietly: what
        was produced until then is counted, and a viewer cannot decode further
        either. Nothing is decoded when no inflating filter comes before the
        first image codec (a plain JPEG stays unread).
        """
        stages: list[tuple[_Stage, Mapping[str, object], bool]] = []
        for index, name in enumerate(filters):
            if name in _IMAGE_CODECS:
                break
            if name in _PASS_THROUGH:
                continue
            stage = _STAGES.get(name)
            if stage is None:
                raise UnmeasurableFilter(name)
            parms = parameters[index] if index < len(parameters) else {}
            stages.append((stage, parms, name in _INFLATING))
        while stages and not stages[-1][2]:
            stages.pop()  # what follows the last inflating filter only shrinks
        if not stages:
            return
        chunks: Iterator[bytes | memoryview] = _slices(raw)
        for stage, parms, inflating in stages:
            decoded = stage(chunks, parms)
            chunks = self._counted(decoded) if inflating else decoded
        for _chunk in chunks:  # pulling the last stage drives the whole pipeline
            pass

    def _counted(self, chunks: Chunks) -> Chunks:
        for chunk in chunks:
            self.used += len(chunk)
            if self.used > self.limit:
                raise InflateLimitExceeded(f"streams inflate past {self.limit} bytes")
            yield chunk


def _slices(raw: bytes | memoryview) -> Iterator[memoryview]:
    view = memoryview(raw)
    for start in range(0, len(view), _CHUNK):
        yield view[start : start + _CHUNK]


def _inflate(chunks: Iterable[bytes | memoryview], _parms: Mapping[str, object]) -> Chunks:
    """FlateDecode: zlib (or gzip) data, at most ``_CHUNK`` bytes of output per step."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)
    try:
        for chunk in chunks:
            data: bytes | memoryview = chunk
            while True:
                out = inflater.decompress(data, _CHUNK)
                if out:
                    yield out
                if inflater.eof:
                    return
                data = inflater.unconsumed_tail
                if not data and len(out) < _CHUNK:
                    break  # input used up and nothing pending: next chunk
    except zlib.error:
        return


def _run_length(chunks: Iterable[bytes | memoryview], _parms: Mapping[str, object]) -> Chunks:
    """RunLengthDecode: a length byte, then a literal run or one repeated byte."""
    pending = b""
    out = bytearray()
    for chunk in chunks:
        data = pending + bytes(chunk)
        index, size = 0, len(data)
        while index < size:
            length = data[index]
            if length == 128:  # end of data
                if out:
                    yield bytes(out)
                return
            if length < 128:
                if index + length + 2 > size:
                    break
                out += data[index + 1 : index + length + 2]
                index += length + 2
            else:
                if index + 2 > size:
                    break
                out += data[index + 1 : index + 2] * (257 - length)
                index += 2
            if len(out) >= _CHUNK:
                yield bytes(out)
                out.clear()
        pending = data[index:]
    if out:
        yield bytes(out)


_LZW_CLEAR: Final = 256
_LZW_END: Final = 257
_LZW_MAX_ENTRIES: Final = 4096  # 12-bit codes


def _lzw(chunks: Iterable[bytes | memoryview], parms: Mapping[str, object]) -> Chunks:
    """LZWDecode with variable-width codes (9 to 12 bits) and /EarlyChange (default 1).

    The table holds at most 4096 entries of at most 4096 bytes each, so it is
    bounded too; only the output is unbounded, and it is handed on in chunks.
    """
    early = 0 if parms.get("/EarlyChange") == 0 else 1
    table = [bytes((value,)) for value in range(256)] + [b"", b""]
    width, bits, count = 9, 0, 0
    previous: bytes | None = None
    out = bytearray()
    done = False
    for chunk in chunks:
        for byte in bytes(chunk):
            bits = (bits << 8) | byte
            count += 8
            if count < width:
                continue
            count -= width
            code = bits >> count
            bits &= (1 << count) - 1
            if code == _LZW_CLEAR:
                del table[258:]
                width, previous = 9, None
                continue
            if code < len(table) and code != _LZW_END:
                entry = table[code]
                if previous is not None and len(table) < _LZW_MAX_ENTRIES:
                    table.append(previous + entry[:1])
            elif code == len(table) and previous is not None:
                entry = previous + previous[:1]
                if len(table) < _LZW_MAX_ENTRIES:
                    table.append(entry)
            else:  # the end code, or one the table cannot have yet (corrupt)
                done = True
                break
            out += entry
            previous = entry
            if len(table) + early >= 1 << width and width < 12:
                width += 1
            if len(out) >= _CHUNK:
                yield bytes(out)
                out.clear()
        if done:
            break
    if out:
        yield bytes(out)


def _ascii_hex(chunks: Iterable[bytes | memoryview], _parms: Mapping[str, object]) -> Chunks:
    """ASCIIHexDecode: pairs of hex digits up to ``>`` (it only shrinks; needed before
    an inflating filter)."""
    carry = b""
    for chunk in chunks:
        data = carry + bytes(chunk).translate(None, _PDF_WHITESPACE)
        end = data.find(b">")
        if end >= 0:
            data = data[:end]
        whole = len(data) - len(data) % 2
        carry = data[whole:]
        try:
            yield binascii.unhexlify(data[:whole])
        except binascii.Error:
            return
        if end >= 0:
            break
    if carry:
        try:
            yield binascii.unhexlify(carry + b"0")
        except binascii.Error:
            return


def _ascii85(chunks: Iterable[bytes | memoryview], _parms: Mapping[str, object]) -> Chunks:
    """ASCII85Decode: groups of five characters up to ``~>`` (it only shrinks too).

    ``z`` stands for four zero bytes, exactly what ``!!!!!`` decodes to, so it is
    replaced by that and every group is five characters long.
    """
    carry = b""
    first = True
    for chunk in chunks:
        data = carry + bytes(chunk).translate(None, _PDF_WHITESPACE)
        if first:
            data = data.removeprefix(b"<~")
            first = False
        end = data.find(b"~")
        if end >= 0:
            data = data[:end]
        data = data.replace(b"z", b"!!!!!")
        whole = len(data) - len(data) % 5
        carry = data[whole:]
        try:
            yield base64.a85decode(data[:whole])
        except ValueError:
            return
        if end >= 0:
            break
    if len(carry) > 1:  # a final partial group of n characters is n - 1 bytes
        try:
            yield base64.a85decode(carry)
        except ValueError:
            return


_STAGES: Final[dict[str, _Stage]] = {
    "/FlateDecode": _inflate,
    "/Fl": _inflate,
    "/LZWDecode": _lzw,
    "/LZW": _lzw,
    "/RunLengthDecode": _run_length,
    "/RL": _run_length,
    "/ASCIIHexDecode": _ascii_hex,
    "/AHx": _ascii_hex,
    "/ASCII85Decode": _ascii85,
    "/A85": _ascii85,
}
_INFLATING: Final = frozenset(
    {"/FlateDecode", "/Fl", "/LZWDecode", "/LZW", "/RunLengthDecode", "/RL"}
)
_IMAGE_CODECS: Final = frozenset(
    {"/DCTDecode", "/DCT", "/JPXDecode", "/CCITTFaxDecode", "/CCF", "/JBIG2Decode"}
)
# Unencrypted documents only reach here (encrypted ones are refused): /Crypt is the identity.
_PASS_THROUGH: Final = frozenset({"/Crypt"})
