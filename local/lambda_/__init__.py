"""Lambda: the Invoke API, warm execution environments and the Runtime API they poll."""
