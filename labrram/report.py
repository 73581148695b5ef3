"""One self-contained HTML page from sections of text, tables and PNG plots (written beside it)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Section:
    """A heading, paragraphs, tables (a header and rows each) and images (paths beside the page)."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[Sequence[str], Sequence[Sequence[Any]]]] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def write_html(path: Path, title: str, sections: list[Section]) -> Path:
    """Write the page; images are referenced by their path relative to it."""
    path = Path(path)
    parts = [
        "<!DOCTYPE html>",
        "<html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:0.8em 0}td,th{border:1px solid #bbb;padding:3px 8px;"
        "text-align:right}th{background:#eee}img{max-width:100%;margin:0.5em 0}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts.extend(f"<p>{html.escape(text)}</p>" for text in section.paragraphs)
        for header, rows in section.tables:
            parts.append("<table><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
            parts.extend("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
            parts.append("</table>")
        for image in section.images:
            relative = Path(image).resolve().relative_to(path.parent.resolve())
            parts.append(f"<img src='{html.escape(str(relative))}' alt='{html.escape(Path(image).stem)}'>")
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
