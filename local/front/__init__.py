"""The front process: the public Invoke API and REST gateway, acknowledging Event calls in a
process of their own (server.py), and the main process's side of it (process.py)."""
