"""Printing numbers: significant digits that follow the magnitude.

One helper, :func:`fmt_num`, for every number simsched prints (the ``run``
summary, ``check``), so that a microsecond-scale latency in ms (0.134801) prints
as ``0.135`` rather than ``0.13``, and large values keep their integer digits.
"""

from __future__ import annotations

import math


def fmt_num(x: float | None, sig: int = 3, *, decimals: int = 0, trim: bool = False, sign: bool = False) -> str:
    """Format ``x`` with at least ``sig`` significant digits in fixed-point notation.

    Parameters
    ----------
    x : float or None
        The value; None prints as ``-``, NaN as ``nan``, infinities as ``inf``/``-inf``.
    sig : int, default 3
        Significant digits at least (more integer digits are never cut: 1720.44
        with ``sig=3`` prints ``1720``).
    decimals : int, default 0
        Decimal places at least (``decimals=2`` keeps ``11.92`` rather than ``11.9``
        at ``sig=3``), so columns of similar values line up.
    trim : bool, default False
        Drop trailing zeros of the fraction (and a trailing point).
    sign : bool, default False
        Always print the sign (``+0.5``).

    Returns
    -------
    str
        The formatted number; never scientific notation.

    Examples
    --------
    >>> fmt_num(0.134801), fmt_num(1720.44), fmt_num(1720.44, decimals=2), fmt_num(0.0)
    ('0.135', '1720', '1720.44', '0')
    """
    if x is None:
        return "-"
    x = float(x)
    if not math.isfinite(x):
        return f"{x:+}" if sign else f"{x}"
    if sig < 1:
        raise ValueError("sig must be at least 1")
    if x == 0:
        places = decimals
    else:
        # Round first so that 0.09996 at sig=3 counts as 0.1 (one digit fewer).
        magnitude = math.floor(math.log10(abs(float(f"{x:.{sig - 1}e}"))))
        places = max(decimals, sig - 1 - magnitude)
    text = f"{x:+.{places}f}" if sign else f"{x:.{places}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.lstrip("+-") == "0" * len(text.lstrip("+-")) or text.lstrip("+-").strip("0.") == "":
        text = text.replace("-", "+" if sign else "", 1) if text.startswith("-") else text
    return text
