"""Dumps Tests/SupportTests/Fixtures/json_styles.json: how Python's json module writes a few values in each layout
Support's JSONWriter offers (json.dumps defaults, ensure_ascii off, indent, sort_keys, the compact separators
serde_json's to_string uses, and indent=2 without ensure_ascii, which is serde_json's to_string_pretty).

Standard library only: python3 reference/make_json_fixtures.py
Each case holds the input as JSON text (numbers in Python's own spelling, so keeping a number's text and
re-spelling it agree), the json.dumps keyword arguments, and the text json.dumps returned.
"""
import json
import pathlib
import sys

INPUTS = {
    "scalars": '[null, true, false, 0, -7, 1.5, -0.0, 1e-05, 1e+16, 0.1, 12345678901234567890, 9007199254740993]',
    "strings": '["plain", "quote \\" backslash \\\\ slash /", "\\n\\r\\t\\b\\f", "\\u0001\\u001f\\u007f", '
               '"é ü ß", "\\u2028\\ufeff", "😀 \\ud83e\\udd16", ""]',
    "nested": '{"b": 1, "a": [1.5, null, true, "é\\"\\n"], "empty_list": [], "empty_object": {}, '
              '"deep": {"z": [[], [{}]], "y": {"x": "w"}}}',
    "keys": '{"b": 0, "a": 1, "é": 2, "Z": 3, "\\uffff": 4, "😀": 5, "a\\u0000": 6, "": 7, "10": 8, "9": 9}',
}

STYLES = {
    "python": {},
    "python_unicode": {"ensure_ascii": False},
    "python_indent2": {"indent": 2},
    "python_indent_tab_sorted": {"indent": "\t", "sort_keys": True},
    "python_sorted_unicode": {"sort_keys": True, "ensure_ascii": False},
    "serde_compact": {"separators": (",", ":"), "ensure_ascii": False},
    "serde_pretty": {"indent": 2, "ensure_ascii": False},
}

cases = []
for input_name, text in INPUTS.items():
    value = json.loads(text)
    for style_name, kwargs in STYLES.items():
        cases.append({"input": input_name, "style": style_name, "expected": json.dumps(value, **kwargs)})

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/SupportTests/Fixtures/json_styles.json"
out.write_text(json.dumps({"python": sys.version.split()[0], "inputs": INPUTS, "cases": cases}, indent=1,
                          ensure_ascii=True) + "\n")
print(f"wrote {len(cases)} cases to {out}")
