"""Cold start: a burst of concurrent first requests against fresh environments (see loadtests.shapes)."""

from loadtests.shapes import ColdShape
from loadtests.users import PredictUser

__all__ = ["ColdShape", "PredictUser"]
