"""Operations the CLI tests load with --ops cli_ops."""

from catenary import operation


@operation("test/explode", inputs=["string"], output="string")
def explode(text: str) -> str:
    """Always fails, to exercise failure handling."""
    raise RuntimeError(f"refusing {text!r}")


@operation("test/shout", inputs=["string"], output="string")
def shout(text: str) -> str:
    """Upper-case a string."""
    return text.upper()
