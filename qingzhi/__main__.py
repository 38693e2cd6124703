"""`python -m qingzhi` is the `qingzhi` command (tests use it to run this checkout's code)."""

from qingzhi.cli import main

main()
