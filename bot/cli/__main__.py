"""`python -m bot.cli …` runs the console script."""

from bot.cli import main

main()
