"""Lambda's asynchronous invocation: the durable event queue, AWS's retry and age rules,
destination records and dead-letter messages."""
