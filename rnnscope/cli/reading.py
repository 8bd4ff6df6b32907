"""Reading a sequence and writing what the model did: ``trace`` (.npz), ``states`` (LSTMVis's directory)
and ``export`` (the page's heatmap as one offline HTML file), over rnnscope.api's Model.trace."""
from __future__ import annotations

from pathlib import Path

from rnnscope.base.errors import RnnscopeError
from rnnscope.cli.common import (heldout_args, load_model, model_arg, read_text, runtime, runtime_args, sequence_args,
                                 sequence_trace)


def cmd_trace(args) -> None:
    from rnnscope.base.atomic import check_writable
    check_writable(args.out)
    t, what = sequence_trace(load_model(args), args)
    t.raw.save(args.out)     # any suffix, as before (Trace.save asks for .npz or .html)
    views = ", ".join(f"{v}_l{k}" for k in range(t.model.num_layers) for v in t.views)
    print(f"wrote {args.out}: {len(t):,} chars{what}, {views}, probs, annotations {sorted(t.annotations)}")


def cmd_states(args) -> None:
    """Write a sequence's states in another tool's format (today: LSTMVis's directory)."""
    from rnnscope.api.interop import check_lstmvis_out
    check_lstmvis_out(args.out, args.force)     # before the model runs, not after
    if args.chars is not None:
        if args.window is not None:
            raise RnnscopeError("--window goes with --index; --chars N is the window 0 .. N-1 already")
        args.index, args.window = 0, args.chars
    t, what = sequence_trace(load_model(args), args)
    meta = t.to_lstmvis(args.out, force=args.force)
    kinds = "h and c" if "c" in t.views else "h"
    print(f"wrote {args.out} (LSTMVis: lstm.yml, states.hdf5, words.hdf5, words.dict"
          f"{', meta.hdf5' if meta else ''}): {len(t):,} chars{what}, {kinds} of "
          f"{t.model.num_layers} layer(s), meta tracks {meta}")


def cmd_export(args) -> None:
    """The page's heatmap of a sequence as one offline HTML file: rnnscope.api's Trace.save, no page state."""
    import time

    import rnnscope as rs
    from rnnscope.base.atomic import check_writable
    start = time.perf_counter()
    if args.index is None and args.text is None and args.file is None:
        raise RnnscopeError("say which sequence: --text, --file, or --index (with --window)")
    text = read_text(args) if args.index is None else None
    try:
        cells = [int(c) for c in args.cells.split(",") if c.strip()]
    except ValueError:
        raise RnnscopeError(f"--cells takes comma-separated cell numbers, got {args.cells!r}") from None
    if args.device not in ("auto", "cpu"):
        raise RnnscopeError(f"export runs the model through the page's own code, on the CPU; "
                            f"--device {args.device} is not available here (use auto or cpu)")
    runtime(argparse_cpu(args))   # --threads
    if args.from_zero_state and args.index is None:
        raise RnnscopeError("--from-zero-state goes with --index (a held-out window); --text and --file are "
                            "always read from the zero state")
    check_writable(args.out)             # before the model loads and the trace runs
    if args.index is not None and args.index < 0:
        raise RnnscopeError(f"index must be >= 0, got {args.index}")
    rs.Model.check_window(args.window)
    m = load_model(args, device="cpu")
    if text is not None:
        t = m.trace(m.check_text(text))
    else:
        stream = len(m.heldout.text)
        if args.index >= stream:        # the page's own words for a held-out index it cannot show
            raise RnnscopeError(f"held-out index must be 0 .. {stream - 1:,}; got {args.index:,}")
        t = m.trace(index=args.index, window=args.window, from_zero_state=args.from_zero_state)
    path = t.save(args.out, view=args.view, layer=args.layer, order=args.order, cells=cells,
                  hide_separators=args.hide_separators, coloured_cell=args.colour_cell)
    seconds = time.perf_counter() - start
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in {seconds:.2f}s")


def argparse_cpu(args):
    """--threads applied; the device is the CPU whatever --device auto would pick."""
    import argparse
    return argparse.Namespace(device="cpu", threads=args.threads)


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "trace", help="record hidden states, gates and probabilities to .npz",
        description="Record hidden states, gates and next-character probabilities to .npz. The sequence is "
                    "--text, --file (read from the zero state), or --index N --window W: a window of the "
                    "model's held-out stream read in context, i.e. with the state the model holds at N "
                    "after reading the stream from its start (as the app shows it); --from-zero-state reads "
                    "the window from a fresh state instead. Annotations of a held-out window (depth ...) are "
                    "counted from the stream's start.")
    model_arg(p)
    sequence_args(p)
    p.add_argument("-o", "--out", type=Path, required=True, help="output .npz, written atomically")
    runtime_args(p)
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser(
        "states", help="write a sequence's states for another tool (LSTMVis's directory)",
        description="Write the states of a sequence as a directory LSTMVis opens: lstm.yml, states.hdf5 (h, and c "
                    "for an LSTM: T x H per layer), words.hdf5 (1-based character ids), words.dict and meta.hdf5 "
                    "(the annotations as meta tracks). The sequence is --text / --file (from the zero state), "
                    "--index N --window W (a held-out window read in context) or --chars N (the held-out "
                    "stream's first N characters). The directory is written whole, then moved into place.")
    model_arg(p)
    sequence_args(p, heldout_chars=True)
    p.add_argument("--format", choices=["lstmvis"], required=True, help="the format to write")
    p.add_argument("-o", "--out", type=Path, required=True, help="output directory (written atomically)")
    p.add_argument("--force", action="store_true", help="replace an existing LSTMVis directory at -o")
    runtime_args(p)
    p.set_defaults(func=cmd_states)

    p = sub.add_parser("export", help="one standalone HTML heatmap (opens offline), as the app shows it")
    model_arg(p)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--text", help="the sequence itself")
    src.add_argument("--file", type=Path, help="read the sequence from a UTF-8 file")
    src.add_argument("--index", type=int, help="start of a window into the model's held-out stream")
    p.add_argument("--window", type=int, default=100, help="window length for --index (default 100)")
    p.add_argument("--view", default="h", help="h, or a gate: z r n (GRU), i f g o c (LSTM) (default h)")
    p.add_argument("--layer", type=int, default=0, help="which layer to show (default 0)")
    p.add_argument("--order", choices=["index", "depth", "cluster"], default="index",
                   help="cell order: index, depth (|r| with depth) or cluster (similar cells adjacent) (default index)")
    p.add_argument("--cells", default="", help="comma-separated cells to plot as lines, e.g. 4,12")
    p.add_argument("--from-zero-state", action="store_true",
                   help="with --index: read the window from the zero state instead of in context (as the page can)")
    p.add_argument("--hide-separators", action="store_true",
                   help="leave out the separator columns (the grammar's separator; spaces in other text)")
    p.add_argument("--colour-cell", type=int, metavar="CELL",
                   help="also write the text itself, each character's background coloured by this cell")
    p.add_argument("-o", "--out", type=Path, required=True, help="output .html, written atomically")
    heldout_args(p)
    runtime_args(p, device_help="auto | cpu (default auto): the page's code runs the model on the CPU")
    p.set_defaults(func=cmd_export)

