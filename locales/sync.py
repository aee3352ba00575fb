"""Keep the catalogues in step with the code: extract, merge, and fill English from the ids.

Run through `make locales-update`. English message ids are the English text, so the English
catalogue is filled from them; every other language is listed where it lacks a translation.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POT = HERE / "hdbot.pot"


def _pybabel(*args: str) -> None:
    subprocess.run([str(Path(sys.executable).with_name("pybabel")), *args], check=True, cwd=ROOT)


def main() -> int:
    _pybabel(
        "extract",
        "--mapping-file",
        "babel.cfg",
        "--keywords",
        "N_",
        "--keywords",
        "plural:1,2",
        "--no-location",
        "--sort-output",
        "--project",
        "hdbot",
        "--output-file",
        str(POT.relative_to(ROOT)),
        ".",
    )
    _pybabel(
        "update",
        "--domain",
        "hdbot",
        "--input-file",
        str(POT.relative_to(ROOT)),
        "--output-dir",
        "locales",
        "--no-fuzzy-matching",
        "--ignore-obsolete",
    )
    missing = 0
    for po in sorted(HERE.glob("*/LC_MESSAGES/hdbot.po")):
        with po.open("rb") as fh:
            catalog = read_po(fh)
        language = po.parts[-3]
        for message in catalog:
            if not message.id:
                continue
            plural = isinstance(message.id, tuple | list)
            empty = not all(message.string) if plural else not message.string
            if language == "en" and empty:
                message.string = tuple(message.id) if plural else message.id
            elif empty:
                missing += 1
                print(f"{language}: untranslated: {message.id!r}")
        with po.open("wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
