"""Writing matplotlib figures: laid out, at a fixed resolution, into a folder made on demand."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

DPI = 110


def save_figure(figure: Figure, path: Path) -> Path:
    """Lay the figure out and write it as a PNG; return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return path
