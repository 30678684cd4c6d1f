"""What the tests share: span and run builders, stored corpora, clients, servers under test, checks.

Test modules, conftest files and benchmarks import helpers from here and from nowhere else in
`tests/` (`tests/test_imports.py` holds them to it); conftest files hold fixtures only, which
pytest hands to tests by name. `producers/` holds the scripts that make genuine spans with real
instrumentation libraries, each run in its own interpreter.
"""
