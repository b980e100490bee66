"""Parses SQL files with sqlglot, each in its dialect, with errors raised (no recovery).

Reads a JSON list of {"dialect": ..., "file": ...} on standard input and prints a JSON list of
{"file": ..., "error": message or null, "statements": count}. Used by test/dialects.test.ts.
"""
import json
import sys

import sqlglot
from sqlglot.errors import ErrorLevel


def main() -> None:
    out = []
    for item in json.load(sys.stdin):
        with open(item["file"], encoding="utf-8") as f:
            sql = f.read()
        try:
            statements = [s for s in sqlglot.parse(sql, read=item["dialect"], error_level=ErrorLevel.RAISE) if s is not None]
            out.append({"file": item["file"], "error": None, "statements": len(statements)})
        except Exception as e:  # noqa: BLE001 - every parser failure is reported to the test
            out.append({"file": item["file"], "error": f"{type(e).__name__}: {e}", "statements": 0})
    json.dump({"sqlglot": sqlglot.__version__, "results": out}, sys.stdout)


if __name__ == "__main__":
    main()
