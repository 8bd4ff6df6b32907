"""Models and states from and for elsewhere: ``import torch|keras`` (a checkpoint of a model rnnscope did
not train) and ``store build|labels`` (every state of a corpus in a Zarr store, and labels read from one)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rnnscope.cli.common import (at_least, check_out, emit, heldout_args, load_model, model_arg, output_args,
                                 read_file, runtime)


def import_target_args(p) -> None:
    """What every `rnnscope import FRAMEWORK` takes besides the model: its vocabulary and where to write."""
    p.add_argument("--vocab", type=Path, required=True, metavar="VOCAB.json",
                   help="the characters in index order (a JSON list, or an object character -> index)")
    p.add_argument("-o", "--out", type=Path, required=True, help="the checkpoint directory to write")
    p.add_argument("--force", action="store_true", help="replace a checkpoint already at --out")
    p.add_argument("--heldout", type=Path, metavar="FILE",
                   help="record this UTF-8 text as the model's held-out stream (probe, trace --index, the page "
                        "read it); checked against the vocabulary now")
    p.add_argument("--heldout-range", metavar="START:END",
                   help="with --heldout: only these characters of the file (end exclusive; 1000: or :50000 "
                        "leave a side open)")



def cmd_store_build(args) -> None:
    """Every hidden state of a corpus, read in context, into a Zarr store (Model.build_store): by a Dask
    cluster, by torch's own modules in this process (--device), or read from the start (--one-process)."""
    from rnnscope.api.store import check_new_store
    check_new_store(args.out)       # before the model, the text and the cluster
    device = runtime(argparse.Namespace(device=args.device, threads=None)) if args.device else "cpu"
    m = load_model(args, device=str(device))
    text = read_file(args.corpus) if args.corpus else None
    build = "one-process" if args.one_process else "torch" if args.device else "dask"
    r = m.build_store(args.out, text, build, workers=args.workers, scheduler=args.scheduler, chunk=args.chunk,
                      burn_in=args.burn_in)
    what = f"{r['chars']:,} characters ({m.num_layers} layer(s) x {m.hidden_size} cells)"
    if args.one_process:
        return print(json.dumps(r) if args.json else f"wrote the states of {what} to {args.out}, read in one process")
    if args.json:
        return print(json.dumps(r, indent=1))
    rate = r["chars"] / r["seconds"] if r["seconds"] else float("inf")
    print("\n".join([
        f"wrote the states of {what} to {args.out}: {r['chunks']} chunks of {args.chunk:,}, read as {r['lanes']} "
        f"lanes in {r['tasks']} task(s) " + (f"by {r['by']}" if args.device else f"on {r['workers']} worker(s)") +
        f" in {r['seconds']:.1f} s ({rate:,.0f} chars/s" + ("" if args.device else
                                                            ", the workers' first imports included") + ")",
        f"seams: {r['seams']} checked after a burn-in of {r['burn_in']:,} chars; {r['agreed']} agreed with the true "
        f"state (largest |difference| {r['worst_agreed']:.1e}, tolerance {r['tolerance']:g}), {r['recomputed']} "
        "recomputed from the true state"]))


def cmd_store_labels(args) -> None:
    """Label every cell of a layer from a store's states, read chunk by chunk (Store.labels)."""
    check_out(args)
    m = load_model(args, device="cpu")
    store = m.open_store(args.store)
    m.check_layer(args.layer, "--layer")
    report = store.labels(args.layer)
    emit(args, {"text": "the labels"}, report.to_text, report.to_json)


def cmd_import_torch(args) -> None:
    """A PyTorch model's safetensors state dict -> an rnnscope checkpoint (rnnscope.import_torch)."""
    import rnnscope as rs
    m = rs.import_torch(args.state_dict, args.vocab, args.map, out=args.out, force=args.force,
                        heldout=args.heldout, heldout_range=args.heldout_range)
    dtypes = m.training["imported"]["source_dtypes"]
    note = "" if dtypes == ["float32"] else f" (weights were {', '.join(dtypes)}; stored as float32)"
    print(f"wrote a checkpoint of {m.config.describe()}, imported from {args.state_dict}, to {args.out}{note}"
          + _heldout_note(m))


def _heldout_note(m) -> str:
    held = m.training.get("heldout")
    return "" if not held else f"; held-out text {m.heldout.origin.removeprefix('the held-out text ')} " \
                               f"({len(m.heldout.text):,} characters)"


def cmd_import_keras(args) -> None:
    """A Keras 3 .keras file -> an rnnscope checkpoint (rnnscope.import_keras); Keras not needed."""
    import rnnscope as rs
    m = rs.import_keras(args.file, args.vocab, out=args.out, force=args.force, heldout=args.heldout,
                        heldout_range=args.heldout_range)
    record = m.training["imported"]
    dtypes = record["source_dtypes"]
    notes = ([] if dtypes == ["float32"] else [f"weights were {', '.join(dtypes)}; stored as float32"]) + \
        ([f"zero biases given to {', '.join(record['zero_biases_added_to'])}"] if record["zero_biases_added_to"]
         else [])
    note = f" ({'; '.join(notes)})" if notes else ""
    print(f"wrote a checkpoint of {m.config.describe()}, imported from {args.file}, to {args.out}{note}"
          + _heldout_note(m))


