"""Writes a block of results into bench/README.md between two markers (<!-- NAME:begin --> and
<!-- NAME:end -->), for the bench scripts' table writers."""
import os
import sys


def write(name, block):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md")
    text = open(path).read()
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        open(path, "w").write(head + begin + "\n" + block + "\n" + end + tail)
        print(f"(written into {path})", file=sys.stderr)
    else:
        print(f"(no {name} markers in {path}: not written)", file=sys.stderr)
