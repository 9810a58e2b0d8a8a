"""The local Function URL: Lambda, as ``make demo`` runs it, in modules of one job each.

events.py        a request as the Function URL event (payload format 2.0), the result back as HTTP
sigv4.py         auth AWS_IAM: SigV4 signatures checked as AWS checks them
pool.py          execution environments, started, reused, throttled and retired as Lambda does
environments.py  what one environment is here: the RIE running the Lambda image (or the handler)
app.py           the ASGI front door on 127.0.0.1 that ties those together
__main__.py      that front door as its own process
target.py        the demo's handle on that process (start, force cold starts, read the pool, stop)

Importing this package imports none of them: the bench reads ``events`` alone, without uvicorn.
"""
