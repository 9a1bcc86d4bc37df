"""`steepest serve`: a local web app over the run store (live charts of runs) and the lab (an
optimizer race and a live network, computed by steepest's own classes).

`steepest.serve.app.create_app(db)` builds the FastAPI app (the optional extra
`steepest[serve]`); `steepest.serve.server.serve(...)` runs it with uvicorn on 127.0.0.1; and
`steepest.serve.server.ensure_server(db)` starts one for `steepest train --live`, or finds the one
already running. The page is plain JavaScript with one vendored chart library (uPlot), and
loads nothing from outside the machine. The HTTP API is described in docs/serve.md.
This package imports FastAPI only in `app`, so `--live` works out the extra's absence itself.
"""
