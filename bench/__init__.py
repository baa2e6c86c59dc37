"""Load generators and baselines for the local runtime (``make bench`` builds on them)."""
