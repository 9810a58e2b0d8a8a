"""Fault scenarios: what each way does when something happens to it while traffic flows.

rolling restart  every server (or Lambda environment) replaced under steady load, with draining
crash            a server's processes or a container SIGKILLed mid-load, then restored
soak             steady load for a while: errors, RSS growth per worker, open files
slow clients     a few connections trickling headers or bodies straight at a server

``python -m loadtests.faults`` (``make faults``) runs them against the local ways; the figures go
to report.json and the "Faults" section of report.md (``loadtests.faults.markdown``).
"""
