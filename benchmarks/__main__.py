"""``python -m benchmarks [--scale N] [--database URL] [--quick]``.

Without ``--database`` the run uses a fresh SQLite file under ``var/bench/sqlite``;
with a PostgreSQL URL it creates a database ``bench`` on that server and drops
it at the end. See the README's "Performance" section.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import contactbook
from benchmarks import dispatch, lists, report, uploads, writes
from benchmarks.target import RawDb, Target
from benchmarks.world import NOW, World, stages_for
from contactbook import PostStatus
from contactbook.testing import FastPasswordHasher, MovableClock

GROUPS = ("growth", "lists", "writes", "dispatch", "uploads")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scale", type=int, help="posts to generate (default 10000; quick 5000)")
    parser.add_argument(
        "--database", help="SQLAlchemy URL (PostgreSQL: a database 'bench' is made)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (make bench)")
    parser.add_argument("--repeat", type=int, help="timed calls per list measurement")
    parser.add_argument("--work", type=Path, default=Path("var/bench"), help="scratch folder")
    parser.add_argument(
        "--output",
        type=Path,
        help="results file (default benchmarks/results/<backend>.json; --quick: "
        "var/bench/<backend>-quick.json)",
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=GROUPS, help="groups to leave out")
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    parser.add_argument("--note", default="", help="a note stored with the results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    scale = args.scale or (5_000 if args.quick else 10_000)
    list_repeat = args.repeat or (40 if args.quick else 300)
    write_repeat = 20 if args.quick else 150
    growth_repeat = max(20, list_repeat // 2)
    mails, rounds = (50, 2) if args.quick else (300, 5)
    upload_probes = 1 if args.quick else 7  # single runs swing with page-cache state
    target = Target.from_option(args.database, args.work)
    began = time.perf_counter()
    print(f"contactbook benchmarks: {target.backend}, {scale:,} posts")
    target.create()
    # The library's code is what was imported now: describe the sources at the start.
    described = report.machine(target.server_version(), target.backend)
    loader = target.loader_engine()
    world = World(loader, scale)
    raw = RawDb(target.engine())
    book = contactbook.open(
        database=target.url_text,
        files=str(target.files),
        mail="memory://",
        clock=MovableClock(NOW),
        hasher=FastPasswordHasher(),
    )
    results: list[dict[str, Any]] = []
    growth: list[dict[str, Any]] = []
    try:
        facts = world.load_people()
        for stage in stages_for(scale):
            world.load_posts_to(stage)
            if "growth" in args.skip:
                continue
            case = lists.queue_case(
                book, raw, facts, name="growth", facility=None, status=PostStatus.APPROVED, page=1
            )
            timings = lists.timed_case(case, growth_repeat)
            growth.append(
                {
                    "posts": stage,
                    "library": timings["library"].as_dict(),
                    "raw": timings["raw"].as_dict(),
                    "details": case.details,
                }
            )
            p50 = timings["library"].p50 * 1e3
            print(f"  queue page at {stage:,} posts: library p50 {p50:.2f} ms")
        world.load_notices_and_messages()
        load_seconds = time.perf_counter() - began
        print(f"world ready in {load_seconds:.0f} s")
        if "lists" not in args.skip:
            print("lists …")
            results += lists.measure_lists(lists.list_cases(book, raw, facts), list_repeat)
        grants = facts.free_grants()
        if "writes" not in args.skip:
            print("publish and approve …")
            results += writes.measure_writes(book, raw, facts, grants, write_repeat)
        if "dispatch" not in args.skip:
            print("dispatch …")
            results += dispatch.measure_dispatch(
                target, world, raw, NOW, mails=mails, rounds=rounds
            )
        if "uploads" not in args.skip:
            print("uploads …")
            results += uploads.measure_uploads(
                target.url_text,
                target.files,
                args.work / "assets",
                facts.free_grants(facts.documents_facility),
                facts.free_grants(facts.busiest),
                repeat=upload_probes,
            )
        checks = report.check_targets(target.backend, results, growth)
        title = f"contactbook on {target.backend}, {scale:,} posts"
        report.print_table(title, results, growth, checks)
        output = args.output or (
            args.work / f"{target.backend}-quick.json"  # never over the committed results
            if args.quick
            else Path(__file__).parent / "results" / f"{target.backend}.json"
        )
        report.write_json(
            output,
            {
                "backend": target.backend,
                "scale": scale,
                "quick": args.quick,
                "note": args.note,
                "machine": described,
                "repetitions": {
                    "lists": list_repeat,
                    "writes": write_repeat,
                    "growth": growth_repeat,
                    "dispatch_rounds": rounds,
                    "dispatch_mails": mails,
                    "upload_probes": upload_probes,
                },
                "world": {
                    "rows": dict(facts.counts),
                    "load_seconds": {k: round(v, 1) for k, v in facts.load_seconds.items()},
                    "busiest_facility": facts.busiest,
                },
                "targets": [check.as_dict() for check in checks],
                "results": results,
                "growth": growth,
                "markdown": report.markdown_table(results, growth),
                "total_seconds": round(time.perf_counter() - began, 1),
            },
        )
        print(f"wrote {output}")
    finally:
        book.close()
        raw.close()
        loader.dispose()
        if not args.keep:
            target.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
