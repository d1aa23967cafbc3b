"""Helpers over parameter trees: nested dicts and lists of arrays."""

import numpy as np


def tree_map(f, *trees):
    """Apply ``f`` leaf-wise to nested dicts/lists of arrays with the same structure."""
    first = trees[0]
    if isinstance(first, dict):
        return {k: tree_map(f, *(t[k] for t in trees)) for k in first}
    if isinstance(first, list | tuple):
        return [tree_map(f, *(t[i] for t in trees)) for i in range(len(first))]
    return f(*trees)


def tree_leaves(tree):
    """The arrays of a nested container, in a fixed order."""
    if isinstance(tree, dict):
        return [leaf for k in tree for leaf in tree_leaves(tree[k])]
    if isinstance(tree, list | tuple):
        return [leaf for t in tree for leaf in tree_leaves(t)]
    return [tree]


def tree_unflatten(tree, leaves):
    """A container shaped like ``tree`` holding ``leaves`` (in ``tree_leaves`` order)."""
    it = iter(leaves)
    return tree_map(lambda _: next(it), tree)


def tree_copy(tree):
    """A deep copy of the arrays."""
    return tree_map(np.array, tree)
