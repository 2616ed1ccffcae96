"""Print the readable content of an executed notebook (markdown cells and outputs) — for reviewing reports."""
import sys

import nbformat

nb = nbformat.read(sys.argv[1], as_version=4)
for c in nb.cells:
    if c.cell_type == "markdown":
        print(c.source)
        continue
    for o in c.get("outputs", []):
        if o.output_type == "error":
            print("ERROR", o.ename, o.evalue)
            print("\n".join(o.traceback[-4:])[-2000:])
        elif o.output_type == "stream":
            print("STREAM", o.text[:500])
        elif "text/markdown" in o.get("data", {}):
            print(o["data"]["text/markdown"])
        elif "image/png" in o.get("data", {}):
            print("[image]")
