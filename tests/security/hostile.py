"""Request bodies an attacker would send: (name, bytes, content type)."""

JSON = "application/json"
HOSTILE: list[tuple[str, bytes, str]] = [
    ("100k-deep arrays", b"[" * 100_000 + b"]" * 100_000, JSON),
    ("objects 100 deep", b'{"name":' * 100 + b"1" + b"}" * 100, JSON),
    ("NaN", b'{"name": NaN}', JSON),
    ("Infinity", b'{"name": Infinity}', JSON),
    ("-Infinity", b'{"name": -Infinity}', JSON),
    ("a number too large to be finite", b'{"name": 1e999}', JSON),
    ("an integer of 5000 digits", b'{"name": ' + b"9" * 5000 + b"}", JSON),
    ("a lone surrogate in a value", b'{"name": "\\ud800"}', JSON),
    ("a lone surrogate in a key", b'{"\\udfff": "x"}', JSON),
    ("bytes that are not UTF-8", b'{"name": "\xff\xfe"}', JSON),
    ("10 MB", b'{"name": "' + b"a" * 10_000_000 + b'"}', JSON),
    ("JSON sent as text/plain", b'{"name": "plain"}', "text/plain"),
    ("a form", b"name=form", "application/x-www-form-urlencoded"),
    ("text that is not JSON", b"{name: not json", JSON),
]
