"""Locust load tests and the three-way comparison (see loadtests/README.md).

users.py, shapes.py, scenarios/   the locustfiles: one user class, a steady and a cold shape
locust_run.py                     runs Locust headless as a subprocess (``--processes`` for more)
local/                            the three ways emulated on 127.0.0.1 (``make demo``)
aws/                              the deployed stacks: discovery, cold-start forcing (``make compare``)
analysis.py, costs.py, report.py  samples -> numbers -> reports/<run-id>/report.md, .json, charts
"""
