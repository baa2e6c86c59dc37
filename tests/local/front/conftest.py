"""The front's tests run the Lambda service's tiny handlers too."""

from tests.local.lambda_.conftest import code_dir, make_function

__all__ = ["code_dir", "make_function"]
