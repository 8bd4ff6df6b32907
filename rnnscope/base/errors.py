"""Errors a user can cause, each with a message that names the problem (the CLI prints it as one line)."""


class RnnscopeError(ValueError):
    """Bad input from a user: a file, a sequence, a setting."""


class CheckpointError(RnnscopeError):
    """A checkpoint that is missing, corrupt or does not match its own config."""


class TrainingDiverged(RnnscopeError):
    """A training or held-out loss that is NaN or infinite: the run stops, nothing non-finite is saved."""


class UnknownCharacters(RnnscopeError):
    """Text with characters outside a model's vocabulary; ``.found`` lists (position, char)."""

    def __init__(self, found: list[tuple[int, str]], vocab: list[str]):
        self.found = found
        shown = ", ".join(f"{ch!r} at {pos}" for pos, ch in found[:10])
        more = f" and {len(found) - 10} more" if len(found) > 10 else ""
        super().__init__(f"{len(found)} character(s) not in the model's vocabulary {''.join(vocab)!r}: {shown}{more}")
