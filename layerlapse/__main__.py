from layerlapse.cli import main

main()
