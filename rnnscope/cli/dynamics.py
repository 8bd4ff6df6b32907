"""``rnnscope dynamics``: the fixed points of the network's update for each input character, linearised,
and the report page drawing them on a PCA of held-out states with a sequence's trajectory
(Model.fixed_points, Model.dynamics_html); a thin shell over rnnscope.api."""
from __future__ import annotations

from rnnscope.base.errors import RnnscopeError
from rnnscope.base.heldout_defaults import DYNAMICS_CHARS
from rnnscope.cli.common import (at_least, check_out, emit, held_chars_arg, load_model, model_arg, output_args,
                                 runtime_args, say_whole_stream)


def cmd_dynamics(args) -> None:
    check_out(args, has_html=True)
    m = load_model(args)
    m.check_layer(args.layer, "--layer")
    if args.window < 1:
        raise RnnscopeError(f"--window must be at least 1, got {args.window}")
    say_whole_stream(m, args.chars, DYNAMICS_CHARS)
    shown = m.trace(args.text) if args.text is not None else m.trace(index=args.index, window=args.window)
    report = m.fixed_points(args.inputs, args.starts, args.random_starts, args.chars, args.seed, args.q_tol,
                            args.slow_q, args.dedupe_tol, args.max_iter)
    emit(args, {"text": "the fixed points", "json": "the numbers", "html": "the report"}, report.to_text,
         report.to_json, lambda: m.dynamics_html(report, args.layer, shown, args.chars, args.colour_by))


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "dynamics", help="fixed points of the network's update for each input character, with their eigenvalues",
        description="Fixed points (Sussillo & Barak 2013): for each input character x, minimise "
                    "q(s) = 1/2 ||F(s, x) - s||^2, F one step of the whole network (every layer; an LSTM's state is h "
                    "and c), from --starts states read in context on the first --chars held-out characters and "
                    "--random-starts random ones, by Levenberg-Marquardt with autograd Jacobians in float64, on "
                    "the CPU (--device only loads the model). "
                    "q <= --q-tol is a fixed point, up to --slow-q a slow point; points within --dedupe-tol are one. "
                    "Each is linearised: the Jacobian's eigenvalues, stable (every |eig| < 1) or not, time constants "
                    "-1/ln|eig|. -o FILE.html draws them on a PCA of layer --layer's held-out states (coloured by "
                    "--colour-by) with the trajectory of --text or the held-out window --index/--window. "
                    "The schema of --json is in docs/dynamics-json.md.")
    model_arg(p)
    p.add_argument("--inputs", help="the input characters to search, e.g. ' ()' (default: the whole vocabulary of a "
                                    "grammar model; a text model's 16 most frequent held-out characters)")
    p.add_argument("--starts", type=at_least(0), default=256,
                   help="starting states drawn from the held-out states read in context (default 256)")
    p.add_argument("--random-starts", type=at_least(0), default=32,
                   help="starting states drawn uniformly from the box the held-out states span (default 32)")
    held_chars_arg(p, 10, DYNAMICS_CHARS, "read in context for the starts and the projection")
    p.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    p.add_argument("--q-tol", type=float, default=1e-12, help="q at most this is a fixed point (default 1e-12)")
    p.add_argument("--slow-q", type=float, default=1e-6, help="q at most this is a slow point (default 1e-6)")
    p.add_argument("--dedupe-tol", type=float, default=1e-3,
                   help="points closer than this (Euclidean) are one (default 0.001)")
    p.add_argument("--max-iter", type=at_least(1), default=200,
                   help="Levenberg-Marquardt iterations per start at most (default 200)")
    p.add_argument("--layer", type=int, default=0, help="the layer the report's projection shows (default 0)")
    p.add_argument("--colour-by", default="default",
                   help="the annotation colouring the report's held-out states (default: depth for a grammar model, "
                        "none for text)")
    p.add_argument("--text", help="the report's trajectory: this sequence, read from the zero state "
                                  "(default: a held-out window, --index / --window)")
    p.add_argument("--index", type=at_least(0), default=0,
                   help="start of the held-out window whose trajectory the report shows, read in context (default 0)")
    p.add_argument("--window", type=int, default=200, help="its length (default 200)")
    output_args(p, "the fixed points", html="the report (one offline file)")
    runtime_args(p)
    p.set_defaults(func=cmd_dynamics)
