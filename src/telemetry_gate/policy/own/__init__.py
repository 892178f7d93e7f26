"""A product's own switches, read as the product reads them (rank 0 of the policy).

``model``: the ``[[native]]`` declaration; ``places``: where a product's file is (path templates);
``state``: one switch's reading; ``detect``: whether the product is here; ``report``: the readings
folded into decisions. Writing them is ``native/``.
"""
