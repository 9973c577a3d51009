"""``registry serve`` for the benchmark, optionally on uvloop and/or under cProfile.

``python -m bench.server [--uvloop] [--profile FILE]`` runs exactly what ``registry serve``
runs (``registry_cli.main.app`` with the ``serve`` command), with two opt-in changes:

* ``--uvloop``: ``asyncio.run`` gets a uvloop event loop. ``registry serve`` calls
  ``asyncio.run(serve(...))`` and then ``uvicorn.Server.serve()`` inside that loop, so
  uvicorn's ``loop="auto"`` (uvloop) is never applied: the stock command runs on the
  default asyncio loop (httptools *is* used, as ``http="auto"`` is resolved by
  ``Config.load``).
* ``--profile FILE``: cProfile the main thread (it runs the API, the processor and the
  projector) between SIGUSR1 (start) and SIGUSR2 (stop and write FILE), so start-up and
  imports stay out of the figures. The benchmark sends both around its measured load.
"""

from __future__ import annotations

import argparse
import cProfile
import signal
import sys
from types import FrameType


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.server")
    parser.add_argument("--uvloop", action="store_true", help="run on a uvloop event loop")
    parser.add_argument("--profile", metavar="FILE", help="write cProfile stats to FILE")
    args = parser.parse_args(argv)

    if args.uvloop:
        import uvloop

        uvloop.install()

    from registry_cli.main import app

    if args.profile:
        current = [cProfile.Profile()]
        path = str(args.profile)

        def start(_sig: int, _frame: FrameType | None) -> None:
            current[0] = cProfile.Profile()  # each load phase gets its own stats
            current[0].enable()

        def stop(_sig: int, _frame: FrameType | None) -> None:
            current[0].disable()
            current[0].dump_stats(path)

        signal.signal(signal.SIGUSR1, start)
        signal.signal(signal.SIGUSR2, stop)
    app(["serve"], standalone_mode=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
