"""Steady state: ramp to a fixed number of users, hold, measure the hold (see loadtests.shapes)."""

from loadtests.shapes import SteadyShape
from loadtests.users import PredictUser

__all__ = ["PredictUser", "SteadyShape"]
