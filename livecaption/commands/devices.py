"""``livecaption devices``: the audio inputs this machine offers."""

from __future__ import annotations

import argparse


def register(commands) -> None:
    devices = commands.add_parser("devices", help="list audio input devices")
    devices.set_defaults(func=run_devices)


def run_devices(args: argparse.Namespace) -> int:
    from livecaption.audio.sources import list_input_devices

    devices = list_input_devices()
    print("index  default  channels  rate     host API        name")
    for d in devices:
        print(f"{d.index:>5}  {'*' if d.is_default else ' ':^7}  {d.channels:>8}  {int(d.default_rate):>6}  "
              f"{d.host_api[:14]:<14}  {d.name}")
    return 0