def add_parsers(sub) -> None:
    p = sub.add_parser("import", help="make a checkpoint of a model rnnscope did not train (PyTorch, Keras)")
    frameworks = p.add_subparsers(dest="framework", required=True, metavar="FRAMEWORK")
    t = frameworks.add_parser(
        "torch", help="a model of nn.Embedding (or one-hot) -> nn.GRU/nn.LSTM/nn.RNN -> nn.Linear",
        description="Import a PyTorch character model from its state dict, saved with safetensors (rnnscope never "
                    "unpickles .pt files). --map names the modules in it: {\"cell\": \"gru\"|\"lstm\"|\"rnn\", "
                    "\"nonlinearity\": \"tanh\"|\"relu\" (rnn only), \"embedding\": NAME or null (one-hot input), "
                    "\"rnn\": NAME, \"decoder\": NAME, \"ignore\": [tensor names to leave out]}. Layers, sizes and "
                    "biases are read off the tensors. Refused with the reason: bidirectional modules, an LSTM's "
                    "proj_size, sizes that disagree with the vocabulary. See docs/import-torch.md.")
    t.add_argument("--state-dict", type=Path, required=True, metavar="FILE.safetensors", help="the weights")
    t.add_argument("--map", type=Path, required=True, metavar="MAP.json", help="which tensors are which module")
    import_target_args(t)
    t.set_defaults(func=cmd_import_torch)
    k = frameworks.add_parser(
        "keras", help="a Keras 3 .keras model: [Embedding] -> SimpleRNN/GRU/LSTM layers -> Dense",
        description="Import a Keras 3 character model saved with model.save('m.keras'). Its config.json and "
                    "weights are read as data (json, h5py): no code from the file runs, and Keras need not be "
                    "installed. Kernels are transposed to torch's layout and GRU gates reordered (z, r, h -> r, z, "
                    "n). Refused with the reason: a GRU with reset_after=False, go_backwards, Bidirectional, "
                    "masking, other activations, layers of different kinds or widths, Lambda and custom layers. "
                    "See docs/import-keras.md.")
    k.add_argument("file", type=Path, metavar="FILE.keras", help="the model, as Keras 3's model.save writes it")
    import_target_args(k)
    k.set_defaults(func=cmd_import_keras)

    p = sub.add_parser("store", help="corpus states at scale: build a state store (Dask), label cells from one")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    t = actions.add_parser(
        "build", help="every hidden state of a corpus, read in context, into a Zarr store",
        description="Read the corpus (the model's held-out stream, or --corpus FILE) in context and write every "
                    "hidden state to a Zarr store chunked along time, which match --store and store labels read "
                    "chunk by chunk. Built by a dask.distributed cluster: local worker processes (--workers, "
                    "default one per core) or the scheduler at --scheduler (its workers must see -o at the same "
                    "path). The text is cut into lanes, read side by side on each worker, each after a burn-in "
                    "from the zero state; at every seam its state is compared with the true one the lane before "
                    "computed, and a lane that does not agree is read again from the true state (a model that "
                    "never forgets, e.g. a ReLU counter, is then read sequentially). The counts of seams agreed "
                    "and recomputed are printed and kept in the store. Nothing is written under -o until the "
                    "store is whole.")
    model_arg(t)
    t.add_argument("--corpus", type=Path, help="read this UTF-8 text instead of the held-out stream")
    heldout_args(t)
    cluster = t.add_mutually_exclusive_group()
    cluster.add_argument("--workers", type=at_least(1), help="local worker processes (default: one per core)")
    cluster.add_argument("--scheduler", metavar="ADDR", help="a running Dask scheduler, e.g. tcp://host:8786")
    cluster.add_argument("--one-process", action="store_true",
                         help="no cluster: read the corpus in this process, from its start (the reference build)")
    cluster.add_argument("--device", metavar="DEV",
                         help="no cluster: the lanes read in this process by torch's own modules on DEV (cuda, "
                              "cuda:N or cpu; on a GPU, cuDNN reads tens of thousands of lanes at once)")
    t.add_argument("--chunk", type=at_least(1), default=100_000,
                   help="characters per chunk, for the workers and the store (default 100,000)")
    t.add_argument("--burn-in", type=at_least(0), default=1_000,
                   help="characters read before each lane to reach its true state (default 1,000; lanes are "
                        "at least 4 burn-ins long)")
    t.add_argument("-o", "--out", type=Path, required=True, help="the store directory to write (must not exist)")
    t.add_argument("--json", action="store_true", help="print the build's report as JSON")
    t.set_defaults(func=cmd_store_build)
    t = actions.add_parser(
        "labels", help="label every cell of a layer from a store's states",
        description="The cell labels of rnnscope probe (best explanation per cell: Pearson r for numeric "
                    "annotations, mutual information in bits for categorical ones and rules) over every state "
                    "in the store, read chunk by chunk, never loaded whole. The annotations are those of the "
                    "store's own text, counted from its start.")
    model_arg(t)
    t.add_argument("--store", type=Path, required=True, help="a store written by rnnscope store build (or match)")
    t.add_argument("--layer", type=int, default=0, help="the layer (default 0)")
    heldout_args(t)
    output_args(t, "the labels")
    t.set_defaults(func=cmd_store_labels)

