"""The window's inputs: listing them (saying which one "default" is), showing an outage as soon as
capture stops delivering, and looking for a lost input again by itself until it is back.

A mixin of ``MainWindow``; the outage poll reads one flag of the capture source through the
engine adapter, so it is cheap enough for a GUI timer.
"""

from __future__ import annotations

from ui.engine import UserError, list_input_devices

OUTAGE_POLL_MS = 500  # how soon a lost input shows: at once, not after the reconnect gives up
RESCAN_MS = 3000  # after an input was lost for good: look for it again, by itself


class InputActions:
    def refresh_devices(self, rescan: bool = True, quiet: bool = False) -> None:
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        try:
            devices = list_input_devices(rescan=rescan)
        except UserError as exc:
            devices = []
            if not quiet:
                self.banner.show_message(str(exc))
        default = next((d.name for d in devices if d.is_default), None)  # say which input "default" is
        default = None if default in (None, "default") else default  # ALSA's "default" says nothing more
        self.device_combo.addItem(f"System default input ({default})" if default else "System default input", "")
        for device in devices:
            self.device_combo.addItem(f"{device.name} ({device.host_api})", device.name)
        wanted = self.settings.input_device
        index = self.device_combo.findData(wanted) if wanted else 0
        if index < 0:
            if not quiet:
                self.banner.show_message(f"Input device '{wanted}' is not connected; using the system default.",
                                         error=False)
            index = 0
        self.device_combo.setCurrentIndex(index)
        self.device_combo.blockSignals(False)

    def _poll_outage(self) -> None:
        outage = self.controller.input_outage()
        if outage != self.status.outage:
            self.status.set_outage(outage)
            if outage:
                self.banner.show_message(f"{outage}: waiting for it to come back; captioning resumes by itself "
                                         "and the gap is marked.")
            elif "waiting for it to come back" in self.banner.label.text():
                self.banner.hide()  # only the outage notice: the gap's own message may have replaced it

    def _rescan_lost_input(self) -> None:
        if self.controller.running:
            self.rescan_timer.stop()
            return
        self.refresh_devices(rescan=True, quiet=True)
        if self.device_combo.count() > 1:  # more than "System default input": the server is back
            self.rescan_timer.stop()
            self.banner.show_message(f"Audio input is back ({self.device_combo.currentText()}): press Start (Space) "
                                     "to caption again.", error=False)
