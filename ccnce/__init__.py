"""ccnce: a reproducible re-implementation of Crossmodal Clustered Contrastive learning (CC-NCE).

Lee, Ahuja, Morency, "Crossmodal clustered contrastive learning: Grounding of spoken language to
gesture", GENEA workshop at ICMI 2021.
"""

__version__ = "0.1.0"
