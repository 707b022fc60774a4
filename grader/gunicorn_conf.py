"""gunicorn's settings for the web (``gunicorn -c python:grader.gunicorn_conf grader.wsgi``):
each worker process's metrics go to ``PROMETHEUS_MULTIPROC_DIR`` (emptied at start) and /metrics
adds them up; a worker that exits is marked dead so its live gauges stop counting."""

from observe import exporter


def on_starting(server):
    if exporter.multiprocess_dir():
        exporter.prepare_directory()


def child_exit(server, worker):
    exporter.process_exited(worker.pid)
