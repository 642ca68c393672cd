"""A plain-Python reference of Algorithms 1 and 2, written line by line from the paper's pseudo-code
(METHOD.md, "CC-NCE"), as the oracle for the vectorised ``ccnce.clustering``.

Windows are lists of floats; ``Sim`` is the dot product. Random choices (the first anchor, the
representative of each cluster) are arguments, so a test can hand both implementations the same ones.
Ties: the lowest index (``min``/``max`` keep the first of equal keys), as the vectorised code documents.
"""

from __future__ import annotations

Window = list[float]


def sim(a: Window, b: Window) -> float:
    return sum(x * y for x, y in zip(a, b))


def batch_clustering(y: list[Window], threshold: float, first_anchor: int) -> tuple[list[list[int]], list[int]]:
    """Algorithm 1 → (clusters as lists of sample indices, anchors in order)."""
    unassigned = list(range(len(y)))
    clusters, anchors = [], []
    anchor = first_anchor
    while unassigned:
        unassigned.remove(anchor)
        cluster = [anchor]
        anchors.append(anchor)
        s = {j: sim(y[anchor], y[j]) for j in unassigned}
        for j in list(unassigned):
            if s[j] >= threshold:
                cluster.append(j)
                unassigned.remove(j)
        clusters.append(cluster)
        if unassigned:
            anchor = min(unassigned, key=lambda j: s[j])
    return clusters, anchors


def global_clustering(clusters: list[list[int]], y: list[Window], global_d: list[list[Window]], threshold: float,
                      batch_reps: list[int], global_reps: list[int]) -> list[int]:
    """Algorithm 2: merge each batch cluster into ``global_d`` (list of member lists, mutated) → targets.

    ``batch_reps[i]``: the sample drawn from batch cluster i; ``global_reps[g]``: the index, in
    ``global_d[g]``, of the member drawn from global cluster g. A cluster created here is represented by
    the member drawn from the batch cluster that created it. Members are appended in index order.
    """
    reps = [global_d[g][global_reps[g]] for g in range(len(global_d))]
    targets = []
    for i, members in enumerate(clusters):
        y_b = y[batch_reps[i]]
        best, best_g = None, None
        for g, y_g in enumerate(reps):
            s = sim(y_b, y_g)
            if best is None or s > best:
                best, best_g = s, g
        if best is not None and best >= threshold:
            global_d[best_g].extend(y[j] for j in sorted(members))
            targets.append(best_g)
        else:
            global_d.append([y[j] for j in sorted(members)])
            reps.append(y_b)
            targets.append(len(global_d) - 1)
    return targets
