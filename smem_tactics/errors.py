"""Typed errors. Every error says which input was wrong, what it was, and what is allowed.

The CLI turns any :class:`SmemTacticsError` into a one-line message and a non-zero exit code, so a
user never sees a traceback for bad input.
"""

from __future__ import annotations

from typing import Iterable, Optional


class SmemTacticsError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(SmemTacticsError, ValueError):
    """A configuration field has a value the model does not accept.

    ``field`` names the field (as in the JSON schema), ``value`` is what was given and
    ``allowed`` describes what is accepted.
    """

    def __init__(self, field: str, value: object, allowed: str | Iterable[str], detail: str = ""):
        self.field = field
        self.value = value
        if not isinstance(allowed, str):
            allowed = ", ".join(str(a) for a in allowed)
        self.allowed = allowed
        self.detail = detail
        msg = f"{field}: {value!r} is not accepted"
        if detail:
            msg += f" ({detail})"
        msg += f"; allowed: {allowed}"
        super().__init__(msg)


class UnsupportedConfigError(SmemTacticsError, ValueError):
    """CUTLASS itself rejects this combination of otherwise valid fields.

    ``reason`` says why in our words; ``cutlass_message`` quotes the static_assert (or the
    missing specialization) CUTLASS reports for it, so the two can be matched.
    """

    def __init__(self, field: str, reason: str, cutlass_message: str = "", device_only: bool = False):
        self.field = field
        self.reason = reason
        self.cutlass_message = cutlass_message
        self.device_only = device_only  # the assert fires only when device code is compiled
        msg = f"{field}: {reason}"
        if cutlass_message:
            msg += f' [CUTLASS: "{cutlass_message}"' + (", in the device compile" if device_only else "") + "]"
        super().__init__(msg)


class VersionError(SmemTacticsError, ValueError):
    """A CUTLASS (or framework) version the model does not know."""


class CutlassTreeError(SmemTacticsError):
    """A CUTLASS include tree could not be found or is unusable."""


class DeviceError(SmemTacticsError):
    """A GPU name or arch that the offline device table does not know."""


class ProbeError(SmemTacticsError):
    """The compiled oracle could not be built or run at all (as opposed to one config failing)."""


def one_of(values: Iterable[object]) -> str:
    """Format the allowed values of a field for an error message."""
    return ", ".join(repr(v) if not isinstance(v, str) else v for v in values)


def optional(value: Optional[object]) -> str:
    return "none" if value is None else str(value)
