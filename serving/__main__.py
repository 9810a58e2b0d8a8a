"""`python -m serving`: see serving/server.py."""

from serving.server import main

main()
