from councilbot.adapters.cli import console_main

console_main()
