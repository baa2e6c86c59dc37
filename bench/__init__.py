"""``make bench``: the figures of issue 10, each beside a baseline measured in the same run."""
