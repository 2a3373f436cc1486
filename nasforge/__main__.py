from nasforge.cli import main

main()
