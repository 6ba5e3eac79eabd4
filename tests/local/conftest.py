from tfpipe.local.testing import stack_fixture

stack = stack_fixture(app="tests.local.stack_test_app:app", stage="test")
