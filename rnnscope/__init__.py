"""The rnnscope command line (``rnnscope --help``)."""
