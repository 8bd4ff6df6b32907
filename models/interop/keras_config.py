"""Reading a Keras 3 model's configuration (config.json, or the object's serialisation): its layers as
one chain rnnscope represents — [Embedding], recurrent layers of one kind and width, Dense — each
setting checked, and refused with one line naming the layer and the setting when the model computes
something rnnscope's cells cannot. models/interop/keras_import.py says what is refused and accepted
and why, and turns the chain's weights into a CharRNN."""
from __future__ import annotations

from rnnscope.models.interop.common import ImportRefused

RECURRENT = {"SimpleRNN": "rnn", "GRU": "gru", "LSTM": "lstm"}
FLOAT_POLICIES = ("float32", "float64")
KNOWN_LAYERS = {"InputLayer", "Embedding", "Dropout", "Dense", "TimeDistributed", "Softmax", "Activation", *RECURRENT}
# Layers refused with a reason more useful than "not one of the known layers"
SAYS_WHY = {"Lambda": "it holds Python code, which rnnscope never runs",
            "Bidirectional": "it reads the sequence backwards too; rnnscope's models read left to right only",
            "Masking": "masked steps keep the state unchanged, which rnnscope's cells do not do"}


def model_chain(config: dict, source: str) -> list[dict]:
    """The model's layers in order, InputLayer and Dropout left out, after checking that they form one
    chain rnnscope represents: [Embedding], recurrent layers, Dense."""
    kind = config.get("class_name")
    if kind not in ("Sequential", "Functional") or config.get("registered_name") not in (None, kind):
        raise ImportRefused(f"{source}: the model is a {kind}; rnnscope reads Keras' Sequential and Functional "
                            f"models (a subclassed model is Python code, which rnnscope never runs)")
    layers = config["config"]["layers"]
    for layer in layers:        # first: a Lambda or a mask says more than "not a chain" would
        _check_known(layer, source)
    if kind == "Functional":
        _check_functional_chain(config["config"], source)
    chain = _softmax_into_dense([_unwrapped(layer, source) for layer in layers
                                 if layer["class_name"] not in ("InputLayer", "Dropout")], source)
    kinds = [layer["class_name"] for layer in chain]
    first_rnn = 1 if kinds and kinds[0] == "Embedding" else 0
    rnns = chain[first_rnn:-1]
    if not rnns or kinds[-1] != "Dense" or any(k not in RECURRENT for k in kinds[first_rnn:-1]):
        raise ImportRefused(f"{source}: its layers are {kinds}; rnnscope imports [Embedding,] one or more of "
                            f"SimpleRNN/GRU/LSTM, then Dense")
    for layer in rnns:
        _check_recurrent(layer, source, last=layer is rnns[-1])
    if len({layer["class_name"] for layer in rnns}) > 1 or len({layer["config"]["units"] for layer in rnns}) > 1:
        found = [(name_of(x), x["class_name"], x["config"]["units"]) for x in rnns]
        raise ImportRefused(f"{source}: its recurrent layers (name, kind, units) are {found}; "
                            f"rnnscope's layers are all of one kind and width")
    _check_dense(chain[-1], source)
    return chain


def name_of(layer: dict) -> str:
    return layer["config"].get("name", "?")


def _unwrapped(layer: dict, source: str) -> dict:
    """A TimeDistributed(Dense) as the Dense it wraps (a Dense already applies at every step, so the
    two compute the same), under the wrapper's name -- the one its weights and get_layer go by."""
    if layer["class_name"] != "TimeDistributed":
        return layer
    inner = layer["config"].get("layer", {})
    if inner.get("class_name") != "Dense" or inner.get("module") != "keras.layers" or inner.get("registered_name"):
        raise ImportRefused(f"{source}: TimeDistributed {name_of(layer)!r} wraps a "
                            f"{inner.get('registered_name') or inner.get('class_name')}; rnnscope imports a "
                            f"TimeDistributed only around Keras' own Dense")
    _check_known(inner, source)
    return {**inner, "config": {**inner["config"], "name": name_of(layer)}, "wrapped_in": "TimeDistributed"}


def _softmax_into_dense(chain: list[dict], source: str) -> list[dict]:
    """A Softmax (over the last axis) or Activation("softmax") after the final Dense, as that Dense's own
    softmax: rnnscope's decoder gives logits and turns them into probabilities by one softmax."""
    if not chain or chain[-1]["class_name"] not in ("Softmax", "Activation"):
        for layer in chain:
            if layer["class_name"] in ("Softmax", "Activation"):
                raise ImportRefused(f"{source}: {layer['class_name']} {name_of(layer)!r} is not the last layer; "
                                    f"rnnscope imports a softmax only as the model's output")
        return chain
    last, dense = chain[-1], chain[-2] if len(chain) > 1 else None
    c = last["config"]
    setting = (f"axis={c.get('axis', -1)}" if last["class_name"] == "Softmax" else
               f"activation={c.get('activation')!r}")
    if setting not in ("axis=-1", "axis=[-1]", "activation='softmax'"):
        raise ImportRefused(f"{source}: the model ends in {last['class_name']} {name_of(last)!r} ({setting}); "
                            f"rnnscope's output is a softmax over the characters (the last axis)")
    if dense is None or dense["class_name"] != "Dense" or dense["config"].get("activation") != "linear":
        before = "nothing" if dense is None else f"{dense['class_name']} {name_of(dense)!r}" + (
            f" with activation={dense['config'].get('activation')!r}" if dense["class_name"] == "Dense" else "")
        raise ImportRefused(f"{source}: the final {last['class_name']} {name_of(last)!r} follows {before}; rnnscope "
                            f"imports a softmax only after a Dense without an activation of its own")
    return chain[:-2] + [{**dense, "config": {**dense["config"], "activation": "softmax"}}]


