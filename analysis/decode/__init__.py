"""What a layer carries, read by linear probes: the probes beside their references, the all-in-one probing pass
and its HTML report, decoder weights, and depth generalisation."""
