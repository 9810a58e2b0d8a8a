"""Locust load tests and the three-way comparison (see loadtests/README.md).

users.py, shapes.py, scenarios/   the locustfiles: one user class, a steady and a cold shape
payloads.py, protocols.py         held-out rows, as /predict or Open Inference Protocol requests
locust_run.py                     runs Locust headless as a subprocess (``--processes`` for more)
comparison.py                     one comparison run, local or AWS: each scenario once /ready, report data
demo.py                           the three ways on 127.0.0.1 (``make demo``; the stand-ins: infra/local)
aws/                              the deployed stacks: discovery, cold-start forcing (``make compare``)
faults/                           restarts, crashes, soak and slow clients under load (``make faults``)
analysis.py, fairness.py, costs.py  samples -> numbers, like for like, priced
report.py                         reports/<run-id>/report.md, .json, charts
"""
