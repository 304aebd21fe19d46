"""Layer decompression speed: zlib (the standard library) vs ISA-L (`isal`), and zstd, on a layer-like
mix of random and text bytes. Justifies the codec choices of the unpacker and of `docker save`.

    .venv/bin/python -m bench.gzip_codecs [--mb 100]
"""

from __future__ import annotations

import argparse
import gzip
import io
import time
from collections.abc import Callable

from bench.pull_push import layer_tar


def best_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def drain(stream: io.BufferedIOBase | object) -> None:
    while stream.read(1 << 20):  # type: ignore[attr-defined]
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args()
    tar = layer_tar(args.mb << 20, 0)
    zipped = gzip.compress(tar, compresslevel=6)
    size = len(tar) / 1e6
    print(f"layer: {size:.0f} MB, gzip -6 → {len(zipped) / 1e6:.0f} MB")
    zlib_time = best_of(3, lambda: drain(gzip.GzipFile(fileobj=io.BytesIO(zipped))))
    print(f"gunzip zlib  {size / zlib_time:7.0f} MB/s")
    try:
        from isal import igzip
    except ImportError:
        print("isal is not installed")
    else:
        isal_time = best_of(3, lambda: drain(igzip.IGzipFile(fileobj=io.BytesIO(zipped))))
        print(f"gunzip isal  {size / isal_time:7.0f} MB/s  ({zlib_time / isal_time:.1f}x zlib)")
    try:
        import zstandard
    except ImportError:
        print("zstandard is not installed")
    else:
        packed = zstandard.ZstdCompressor(level=3).compress(tar)
        zstd_time = best_of(3, lambda: drain(zstandard.ZstdDecompressor().stream_reader(io.BytesIO(packed))))
        print(f"unzstd       {size / zstd_time:7.0f} MB/s  (zstd -3 → {len(packed) / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
