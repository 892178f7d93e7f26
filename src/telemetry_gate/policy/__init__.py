"""Who decides: paths, settings, the layers of SPEC 4, manifests, and the gate that combines them."""
