"""``livecaption devices``: the microphones and the system-audio monitors this machine offers."""

from __future__ import annotations

import argparse
import json
import sys


def register(commands) -> None:
    devices = commands.add_parser("devices", help="list microphones and system-audio monitors")
    devices.add_argument("--json", action="store_true",
                         help="print a JSON list of {id, name, kind: input|monitor, default} for scripts")
    devices.set_defaults(func=run_devices)


def run_devices(args: argparse.Namespace) -> int:
    from livecaption.audio.pulse import list_monitors
    from livecaption.audio.sources import list_input_devices
    from livecaption.errors import UserError

    inputs = list_input_devices()
    try:
        monitors, unavailable = list_monitors(), None
    except UserError as exc:  # no audio server: the microphones are still worth listing
        monitors, unavailable = [], str(exc)
    if args.json:
        listing = [{"id": d.index, "name": d.name, "kind": "input", "default": d.is_default} for d in inputs]
        listing += [{"id": m.name, "name": m.description, "kind": "monitor", "default": m.is_default} for m in monitors]
        print(json.dumps(listing, indent=2, ensure_ascii=False))
    else:
        print("Microphones")
        print("index  default  channels  rate     host API        name")
        for d in inputs:
            print(f"{d.index:>5}  {'*' if d.is_default else ' ':^7}  {d.channels:>8}  {int(d.default_rate):>6}  "
                  f"{d.host_api[:14]:<14}  {d.name}")
        print("\nSystem audio")
        if monitors:
            width = max(len(m.name) for m in monitors)
            print(f"default  {'source':<{width}}  description")
            for m in monitors:
                print(f"{'*' if m.is_default else ' ':^7}  {m.name:<{width}}  {m.description}")
        else:
            print("(unavailable)" if unavailable else "(none: the audio server has no output devices)")
    if unavailable is not None:
        print(f"livecaption: notice: system audio unavailable: {unavailable}", file=sys.stderr)
    return 0
