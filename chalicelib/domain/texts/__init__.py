"""The versioned texts a founder accepts: establishment rules and secretary covenant, as data files.

Each version of each text is a pair of Markdown files in this folder, `{kind}.v{N}.zh.md` (the text
in force) and `{kind}.v{N}.en.md` (its English translation). A new version is a new pair of files:
the bootstrap publishes every version not yet stored, and the highest one is then in force.
Published versions are never changed (a founder's acceptance points at one); fix a text by adding
a version.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

KINDS = ("rules", "covenant")
_FILE = re.compile(r"^(rules|covenant)\.v([1-9][0-9]{0,3})\.(zh|en)\.md$")


@dataclass(frozen=True)
class Text:
    kind: str
    version: int
    zh: str
    en: str

    @property
    def combined(self) -> str:
        """The text as served: the Chinese text in force, then its English translation."""
        return f"{self.zh.strip()}\n\n---\n\n{self.en.strip()}\n"

    @property
    def digest(self) -> str:
        """SHA-256 of the combined text, recorded with each acceptance."""
        return hashlib.sha256(self.combined.encode("utf-8")).hexdigest()


def load_texts() -> list[Text]:
    """Every version of every text in this folder, oldest first; a version lacking a language is an error."""
    from importlib import resources

    found: dict[tuple[str, int], dict[str, str]] = {}
    for entry in resources.files(__name__).iterdir():
        m = _FILE.match(entry.name)
        if m:
            found.setdefault((m.group(1), int(m.group(2))), {})[m.group(3)] = entry.read_text(
                encoding="utf-8"
            )
    texts = []
    for (kind, version), langs in sorted(found.items()):
        if set(langs) != {"zh", "en"}:
            raise ValueError(f"{kind} version {version} needs both a .zh.md and a .en.md file")
        texts.append(Text(kind=kind, version=version, zh=langs["zh"], en=langs["en"]))
    for kind in KINDS:
        if not any(t.kind == kind for t in texts):
            raise ValueError(f"no version of the {kind} text")
    return texts
