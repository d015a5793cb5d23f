"""The computation graph as a picture: Graphviz DOT text of the nodes that made a tensor (``tg.graph(y)``,
``y.graph()``)."""

from .autograd import topological_order


def graph_dot(tensor, name="output"):
    """The computation graph that produced ``tensor``, as Graphviz DOT text.

    Boxes are ops (what backward will call), ellipses are leaf tensors that require grad; each is labelled with
    its shape and dtype. Arrows point the way data flows forward; backward walks them in reverse. Render with
    ``dot -Tpng`` or the graphviz Python package if installed; the text itself needs nothing.
    """
    lines = ["digraph tinygan {", '  rankdir="LR";', '  node [fontname="monospace", fontsize=10];']
    ids = {}

    def node_id(key):
        if key not in ids:
            ids[key] = f"n{len(ids)}"
        return ids[key]

    def describe(shape, dtype):
        return f"{tuple(shape)} {dtype}"

    out_id = node_id(("tensor", id(tensor)))
    lines.append(f'  {out_id} [label="{name}\\n{describe(tensor.shape, tensor.dtype)}", shape=ellipse, '
                 f'style=filled, fillcolor="#dbe9f6"];')
    if tensor.grad_fn is None:
        lines.append("}")
        return "\n".join(lines) + "\n"
    root = tensor.grad_fn
    lines.append(f"  {node_id(root)} -> {out_id};")
    for node in topological_order([root]):
        this = node_id(node)
        shape, dtype = node.output_meta[0]
        lines.append(f'  {this} [label="{node.function.__name__}\\n{describe(shape, dtype)}", shape=box];')
        for edge in node.next_edges:
            if edge is None:
                continue
            target, index = edge
            if index < 0:
                leaf_id = node_id(("tensor", id(target)))
                lines.append(f'  {leaf_id} [label="leaf\\n{describe(target.shape, target.dtype)}", '
                             f'shape=ellipse, style=filled, fillcolor="#e8f4d9"];')
                lines.append(f"  {leaf_id} -> {this};")
            else:
                lines.append(f"  {node_id(target)} -> {this};")
    lines.append("}")
    return "\n".join(lines) + "\n"
