"""The window's inputs: listing them (saying which one "default" is), showing an outage as soon as
capture stops delivering, and looking for a lost input again by itself until it is back.

The Input picker offers each microphone, "System audio" (what this computer plays: the default
output's monitor, and each other output's by name when there are several) and "Microphone + system
audio" (a meeting, issue #11: the microphone as "You" and the default output as "Others"). System
audio needs a PulseAudio or PipeWire server; without one its entries are absent and the picker's
tooltip says why (a banner too, once, when the remembered choice needed it).

A mixin of ``MainWindow``; the outage poll reads one flag of each capture source through the
engine adapter, so it is cheap enough for a GUI timer.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from ui.engine import (MICROPHONE, NO_MICROPHONE, SOURCE_SPEAKERS, SYSTEM, UserError, list_input_devices,
                       list_monitors)

OUTAGE_POLL_MS = 500  # how soon a lost input shows: at once, not after the reconnect gives up
RESCAN_MS = 3000  # after an input was lost for good: look for it again, by itself
# A picker entry's data: a microphone's is its device name ("" = the system default); these are
# the system-audio entries' (no device is called so).
SYSTEM_AUDIO = "system-audio:"  # + the monitor's source name ("" = the default output's)
MEETING = "microphone+system-audio"
INPUTS = {MICROPHONE: "the microphone", SYSTEM: "the system audio"}  # a meeting's inputs, in messages


def choice_of(data: str | None) -> tuple[str, str]:
    """(capture, monitor) of a picker entry: ("microphone", ""), ("system", name or ""), ("both", "")."""
    data = data or ""
    if data == MEETING:
        return "both", ""
    if data.startswith(SYSTEM_AUDIO):
        return "system", data[len(SYSTEM_AUDIO):]
    return "microphone", ""


class InputActions:
    def refresh_devices(self, rescan: bool = True, quiet: bool = False) -> None:
        combo = self.device_combo
        combo.blockSignals(True)
        combo.clear()
        try:
            devices = list_input_devices(rescan=rescan)
        except UserError as exc:
            devices = []
            if not quiet:
                self.banner.show_message(str(exc))
        self.microphones_found = len(devices)
        default = next((d.name for d in devices if d.is_default), None)  # say which input "default" is
        default = None if default in (None, "default") else default  # ALSA's "default" says nothing more
        combo.addItem(f"System default input ({default})" if default else "System default input", "")
        for device in devices:
            combo.addItem(f"{device.name} ({device.host_api})", device.name)
        # The microphone a meeting uses: the one chosen last, while it is connected.
        wanted = self.settings.input_device
        microphone = combo.findData(wanted) if wanted else 0
        self.meeting_microphone = wanted if microphone > 0 else ""
        why_not = self._add_system_audio(combo, combo.itemText(max(0, microphone)))
        index, notice = self._remembered_input(combo, microphone, why_not)
        if notice and not quiet:
            self.banner.show_message(notice, error=False)
        combo.setCurrentIndex(index)
        combo.view().setMinimumWidth(combo.view().sizeHintForColumn(0) + 24)  # every entry's name whole
        combo.blockSignals(False)

    def _add_system_audio(self, combo, microphone: str) -> str | None:
        """The system-audio entries (the default output's monitor first); why there are none, if none."""
        try:
            monitors = list_monitors()
        except UserError as exc:  # no audio server here (or no client library): one line saying so
            monitors, why_not = [], str(exc)
        else:
            why_not = None if monitors else "the audio server has no output device to take system audio from"
        self.monitors = monitors
        if why_not:
            combo.setToolTip(f"The audio input to caption. No system audio: {why_not}")
            return why_not
        combo.setToolTip("The audio input to caption: a microphone, what this computer plays (System audio), "
                         "or both for a call (Microphone + system audio: lines marked You / Others)")
        monitors = sorted(monitors, key=lambda m: not m.is_default)
        combo.insertSeparator(combo.count())
        for monitor in monitors:
            own = "" if monitor is monitors[0] else monitor.name  # the first follows the default output
            combo.addItem(f"System audio ({monitor.description})", SYSTEM_AUDIO + own)
            combo.setItemData(combo.count() - 1, "What this computer plays: " + (
                f"{monitor.description}" if own else f"the default output ({monitor.description})"), Qt.ToolTipRole)
        combo.addItem("Microphone + system audio", MEETING)
        combo.setItemData(combo.count() - 1, f"Both sides of a call: {microphone} as You, and what this computer "
                          f"plays ({monitors[0].description}) as Others", Qt.ToolTipRole)
        return None

    def _remembered_input(self, combo, microphone: int, why_not: str | None) -> tuple[int, str | None]:
        """The picker entry of the remembered choice, and the notice when it is not there any more."""
        capture, settings = self.settings.capture, self.settings
        fallback = max(0, microphone)
        if capture != "microphone" and why_not:
            if getattr(self, "_system_audio_missing_said", False):
                return fallback, None  # said once: the tooltip keeps saying it
            self._system_audio_missing_said = True
            return fallback, f"{why_not[0].upper()}{why_not[1:]}; captioning {combo.itemText(fallback)} instead."
        if capture == "both":
            index = combo.findData(MEETING)
        elif capture == "system":
            index = combo.findData(SYSTEM_AUDIO + settings.monitor)
            if index < 0 and self.monitors and settings.monitor == next(
                    (m.name for m in self.monitors if m.is_default), None):
                index = combo.findData(SYSTEM_AUDIO)  # the output chosen by name is the default one now
            if index < 0:
                index = combo.findData(SYSTEM_AUDIO)
                return index, (f"System audio '{settings.monitor}' is not available; using "
                               f"{combo.itemText(index)} (the default output) instead.")
        else:
            index = microphone
        if microphone < 0 and capture != "system":
            return (index if capture == "both" else 0), (
                f"Input device '{settings.input_device}' is not connected; using the system default.")
        return index, None

    def input_choice(self) -> tuple[str | None, str | None]:
        """(EngineConfig.input_device, EngineConfig.system_audio) of the picker's entry."""
        capture, monitor = choice_of(self.device_combo.currentData())
        if capture == "system":
            return NO_MICROPHONE, monitor
        microphone = self.meeting_microphone if capture == "both" else self.device_combo.currentData()
        return microphone or None, ("" if capture == "both" else None)

    def is_meeting(self) -> bool:
        return choice_of(self.device_combo.currentData())[0] == "both"

    def meeting_selected(self) -> bool:
        """Whether Start captions the microphone and the system audio at once (not a replay)."""
        return self.is_meeting() and not self.active_replay

    def _name_inputs(self) -> None:
        """A meeting's inputs are named (You / Others, or the names given this session) in the
        transcript, the captions and the level meters; one input has one meter, as before."""
        names = ({sid: self.transcript.source_names.get(sid, SOURCE_SPEAKERS[sid]) for sid in (MICROPHONE, SYSTEM)}
                 if self.meeting_selected() else {})
        self.transcript.name_sources(names)
        self.captions.name_sources(names)
        self.status.set_inputs(names)

    def _input_lost(self, source: str, message: str) -> None:
        """One input of a meeting ended for good (its monitor went away): the other goes on. The
        captions mark where (the next words start a new paragraph)."""
        self.status.input_lost(source)
        self.captions.add_marker(0.0, f"[{INPUTS[source]} was lost here; {message.split('; ')[-1].rstrip('.')}]",
                                 source)
        self.banner.show_message(message)

    def _input_chosen(self) -> None:
        """The user picked an entry: remember it (a microphone is also the one a meeting uses)."""
        capture, monitor = choice_of(self.device_combo.currentData())
        self.settings.capture = capture
        if capture == "microphone":
            self.settings.input_device = self.meeting_microphone = self.device_combo.currentData() or ""
        elif capture == "system":
            self.settings.monitor = monitor
        self._settings_changed()

    def _poll_outage(self) -> None:
        outage = self.controller.input_outage()
        if outage != self.status.outage:
            self.status.set_outage(outage)
            going_on = self.controller.inputs_going_on()
            if outage and going_on:  # one input of a meeting: the other keeps captioning
                self.banner.show_message(f"{outage}: waiting for it to come back (the gap is marked); "
                                         f"{going_on} goes on.")
            elif outage:
                self.banner.show_message(f"{outage}: waiting for it to come back; captioning resumes by itself "
                                         "and the gap is marked.")
            elif "waiting for it to come back" in self.banner.label.text():
                self.banner.hide()  # only the outage notice: the gap's own message may have replaced it

    def _rescan_lost_input(self) -> None:
        if self.controller.running:
            self.rescan_timer.stop()
            return
        self.refresh_devices(rescan=True, quiet=True)
        capture = choice_of(self.device_combo.currentData())[0]
        back = (self.microphones_found > 0 or capture == "system") and (capture == "microphone" or self.monitors)
        if back:  # more than "System default input" (or the monitors): the server is back
            self.rescan_timer.stop()
            self.banner.show_message(f"Audio input is back ({self.device_combo.currentText()}): press Start (Space) "
                                     "to caption again.", error=False)
