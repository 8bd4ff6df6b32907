"""The corpus state store: every hidden state of a long text, read in context, in a Zarr store chunked along
time; built by Dask workers (lanes read side by side) or by torch on one device."""
