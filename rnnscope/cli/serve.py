"""``serve``: the page, as a local server (rnnscope.serving does the work; this only parses)."""
from __future__ import annotations

from pathlib import Path


def cmd_serve(args) -> int:
    from rnnscope.serving import serve          # finds a shipped name or a directory as rs.load does
    return serve(model=args.model, lstmvis=args.lstmvis, port=args.port, address=args.address, show=args.show)


def add_parsers(sub) -> None:
    p = sub.add_parser("serve", help="open the page (a local Panel server)",
                       description="Serve the page: the heatmap, its tracks and the tabs, on this machine.")
    p.add_argument("--model", help="a checkpoint directory or a shipped model's name (default: the shipped GRU-15)")
    p.add_argument("--lstmvis", type=Path, metavar="DIR", help="show an LSTMVis directory's states instead")
    p.add_argument("--port", type=int, default=5006, help="the port (default 5006)")
    p.add_argument("--address", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    p.add_argument("--show", action="store_true", help="open the page in a browser")
    p.set_defaults(func=cmd_serve)
