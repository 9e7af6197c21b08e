"""Memory a worker's rescore memo (app/scoring/memo.py) takes per remembered address.

Fills a memo with ``--addresses`` entries of ``--stamps`` counted stamps each, as the scoring
service would (a new address string per request, ten provider names shared by every address), and
prints what the entries and their keys hold in memory (tracemalloc), per address. ``--root`` measures
another checkout's memo (e.g. a worktree of the code before a change), with this virtualenv:

    python bench/memo_bytes.py [--addresses 10000] [--stamps 10] [--root /tmp/base]
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import tracemalloc
from datetime import datetime, timedelta, timezone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--stamps", type=int, default=10)
    parser.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    from app.scoring.dedup import Candidate
    from app.scoring.memo import RescoreMemo

    class Community:
        id = 7
        config = "ab" * 16  # the hex digest of a scorer's configuration

    providers = [f"Provider{i}Name" for i in range(args.stamps)]
    expiry = datetime(2027, 1, 1, tzinfo=timezone.utc)
    counted = [[Candidate(n * args.stamps + i, providers[i], 0, (), expiry + timedelta(days=i, microseconds=n),
                          "", ()) for i in range(args.stamps)] for n in range(args.addresses)]
    memo = RescoreMemo(args.addresses)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n, stamps in enumerate(counted):
        memo.remember(Community, "0x" + format(n, "040x"), 1, format(n, "032x"), n + 1, stamps)
    held = tracemalloc.get_traced_memory()[0] - before
    print(f"{args.root}: {len(memo)} addresses of {args.stamps} stamps remembered, "
          f"{held / len(memo):.0f} bytes each ({held / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
