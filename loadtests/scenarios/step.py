"""A traffic step: baseline, 10x the paced users held, back down (see loadtests.shapes)."""

from loadtests.shapes import StepShape
from loadtests.users import PredictUser

__all__ = ["PredictUser", "StepShape"]
