"""What an operator watches: the platform's Prometheus metrics (``observe.metrics``), the
multiprocess exporter for workers (``observe.exporter``) and structured logs
(``observe.logs``). No Django here, so that every package down to ``sandbox`` can use it."""
