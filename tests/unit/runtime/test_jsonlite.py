"""wharf.runtime.jsonlite writes and reads what the json module does, through `_json` alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wharf.runtime import jsonlite

SAMPLES = [
    {"a": 1, "b": [1, 2, {"c": None, "d": True, "e": False}], "é": "quote\"and\\back\nslash", "f": 1.5,
     "g": {}, "h": [], "big": 2**63 - 1, "neg": -1},
    [], {}, "text", 3, [{"x": []}],
]


@pytest.mark.parametrize("value", SAMPLES)
def test_same_text_as_json(value: object) -> None:
    assert jsonlite.dumps(value) == json.dumps(value)
    assert jsonlite.dumps(value, indent=2) == json.dumps(value, indent=2)
    assert jsonlite.dumps(value, indent="\t") == json.dumps(value, indent="\t")
    assert jsonlite.dumps(value, compact=True) == json.dumps(value, separators=(",", ":"))
    assert jsonlite.loads(json.dumps(value)) == value
    assert jsonlite.loads("\n " + json.dumps(value, indent=4) + " \n") == value
    assert jsonlite.loads(json.dumps(value).encode()) == value


@pytest.mark.parametrize("text", ["", "{", "{not json", "{}x", "[1,]", "nul", '"open'])
def test_syntax_errors_are_value_errors_even_before_json_is_imported(text: str) -> None:
    # _json only raises its error class once json.decoder is imported: check from a fresh interpreter
    src = str(Path(jsonlite.__file__).parents[2])
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from wharf.runtime import jsonlite\n"
            "try:\n    jsonlite.loads(sys.argv[2])\nexcept ValueError as err:\n    print(type(err).__name__, err)\n")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, src, text], capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("JSONDecodeError "), out
    with pytest.raises(ValueError):
        jsonlite.loads(text)
