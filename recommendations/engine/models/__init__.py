"""The recommenders. Each fits on a users x items CSR matrix (baskets for bought-together) and
exports an :class:`~recommendations.engine.artifacts.Artifact` for torch-free serving."""

from .als import ALS
from .base import Recommender
from .blend import Blend
from .bought_together import BoughtTogether
from .content import ContentSimilarity, Hybrid
from .ease import EASE, CatalogueTooLarge
from .itemknn import ItemKNN
from .neighbours import NeighbourModel
from .popularity import Popularity, Trending
from .sequential import SASRec

__all__ = [
    "ALS",
    "EASE",
    "Blend",
    "BoughtTogether",
    "CatalogueTooLarge",
    "ContentSimilarity",
    "Hybrid",
    "ItemKNN",
    "NeighbourModel",
    "Popularity",
    "Recommender",
    "SASRec",
    "Trending",
]