def _check_known(layer: dict, source: str) -> None:
    kind = layer.get("class_name")
    if kind in SAYS_WHY:
        raise ImportRefused(f"{source}: layer {name_of(layer)!r} is a {kind}: {SAYS_WHY[kind]}")
    if kind not in KNOWN_LAYERS or layer.get("module") != "keras.layers" or layer.get("registered_name"):
        raise ImportRefused(f"{source}: layer {name_of(layer)!r} is a {layer.get('registered_name') or kind}; rnnscope "
                            f"imports Keras' own {sorted(KNOWN_LAYERS)} (never code from the file)")
    policy = layer["config"].get("dtype")
    policy = policy.get("config", {}).get("name") if isinstance(policy, dict) else policy
    if kind != "InputLayer" and policy not in FLOAT_POLICIES:
        raise ImportRefused(f"{source}: layer {name_of(layer)!r} computes with dtype policy {policy!r}; rnnscope's "
                            f"float32 trace would not equal it (set the policy to float32 and save again)")
    if kind == "Embedding" and layer["config"].get("mask_zero"):
        raise ImportRefused(f"{source}: Embedding {name_of(layer)!r} has mask_zero=True: masked steps keep the state "
                            f"unchanged, which rnnscope's cells do not do")
    if layer["config"].get("lora_rank") or layer["config"].get("quantization_config"):
        raise ImportRefused(f"{source}: layer {name_of(layer)!r} is LoRA-adapted or quantized; merge or dequantize "
                            f"its weights and save again")


def _check_functional_chain(model: dict, source: str) -> None:
    """Each layer reads exactly the previous layer's only output, without a mask: one straight chain."""
    layers = model["layers"]
    for prev, layer in zip(layers, layers[1:]):
        nodes = layer.get("inbound_nodes", [])
        args = nodes[0].get("args", []) if len(nodes) == 1 else []
        history = args[0].get("config", {}).get("keras_history") if len(args) == 1 and isinstance(args[0], dict) \
            else None
        kwargs = {k: v for k, v in nodes[0].get("kwargs", {}).items() if v is not None} if nodes else {}
        if history != [name_of(prev), 0, 0] or set(kwargs) - {"training"}:
            raise ImportRefused(f"{source}: layer {name_of(layer)!r} does not read just the output of "
                                f"{name_of(prev)!r} (the layer before it); rnnscope imports a straight chain of layers")
    ins, outs = _single(model.get("input_layers")), _single(model.get("output_layers"))
    if ins != [name_of(layers[0]), 0, 0] or outs != [name_of(layers[-1]), 0, 0]:
        raise ImportRefused(f"{source}: the model's inputs {model.get('input_layers')} and outputs "
                            f"{model.get('output_layers')} are not one input into the chain and its last layer")


def _single(refs):
    """Keras writes one input as ['name', 0, 0] or [['name', 0, 0]]."""
    return refs[0] if isinstance(refs, list) and len(refs) == 1 and isinstance(refs[0], list) else refs


def _check_recurrent(layer: dict, source: str, last: bool) -> None:
    c, kind, name = layer["config"], layer["class_name"], name_of(layer)
    allowed = ("tanh", "relu", "linear") if kind == "SimpleRNN" else ("tanh",)
    refusals = [
        (c.get("go_backwards"), "go_backwards=True: it reads the sequence backwards; rnnscope reads left to right"),
        (c.get("activation") not in allowed, f"activation={c.get('activation')!r}; rnnscope's {kind} uses "
                                             f"{' or '.join(allowed)}"),
        (kind != "SimpleRNN" and c.get("recurrent_activation") != "sigmoid",
         f"recurrent_activation={c.get('recurrent_activation')!r}; rnnscope's gates use sigmoid"),
        (kind == "GRU" and not c.get("reset_after", True),
         "reset_after=False: r scales h before the recurrent matmul, which torch's GRU (r applied to W_hh h + b_hh) "
         "cannot compute"),
        (not c.get("return_sequences"), "return_sequences=False: it returns only its last step, so "
                                        + ("the next layer does not read every step" if not last else
                                           "the Dense does not predict a character after every step")),
    ]
    for refused, why in refusals:
        if refused:
            raise ImportRefused(f"{source}: {kind} layer {name!r} has {why}")


def _check_dense(layer: dict, source: str) -> None:
    if layer["config"].get("activation") not in ("softmax", "linear"):
        raise ImportRefused(f"{source}: Dense {name_of(layer)!r} has activation={layer['config'].get('activation')!r}; "
                            f"rnnscope's decoder gives logits (linear) that it turns into probabilities (softmax)")
