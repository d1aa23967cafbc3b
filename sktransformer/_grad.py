"""Reverse-mode gradients of a loss over a nested dict of parameter arrays.

``autograd.value_and_grad`` boxes a dict of parameters as one container:
every ``params["key"]`` lookup is then a traced operation whose backward pass
builds zeros for the whole container, which cost more than the Transformer's
own arithmetic on small models (profiled: ~45% of a training step). Here
each parameter array is boxed on its own, on one trace, and a single
backward pass collects the gradient of every leaf. Same autograd primitives
and VJPs, no container nodes.
"""

from autograd.core import VJPNode, add_outgrads
from autograd.tracer import isbox, new_box, toposort, trace_stack

from ._tree import tree_leaves, tree_map, tree_unflatten


def value_and_grad_tree(fun):
    """``fun(params, *args) -> scalar`` to ``(value, grads)``; grads mirror ``params``."""

    def value_and_grads(params, *args):
        leaves = tree_leaves(params)
        with trace_stack.new_trace() as trace:
            roots = [VJPNode.new_root() for _ in leaves]
            boxed = tree_unflatten(params, [new_box(x, trace, r) for x, r in zip(leaves, roots, strict=True)])
            end = fun(boxed, *args)
            if not (isbox(end) and end._trace == trace):
                return end, tree_map(lambda x: x * 0, params)
            grads = _backward(end._node, roots)
            value = end._value
        return value, tree_unflatten(params, [
            grads.get(id(r), leaf * 0) for r, leaf in zip(roots, leaves, strict=True)
        ])

    return value_and_grads


def _backward(end_node, roots):
    """Backward pass from a scalar output; returns {id(root node): gradient}."""
    root_ids = {id(r) for r in roots}
    outgrads = {end_node: (1.0, False)}
    result = {}
    for node in toposort(end_node):
        grad, _ = outgrads.pop(node)
        if id(node) in root_ids:
            result[id(node)] = grad
            continue
        for parent, ingrad in zip(node.parents, node.vjp(grad), strict=False):
            outgrads[parent] = add_outgrads(outgrads.get(parent), ingrad)
    return result
