"""Lookout's PromQL: parse (``ast``), evaluate (``engine`` with ``functions``,
``range_functions``, ``aggregations``, ``binary`` over the step-wise values of
``values``), read storage (``storage``). ``model`` holds the types they share."""
