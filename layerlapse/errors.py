"""The one exception type users see: bad input, named field, allowed values."""


class LayerlapseError(ValueError):
    """A user error: the message names the field, the value and what is allowed.

    The CLI prints it on one line without a traceback and exits non-zero.
    """


def choice_error(field: str, value: object, allowed: "list[str] | tuple[str, ...]") -> LayerlapseError:
    """Build the standard 'unknown value' error for a field with a fixed set of choices."""
    return LayerlapseError(f"{field}: unknown value {value!r}; allowed: {', '.join(allowed)}")
