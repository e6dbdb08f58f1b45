from councilbot.adapters.cli import main

main()
