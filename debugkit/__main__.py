from debugkit.cli import run

run()
