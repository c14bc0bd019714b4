"""The one exception type users see: bad input, named field, allowed values."""


class LayerlapseError(ValueError):
    """A user error: the message names the field, the value and what is allowed.

    The CLI prints it on one line without a traceback and exits non-zero.
    """


def choice_error(field: str, value: object, allowed: "list[str] | tuple[str, ...]") -> LayerlapseError:
    """Build the standard 'unknown value' error for a field with a fixed set of choices."""
    return LayerlapseError(f"{field}: unknown value {value!r}; allowed: {', '.join(allowed)}")


def range_error(field: str, value: object, allowed: str) -> LayerlapseError:
    """Build the standard 'out of range' error; NaN, which compares false with every bound,
    is called what it is: ``fps: nan is not a number; allowed: 0 < fps <= 240``."""
    what = "is not a number" if isinstance(value, float) and value != value else "is out of range"
    return LayerlapseError(f"{field}: {value!r} {what}; allowed: {allowed}")
