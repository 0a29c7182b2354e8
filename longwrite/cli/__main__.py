"""`python -m longwrite.cli`."""

from longwrite.cli import main

main()
